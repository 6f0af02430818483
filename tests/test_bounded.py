"""Issue 20: no logdir can exhaust the server or escape into a terminal. Hostile logdirs written at test time,
served by real tensorboard processes."""

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tb_module_plugin.serve.cache import HierarchyCache

from tests.helpers.answers import InProcess, error, ok_json, walk
from tests.helpers.processes import PLUGIN_ROUTE, REPO, TensorBoard
from tests.helpers.records import RawWriter, function_def, graph_def
from tb_module_plugin.build.module_record import build_module_hierarchy
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve import search as search_lib

QUOTED_RUNS = {'q"uote': 't"ag', "back\\slash": "trace"}  # run -> tag: names TensorBoard's Rust server cannot read
PLAIN_RUN = "plain"


DEEP_LEVELS = 12_000
DEEP_NAME = "/".join("abcdefghij"[i % 10] for i in range(DEEP_LEVELS)) + "/leaf"  # a 24 KB name
DEEP_RUN = "deep"
FANOUT_LEVELS = 24


def fanout_graph(loop: bool):
    """A 2 KB record whose functions each run the next level twice, FANOUT_LEVELS levels deep: as two calls (2**23
    ops expanded), or as two While loops with the next level as condition and body (4**23)."""
    functions = []
    for i in range(FANOUT_LEVELS):
        following = f"level_{i + 1}"
        if i + 1 == FANOUT_LEVELS:
            nodes, ret = [("relu", "Relu", ["x"])], "relu:activations:0"
        elif loop:
            nodes = [("w1", "While", ["x"], {"cond": following, "body": following}),
                     ("w2", "While", ["w1:output:0"], {"cond": following, "body": following})]
            ret = "w2:output:0"
        else:
            nodes = [("c1", "PartitionedCall", ["x"], {"f": following}),
                     ("c2", "PartitionedCall", ["c1:output:0"], {"f": following})]
            ret = "c2:output:0"
        functions.append(function_def(f"level_{i}", nodes, {"y": ret}))
    return graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "level_0"})], functions)


FANOUT = {"fanout_calls": fanout_graph(False), "fanout_while": fanout_graph(True)}
BIG_PROFILE_BYTES = 400 * 2**20
PROFILE_RUNS = {"big_profile": "a sparse file of 400 MB", "fifo_profile": "a named pipe"}


def _profile_path(logdir, run):
    session = logdir / run / "plugins" / "profile" / "2026_01_01_00_00_00"
    session.mkdir(parents=True, exist_ok=True)
    return session / "host.xplane.pb"


@pytest.fixture(scope="module")
def bounded_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("bounded_logs")
    for run, tag in {**QUOTED_RUNS, PLAIN_RUN: "trace", **{run: "trace" for run in PROFILE_RUNS}}.items():
        RawWriter(logdir, run).run_metadata(tag, [graph_def([("s/x", "Const", []), ("s/y", "Relu", ["s/x"])])]).close()
    with open(_profile_path(logdir, "big_profile"), "wb") as f:
        f.truncate(BIG_PROFILE_BYTES)  # (sparse: its size is what is checked, before any byte is read)
    os.mkfifo(_profile_path(logdir, "fifo_profile"))  # opened for reading, it blocks until a writer comes: never
    RawWriter(logdir, DEEP_RUN).run_metadata("trace", [graph_def([("x", "Const", []), (DEEP_NAME, "Relu", ["x"])])]).close()
    for run, graph in FANOUT.items():
        RawWriter(logdir, run).run_metadata("trace", [graph]).close()
    return logdir


@pytest.fixture(scope="module")
def slow_tb(bounded_logdir):
    tb = TensorBoard(bounded_logdir, load_fast=False, name="bounded-slow")
    tb.start(wait_graphs=[(run, "trace") for run in [*PROFILE_RUNS, DEEP_RUN, *FANOUT]], timeout=120)
    yield tb
    tb.stop()


@pytest.fixture(scope="module")
def fast_tb(bounded_logdir):
    tb = TensorBoard(bounded_logdir, load_fast=True, name="bounded-fast")
    try:
        tb.start(wait_graphs=[(run, tag) for run, tag in QUOTED_RUNS.items()], timeout=120)
    except RuntimeError as e:
        tb.stop()
        pytest.fail(f"tensorboard --load_fast=true did not start: {str(e)[:500]}")
    yield tb
    tb.stop()


# --- item 4: every error is JSON with a 4xx, whatever the data provider raises ---------------------------------
@pytest.mark.live
@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_a_quoted_run_under_load_fast_gets_a_json_4xx(fast_tb, route):
    """The Rust data server lists these runs but fails to read their blobs (it cannot parse its own blob key):
    the answer says so, and how to see the graph, as JSON."""
    for run, tag in QUOTED_RUNS.items():
        message = error(fast_tb.api(route, run=run, tag=tag, q="x"), 422)
        assert "--load_fast=false" in message and run in message.replace("\\\\", "\\"), message
    assert ok_json(fast_tb.api("hierarchy", run=PLAIN_RUN, tag="trace"))["node"]["num_ops"] == 2
    listed = {(g["run"], g["tag"]) for g in ok_json(fast_tb.api("graphs", first=1))["graphs"]}
    assert set(QUOTED_RUNS.items()) <= listed


class _Failing(Exception):
    pass


@pytest.mark.parametrize("method", ["list_blob_sequences", "read_blob_sequences", "read_blob"])
def test_whatever_the_data_provider_raises_is_a_json_4xx(bounded_logdir, monkeypatch, method):
    plugin = InProcess(bounded_logdir)
    assert plugin.plugin.store.prepared.wait(60)
    plugin.plugin.store._recent.forget()  # nothing remembered from the head start: every request asks
    plugin.plugin.store.cache = HierarchyCache()

    def fail(*args, **kwargs):
        raise _Failing("the provider broke")

    monkeypatch.setattr(plugin.plugin.store._data_provider, method, fail)
    routes = ["hierarchy", "node", "search"] + (["graphs"] if method == "list_blob_sequences" else [])
    for route in routes:
        message = error(plugin.api(route, run=PLAIN_RUN, tag="trace", q="x", first=1), 422)
        assert "_Failing" in message and "the provider broke" not in message, message
    if method != "list_blob_sequences":  # the records are listed: reading one failing leaves the listing whole
        listed = ok_json(plugin.api("graphs", first=1))["graphs"]
        assert (PLAIN_RUN, "trace") in {(g["run"], g["tag"]) for g in listed}, listed


def test_a_bundle_file_gone_since_listed_is_a_json_404(bounded_logdir, monkeypatch):
    from tb_module_plugin.serve import plugin as plugin_lib

    plugin = InProcess(bounded_logdir)
    monkeypatch.setattr(plugin_lib, "_static_names", lambda: {"gone.js", "index.js"})
    monkeypatch.setattr(plugin_lib, "STATIC_DIR", str(bounded_logdir / "no_such_folder"))
    for route in ("static/gone.js", "index.js"):
        assert "no file" in error(plugin.api(route), 404)


# --- item 3: names never reach a terminal raw ----------------------------------------------------------------
TITLE, CLEAR = "\x1b]0;pwned\x07", "\x1b[2J"  # retitles the terminal; clears it
CONTROL_RUN = f"run{TITLE}"
# A terminal obeys these rather than showing them (C0, DEL, C1; the bidirectional overrides).
TERMINAL_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def control_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("control_logs")
    w = RawWriter(logdir, CONTROL_RUN)
    w.run_metadata(f"tag{CLEAR}", [graph_def([
        (f"model{CLEAR}/dense\x07\u202e/MatMul", "MatMul", []), ("head\x9b\u202e/Relu", "Relu", [])])])
    w.blob("graph_run_metadata_graph", f"broken{TITLE}", b"\x0f\xff not a RunMetadata")
    w.close()
    session = logdir / CONTROL_RUN / "plugins" / "profile" / "2026_01_01_00_00_00"
    session.mkdir(parents=True)
    (session / f"host{CLEAR}.xplane.pb").write_bytes(b"\x0f\xff not an XSpace")  # a `note:` line naming it
    return logdir


@pytest.mark.live
@pytest.mark.parametrize("options", [[], ["--sort", "params", "--all"], ["--json"]])
def test_the_cli_prints_no_control_character(control_logdir, options):
    proc = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(control_logdir), *options],
                          capture_output=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 1, (out, err)  # the broken record is reported, and the status says so
    for stream in (out, err):
        assert not TERMINAL_CONTROLS.search(stream), repr(TERMINAL_CONTROLS.search(stream)[0])
    assert "error: run\\x1b]0;pwned\\x07 / broken\\x1b]0;pwned\\x07" in err, err
    if "--json" in options:
        answer = json.loads(out)
        assert [*answer] == [f"{CONTROL_RUN}/tag{CLEAR}"]  # the names themselves, in escapes JSON undoes
        assert {c["name"] for c in answer[f"{CONTROL_RUN}/tag{CLEAR}"]["children"]} >= {f"model{CLEAR}"}
    else:
        assert "run\\x1b]0;pwned\\x07 / tag\\x1b[2J (trace)" in out, out
        if not options:  # (--sort lists modules only: these scopes read no variable)
            assert "model\\x1b[2J" in out and "head\\x9b\\u202e" in out, out
        assert "note: run\\x1b]0;pwned\\x07: The profile" in err and "host\\x1b[2J.xplane.pb" in err, err


@pytest.fixture(scope="module")
def control_tb(control_logdir):
    tb = TensorBoard(control_logdir, load_fast=False, name="bounded-control")
    tb.start(wait_graphs=[(CONTROL_RUN, f"tag{CLEAR}")], timeout=120)
    yield tb
    tb.stop()


def test_exports_of_control_character_names_parse(page, control_tb):
    """The SVG download parses as XML (ESC and BEL made it invalid) and still names the groups; the PNG, drawn
    from it, is made."""
    from playwright.sync_api import expect

    page.goto(control_tb.entry_url(CONTROL_RUN, f"tag{CLEAR}"))
    drawn = page.locator("svg.mg-graph .mg-name")
    expect(drawn.first).to_be_visible(timeout=60_000)
    names = drawn.evaluate_all("els => els.map(e => e.textContent)")
    assert any(CLEAR in name for name in names), names  # the page shows the names as they are
    with page.expect_download() as info:
        page.click('button[data-export="svg"]')
    document = ElementTree.fromstring(Path(info.value.path()).read_bytes())
    texts = [t.text or "" for t in document.iter("{http://www.w3.org/2000/svg}text")]
    assert "model\ufffd[2J" in texts and "head\ufffd\ufffd" in texts, texts
    with page.expect_download() as info:
        page.click('button[data-export="png"]')
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not page.problems(), page.problems()


# --- item 2: profiles are regular files of bounded size, refused at once otherwise ------------------------------
@pytest.mark.live
def test_a_huge_or_fifo_profile_is_refused_at_once_and_blocks_nothing(slow_tb):
    from tb_module_plugin.readers.profiles import MAX_PROFILE_BYTES

    assert BIG_PROFILE_BYTES > MAX_PROFILE_BYTES  # (else the test shows nothing)
    listed = {g["run"]: g for g in ok_json(slow_tb.api("graphs"))["graphs"]}
    assert all(listed[run]["profiled"] for run in PROFILE_RUNS)  # found, not read
    results = {}

    def ask(key, run):
        t0 = time.perf_counter()
        results[key] = (slow_tb.api("hierarchy", run=run, tag="trace", time=1), time.perf_counter() - t0)

    # Every retry of the pipe left a thread blocked forever: ask it several times, with the huge one.
    threads = [threading.Thread(target=ask, args=((run, i), run)) for run in PROFILE_RUNS for i in range(3)]
    for t in threads:
        t.start()
    # Meanwhile the listing answers at once: the best of three asks (one alone may wait its turn on shared cores;
    # the joins and `seconds < 5` below show that nothing blocks).
    asked = [slow_tb.timed_get(f"{PLUGIN_ROUTE}/graphs", timeout=30) for _ in range(3)]
    assert all(status == 200 for _, _, status in asked), [status for _, _, status in asked]
    assert min(took for took, _, _ in asked) < 0.5, [took for took, _, _ in asked]
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a profile request still hangs"
    for (run, _), (response, seconds) in results.items():
        message = error(response, 422)
        assert seconds < 5, (run, seconds)
        if run == "big_profile":
            assert f"{BIG_PROFILE_BYTES // 2**20} MB" in message and f"{MAX_PROFILE_BYTES // 2**20} MB" in message
        else:
            assert "named pipe (FIFO)" in message and "only regular files" in message, message
    assert ok_json(slow_tb.api("hierarchy", run=PLAIN_RUN, tag="trace"))["node"]["num_ops"] == 2


def test_a_lone_surrogate_in_a_name_stops_no_summary(tmp_path, monkeypatch):
    """A name holding a lone surrogate (JSON's `\\udc00`) is printed escaped, and the runs after it are printed too
    (printing it raised UnicodeEncodeError, taken for an error of the whole command)."""
    import io

    from tb_module_plugin.cli import main as cli

    runs = ["a_run", "b_run", "c_run"]
    for run in runs[::2]:
        writer = RawWriter(tmp_path, run)
        writer.run_metadata("trace", [graph_def([("s/x", "Const", []), ("s/y", "Relu", ["s/x"])])])
        writer.close()
    writer = RawWriter(tmp_path, runs[1])
    layer = b'{"class_name": "Dense", "config": {"name": "d\\udc00x", "units": 2}}'  # a JSON escape: a lone surrogate
    writer.blob("graph_keras_model", "keras", b'{"class_name": "Sequential", "config": {"name": "seq", "layers": [' +
                layer + b']}}')
    writer.close()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # a terminal's strict UTF-8
    monkeypatch.setattr(sys, "stdout", out)
    status = cli.main(["summary", str(tmp_path)])
    out.flush()
    text = out.buffer.getvalue().decode("utf-8")
    assert status == 0 and all(f"{run} / " in text for run in runs) and "d\\udc00x" in text, (status, text)


def test_a_runs_profiles_are_read_within_a_total(tmp_path, monkeypatch):
    """However many sessions a run holds, one reading takes the newest profiles only, up to a number of files and a
    total of bytes (each file's own bound left many files of 256 MB unbounded)."""
    from tb_module_plugin.readers import profiles

    space_class = profiles._xspace()
    durations = [5, 7, 11]  # picoseconds of op `a` in each session, oldest first
    for i, ps in enumerate(durations):
        space = space_class()
        plane = space.planes.add(name="/host:CPU")
        plane.event_metadata.add(key=1).value.name = "a:Relu"
        plane.lines.add(name="tf_Compute").events.add(metadata_id=1, duration_ps=ps)
        (tmp_path / f"session_{i}.xplane.pb").write_bytes(space.SerializeToString())
    files = [str(tmp_path / f"session_{i}.xplane.pb") for i in range(len(durations))]
    assert profiles.read_op_times(files).total_ps["a"] == sum(durations)
    monkeypatch.setattr(profiles, "MAX_PROFILE_FILES", 2)
    times = profiles.read_op_times(files)
    assert times.files == files[-2:] and times.total_ps["a"] == sum(durations[-2:])
    monkeypatch.setattr(profiles, "MAX_PROFILES_TOTAL_BYTES", os.path.getsize(files[-1]) + 1)
    times = profiles.read_op_times(files)
    assert times.files == files[-1:] and times.total_ps["a"] == durations[-1]


@pytest.mark.live
def test_the_cli_does_not_hang_on_such_profiles(bounded_logdir):
    for run in PROFILE_RUNS:
        proc = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(bounded_logdir), "--run", run],
                              capture_output=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(REPO)))
        out, err = proc.stdout.decode(), proc.stderr.decode()
        assert proc.returncode == 0 and f"{run} / trace (trace)" in out, (out, err)
        assert f"note: {run}: The profile" in err, err  # the table without time, and why


# --- item 1: nothing grows with the square of a name's depth ------------------------------------------------------
@pytest.mark.live
def test_a_name_twelve_thousand_levels_deep_answers_small(slow_tb):
    """Its ancestors travel as names (as paths they made a 144 MB answer and took a GB of server memory)."""
    before = slow_tb.rss_bytes()[0]
    took, body, status = slow_tb.timed_get(f"{PLUGIN_ROUTE}/node", run=DEEP_RUN, tag="trace", path=DEEP_NAME)
    assert status == 200 and len(body) < 2**20, (status, len(body))
    details = json.loads(body)["node"]
    assert details["path"] == DEEP_NAME and details["ancestors"] == DEEP_NAME.split("/")[:-1]
    middle = "/".join(DEEP_NAME.split("/")[:6000])
    took, body, status = slow_tb.timed_get(f"{PLUGIN_ROUTE}/hierarchy", run=DEEP_RUN, tag="trace", path=middle, depth=8)
    assert status == 200 and len(body) < 2**20 and json.loads(body)["node"]["num_ops"] == 1, (status, len(body))
    for query in ({"q": "leaf"}, {"q": "a", "limit": 500}, {"q": "j/a/b", "regex": 1, "limit": 500}):
        took, body, status = slow_tb.timed_get(f"{PLUGIN_ROUTE}/search", run=DEEP_RUN, tag="trace", **query)
        assert status == 200 and len(body) < 2**20 and took < 10, (query, status, len(body), took)
    assert json.loads(slow_tb.api("search", run=DEEP_RUN, tag="trace", q="leaf").body)["matches"][0]["path"] == \
        DEEP_NAME
    assert slow_tb.rss_bytes()[0] - before < 300 * 2**20, (before, slow_tb.rss_bytes())


def test_a_search_keeps_paths_within_what_a_node_keeps(monkeypatch):
    """A search makes every node's path and keeps the short ones in the nodes: within the tree's own bound on a
    kept path (one bound, not a second constant that must agree), and it reads that much of each path."""
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.tree import node as tree
    from tb_module_plugin.readers import graph as graph_lib

    monkeypatch.setattr(tree, "MAX_KEPT_PATH", 40)
    name = "/".join(f"s{i}" for i in range(60)) + "/leaf"  # 60 scopes, 240 characters
    hierarchy = build.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(
        [(name, "Relu", [])])), [], []), "t")
    assert search_lib.search(hierarchy, "s1", False, 500)["matches"] and search_lib.search(hierarchy, "s1/s2", True, 500)["matches"]
    kept = [n._path for n in hierarchy.all_nodes if n._path is not None]
    assert kept and max(map(len, kept)) <= 40, max(map(len, kept))
    # A regular expression sees the first 40 characters of a path: s9 is in them, s20 is not.
    assert search_lib.search(hierarchy, "^s0/s1/.*/s9$", True, 500)["matches"]
    assert not search_lib.search(hierarchy, "s19/s20$", True, 500)["matches"]


@pytest.mark.live
@pytest.mark.parametrize("run", sorted(FANOUT))
def test_calls_past_the_expansion_budget_stay_single_ops(slow_tb, run):
    """Expanded whole, the calls made 2**23 ops (4**23 with loops): the graph answers in seconds, with the ops past
    the budget marked and counted, and the server stays small."""
    from tb_module_plugin.readers.budget import MAX_EXPANDED_OPS

    graph = FANOUT[run]
    size = len(graph.SerializeToString())
    assert size < 5000, size  # (a few KB)
    took, body, status = slow_tb.timed_get(f"{PLUGIN_ROUTE}/hierarchy", run=run, tag="trace", depth=8, timeout=120)
    assert status == 200 and took < 15, (status, took)
    root = json.loads(body)["node"]
    assert root["num_ops"] <= MAX_EXPANDED_OPS + len(graph.node), root["num_ops"]
    library = {f.signature.name for f in graph.library.function}
    marked = [n for n, _ in walk(root) if n.get("not_expanded")]
    assert marked and root["unexpanded_ops"] >= len(marked), (root.get("unexpanded_ops"), len(marked))
    for op in marked:  # each one a call or loop into a function the record holds
        assert op["not_expanded"] == "budget" and op["kind"] == "op", op
        attrs = op["attrs"]
        assert {attrs.get(a) for a in ("f", "cond", "body")} & library, attrs
        details = ok_json(slow_tb.api("node", run=run, tag="trace", path=op["path"]))["node"]
        assert details["not_expanded"] == "budget"
    assert slow_tb.rss_bytes()[0] < 1.5 * 2**30, slow_tb.rss_bytes()


def test_the_page_says_a_call_was_not_expanded(page, slow_tb):
    from playwright.sync_api import expect

    root = ok_json(slow_tb.api("hierarchy", run="fanout_calls", tag="trace", depth=1))["node"]
    marked = [c["path"] for c in root["children"] if c.get("not_expanded") == "budget"]
    assert marked, root["children"]
    page.goto(slow_tb.entry_url("fanout_calls", "trace"))
    op = page.locator(f'[data-path={json.dumps(marked[0])}]')
    expect(op.first).to_be_visible(timeout=60_000)
    op.first.click()
    details = page.locator(f'[data-details-for={json.dumps(marked[0])}]')
    expect(details).to_contain_text("not expanded (budget)", timeout=30_000)
    assert not page.problems(), page.problems()


def test_the_budget_grows_with_the_library_not_with_the_calls(monkeypatch):
    """A body as big as the budget, called once, is expanded whole (a model traced inside a called function); the
    fan-out of a small library is cut at the budget, its calls counted."""
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.readers import budget as budget_lib
    from tb_module_plugin.readers import graph as graph_lib

    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_OPS", 100)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_BODIES", 10)
    body = [("r0", "Relu", ["x"])] + [(f"r{i}", "Relu", [f"r{i - 1}:activations:0"]) for i in range(1, 300)]
    big = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "model"})],
                    [function_def("model", body, {"y": "r299:activations:0"})])
    ops = graph_lib.flatten_graph_def(big)
    assert sorted(op.op_name for op in ops) == sorted(["x"] + [name for name, *_ in body])
    assert not any(op.not_expanded for op in ops)
    fanout = fanout_graph(loop=False)
    library_cost = sum(_reads(f) for f in fanout.library.function)
    hierarchy = build.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(fanout), [], []), "t")
    unexpanded = [n for n in hierarchy.all_nodes if n.children is None and n.not_expanded == "budget"]
    assert unexpanded and hierarchy.unexpanded_ops == len(unexpanded)
    assert hierarchy.root.num_ops <= 100 + budget_lib.BUDGET_PER_LIBRARY_OP * library_cost + len(fanout.node)
    assert {n.type for n in unexpanded} == {"PartitionedCall"}


def _reads(function) -> int:
    """What instantiating a body reads, counted from the proto: its ops and their inputs, its signature, returns."""
    return (sum(1 + len(n.input) for n in function.node_def) + len(function.signature.input_arg) +
            len(function.signature.output_arg) + len(function.ret) + len(function.control_ret))


def _called_k_times(k: int, tag: str):
    """A graph calling a 10-op function `k` times from its top level: each expanded call adds its 10 ops."""
    body = [("r0", "Relu", ["x"])] + [(f"r{i}", "Relu", [f"r{i - 1}:activations:0"]) for i in range(1, 10)]
    calls = [(f"{tag}_call_{i}", "PartitionedCall", [f"{tag}_x"], {"f": f"{tag}_body"}) for i in range(k)]
    return graph_def([(f"{tag}_x", "Placeholder", [])] + calls, [function_def(f"{tag}_body", body, {"y": "r9:y:0"})])


@pytest.mark.parametrize("record", ["trace", "module"])
def test_one_budget_covers_all_of_a_records_graphs(monkeypatch, record):
    """Each graph of a record (a trace's function graphs, a module record's other functions) spends the same budget:
    K copies of a small fan-out are not K budgets."""
    from tb_module_plugin.readers import budget as budget_lib
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.readers import manifest as manifest_lib

    graphs = [_called_k_times(10, f"g{j}") for j in range(6)]
    body = graphs[0].library.function[0]
    affordable = 25  # of the 60 calls
    monkeypatch.setattr(budget_lib, "BUDGET_PER_LIBRARY_OP", 0)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_BODIES", 1000)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_OPS", affordable * _reads(body))
    if record == "trace":
        flat = graph_lib.flatten_trace(graphs)
        ops = flat.ops + [op for _, other in flat.other_functions for op in other]
    else:
        manifest = manifest_lib.parse_manifest(json.dumps({"version": 2, "variables": [], "modules": [
            {"name": "m", "parent": None, "variables": []}]}).encode())
        hierarchy = build_module_hierarchy(manifest, graphs[0], graphs[1:], "record")
        ops = [n for n in hierarchy.all_nodes if n.children is None]
    expanded = sum(op.type == "Relu" for op in ops)
    unexpanded = [op for op in ops if op.not_expanded == "budget"]
    calls = sum(len(g.node) - 1 for g in graphs)
    assert expanded == affordable * len(body.node_def), expanded
    assert len(unexpanded) == calls - affordable, len(unexpanded)


@pytest.mark.parametrize("fat", ["arguments", "inputs"])
def test_a_body_is_charged_its_signature_and_inputs(monkeypatch, fat):
    """A leaf of one op but a huge signature (or one op of huge fan-in), reached through a fan-out of calls, costs
    what instantiating it reads: the expansion stops there."""
    from tb_module_plugin.readers import budget as budget_lib
    from tb_module_plugin.readers import graph as graph_lib

    # (Bounds made small, so that without the charge the test costs seconds, not the 22 s and gigabytes a record of
    # a leaf with 100,000 arguments took.)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_OPS", 20_000)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_BODIES", 2_000)
    width, levels = 500, 16
    functions = []
    for i in range(levels):
        following = f"level_{i + 1}"
        nodes = [("c1", "PartitionedCall", ["x"], {"f": following}),
                 ("c2", "PartitionedCall", ["c1:output:0"], {"f": following})]
        functions.append(function_def(f"level_{i}", nodes, {"y": "c2:output:0"}))
    wide = fat == "arguments"
    args = [f"a{k}" for k in range(width)] if wide else ("x",)
    functions.append(function_def(f"level_{levels}", [("leaf", "Relu", ["x"] * (1 if wide else width))],
                                  {"y": "leaf:activations:0"}, args=args))
    graph = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "level_0"})], functions)
    leaf_cost = _reads(functions[-1])
    assert leaf_cost > width  # (else the test shows nothing)
    ops = graph_lib.flatten_graph_def(graph)
    leaves = sum(op.type == "Relu" for op in ops)
    library_cost = sum(_reads(f) for f in functions)
    assert 0 < leaves * leaf_cost <= budget_lib.MAX_EXPANDED_OPS + budget_lib.BUDGET_PER_LIBRARY_OP * library_cost, leaves


def test_a_control_flow_op_is_expanded_whole_or_not_at_all(monkeypatch):
    """An If whose then-branch fits the budget but not both branches keeps both unexpanded (and says so); with room
    for both, both are expanded."""
    from tb_module_plugin.readers import budget as budget_lib
    from tb_module_plugin.readers import graph as graph_lib

    then = function_def("small", [("t", "Relu", ["x"])], {"y": "t:activations:0"})
    other = function_def("big", [(f"e{i}", "Relu", ["x"]) for i in range(50)], {"y": "e0:activations:0"})
    graph = graph_def([("p", "Placeholder", []), ("x", "Placeholder", []),
                       ("if", "If", ["p", "x"], {"then_branch": "small", "else_branch": "big"})], [then, other])
    monkeypatch.setattr(budget_lib, "BUDGET_PER_LIBRARY_OP", 0)
    for budget, whole in ((_reads(then) + _reads(other) - 1, False), (_reads(then) + _reads(other), True)):
        monkeypatch.setattr(budget_lib, "MAX_EXPANDED_OPS", budget)
        ops = graph_lib.flatten_graph_def(graph)
        (if_op,) = [op for op in ops if op.type == "If"]
        bodies = [op for op in ops if op.type == "Relu"]
        assert (if_op.not_expanded == "budget") is not whole, (budget, if_op.not_expanded)
        assert len(bodies) == (len(then.node_def) + len(other.node_def) if whole else 0), (budget, len(bodies))


def test_a_records_call_prefix_is_bounded_and_shared():
    """A module record's call_prefix is joined to each op's run name: one longer than a call name can be (or deeper
    than calls nest) is no prefix, and the ops of one body share one joined string (a 200 KB prefix on a call into
    2,000 ops took 383 MB)."""
    from tb_module_plugin.readers import manifest as manifest_lib
    from tb_module_plugin.readers.expand import MAX_CALL_DEPTH

    def read(prefix):
        record = {"version": 2, "variables": [], "call_prefix": prefix,
                  "modules": [{"name": "m", "parent": None, "variables": []}]}
        return manifest_lib.parse_manifest(json.dumps(record).encode())

    longest = "p" * (manifest_lib.MAX_CALL_PREFIX - 1) + "/"
    deepest = "c/" * MAX_CALL_DEPTH
    assert read(longest)["call_prefix"] == longest and read(deepest)["call_prefix"] == deepest
    assert read("p" + longest)["call_prefix"] == "" and read("c/" + deepest)["call_prefix"] == ""
    body = [("r0", "Relu", ["x"])] + [(f"r{i}", "Relu", [f"r{i - 1}:activations:0"]) for i in range(1, 2000)]
    graph = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "model"})],
                      [function_def("model", body, {"y": "r1999:activations:0"})])
    hierarchy = build_module_hierarchy(read(longest), graph, [], "record")
    ops = [n for n in hierarchy.all_nodes if n.children is None and n.type == "Relu"]
    assert {op.run_name for op in ops} == {f"{longest}call/{name}" for name, *_ in body}
    assert len({id(op.call_prefix) for op in ops}) == 1  # one string for the body's 2,000 ops


def test_a_records_call_prefix_on_a_graph_without_functions_is_its_own():
    """A module record's graph without a library is read as a lean table, whose ops keep no call prefix of their
    own (their graph's class holds it): each op's run name carries its record's prefix, and a graph read from the
    same bytes without a prefix, or with another, keeps its own."""
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.readers import lite_proto
    from tb_module_plugin.readers import manifest as manifest_lib

    def read(prefix):
        record = {"version": 2, "variables": [], "call_prefix": prefix,
                  "modules": [{"name": "m", "parent": None, "variables": []}]}
        return manifest_lib.parse_manifest(json.dumps(record).encode())

    nodes = [("x", "Placeholder", [])] + [(f"m/r{i}", "Relu", [f"m/r{i - 1}" if i else "x"]) for i in range(50)]
    blob = graph_def(nodes).SerializeToString()
    built = {}
    for prefix in ("first/call/", "", "second/"):
        table = graph_lib.parse_graph_def(blob)
        assert table.__class__ is lite_proto.NodeTable  # (the lean path this test is about)
        built[prefix] = build_module_hierarchy(read(prefix), table, [], "record")
    for prefix, hierarchy in built.items():
        ops = [n for n in hierarchy.all_nodes if n.children is None]
        assert len(ops) == len(nodes)
        assert {op.run_name for op in ops} == {prefix + name for name, *_ in nodes}, prefix


def test_a_control_input_on_calls_whose_outputs_repeat_resolves_once_per_call():
    """A function whose two outputs both name the one call it makes to the next level, 24 levels deep, and an op
    waiting on the first call: a control input resolved output by output walked 2**24 paths (found by the property
    tests on a fresh machine); resolved once per call, it is 24 calls."""
    from tb_module_plugin.readers import graph as graph_lib

    functions = []
    for i in range(FANOUT_LEVELS):
        if i + 1 == FANOUT_LEVELS:
            nodes, ret = [("relu", "Relu", ["x"])], "relu:activations:0"
        else:
            nodes, ret = [("c", "PartitionedCall", ["x"], {"f": f"level_{i + 1}"})], "c:output:0"
        functions.append(function_def(f"level_{i}", nodes, {"y1": ret, "y2": ret}))
    g = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "level_0"}),
                   ("after", "NoOp", ["^call"])], functions)
    started = time.perf_counter()
    ops = graph_lib.flatten_graph_def(g)
    assert time.perf_counter() - started < 5
    after = next(op for op in ops if op.op_name == "after")
    assert [(producer.type, control) for producer, _, control in after.inputs] == [("Relu", True)]


def test_a_control_flow_op_whose_bodies_recurse_is_marked_not_expanded_whole():
    """An If whose then-branch is the function it sits in (recursion) and whose else-branch is fine: the else
    branch shows, and the If is marked `not_expanded: "depth"` (its FLOPs a lower bound), counted in unexpanded_ops
    (it was a plain op whose FLOPs read as exact)."""
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.readers import graph as graph_lib

    f = function_def("f", [("sq", "Square", ["x"]),
                           ("branch", "If", ["sq:y:0", "x"], {"then_branch": "f", "else_branch": "g"})],
                     {"y": "branch:output:0"})
    g = function_def("g", [("neg", "Neg", ["x"])], {"y": "neg:y:0"})
    graph = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "f"})], [f, g])
    ops = graph_lib.flatten_graph_def(graph)
    inner = [op for op in ops if op.type == "If"]
    assert len(inner) == 1 and inner[0].not_expanded == "depth", [(op.op_name, op.not_expanded) for op in inner]
    assert [op.op_name for op in ops if op.type == "Neg"] == ["neg"], "the else-branch is not shown"
    hierarchy = build.build_graph_hierarchy(graph_lib.FlatGraph(ops, [], []), "t")
    assert hierarchy.unexpanded_ops == 1
    assert answers_lib.node_json(hierarchy, inner[0].path, 0)["not_expanded"] == "depth"
