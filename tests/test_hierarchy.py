"""The hierarchy rules, on graphs built directly (no event files, no server)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from tensorboard.compat.proto import attr_value_pb2, config_pb2, graph_pb2, node_def_pb2, types_pb2

from tests.helpers import records
from tests.helpers.trees import build
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.readers import expand, lite_proto
from tb_module_plugin.build import builder as build_lib
from tb_module_plugin.readers.keras_model import build_keras_hierarchy
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve.settle import settle


def graph_def(*nodes, functions=()):
    """records.graph_def of (name, op, inputs[, attrs]) tuples, no attributes but those given."""
    return records.graph_def(nodes, functions, types=False)


def function_def(name, args, nodes, rets):
    return records.function_def(name, nodes, rets, args)


def call(name, function, inputs):
    attr = attr_value_pb2.AttrValue()
    attr.func.name = function
    return (name, "StatefulPartitionedCall", inputs, {"f": attr})


def resource_arg(name):
    attr = attr_value_pb2.AttrValue(type=types_pb2.DT_RESOURCE)
    return (name, "_Arg", [], {"T": attr})


def children(h, path=""):
    return {c["name"]: c for c in answers_lib.node_json(h, path, 1)["children"]}


SQUARE = function_def("square", ["x"], [("layer/mul", "Mul", ["x", "x"])], {"y": "layer/mul:z:0"})


def test_a_function_called_from_two_places_stays_distinct_per_call_site():
    h = build(graph_def(("x", "Placeholder", []),
                        call("a/StatefulPartitionedCall", "square", ["x"]),
                        call("a/StatefulPartitionedCall_1", "square", ["a/StatefulPartitionedCall"]),
                        ("out", "Identity", ["a/StatefulPartitionedCall_1"]),
                        functions=[SQUARE]))
    first = children(h, "a")["layer"]
    second = children(h, "a/StatefulPartitionedCall_1")["layer"]
    assert first["num_ops"] == 1 and second["num_ops"] == 1
    edges = {(e["from"], e["to"]) for e in answers_lib.node_json(h, "a", 1)["edges"]}
    assert ("a/layer", "a/StatefulPartitionedCall_1") in edges  # the first call's result feeds the second
    assert answers_lib.details_json(h, "outputs/out")["inputs"][0]["path"] == "a/StatefulPartitionedCall_1/layer/mul"


def test_recursive_and_missing_functions_stay_opaque_ops():
    loop = function_def("loop", ["x"], [("again", "StatefulPartitionedCall", ["x"])], {"y": "again:output:0"})
    loop.node_def[0].attr["f"].func.name = "loop"
    h = build(graph_def(("x", "Placeholder", []), call("c", "loop", ["x"]), call("d", "missing", ["x"]),
                        functions=[loop]))
    ops = {n.path: n.type for n in h.all_nodes if n.children is None}
    assert ops["again"] == "StatefulPartitionedCall"  # the self-call is not expanded again
    assert ops["d"] == "StatefulPartitionedCall"


def test_dangling_inputs_duplicate_and_empty_names_keep_every_op():
    h = build(graph_def(("a", "Const", []), ("a", "Const", []), ("", "Const", []), ("b//c", "Add", ["a", "nope:3"]),
                        ("b", "Relu", ["^ghost"])))
    assert h.root.num_ops == 5
    paths = [n.path for n in h.all_nodes]
    assert len(paths) == len(set(paths))
    assert "a (2)" in children(h) and "(empty)" in children(h)
    assert children(h, "b")["(b)"]["op"] == "Relu"


def test_captured_variable_nests_into_its_module_and_makes_it_one():
    h = build(graph_def(resource_arg("enc_dense_matmul_readvariableop_resource"),
                        ("enc/dense/MatMul/ReadVariableOp", "ReadVariableOp",
                         ["enc_dense_matmul_readvariableop_resource"]),
                        ("enc/dense/MatMul", "MatMul", ["enc/dense/MatMul/ReadVariableOp"]),
                        ("enc/other/Cast/ReadVariableOp", "ReadVariableOp",
                         ["enc_dense_matmul_readvariableop_resource"])))
    assert "enc_dense_matmul_readvariableop_resource" in children(h, "enc/dense")
    assert children(h)["enc"]["kind"] == "module" and children(h, "enc")["dense"]["kind"] == "module"
    assert children(h, "enc")["other"]["kind"] == "scope"  # it only reads a variable owned elsewhere
    assert children(h, "enc/dense")["MatMul"]["kind"] == "scope"  # the op's own scope is not a module


def test_numbered_ops_and_groups_fold_into_series():
    nodes = [("x", "Placeholder", [])]
    for i in range(6):
        suffix = f"_{i}" if i else ""
        nodes += [(f"AddN{suffix}", "AddN", ["x"]), (f"Cast{suffix}/ReadVariableOp", "ReadVariableOp", ["x"])]
    nodes += [("AddN_9", "Relu", ["x"])]  # another type: not in the series
    kids = children(build(graph_def(*nodes)))
    assert kids["AddN[0-5]"]["role"] == "series" and kids["AddN[0-5]"]["num_ops"] == 6
    assert kids["Cast[0-5]"]["num_children"] == 6 and kids["AddN_9"]["op"] == "Relu"


def test_crowded_top_level_gathers_ops_outside_scopes():
    nodes = [(f"scope{chr(97 + i)}/op", "Relu", []) for i in range(11)] + [("loose", "Const", []), ("Add", "AddV2", []),
                                                                   ("Add/y", "Const", [])]
    kids = children(build(graph_def(*nodes)))
    assert len(kids) == 12
    assert set(children(build(graph_def(*nodes)), "ops_outside_scopes")) == {"loose", "Add"}


def test_groups_the_plugin_makes_keep_clear_of_names_behind_a_leading_slash():
    """`/ops_outside_scopes/x` sits in a top-level scope `ops_outside_scopes` (a leading "/" makes no scope):
    the groups the plugin adds at the top take other names instead of replacing it (an op was lost, or the build
    failed)."""
    nodes = [("/ops_outside_scopes/x", "Const", []), ("/outputs", "Const", []), ("out", "_Retval", ["/outputs"])]
    nodes += [(f"a{i}", "Relu", ["/ops_outside_scopes/x"]) for i in range(13)]
    h = build(graph_def(*nodes))
    kids = children(h)
    assert h.root.num_ops == len(nodes)
    assert kids["ops_outside_scopes"]["num_ops"] == 1 and "role" not in kids["ops_outside_scopes"]
    assert kids["ops_outside_scopes_1"]["role"] == "loose_ops"
    assert set(children(h, "ops_outside_scopes_1")) == {f"a{i}" for i in range(13)} | {"outputs"}
    assert kids["outputs_1"]["role"] == "outputs" and set(children(h, "outputs_1")) == {"out"}
    assert sum(e["count"] for e in answers_lib.node_json(h, "", 1)["edges"]) == 14


def test_a_flattened_graph_builds_one_tree():
    """Its ops become the tree's leaves: building a second tree from them is refused, not answered wrongly."""
    flat = graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(("m/x", "Relu", []))), [], [])
    build_lib.build_graph_hierarchy(flat, "first")
    with pytest.raises(ValueError, match="flatten the graph again"):
        build_lib.build_graph_hierarchy(flat, "second")


def test_trace_keeps_the_last_real_graph_and_tucks_the_rest():
    eager = graph_def(("input", "_Arg", []), ("VarHandleOp", "VarHandleOp", []), ("out", "_Retval", ["VarHandleOp"]))
    earlier = graph_def(resource_arg("seq_dense_matmul_readvariableop_resource"),
                        ("seq/dense/MatMul/ReadVariableOp", "ReadVariableOp",
                         ["seq_dense_matmul_readvariableop_resource"]), ("seq/dense/Relu", "Relu", []))
    main = graph_def(("model/x", "Const", []), ("model/y", "Relu", ["model/x"]))
    run_metadata = config_pb2.RunMetadata()
    for g in (earlier, eager, eager, main, eager):
        run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(g)
    flat = graph_lib.flatten_trace(graph_lib.parse_run_metadata(run_metadata.SerializeToString()))
    h = build_lib.build_graph_hierarchy(flat, "trace")
    assert set(children(h)) == {"model", "other_functions"}
    assert set(children(h, "other_functions")) == {"seq", "eager_ops"}
    assert set(children(h, "other_functions/eager_ops")) == {"VarHandleOp", "VarHandleOp_1", "VarHandleOp_2"}


@pytest.mark.parametrize("blob,words", [
    (b"\x08\x96\x01garbage\xff", "not a readable RunMetadata"),
    (config_pb2.RunMetadata().SerializeToString(), "had already run before tf.summary.trace_on(graph=True)"),
])
def test_unreadable_traces_explain_themselves(blob, words):
    with pytest.raises(graph_lib.GraphError, match=re.escape(words)) as raised:
        graph_lib.parse_run_metadata(blob)
    assert "profiler" not in str(raised.value)  # not a record written with profiler=True: not its cause


def test_an_empty_profiled_trace_names_both_causes_the_commonest_first():
    message = str(pytest.raises(graph_lib.GraphError, graph_lib.parse_run_metadata,
                                config_pb2.RunMetadata().SerializeToString(), profiled=True).value)
    assert message.startswith("This trace holds no graph.")
    assert message.index("before tf.summary.trace_on") < message.index("profiler=True") < message.index(
        "module_graph(")


KERAS3_FUNCTIONAL = {"module": "keras", "class_name": "Functional", "config": {"name": "func", "layers": [
    {"class_name": "InputLayer", "name": "x", "config": {"name": "x"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "d1", "config": {"name": "d1", "units": 4, "trainable": False},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
         "shape": [None, 8], "dtype": "float32", "keras_history": ["x", 0, 0]}}], "kwargs": {}}]},
    {"class_name": "Sequential", "name": "inner", "config": {"name": "inner", "layers": [
        {"class_name": "Dense", "config": {"name": "a"}}, {"class_name": "Dense", "config": {"name": "b"}}]},
     "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
         "shape": [None, 4], "dtype": "float32", "keras_history": ["d1", 0, 0]}}], "kwargs": {}}]}]}}
TF_KERAS_FUNCTIONAL = {"class_name": "Functional", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "name": "in", "config": {"name": "in"}, "inbound_nodes": []},
    {"class_name": "Dense", "name": "out", "config": {"name": "out"}, "inbound_nodes": [[["in", 0, 0, {}]]]}]}}
OLD_SEQUENTIAL = {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d"}},
                                                         {"class_name": "Dropout", "config": {"name": "drop"}}]}


def test_keras_models_become_layer_trees_with_edges():
    h = build_keras_hierarchy(json.dumps(KERAS3_FUNCTIONAL).encode(), "keras")
    root = answers_lib.node_json(h, "", 2)
    assert [c["name"] for c in root["children"]] == ["x", "d1", "inner"]
    assert all(c["kind"] == "module" for c in root["children"])
    assert {(e["from"], e["to"]) for e in root["edges"]} == {("x", "d1"), ("d1", "inner")}
    assert root["edges"][0]["shapes"] == ["[?,8]"] and root["children"][1]["trainable"] is False
    inner = root["children"][2]
    assert [c["path"] for c in inner["children"]] == ["inner/a", "inner/b"]
    assert inner["edges"][0]["from"] == "inner/a"
    tf_keras = answers_lib.node_json(build_keras_hierarchy(json.dumps(TF_KERAS_FUNCTIONAL).encode(), "keras"), "", 1)
    assert [(e["from"], e["to"]) for e in tf_keras["edges"]] == [("in", "out")]
    old = answers_lib.node_json(build_keras_hierarchy(json.dumps(OLD_SEQUENTIAL).encode(), "keras"), "", 1)
    assert [(e["from"], e["to"]) for e in old["edges"]] == [("d", "drop")]
    assert not any("repeat" in c for c in old["children"])  # a Dense and a Dropout: no ops, yet not alike


def test_keras_layers_of_one_class_are_marked_as_repeats():
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"name": "in"}}] + [
        {"class_name": "Dense", "config": {"name": f"d{i}"}} for i in range(3)]}}
    kids = answers_lib.node_json(build_keras_hierarchy(json.dumps(model).encode(), "keras"), "", 1)["children"]
    assert [c.get("repeat") for c in kids] == [None] + [{"key": "d0", "count": 3, "shapes_compared": False}] * 3


@pytest.mark.parametrize("blob", [b"{not json", b"[1, 2]", b'{"class_name": "X"}', b"\xff\xfe"])
def test_unreadable_keras_json_is_a_graph_error(blob):
    with pytest.raises(graph_lib.GraphError):
        build_keras_hierarchy(blob, "keras")


def test_parameters_are_estimated_from_recorded_variable_shapes():
    shape = attr_value_pb2.AttrValue()
    shape.shape.dim.add(size=3)
    shape.shape.dim.add(size=4)
    h = build(graph_def(("net/dense/kernel", "VarHandleOp", [], {"shape": shape}),
                        ("net/dense/bias", "VarHandleOp", []),  # no shape: not counted
                        ("net/dense/MatMul", "MatMul", ["net/dense/kernel"])))
    net = answers_lib.node_json(h, "", 2)["children"][0]
    assert net["num_params"] == 12 and net["params_estimated"] is True
    assert net["children"][0]["num_params"] == 12


def test_sibling_modules_of_the_same_structure_are_marked():
    nodes = []
    for i in range(3):
        nodes += [resource_arg(f"enc_block_{i}_w"), (f"enc/block_{i}/MatMul", "MatMul", [f"enc_block_{i}_w"]),
                  (f"enc/block_{i}/Relu", "Relu", [f"enc/block_{i}/MatMul"])]
    nodes += [resource_arg("enc_head_w"), ("enc/head/MatMul", "MatMul", ["enc_head_w"])]
    kids = children(build(graph_def(*nodes)), "enc")
    assert [kids[f"block_{i}"]["repeat"] for i in range(3)] == [{"key": "block_0", "count": 3, "shapes_compared": False}] * 3
    assert "repeat" not in kids["head"]


def test_siblings_with_parameters_of_other_shapes_are_not_alike():
    """Same op types, kernels of other shapes: not one structure (a record's Dense layers of 44 and 10
    parameters were once marked alike). The same-shaped two are, and their mark says the shapes were compared."""
    def shape(*dims):
        value = attr_value_pb2.AttrValue()
        for d in dims:
            value.shape.dim.add(size=d)
        return value

    nodes = []
    for name, dims in (("a", (4, 8)), ("b", (4, 8)), ("c", (8, 2))):
        nodes += [(f"net/{name}/kernel", "VarHandleOp", [], {"shape": shape(*dims)}),
                  (f"net/{name}/MatMul", "MatMul", [f"net/{name}/kernel"])]
    kids = children(build(graph_def(*nodes)), "net")
    assert kids["a"]["repeat"] == kids["b"]["repeat"] == {"key": "a", "count": 2, "shapes_compared": True}
    assert "repeat" not in kids["c"]
    model = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": f"d{i}", "units": units}} for i, units in enumerate((4, 4, 2))]}}
    layers = answers_lib.node_json(build_keras_hierarchy(json.dumps(model).encode(), "keras"), "", 1)["children"]
    assert [c.get("repeat", {}).get("count") for c in layers] == [2, 2, None]


def test_compacted_hierarchy_answers_the_same():
    const = attr_value_pb2.AttrValue(type=types_pb2.DT_FLOAT)
    g = graph_def(("x", "Placeholder", [], {"dtype": const}), ("net/a", "Relu", ["x"], {"T": const}),
                  ("net/b", "Relu", ["net/a"], {"T": const}))
    before = [answers_lib.node_json(build(g), "", 3), answers_lib.details_json(build(g), "net/b"), answers_lib.details_json(build(g), "net")]
    h = build(g)
    settle(h)
    assert all(isinstance(n._node_def, bytes) for n in h.all_nodes if n.children is None)
    assert h.structures_numbered()  # numbered ahead of the first expansion
    assert [answers_lib.node_json(h, "", 3), answers_lib.details_json(h, "net/b"), answers_lib.details_json(h, "net")] == before


def _shaped_node_defs():
    shape = attr_value_pb2.AttrValue()
    shape.list.shape.add().dim.add(size=8)
    weights = attr_value_pb2.AttrValue()
    weights.tensor.dtype = types_pb2.DT_FLOAT
    weights.tensor.tensor_content = bytes(range(256)) * 64
    dtype = attr_value_pb2.AttrValue(type=types_pb2.DT_FLOAT)
    return graph_def(("net/w", "Const", [], {"value": weights, "dtype": dtype, "_output_shapes": shape}),
                     ("net/y", "Relu", ["net/w"], {"T": dtype, "_output_shapes": shape}))


def test_the_lean_parse_keeps_every_attribute_of_every_op():
    g = _shaped_node_defs()
    g.node[1].device = "/device:CPU:0"
    parsed = graph_lib.parse_graph_def(g.SerializeToString())
    assert not isinstance(parsed, graph_pb2.GraphDef)  # the lean kind: attrs are not decoded up front
    ops = graph_lib.flatten_graph_def(parsed)
    assert [op.node_def for op in ops] == list(g.node)
    h = build(parsed)
    assert answers_lib.details_json(h, "net/y")["inputs"][0]["shape"] == "[8]"
    assert answers_lib.node_json(h, "net/y", 0)["device"] == "/device:CPU:0"
    settle(h)
    assert {n.op_name: n.node_def for n in h.all_nodes if n.children is None} == {n.name: n for n in g.node}


REPLICAS = [("x", "Placeholder", []), ("dense/kernel", "Const", []), ("dense/MatMul", "MatMul", ["x", "dense/kernel"]),
            ("replica_1/dense/kernel", "Const", []),
            ("replica_1/dense/MatMul", "MatMul", ["x", "replica_1/dense/kernel"])]


def _on_two_devices(g):
    for node in g.node:
        node.device = "/device:GPU:1" if node.name.startswith("replica_1/") else "/device:GPU:0"
    return g


def _counting_replica_scans(monkeypatch) -> list:
    """Each pass merge_replicas makes over the ops (the first: whether any op names a device; then its scan)."""
    from tb_module_plugin.build import passes

    passes_made = []

    class Counted(list):
        def __iter__(self):
            passes_made.append(1)
            return super().__iter__()

    merge = passes.merge_replicas
    monkeypatch.setattr(passes, "merge_replicas", lambda ops: merge(Counted(ops)))
    return passes_made


def test_replicas_merge_in_a_run_graph_whose_ops_name_their_devices(monkeypatch):
    """A replica (a scope of ops on one device mirroring a sibling's on another) joins the scope it replicates; a
    graph whose ops name no device has none (and is not searched for them: the lean parse notes the devices)."""
    nodes = REPLICAS
    placed = _on_two_devices(graph_def(*nodes))
    copies = {n.name: n.name.split("/")[-1] + " (replica_1)" for n in placed.node if n.name.startswith("replica_1/")}
    passes_made = _counting_replica_scans(monkeypatch)
    for g, merged in ((placed, True), (graph_def(*nodes), False)):
        parsed = graph_lib.parse_graph_def(g.SerializeToString())
        assert parsed.on_devices is merged
        passes_made.clear()
        h = build(parsed)
        assert ("replica_1" in children(h)) is not merged
        assert (set(copies.values()) <= set(children(h, "dense"))) is merged
        assert (len(passes_made) > 1) is merged  # (no device named: it looks no further than that)
    assert {name: h_node.node_def.device for name, h_node in
            ((name, build(graph_lib.parse_graph_def(placed.SerializeToString())).find(f"dense/{copy}"))
             for name, copy in copies.items())} == {n.name: n.device for n in placed.node if n.name in copies}


def test_replicas_merge_in_a_record_read_node_by_node(monkeypatch):
    """A record whose columns do not line up (a node writing its name twice) is read node by node: that read
    notes the devices too, so its replicas still merge."""
    placed = _on_two_devices(graph_def(*REPLICAS))
    nodes = [node.SerializeToString() for node in placed.node]
    nodes[0] = node_def_pb2.NodeDef(name="first").SerializeToString() + nodes[0]  # (the last name wins)
    blob = b"".join(b"\x0a" + bytes([len(node)]) + node for node in nodes)
    read_alone = []

    class NodeDef:  # (lite_proto's, counting the nodes read one by one)
        @staticmethod
        def FromString(data):
            read_alone.append(1)
            return lite_proto_node_def.FromString(data)

    lite_proto_node_def = lite_proto.NodeDef
    monkeypatch.setattr(lite_proto, "NodeDef", NodeDef)
    passes_made = _counting_replica_scans(monkeypatch)
    h = build(graph_lib.parse_graph_def(blob))
    assert len(read_alone) == len(nodes) and len(passes_made) > 1
    assert "replica_1" not in children(h)
    assert {n.name.split("/")[-1] + " (replica_1)" for n in placed.node if n.name.startswith("replica_1/")} <= set(
        children(h, "dense"))


def test_a_graph_with_functions_is_parsed_in_full_and_its_calls_expanded():
    parsed = graph_lib.parse_graph_def(graph_def(("x", "Placeholder", []), call("c", "square", ["x"]),
                                                 functions=[SQUARE]).SerializeToString())
    assert isinstance(parsed, graph_pb2.GraphDef)
    assert "layer/mul" in {op.placement for op in graph_lib.flatten_graph_def(parsed)}


@pytest.mark.parametrize("nodes_at_a_time", [2, lite_proto._NODES_AT_A_TIME])
def test_the_lean_parse_reads_odd_nodes_as_protobuf_does(nodes_at_a_time, monkeypatch):
    """The columns of the lean parse line up with the nodes only if each node wrote one name and one op; records
    where one did not are read node by node, with protobuf's meaning (the last name written wins). Large graphs
    are read a few thousand nodes at a time (here: two)."""
    monkeypatch.setattr(lite_proto, "_NODES_AT_A_TIME", nodes_at_a_time)
    named_twice = (node_def_pb2.NodeDef(name="first", op="Const").SerializeToString()
                   + node_def_pb2.NodeDef(name="net/b", op="Relu", input=["net/a", "^net/c"]).SerializeToString())
    nodes = [node_def_pb2.NodeDef(name="net/a", op="Const").SerializeToString(), named_twice,
             node_def_pb2.NodeDef(name="net/c", op="AddN", input=["\0", "net/a:1", "net/b", "later"]).SerializeToString(),
             node_def_pb2.NodeDef(op="NoOp", input=["net/a"]).SerializeToString(),  # no name: the field is left out
             node_def_pb2.NodeDef(name="later", op="Identity").SerializeToString(),
             node_def_pb2.NodeDef(name="net/d", op="AddN", input=["net/a:1", "^net/a", "gone", "later"]).SerializeToString(),
             # a name again, pieces later: an input naming it means its first node
             node_def_pb2.NodeDef(name="net/a", op="Identity", input=["net/d"]).SerializeToString(),
             node_def_pb2.NodeDef(name="net/e", op="Relu", input=["net/a", "net/d"]).SerializeToString()]
    for odd in ([nodes[0], nodes[5], nodes[4]], nodes[:2], nodes[:3], [nodes[0], nodes[3]], nodes):
        blob = b"".join(b"\x0a" + bytes([len(node)]) + node for node in odd)
        full = graph_lib.flatten_graph_def(graph_pb2.GraphDef.FromString(blob))
        lean = graph_lib.flatten_graph_def(graph_lib.parse_graph_def(blob))
        assert [(op.placement, op.type, [(p.op_name, port, control) for p, port, control in op.inputs])
                for op in lean] == [(op.placement, op.type, [(p.op_name, port, control) for p, port, control in op.inputs])
                                    for op in full]
        assert [op.node_def for op in lean] == [op.node_def for op in full]
    assert [(p.op_name, port) for p, port, _ in lean[2].inputs] == [("net/a", "1"), ("net/b", "0"), ("later", "0")]
    assert lean[-1].inputs[0][0] is lean[0] and lean[-1].inputs[1][0] is lean[5]


@pytest.mark.parametrize("nearby", [2, 3, expand._NEARBY])
def test_inputs_are_found_in_and_beyond_their_piece_of_nodes(nearby, monkeypatch):
    """A lean graph's inputs are looked up among a few nodes at a time first (here two or three), then among all:
    an input naming a node of its piece, of an earlier or a later piece, with a port, a control input, a name of
    no node, all resolve as in the full GraphDef."""
    monkeypatch.setattr(expand, "_NEARBY", nearby)
    g = graph_def(("a", "Placeholder", []), ("s/b", "Relu", ["a"]), ("s/c", "AddN", ["s/b", "a", "s/e"]),
                  ("s/d", "AddN", ["s/c:1", "^a", "gone", "s/b"]), ("s/e", "Const", []),
                  ("t/f", "AddN", ["s/e", "a", "s/d", "t/g"]), ("t/g", "Identity", ["t/f"]), ("t/h", "Relu", ["a"]))
    blob = g.SerializeToString()
    lean = graph_lib.flatten_graph_def(graph_lib.parse_graph_def(blob))
    full = graph_lib.flatten_graph_def(graph_pb2.GraphDef.FromString(blob))
    index = {op.op_name: i for i, op in enumerate(full)}
    assert [[(lean.index(p), port, control) for p, port, control in op.inputs] for op in lean] == [
        [(index[p.op_name], port, control) for p, port, control in op.inputs] for op in full]
    assert sum(map(len, (op.inputs for op in lean))) == sum(len(node.input) for node in g.node) - 1  # (`gone`)
    # Only the ops with an input that does not simply name a node are resolved again, one by one (given a list).
    names = {node.name for node in g.node}
    assert [isinstance(op.inputs, list) for op in lean] == [not names.issuperset(node.input) for node in g.node]


def test_a_node_that_runs_past_its_end_is_refused_as_protobuf_refuses_it():
    """Read joined, the nodes' columns must not let one node's field run on into the next node."""
    overrun = node_def_pb2.NodeDef(name="a", op="X").SerializeToString() + b"\x2a\x09"  # device: 9 bytes promised
    nodes = [overrun, node_def_pb2.NodeDef(name="b", op="Y", input=["a"]).SerializeToString()]
    blob = b"".join(b"\x0a" + bytes([len(node)]) + node for node in nodes)
    with pytest.raises(Exception):
        graph_pb2.GraphDef.FromString(blob)
    with pytest.raises(graph_lib.GraphError, match="not a readable GraphDef"):
        graph_lib.parse_graph_def(blob)


def test_a_trace_is_parsed_lean_too():
    run_metadata = config_pb2.RunMetadata()
    run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(_shaped_node_defs())
    graphs = graph_lib.parse_run_metadata(run_metadata.SerializeToString())
    flat = graph_lib.flatten_trace(graphs)
    assert [op.node_def for op in flat.ops] == list(_shaped_node_defs().node)


def test_an_op_whose_attributes_do_not_decode_is_shown_without_them():
    good = graph_pb2.GraphDef()
    good.node.add(name="net/x", op="Const")
    node = good.node[0].SerializeToString() + b"\x2a\x03\xff\xff\xff"  # attr (field 5): 3 bytes of garbage
    blob = b"\x0a" + bytes([len(node)]) + node
    h = build(graph_lib.parse_graph_def(blob))
    details = answers_lib.details_json(h, "net/x")
    assert (details["op"], details["attrs"]) == ("Const", {})


def test_the_first_answer_files_only_the_root_edges():
    """The edges inside groups are filed after the first answer (settle) or when a group is first opened; every
    answer is the same either way."""
    nodes = (("x", "Placeholder", []), ("enc/a/m", "MatMul", ["x"]), ("enc/a/r", "Relu", ["enc/a/m"]),
             ("enc/b/m", "MatMul", ["enc/a/r"]), ("enc/b/r", "Relu", ["enc/b/m", "^enc/a/m"]),
             ("head/out", "Identity", ["enc/b/r", "enc/a/r"]), ("head/loss", "Mean", ["head/out", "x"]))
    opened, settled = build(graph_def(*nodes)), build(graph_def(*nodes))
    assert sorted((e["from"], e["to"], e["count"], e["control"]) for e in answers_lib.node_json(opened, "", 1)["edges"]) == [
        ("enc", "head", 2, False), ("inputs", "enc", 1, False), ("inputs", "head", 1, False)]
    assert opened.root.children["enc"].edges is None and not opened.edges_filed()  # not filed yet
    settle(settled)
    assert settled.edges_filed() and not opened.edges_filed()  # filed by settle
    for path in ("enc", "enc/b", "head", ""):
        assert answers_lib.node_json(opened, path, 2) == answers_lib.node_json(settled, path, 2)
    assert [(e["from"], e["to"], e["count"], e["control"]) for e in answers_lib.node_json(opened, "enc", 1)["edges"]] == [
        ("enc/a", "enc/b", 2, False)]


def test_settle_lets_answers_go_first(monkeypatch):
    """settle's work waits while an answer is being made (and, after a build, until a first one is made); an
    answer needing a step it has not done does that step; past ANSWERS_FIRST_SECONDS it goes on."""
    import threading

    from tb_module_plugin.tree import turns as turns_lib

    nodes = (("x", "Placeholder", []), ("enc/a/m", "MatMul", ["x"]), ("enc/b/m", "MatMul", ["enc/a/m"]))
    monkeypatch.setattr(turns_lib, "ANSWERS_FIRST_SECONDS", 60)  # (only the answers let it go on)
    h = build(graph_def(*nodes))
    worker = threading.Thread(target=settle, args=(h,), kwargs={"after_an_answer": True})
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and not h.edges_filed()  # no answer made yet
    with h.turns.answering():
        worker.join(0.3)
        assert worker.is_alive() and not h.edges_filed()  # one being made
        h.in_flow_order(h.find("enc"))  # (an answer does what it needs itself)
        assert h.edges_filed()
    worker.join(60)
    assert not worker.is_alive() and h.search_index is not None  # settled once the answer was made
    monkeypatch.setattr(turns_lib, "ANSWERS_FIRST_SECONDS", 0.01)
    h = build(graph_def(*nodes))
    settle(h, after_an_answer=True)  # (none asked for: it goes on)
    assert h.edges_filed() and h.search_index is not None


def test_settle_waits_a_moment_after_an_answer_for_the_next(monkeypatch):
    """The page asks in bursts (a group's listing, a deeper one, its details): after an answer, settle's next step
    waits NEXT_ANSWER_SECONDS for the next one, and while that one is made; with no answer lately, not at all."""
    import threading
    import time

    from tb_module_plugin.tree import turns as turns_lib

    monkeypatch.setattr(turns_lib, "NEXT_ANSWER_SECONDS", 0.3)
    turns = turns_lib.Turns()
    started = time.monotonic()
    turns.let_answers_go_first()
    assert time.monotonic() - started < 0.2  # (none made)
    with turns.answering():
        pass
    started = time.monotonic()
    turns.let_answers_go_first()
    assert 0.25 <= time.monotonic() - started < turns_lib.ANSWERS_FIRST_SECONDS
    with turns.answering():
        pass

    def next_answer():  # (asked within the moment, made for 0.4 s)
        time.sleep(0.1)
        with turns.answering():
            time.sleep(0.4)

    asking = threading.Thread(target=next_answer)
    started = time.monotonic()
    asking.start()
    turns.let_answers_go_first()
    assert time.monotonic() - started >= 0.5 + 0.25  # (that answer made, and a moment after it)
    asking.join()


def test_a_group_answer_is_remembered():
    """What enters and leaves a group is a walk over all its ops: done once per group."""
    h = build(graph_def(("x", "Placeholder", []), ("net/a", "Relu", ["x"]), ("net/b", "Relu", ["net/a"])))
    assert answers_lib.details_json(h, "net") is answers_lib.details_json(h, "net")
    assert answers_lib.details_json(h, "net")["inputs"][0]["path"] == "inputs/x"
    assert answers_lib.details_json(h, "net/a") is not answers_lib.details_json(h, "net/a")  # an op's answer is cheap: made each time


@pytest.mark.parametrize("callee_first", [True, False])
def test_a_function_the_trace_also_recorded_on_its_own_is_shown_once(callee_first):
    """The runtime can record a called function's graph beside the graph that calls it (in either order): the call
    is expanded in place, and the callee is neither taken for the traced function nor shown again."""
    from tests.helpers.traces import tf

    class Cell(tf.Module):
        def __init__(self):
            super().__init__(name="cell")
            with self.name_scope:
                self.w = tf.Variable(tf.ones([2, 2]), name="w")

        @tf.function
        def __call__(self, x):
            with self.name_scope:
                return tf.matmul(x, self.w)

    cell = Cell()

    @tf.function
    def step(x):
        return cell(x) + 1.0

    outer = step.get_concrete_function(tf.ones([1, 2])).graph.as_graph_def()
    inner = cell.__call__.get_concrete_function(tf.ones([1, 2])).graph.as_graph_def()
    inner.ClearField("library")
    run_metadata = config_pb2.RunMetadata()
    for g in ([inner, outer] if callee_first else [outer, inner]):
        run_metadata.function_graphs.add().pre_optimization_graph.ParseFromString(g.SerializeToString())
    flat = graph_lib.flatten_trace(graph_lib.parse_run_metadata(run_metadata.SerializeToString()))
    assert flat.other_functions == []
    h = build_lib.build_graph_hierarchy(flat, "trace")
    assert "cell" in children(h) and "other_functions" not in children(h)
    assert {op.op_name for op in flat.ops if op.function} >= {"cell/MatMul"}


def test_a_lean_tables_placed_ops_keep_their_names_in_shared_strings():
    """The ops of a lean table, once placed where their names say, keep their names as their scope's string and an
    interned last segment (ops.PlacedTableOp): each op's name, placement, run name and NodeDef are still those of
    its node in the GraphDef, whatever the name (no scope, a leading or trailing "/", an empty scope, an op named
    like a scope), and the ops of a scope share one string for it. An op moved by a pass keeps its own."""
    from tb_module_plugin.build import passes
    from tb_module_plugin.tree import ops as ops_lib

    run = "r" + "/" * (passes.DEFAULT.max_empty_run + 2) + "s"  # (a pass places it elsewhere: `r/(empty ×9)/s`)
    names = ["x", "a/b/mul", "a/b/mul/y", "a/b/add", "/top", "e/", "b//c", "a/b", "a/b/add", run]
    g = graph_def(*[(name, "Relu", [names[i - 1]] if i else []) for i, name in enumerate(names)])
    h = build(graph_lib.parse_graph_def(g.SerializeToString()))
    ops = [n for n in h.all_nodes if n.children is None]
    assert sorted(op.op_name for op in ops) == sorted(node.name for node in g.node)
    placed = [op for op in ops if isinstance(op, ops_lib.PlacedTableOp)]
    assert sorted(op.op_name for op in placed) == sorted(names[:-1])
    for op in ops:
        assert op.op_name == op.run_name == op.node_def.name and op.node_def in g.node
        assert op.placement == op.op_name or op.op_name == run and op.path == op.placement
    by_head: dict = {}  # each scope's string -> the ids of the strings its ops keep
    for op in placed:
        head, leaf = ops_lib.Op.placement.__get__(op), ops_lib.Op.op_name.__get__(op)  # (the slots themselves)
        assert head + leaf == op.op_name and leaf is sys.intern(leaf)
        by_head.setdefault(head, []).append(id(head))
    assert len(by_head["a/b/"]) >= 3 and all(len(set(ids)) == 1 for ids in by_head.values())
    moved = placed[0]
    name = moved.op_name
    moved.placement = "elsewhere/" + name
    assert (moved.op_name, moved.placement) == (name, "elsewhere/" + name)
    assert not isinstance(moved, ops_lib.PlacedTableOp) and moved.node_def.name == name
