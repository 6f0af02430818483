"""Measured time of a training step, through a real `tensorboard` over the demo's ResNet50 step (traced, then
profiled): what each group's time holds, what the profile did not time, fused kernels, and the backward pass with
the module it differentiates. The truth is the step's own graph (the trace's RunMetadata) and the profile's op
events, read with TensorFlow's XSpace message."""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers.answers import InProcess, ok_json, walk
from tests.helpers.profiled import op_events, traced_graph
from tests.helpers.processes import ARTIFACTS_DIR, QUIET_TF_ENV, TensorBoard, run_python
from tests.helpers.records import write_graph_with_tf

RUN, TAG = "resnet50_train_step", "train_step"
FUSED_CONV = re.compile(r"_\w*Fused\w*Conv2D")


@pytest.fixture(scope="module")
def resnet_tb(resnet_logdir):
    tb = TensorBoard(resnet_logdir, load_fast=False, name="time")
    tb.start(wait_graphs={(RUN, TAG)}, timeout=180)
    yield tb
    tb.stop()


@pytest.fixture(scope="module")
def profile(resnet_logdir):
    """The profile's op events: {op name: (kernel type, picoseconds over all runs)}, and the profiled steps."""
    return op_events(resnet_logdir / RUN)


@pytest.fixture(scope="module")
def step_graph(resnet_logdir):
    """The traced step's GraphDef: {op name: NodeDef}."""
    return traced_graph(resnet_logdir / RUN, TAG)


def per_step_us(events, steps, names) -> float:
    return sum(events[name][1] for name in names) / steps / 1e6


def model_of(tree):
    return next(c for c in tree["children"] if c["kind"] == "module" and c["name"].startswith("resnet50"))


def with_time(tb, path="", depth=1):
    return ok_json(tb.api("hierarchy", run=RUN, tag=TAG, path=path, depth=depth, time=1))["node"]


@pytest.fixture(scope="module")
def tree(resnet_tb):
    """The whole tree with time (the step's scopes nest less than the 8 levels an answer holds)."""
    root = with_time(resnet_tb, depth=8)
    assert not [n["path"] for n, _ in walk(root) if n.get("has_children")]
    return root


def test_every_conv_group_is_timed_with_its_backward_pass(resnet_tb, tree, profile):
    """Every child of the model named conv* has its time (none "not known"); every module among them shows a
    forward and a backward part, each equal to the profile's events of that layer's forward ops and of the
    gradient ops TensorFlow named after them; the step's time outside any module is under 20%."""
    events, steps = profile
    root = tree
    model = model_of(tree)
    conv = [c for c in model["children"] if c["name"].startswith("conv")]
    assert conv
    assert [c["path"] for c in conv if "time" in c.get("cost_unknown", []) or not c.get("time_us", 0) > 0] == []
    modules = [c for c in conv if c["kind"] == "module"]
    assert modules
    for module in modules:
        scope = f"{model['name']}/{module['name']}/"
        backward = per_step_us(events, steps, [n for n in events if n.startswith("gradient_tape/" + scope)])
        forward = per_step_us(events, steps, [n for n in events if n.startswith(scope)])
        assert backward > 0 and forward > 0, module["path"]
        assert module["backward_time_us"] == pytest.approx(backward, abs=0.01), module["path"]
        assert module["time_us"] == pytest.approx(forward + backward, abs=0.01), module["path"]
    outside = root["step_time_us"] - root["module_time_us"]
    assert 0 <= outside < 0.2 * root["step_time_us"], (outside, root)
    assert root["time_us"] == pytest.approx(per_step_us(events, steps, list(events)), abs=0.1)


def test_a_fused_convolution_is_timed_on_the_convolution(resnet_tb, tree, profile, step_graph):
    """A Conv2D that the profile ran fused with its BiasAdd (an event of a fused kernel named after the BiasAdd
    that reads the Conv2D) holds the kernel's time, both ops name the fusion, and the layer's heaviest forward
    child is its convolution."""
    events, steps = profile
    model = model_of(tree)
    checked = 0
    for layer in (c for c in model["children"] if c["kind"] == "module"):
        ops = {n["path"]: n for n, parents in walk(layer)
               if n["kind"] == "op" and not any(p.get("role") == "backward" for p in parents)}
        convs = [n for n in ops.values() if n["op"] == "Conv2D"]
        if not convs:
            continue
        (conv,) = convs
        readers = [n for n in ops.values() if any(i["path"] == conv["path"] for i in n["inputs"])]
        (bias,) = [n for n in readers if n["op"] == "BiasAdd"]
        name = ok_json(resnet_tb.api("node", run=RUN, tag=TAG, path=bias["path"]))["node"]["op_name"]
        kernel, _ = events[name]
        assert FUSED_CONV.fullmatch(kernel), (name, kernel)  # (what this test is about)
        assert step_graph[name].input[0].split(":")[0] in step_graph  # (the graph's edge the fusion follows)
        assert conv["time_us"] == pytest.approx(per_step_us(events, steps, [name]), abs=0.001), conv["path"]
        assert bias["time_us"] == 0
        assert conv["fused"] == bias["fused"] == "Conv2D+BiasAdd (fused)"
        forward = [c for c in layer["children"] if c.get("role") != "backward" and "time_us" in c]
        heaviest = max(forward, key=lambda c: c["time_us"])
        assert conv["path"] == heaviest["path"] or conv["path"].startswith(heaviest["path"] + "/"), layer["path"]
        checked += 1
    assert checked == sum(1 for node in step_graph.values() if node.op == "Conv2D")


def test_time_coverage_is_the_share_of_ops_the_profile_timed(resnet_tb, tree, profile, step_graph):
    """time_coverage is each group's share of its ops that are timed, of the ops of a type timed somewhere: the
    timed ops are those the profile names (each op event of the step's graph) and the first op of each fused
    kernel (checked against the graph's edges in the fused-convolution test), counted here from the answer's ops;
    a group whose ops grappler replaced (an add layer: `ArithmeticOptimizer/AddOpsRewrite_*`) is timed by those
    events with a coverage of 0."""
    events, steps = profile
    ops = [(n, parents) for n, parents in walk(tree) if n["kind"] == "op"]
    timed = [n for n, _ in ops if "time_us" in n]
    named = {name for name in events if name in step_graph}  # ops the profile timed by name
    firsts = [n for n in timed if "fused" in n and n["time_us"] > 0 and n["fused"].startswith(n["op"] + "+")]
    assert len(timed) == len(named) + len(firsts)
    timed_types = {n["op"] for n in timed}
    counted: collections.Counter = collections.Counter()
    covered: collections.Counter = collections.Counter()
    for n, parents in ops:
        if n["op"] in timed_types:
            for parent in parents:
                counted[parent["path"]] += 1
                covered[parent["path"]] += "time_us" in n
    groups = [n for n, _ in walk(tree) if n["kind"] != "op" and "time_coverage" in n]
    assert groups and 0 < tree["time_coverage"] < 1
    for group in groups:
        assert group["time_coverage"] == pytest.approx(covered[group["path"]] / counted[group["path"]], abs=1e-4)
    model = model_of(tree)
    (add,) = [c for c in model["children"] if c["name"].startswith("conv2_block1_add")]
    scope = f"{model['name']}/{add['name']}/"
    assert [n for n in step_graph if n.startswith(scope) and n in named] == []
    rewritten = [n for n in events if n.startswith(scope) and n not in step_graph]
    assert rewritten and all("/ArithmeticOptimizer/" in n for n in rewritten), rewritten  # (grappler's ops only)
    assert add["time_us"] == pytest.approx(per_step_us(events, steps, rewritten), abs=0.001)
    assert add["time_coverage"] == 0


def test_summary_shows_the_backward_part(resnet_logdir, profile):
    """`summary` of the profiled step: a backward time column beside the time, and the step's time outside any
    module in the footer."""
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(resnet_logdir), "--run", RUN,
                             "--depth", "2"], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, **QUIET_TF_ENV))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[1]
    assert "time / step" in header and header.rstrip().endswith("backward time"), header
    layer = next(line for line in lines if line.strip().startswith("conv2_block1_1_conv"))
    assert re.search(r"\d(?:\.\d+)? (?:µs|ms) \(\d+%\)$", layer), layer
    assert any(line.startswith("Outside any module: ") for line in lines)


def test_page_details_show_the_backward_part(page, costs_tb, costs_truth):
    """A layer of a profiled Keras training step (tests/helpers/costs_corpus.py): its details' Costs table has its time
    and, beneath it, the part its backward pass takes, as the API says (in microseconds here)."""
    from playwright.sync_api import expect
    from tests.helpers.browser import assert_clean, expand, node, open_entry, sel

    truth = costs_truth["profiled_step"]
    listing = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=2, time=1))["node"]
    model = next(c for c in listing["children"] if c["kind"] == "module")
    layers = [c for c in model["children"] if c["kind"] == "module"]
    with_backward = [c for c in layers if any(g.get("role") == "backward" for g in ok_json(costs_tb.api(
        "hierarchy", run=truth["run"], tag=truth["tag"], path=c["path"], depth=1))["node"]["children"])]
    timed = [c for c in with_backward if "backward_time_us" in c]  # (the profile may time none of a layer's)
    assert timed
    layer = timed[0]
    assert 0 < layer["backward_time_us"] < layer["time_us"]
    open_entry(page, costs_tb, truth["run"], truth["tag"])
    page.select_option('select[name="colour-by"]', "time")
    expand(page, page, model["path"])
    node(page, layer["path"]).click()
    details = page.locator(sel("data-details-for", layer["path"]))
    backward = details.locator('[data-cost-row="backward-time"]')
    expect(backward).to_contain_text("% of it)")
    shown = re.fullmatch(r"([\d.]+) µs \(([\d.]+)% of it\)", backward.inner_text().strip())
    assert shown, backward.inner_text()
    assert float(shown[1]) == pytest.approx(layer["backward_time_us"], rel=0.01)
    assert float(shown[2]) == pytest.approx(100 * layer["backward_time_us"] / layer["time_us"], rel=0.01)
    expect(details.locator("tr:has([data-cost-row='backward-time'])")).to_contain_text("backward")
    forward = details.locator('[data-cost-row="forward-time"]')
    expect(forward).to_contain_text("% of it)")
    shown = re.fullmatch(r"([\d.]+) µs \(([\d.]+)% of it\)", forward.inner_text().strip())
    assert shown and float(shown[1]) == pytest.approx(layer["time_us"] - layer["backward_time_us"], rel=0.01)
    if layer.get("time_coverage", 1) < 1:
        coverage = details.locator('[data-cost-row="coverage-time"]').inner_text()
        assert float(coverage.rstrip("%")) == pytest.approx(100 * layer["time_coverage"], rel=0.01), coverage
    # The Costs table, its shares included, fits the panel: nothing is cut at its right edge.
    page.screenshot(path=str(ARTIFACTS_DIR / "details-backward.png"))
    costs_right, panel_right = details.evaluate(
        "e => [e.querySelector('.mg-costs table').getBoundingClientRect().right, e.getBoundingClientRect().right]")
    assert costs_right <= panel_right, (costs_right, panel_right)
    assert_clean(page)


TRAIN_STEP_GRAPH = """
import json, keras
BATCH = 8
model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, name="first"), keras.layers.Dense(4, name="middle"),
                          keras.layers.Dense(3, name="last")], name="mlp")
optimizer = keras.optimizers.SGD(0.1)
optimizer.build(model.trainable_variables)
loss_fn = keras.losses.MeanSquaredError()

@tf.function
def step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss

G = step.get_concrete_function(tf.TensorSpec([BATCH, 6]), tf.TensorSpec([BATCH, 3])).graph
TRUTH = {layer.name: {"in": layer.kernel.shape[0], "out": layer.kernel.shape[1]} for layer in model.layers}
open(OUT, "w").write(json.dumps({"batch": BATCH, "layers": TRUTH}))
"""


@pytest.mark.live
def test_backward_flops_of_a_training_step_graph(tmp_path):
    """A run graph of a training step (`tf.summary.graph`: every op's shape recorded): each Dense layer's
    backward FLOPs hold its weight gradient's product (2 * batch * in * out) and, past the first layer, its input
    gradient's (as much again), from the live layers' shapes; a module's FLOPs are its forward and backward parts,
    and backward_flops is the sum over its backward group."""
    truth_file = tmp_path / "truth.json"
    write_graph_with_tf(tmp_path, "step", f"OUT = {str(truth_file)!r}\n" + TRAIN_STEP_GRAPH)
    truth = json.loads(truth_file.read_text())
    client = InProcess(tmp_path)
    root = ok_json(client.api("hierarchy", run="step", tag="__run_graph__", depth=8))["node"]
    model = next(c for c in root["children"] if c["kind"] == "module" and c["name"].startswith("mlp"))
    layers = {c["name"].rsplit("_", 1)[0] if c["name"] not in truth["layers"] else c["name"]: c
              for c in model["children"] if c["kind"] == "module"}
    assert set(truth["layers"]) <= set(layers), layers.keys()
    batch = truth["batch"]
    for i, (name, shape) in enumerate(truth["layers"].items()):
        layer = layers[name]
        (backward,) = [c for c in layer["children"] if c.get("role") == "backward"]
        products = [n["flops"] for n, _ in walk(backward) if n["kind"] == "op" and n["op"] == "MatMul"]
        weight = 2 * batch * shape["in"] * shape["out"]
        assert sorted(products) == ([weight] if i == 0 else [weight, weight]), (name, products)
        assert layer["backward_flops"] == backward["flops"] >= sum(products)
        assert layer["flops"] == sum(c["flops"] for c in layer["children"])
    assert model["backward_flops"] == sum(c["flops"] for c, _ in walk(model) if c.get("role") == "backward")


PROFILED_CNN = """
import json, os, keras
from tensorflow.tsl.profiler.protobuf import xplane_pb2
model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
                          keras.layers.GlobalAveragePooling2D(name="pool"), keras.layers.Dense(2, name="head")],
                         name="cnn")
call = tf.function(lambda x: model(x))
x = tf.ones([4, 16, 16, 3])
writer = tf.summary.create_file_writer(RUN)
tf.summary.trace_on(graph=True)
call(x)
with writer.as_default():
    tf.summary.trace_export("call", step=0)
writer.close()
call(x)
tf.profiler.experimental.start(RUN)
for _ in range(3):
    call(x)
tf.profiler.experimental.stop()
kernels = {}
for root, _, files in os.walk(RUN):
    for name in files:
        if name.endswith(".xplane.pb"):
            space = xplane_pb2.XSpace.FromString(open(os.path.join(root, name), "rb").read())
            for plane in space.planes:
                for line in plane.lines:
                    if plane.name.startswith("/host:") and line.name.startswith("tf_"):
                        for event in line.events:
                            op, _, kernel = plane.event_metadata[event.metadata_id].name.rpartition(":")
                            kernels[op] = kernel
open(OUT, "w").write(json.dumps(kernels))
"""


@pytest.mark.live
def test_a_convolution_fused_with_its_bias_and_activation(tmp_path):
    """A Conv2D layer with a ReLU activation, profiled: where the profile ran Conv2D, BiasAdd and Relu as one
    fused kernel (its event named after the Relu), the three ops name the fusion `Conv2D+BiasAdd+Relu (fused)`,
    the Conv2D holds the kernel's time and the two others 0."""
    out = tmp_path / "kernels.json"
    run_python(f"import tensorflow as tf\nRUN = {str(tmp_path / 'cnn')!r}\nOUT = {str(out)!r}\n" + PROFILED_CNN)
    kernels = json.loads(out.read_text())
    client = InProcess(tmp_path)
    root = ok_json(client.api("hierarchy", run="cnn", tag="call", depth=8, time=1))["node"]
    ops = {n["path"]: n for n, _ in walk(root) if n["kind"] == "op"}
    (conv,) = [n for n in ops.values() if n["op"] == "Conv2D"]
    (bias,) = [n for n in ops.values() if n["op"] == "BiasAdd" and n["inputs"][0]["path"] == conv["path"]]
    (relu,) = [n for n in ops.values() if n["op"] == "Relu" and n["inputs"][0]["path"] == bias["path"]]
    relu_name = ok_json(client.api("node", run="cnn", tag="call", path=relu["path"]))["node"]["op_name"]
    assert FUSED_CONV.fullmatch(kernels[relu_name]), kernels  # (what this test is about)
    assert conv["fused"] == bias["fused"] == relu["fused"] == "Conv2D+BiasAdd+Relu (fused)"
    assert conv["time_us"] > 0 and bias["time_us"] == relu["time_us"] == 0


def test_page_times_the_conv_stages_of_a_resnet_step(page, resnet_tb, tree):
    """The page's groups by name of the ResNet50 step's layers ([conv2]..[conv5]) are coloured by time, none
    "not known": each is the sum of its members' times as the API gives them."""
    from playwright.sync_api import expect
    from tests.helpers.browser import assert_clean, expand, node, open_entry

    model = model_of(tree)
    open_entry(page, resnet_tb, RUN, TAG)
    page.select_option('select[name="colour-by"]', "time")
    expect(page.locator('[data-legend="time"]')).to_contain_text("Outside any module")
    expand(page, page, model["path"])
    page.wait_for_function("p => document.querySelectorAll(`svg [data-path^='${p}/['][data-cost]`).length >= 4",
                           arg=model["path"])
    drawn = page.eval_on_selector_all("svg [data-path][data-cost]",
                                      "els => Object.fromEntries(els.map(e => [e.dataset.path, Number(e.dataset.cost)]))")
    stage = re.escape(model["path"]) + r"/\[conv\d\]"
    stages = {path: value for path, value in drawn.items() if re.fullmatch(stage, path)}
    assert len(stages) >= 4, drawn
    for path, value in stages.items():
        word = path.rsplit("[", 1)[1][:-1]
        members = [c for c in model["children"] if c["name"].startswith(word + "_")]
        assert members and all("time_us" in c for c in members), path
        assert value == pytest.approx(sum(c["time_us"] for c in members), rel=1e-6), path
        expect(node(page, path)).not_to_have_class(re.compile(r"\bmg-cost-unknown\b"))
    assert_clean(page)


def test_backward_of_a_nested_function_call_reaches_the_blocks(costs_tb, costs_truth):
    """The demo's nested model (tests/helpers/costs_corpus.py): its encoder runs its blocks in a nested tf.function,
    whose gradient is a backward function expanded in place, its ops in a tape scope of their own; each block module
    still gets its backward pass, timed, and the step's time outside any module stays small."""
    truth = costs_truth["nested_profiled_step"]
    root = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=8, time=1))["node"]
    modules = [n for n, _ in walk(root) if n["kind"] == "module"]
    innermost = [m for m in modules if not any(c["kind"] == "module" for c in m.get("children", []))]
    assert len(innermost) > 2  # (the blocks and the head)
    for module in innermost:
        assert any(c.get("role") == "backward" for c in module["children"]), module["path"]
        assert 0 < module["backward_time_us"] < module["time_us"], module["path"]
    assert root["step_time_us"] - root["module_time_us"] < 0.2 * root["step_time_us"], root
