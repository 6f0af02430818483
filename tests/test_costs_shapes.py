"""Costs that depend on reading the right shapes: FLOPs counted where the shapes a rule reads are recorded (a
training step's gradient sums and batch norm), the ops named where they are not, and a run graph's variables
counted by their own shapes, not their handles'. Records written by real TensorFlow (tests/helpers/shape_records.py,
cached in .cache/), expected values worked out here from what the live objects said."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from tensorboard.compat.proto import node_def_pb2

from tests.helpers.answers import client_get as get
from tests.helpers.answers import make_client, walk
from tests.helpers.processes import REPO, cache_key, cached_logdir, run_python
from tb_module_plugin.measures import flops as flops_lib

HELPER = REPO / "tests" / "helpers" / "shape_records.py"


@pytest.fixture(scope="module")
def logdir():
    recording = sorted((REPO / "tb_module_plugin" / "recording").glob("*.py"))
    key = cache_key([HELPER, *recording], ("tensorflow-cpu", "tensorflow", "keras", "tf-keras"))
    return cached_logdir("shape_records", key, lambda tmp: run_python(
        ["-m", "tests.helpers.shape_records", str(tmp)], timeout=600))


@pytest.fixture(scope="module")
def truth(logdir):
    return json.loads((logdir / "truth.json").read_text())


@pytest.fixture(scope="module")
def client(logdir):
    return make_client(logdir)[0]


def tree(client, run):
    status, body = get(client, "/graphs")
    assert status == 200, body
    tag = next(g["tag"] for g in body["graphs"] if g["run"] == run)
    status, body = get(client, "/hierarchy", run=run, tag=tag, depth=8)
    assert status == 200, body
    return body["node"]


def modules(node) -> dict:
    return {n["name"]: n for n, _ in walk(node) if n["kind"] == "module"}


def footer(logdir, run) -> str:
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(logdir), "--run", run],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_footer_counts(logdir, run, flops: int) -> None:
    line = next(line for line in footer(logdir, run).splitlines() if line.startswith("Total FLOPs"))
    assert "unknown" not in line and f"{flops:,}" in line, line


def forward(node) -> int:
    return node["flops"] - node["backward_flops"]


# -- which shapes each rule reads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("op_type", sorted(flops_lib.RULES))
def test_every_rule_reads_only_the_shapes_it_declares(op_type):
    """Given its declared shapes and None for every other, a rule counts (a rule reading an undeclared shape would
    fail on the None): op_flops waits for those shapes alone."""
    rule = flops_lib.RULES[op_type]
    inputs, out = rule.reads
    shape = [2, 3, 4, 5]
    count = 6  # (more inputs than any rule reads)
    declared = range(count) if inputs == (flops_lib.ALL,) else inputs
    ins = [list(shape) if i in declared else None for i in range(count)]
    node = node_def_pb2.NodeDef(name="op", op=op_type)
    if op_type == "Einsum":
        ins = [list(shape), [5, 3]]
        node.attr["equation"].s = b"abcd,dx->abcx"
    flops = rule(node, ins, [list(shape)] if out else [None])
    assert flops is not None and flops >= 0, op_type


def test_a_reduction_that_reduces_nothing_costs_nothing():
    """A broadcast's gradient sums over the axes BroadcastGradientArgs gives: none where nothing broadcast."""
    shape, reduced = [8, 6, 8], [6, 8]
    for op_type in ("Sum", "Mean", "Max"):
        rule = flops_lib.RULES[op_type]
        assert rule(None, [shape, None], [list(shape)]) == 0
        assert rule(None, [shape, None], [reduced]) >= math.prod(shape) - math.prod(reduced) > 0


# -- FLOPs of training steps ----------------------------------------------------------------------------------------

def test_an_einsum_dense_training_step_has_the_flops_of_every_layer(logdir, truth, client):
    """The kernel gradient of EinsumDense's broadcasting matmul is summed over axes that BroadcastGradientArgs
    computes (recorded with no shape): its FLOPs are known all the same, and so are the model's."""
    batch, layers = truth["einsum"]["batch"], truth["einsum"]["layers"]
    root = tree(client, "einsum/train")
    found = modules(root)
    for name, layer in layers.items():
        node = found[name]
        assert "cost_unknown" not in node, node
        out = batch * math.prod(layer["output"])  # (one multiply-add per kernel row for each output element)
        assert forward(node) == 2 * out * layer["kernel"][0] + out, (name, node)  # (+ the bias, once each)
        assert node["backward_flops"] >= 2 * batch * math.prod(layer["input"][:-1]) * math.prod(layer["kernel"])
    assert_footer_counts(logdir, "einsum/train", root["flops"])


def test_a_tf_keras_batch_norm_training_step_has_the_models_flops(logdir, truth, client):
    """FusedBatchNormGradV3 reads the forward op's reserve spaces, recorded with no shape; its rule needs only x's."""
    batch, layers = truth["tfk_bn"]["batch"], truth["tfk_bn"]["layers"]
    root = tree(client, "tfk_bn/train")
    found = modules(root)
    conv, bn = layers["conv"], layers["bn"]
    assert forward(found["conv"]) == 2 * batch * math.prod(conv["output"]) * math.prod(conv["weights"][0][:-1])
    assert found["bn"]["backward_flops"] > 0 and forward(found["bn"]) >= batch * math.prod(bn["input"])
    assert all("cost_unknown" not in found[name] for name in layers), found
    assert root["flops"] >= sum(found[name]["flops"] for name in layers)
    assert_footer_counts(logdir, "tfk_bn/train", root["flops"])


def test_flops_not_known_name_the_ops_whose_shapes_are_missing(logdir, client):
    """A module record (shapes recorded) whose op after a boolean_mask has a data-dependent shape: the footer and the
    API (flops_shapes_missing, the page's reason) name it, and do not send the user to record what they recorded."""
    root = tree(client, "masked")
    assert "flops" in root.get("cost_unknown", []), root
    unknown = [n for n, _ in walk(root) if n["kind"] == "op" and "flops" in n.get("cost_unknown", [])]
    text = footer(logdir, "masked")
    line = next(line for line in text.splitlines() if line.startswith("Total FLOPs"))
    assert "unknown" in line and "module_graph" not in line, line
    assert unknown and any(f"{op['path']} ({op['op']})" in line for op in unknown), (line, unknown)
    paths = {op["path"] for op in unknown}
    assert root["flops_shapes_missing"] and set(root["flops_shapes_missing"]) <= paths, root  # (the API's reason)


# -- run graphs' parameters -----------------------------------------------------------------------------------------

def test_a_keras_run_graphs_estimated_parameters_are_each_layers(logdir, truth, client):
    """tf.summary.graph of a concrete function's graph: each variable a resource Placeholder whose `shape` is the
    handle's ([]); the variable's shape is its reader's."""
    found = modules(tree(client, "keras_rg/fwd"))
    for name, count in truth["keras_rg"]["layers"].items():
        node = next(found[n] for n in (name, f"{name}_1") if n in found)  # (Keras names a layer's call scope so)
        assert node["num_params"] == count and node["params_estimated"] is True, (name, node)
    text = footer(logdir, "keras_rg/fwd")
    assert f"Total params: {truth['keras_rg']['params']:,} (estimated" in text, text


def test_a_tf_module_run_graphs_estimated_parameters_are_its_variables(logdir, truth, client):
    """The suite's own run graph (tests/conftest.py's `run_graph`), written again here with its live module."""
    net = modules(tree(client, "module_rg/fwd"))["net"]
    assert net["num_params"] == truth["module_rg"]["params"] and net["params_estimated"] is True, net


def test_a_run_graphs_blocks_are_alike_where_their_variables_shapes_are(truth, client):
    """Structure (the page's folds of blocks alike) compares a run graph's variables by their own shapes: the
    handles' ([]) would make blocks of different widths alike."""
    blocks = truth["blocks_rg"]["blocks"]
    found = modules(tree(client, "blocks_rg/fwd"))
    for name, shapes in blocks.items():
        alike = sorted(n for n, s in blocks.items() if s == shapes)
        repeat = found[name].get("repeat")
        if len(alike) > 1:
            assert repeat == {"key": alike[0], "count": len(alike), "shapes_compared": True}, (name, found[name])
        else:
            assert repeat is None, (name, found[name])
    assert len({json.dumps(s) for s in blocks.values()}) > 1  # (the case in point: blocks alike but for shapes)
