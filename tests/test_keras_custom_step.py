"""The Keras callback (tb_module_plugin.recording.keras.ModuleGraph) on `fit`s that run something other than Keras's
generic step: a model overriding `train_step` (Keras 3 and tf_keras), one whose step cannot be traced outside
`fit`, and a model compiled with XLA (fits under distribution strategies: test_keras_strategy.py). Models are
trained by tests/helpers/keras_custom_fit.py; the plugin's answers are asked in-process; what each layer computes
is counted here from the live layers' shapes (the plugin's FLOPs: 2 per multiply-add, 1 per element of a bias add
or ReLU, n - 1 per sum of n)."""

from __future__ import annotations

import pytest

from tests.helpers.answers import client_get, make_client, walk
from tests.helpers.processes import ran_helper

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(logdir, what keras_custom_fit.py printed)."""
    return ran_helper(tmp_path_factory.mktemp("keras_custom_fit"), "keras_custom_fit")


@pytest.fixture(scope="module")
def client(trained):
    return make_client(trained[0])[0]


def modules_of(client, result, time=1) -> dict:
    """{module name: its node} of the run's record, as the plugin answers (status 200 asserted)."""
    status, answer = client_get(client, "/hierarchy", run=result["run"], tag=result["tag"], path="", depth=8,
                                time=time)
    assert status == 200, answer
    return {node["name"]: node for node, _ in walk(answer["node"]) if node.get("kind") == "module"}


def shapes(result) -> tuple:
    """(batch, inputs, hidden, outputs) of the live layers."""
    (inputs, hidden), (_, outputs) = result["body_kernel"], result["head_kernel"]
    return result["batch"], inputs, hidden, outputs


def forward(node) -> int:
    return node["flops"] - node.get("backward_flops", 0)


def test_the_callback_tells_a_models_own_step_from_keras_generic_one(trained):
    """Whose step `fit` runs: the models that override train_step (Keras 3, tf_keras, and a model Keras itself
    ships with a step of its own) against Keras's generic step (a subclassed model without the override, a
    Sequential)."""
    results = trained[1]
    found = {run: results[run]["own_step_found"] for run in ("own_step", "gan", "untraceable", "tf_keras",
                                                             "generic_step", "xla")}
    assert found == {"own_step": True, "gan": True, "untraceable": True, "tf_keras": True,
                     "generic_step": False, "xla": False}, found
    assert results["keras_own_models"] == {"SharpnessAwareMinimization": True}


def test_a_models_own_train_step_is_what_is_recorded(trained, client):
    """A model overriding train_step (two forward passes, gradients of the head only): the record holds its step,
    not Keras's generic one: each layer's forward pass twice, and the gradients of the head's variables only."""
    result = trained[1]["own_step"]
    assert result["trained_head_only"] and result["warnings"] == [], result["warnings"]
    assert result["updates_replaced"] == [], result["updates_replaced"]
    views, (b, i, h, o) = result["views"], shapes(result)
    modules = modules_of(client, result)
    body, head = modules["body"], modules["head"]
    assert forward(body) == views * (2 * b * i * h + b * h + b * h)  # MatMul, bias, ReLU per view
    assert forward(head) == views * (2 * b * h * o + b * o)
    # The head's backward: its kernel's and bias's gradients in each view. TensorFlow also builds, in the graph,
    # the gradient w.r.t. the head's input and the body's gradients, which nothing the step returns or updates
    # uses: it never runs them, and the FLOPs leave them out.
    head_gradients = views * (2 * b * h * o + (b - 1) * o)
    assert head["backward_flops"] == head_gradients, head["backward_flops"]
    assert not body.get("backward_flops"), body.get("backward_flops")
    assert body["flops_not_run"] > 0 and head["flops_not_run"] > 0, (body, head)
    # The profiled steps run the recorded step's ops: most of their time is in the model, not outside any module
    # (with Keras's generic step recorded, about a quarter was).
    status, answer = client_get(client, "/hierarchy", run=result["run"], tag=result["tag"], path="", depth=1,
                                time=1)
    assert status == 200, answer
    assert modules["net"]["time_us"] > 0.5 * answer["node"]["time_us"], (modules["net"]["time_us"],
                                                                         answer["node"]["time_us"])


def test_an_own_step_with_optimizers_of_its_own_records_no_update(trained, client):
    """A GAN-like step, each of two optimizers in attributes of the model updating one layer: the record holds
    both passes through both layers and no optimizer (no module beyond the model's layers: an optimizer's
    variables read in the record would make its scope one), and each optimizer's own update is back once the
    record is written."""
    result = trained[1]["gan"]
    assert result["warnings"] == [] and result["epochs_trained"] == 1, result["warnings"]
    assert result["optimizers"] == 3 and result["updates_replaced"] == [], result  # (compile's, d_, g_)
    views, (b, i, h, o) = result["views"], shapes(result)
    modules = modules_of(client, result)
    assert set(modules) == {result["tag"], "body", "head"}, sorted(modules)
    assert forward(modules["body"]) == views * (2 * b * i * h + b * h + b * h)
    assert forward(modules["head"]) == views * (2 * b * h * o + b * o)


def test_a_tf_keras_own_step_is_what_is_recorded(trained, client):
    """tf_keras: a train_step that calls `optimizer.minimize` on the head's variables: one forward pass, the head's
    gradients, no optimizer in the record."""
    result = trained[1]["tf_keras"]
    assert result["trained_head_only"] and result["warnings"] == [], result["warnings"]
    assert result["updates_replaced"] == [], result["updates_replaced"]
    b, i, h, o = shapes(result)
    modules = modules_of(client, result)
    assert set(modules) == {result["tag"], "body", "head"}, sorted(modules)
    assert forward(modules["body"]) == 2 * b * i * h + b * h + b * h
    assert forward(modules["head"]) == 2 * b * h * o + b * o
    assert modules["head"]["backward_flops"] == 2 * b * h * o + (b - 1) * o  # (its input's gradient never runs)


def test_keras_generic_step_is_recorded_as_before(trained, client):
    """The same model without the override: one forward pass, and gradients of every trainable variable (the
    body's gradient needs the one w.r.t. the head's input: every gradient op runs)."""
    result = trained[1]["generic_step"]
    assert result["warnings"] == [], result["warnings"]
    b, i, h, o = shapes(result)
    modules = modules_of(client, result)
    body, head = modules["body"], modules["head"]
    assert forward(body) == 2 * b * i * h + b * h + b * h
    assert forward(head) == 2 * b * h * o + b * o
    # (the body's backward: its kernel's and bias's gradients and its ReLU's, `ReluGrad`, one per element)
    assert body["backward_flops"] == 2 * b * i * h + (b - 1) * h + b * h
    assert head["backward_flops"] == 2 * b * h * o + (b - 1) * o + 2 * b * o * h


def test_an_own_step_that_cannot_be_traced_warns_once_and_records_nothing(trained):
    """Keras's generic step would be a step the model never runs: no record, one warning saying why and what to do
    instead; training goes on."""
    logdir, results = trained
    result = results["untraceable"]
    assert result["epochs_trained"] == 1
    assert len(result["warnings"]) == 1, result["warnings"]
    said = result["warnings"][0]
    assert "overrides train_step" in said and "this step runs inside Keras's own functions only" in said, said
    assert "module_graph(" in said and "No record is written" in said, said
    assert "in user code" not in said, said  # (the error itself, not TensorFlow's listing of the code it ran)
    assert not list((logdir / "untraceable" / "train").glob("events.out.tfevents.*")), "nothing recorded"


def test_an_xla_fit_is_said_to_leave_no_time_per_op(trained, client):
    """A model compiled with jit_compile=True: the callback says at fit time that XLA leaves no time per op and
    what to do; the record is written (FLOPs known); asking for time names XLA, not the way it was profiled."""
    logdir, results = trained
    result = results["xla"]
    assert result["jit_compile"] is True
    assert len(result["warnings"]) == 1, result["warnings"]
    said = result["warnings"][0]
    assert "XLA" in said and "jit_compile=False" in said and "profile_batch=0" in said, said
    b, i, h, o = shapes(result)
    modules = modules_of(client, result, time=0)
    assert forward(modules["body"]) == 2 * b * i * h + b * h + b * h
    status, answer = client_get(client, "/hierarchy", run=result["run"], tag=result["tag"], path="", depth=1,
                                time=1)
    assert 400 <= status < 500 and "XLA" in answer["error"] and "jit_compile=False" in answer["error"], answer
    assert "profile a call of the function" not in answer["error"], answer


def test_an_xla_profile_is_read_as_xlas(trained):
    """The XLA fit's profile: its executable's events are counted as XLA's, and its thunks' end markers
    (`end: copy.2`) are no op runs."""
    from tb_module_plugin.readers import profiles
    from tb_module_plugin.errors import ProfileError

    logdir, results = trained
    files = profiles.profile_files(str(logdir), results["xla"]["run"])
    assert files
    try:
        op_times = profiles.read_op_times(files)
    except ProfileError as e:  # (no op event at all: the reader names XLA itself)
        assert "XLA" in str(e), e
        return
    assert op_times.xla_events > 0
    assert "end" not in op_times.total_ps, sorted(op_times.total_ps)
