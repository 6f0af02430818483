"""Comparing two graphs module by module (tb_module_plugin/compare): over real TensorFlow records written here,
the truth taken from the live Keras objects."""

from __future__ import annotations

import pytest

from tb_module_plugin.serve import diff_answer as answer
from tb_module_plugin.compare import diff as diff_lib

from tests.helpers.compare_models import (layer_paths, load, tf, twelve_blocks, versioned_model, write_keras_trace,
                             write_module_record)


# (each test writes its records with real TensorFlow: seconds, not `make test-quick`)
pytestmark = pytest.mark.live


def walk(d, node=None):
    """Every node of the union tree (unfolding all of it)."""
    stack = [node or d.root]
    while stack:
        node = stack.pop()
        yield node
        if node.is_group:
            stack.extend(node.children())


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Records of the base model (twice, each traced afresh) and of its changed version, and the live models."""
    logdir = tmp_path_factory.mktemp("versions")
    base, again = versioned_model(), versioned_model()
    changed = versioned_model(extra_block=True, wide=True, frozen=True)
    write_module_record(logdir, "base", base)
    write_module_record(logdir, "again", again)
    write_module_record(logdir, "changed", changed)
    return logdir, base, changed


def test_identical_graphs_are_all_same(versions):
    """The same model recorded twice (its functions traced afresh: other `__inference_..._<n>` numbers): every node
    same, the counts say so, no change and no delta."""
    logdir = versions[0]
    ha, hb = load(logdir, "base", "model"), load(logdir, "again", "model")
    d = diff_lib.Diff(ha, hb)
    nodes = list(walk(d))
    assert {n.status for n in nodes} == {"same"}
    assert d.identical
    assert d.root.counts == {"same": len(nodes) - 1}
    root = answer.diff_node(d, "", 8)
    assert root["diff"] == "same" and "changes" not in root
    assert all(v == 0 for v in root["delta"].values()), root["delta"]


def test_added_widened_and_frozen_are_exactly_those(versions):
    """One block added, one layer widened (and the layer reading it, whose kernel grows with it), one sub-model
    frozen: those are added / changed with the field and the parameter delta count_params() gives; their ancestors
    are changed; every other module is the same."""
    logdir, base, changed = versions
    d = diff_lib.Diff(load(logdir, "base", "model"), load(logdir, "changed", "model"))
    live_a, live_b = layer_paths(base), layer_paths(changed)
    added = set(live_b) - set(live_a)
    assert added == {"net/blk_extra"}
    shapes = {p: [tuple(w.shape) for w in layer.weights] for p, layer in live_a.items()}
    reshaped = {p for p in live_a if shapes[p] != [tuple(w.shape) for w in live_b[p].weights]}
    frozen = {p for p in live_a if [w.trainable for w in live_a[p].weights] != [w.trainable for w in live_b[p].weights]}
    assert reshaped == {"net/head_hidden", "net/head_out"} and {"net/encoder", "net/encoder/enc_a"} <= frozen
    ancestors = {"net"} | {p.rsplit("/", 1)[0] for p in reshaped | frozen | added if "/" in p}
    modules = {n.path: n for n in walk(d) if n.side.kind == "module"}
    for path in added:
        assert modules[path].status == "added"
        assert answer.diff_node(d, path, 0)["delta"]["num_params"] == live_b[path].count_params()
    for path in reshaped:
        node = answer.diff_node(d, path, 0)
        assert node["diff"] == "changed", (path, node)
        assert "variable_shapes" in {c["field"] for c in node["changes"]}, node["changes"]
        assert node["delta"]["num_params"] == live_b[path].count_params() - live_a[path].count_params()
    for path in frozen:
        node = answer.diff_node(d, path, 0)
        assert node["diff"] == "changed", (path, node)
        trainable = [c for c in node["changes"] if c["field"] == "trainable"]
        assert trainable, node["changes"]
        count = sum(int(tf.size(w)) for w in live_a[path].trainable_weights)
        assert trainable[0]["a"] == count and trainable[0]["b"] == 0
        assert node["delta"]["num_params"] == 0
    for path in ancestors:
        assert modules[path].status == "changed", path
    others = set(modules) - added - reshaped - frozen - ancestors
    assert others, "the test model has unchanged modules"
    for path in others:
        assert modules[path].status == "same", (path, modules[path].status, modules[path].own)
    net = answer.diff_node(d, "net", 1)
    assert net["delta"]["num_params"] == changed.count_params() - base.count_params()
    assert net["counts"]["added"] >= 1 and net["counts"]["changed"] >= len(reshaped | frozen)


def test_a_retrace_with_uniquified_scopes_is_renamed(tmp_path):
    """Two models of one architecture built in one process: Keras names the second one's layers `dense_2`,
    `dense_3`, so the traced scopes differ only by their uniquifying suffixes: renamed, not added and removed."""
    def model():
        inputs = keras_input()
        x = tf.keras.layers.Dense(WIDTH)(inputs)
        return tf.keras.Model(inputs, tf.keras.layers.Dense(3)(x))

    first, second = model(), model()
    names_a = [layer.name for layer in first.layers[1:]]
    names_b = [layer.name for layer in second.layers[1:]]
    assert not set(names_a) & set(names_b)
    write_keras_trace(tmp_path, "first", first)
    write_keras_trace(tmp_path, "second", second)
    d = diff_lib.Diff(load(tmp_path, "first", "step"), load(tmp_path, "second", "step"))
    # (the second trace also holds the eager ops run between the two, in the plugin's `other_functions` group)
    models = [n for n in d.root.children() if n.is_group and n.side.kind == "module"]
    assert len(models) == 1 and models[0].status == "renamed", [(n.path, n.status) for n in d.root.children()]
    statuses = [n.status for n in walk(d, models[0])]
    assert "added" not in statuses and "removed" not in statuses, statuses
    renamed = [n for n in walk(d, models[0]) if n.status == "renamed" and n.side.kind == "module"]
    assert len(renamed) == len(names_a) + 1  # the model and its layers
    for name_a, name_b in zip(names_a, names_b):
        matches = [n for n in renamed if n.name.startswith(name_a) and n.b.name.startswith(name_b)]
        assert matches, (name_a, name_b, [(n.path, n.path_b) for n in renamed])
        node = answer.diff_node(d, matches[0].path, 0)
        assert node["diff"] == "renamed" and node["path_b"].endswith(matches[0].b.name)


def test_a_trace_against_a_record_of_one_model_is_renamed(tmp_path):
    """A model recorded with module_graph (scopes `net/blk_0`) and traced (Keras names them `net_1/blk_0_1`), the
    two records saying different things (a trace: no classes, no variable shapes): each of the live model's layers
    is paired, renamed, none added or removed."""
    model = versioned_model()
    write_module_record(tmp_path, "record", model)
    write_keras_trace(tmp_path, "trace", model)
    d = diff_lib.Diff(load(tmp_path, "record", "model"), load(tmp_path, "trace", "step"))
    top = d.find(model.name)
    assert top.status == "renamed" and top.b.name.startswith(model.name)
    for path, layer in layer_paths(model).items():
        node = d.find(path)
        assert node.status == "renamed" and node.b is not None and node.b.name.startswith(layer.name), (
            path, node.status, node.path_b)


WIDTH = 16


def keras_input():
    return tf.keras.Input((8,))


def test_a_block_inserted_among_twelve_is_one_added(tmp_path):
    """Twelve blocks named by position, a different one inserted at 6: one `added`, the six after it `renamed`
    (their names shifted), the six before it the same."""
    write_module_record(tmp_path, "twelve", twelve_blocks())
    write_module_record(tmp_path, "thirteen", twelve_blocks(insert_at=6))
    d = diff_lib.Diff(load(tmp_path, "twelve", "model"), load(tmp_path, "thirteen", "model"))
    stack = d.find("stack")
    blocks = [c for c in stack.children() if c.side.kind == "module" and c.side.name.startswith("blk_")]
    assert len(blocks) == 13
    statuses = [c.status for c in blocks]
    assert statuses.count("added") == 1 and "removed" not in statuses, statuses
    inserted = next(c for c in blocks if c.status == "added")
    assert inserted.b.name == "blk_6" and "LayerNormalization" in inserted.b.facts["class_name"]
    by_a = {c.a.name: c for c in blocks if c.a is not None}
    for i in range(6):
        assert by_a[f"blk_{i}"].status == "same" and by_a[f"blk_{i}"].b.name == f"blk_{i}"
    for i in range(6, 12):
        assert by_a[f"blk_{i}"].status == "renamed" and by_a[f"blk_{i}"].b.name == f"blk_{i + 1}"
        assert answer.diff_node(d, f"stack/blk_{i}", 0)["path_b"] == f"stack/blk_{i + 1}"
    # Every node of the union has a path of its own, which finds it: the inserted block too (the page knows nodes by
    # path), its answer named and placed in B as B has it.
    listed = answer.diff_node(d, "stack", 1)["children"]
    assert len({c["path"] for c in listed}) == len(listed)
    added = [c for c in listed if c["diff"] == "added"]
    assert len(added) == 1 and added[0]["name"] == "blk_6" and added[0]["path_b"] == "stack/blk_6", added
    assert d.find(added[0]["path"]) is inserted
    assert answer.diff_node(d, added[0]["path"], 0)["diff"] == "added"


def test_two_steps_of_one_run_compare(tmp_path):
    """A run that wrote its model at two steps (the encoder frozen in between): step 0 against step 1."""
    model = versioned_model()
    write_module_record(tmp_path, "run", model, step=0)
    model.get_layer("encoder").trainable = False
    write_module_record(tmp_path, "run", model, step=1)
    d = diff_lib.Diff(load(tmp_path, "run", "model", step=0), load(tmp_path, "run", "model", step=1))
    assert d.find("net/encoder").status == "changed"
    assert d.find("net/blk_0").status == "same"
    same = diff_lib.Diff(load(tmp_path, "run", "model", step=1), load(tmp_path, "run", "model"))
    assert same.identical  # (the newest step is step 1)


# --- The `diff` route ------------------------------------------------------------------------------------------------

def _diff_args(**extra):
    return dict({"run": "base", "tag": "model", "run2": "changed", "tag2": "model"}, **extra)


def _check_route(server, logdir, base, changed):
    """The route's answers (through `server.api`), their shape and their errors."""
    from tests.helpers.answers import check_against, error, ok_json
    from tb_module_plugin import schema

    root = ok_json(server.api("diff", **_diff_args(depth=2)))["node"]
    check_against({"node": root}, schema.DiffAnswer)
    assert root["diff"] == "changed" and root["path"] == ""
    net = next(c for c in root["children"] if c["name"] == "net")
    assert net["delta"]["num_params"] == changed.count_params() - base.count_params()
    by_name = {c["name"] if c["diff"] != "added" else "+" + c["name"]: c for c in net["children"]}
    assert by_name["+blk_extra"]["diff"] == "added"
    assert by_name["encoder"]["diff"] == "changed" and by_name["blk_0"]["diff"] == "same"
    assert {"from", "to"} <= set(net["edges"][0]) and all(e["from"] != e["to"] for e in net["edges"])
    encoder = ok_json(server.api("diff", **_diff_args(path="net/encoder", depth=1)))["node"]
    assert [c["diff"] for c in encoder["children"] if c["kind"] == "module"] == ["changed", "changed"]
    same = ok_json(server.api("diff", **_diff_args(run2="again", depth=0)))["node"]
    assert same["diff"] == "same" and set(same["counts"]) == {"same"} and "has_children" in same
    assert "not_compared" not in same  # (records: every measure compared)
    # Errors as for `hierarchy`.
    assert "run2" in error(server.api("diff", run="base", tag="model", tag2="model"), 400)
    assert "depth" in error(server.api("diff", **_diff_args(depth="x")), 400)
    assert "step" in error(server.api("diff", **_diff_args(step="-1")), 400)
    assert error(server.api("diff", **_diff_args(run2="nope")), 404)
    assert error(server.api("diff", **_diff_args(path="net/nope")), 404)
    assert "step 7" in error(server.api("diff", **_diff_args(step2="7")), 404)
    assert error(server.api("diff", **_diff_args(run2="bad_records", tag2="garbage")), 422)


@pytest.fixture(scope="module")
def route_logdir(versions):
    from tests.helpers.records import write_bad_records

    logdir, base, changed = versions
    write_bad_records(logdir)
    return logdir, base, changed


def test_the_diff_route_in_process(route_logdir):
    from tests.helpers.answers import InProcess

    logdir, base, changed = route_logdir
    server = InProcess(logdir)
    _check_route(server, logdir, base, changed)
    # One comparison per pair of graphs, kept in the store's cache.
    keys = [k for k in server.plugin.store.cache._entries if k[0] == "diff"]
    assert len(keys) == 2  # (base against changed, base against again)


def test_the_diff_route_through_tensorboard(route_logdir):
    """The same through a real `tensorboard` process (TensorBoard's Python loader)."""
    from tests.helpers.processes import TensorBoard

    logdir, base, changed = route_logdir
    with TensorBoard(logdir, name="compare", min_graphs=3) as server:
        _check_route(server, logdir, base, changed)


def test_the_demo_compares_its_two_versions(demo_logdir):
    """`python -m tb_module_plugin.recording.demo` writes nested_versions: v2 against v1 is exactly the added block, the
    widened head and the frozen block (as the live tf.Modules of the same versions say), the retrace the same."""
    from tb_module_plugin.recording import demo
    from tb_module_plugin.recording.demo_versions import versions

    RUN = "nested_versions"
    v1, v2 = versions(tf, demo._nested_classes(tf), demo.NESTED_WIDTH, demo.NESTED_BLOCKS)
    d = diff_lib.Diff(load(demo_logdir, f"{RUN}/v1", "model"), load(demo_logdir, f"{RUN}/v2", "model"))
    live_a = {m.name: m for m in v1.encoder.blocks}
    live_b = {m.name: m for m in v2.encoder.blocks}
    for name in set(live_b) - set(live_a):
        node = answer.diff_node(d, f"model/encoder/{name}", 0)
        assert node["diff"] == "added"
        assert node["delta"]["num_params"] == sum(int(tf.size(v)) for v in live_b[name].variables)
    for name in live_a:
        frozen = [v.trainable for v in live_a[name].variables] != [v.trainable for v in live_b[name].variables]
        assert d.find(f"model/encoder/{name}").status == ("changed" if frozen else "same"), name
    head = answer.diff_node(d, "model/head", 0)
    assert head["diff"] == "changed" and "variable_shapes" in {c["field"] for c in head["changes"]}
    assert head["delta"]["num_params"] == sum(int(tf.size(v)) for v in v2.head.variables) - sum(
        int(tf.size(v)) for v in v1.head.variables)
    # The retrace: the same structure, but two traces record no parameter shapes, so no match is claimed.
    traces = diff_lib.Diff(load(demo_logdir, f"{RUN}/v1_trace", "model"), load(demo_logdir, f"{RUN}/retrace", "model"))
    assert traces.root.status == "same" and traces.identical is None
    assert "num_params" in diff_lib.not_compared(traces)


_ODD = ["", "/", "//", "..", "\x00", "<img src=x onerror=alert(1)>", "a" * 3000, "net/", "net//encoder"]


def test_the_diff_route_never_answers_5xx(route_logdir):
    """Random parameters (graphs real and not, paths of the union tree and odd ones, steps and depths of any text):
    every answer a 200 or a JSON 4xx, and each 200 fits its record."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.helpers.answers import InProcess, check_against
    from tb_module_plugin import schema

    server = InProcess(route_logdir[0])
    d_paths = [n["path"] for n in _union(server)]
    text = st.one_of(st.text(max_size=12), st.sampled_from(_ODD))
    runs = st.one_of(st.sampled_from(["base", "changed", "again", "bad_records"]), text)
    tags = st.one_of(st.sampled_from(["model", "garbage"]), text)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(run=runs, tag=tags, run2=runs, tag2=tags, path=st.one_of(st.sampled_from(d_paths), text),
           depth=st.one_of(st.integers(-3, 12).map(str), text), step=st.one_of(st.integers(-2, 3).map(str), text),
           time=st.sampled_from(["0", "1", ""]),
           drop=st.sets(st.sampled_from(["run", "tag", "run2", "tag2", "path", "depth", "step"]), max_size=2))
    def check(run, tag, run2, tag2, path, depth, step, time, drop):
        params = {"run": run, "tag": tag, "run2": run2, "tag2": tag2, "path": path, "depth": depth, "step2": step,
                  "time": time}
        for name in drop:
            params.pop(name if name != "step" else "step2")
        r = server.api("diff", **params)
        assert r.status in (200, 400, 404, 422), (params, r.status)
        body = r.json()
        if r.status == 200:
            check_against(body, schema.DiffAnswer)
        else:
            # (an error answer as its record says: its message, and `kind` where the page must tell it apart, as
            # time asked of a run without profiles)
            check_against(body, schema.ErrorAnswer)
            assert body["error"], body

    check()


def _union(server):
    """Every node of base against changed, to depth 8, as the route lists it."""
    from tests.helpers.answers import ok_json

    out, stack = [], [ok_json(server.api("diff", **_diff_args(depth=8)))["node"]]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.get("children", ()))
    return out


def test_time_deltas_of_profiled_runs(demo_logdir):
    """With time=1, two profiled graphs (the demo's training step against itself) carry time_us on each node and a
    time delta of 0, at the root and below."""
    from tests.helpers.answers import InProcess, ok_json

    server = InProcess(demo_logdir)
    root = ok_json(server.api("diff", run="nested_model/train", tag="train_step", run2="nested_model/train",
                              tag2="train_step", depth=1, time=1))["node"]
    assert root["diff"] == "same" and root["time_us"] > 0 and root["delta"]["time_us"] == 0
    timed = [c for c in root["children"] if "time_us" in c]
    assert timed and all(c["delta"]["time_us"] == 0 for c in timed)
    assert "time_us" not in ok_json(server.api("diff", run="nested_model/train", tag="train_step",
                                               run2="nested_model/train", tag2="train_step"))["node"]["delta"]


def test_time_with_one_side_unprofiled(demo_logdir):
    """With time=1 and only A profiled (the demo's training step against the unprofiled demo_module): no 422, A's
    times shown, the time delta of every node on both sides unknown, and the node's `time_missing` says why (the unprofiled run's profile error); with
    neither side profiled it stays the `profile` 422."""
    from tests.helpers.answers import InProcess, ok_json

    server = InProcess(demo_logdir)
    answer = ok_json(server.api("diff", run="nested_model/train", tag="train_step", run2="demo_module",
                                tag2="addprint", depth=2, time=1))
    assert "demo_module" in answer["node"]["time_missing"] and "profile" in answer["node"]["time_missing"]
    def walk(node):
        return [node] + [n for c in node.get("children", ()) for n in walk(c)]

    def both_sides(node):  # (a node only on one side costs nothing on the other: its delta is known)
        return [n for n in walk(node) if n["diff"] not in ("added", "removed")]

    assert answer["node"]["time_us"] > 0
    assert not any("time_us" in n.get("delta", {}) for n in both_sides(answer["node"]))
    removed = [n for n in walk(answer["node"]) if n["diff"] == "removed" and "time_us" in n]
    assert removed and all(n["delta"]["time_us"] == round(-n["time_us"], 3) for n in removed)
    response = server.api("diff", run="demo_module", tag="addprint", run2="demo_module", tag2="addprint", time=1)
    assert response.status == 422 and response.json()["kind"] == "profile"
    reverse = ok_json(server.api("diff", run="demo_module", tag="addprint", run2="nested_model/train",
                                 tag2="train_step", depth=2, time=1))
    assert "demo_module" in reverse["node"]["time_missing"]
    assert not any("time_us" in n.get("delta", {}) for n in both_sides(reverse["node"]))


def test_series_of_another_length_are_one_changed_group():
    """Numbered sibling ops the tab folds into a series (`AddN[0-5]` against `AddN[0-8]`, named by how many there
    are): one group, changed (its ops added), not a series removed and another added."""
    from tests.helpers.records import graph_def
    from tb_module_plugin.build import builder as build_lib
    from tb_module_plugin.readers import graph as graph_lib

    def built(n):
        nodes = [("x", "Placeholder", [])] + [(f"AddN{'' if i == 0 else f'_{i}'}", "AddN", ["x"]) for i in range(n)]
        ops = graph_lib.flatten_graph_def(graph_def(nodes))
        return build_lib.build_graph_hierarchy(graph_lib.FlatGraph(ops, [], []), "g")

    ha, hb = built(6), built(9)
    series_a = [c for c in ha.root.children.values() if c.role == "series"]
    series_b = [c for c in hb.root.children.values() if c.role == "series"]
    assert len(series_a) == len(series_b) == 1 and series_a[0].name != series_b[0].name
    d = diff_lib.Diff(ha, hb)
    node = d.find(series_a[0].name)
    assert node.status == "changed" and node.path_b == series_b[0].name
    assert node.counts == {"same": 6, "added": 3}
    assert [n.status for n in d.root.children() if n.side.role == "series"] == ["changed"]


def test_two_run_graphs_compare_through_the_route(tmp_path):
    """Run graphs (what tf.summary.graph writes) are read lean, their ops' NodeDefs kept by index: the route compares
    them op by op (a Relu that became a Tanh: the one removed, the other added, their module changed), and every other
    op is the same."""
    from tests.helpers.answers import InProcess, ok_json
    from tests.helpers.records import RawWriter, graph_def

    def nodes(activation):
        return [("x", "Placeholder", []), ("m/dense/kernel", "Const", []),
                ("m/dense/MatMul", "MatMul", ["x", "m/dense/kernel"]), ("m/act", activation, ["m/dense/MatMul"])]

    for run, activation in (("a", "Relu"), ("b", "Tanh")):
        RawWriter(tmp_path, run).graph_def(graph_def(nodes(activation))).close()
    server = InProcess(tmp_path)
    query = dict(run="a", tag="__run_graph__", run2="b", tag2="__run_graph__")
    root = ok_json(server.api("diff", depth=2, **query))["node"]
    assert root["diff"] == "changed"
    module = next(c for c in root["children"] if c["name"] == "m")
    assert module["diff"] == "changed"
    statuses = {c["path"]: c["diff"] for c in module["children"]}
    # (the Relu op removed, the Tanh op added under the same name: a path of its own)
    assert statuses == {"m/dense": "same", "m/act": "removed", "m/act~b": "added"}, statuses
    assert ok_json(server.api("diff", run="a", tag="__run_graph__", run2="a", tag2="__run_graph__"))["node"]["diff"] \
        == "same"


def test_scopes_thousands_deep_compare():
    """Names 3,000 scopes deep (a hostile record; Python recurses 1,000 deep at most): the comparison walks and
    answers at the deepest group, where an op was added."""
    from tests.helpers.records import graph_def
    from tb_module_plugin.build import builder as build_lib
    from tb_module_plugin.readers import graph as graph_lib

    depth = 3000
    deep = "/".join(["s"] * depth)

    def built(extra):
        nodes = [("x", "Placeholder", []), (f"{deep}/op", "Relu", ["x"])] + ([(f"{deep}/op2", "Tanh", ["x"])] * extra)
        ops = graph_lib.flatten_graph_def(graph_def(nodes))
        return build_lib.build_graph_hierarchy(graph_lib.FlatGraph(ops, [], []), "g")

    d = diff_lib.Diff(built(False), built(True))
    node = answer.diff_node(d, deep, 1)
    assert node["diff"] == "changed" and node["path"] == deep
    assert {c["name"]: c["diff"] for c in node["children"]} == {"op": "same", "op2": "added"}


def test_signing_a_big_graph_holds_up_no_other_comparison(monkeypatch):
    """A graph's signatures are kept on it and made under its own lock: while one graph is being signed (held here
    until the other is done), another graph is signed and compared; many threads asking one graph sign it once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from tests.helpers.records import graph_def
    from tb_module_plugin.build import builder as build_lib
    from tb_module_plugin.compare import signature
    from tb_module_plugin.readers import graph as graph_lib

    def built(activation):
        nodes = [("x", "Placeholder", []), ("m/act", activation, ["x"])]
        return build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(nodes)), [], []), "g")

    big, c, d = built("Relu"), built("Relu"), built("Tanh")
    compute, signing, release, computed = signature._compute, threading.Event(), threading.Event(), []

    def held(h):
        computed.append(h)
        if h is big:
            signing.set()
            assert release.wait(30)
        return compute(h)

    monkeypatch.setattr(signature, "_compute", held)
    with ThreadPoolExecutor(8) as pool:
        slow = [pool.submit(signature.signatures, big) for _ in range(4)]
        assert signing.wait(30)
        other = pool.submit(lambda: diff_lib.Diff(c, d))
        try:
            union = other.result(timeout=20)  # (a module-wide lock kept this waiting for `big`)
        finally:
            release.set()
        found = [f.result(timeout=30) for f in slow]
    assert union.find("m/act").status == "removed"
    assert all(s is big.signatures for s in found) and big.signatures == compute(big)
    assert c.signatures is not None and d.signatures is not None
    assert sorted(map(id, computed)) == sorted(map(id, (big, c, d)))  # (each graph signed once)
