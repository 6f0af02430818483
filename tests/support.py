"""Helpers shared by the live tests: writing logdirs, running tensorboard, HTTP.

Nothing here imports TensorFlow: traces are written in a subprocess (so every test
logdir holds exactly what a user's process would write, without the function graphs
that TensorFlow keeps collecting in a long-lived process), and raw records are
written with TensorBoard's own event writer.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
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

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus.py"  # models from real libraries, and what their objects say (truth.json)
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


# --- Writing logdirs ---------------------------------------------------------------
def cached_logdir(name, key, write):
    """CACHE_DIR/<name>-<key>, written by `write(folder)` the first time (into a temporary folder, renamed when
    complete, so an interrupted run leaves nothing half-written behind)."""
    cached = CACHE_DIR / f"{name}-{key}"
    if not (cached / ".complete").exists():
        tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        write(tmp)
        (tmp / ".complete").write_text("written by the tests (tests/support.py cached_logdir)\n")
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
    return cached


def write_demo(logdir, skip_resnet=True, only=None):
    """`python -m tb_module_plugin.recording.demo --logdir LOGDIR` in a subprocess."""
    args = ["-m", "tb_module_plugin.recording.demo", "--logdir", str(logdir)]
    if skip_resnet:
        args.append("--skip-resnet")
    if only:
        args += ["--only", *only]
    return run_python(args)


_TRACE_TEMPLATE = """
import os, sys
import tensorflow as tf
tf.get_logger().setLevel("ERROR")
{code}
_writer = tf.summary.create_file_writer({run_dir!r})
tf.summary.trace_on(graph=True)
{call}
with _writer.as_default():
    tf.summary.trace_export(name={tag!r}, step=0)
_writer.flush()
"""


def write_trace(logdir, run, tag, code, call="f(*ARGS)"):
    """Trace a small function with real TensorFlow, as a user would.

    `code` is Python source run after `import tensorflow as tf`; it defines what
    `call` (by default `f(*ARGS)`) runs between trace_on and trace_export, e.g.

        write_trace(logdir, "double", "f", '''
            @tf.function
            def f(x):
                return x * 2.0
            ARGS = (tf.constant(1.0),)
        ''')
    """
    run_dir = Path(logdir) / run
    run_dir.mkdir(parents=True, exist_ok=True)
    source = _TRACE_TEMPLATE.format(
        code=textwrap.dedent(code), call=call, run_dir=str(run_dir), tag=tag
    )
    run_python(source)
    return run_dir


def write_graph_with_tf(logdir, run, code):
    """`tf.summary.graph(G)` for the graph `G` that `code` builds (a run graph)."""
    run_dir = Path(logdir) / run
    run_dir.mkdir(parents=True, exist_ok=True)
    source = (
        "import tensorflow as tf\n"
        + textwrap.dedent(code)
        + f"\n_w = tf.summary.create_file_writer({str(run_dir)!r})\n"
        + "with _w.as_default():\n    tf.summary.graph(G)\n_w.flush()\n"
    )
    run_python(source)
    return run_dir


class RawWriter:
    """Writes records by hand with TensorBoard's event writer (no TensorFlow): blob
    records as TensorFlow writes them (a string tensor of shape [1], plugin content
    b"1"), and event-file `graph_def`s."""

    def __init__(self, logdir, run):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.run_dir = Path(logdir) / run
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._writer = EventFileWriter(str(self.run_dir))

    def blob(self, plugin_name, tag, payload, step=0):
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
        from tensorboard.compat.proto import tensor_shape_pb2, types_pb2

        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=plugin_name, content=b"1"
            ),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        )
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]
            ),
            string_val=[payload],
        )
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
        )
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
        return self

    def run_metadata(self, tag, graph_defs=(), plugin_name="graph_run_metadata_graph", step=0):
        """A trace_export-style record whose function graphs are `graph_defs`."""
        from tensorboard.compat.proto import config_pb2

        rm = config_pb2.RunMetadata()
        for g in graph_defs:
            rm.function_graphs.add().pre_optimization_graph.CopyFrom(g)
        return self.blob(plugin_name, tag, rm.SerializeToString(), step=step)

    def graph_def(self, payload, step=0):
        """An event-file `graph_def` (what `tf.summary.graph` and TF1 writers leave)."""
        from tensorboard.compat.proto import event_pb2

        if not isinstance(payload, bytes):
            payload = payload.SerializeToString()
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, graph_def=payload))
        return self

    def flush(self):
        """Write what is buffered (a training job's writer between two records)."""
        self._writer.flush()
        return self

    def close(self):
        self._writer.flush()
        self._writer.close()


def graph_def(nodes, functions=(), types=True):
    """A GraphDef from (name, op, [inputs][, attrs]) tuples: `attrs` maps an attribute to an AttrValue, bytes
    (a string attribute) or str (a function's name); with `types`, each node gets a float `T` (or `dtype`, for
    Placeholder, _Arg and Const) first. `functions` (function_def's) make its library."""
    from tensorboard.compat.proto import graph_pb2, types_pb2

    g = graph_pb2.GraphDef()
    for name, op, inputs, *attrs in nodes:
        n = g.node.add(name=name, op=op, input=list(inputs))
        if types:
            n.attr["dtype" if op in ("Placeholder", "_Arg", "Const") else "T"].type = types_pb2.DT_FLOAT
        _set_attrs(n, attrs[0] if attrs else {})
    g.library.function.extend(functions)
    return g


def function_def(name, nodes, rets=None, args=("x",)):
    """A FunctionDef of float arguments `args`, (name, op, [inputs][, attrs]) nodes and {output: source} rets."""
    from tensorboard.compat.proto import function_pb2, types_pb2

    f = function_pb2.FunctionDef()
    f.signature.name = name
    for arg in args:
        f.signature.input_arg.add(name=arg, type=types_pb2.DT_FLOAT)
    for ret, source in (rets or {}).items():
        f.signature.output_arg.add(name=ret, type=types_pb2.DT_FLOAT)
        f.ret[ret] = source
    for node_name, op, inputs, *attrs in nodes:
        _set_attrs(f.node_def.add(name=node_name, op=op, input=list(inputs)), attrs[0] if attrs else {})
    return f


def _set_attrs(node, attrs: dict) -> None:
    for key, value in attrs.items():
        if isinstance(value, bytes):
            node.attr[key].s = value
        elif isinstance(value, str):
            node.attr[key].func.name = value
        else:
            node.attr[key].CopyFrom(value)


# Names that would run script if a page ever put them into the DOM as HTML.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SVG = "<svg onload=alert(1)>"


def write_xss_records(logdir, run="xss"):
    """A trace and a run graph whose node names, op types and attributes are markup."""
    nodes = [
        ("x", "Placeholder", []),
        (XSS_IMG, "Identity", ["x"]),
        (XSS_SCRIPT, "Neg", [XSS_IMG]),
        (f"{XSS_IMG}/Square", "Square", [XSS_SCRIPT]),
        (f"{XSS_SVG}/{XSS_SVG}", XSS_IMG, [f"{XSS_IMG}/Square"]),
    ]
    g = graph_def(nodes)
    g.node[-1].attr["note"].s = XSS_SCRIPT.encode()
    g.node[-1].attr[XSS_SVG].s = XSS_IMG.encode()
    w = RawWriter(logdir, run)
    w.run_metadata("markup", [g])
    w.graph_def(g)
    w.close()
    return w.run_dir


BAD_RECORDS = {
    # tag: (plugin name, payload, why it is bad)
    "garbage": ("graph_run_metadata_graph", b"\x0f\xff\xfe not a RunMetadata \x00\x07", "garbage bytes"),
    "empty_run_metadata": ("graph_run_metadata_graph", b"", "an empty RunMetadata"),
    "profiler_empty": ("graph_run_metadata", b"", "trace_on(profiler=True) on TF 2.21: empty RunMetadata"),
    "keras": ("graph_keras_model", b'{"class_name": "Sequential", "config": {"layers": [', "Keras JSON that does not parse"),
}


def write_bad_records(logdir, run="bad_records"):
    """Records that hold no readable graph: each of BAD_RECORDS, plus a run graph
    of garbage bytes in its own run `bad_run_graph`."""
    w = RawWriter(logdir, run)
    for tag, (plugin, payload, _) in BAD_RECORDS.items():
        w.blob(plugin, tag, payload)
    w.close()
    g = RawWriter(logdir, "bad_run_graph")
    g.graph_def(b"\x0f\xff\xfe not a GraphDef")
    g.close()
    return w.run_dir


def write_run_graph(logdir, run="run_graph"):
    """A real `tf.summary.graph` of a small tf.Module's concrete function."""
    return write_graph_with_tf(
        logdir,
        run,
        """
        class Net(tf.Module):
            def __init__(self):
                super().__init__(name="net")
                with self.name_scope:
                    self.w = tf.Variable(tf.ones([3, 2]), name="w")
            @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
            def __call__(self, x):
                with self.name_scope:
                    return tf.nn.relu(tf.matmul(x, self.w))
        NET = Net()
        G = NET.__call__.get_concrete_function().graph
        """,
    )


# --- The plugin without a tensorboard process ---------------------------------------
def make_client(logdir, flags=None):
    """The plugin's routes over a MultiplexerDataProvider of `logdir` (loaded once, no
    tensorboard process): (werkzeug test client, plugin). Routes are the plugin's own:
    `/hierarchy`, `/static/style.css`. `flags`: TensorBoard's parsed flags, if any."""
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test
    from werkzeug import wrappers

    from tb_module_plugin.cli.main import logdir_data_provider
    from tb_module_plugin.serve.plugin import ModuleGraphPlugin

    provider = logdir_data_provider(str(logdir))
    plugin = ModuleGraphPlugin(base_plugin.TBContext(logdir=str(logdir), data_provider=provider, flags=flags))
    apps = plugin.get_plugin_apps()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        handler = apps.get(path) or (apps["/static/*"] if path.startswith("/static/") else None)
        if handler is None:
            return wrappers.Response("no route", status=404)(environ, start_response)
        return handler(environ, start_response)

    return werkzeug_test.Client(app), plugin


def parsed_graphs(store) -> set:
    """(run, tag) of every graph a plugin's store parsed and keeps (built, or failed to read): its own record of
    what it parsed, the cache's keys (eid, record, blob keys)."""
    return {(key[1].run, key[1].tag) for key in list(store.cache._entries) if key[0] != "profile"}


def client_get(client, route, **params):
    """(status, JSON body) of GET `route` through a make_client client."""
    response = client.get(route, query_string=params)
    return response.status_code, json.loads(response.get_data())


class InProcess:
    """make_client behind TensorBoard's `api()`, so one check serves both."""

    def __init__(self, logdir, flags=None):
        self.client, self.plugin = make_client(logdir, flags)

    def api(self, route, **params):
        r = self.client.get("/" + route, query_string=params)
        return Response(r.status_code, dict(r.headers), r.get_data())


def ok_json(response):
    """The JSON body of a 200 answer (and that it is JSON)."""
    assert response.status == 200, response
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    return response.json()


def error(response, status):
    """The message of an error answer: `{"error": str}` (and `"kind": "profile"` for a profile's) with `status`, as
    JSON."""
    assert response.status == status, response
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) - {"kind"} == {"error"} and body.get("kind", "profile") == "profile", body
    assert isinstance(body["error"], str) and body["error"].strip(), body
    assert "Traceback" not in body["error"], body
    return body["error"]


def check_against(value, expected, where="answer"):
    """`value` fits `expected`, a record of tb_module_plugin/schema.py or a typing form of one: every required field
    there, no field the record does not declare, each of its declared type (recursively)."""
    import typing

    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if typing.is_typeddict(expected):
        assert isinstance(value, dict), (where, value)
        hints = typing.get_type_hints(expected)
        missing = expected.__required_keys__ - set(value)
        unknown = set(value) - set(hints)
        assert not missing and not unknown, (where, expected.__name__, sorted(missing), sorted(unknown))
        for key, item in value.items():
            check_against(item, hints[key], f"{where}.{key}")
    elif origin is typing.Literal:
        assert value in args, (where, value, args)
    elif origin is typing.Union:
        errors = []
        for option in args:
            try:
                check_against(value, option, where)
                return
            except AssertionError as e:
                errors.append(e)
        raise AssertionError((where, value, errors))
    elif origin is list:
        assert isinstance(value, list), (where, value)
        for i, item in enumerate(value):
            check_against(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), (where, value)
        for key, item in value.items():
            check_against(key, args[0], f"{where} key")
            check_against(item, args[1], f"{where}[{key!r}]")
    elif expected is type(None):
        assert value is None, (where, value)
    elif expected is int:
        assert isinstance(value, int) and not isinstance(value, bool), (where, value)
    elif expected is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (where, value)
    else:
        assert isinstance(value, expected), (where, value, expected)


def check_node_shape(node, parent_path=None):
    """A `hierarchy` answer's node: of the schema's HierarchyNode, and the rules between its fields (paths made
    of names, edges between listed children, op counts that add up), recursively."""
    from tb_module_plugin import schema

    if parent_path is None:
        check_against(node, schema.HierarchyNode, node.get("path", "node"))
    assert node["num_ops"] >= 1 or node["kind"] != "op", node
    if parent_path is not None:
        assert "/" not in node["name"], node["name"]
        expected = node["name"] if parent_path == "" else parent_path + "/" + node["name"]
        assert node["path"] == expected, (node["path"], expected)
    if node["kind"] == "op":
        assert isinstance(node["op"], str) and node["op"], node
        assert node["num_ops"] == 1, node
        assert "children" not in node or node["children"] == [], node
    else:
        assert isinstance(node["num_children"], int), node
        if "children" in node:
            assert len(node["children"]) == node["num_children"], node["path"]
            assert isinstance(node.get("edges"), list), f"{node['path']!r} lists children but no edges"
            child_paths = {c["path"] for c in node["children"]}
            for e in node["edges"]:
                assert e["from"] in child_paths and e["to"] in child_paths, e
                assert e["from"] != e["to"], e
                assert isinstance(e["count"], int) and e["count"] >= 1, e
                assert isinstance(e["control"], bool), e
            for c in node["children"]:
                check_node_shape(c, node["path"])
            assert node["num_ops"] == sum(c["num_ops"] for c in node["children"]), node["path"]
        else:
            assert isinstance(node["has_children"], bool), node


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
        query = urllib.parse.urlencode(params)
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
                if "Address already in use" not in self.log_tail():
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


def walk(node, parents=()):
    """Yield (node, ancestors) over a NODE dict from the hierarchy route."""
    yield node, parents
    for child in node.get("children", ()):
        yield from walk(child, parents + (node,))
