"""Issue 5, part 1: every bad input, each with its answer.

Graph records (tests/helpers/hostile.py) go through the plugin's routes over a
MultiplexerDataProvider (no tensorboard process: the answer does not depend on the data
provider; tests/test_load_fast.py shows both tensorboard loaders answer the same). What
does depend on the data provider, event files cut mid-record and runs deleted while
served, goes through real tensorboard processes with both loaders. Requests that try to
escape the bundle or echo markup go through TensorBoard's own routing.
"""

import http.client
import os
import re
import shutil
import urllib.parse

import pytest

from tests.helpers import hostile
from tests.helpers.answers import InProcess, check_against, check_node_shape, error, ok_json, walk
from tests.helpers.processes import PLUGIN_ROUTE, wait_for
from tests.helpers.records import RawWriter, XSS_IMG, XSS_SCRIPT, XSS_SVG, graph_def
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.build import builder as build_lib
from tb_module_plugin import schema
from tb_module_plugin.serve import search as search_lib
from tb_module_plugin.build import sources
from tb_module_plugin.serve import answers as answers_lib

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tb_module_plugin", "static")


@pytest.fixture(scope="module")
def plugin(hostile_logdir):
    return InProcess(hostile_logdir)


def tree(plugin, run, tag, path="", depth=8):
    return ok_json(plugin.api("hierarchy", run=run, tag=tag, path=path, depth=depth))["node"]


def ops_of(node):
    return [n for n, _ in walk(node) if n["kind"] == "op"]


def all_paths(node):
    return [n["path"] for n, _ in walk(node)]


# --- every record of tests/helpers/hostile.py: the status and words it must get, on every route ----------------
@pytest.mark.parametrize("run,tag", sorted(hostile.CASES), ids=lambda v: v[:24])
def test_each_bad_record_gets_its_answer(plugin, run, tag):
    status, words = hostile.CASES[(run, tag)]
    answers = [plugin.api("hierarchy", run=run, tag=tag, depth=8), plugin.api("node", run=run, tag=tag),
               plugin.api("search", run=run, tag=tag, q="a")]
    if status == 200:
        root = ok_json(answers[0])["node"]
        check_node_shape(root)
        paths = all_paths(root)
        assert len(paths) == len(set(paths)), "paths are not unique"
        for op in ops_of(root):  # an op's inputs are ops of the graph (dangling ones are left out)
            for end in op["inputs"]:
                assert plugin.api("node", run=run, tag=tag, path=end["path"]).status == 200, (op["path"], end)
        assert ok_json(answers[1])["node"]["path"] == ""
        # The search for "a" finds exactly the nodes whose name or path holds it (any case): each match does,
        # and every such node of the tree above is among the matches unless the answer says it left some out.
        found = ok_json(answers[2])
        check_against(found, schema.SearchResult, "search")
        matched = [m["path"] for m in found["matches"]]
        assert all("a" in p.lower() for p in matched), matched[:10]
        holding = {p for p in paths if p and "a" in p.lower()}
        assert found["truncated"] or holding <= set(matched), sorted(holding - set(matched))[:10]
    else:
        messages = {error(a, status) for a in answers}
        assert len(messages) == 1, messages  # one record, one explanation, whatever the route
        assert words in messages.pop()


def test_dangling_inputs_are_left_out(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "dangling")
    ops = {op["path"]: op for op in ops_of(root)}
    assert set(ops) == {"a", "b", "c"}
    assert sorted((i["path"], i["port"]) for i in ops["b"]["inputs"]) == [("a", "0"), ("a", "7")]
    assert sorted((i["path"], i["control"]) for i in ops["c"]["inputs"]) == [("b", False), ("b", True)]


def test_cycles_are_drawn_as_edges(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "cycle", depth=1)
    assert root["num_ops"] == 6
    edges = {(e["from"], e["to"]) for e in root["edges"]}
    assert {("a", "b"), ("b", "c"), ("c", "a")} <= edges
    assert not any(a == b for a, b in edges)  # `d` feeds itself: no edge from a node to itself
    inner = tree(plugin, hostile.HOSTILE_RUN, "cycle", path="s", depth=1)
    assert {(e["from"], e["to"]) for e in inner["edges"]} == {("s/x", "s/y"), ("s/y", "s/x")}


def test_duplicate_names_keep_every_op(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "duplicates")
    ops = ops_of(root)
    assert len(ops) == root["num_ops"] == 6
    assert sorted(op["op"] for op in ops) == ["Const", "Const", "Const", "Relu", "Relu", "Relu"]


def test_names_of_ten_thousand_characters(plugin):
    run, tag = hostile.HOSTILE_RUN, "long_names"
    root = tree(plugin, run, tag)
    assert hostile.LONG_NAME in {c["name"] for c in root["children"]}
    deepest = "x" * hostile.LONG + "/" + "y" * hostile.LONG
    details = ok_json(plugin.api("node", run=run, tag=tag, path=deepest))["node"]
    assert details["op"] == "Relu" and details["ancestors"] == ["x" * hostile.LONG]
    matches = ok_json(plugin.api("search", run=run, tag=tag, q="m" * 100))["matches"]
    assert [m["path"] for m in matches] == ["s/" + "m" * hostile.LONG]


def test_empty_names_become_readable(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "empty_names")
    assert root["num_ops"] == 6
    names = [n["name"] for n, _ in walk(root) if n is not root]
    assert "" not in names and "(empty)" in names


def test_a_thousand_levels_of_scopes(plugin):
    run, tag = hostile.HOSTILE_RUN, "deep_scopes"
    details = ok_json(plugin.api("node", run=run, tag=tag, path=hostile.DEEP_NAME))["node"]
    assert details["op"] == "Relu" and len(details["ancestors"]) == hostile.DEEP
    assert "/".join(details["ancestors"]) == hostile.DEEP_NAME.rsplit("/", 1)[0]
    root = tree(plugin, run, tag, depth=8)
    assert max(n["path"].count("/") for n, _ in walk(root)) == 7  # `depth` bounds the answer
    middle = "/".join(f"s{i}" for i in range(500))
    assert tree(plugin, run, tag, path=middle, depth=1)["num_ops"] == 2
    assert ok_json(plugin.api("search", run=run, tag=tag, q="leaf"))["matches"][0]["path"] == hostile.DEEP_NAME


def test_unicode_names_ops_and_attributes_come_back_unchanged(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "unicode")
    ops = {op["path"]: op for op in ops_of(root)}
    assert set(ops) == set(hostile.UNICODE_NAMES)
    assert ops["模型/层/乘法"]["op"] == "Ünïcødé" and ops["emoji 🙂/op 🚀"]["op"] == "🙂"
    for name, op in ops.items():
        assert op["attrs"]["note"] == name + " \ufffd\ufffd not utf-8"  # bytes that are not UTF-8: replaced


def test_markup_is_returned_as_json_data(plugin):
    response = plugin.api("hierarchy", run=hostile.HOSTILE_RUN, tag="markup", depth=8)
    assert response.headers["Content-Type"].startswith("application/json")
    ops = {op["path"]: op for op in ops_of(response.json()["node"])}
    assert set(ops) == set(hostile.MARKUP_NAMES)
    assert ops[f"{XSS_SVG}/op"]["op"] == XSS_IMG and ops[XSS_IMG]["attrs"] == {XSS_SVG: XSS_SCRIPT}


def test_unicode_digits_in_names_and_ports(plugin):
    """`AddN_²` and the input `x:²`: str.isdigit() says digits, int() refuses them (was a 500)."""
    root = tree(plugin, hostile.HOSTILE_RUN, "odd_digits", depth=2)
    assert root["num_ops"] == 10
    names = {c["name"] for c in root["children"]}
    assert {"AddN[1-5]", "AddN_²", "AddN_³", "AddN_¹"} <= names, names
    relu = ok_json(plugin.api("node", run=hostile.HOSTILE_RUN, tag="odd_digits", path="Relu"))["node"]
    assert [(i["path"], i["port"]) for i in relu["inputs"]] == [("x", "²")]


def test_functions_that_call_themselves_or_are_missing(plugin):
    root = tree(plugin, hostile.HOSTILE_RUN, "recursion")
    ops = ops_of(root)
    assert len(ops) == root["num_ops"] == 15
    by_path = {op["path"]: op["op"] for op in ops}
    for opaque in ("missing", "no_f", "again", "cond/then/again"):  # a missing function, none, a self-call
        assert by_path[opaque] == "StatefulPartitionedCall", opaque
    assert by_path["call_ping"] == by_path["direct/call_ping"] == "PartitionedCall"  # ping -> pong -> ping stops
    assert by_path["while/body/body_again/(body_again)"] == "While"  # a body running its own loop again
    assert by_path["cond/(cond)"] == "StatelessIf" and "cond/else" not in by_path  # no `nowhere` function


@pytest.mark.parametrize("tag", ["keras_odd_layers", "keras_deep_models", "keras_deep_value"])
def test_keras_json_of_unknown_forms_gives_what_it_can(plugin, tag):
    root = tree(plugin, hostile.HOSTILE_RUN, tag)
    names = [n["name"] for n, _ in walk(root)]
    assert all(names) and not any("/" in n for n in names)
    if tag == "keras_odd_layers":
        assert root["name"] == XSS_IMG and {"a_b_c", "dup", XSS_SCRIPT.replace("/", "_")} <= set(names), names
        dup = [c["path"] for c in root["children"] if c["name"].startswith("dup")]
        assert len(dup) == 2 and len(set(dup)) == 2
    if tag == "keras_deep_value":
        deep = root["children"][0]["attrs"]["deep"]
        assert deep.startswith("[[[") and len(deep) <= 201  # long values are cut


@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_bad_parameters_get_4xx_json(plugin, route):
    run, tag = hostile.HOSTILE_RUN, "cycle"
    for params, status in [({"run": run}, 400), ({"tag": tag}, 400), ({"run": run, "tag": tag, "depth": "²"}, 400),
                           ({"run": run, "tag": tag, "depth": "9" * 5000}, 400),
                           ({"run": run, "tag": tag, "limit": "-1"}, 400),
                           ({"run": "\x00", "tag": tag}, 404), ({"run": run, "tag": XSS_SCRIPT}, 404),
                           ({"run": run, "tag": tag, "path": "a/" + "x" * 20_000}, 404 if route != "search" else 200),
                           ({"run": run, "tag": tag, "q": "(" * 100, "regex": "1"}, 400 if route == "search" else 200)]:
        response = plugin.api(route, **params)
        assert response.status == status, (route, params, response)
        if status != 200:
            error(response, status)


# --- through tensorboard: what the data provider decides -------------------------------------------
def test_event_files_cut_mid_record(hostile_tb):
    """The records before the cut are served; the cut one is not there (yet)."""
    listed = {(g["run"], g["tag"]) for g in ok_json(hostile_tb.api("graphs"))["graphs"]}
    assert (hostile.CUT_RUN, "whole") in listed
    assert not {(run, tag) for run, tag in listed if run == hostile.CUT_ALONE_RUN or tag == "cut"}
    assert tree(hostile_tb, hostile.CUT_RUN, "whole")["num_ops"] == 2
    assert "no graph tagged 'cut'" in error(hostile_tb.api("hierarchy", run=hostile.CUT_RUN, tag="cut"), 404)
    assert "no run" in error(hostile_tb.api("hierarchy", run=hostile.CUT_ALONE_RUN, tag="cut"), 404)


def test_a_run_deleted_while_served(hostile_tb, hostile_logdir):
    """Answered (and cached) before; after the folder goes, the next reload makes it a 404 everywhere."""
    run = f"doomed_{hostile_tb.loader}"
    assert tree(hostile_tb, run, "trace")["num_ops"] == 1
    shutil.rmtree(hostile_logdir / run)
    wait_for(lambda: hostile_tb.api("hierarchy", run=run, tag="trace").status == 404, timeout=20,
             what=f"{run} gone")
    for route in ("hierarchy", "node", "search"):
        assert f"no run {run!r}" in error(hostile_tb.api(route, run=run, tag="trace", q="x"), 404)
    assert run not in {g["run"] for g in ok_json(hostile_tb.api("graphs"))["graphs"]}
    assert ok_json(hostile_tb.api("hierarchy", run=hostile.CUT_RUN, tag="whole"))  # the rest still answers


# --- requests that try to leave the bundle or put markup into a page -------------------------------
def raw_get(tb, raw_path):
    """GET exactly `raw_path` (no client-side normalisation of `..` or escapes)."""
    connection = http.client.HTTPConnection("127.0.0.1", tb.port, timeout=30)
    try:
        connection.putrequest("GET", raw_path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


TRAVERSALS = [
    "static/../plugin.py", "static/../../setup.py", "static/..%2fplugin.py", "static/%2e%2e/plugin.py",
    "static/%2e%2e%2f%2e%2e%2fsetup.py", "static/%252e%252e/plugin.py", "static/..%5cplugin.py", "static/..\\plugin.py",
    "static//etc/passwd", "static/%2fetc%2fpasswd", "static/style.css%00.js", "static/%EF%BC%8E%EF%BC%8E/plugin.py",
    "static/.", "static/", "static/..", "static/./style.css/..", "index.js/../plugin.py", "../module_graph/index.js",
    "static/../static/../../tb_module_plugin/serve/plugin.py", "static/__init__.py", "static/../__init__.py",
    "static/" + "../" * 30 + "etc/passwd", "plugin.py", "setup.py", ".git/config",
]


@pytest.mark.parametrize("route", TRAVERSALS)
def test_static_routes_refuse_everything_outside_the_bundle(hostile_servers, route):
    status, headers, body = raw_get(hostile_servers["python"], f"{PLUGIN_ROUTE}/{route}")
    assert status == 404, (route, status, body[:200])
    assert not headers.get("Content-Type", "").startswith("text/html"), headers
    for secret in (b"import ", b"root:", b"[core]", b"setuptools"):
        assert secret not in body, (route, body[:200])


def test_static_routes_serve_exactly_the_bundle(hostile_servers):
    tb = hostile_servers["python"]
    names = sorted(n for n in os.listdir(STATIC_DIR) if os.path.isfile(os.path.join(STATIC_DIR, n)))
    assert "index.js" in names and "layout-worker.js" in names
    for name in names:
        response = tb.api(f"static/{urllib.parse.quote(name)}")
        with open(os.path.join(STATIC_DIR, name), "rb") as f:
            assert response.status == 200 and response.body == f.read(), name
    assert tb.api("index.js").status == 200


@pytest.mark.parametrize("route", ["graphs", "hierarchy", "node", "search", "index.js", "static/x", XSS_SCRIPT,
                                   f"static/{XSS_IMG}"])
def test_no_answer_is_html(hostile_servers, route):
    """Markup in every parameter and in the route itself: answers are JSON (or the bundle's own
    script), never HTML, and say nosniff, so no browser renders them as a page."""
    tb = hostile_servers["python"]
    params = {"run": XSS_SCRIPT, "tag": XSS_IMG, "path": XSS_SVG, "q": XSS_SCRIPT, "regex": "0"}
    status, headers, body = raw_get(tb, f"{PLUGIN_ROUTE}/{urllib.parse.quote(route)}?{urllib.parse.urlencode(params)}")
    content_type = headers.get("Content-Type", "")
    assert status < 500 and headers.get("X-Content-Type-Options") == "nosniff", (status, headers)
    assert content_type.split(";")[0] in ("application/json", "text/javascript", "text/plain"), content_type
    if content_type.startswith("text/plain"):  # TensorBoard's own "Not found" for unknown routes
        assert status == 404 and b"<" not in body, body[:200]


def test_a_run_deleted_between_listing_and_reading(tmp_path, monkeypatch):
    """The race inside "a run deleted while served": the run is listed, its blob key found, then
    the folder goes before the blob is read (the Python loader's multiplexer raised KeyError: a 500)."""
    RawWriter(tmp_path, "doomed").run_metadata("trace", [graph_def([("x", "Const", [])])]).close()
    # The plugin parses ahead of time the graphs before the first with a module: let that be another one.
    RawWriter(tmp_path, "a_first").run_metadata("trace", [graph_def([
        ("dense/kernel", "VariableV2", []), ("dense/MatMul", "MatMul", ["dense/kernel", "dense/kernel"])])]).close()
    plugin = InProcess(tmp_path)
    assert plugin.plugin.store.prepared.wait(60)  # (and the deletion comes after it)
    multiplexer = plugin.plugin.store._data_provider._multiplexer
    real_latest_blob_keys = sources.latest_blob_keys

    def keys_then_delete(*args, **kwargs):
        keys = real_latest_blob_keys(*args, **kwargs)
        shutil.rmtree(tmp_path / "doomed")
        multiplexer.Reload()
        return keys

    monkeypatch.setattr(sources, "latest_blob_keys", keys_then_delete)
    assert "doomed" in error(plugin.api("hierarchy", run="doomed", tag="trace"), 404)
    monkeypatch.undo()
    assert "no run 'doomed'" in error(plugin.api("hierarchy", run="doomed", tag="trace"), 404)


# --- regular expressions that backtracking engines take hours over -----------------------------------
REDOS = r"""
from tensorboard.compat.proto import graph_pb2
from tb_module_plugin.build import builder as build
from tb_module_plugin.readers import graph
from tb_module_plugin.serve import search
g = graph_pb2.GraphDef()
for i in range(200):
    g.node.add(name="a/" * 100 + f"n{i}", op="Const")
g.node.add(name="a" * 30, op="Const")
h = build.build_graph_hierarchy(graph.FlatGraph(graph.flatten_graph_def(g), [], []), "t")
print("built", flush=True)
for query in ("(a+)+b", ".*.*.*.*.*.*.*=", "(a|aa)*c", "(.*a){20}x"):
    print(query, len(search.search(h, query, True, 50)["matches"]), flush=True)
try:
    search.search(h, "(a*)\\1*b", True, 50)
except search.BadQuery as e:
    print("refused", e, flush=True)
print("answered", flush=True)
"""


def test_regular_expressions_that_backtrack_for_hours_are_answered_at_once():
    """Python's `re` takes minutes on `(a+)+b` over a 30-character name and hours on `.*.*.*.*.*.*.*=` over a
    200-character path; RE2's time is linear in the text: each gets its (empty) match list, and a backreference,
    which RE2 does not do, a refusal that says so. (The time each takes on the 200,000-op graph is in `make
    bench`.)"""
    import subprocess
    import sys

    try:
        out = subprocess.run([sys.executable, "-c", REDOS], capture_output=True, text=True, timeout=30).stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        assert "built" in out, "the graph was not even built in time: the machine is too slow for this test"
        pytest.fail(f"the searches still run after 30 s: {out}")
    assert "answered" in out, out
    for query in ("(a+)+b", ".*.*.*.*.*.*.*=", "(a|aa)*c", "(.*a){20}x"):
        assert f"{query} 0\n" in out, out
    assert "refused This regular expression uses a backreference (\\1)" in out, out


@pytest.mark.parametrize("query,words", [
    ("(?=dense)", "a lookahead ((?=...)"), ("(?<!x)dense", "a lookbehind ((?<!...)"), ("(?>a)", "an atomic group"),
    ("a*+", "a possessive repeat (*+)"), ("(?P<x>a)(?P=x)", "a named backreference"), ("a{5000}", "a repeat count"),
    ("(unclosed", "not a valid regular expression: missing )"), ("x" * 201, "longer than 200 characters"),
])
def test_what_the_regular_expression_engine_refuses_is_named(query, words):
    g = graph_def([("dense/MatMul", "MatMul", [])])
    h = build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "t")
    with pytest.raises(search_lib.BadQuery) as refused:
        search_lib.search(h, query, True, 50)
    assert words in str(refused.value), str(refused.value)


def test_a_regular_expression_matches_names_and_paths_as_python_did():
    """One text of every name and path, a line each: a match never joins two lines, `^` and `$` are a name's ends,
    names with a line break of their own are searched alone."""
    g = graph_def([("model/conv1/Conv2D", "Conv2D", []), ("model/conv2/Conv2D", "Conv2D", ["model/conv1/Conv2D"]),
                   ("odd\nname/x_12", "Relu", []), ("model/head/MatMul_3", "MatMul", [])])
    h = build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "t")
    nodes = [n for n in h.all_nodes if n is not h.root]
    for query in ("^conv", "conv[12]$", r"_\d+$", "Conv2D", "^model/", "l/c", "name", "^name", "2d.*head", "",
                  "^$", "(?i)MATMUL", "x_1", ".*", "odd$"):
        want = sorted(n.path for n in nodes if re.search(query, n.name[:1000], re.IGNORECASE) or
                      re.search(query, n.path[:1000], re.IGNORECASE))
        got = sorted(m["path"] for m in search_lib.search(h, query, True, 500)["matches"])
        assert got == want, (query, got, want)


def test_a_name_of_slashes_costs_memory_in_proportion_to_its_length():
    name = "/" * 3000
    g = graph_def([(name, "Const", [])])
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.build import builder as build_lib

    h = build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "t")
    deepest = max(h.all_nodes, key=lambda n: n.depth)
    answer_size = sum(len(p) for p in answers_lib.details_json(h, deepest.path)["ancestors"])
    kept = sum(len(n.path) for n in h.all_nodes)
    assert kept < 100 * len(name) and answer_size < 100 * len(name), (kept, answer_size)
    # A long run of empty scopes is one scope that says how many; the op keeps its whole name.
    assert [n.name for n in h.all_nodes if n.children is not None][1:] == ["(empty ×2999)"]
    assert answers_lib.details_json(h, deepest.path)["op_name"] == name
