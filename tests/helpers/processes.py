"""Processes the tests start and talk to: the tests' Python in a subprocess, `tensorboard` on a free port (HTTP to
it), Chromium's settings; where the repository, its caches and the tests' artifacts are. No TensorFlow here.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Debian's Chromium, as the tests and `make bench` drive it (Playwright's own browsers are never downloaded).
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / ".cache"
ARTIFACTS_DIR = REPO / "test-artifacts"


def picture(name: str) -> Path:
    """Where a test writes a picture of the page: test-artifacts/pictures/, or docs/ (the README's pictures) under
    `make pictures` (README_PICTURES=1), so that `make test` leaves the checkout as it found it."""
    folder = REPO / "docs" if os.environ.get("README_PICTURES") == "1" else ARTIFACTS_DIR / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
PLUGIN_NAME = "module_graph"
PLUGIN_ROUTE = f"/data/plugin/{PLUGIN_NAME}"

QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}


def venv_bin(name):
    """A console script of the Python running the tests (the project's .venv under
    `make test`), falling back to REPO/.venv/bin."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    return str(REPO / ".venv" / "bin" / name)


def run_python(code_or_args, timeout=600, cwd=REPO):
    """Run the tests' Python in a subprocess; raise with its output on failure."""
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    env = dict(os.environ, **QUIET_TF_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"python {args[:2]} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc.stdout



def printed_result(out: str):
    """What a helper printed on its `RESULT ` line, as JSON (the helpers that train models print what the live
    objects said there)."""
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT ")).split(" ", 1)[1])

# --- Writing logdirs ---------------------------------------------------------------
def cache_key(files, dists) -> str:
    """A logdir cache's key: the files that write it and the versions of the packages it is written with."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.read_bytes())
    for dist in dists:
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            pass
    return h.hexdigest()[:16]


def ran_helper(logdir, helper: str) -> tuple:
    """(logdir, what it printed) once `python -m tests.helpers.<helper> LOGDIR` (printing `RESULT {json}`) ran."""
    return logdir, printed_result(run_python(["-m", f"tests.helpers.{helper}", str(logdir)]))


def helper_logdir(name: str, helper: str, files=()) -> tuple:
    """(logdir, what it printed) of `python -m tests.helpers.<helper> LOGDIR`, a helper that prints `RESULT {json}`;
    cached by its code, `files` (others its writing runs) and TensorFlow's and Keras's versions."""
    key = cache_key([REPO / "tests" / "helpers" / f"{helper}.py", *files], ("tensorflow", "keras"))

    def write(folder):
        folder.joinpath("result.json").write_text(json.dumps(ran_helper(folder, helper)[1]))

    logdir = cached_logdir(name, key, write)
    return logdir, json.loads((logdir / "result.json").read_text())


def cached_logdir(name, key, write):
    """CACHE_DIR/<name>-<key>, written by `write(folder)` the first time (into a temporary folder, renamed when
    complete, so an interrupted run leaves nothing half-written behind)."""
    cached = CACHE_DIR / f"{name}-{key}"
    if not (cached / ".complete").exists():
        tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        write(tmp)
        (tmp / ".complete").write_text("written by the tests (tests/helpers/processes.py cached_logdir)\n")
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
    return cached


# --- HTTP ------------------------------------------------------------------------
class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def http_get(url, timeout=60):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return Response(r.status, dict(r.headers), r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


def wait_for(condition, timeout=30, what="the condition", interval=0.25):
    """Poll `condition()` until it is true (exceptions count as false); its last value."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a server still starting, a file being written
            last_error = e
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s (last error: {last_error!r})")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_RUNNING: list = []  # every TensorBoard started and not stopped yet (stop_all)


class TensorBoard:
    """A real `tensorboard --logdir` process on a free loopback port, in its own process group; the one helper the
    tests and `make bench` start TensorBoard with. A context manager too (start, then stop)."""

    def __init__(self, logdir, load_fast=False, name="tb", extra_args=(), log_path=None, env=None,
                 reload_interval=2, min_graphs=0, start_timeout=120):
        self.logdir = str(logdir)
        self.load_fast = load_fast
        self.name = name
        self.extra_args = list(extra_args)
        self.env = dict(env or {})  # more environment for the process (the benchmark's PYTHONPATH)
        self.reload_interval = reload_interval  # None: TensorBoard's own default
        self.proc = None
        self.port = None
        self.startup_s = None  # seconds from the start until it was ready
        self.min_graphs, self.start_timeout = min_graphs, start_timeout  # what `with` waits for
        self.log_path = Path(log_path) if log_path else ARTIFACTS_DIR / f"tensorboard-{name}.log"

    def __enter__(self):
        return self.start(min_graphs=self.min_graphs, timeout=self.start_timeout)

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def api(self, route, **params):
        """GET /data/plugin/module_graph/<route>?params."""
        query = urllib.parse.urlencode(params, doseq=True)  # (a list: the parameter repeated)
        return http_get(f"{self.url}{PLUGIN_ROUTE}/{route}" + (f"?{query}" if query else ""))

    def get(self, path):
        return http_get(self.url + path)

    def timed_get(self, route, timeout=300, **query):
        """(seconds, body bytes as sent, status) of one GET of `route` (a path from the server's root)."""
        url = self.url + route + ("?" + urllib.parse.urlencode(query) if query else "")
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                body, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            body, status = e.read(), e.code
        return time.perf_counter() - t0, body, status

    def get_json(self, route, timeout=300, **query):
        """The JSON of a 200 answer to GET `route` (a RuntimeError for any other status)."""
        _, body, status = self.timed_get(route, timeout=timeout, **query)
        if status != 200:
            raise RuntimeError(f"GET {route} {query} answered {status}: {body[:500]!r}")
        return json.loads(body)

    def entry_url(self, run=None, tag=None):
        url = f"{self.url}/data/plugin_entry.html?name={PLUGIN_NAME}"
        if run is not None:
            url += "#" + urllib.parse.urlencode({"run": run, "tag": tag}, quote_via=urllib.parse.quote)
        return url

    def log_tail(self, n=4000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def start(self, wait_runs=(), wait_graphs=(), timeout=120, min_graphs=0):
        """Start and wait until the plugin is listed, `wait_runs` are runs and the plugin's `graphs` route lists
        every (run, tag) of `wait_graphs` and at least `min_graphs` graphs. (A run is listed as soon as its folder
        is found, before its events are read: wait for the graphs to be sure the first load is done.)"""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        last_error = None
        for _attempt in range(3):
            self.port = free_port()
            t0 = time.perf_counter()
            log = open(self.log_path, "wb")
            reload = ["--reload_interval", str(self.reload_interval)] if self.reload_interval is not None else []
            self.proc = subprocess.Popen(
                [venv_bin("tensorboard"), "--logdir", self.logdir, "--host", "127.0.0.1", "--port", str(self.port),
                 f"--load_fast={'true' if self.load_fast else 'false'}", *reload, *self.extra_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, **QUIET_TF_ENV, **self.env),
                cwd=str(REPO),
                start_new_session=True,
            )
            log.close()
            _RUNNING.append(self)
            try:
                self._wait_ready(wait_runs, wait_graphs, min_graphs, timeout)
                self.startup_s = time.perf_counter() - t0
                return self
            except RuntimeError as e:
                last_error = e
                self.stop()
                # (the port free_port found was taken before tensorboard bound it: another port, once more)
                if "already in use" not in self.log_tail():
                    break
        raise last_error

    def _wait_ready(self, wait_runs, wait_graphs, min_graphs, timeout):
        deadline = time.monotonic() + timeout
        listed = False
        missing = set(wait_graphs)
        count = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"tensorboard exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if not listed:
                    r = http_get(self.url + "/data/plugins_listing", timeout=5)
                    listed = r.status == 200 and PLUGIN_NAME in r.json()
                if listed:
                    runs_ok = not wait_runs
                    if wait_runs:
                        r = http_get(self.url + "/data/runs", timeout=5)
                        runs_ok = r.status == 200 and set(wait_runs) <= set(r.json())
                    if runs_ok and (missing or count < min_graphs):
                        r = self.api("graphs")
                        if r.status == 200:
                            graphs = r.json()["graphs"]
                            missing -= {(g["run"], g["tag"]) for g in graphs}
                            count = len(graphs)
                    if runs_ok and not missing and count >= min_graphs:
                        return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"tensorboard on port {self.port} not ready after {timeout}s "
            f"(module_graph listed: {listed}; graphs not listed yet: {sorted(missing)[:10]}):\n"
            f"{self.log_tail()}"
        )

    def rss_bytes(self) -> tuple:
        """(current, peak) resident memory of tensorboard and all its descendants, from /proc."""
        current = peak = 0
        for pid in [self.proc.pid, *descendants(self.proc.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            current += int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
            peak += int(fields.get("VmHWM", "0 kB").split()[0]) * 1024
        return current, peak

    def stop(self):
        """Stop tensorboard and what it started (the Rust data server under --load_fast=true): the process group
        this object created."""
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self.proc = None


def stop_all():
    """Stop every TensorBoard still running (on the way out of an interrupted run)."""
    for tb in list(_RUNNING):
        tb.stop()


def descendants(pid: int) -> list:
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
