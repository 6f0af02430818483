"""In `module_graph` records (a hand-written step, the Keras callback's), each layer's gradient ops are in its
backward group where TensorFlow names them after one of the layer's scopes rather than a forward op
(BatchNormalization's `moments` gradient, a ReLU layer's and `activation=`'s `ReluGrad`, the attention core's
`einsum` gradients): a record's tree is named after the objects (`cnn/bn`) while its ops keep TensorFlow's scopes
(`cnn_1/bn_1`). Truth from tests/helpers/scoped_gradients.py: each layer's scope noted by its own call in the
graph TensorFlow traced, that graph's gradient ops under it, and the profile's op events."""

import json

import pytest

from tests.helpers.answers import client_get, make_client
from tests.helpers.compare_models import load
from tests.helpers.processes import REPO, cache_key, cached_logdir, run_python
from tests.helpers.profiled import op_events
from tb_module_plugin.tree.hierarchy import ops_under

RUNS = ["cnn_train", "cnn_step", "attn_train"]
HELPERS = REPO / "tests" / "helpers"


@pytest.fixture(scope="module")
def written():
    recording = REPO / "tb_module_plugin" / "recording"
    key = cache_key([HELPERS / "scoped_gradients.py", HELPERS / "truth.py"]
                    + [recording / f for f in ("summary.py", "module_tree.py", "calls.py", "keras.py",
                                               "keras_steps.py")], ("tensorflow-cpu", "tensorflow", "keras"))
    logdir = cached_logdir("scoped_gradients", key, lambda tmp: run_python(
        ["-m", "tests.helpers.scoped_gradients", str(tmp)], timeout=600))
    return logdir, json.loads((logdir / "truth.json").read_text())


@pytest.fixture(scope="module")
def hierarchies(written):
    logdir, truth = written
    return {name: load(logdir, truth[name]["run"], truth[name]["tag"]) for name in RUNS}


def nearest_module(node):
    while node is not None and node.kind != "module":
        node = node.parent
    return node


def in_backward(node) -> bool:
    while node is not None and node.kind != "module":
        if node.role == "backward":
            return True
        node = node.parent
    return False


@pytest.mark.parametrize("name", RUNS)
def test_each_layers_gradient_ops_are_in_its_backward_group(written, hierarchies, name):
    """Every gradient op TensorFlow put under a layer's scope (the innermost: an attention's `query` has its own)
    is in that layer's backward group, BatchNormalization's `moments` and the `ReluGrad`s among them."""
    _, truth = written
    hierarchy = hierarchies[name]
    ops = {op.op_name: op for op in ops_under(hierarchy.root)}
    for path, names in truth[name]["gradients"].items():
        module = hierarchy.find(path)
        assert module is not None and module.kind == "module", path
        assert names, path  # (the traced graph holds the layer's gradients)
        assert set(names) <= set(ops), (path, sorted(set(names) - set(ops)))  # (the record holds them)
        misplaced = [(n, nearest_module(ops[n]).path if nearest_module(ops[n]) else None) for n in names
                     if nearest_module(ops[n]) is not module or not in_backward(ops[n])]
        assert not misplaced, (path, misplaced)
    kinds = {ops[n].type for names in truth[name]["gradients"].values() for n in names}
    assert "ReluGrad" in kinds or "Einsum" in kinds, kinds  # (the gradients named after a scope, not an op)


@pytest.mark.parametrize("name", RUNS)
def test_the_losss_gradient_stays_outside_the_modules(written, hierarchies, name):
    _, truth = written
    hierarchy = hierarchies[name]
    ops = {op.op_name: op for op in ops_under(hierarchy.root)}
    loss = truth[name]["loss_gradients"]
    assert loss and set(loss) <= set(ops)
    assert [n for n in loss if nearest_module(ops[n]) is not None] == []


@pytest.mark.parametrize("name,layer", [("cnn_train", "cnn/bn"), ("cnn_train", "cnn/relu"),
                                        ("attn_train", "attn/mha")])
def test_a_layers_profiled_backward_time_is_its_gradient_ops(written, name, layer):
    """Through the plugin's own routes: the layer's backward time is the profile's time per step of its gradient
    ops and its sub-layers' (the `moments` gradient is most of BatchNormalization's)."""
    logdir, truth = written
    events, steps = op_events(logdir / truth[name]["run"])
    # (a layer's backward holds its sub-layers': an attention's `query`...)
    own = [n for path, names in truth[name]["gradients"].items() if path == layer or path.startswith(layer + "/")
           for n in names]
    # `fit` runs the traced training function through a call (`StatefulPartitionedCall/`): its ops' events are named
    # below that call.
    prefixes = {event[:len(event) - len(n)] for n in own for event in events
                if event == n or event.endswith("/" + n)}
    assert len(prefixes) == 1, prefixes
    prefix = prefixes.pop()
    names = [prefix + n for n in own if prefix + n in events]
    assert names, layer
    want = sum(events[n][1] for n in names) / steps / 1e6  # (picoseconds over the profiled steps: µs per step)
    client, _ = make_client(logdir)
    status, body = client_get(client, "/hierarchy", run=truth[name]["run"], tag=truth[name]["tag"], path=layer,
                              depth=1, time=1)
    assert status == 200, body
    assert body["node"]["backward_time_us"] == pytest.approx(want, rel=0.01, abs=0.01), (layer, names)
