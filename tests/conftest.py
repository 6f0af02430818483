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
                       with real TensorFlow in a subprocess (see tests/helpers/records.py)
    corpus_logdir      tests/helpers/corpus.py: models from real libraries traced, recorded and
                       saved; cached in .cache/ (keyed by the files that write it and the
                       libraries' versions)
    truth              its truth.json: what the live objects said while recorded
    costs_logdir       tests/helpers/costs_corpus.py: a ResNet50 record at 224x224 and profiled steps
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

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import browser as browser_lib
from tests.helpers.answers import make_client
from tests.helpers.processes import (CHROMIUM, CHROMIUM_ARGS, REPO, TensorBoard, cache_key, cached_logdir, run_python,
                                     wait_for)
from tests.helpers.records import (BAD_RECORDS, RESNET_RUN, RawWriter, cached_resnet_logdir, graph_def,
                                   write_bad_records, write_demo, write_net_run_graph, write_trace, write_xss_records)

DEMO_RUNS = ["demo_module", "attribute_module", "nested_model", "nested_model/train", "keras_sequential/train"]
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
    write_demo(logdir, skip_resnet=True)
    for run in DEMO_RUNS:
        assert (logdir / run).is_dir(), f"the demo did not write run {run}"
    return logdir


@pytest.fixture(scope="session")
def resnet_logdir():
    """The ResNet50 training step (about 20 s to write), cached across sessions."""
    return cached_resnet_logdir()


@pytest.fixture(scope="session")
def special_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("special_logs")
    write_xss_records(logdir)
    write_bad_records(logdir)
    write_net_run_graph(logdir)
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
       for tag, (plugin, _, _) in BAD_RECORDS.items()},
}


@pytest.fixture(scope="session")
def live_graphs():
    return dict(LIVE_GRAPHS)


@pytest.fixture(scope="session")
def trace_writer():
    """write_trace(logdir, run, tag, code, call="f(*ARGS)") -> run folder."""
    return write_trace


# --- Models from real libraries (tests/helpers/corpus.py) ----------------------------------
HELPERS = REPO / "tests" / "helpers"
CORPUS = [HELPERS / "corpus.py", HELPERS / "truth.py"]  # what writes the corpus, and what its objects say


def _corpus_cache_key():
    plugin = REPO / "tb_module_plugin" / "recording"
    return cache_key(CORPUS + [plugin / f for f in ("summary.py", "module_tree.py", "calls.py", "savedmodel.py")],
                     ("tensorflow-cpu", "tensorflow", "keras", "tf-keras", "dm-sonnet", "tensorflow-probability",
                      "keras-hub"))


@pytest.fixture(scope="session")
def corpus_logdir():
    """The corpus (about two minutes to write), cached across sessions in .cache/."""
    return cached_logdir("corpus", _corpus_cache_key(), lambda tmp: run_python(
        ["-m", "tests.helpers.corpus", str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def truth(corpus_logdir):
    return json.loads((corpus_logdir / "truth.json").read_text())


@pytest.fixture(scope="session")
def variations_logdir():
    """tests/helpers/variations.py: names with `-` and `.`, a Sonnet ResNet, a MirroredStrategy step (about 90 s)."""
    plugin = REPO / "tb_module_plugin" / "recording"
    key = cache_key([HELPERS / "variations.py"] + CORPUS
                    + [plugin / f for f in ("summary.py", "module_tree.py", "calls.py")],
                    ("tensorflow-cpu", "tensorflow", "keras", "dm-sonnet"))
    return cached_logdir("variations", key, lambda tmp: run_python(
        ["-m", "tests.helpers.variations", str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def costs_logdir():
    """tests/helpers/costs_corpus.py: a ResNet50 record at 224x224 and profiled steps, with what TensorFlow says of
    them."""
    plugin = REPO / "tb_module_plugin" / "recording"
    key = cache_key([HELPERS / "costs_corpus.py"] + CORPUS + [
        plugin / "summary.py", plugin / "module_tree.py", plugin / "calls.py", plugin / "demo.py", plugin / "demo_tools.py"],
        ("tensorflow-cpu", "tensorflow", "keras"))
    return cached_logdir("costs", key, lambda tmp: run_python(
        ["-m", "tests.helpers.costs_corpus", str(tmp)], timeout=1200))


@pytest.fixture(scope="session")
def costs_truth(costs_logdir):
    return json.loads((costs_logdir / "truth.json").read_text())


def _serving(logdir, truth: dict, name: str):
    """A tensorboard over `logdir`, ready once it lists every graph of `truth`."""
    tb = TensorBoard(logdir, load_fast=False, name=name)
    tb.start(wait_graphs={(e["run"], e["tag"]) for e in truth.values()}, timeout=180)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def costs_tb(costs_logdir, costs_truth):
    yield from _serving(costs_logdir, costs_truth, "costs")


@pytest.fixture(scope="session")
def corpus_tb(corpus_logdir, truth):
    yield from _serving(corpus_logdir, truth, "corpus")


# --- The plugin in-process ------------------------------------------------------------
@pytest.fixture(scope="module")
def client(logdir):
    """The plugin's routes over the test module's own `logdir` fixture, without a tensorboard process."""
    return make_client(logdir)[0]


# --- tensorboard processes -----------------------------------------------------------
@pytest.fixture(scope="session")
def tensorboard(live_logdir, live_runs, live_graphs):
    tb = TensorBoard(live_logdir, load_fast=False, name="live")
    tb.start(wait_runs=live_runs, wait_graphs=live_graphs)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def tensorboard_fast(live_logdir, live_runs, live_graphs):
    # The Rust data server ships with tensorboard (package tensorboard-data-server): it is always there, so a
    # server that does not start, or does not list a graph, is a failure to see, never a skip.
    tb = TensorBoard(live_logdir, load_fast=True, name="live-fast")
    tb.start(wait_runs=live_runs, wait_graphs=live_graphs, timeout=90)
    yield tb
    tb.stop()


@pytest.fixture(scope="session")
def tensorboard_empty(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("empty_logs")
    tb = TensorBoard(logdir, load_fast=False, name="empty")
    tb.start()
    yield tb
    tb.stop()


# --- Browser -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    p = browser_lib.BrowserPage(context.new_page())
    yield p
    context.close()


# --- Hostile logdir, served while it changes (issue 5) ------------------------------------
LOADERS = {"python": False, "rust": True}  # loader -> --load_fast


@pytest.fixture(scope="session")
def hostile_logdir(tmp_path_factory):
    """tests/helpers/hostile.py: every bad record (run `hostile`, run graphs `rg_*`), a run and a tag
    named with markup, event files cut mid-record (`cut_*`), the synthetic graphs
    (`synthetic_*`), and per loader a run `doomed_<loader>` for a test to delete."""
    from tests.helpers import hostile

    logdir = tmp_path_factory.mktemp("hostile_logs")
    hostile.write_hostile_logdir(logdir)
    hostile.write_cut_runs(logdir)
    hostile.write_synthetic_runs(logdir)
    for loader in LOADERS:
        RawWriter(logdir, f"doomed_{loader}").run_metadata(
            "trace", [graph_def([("doomed/x", "Const", [])])]).close()
    return logdir


@pytest.fixture(scope="session")
def growing_writers(hostile_logdir):
    """{loader: RawWriter} of run `growing_<loader>` in hostile_logdir, holding trace `trace` at
    step 0 (ops under `first/`), left open as a training job leaves its writer."""
    writers = {}
    for loader in LOADERS:
        w = RawWriter(hostile_logdir, f"growing_{loader}")
        w.run_metadata("trace", [graph_def([("first/x", "Const", []), ("first/y", "Relu", ["first/x"])])])
        writers[loader] = w.flush()
    yield writers
    for w in writers.values():
        w.close()


@pytest.fixture(scope="session")
def hostile_servers(hostile_logdir, growing_writers):
    """{loader: TensorBoard} over hostile_logdir, started side by side, with
    `--reload_interval 1` and `--module_graph_cache_mb 64`. Ready once every graph of
    tests/helpers/hostile.py's CASES that the Python loader lists is listed, by both loaders: either
    one not starting or not listing them is an error."""
    import threading

    from tests.helpers import hostile

    servers = {loader: TensorBoard(hostile_logdir, load_fast=fast, name=f"hostile-{loader}", extra_args=[
        "--reload_interval", "1", "--module_graph_cache_mb", "64"]) for loader, fast in LOADERS.items()}
    errors = {}

    def start(loader):
        try:
            servers[loader].start(wait_runs=[hostile.HOSTILE_RUN, f"growing_{loader}"], timeout=120)
            wait_for(lambda: {(g["run"], g["tag"]) for g in servers[loader].api("graphs").json()["graphs"]}
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
