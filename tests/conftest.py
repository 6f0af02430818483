"""Session fixtures for tests that use real TensorFlow, tensorboard and Chromium.

Logdirs
    demo_logdir        what `python -m tb_module_plugin.recording.demo --skip-resnet` writes
                       (runs demo_module, attribute_module, nested_model,
                       keras_sequential/train), once per session
    resnet_logdir      the demo's resnet50_train_step run, written once and cached in
                       .cache/ (keyed by the demo's code and the TensorFlow version)
    special_logdir     markup-named nodes (run `xss`), records holding no readable
                       graph (runs `bad_records`, `bad_run_graph`) and a real
                       `tf.summary.graph` run graph (run `run_graph`)
    live_logdir        all of the above in one logdir (copies)
    trace_writer       write_trace(logdir, run, tag, code): trace a small function
                       with real TensorFlow in a subprocess (see tests/support.py)
    corpus_logdir      tests/corpus.py: models from real libraries traced, recorded and
                       saved; cached in .cache/ (keyed by the files that write it and the
                       libraries' versions)
    truth              its truth.json: what the live objects said while recorded
    costs_logdir       tests/costs_corpus.py: a ResNet50 record at 224x224 and profiled steps
    costs_truth        its truth.json: TensorFlow's profiler's FLOPs, each layer's, the profiles' op time

Servers (real `tensorboard` processes on free loopback ports, stopped at the end)
    tensorboard        --load_fast=false over live_logdir
    tensorboard_fast   --load_fast=true (the Rust data server) over live_logdir;
                       required: an error (not a skip) when it does not start or
                       does not list every graph (a plugin bug under that loader)
    tensorboard_empty  --load_fast=false over an empty logdir
    corpus_tb          --load_fast=false over corpus_logdir
    costs_tb           --load_fast=false over costs_logdir

Browser
    browser            Debian's /usr/bin/chromium through Playwright, headless
    page               a fresh page; page.problems collects console errors, page
                       errors and dialogs (see BrowserPage)
"""

import hashlib
import json
import os
import shutil
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402

DEMO_RUNS = ["demo_module", "attribute_module", "nested_model", "nested_model/train", "keras_sequential/train"]
RESNET_RUN = "resnet50_train_step"
SPECIAL_RUNS = ["xss", "bad_records", "bad_run_graph", "run_graph"]


# --- Markers -------------------------------------------------------------------------
# What a test needs, read from the fixtures it uses, so that `pytest -m "not browser and not live and not corpus"`
# is the quick subset (`make test-quick`); tests that start TensorFlow, tensorboard or the CLI themselves, or take
# seconds measuring a process, are marked `live` where they are defined.
NEEDS = {
    "browser": {"browser", "page"},
    "corpus": {"corpus_logdir", "truth", "corpus_tb", "costs_logdir", "costs_truth", "costs_tb",
               "variations_logdir"},
    "live": {"demo_logdir", "resnet_logdir", "live_logdir", "trace_writer", "tensorboard", "tensorboard_fast",
             "tensorboard_empty", "hostile_servers", "hostile_tb", "growing_writers"},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in NEEDS.items():
            if used & fixtures:
                item.add_marker(marker)


# --- Logdirs -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("demo_logs")
    support.write_demo(logdir, skip_resnet=True)
    for run in DEMO_RUNS:
        assert (logdir / run).is_dir(), f"the demo did not write run {run}"
    return logdir


def _cache_key(files, dists) -> str:
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


def _resnet_cache_key():
    recording = support.REPO / "tb_module_plugin" / "recording"
    return _cache_key([recording / "demo_keras.py", recording / "demo_tools.py"],
                      ("tensorflow-cpu", "tensorflow", "keras"))


@pytest.fixture(scope="session")
def resnet_logdir():
    """The ResNet50 training step (about 20 s to write), cached across sessions."""
    return support.cached_logdir("resnet50", _resnet_cache_key(),
                                 lambda tmp: support.write_demo(tmp, skip_resnet=False, only=[RESNET_RUN]))


@pytest.fixture(scope="session")
def special_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("special_logs")
    support.write_xss_records(logdir)
    support.write_bad_records(logdir)
    support.write_run_graph(logdir)
    return logdir


@pytest.fixture(scope="session")
def live_logdir(tmp_path_factory, demo_logdir, resnet_logdir, special_logdir):
    logdir = tmp_path_factory.mktemp("live_logs")
    for source in (demo_logdir, resnet_logdir, special_logdir):
        for child in Path(source).iterdir():
            if child.is_dir():
                shutil.copytree(child, logdir / child.name)
    return logdir


@pytest.fixture(scope="session")
def live_runs():
    return DEMO_RUNS + [RESNET_RUN] + SPECIAL_RUNS


# The graphs of live_logdir: (run, tag) -> source.
LIVE_GRAPHS = {
    ("demo_module", "addprint"): "trace",
    ("attribute_module", "addprint"): "trace",
    ("nested_model", "model"): "trace",
    ("nested_model/train", "train_step"): "trace",
    ("keras_sequential/train", "keras"): "keras",
    (RESNET_RUN, "train_step"): "trace",
    ("run_graph", "__run_graph__"): "run_graph",
    ("xss", "markup"): "trace",
    ("xss", "__run_graph__"): "run_graph",
    ("bad_run_graph", "__run_graph__"): "run_graph",
    **{("bad_records", tag): ("keras" if plugin == "graph_keras_model" else "trace")
       for tag, (plugin, _, _) in support.BAD_RECORDS.items()},
}


@pytest.fixture(scope="session")
def live_graphs():
    return dict(LIVE_GRAPHS)


@pytest.fixture(scope="session")
def trace_writer():
    """write_trace(logdir, run, tag, code, call="f(*ARGS)") -> run folder."""
    return support.write_trace


# --- Models from real libraries (tests/corpus.py) ------------------------------------------
def _corpus_cache_key():
    plugin = support.REPO / "tb_module_plugin" / "recording"
    return _cache_key([support.CORPUS] + [plugin / f for f in ("summary.py", "module_tree.py", "calls.py", "savedmodel.py")],
                      ("tensorflow-cpu", "tensorflow", "keras", "tf-keras", "dm-sonnet", "tensorflow-probability",
                       "keras-hub"))


@pytest.fixture(scope="session")
def corpus_logdir():
    """The corpus (about two minutes to write), cached across sessions in .cache/."""
    return support.cached_logdir("corpus", _corpus_cache_key(),
                                 lambda tmp: support.run_python([str(support.CORPUS), str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def truth(corpus_logdir):
    return json.loads((corpus_logdir / "truth.json").read_text())


@pytest.fixture(scope="session")
def variations_logdir():
    """tests/variations.py: names with `-` and `.`, a Sonnet ResNet, a MirroredStrategy step (about 90 s)."""
    plugin = support.REPO / "tb_module_plugin" / "recording"
    key = _cache_key([support.REPO / "tests" / "variations.py", support.CORPUS]
                     + [plugin / f for f in ("summary.py", "module_tree.py", "calls.py")],
                     ("tensorflow-cpu", "tensorflow", "keras", "dm-sonnet"))
    return support.cached_logdir("variations", key, lambda tmp: support.run_python(
        [str(support.REPO / "tests" / "variations.py"), str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def costs_logdir():
    """tests/costs_corpus.py: a ResNet50 record at 224x224 and profiled steps, with what TensorFlow says of them."""
    plugin = support.REPO / "tb_module_plugin" / "recording"
    key = _cache_key([support.REPO / "tests" / "costs_corpus.py", support.CORPUS, plugin / "summary.py",
                      plugin / "module_tree.py", plugin / "calls.py", plugin / "demo.py", plugin / "demo_tools.py"],
                     ("tensorflow-cpu", "tensorflow", "keras"))
    return support.cached_logdir("costs", key, lambda tmp: support.run_python(
        [str(support.REPO / "tests" / "costs_corpus.py"), str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def costs_truth(costs_logdir):
    return json.loads((costs_logdir / "truth.json").read_text())


def _serving(logdir, truth: dict, name: str):
    """A tensorboard over `logdir`, ready once it lists every graph of `truth`."""
    tb = support.TensorBoard(logdir, load_fast=False, name=name)
    tb.start(wait_graphs={(e["run"], e["tag"]) for e in truth.values()}, timeout=180)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def costs_tb(costs_logdir, costs_truth):
    yield from _serving(costs_logdir, costs_truth, "costs")


@pytest.fixture(scope="session")
def corpus_tb(corpus_logdir, truth):
    yield from _serving(corpus_logdir, truth, "corpus")


# --- tensorboard processes -----------------------------------------------------------
@pytest.fixture(scope="session")
def tensorboard(live_logdir, live_runs, live_graphs):
    tb = support.TensorBoard(live_logdir, load_fast=False, name="live")
    tb.start(wait_runs=live_runs, wait_graphs=live_graphs)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def tensorboard_fast(live_logdir, live_runs, live_graphs):
    # The Rust data server ships with tensorboard (package tensorboard-data-server): it is always there, so a
    # server that does not start, or does not list a graph, is a failure to see, never a skip.
    tb = support.TensorBoard(live_logdir, load_fast=True, name="live-fast")
    tb.start(wait_runs=live_runs, wait_graphs=live_graphs, timeout=90)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def tensorboard_empty(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("empty_logs")
    tb = support.TensorBoard(logdir, load_fast=False, name="empty")
    tb.start()
    yield tb
    tb.stop()


# --- Browser -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(support.CHROMIUM):
        pytest.fail(f"{support.CHROMIUM} is missing: run `make chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=support.CHROMIUM, headless=True, args=support.CHROMIUM_ARGS)
        yield b
        b.close()


class BrowserPage:
    """A Playwright page that records what must not happen: console errors, uncaught
    page errors and dialogs (alert/confirm/prompt; dismissed at once)."""

    def __init__(self, page):
        self.page = page
        self.console_errors = []
        self.page_errors = []
        self.dialogs = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", self._on_dialog)

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} @ {loc.get('url', '')}:{loc.get('lineNumber', '')}")

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        try:
            dialog.dismiss()
        except Exception:
            pass

    def problems(self, allow_http_errors=False):
        """Console errors, page errors and dialogs so far. With allow_http_errors,
        Chromium's own "Failed to load resource: ... status of 4xx" lines (which it
        logs for any fetch answered with an error status) are left out."""
        # Chromium asks for /favicon.ico by itself when a page is opened directly;
        # TensorBoard has none at that address. Not the page's doing.
        errors = [e for e in self.console_errors if "/favicon.ico" not in e]
        if allow_http_errors:
            errors = [
                e for e in errors
                if not ("Failed to load resource" in e and "status of 4" in e)
            ]
        return errors + [f"pageerror: {e}" for e in self.page_errors] + [
            f"dialog: {d}" for d in self.dialogs
        ]

    def __getattr__(self, name):
        return getattr(self.page, name)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    p = BrowserPage(context.new_page())
    yield p
    context.close()


# --- Hostile logdir, served while it changes (issue 5) ------------------------------------
LOADERS = {"python": False, "rust": True}  # loader -> --load_fast


@pytest.fixture(scope="session")
def hostile_logdir(tmp_path_factory):
    """tests/hostile.py: every bad record (run `hostile`, run graphs `rg_*`), a run and a tag
    named with markup, event files cut mid-record (`cut_*`), the synthetic graphs
    (`synthetic_*`), and per loader a run `doomed_<loader>` for a test to delete."""
    import hostile

    logdir = tmp_path_factory.mktemp("hostile_logs")
    hostile.write_hostile_logdir(logdir)
    hostile.write_cut_runs(logdir)
    hostile.write_synthetic_runs(logdir)
    for loader in LOADERS:
        support.RawWriter(logdir, f"doomed_{loader}").run_metadata(
            "trace", [support.graph_def([("doomed/x", "Const", [])])]).close()
    return logdir


@pytest.fixture(scope="session")
def growing_writers(hostile_logdir):
    """{loader: RawWriter} of run `growing_<loader>` in hostile_logdir, holding trace `trace` at
    step 0 (ops under `first/`), left open as a training job leaves its writer."""
    writers = {}
    for loader in LOADERS:
        w = support.RawWriter(hostile_logdir, f"growing_{loader}")
        w.run_metadata("trace", [support.graph_def([("first/x", "Const", []), ("first/y", "Relu", ["first/x"])])])
        writers[loader] = w.flush()
    yield writers
    for w in writers.values():
        w.close()


@pytest.fixture(scope="session")
def hostile_servers(hostile_logdir, growing_writers):
    """{loader: TensorBoard} over hostile_logdir, started side by side, with
    `--reload_interval 1` and `--module_graph_cache_mb 64`. Ready once every graph of
    tests/hostile.py's CASES that the Python loader lists is listed, by both loaders: either
    one not starting or not listing them is an error."""
    import threading

    import hostile

    servers = {loader: support.TensorBoard(hostile_logdir, load_fast=fast, name=f"hostile-{loader}", extra_args=[
        "--reload_interval", "1", "--module_graph_cache_mb", "64"]) for loader, fast in LOADERS.items()}
    errors = {}

    def start(loader):
        try:
            servers[loader].start(wait_runs=[hostile.HOSTILE_RUN, f"growing_{loader}"], timeout=120)
            support.wait_for(lambda: {(g["run"], g["tag"]) for g in servers[loader].api("graphs").json()["graphs"]}
                             >= set(hostile.LISTED) | {(f"doomed_{other}", "trace") for other in LOADERS},
                             timeout=60, what=f"{loader}: the hostile graphs")
        except (RuntimeError, AssertionError) as e:
            errors[loader] = e

    threads = [threading.Thread(target=start, args=(loader,)) for loader in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for tb in servers.values():
            tb.stop()
        raise AssertionError("; ".join(f"{loader} loader: {e}" for loader, e in errors.items()))
    yield servers
    stops = [threading.Thread(target=tb.stop) for tb in servers.values()]
    for t in stops:
        t.start()
    for t in stops:
        t.join()


@pytest.fixture(params=list(LOADERS))
def hostile_tb(request, hostile_servers):
    """Each of hostile_servers in turn."""
    tb = hostile_servers[request.param]
    tb.loader = request.param
    return tb
