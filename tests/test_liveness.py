"""FLOPs count only the ops TensorFlow runs (measures/liveness.py): the gradients a tape builds for a frozen
backbone, the cell step a Keras 3 RNN computes and drops, a called function's gradient of the data. Truth from real
TensorFlow: the profile of the same step (every op it timed must be live), the layers' own shapes (the FLOPs that
remain), and the same record read as if it did not say what its function returns (everything counted, as before)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.helpers import corpus
from tests.helpers.compare_models import load
from tests.helpers.traces import in_place_step, tf
from tb_module_plugin import summary as module_summary
from tb_module_plugin.build import backward as backward_build
from tb_module_plugin.measures import backward, liveness
from tb_module_plugin.recording import demo_tools

B = 64  # the frozen step's batch


@pytest.fixture(autouse=True)
def fresh_keras_names():
    yield
    import keras

    keras.backend.clear_session()


def profiled_op_names(run_dir: Path) -> set:
    """The op names of every op event of the run's profiles, read with TensorFlow's own XSpace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    from tb_module_plugin.readers.profiles import run_name_of

    names = set()
    for path in run_dir.glob("plugins/profile/*/*.xplane.pb"):
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
        for plane in space.planes:
            if plane.name.startswith("/host:"):
                for line in plane.lines:
                    if line.name.startswith("tf_"):
                        for event in line.events:
                            name, _, kernel = plane.event_metadata[event.metadata_id].name.rpartition(":")
                            if name and kernel:
                                names.add(run_name_of(name))
    assert names, f"no op event in the profiles of {run_dir}"
    return names


def assert_timed_ops_live(hierarchy, run_dir: Path) -> int:
    """Every op of the graph the profile timed is live; how many were timed (the check holds something)."""
    dead = liveness.not_run(hierarchy)
    timed = profiled_op_names(run_dir)
    ops = {op.run_name: op for op in hierarchy.all_nodes if op.children is None}
    matched = [ops[name] for name in timed if name in ops]
    assert len(matched) >= 10, (len(matched), sorted(timed)[:20])  # (grappler's and tf.data's events are no op's)
    if dead is not None:
        wrong = sorted(op.run_name for op in matched if dead[op.number])
        assert not wrong, f"ops the profile timed but counted as not run: {wrong[:10]}"
    return len(matched)


def write_record_and_profiled_trace(logdir: Path, module, step, *args) -> None:
    """A module_graph record of `step` (run `record`), and a trace of it profiled (run `trace`)."""
    writer = tf.summary.create_file_writer(str(demo_tools.fresh_run_dir(str(logdir), "record")))
    with writer.as_default():
        assert module_summary.module_graph("step", module, *args, fn=step)
    writer.close()
    run = demo_tools.fresh_run_dir(str(logdir), "trace")
    demo_tools.trace_call(tf, run, "step", step, *args)
    demo_tools.profile_calls(tf, run, step, *args)


def without_returns(logdir: Path, run: str, tag: str):
    """The record's hierarchy read as a record that does not say what its function returns (one written before)."""
    from tb_module_plugin.build import sources

    original = sources.parse_manifest

    def parse(blob):
        manifest = original(blob)
        manifest["returns"] = None
        return manifest

    sources.parse_manifest = parse
    try:
        return load(logdir, run, tag)
    finally:
        sources.parse_manifest = original


def module_node(hierarchy, *names):
    node = hierarchy.root
    for name in names:
        node = next(c for c in node.children.values() if c.name.split("_")[0] == name or c.name == name)
    return node


def dense_forward(layer, batch: int) -> int:
    """A Dense layer's FLOPs for `batch` rows from its kernel's shape: the product, the bias, the activation."""
    n_in, n_out = layer.kernel.shape
    activation = layer.activation.__name__ != "linear"
    return 2 * batch * n_in * n_out + batch * n_out * (1 + activation)


@pytest.fixture(scope="module")
def frozen_step(tmp_path_factory):
    """A frozen Keras 3 backbone and a trained head, one GradientTape + SGD step: recorded, traced, profiled."""
    import keras

    inputs = keras.Input((8,))
    h = keras.layers.Dense(12, activation="relu", name="bb_dense")(inputs)
    backbone = keras.Model(inputs, keras.layers.Dense(6, name="bb_out")(h), name="backbone")
    backbone.trainable = False
    model = keras.Sequential([keras.Input((8,)), backbone, keras.layers.Dense(3, name="head")], name="seq")
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    step = corpus.train_step(model, keras.losses.MeanSquaredError(), optimizer)
    logdir = tmp_path_factory.mktemp("frozen")
    write_record_and_profiled_trace(logdir, model, step, tf.ones([B, 8]), tf.ones([B, 3]))
    return logdir, model


def test_a_frozen_backbone_has_no_backward_flops(frozen_step):
    """The tape builds the frozen backbone's gradients (Keras 3's frozen variable wraps a trainable tf.Variable);
    nothing uses them and TensorFlow never runs them: the backbone's backward FLOPs are 0, its FLOPs its forward
    pass, the head's its forward and its kernel's and bias's gradients (its input's gradient is not needed)."""
    logdir, model = frozen_step
    hierarchy = load(logdir, "record", "step")
    backbone = model.get_layer("backbone")
    head = model.get_layer("head")
    assert [v.path for v in model.trainable_variables] == [v.path for v in head.trainable_variables]
    seq = module_node(hierarchy, "seq")
    node = module_node(hierarchy, "seq", "backbone")
    assert backward.holds_backward(hierarchy, node)  # (the tape built its gradients all the same)
    assert backward.flops_of(hierarchy, node) is None and not backward.runs_backward(hierarchy, node)  # (none run)
    assert hierarchy.costs.ops_not_run(node) > 0
    forward = sum(dense_forward(layer, B) for layer in backbone.layers[1:])
    assert hierarchy.costs.flops_of(node) == forward
    n_in, n_out = head.kernel.shape
    head_backward = 2 * B * n_in * n_out + (B - 1) * n_out  # the kernel's gradient, the bias's (a sum over the batch)
    head_node = module_node(hierarchy, "seq", "head")
    assert backward.flops_of(hierarchy, head_node) == head_backward
    assert hierarchy.costs.flops_of(head_node) == dense_forward(head, B) + head_backward
    assert hierarchy.costs.flops_of(seq) == forward + dense_forward(head, B) + head_backward
    # Read as a record that does not say what its function returns: every op counted, as before.
    before = without_returns(logdir, "record", "step")
    assert liveness.not_run(before) is None
    node_before = module_node(before, "seq", "backbone")
    assert backward.flops_of(before, node_before) > 0
    assert before.costs.flops_of(module_node(before, "seq")) > hierarchy.costs.flops_of(seq)


def test_every_op_the_frozen_steps_profile_timed_is_live(frozen_step):
    """The profile is the truth of what runs: none of the ops it timed is counted as not run, in the trace (its
    _Retval ops) or in the module record (its recorded returns), and the trace's backbone counts no backward op."""
    logdir, _ = frozen_step
    trace = load(logdir, "trace", "step")
    assert liveness.not_run(trace) is not None
    assert assert_timed_ops_live(trace, logdir / "trace") > 10
    record = load(logdir, "record", "step")
    assert assert_timed_ops_live(record, logdir / "trace") > 10
    node = module_node(trace, "seq", "backbone")
    dead = liveness.not_run(trace)
    backward_ops = [op for group in _nodes_below(node) if group.role == backward_build.BACKWARD
                    for op in _nodes_below(group) if op.children is None]
    assert backward_ops and all(dead[op.number] for op in backward_ops)


def _nodes_below(group):
    stack = [group]
    while stack:
        node = stack.pop()
        yield node
        if node.children is not None:
            stack.extend(node.children.values())


def test_a_keras3_lstm_counts_its_loop_not_the_step_it_drops(tmp_path):
    """Keras 3 calls the cell once outside its while loop for its output's shape and drops the value: those ops
    count nothing; the loop's two products count once per time step (from the cell's kernels' shapes), and the
    profile of the same call never timed an op counted as not run."""
    import keras

    steps, batch, features, units = 5, 2, 4, 3
    model = keras.Sequential([keras.Input((steps, features)), keras.layers.LSTM(units, name="lstm")], name="net")
    x = tf.ones([batch, steps, features])
    call = tf.function(lambda x: model(x))
    write_record_and_profiled_trace(tmp_path, model, call, x)
    hierarchy = load(tmp_path, "record", "step")
    cell = model.get_layer("lstm").cell
    products = {op.placement: hierarchy.costs.flops[op.number] for op in hierarchy.all_nodes
                if op.children is None and op.type == "MatMul"}
    in_loop = {p: f for p, f in products.items() if "/while/" in p}
    outside = {p: f for p, f in products.items() if "/while/" not in p}
    assert outside and set(outside.values()) == {0}, outside
    expected = sorted(2 * batch * math.prod(k.shape) * steps for k in (cell.kernel, cell.recurrent_kernel))
    assert sorted(in_loop.values()) == expected, in_loop
    dead = liveness.not_run(hierarchy)
    assert all(dead[op.number] for op in hierarchy.all_nodes if op.children is None and op.placement in outside)
    assert_timed_ops_live(load(tmp_path, "trace", "step"), tmp_path / "trace")


class _Dense(tf.Module):
    def __init__(self, n, name):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(tf.ones([n, n]), name="w")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return tf.nn.relu(tf.matmul(x, self.w))


class _Net(tf.Module):
    def __init__(self, n):
        super().__init__(name="net")
        with self.name_scope:
            self.stem = _Dense(n, "stem")
            self.head = _Dense(n, "head")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return self.head(self.stem(x))


def test_a_called_functions_gradient_of_the_data_is_not_run(tmp_path):
    """tf.Modules whose __call__ is a tf.function: the step's backward function returns the gradient of the data
    too, which nothing uses; its product is not run (the profile never times it). The stem's backward FLOPs drop
    by exactly that product, 2 * batch * n * n."""
    batch, n = 32, 16
    net = _Net(n)
    step = in_place_step(net)
    write_record_and_profiled_trace(tmp_path, net, step, tf.ones([batch, n]))
    hierarchy = load(tmp_path, "record", "step")
    before = without_returns(tmp_path, "record", "step")
    stem, stem_before = module_node(hierarchy, "net", "stem"), module_node(before, "net", "stem")
    assert backward.flops_of(before, stem_before) - backward.flops_of(hierarchy, stem) == 2 * batch * n * n
    head, head_before = module_node(hierarchy, "net", "head"), module_node(before, "net", "head")
    assert backward.flops_of(hierarchy, head) == backward.flops_of(before, head_before)  # (its dx feeds the stem's)
    assert_timed_ops_live(load(tmp_path, "trace", "step"), tmp_path / "trace")
    assert_timed_ops_live(hierarchy, tmp_path / "trace")


def test_a_graph_that_says_nothing_of_its_outputs_counts_every_op(tmp_path):
    """A run graph (tf.summary.graph of a function's graph) has no _Retval and nothing beside it says what it
    returns; nor does a trace of a function returning nothing: nothing is counted as not run, the dead product
    included (2 * 4 * 4 * 4 for it and for the live one)."""
    v = tf.Variable(tf.ones([4, 4]))

    @tf.function
    def f(x):
        y = tf.matmul(x, v)
        tf.matmul(y, y)  # (nothing uses it)
        v.assign(y)

    x = tf.ones([4, 4])
    writer = tf.summary.create_file_writer(str(tmp_path / "graph"))
    with writer.as_default():
        tf.summary.graph(f.get_concrete_function(x).graph)
    writer.close()
    demo_tools.trace_call(tf, str(tmp_path / "trace"), "f", f, x)
    for run, tag in (("graph", "graph"), ("trace", "f")):
        from tb_module_plugin.build import sources
        from tb_module_plugin.cli import main as cli
        from tensorboard import context

        provider = cli.logdir_data_provider(str(tmp_path))
        ctx = context.RequestContext()
        record = next(r for r in sources.list_graphs(provider, ctx, "") if r.run == run)
        hierarchy = load(tmp_path, run, record.tag)
        assert liveness.not_run(hierarchy) is None
        products = [hierarchy.costs.flops[op.number] for op in hierarchy.all_nodes
                    if op.children is None and op.type == "MatMul"]
        if run == "graph":  # (a trace records no shapes: its FLOPs are not known)
            assert products == [2 * 4 * 4 * 4] * 2, products
        else:
            assert len(products) == 2


def test_a_module_record_says_what_its_function_returns_and_must_run(tmp_path):
    """module_graph writes the function's outputs and control outputs (its stateful ops) in the manifest: they
    name ops of the graph, and the variable's update is one of them."""
    v = tf.Variable(tf.ones([4, 4]))

    class M(tf.Module):
        @tf.function
        def __call__(self, x):
            v.assign_add(x)
            return tf.reduce_sum(x)

    m = M()
    writer = tf.summary.create_file_writer(str(tmp_path / "m"))
    with writer.as_default():
        assert module_summary.module_graph("m", m, tf.ones([4, 4]))
    writer.close()
    hierarchy = load(tmp_path, "m", "m")
    returned = {op.type for op in hierarchy.returns}
    assert "AssignAddVariableOp" in returned and "Identity" in returned, returned
    assert liveness.not_run(hierarchy) is None  # (every op is needed)
    from tb_module_plugin.build import sources
    from tb_module_plugin.cli import main as cli
    from tensorboard import context

    provider = cli.logdir_data_provider(str(tmp_path))
    ctx = context.RequestContext()
    record = sources.find_record(sources.list_graphs(provider, ctx, ""), "m", "m")
    blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
    manifest = json.loads(blobs[0])
    assert any(r.startswith("^") for r in manifest["returns"]), manifest["returns"]


def test_every_op_a_resnet50_steps_profile_timed_is_live(resnet_logdir):
    """The demo's ResNet50 training step, traced then profiled: no op the profile timed is counted as not run."""
    from tests.helpers.records import RESNET_RUN

    hierarchy = load(resnet_logdir, RESNET_RUN, "train_step")
    # (its _Retvals say what it returns: liveness is decided, not skipped)
    assert any(op.role == "output" and op.type == "_Retval" for op in hierarchy.all_nodes if op.children is None)
    assert assert_timed_ops_live(hierarchy, resnet_logdir / RESNET_RUN) > 1000


def test_fit_with_the_callback_counts_no_backward_pass_for_a_frozen_backbone(tmp_path):
    """README's Keras path: `fit` with the ModuleGraph callback on a frozen backbone: its layers' backward FLOPs
    are 0 and the trained head's are its kernel's and bias's gradients, from their shapes."""
    import keras

    from tb_module_plugin import ModuleGraph

    batch = 16
    inputs = keras.Input((8,))
    h = keras.layers.Dense(32, activation="relu", name="bb_dense")(inputs)
    backbone = keras.Model(inputs, keras.layers.Dense(16, name="bb_out")(h), name="backbone")
    backbone.trainable = False
    model = keras.Sequential([keras.Input((8,)), backbone, keras.layers.Dense(3, name="head")], name="seq")
    model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((tf.random.normal([batch * 6, 8], seed=1), tf.ones([batch * 6, 3])))
    model.fit(data.batch(batch, drop_remainder=True), epochs=1, verbose=0,
              callbacks=[ModuleGraph(str(tmp_path / "run"), profile_batch=(2, 3))])
    hierarchy = load(tmp_path, "run/train", "seq")
    for names in (("seq", "backbone"), ("seq", "backbone", "bb_dense"), ("seq", "backbone", "bb_out")):
        node = module_node(hierarchy, *names)
        assert backward.flops_of(hierarchy, node) is None, names  # (no backward op of it runs: none)
    node = module_node(hierarchy, "seq", "backbone")
    assert hierarchy.costs.flops_of(node) == sum(dense_forward(layer, batch) for layer in backbone.layers[1:])
    head = model.get_layer("head")
    n_in, n_out = head.kernel.shape
    assert backward.flops_of(hierarchy, module_node(hierarchy, "seq", "head")) == 2 * batch * n_in * n_out + (
        batch - 1) * n_out
    assert_timed_ops_live(hierarchy, tmp_path / "run" / "train")


@pytest.mark.parametrize("name", ["profiled_step", "nested_profiled_step"])
def test_every_op_a_profiled_step_timed_is_live(costs_logdir, costs_truth, name):
    """The cost corpus's profiled steps: a Keras 3 functional model with a frozen layer, and the demo's nested
    model (a nested tf.function, a tf.cond and a tf.while_loop in every block, whose ops run inlined from the calls
    and bodies). Some ops are not run (the frozen layer's gradients, gradients of constants), none that ran."""
    truth = costs_truth[name]
    hierarchy = load(costs_logdir, truth["run"], truth["tag"])
    assert liveness.not_run(hierarchy) is not None
    assert assert_timed_ops_live(hierarchy, costs_logdir / truth["run"]) > 20


def assert_stateful_ops_live(hierarchy) -> int:
    """Every op of the recorded function TensorFlow's op registry says is stateful is live (what the function must
    run), but reads of a variable nothing consumes, which automatic control dependencies leave out on purpose; how
    many were checked."""
    from tensorflow.python.framework import op_def_registry

    dead = liveness.not_run(hierarchy)
    consumed = {id(p) for op in hierarchy.all_nodes if op.children is None for p, _, _ in op.inputs}
    stateful = [op for op in hierarchy.all_nodes if op.children is None and op.top.role != "functions"
                and op.type not in ("_Arg", "_Retval", "Placeholder")
                and (op.type != "ReadVariableOp" or id(op) in consumed)
                and (op_def_registry.get(op.type) is None or op_def_registry.get(op.type).is_stateful)]
    assert dead is not None
    assert not [op.placement for op in stateful if dead[op.number]]
    return len(stateful)


def test_a_loss_scaled_steps_updates_in_a_cond_are_live(tmp_path):
    """Keras 3's LossScaleOptimizer updates its variables inside a tf.cond, where the cond's outputs do not read
    them: they are its body's control returns, and live; so is every stateful op of the frozen step."""
    import keras

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(4, name="d")(keras.layers.Dense(16, name="h")(inputs)), name="m")
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01))
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.MeanSquaredError()

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            scaled = optimizer.scale_loss(loss_fn(y, model(x, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(scaled, model.trainable_variables), model.trainable_variables))
        return scaled

    write_record_and_profiled_trace(tmp_path, model, step, tf.ones([2, 8]), tf.ones([2, 4]))
    for run in ("record", "trace"):
        hierarchy = load(tmp_path, run, "step")
        conds = [op for op in hierarchy.all_nodes if op.children is None and op.type in ("If", "StatelessIf")]
        assert conds  # (the case in point)
        assert assert_stateful_ops_live(hierarchy) > 5
        assert_timed_ops_live(hierarchy, tmp_path / "trace")


def test_every_stateful_op_of_the_frozen_step_is_live(frozen_step):
    logdir, _ = frozen_step
    for run in ("record", "trace"):
        assert assert_stateful_ops_live(load(logdir, run, "step")) > 5


def test_the_details_of_a_frozen_backbone_say_how_many_ops_do_not_run(page, frozen_step):
    """The details panel of the frozen backbone says under its FLOPs how many of its ops TensorFlow does not run
    (the API's flops_not_run), and no backward pass (none of its gradient ops runs)."""
    from playwright.sync_api import expect

    from tests.helpers.browser import assert_clean, expand, node, open_entry, sel
    from tests.helpers.processes import TensorBoard

    logdir, _ = frozen_step
    tb = TensorBoard(logdir, name="liveness")
    try:
        tb.start(wait_graphs=[("record", "step")])
        root = tb.get_json("/data/plugin/module_graph/hierarchy", run="record", tag="step", path="", depth=3)["node"]
        seq = next(c for c in root["children"] if c["name"] == "seq")
        backbone = next(c for c in seq["children"] if c["name"] == "backbone")
        assert backbone["flops_not_run"] > 0 and "backward_flops" not in backbone, backbone
        open_entry(page, tb, "record", "step")
        expand(page, page, seq["path"])
        node(page, backbone["path"]).click()
        details = page.locator(sel("data-details-for", backbone["path"]))
        expect(details.locator('[data-cost-row="not-run-flops"]')).to_have_text(
            f"{backbone['flops_not_run']} ops, 0 FLOPs", timeout=30_000)
        assert_clean(page)
    finally:
        tb.stop()


def test_returns_are_resolved_through_calls_or_say_nothing():
    """A record's returns name ops through expanded calls (a call's output is its body's return value); a return
    naming no op, or a manifest's returns that are not a list of strings, say nothing (every op then counts)."""
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.readers.manifest import parse_manifest
    from tests.helpers.records import function_def, graph_def

    body = function_def("f", [("used", "Relu", ["x"]), ("unused", "Relu", ["x"])], rets={"a": "used:y:0",
                                                                                       "b": "unused:y:0"})
    g = graph_def([("x", "Placeholder", []), ("call", "PartitionedCall", ["x"], {"f": "f"}),
                   ("out", "Identity", ["call:0"])], [body])
    ops, returned = graph_lib.flatten_returning(g, ["out:0", "call:0"])
    assert [op.op_name for op in returned] == ["out", "used"]
    assert {op.op_name for op in ops} >= {"used", "unused"}
    assert graph_lib.flatten_returning(g, ["out:0", "missing:0"])[1] is None
    plain = graph_lib.parse_graph_def(graph_def([("x", "Placeholder", []), ("y", "Relu", ["x"])]).SerializeToString())
    assert [op.op_name for op in graph_lib.flatten_returning(plain, ["y:0"])[1]] == ["y"]
    assert graph_lib.flatten_returning(plain, ["^z"])[1] is None
    manifest = {"version": 2, "modules": [{"path": "", "parent": None, "variables": []}], "variables": []}
    for damaged, read in ((5, None), (["a", 3], None), (None, None), (["a:0", "^b"], ["a:0", "^b"])):
        assert parse_manifest(json.dumps(dict(manifest, returns=damaged)).encode())["returns"] == read
