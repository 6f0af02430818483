"""The everyday variations of real code (tests/helpers/variations.py), compared with what their live objects said.

A Keras 3 model named `hyphen-net.v2` with layers `hidden-1`, `norm.a`, `head>out`; Keras's EfficientNetV2B0
(`efficientnetv2-b0`); a Sonnet ResNet, whose BatchNorm modules are named `batchnorm_N` like the helper scope of
tf.nn.batch_normalization; a tf_keras LSTM, whose weights are read in scopes of their own; a Keras model trained
under MirroredStrategy over two logical CPU devices. Each as a traced training step and a `module_graph` record.
Every expected value comes from truth.json, which the live objects wrote while they were recorded: the argument
each variable's handle became in the traced function (from the concrete function's own FunctionDef), the modules,
their classes and their count_params().
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.answers import check_record
from tests.helpers.records import graph_def
from tb_module_plugin.build import builder as build_lib
from tb_module_plugin.cli import main as cli
from tb_module_plugin.build import sources
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.tree.scopes import common_group
from tb_module_plugin.serve import answers as answers_lib

TRACES = ("hyphen_net_trace", "efficientnetv2_trace", "sonnet_resnet_trace", "mirrored_trace", "tf_keras_lstm_trace")
RECORDS = ("hyphen_net_record", "efficientnetv2_record", "sonnet_resnet_record", "mirrored_record",
           "tf_keras_lstm_record")


@pytest.fixture(scope="module")
def variations(variations_logdir):
    """(truth.json, {run: the engine's Hierarchy of its record}), built in this process."""
    from tensorboard import context

    truth = json.loads((variations_logdir / "truth.json").read_text())
    provider = cli.logdir_data_provider(str(variations_logdir))
    ctx = context.RequestContext()
    built = {}
    for record in sources.list_graphs(provider, ctx, ""):
        blobs = [provider.read_blob(ctx, blob_key=k) for k in sources.latest_blob_keys(provider, ctx, "", record)]
        built[record.run] = sources.build_hierarchy(record, blobs)
    return truth, built


def homes(hierarchy, entry) -> dict:
    """{truth module index: the group its variables' arguments sit in}; asserts each module's arguments (every
    replica's copy too) sit in one group."""
    group_of = {n.op_name: n.parent for n in hierarchy.all_nodes if n.children is None and n.role == "variable"}
    out = {}
    for module in entry["modules"]:
        args = [a for v in module["own_state"] for a in v["args"]]
        if not args:
            continue
        places = {id(group_of[a]): group_of[a] for a in args if a in group_of}
        assert len(places) == 1 and len(args) == sum(a in group_of for a in args), (
            entry["run"], module["paths"][0], sorted(g.path for g in places.values()), args)
        out[module["index"]] = next(iter(places.values()))
    return out


@pytest.mark.parametrize("run", TRACES)
def test_every_weighted_layer_is_a_module_holding_its_own_variables(variations, run):
    """Names with `-`, `.` and `>` (which a FunctionDef turns into `_`), modules named like op helpers, replicas:
    every module that holds variables is one module node holding all of them (every replica's handle), each its
    own node, and the model's node holds no other module than those and their containers (no replica's copy of a
    layer)."""
    truth, built = variations
    entry, hierarchy = truth[run], built[run]
    found = homes(hierarchy, entry)
    weighted = [m for m in entry["modules"] if any(v["args"] for v in m["own_state"])]
    assert len(found) == len(weighted) > 1, run
    assert len({id(g) for g in found.values()}) == len(found), run  # each module its own node
    for index, group in found.items():
        assert group.kind == "module", (run, group.path)
    model = found.get(0) or common_group(list(found.values()))
    while model.kind != "module":
        model = model.parent
    inside = [n for n in hierarchy.all_nodes if n.children is not None and n.kind == "module"
              and (n is model or n.path.startswith(model.path + "/"))]
    expected = {id(model)}  # the modules holding variables, and the containers above them
    for group in found.values():
        while group is not model and group is not None:
            expected.add(id(group))
            group = group.parent
    assert sorted(n.path for n in inside if id(n) not in expected) == [], run


def test_keras_names_with_hyphens_keep_their_layers(variations):
    """EfficientNetV2B0 (`efficientnetv2-b0`): every layer with weights (Keras's own account) is a module of its
    training step, none of them at the top."""
    truth, built = variations
    entry = truth["efficientnetv2_trace"]
    found = homes(built["efficientnetv2_trace"], entry)
    weighted = [m["index"] for m in entry["modules"] if m["index"] != 0 and m["own_variables"]]
    assert len(weighted) > 100 and set(weighted) <= set(found)
    assert all(g.parent is not None and g.parent.parent is not None for g in found.values())


def test_sonnet_batchnorm_modules_named_like_a_helper_stay_modules(variations):
    truth, built = variations
    entry = truth["sonnet_resnet_trace"]
    found = homes(built["sonnet_resnet_trace"], entry)
    batchnorms = [m for m in entry["modules"] if m["class_name"].endswith("BatchNorm")]
    named_like_helper = [m for m in batchnorms if m["name"].startswith("batchnorm_")]
    assert len(named_like_helper) >= 4  # the blocks' `batchnorm_0`...
    for module in batchnorms:
        group = found[module["index"]]
        assert group.kind == "module" and group.name == module["name"], (module["paths"][0], group.path)


def test_replicas_are_one_module_with_each_op_on_its_device(variations):
    """MirroredStrategy over two devices: each layer's node holds the ops of both replicas, which keep their
    devices; each variable's handles (one per device) sit in its layer's node."""
    truth, built = variations
    for run in ("mirrored_trace", "mirrored_record"):
        entry, hierarchy = truth[run], built[run]
        layers = [m for m in entry["modules"] if m["own_variables"]]
        assert len(layers) == 2, run
        for module in layers:
            node = _layer_node(hierarchy, module, run)
            devices = {n.node_def.device for n in _ops_under(node) if n.node_def.device}
            assert len(devices) == entry["replicas"], (run, node.path, devices)
    for module in truth["mirrored_trace"]["modules"]:
        for variable in module["own_state"]:
            assert len(variable["args"]) == truth["mirrored_trace"]["replicas"], variable


def _layer_node(hierarchy, module, run):
    if run.endswith("_trace"):
        group_of = {n.op_name: n.parent for n in hierarchy.all_nodes if n.children is None and n.role == "variable"}
        return group_of[module["own_state"][0]["args"][0]]
    return next(n for n in hierarchy.all_nodes if n.children is not None and n.facts
                and n.facts.get("attribute_path") in module["paths"])


def _ops_under(group):
    stack, out = [group], []
    while stack:
        for child in stack.pop().children.values():
            (out.append(child) if child.children is None else stack.append(child))
    return out


@pytest.mark.parametrize("run", RECORDS)
def test_records_match_the_objects(variations, run):
    """Each module once, with its class and the framework's counts (the mirrored model's count_params(), not
    twice it), and no module without a class inside the model (replica 1's layers are the model's: see
    test_replicas_are_one_module_with_each_op_on_its_device)."""
    truth, built = variations
    entry, hierarchy = truth[run], built[run]
    tree = answers_lib.node_json(hierarchy, "", 8)
    check_record(tree, entry, run)
    root = next(n for n in hierarchy.all_nodes if n.facts and n.facts.get("attribute_path") == "")
    assert hierarchy.values[root.path]["num_params"] == entry["modules"][0]["num_params"]
    classless = [n.path for n in hierarchy.all_nodes if n.children is not None and n.kind == "module"
                 and not (n.facts and n.facts.get("class_name"))]
    assert [p for p in classless if p.startswith(root.path + "/")] == [], run


def test_a_tf_keras_training_step_shows_the_model_once(corpus_logdir, truth):
    """The tf_keras training step of tests/helpers/corpus.py: no op of the step is shown again under Other functions (a
    function the trace expanded in place, recorded on its own too, is not listed twice)."""
    from tensorboard import context

    entry = truth["tf_keras_functional_trace"]
    provider = cli.logdir_data_provider(str(corpus_logdir))
    ctx = context.RequestContext()
    record = next(r for r in sources.list_graphs(provider, ctx, "") if (r.run, r.tag) == (entry["run"], entry["tag"]))
    blobs = [provider.read_blob(ctx, blob_key=k) for k in sources.latest_blob_keys(provider, ctx, "", record)]
    hierarchy = sources.build_hierarchy(record, blobs)
    functions = [g for g in hierarchy.root.children.values() if g.children is not None and g.role == "functions"]
    shown_again = {op.op_name for group in functions for op in _ops_under(group)}
    main = {op.op_name for op in hierarchy.all_nodes if op.children is None} - shown_again
    captures = {v["capture"] for m in entry["modules"] for v in m["own_state"]}  # (the step's arguments)
    model_ops = {name for m in entry["modules"] for names in m["calls"].values() for name in names} - captures
    assert model_ops and model_ops <= main
    assert not shown_again & model_ops, sorted(shown_again & model_ops)[:10]


def _device_graph(devices: dict):
    """A graph of a model `net` and a scope holding the same scopes (`replica_1/net`), placed on `devices`
    ({scope: device}), the backward pass of each under `gradient_tape`."""
    g = graph_def([("x", "Placeholder", []),
                           ("net/dense/MatMul", "MatMul", ["x", "x"]),
                           ("net/dense/Relu", "Relu", ["net/dense/MatMul"]),
                           ("replica_1/net/dense/MatMul", "MatMul", ["x", "x"]),
                           ("replica_1/net/dense/Relu", "Relu", ["replica_1/net/dense/MatMul"]),
                           ("gradient_tape/net/dense/MatMul_grad", "MatMul", ["net/dense/MatMul", "x"]),
                           ("gradient_tape/net/dense/Relu_grad", "ReluGrad", ["net/dense/Relu", "x"]),
                           ("gradient_tape/replica_1/net/dense/MatMul_grad", "MatMul",
                            ["replica_1/net/dense/MatMul", "x"]),
                           ("gradient_tape/replica_1/net/dense/Relu_grad", "ReluGrad",
                            ["replica_1/net/dense/Relu", "x"])])
    for node in g.node:
        for scope, device in devices.items():
            if node.name.startswith(scope + "/") or node.name.startswith("gradient_tape/" + scope + "/"):
                node.device = device
    return build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "test")


def test_a_replica_on_its_own_device_joins_the_scopes_it_replicates():
    h = _device_graph({"net": "/device:CPU:0", "replica_1": "/device:CPU:1"})
    dense = h.find("net/dense")
    assert {name: op.node_def.device for name, op in dense.children.items()} == {
        "MatMul": "/device:CPU:0", "Relu": "/device:CPU:0", "MatMul (replica_1)": "/device:CPU:1",
        "Relu (replica_1)": "/device:CPU:1"}
    assert "replica_1" not in h.root.children and "replica_1" not in h.find("gradient_tape").children
    assert set(h.find("gradient_tape/net/dense").children) == {"MatMul_grad", "Relu_grad", "MatMul_grad (replica_1)",
                                                               "Relu_grad (replica_1)"}


@pytest.mark.parametrize("devices", [{}, {"net": "/device:CPU:1", "replica_1": "/device:CPU:1"},
                                     {"net": "/device:CPU:0"}])
def test_a_scope_holding_the_models_scopes_without_a_device_of_its_own_stays(devices):
    """No device apart (none recorded, the same device, or none for the copy): nothing says it is a replica."""
    h = _device_graph(devices)
    assert "replica_1" in h.root.children and set(h.find("net/dense").children) == {"MatMul", "Relu"}


def test_a_layer_on_another_device_is_not_taken_for_a_replica():
    """Model parallelism: a layer on its own device holds a scope named like one of its model's (`Cast`), with
    other ops in it: a name in common, not a copy."""
    g = graph_def([("x", "Placeholder", []),
                           ("net/Cast/x", "Const", []), ("net/Cast/Cast", "Cast", ["net/Cast/x"]),
                           ("net/dense/Cast/ReadVariableOp", "Identity", ["x"]),
                           ("net/dense/Cast/Cast", "Cast", ["net/dense/Cast/ReadVariableOp"]),
                           ("net/dense/MatMul", "MatMul", ["x", "net/dense/Cast/Cast"])])
    for node in g.node:
        node.device = "/device:CPU:1" if node.name.startswith("net/dense/") else "/device:CPU:0"
    h = build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "test")
    assert set(h.find("net").children) == {"Cast", "dense"} and "MatMul" in h.find("net/dense").children
