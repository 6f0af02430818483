"""The Keras callback (tb_module_plugin.recording.keras.ModuleGraph) on `fit`s under tf.distribute strategies:
MirroredStrategy over two logical CPUs (Keras's generic step, a model's own train_step, tf_keras's generic step),
OneDeviceStrategy and the default strategy. Models are trained by tests/helpers/keras_strategy_fit.py; the
plugin's answers are asked in-process; the layers, their classes and parameters are what the live model said; what
each layer computes is counted here from the live layers' shapes (the plugin's FLOPs: 2 per multiply-add, 1 per
element of a bias add or ReLU, n - 1 per sum of n)."""

from __future__ import annotations

import pytest

from tests.helpers.answers import client_get, make_client, walk
from tests.helpers.processes import ran_helper

pytestmark = pytest.mark.live

RUNS = ("mirrored", "one_device", "default", "mirrored_own", "mirrored_tf_keras")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(logdir, what keras_strategy_fit.py printed)."""
    return ran_helper(tmp_path_factory.mktemp("keras_strategy_fit"), "keras_strategy_fit")


@pytest.fixture(scope="module")
def client(trained):
    return make_client(trained[0])[0]


def tree(client, result, path="", depth=8) -> dict:
    status, answer = client_get(client, "/hierarchy", run=result["run"], tag=result["tag"], path=path, depth=depth,
                                time=1)
    assert status == 200, answer
    return answer["node"]


def modules_of(client, result) -> dict:
    """{attribute path: module node} of the run's record (each path once asserted)."""
    modules = [node for node, _ in walk(tree(client, result)) if node.get("kind") == "module"]
    paths = [node.get("attribute_path") for node in modules]
    assert len(paths) == len(set(paths)), paths
    return dict(zip(paths, modules))


def ops_under(client, result, node) -> list:
    return [op for op, _ in walk(tree(client, result, node["path"])) if op.get("kind") == "op"]


def device_name(device: str) -> str:
    """`CPU:1` of `/job:localhost/replica:0/task:0/device:CPU:1` or `/device:CPU:1`."""
    return device.rpartition("device:")[2]


def forward(node) -> int:
    return node["flops"] - node.get("backward_flops", 0)


@pytest.mark.parametrize("run", RUNS)
def test_a_fit_under_a_strategy_records_each_layer_once(trained, client, run):
    """The callback records the model trained under the strategy, without a warning: each of the live model's
    layers once (its attribute path and class), with its parameters (all and trainable) as the live layer counts
    them, the model's count_params() at the top: a mirrored variable (one copy per replica) counts once."""
    result = trained[1][run]
    assert result["epochs_trained"] == 1 and result["warnings"] == [], result["warnings"]
    modules = modules_of(client, result)
    assert set(modules) == {""} | {layer["path"] for layer in result["layers"]}, sorted(modules)
    for layer in result["layers"]:
        node = modules[layer["path"]]
        assert (node["name"], node["class_name"]) == (layer["name"], layer["class_name"]), node
        assert (node["num_params"], node["num_trainable_params"]) == (layer["params"], layer["trainable"]), node
    root = modules[""]
    assert (root["num_params"], root["num_trainable_params"]) == (result["params"], result["trainable"]), root


@pytest.mark.parametrize("run", ["mirrored", "one_device", "mirrored_own", "mirrored_tf_keras"])
def test_each_replica_runs_its_share_of_the_batch_on_its_device(trained, client, run):
    """Under a strategy the record is the step `fit` runs: each replica's forward MatMul of the first layer on its
    own device (the strategy's devices, each once), on its share of the global batch; the layer's FLOPs are the
    whole batch's, summed over the replicas."""
    result = trained[1][run]
    batch, (inputs, hidden), views = result["batch"], result["body_kernel"], result["views"]
    share = batch // result["replicas"]
    body = modules_of(client, result)[result["layers"][0]["path"]]
    matmuls = [op for op in ops_under(client, result, body)
               if op["op"] == "MatMul" and "/backward/" not in op["path"]]
    assert sorted(device_name(op["device"]) for op in matmuls) == sorted(
        device_name(d) for d in result["devices"] for _ in range(views)), [(op["path"], op["device"]) for op in matmuls]
    assert {op["flops"] for op in matmuls} == {2 * share * inputs * hidden}
    assert forward(body) == views * (2 * batch * inputs * hidden + batch * hidden + batch * hidden)


def test_the_default_strategy_runs_the_whole_batch_in_one_step(trained, client):
    """No strategy scope: one forward pass of the whole batch, as before strategies were recorded."""
    result = trained[1]["default"]
    batch, (inputs, hidden) = result["batch"], result["body_kernel"]
    body = modules_of(client, result)[result["layers"][0]["path"]]
    matmuls = [op for op in ops_under(client, result, body)
               if op["op"] == "MatMul" and "/backward/" not in op["path"]]
    assert [op["flops"] for op in matmuls] == [2 * batch * inputs * hidden]
    assert forward(body) == 2 * batch * inputs * hidden + batch * hidden + batch * hidden


@pytest.mark.parametrize("run", ["mirrored", "mirrored_own", "mirrored_tf_keras"])
def test_each_replicas_ops_are_timed(trained, client, run):
    """The profile of the fit's steps times both replicas' ops: each of the strategy's devices has time in each
    layer (replica 1's ops are the fit's `replica_1/...` ops, matched to the record's)."""
    result = trained[1][run]
    for layer in result["layers"]:
        node = modules_of(client, result)[layer["path"]]
        assert node.get("time_us", 0) > 0, node
        timed = {device_name(op["device"]) for op in ops_under(client, result, node)
                 if op.get("device") and op.get("time_us", 0) > 0}
        assert timed == {device_name(d) for d in result["devices"]}, (layer["name"], timed)


def test_a_models_own_step_under_a_strategy_is_what_is_recorded(trained, client):
    """A model overriding train_step (two forward passes, the head's gradients only) under MirroredStrategy: each
    replica runs it on its share, the optimizer's update is left out as without a strategy (nothing left in its
    place), the head's backward is its kernel's and bias's gradients on each replica, the body has none."""
    result = trained[1]["mirrored_own"]
    assert result["updates_replaced"] == [], result["updates_replaced"]
    batch, (_, hidden), (_, outputs) = result["batch"], result["body_kernel"], result["head_kernel"]
    replicas, views = result["replicas"], result["views"]
    share = batch // replicas
    modules = modules_of(client, result)
    body, head = (modules[layer["path"]] for layer in result["layers"])
    assert forward(head) == views * (2 * batch * hidden * outputs + batch * outputs)
    # (each replica sums its own share's rows for the bias's gradient: n - 1 additions of n rows)
    assert head["backward_flops"] == replicas * views * (2 * share * hidden * outputs + (share - 1) * outputs)
    assert not body.get("backward_flops"), body.get("backward_flops")


def test_a_step_that_cannot_be_traced_under_a_strategy_says_the_strategy_and_what_to_do(trained):
    """A model whose own train_step cannot be traced outside `fit`, under MirroredStrategy: one warning that names
    the strategy and how to record the step by hand in it; no record; training goes on."""
    logdir, results = trained
    result = results["mirrored_untraceable"]
    assert result["epochs_trained"] == 1
    assert len(result["warnings"]) == 1, result["warnings"]
    said = result["warnings"][0]
    assert f"MirroredStrategy ({result['replicas']} replicas)" in said, said
    assert "inside Keras's own functions only" in said and "module_graph(" in said and "strategy.run(" in said, said
    assert not list((logdir / "mirrored_untraceable" / "train").glob("events.out.tfevents.*")), "nothing recorded"
