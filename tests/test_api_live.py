"""The HTTP API (docs/api.md) through a real `tensorboard --logdir` process, over
graphs written by real TensorFlow (the demo) and by hand (bad records, markup names)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.answers import check_node_shape, error, find_group, ok_json, walk
from tests.helpers.processes import PLUGIN_NAME
from tests.helpers.records import BAD_RECORDS, XSS_IMG

GRAPH_N = re.compile(r"^graph_\d+$")
HIDDEN_ROLES = {"functions", "eager_ops"}  # earlier work recorded by trace_on: not the user's graph

DEMO_TRACES = [
    ("demo_module", "addprint"),
    ("attribute_module", "addprint"),
    ("nested_model", "model"),
    ("resnet50_train_step", "train_step"),
    ("keras_sequential/train", "keras"),
]


def hierarchy(tb, run, tag, path="", depth=1):
    return ok_json(tb.api("hierarchy", run=run, tag=tag, path=path, depth=depth))["node"]


# --- graphs ----------------------------------------------------------------------------
def test_plugin_listed_and_enabled(tensorboard):
    listing = tensorboard.get("/data/plugins_listing").json()
    entry = listing[PLUGIN_NAME]
    assert entry["enabled"] is True, entry
    assert entry["tab_name"] == "Modules", entry


def test_graphs_lists_every_demo_run_with_its_source(tensorboard, live_graphs):
    graphs = ok_json(tensorboard.api("graphs"))["graphs"]
    got = {(g["run"], g["tag"]): g["source"] for g in graphs}
    # Every graph of the logdir, the bad records too (the page then explains them).
    for key, source in live_graphs.items():
        assert key in got, f"{key} missing from graphs: {sorted(got)}"
        assert got[key] == source, (key, got[key], source)
    # Whatever else the demo writes is a graph of a known kind.
    assert set(got.values()) <= {"trace", "run_graph", "keras", "module"}, got
    assert [(g["run"], g["tag"]) for g in graphs] == sorted((g["run"], g["tag"]) for g in graphs)
    # Scalars written by the Keras callback are not graphs.
    assert not any(g["tag"].startswith("epoch_") for g in graphs)


def test_the_demo_profiles_its_training_steps(tensorboard):
    """The demo's training steps are traced, then profiled into their runs: those graphs say so and are timed all
    through (the nested model's ops run inlined from its calls and loop bodies); the others are not profiled."""
    profiled = {(g["run"], g["tag"]): g["profiled"] for g in ok_json(tensorboard.api("graphs"))["graphs"]}
    steps = [("nested_model/train", "train_step"), ("resnet50_train_step", "train_step")]
    assert all(profiled[step] for step in steps), profiled
    assert not profiled[("nested_model", "model")] and not profiled[("demo_module", "addprint")]
    for run, tag in steps:
        root = ok_json(tensorboard.api("hierarchy", run=run, tag=tag, depth=1, time=1))["node"]
        assert 0.9 * root["step_time_us"] <= root["time_us"] <= root["step_time_us"] + 0.001, root
        model = next(c for c in root["children"] if c["name"].startswith(("model", "resnet50")))
        assert model["time_us"] > 0 and model["time_us"] <= root["module_time_us"] + 0.001, model


# --- hierarchy: the demo traces ----------------------------------------------------------
@pytest.mark.parametrize("run,tag", DEMO_TRACES)
def test_demo_top_level_has_no_graph_n_and_no_args(tensorboard, run, tag):
    root = hierarchy(tensorboard, run, tag)
    assert root["path"] == "" and root["kind"] != "op"
    check_node_shape(root)
    names = [c["name"] for c in root["children"]]
    assert not [n for n in names if GRAPH_N.match(n)], names
    args = [c["name"] for c in root["children"] if c["kind"] == "op" and c.get("op") == "_Arg"]
    assert not args, f"captured/function _Arg ops at the top level: {args[:10]}"


@pytest.mark.parametrize("run,tag", DEMO_TRACES)
def test_no_module_of_a_demo_trace_is_named_after_an_op_helper(tensorboard, run, tag):
    """Keras 3 reads a kernel under `<layer>/Cast/ReadVariableOp`, a BatchNormalization's variables under
    `Cast`..`Cast_3`: those scopes are the layer's, not modules of their own."""
    for helper in ("Cast", "batchnorm", "moments", "ReadVariableOp", "BiasAdd"):
        matches = ok_json(tensorboard.api("search", run=run, tag=tag, q=helper, limit=500))["matches"]
        named = [m["path"] for m in matches if m["kind"] == "module" and re.fullmatch(
            re.escape(helper) + r"(_\d+)*", m["name"])]
        assert not named, (helper, named[:10])


def test_demo_module_at_top_with_its_ops(tensorboard):
    root = hierarchy(tensorboard, "demo_module", "addprint")
    top = {c["name"]: c for c in root["children"]}
    assert "demo_module" in top, sorted(top)
    assert top["demo_module"]["kind"] == "module", top["demo_module"]
    mod = hierarchy(tensorboard, "demo_module", "addprint", path=top["demo_module"]["path"])
    check_node_shape(mod)
    ops = {c["op"]: c for c in mod["children"] if c["kind"] == "op"}
    for op in ("AssignAddVariableOp", "PrintV2"):
        assert op in ops, f"{op} not directly inside demo_module: {[c['path'] for c in mod['children']]}"
        assert ops[op]["path"].count("/") == 1, ops[op]["path"]  # depth 2
        assert isinstance(ops[op]["inputs"], list) and isinstance(ops[op]["attrs"], dict)
        assert "device" in ops[op]


def test_demo_module_captured_variable_lives_in_the_module(tensorboard):
    tree = hierarchy(tensorboard, "demo_module", "addprint", depth=8)
    variables = [n for n, _ in walk(tree) if n["kind"] == "op" and n.get("role") == "variable"]
    assert variables, "no op has role 'variable'"
    for v in variables:
        assert v["path"].startswith("demo_module/"), v["path"]


def test_attribute_module_shows_its_ops(tensorboard):
    tree = hierarchy(tensorboard, "attribute_module", "addprint", depth=8)
    check_node_shape(tree)
    ops = {n["op"] for n, parents in walk(tree)
           if n["kind"] == "op" and not any(p.get("role") in HIDDEN_ROLES for p in parents)}
    assert {"AssignAddVariableOp", "PrintV2"} <= ops, sorted(ops)


def test_nested_encoder_blocks_in_dataflow_order(tensorboard):
    encoder = find_group(tensorboard, "nested_model", "model", "encoder")
    node = hierarchy(tensorboard, "nested_model", "model", path=encoder)
    assert node["kind"] == "module", node["kind"]
    check_node_shape(node)
    children = {c["name"]: c for c in node["children"]}
    blocks = [f"block_{i}" for i in range(4)]
    for b in blocks:
        assert b in children, f"{b} not inside {encoder}: {sorted(children)}"
        assert children[b]["kind"] == "module", children[b]
    edges = {(e["from"], e["to"]) for e in node["edges"]}
    for a, b in zip(blocks, blocks[1:]):
        pa, pb = children[a]["path"], children[b]["path"]
        assert (pa, pb) in edges, f"no edge {pa} -> {pb}: {sorted(edges)}"
        assert (pb, pa) not in edges, f"edge against dataflow {pb} -> {pa}"


def test_nested_block_contents(tensorboard):
    block = find_group(tensorboard, "nested_model", "model", "block_0")
    node = hierarchy(tensorboard, "nested_model", "model", path=block, depth=1)
    names = {c["name"]: c for c in node["children"]}
    for sub in ("up", "down"):
        assert sub in names and names[sub]["kind"] == "module", sorted(names)


def test_nested_cond_and_while_bodies_inside_their_block(tensorboard):
    tree = hierarchy(tensorboard, "nested_model", "model", depth=8)
    check_node_shape(tree)
    encoder = find_group(tensorboard, "nested_model", "model", "encoder")
    block_paths = [f"{encoder}/block_{i}" for i in range(4)]
    # The branch bodies' ops: Mul (then), Sub (else), Less (while cond), the body's AddV2.
    found = {b: set() for b in block_paths}
    control_flow = {b: 0 for b in block_paths}
    for n, parents in walk(tree):
        if any(p.get("role") in HIDDEN_ROLES for p in parents):
            continue
        owner = next((b for b in block_paths if n["path"].startswith(b + "/")), None)
        if n["kind"] == "op" and n["op"] in ("Sub", "Less"):
            assert owner, f"{n['op']} op {n['path']!r} of a cond/while body is outside the blocks"
        if owner and n["kind"] == "op":
            found[owner].add(n["op"])
        if owner and n.get("role") == "control_flow":
            control_flow[owner] += 1
    for b in block_paths:
        assert {"Mul", "Sub", "Less", "AddV2"} <= found[b], (b, sorted(found[b]))
        assert control_flow[b] >= 2, f"{b}: {control_flow[b]} control_flow groups (cond + while expected)"


def test_nested_module_kinds(tensorboard):
    tree = hierarchy(tensorboard, "nested_model", "model", depth=8)
    by_name = {}
    for n, parents in walk(tree):
        if not any(p.get("role") in HIDDEN_ROLES for p in parents):
            by_name.setdefault(n["name"], []).append(n)
    for name in ("model", "encoder", "head", "up", "down"):
        assert name in by_name, name
        assert any(n["kind"] == "module" for n in by_name[name]), (name, [n["kind"] for n in by_name[name]])


def test_keras_sequential_three_dense_layers(tensorboard):
    tree = hierarchy(tensorboard, "keras_sequential/train", "keras", depth=4)
    check_node_shape(tree)
    modules = {n["name"]: n for n, _ in walk(tree) if n["kind"] == "module"}
    for layer in ("dense", "dense_1", "dense_2"):
        assert layer in modules, f"{layer} not a module: {sorted(modules)}"


def test_resnet50_top_level_is_small(tensorboard):
    root = hierarchy(tensorboard, "resnet50_train_step", "train_step")
    names = [c["name"] for c in root["children"]]
    assert len(names) <= 12, names
    assert any(n.startswith("resnet50") for n in names), names
    assert root["num_ops"] > 5000, root["num_ops"]


def test_run_graph_has_its_module(tensorboard):
    tree = hierarchy(tensorboard, "run_graph", "__run_graph__", depth=3)
    check_node_shape(tree)
    modules = [n["path"] for n, _ in walk(tree) if n["kind"] == "module"]
    assert any(p.split("/")[-1] == "net" for p in modules), modules


def test_depth_bounds_children(tensorboard):
    root = hierarchy(tensorboard, "nested_model", "model", depth=0)
    assert "children" not in root and root["has_children"] is True, root
    root = hierarchy(tensorboard, "nested_model", "model", depth=1)
    for c in root["children"]:
        if c["kind"] != "op":
            assert "children" not in c and isinstance(c["has_children"], bool), c


def test_markup_names_are_data(tensorboard):
    tree = hierarchy(tensorboard, "xss", "markup", depth=4)
    names = {n["name"] for n, _ in walk(tree)}
    assert XSS_IMG in names, sorted(names)


# --- node and search ----------------------------------------------------------------------
def test_node_details_of_an_op(tensorboard):
    mod = hierarchy(tensorboard, "demo_module", "addprint", path="demo_module")
    printv2 = next(c for c in mod["children"] if c.get("op") == "PrintV2")
    details = ok_json(tensorboard.api("node", run="demo_module", tag="addprint", path=printv2["path"]))["node"]
    assert details["path"] == printv2["path"] and details["op"] == "PrintV2"
    assert details["ancestors"] == ["demo_module"], details["ancestors"]
    assert details["op_name"] == "demo_module/PrintV2", details["op_name"]
    assert isinstance(details["inputs"], list) and details["inputs"], details
    assert all({"path", "port", "dtype", "shape", "control"} <= set(i) for i in details["inputs"])
    assert isinstance(details["outputs"], list)


def test_node_details_of_a_module(tensorboard):
    details = ok_json(tensorboard.api("node", run="demo_module", tag="addprint", path="demo_module"))["node"]
    assert details["kind"] == "module"
    assert details["op_types"].get("AssignAddVariableOp") == 1, details["op_types"]
    assert details["captured_variables"], "demo_module's variable x is not listed"


def test_search_substring_and_regex(tensorboard):
    r = ok_json(tensorboard.api("search", run="demo_module", tag="addprint", q="printv2"))
    assert any(m["path"] == "demo_module/PrintV2" for m in r["matches"]), r
    r = ok_json(tensorboard.api("search", run="nested_model", tag="model", q=r"block_[0-3]$", regex=1))
    names = [m["name"] for m in r["matches"]]
    assert {"block_0", "block_1", "block_2", "block_3"} <= set(names), names
    assert r["matches"][0]["kind"] != "op"
    r = ok_json(tensorboard.api("search", run="resnet50_train_step", tag="train_step", q="conv", limit=5))
    assert len(r["matches"]) == 5 and r["truncated"] is True, r


# --- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_missing_run_or_tag_is_400(tensorboard, route):
    extra = {"q": "x"} if route == "search" else {}
    error(tensorboard.api(route, tag="addprint", **extra), 400)
    error(tensorboard.api(route, run="demo_module", **extra), 400)


def test_bad_depth_and_regex_are_400(tensorboard):
    error(tensorboard.api("hierarchy", run="demo_module", tag="addprint", depth="deep"), 400)
    error(tensorboard.api("search", run="demo_module", tag="addprint", q="(unclosed", regex=1), 400)


@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_unknown_run_tag_path_are_404(tensorboard, route):
    extra = {"q": "x"} if route == "search" else {}
    error(tensorboard.api(route, run="no_such_run", tag="addprint", **extra), 404)
    error(tensorboard.api(route, run="demo_module", tag="no_such_tag", **extra), 404)
    if route != "search":
        error(tensorboard.api(route, run="demo_module", tag="addprint", path="demo_module/nope"), 404)


@pytest.mark.parametrize("run,tag", [("bad_records", t) for t in BAD_RECORDS] + [("bad_run_graph", "__run_graph__")])
@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_unreadable_records_are_422(tensorboard, route, run, tag):
    extra = {"q": "x"} if route == "search" else {}
    message = error(tensorboard.api(route, run=run, tag=tag, **extra), 422)
    assert len(message) > 10, message


def test_static_files(tensorboard):
    r = tensorboard.api("index.js")
    assert r.status == 200, r
    assert "javascript" in r.headers.get("Content-Type", ""), r.headers
    assert b"render" in r.body
    for bad in ("static/../plugin.py", "static/%2e%2e/plugin.py", "static/%2e%2e/%2e%2e/setup.py",
                "static/no-such-file.js", "no-such-route", "static//etc/passwd"):
        assert tensorboard.api(bad).status == 404, bad


_KNOWN_PATHS = {}


def known_paths(tb, run, tag):
    """Paths of a graph's first two levels (asked once), so the sweep also hits real nodes."""
    if (run, tag) not in _KNOWN_PATHS:
        r = tb.api("hierarchy", run=run, tag=tag, depth=2)
        _KNOWN_PATHS[(run, tag)] = [n["path"] for n, _ in walk(r.json()["node"])] if r.status == 200 else []
    return _KNOWN_PATHS[(run, tag)] or [""]


ODD_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "/", "//", "..", "../..", "%2e%2e", "\x00", XSS_IMG,
                                                            "a" * 5000, "(empty)", "inputs/x", "outputs"]))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), route=st.sampled_from(["hierarchy", "node", "search", "hierarchy", "node", "search", "graphs",
                                              "index.js", "static/style.css"]),
       depth=st.one_of(st.integers(-5, 20).map(str), st.text(max_size=5)),
       q=st.one_of(st.text(max_size=12), st.sampled_from(["block", "conv", "^res.*_[0-9]$", "[", "a|b", ""])),
       regex=st.sampled_from(["0", "1", "yes", "", "true"]),
       limit=st.one_of(st.integers(-10, 10_000).map(str), st.text(max_size=4)),
       drop=st.sets(st.sampled_from(["run", "tag", "path", "depth", "q", "regex", "limit"]), max_size=3))
def test_never_a_5xx(tensorboard, live_graphs, data, route, depth, q, regex, limit, drop):
    """300 requests with random parameters, mostly on real graphs and real paths: never a 5xx,
    every error a JSON error."""
    graphs = sorted(live_graphs)
    run, tag = data.draw(st.one_of(st.sampled_from(graphs), st.sampled_from(graphs), st.tuples(ODD_TEXT, ODD_TEXT)))
    path = data.draw(st.one_of(st.sampled_from(known_paths(tensorboard, run, tag)), ODD_TEXT))
    params = {"run": run, "tag": tag, "path": path, "depth": depth, "q": q, "regex": regex, "limit": limit}
    for name in drop:
        params.pop(name)
    r = tensorboard.api(route, **params)
    assert r.status < 500, (route, params, r)
    if r.status >= 400:
        assert "error" in r.json(), r


def test_empty_logdir(tensorboard_empty):
    assert ok_json(tensorboard_empty.api("graphs")) == {"graphs": []}
    listing = tensorboard_empty.get("/data/plugins_listing").json()
    assert listing[PLUGIN_NAME]["enabled"] is False
