"""What modules cost (FLOPs, parameters, measured time), compared with what TensorFlow itself says, through a real
`tensorboard`: tests/costs_corpus.py writes the graphs and TensorFlow's own counts (truth.json)."""

from __future__ import annotations

import pytest

import support
from support import error, ok_json, walk
from test_fidelity import full_tree

PUBLISHED_RESNET50_GFLOPS = (7.7, 8.2)  # forward, 224x224, batch 1, a multiply-add as 2


def module_named(tree, name):
    return next(n for n, _ in walk(tree) if n["kind"] == "module" and n["name"] == name)


def test_resnet50_forward_flops_are_tensorflows_own(costs_tb, costs_truth):
    """The model's FLOPs are within 5% of TensorFlow's profiler on the same graph and within the published range;
    every Conv2D (and the Dense) layer's convolution is 2 * H_out * W_out * K_h * K_w * C_in * C_out exactly, and
    the layer adds its bias's H_out * W_out * C_out."""
    truth = costs_truth["resnet50_forward"]
    tree = full_tree(costs_tb, truth["run"], truth["tag"])
    model = module_named(tree, truth["model_name"])
    flops = model["flops"]
    assert abs(flops - truth["tf_profiler_flops"]) <= 0.05 * truth["tf_profiler_flops"], (flops, truth)
    assert PUBLISHED_RESNET50_GFLOPS[0] <= flops / 1e9 <= PUBLISHED_RESNET50_GFLOPS[1], flops
    layers = {c["name"]: c for c in model["children"] if c["kind"] == "module"}
    assert set(truth["layer_flops"]) <= set(layers)
    for name, expected in truth["layer_flops"].items():
        layer = layers[name]
        ops = [n for n, _ in walk(layer) if n["kind"] == "op" and n["op"] == expected["op"]]
        assert [op["flops"] for op in ops] == [expected["flops"]], (name, ops)
        if expected["op"] == "Conv2D":  # (the Dense layer's softmax adds its own)
            assert layer["flops"] == expected["flops"] + expected["bias"], (name, layer["flops"], expected)
        assert "flops" not in layer.get("cost_unknown", [])
    assert model["num_params"] > 25_000_000 and "params" not in model.get("cost_unknown", [])


def test_a_trace_says_its_flops_are_unknown_never_zero(costs_tb, costs_truth):
    """A trace records no shapes: every op that does arithmetic, and every group above one, says "flops" is
    unknown; the ops that do none (a Const) cost a known 0."""
    truth = costs_truth["profiled_step"]
    tree = full_tree(costs_tb, truth["run"], truth["tag"])
    for node in (n for n, _ in walk(tree)):
        if node["kind"] == "op" and node["op"] in ("MatMul", "AddV2", "Mul", "Relu", "BiasAdd"):
            assert "flops" not in node and "flops" in node["cost_unknown"], node["path"]
        if node["kind"] == "op" and node["op"] in ("Const", "Identity", "ReadVariableOp"):
            assert node["flops"] == 0, node["path"]
    assert "flops" in tree["cost_unknown"] and "flops" not in tree


def test_profiled_training_step_times_every_module(costs_tb, costs_truth):
    """With time=1: every module has its measured time, no group's children add up to more than it, and the
    whole graph's time is within 10% of every op event of the profiled step."""
    truth = costs_truth["profiled_step"]
    graphs = ok_json(costs_tb.api("graphs"))["graphs"]
    assert {"run": truth["run"], "tag": truth["tag"], "source": "trace", "profiled": True} in graphs
    root = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=8, time=1))["node"]
    modules = [n for n, _ in walk(root) if n["kind"] == "module"]
    assert modules and all(isinstance(m.get("time_us"), float) and m["time_us"] > 0 for m in modules), [
        m["path"] for m in modules if "time_us" not in m]
    for node, _ in walk(root):
        timed = [c["time_us"] for c in node.get("children", []) if "time_us" in c]
        if timed:
            assert sum(timed) <= node["time_us"] + 0.001 * len(timed), node["path"]
    assert abs(root["time_us"] - truth["op_events_us"]) <= 0.1 * truth["op_events_us"], (root["time_us"], truth)
    details = ok_json(costs_tb.api("node", run=truth["run"], tag=truth["tag"], path=modules[0]["path"], time=1))["node"]
    assert details["time_us"] == modules[0]["time_us"]
    without = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=1))["node"]
    assert "time_us" not in without and "time" not in without.get("cost_unknown", [])  # only when asked for


@pytest.mark.parametrize("run,words", [
    ("profile_of_another_function", "time none of this graph's ops"),
    ("damaged_profile", "is not a readable XSpace"),
    ("resnet50_forward", "holds no profile"),
])
def test_a_profile_that_cannot_time_the_graph_is_said_so(costs_tb, costs_truth, run, words):
    message = error(costs_tb.api("hierarchy", run=run, tag=costs_truth[run]["tag"], time=1), 422)
    assert words in message, message
    if run != "damaged_profile":
        assert "tf.profiler.experimental.start" in message, message  # how to profile so that it works
    # the same graph without time answers as always
    ok_json(costs_tb.api("hierarchy", run=run, tag=costs_truth[run]["tag"]))


def test_costs_of_a_big_graph_come_after_its_first_answer():
    """Over SYNC_COST_OPS ops, the first answer has no cost fields (neither known nor unknown: not counted yet);
    once settled, every node has them."""
    from tb_module_plugin import build, costs, graph

    g = support.graph_def([("x", "Placeholder", [])] + [(f"m/op_{i}", "Relu", ["x"]) for i in range(costs.SYNC_COST_OPS)])
    h = build.build_graph_hierarchy(graph.FlatGraph(graph.flatten_graph_def(graph.parse_graph_def(
        g.SerializeToString())), [], []), "big")
    first = h.node_json("", 1)
    assert "flops" not in first and "cost_unknown" not in first
    h.settle()
    settled = h.node_json("", 1)
    assert "flops" in settled["cost_unknown"]  # (no shapes recorded: unknown, never 0)
