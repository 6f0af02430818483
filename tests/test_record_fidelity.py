"""module_graph records whose objects change or are not modules, and the `summary` table over real records and
traces: every count here is the live objects' after the record, every name the graph's."""

from __future__ import annotations

import math
import re

import pytest

from tests.helpers.answers import client_get as get
from tests.helpers import corpus
from tests.helpers.answers import make_client, walk
from tests.helpers.traces import tf
from tests.helpers.truth import counts
from tests.test_module_records import cli, table_rows, write
from tb_module_plugin import summary as module_summary

pytestmark = pytest.mark.live

LIVE = {}  # run -> {name in the tab: the live object}, filled once the record is written
BATCH = 2


def _keras_model():
    import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.d1 = keras.layers.Dense(8, name="d1")
            self.d2 = keras.layers.Dense(2, name="d2")

        def call(self, x):
            return self.d2(self.d1(x))

    return Net()


def _builds_a_sublayer():
    """A model whose layer makes a sublayer in its `build`: the first call makes a module as well as variables."""
    import keras

    class Scaled(keras.layers.Layer):
        def build(self, input_shape):
            self.inner = keras.layers.Dense(3, name="inner")
            self.scale = self.add_weight(shape=(3,), name="scale")

        def call(self, x):
            return self.inner(x) * self.scale

    class Outer(keras.Model):
        def __init__(self):
            super().__init__(name="outer")
            self.scaled = Scaled(name="scaled")

        def call(self, x):
            return self.scaled(x)

    return Outer()


def _mapped_model():
    import keras

    class Mapped(keras.Model):
        def __init__(self):
            super().__init__(name="mapped")
            self.enc = keras.layers.Dense(4, name="enc")

        def call(self, xs):
            return tf.map_fn(self.enc, xs)  # (on each element: the layer's ops in the loop's body)

    return Mapped()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    import keras
    import sonnet as snt

    logdir = tmp_path_factory.mktemp("fidelity")
    x = tf.ones([BATCH, 5])
    net = _keras_model()
    assert not net.weights  # (unbuilt: its first call, the record's trace, makes them)
    write(logdir, "keras_unbuilt", "model", net, x)
    LIVE["keras_unbuilt"] = {"net": net, "d1": net.d1, "d2": net.d2}
    seq = snt.Sequential([snt.Linear(8, name="l1"), snt.Linear(2, name="l2")], name="snet")
    assert not tf.Module.variables.fget(seq)  # (Sonnet's own property refuses a module with none yet)
    write(logdir, "sonnet", "model", seq, x)
    LIVE["sonnet"] = {"snet": seq, "l1": seq._layers[0], "l2": seq._layers[1]}
    outer = _builds_a_sublayer()
    write(logdir, "sublayer", "model", outer, x)
    LIVE["sublayer"] = {"outer": outer, "scaled": outer.scaled, "inner": outer.scaled.inner}

    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(2, name="b")],
                             name="seq")
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    loss = keras.losses.MeanSquaredError()

    write(logdir, "step", "step", model, x, tf.ones([BATCH, 2]), fn=corpus.train_step(model, loss, optimizer))
    LIVE["step"] = {"seq": model, "optimizer": optimizer}

    mapped = _mapped_model()
    xs = tf.ones([3, BATCH, 5])
    mapped(xs)
    traced = tf.function(lambda a: mapped(a))
    writer = tf.summary.create_file_writer(str(logdir / "map_fn"))
    tf.summary.trace_on(graph=True)
    traced(xs)
    with writer.as_default():
        tf.summary.trace_export("fwd", step=0)
    writer.close()
    LIVE["map_fn"] = {"mapped": mapped}
    return logdir


def _modules(client, run, tag) -> dict:
    """{name: node} of every module of a record's tree."""
    root = get(client, "/hierarchy", run=run, tag=tag, depth=8)[1]["node"]
    return {n["name"]: n for n, _ in walk(root) if n["kind"] == "module"}


@pytest.mark.parametrize("run", ["keras_unbuilt", "sonnet"])
def test_variables_made_by_the_first_call_are_counted(client, logdir, run):
    """An unbuilt Keras 3 subclassed model and a Sonnet Sequential make their variables on their first call,
    which is the record's own trace: each module's parameters are the live object's after it (once "0")."""
    modules = _modules(client, run, "model")
    for name, obj in LIVE[run].items():
        params, trainable = counts(obj)
        assert params > 0
        assert (modules[name]["num_params"], modules[name]["num_trainable_params"]) == (params, trainable), name
    code, out, _ = cli("summary", logdir, "--run", run)
    root = next(iter(LIVE[run].values()))
    assert code == 0 and f"Total params: {counts(root)[0]}" in out


def test_a_sublayer_made_by_build_is_a_module_with_its_ops(client):
    """A layer whose `build` makes a sublayer: after the record's first call the sublayer exists, and the record
    holds it (its parameters as the live object counts them) with the ops its call made, as the record says
    (the calls of a module made during the trace were not watched: the record traces again)."""
    modules = _modules(client, "sublayer", "model")
    for name, obj in LIVE["sublayer"].items():
        assert modules[name]["num_params"] == counts(obj)[0], name
    op_types = {n.get("op") for n, _ in walk(get(client, "/hierarchy", run="sublayer", tag="model",
                                                 path=_path_of(client, "sublayer", "inner"), depth=4)[1]["node"])}
    assert "MatMul" in op_types, op_types
    outer = _builds_a_sublayer()
    manifest, concrete = module_summary.trace_record(tf, outer, None, (tf.ones([BATCH, 5]),), {})
    inner = next(m for m in manifest["modules"] if m["path"] == "scaled.inner")
    made = {concrete.graph.get_operation_by_name(name).type for name in inner.get("calls", {}).get("", [])}
    assert "MatMul" in made, inner
    assert sum(math.prod(manifest["variables"][v]["shape"]) for v in inner["variables"]) == counts(
        outer.scaled.inner)[0]


def _path_of(client, run, name) -> str:
    root = get(client, "/hierarchy", run=run, tag="model", depth=8)[1]["node"]
    return next(n["path"] for n, _ in walk(root) if n["kind"] == "module" and n["name"] == name)


def test_a_loaded_savedmodel_is_refused_and_its_directory_recorded(tmp_path):
    """`tf.saved_model.load` gives `_UserObject`s, no module: module_graph says so (it once wrote one module of
    0 parameters) and names the `savedmodel` command, whose record counts the loaded object's variables."""
    from tests.test_module_records import Dense

    class Net(tf.Module):
        def __init__(self):
            super().__init__(name="net")
            with self.name_scope:
                self.l1, self.l2 = Dense(6, 10, name="l1"), Dense(10, 3, name="l2")

        @tf.function(input_signature=[tf.TensorSpec([4, 6])])
        def __call__(self, x):
            return self.l2(self.l1(x))

    saved = tmp_path / "saved"
    tf.saved_model.save(Net(), str(saved))
    loaded = tf.saved_model.load(str(saved))
    writer = tf.summary.create_file_writer(str(tmp_path / "logs" / "loaded"))
    with writer.as_default(), pytest.raises(ValueError) as refused:
        module_summary.module_graph("model", loaded, tf.ones([4, 6]), fn=loaded.__call__)
    writer.close()
    assert "python -m tb_module_plugin savedmodel" in str(refused.value)
    assert "_UserObject" in str(refused.value)
    variables = {id(o): o for o in tf.train.TrackableView(loaded).descendants() if isinstance(o, tf.Variable)}
    assert variables
    assert module_summary.savedmodel_record(str(saved), str(tmp_path / "logs" / "imported"))
    client = make_client(tmp_path / "logs")[0]
    root = get(client, "/hierarchy", run="imported", tag="savedmodel", depth=1)[1]["node"]
    model = next(c for c in root["children"] if c["kind"] == "module")
    assert model["num_params"] == sum(math.prod(v.shape) for v in variables.values())


def test_a_training_steps_footer_counts_the_model_and_names_the_optimizer(client, logdir):
    """A record of a step that updates the model with an optimizer: the optimizer's variables make a top-level
    module the record does not describe. The totals are the model's (count_params(), as model.summary() says)
    and the footer names that module, instead of "unknown ... write it with module_graph"."""
    model = LIVE["step"]["seq"]
    code, out, _ = cli("summary", logdir, "--run", "step")
    assert code == 0
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    for line in (f"Total params: {model.count_params():,}", f"Trainable params: {trainable:,}",
                 f"Non-trainable params: {model.count_params() - trainable:,}"):
        assert line in out, out
    assert "unknown" not in out.split("Total params")[1].split("\n")[0]
    named = re.search(r"^Not counted: (.+?) \(", out, re.M)
    assert named, out
    rows = table_rows(out)
    for name in named[1].split(", "):
        assert rows[name]["params"] == "?" and name != model.name  # a module without a count, not the model
    optimizer_scopes = {v.path.split("/")[0] for v in LIVE["step"]["optimizer"].variables}
    assert set(named[1].split(", ")) <= {s.lower() for s in optimizer_scopes} | optimizer_scopes, (named[1],
                                                                                                  optimizer_scopes)


def test_the_table_lists_a_module_below_a_plain_scope(client, logdir):
    """A trace of a layer applied with tf.map_fn: the layer is a module inside the loop's body, plain scopes
    below the model's row. The table lists it, one level below that row, named by its path from there."""
    root = get(client, "/hierarchy", run="map_fn", tag="fwd", depth=8)[1]["node"]
    below_scope = [(n, parents) for n, parents in walk(root) if n["kind"] == "module"
                   and any(p["kind"] != "module" for p in parents[2:])]
    assert below_scope, "no module below a plain scope in the trace"
    _, out, _ = cli("summary", logdir, "--run", "map_fn", "--depth", "8")
    lines = out.splitlines()
    for node, parents in below_scope:
        rows = [parents[1]] + [p for p in parents[2:] if p["kind"] == "module"]  # (top-level groups are rows)
        label = "  " * len(rows) + node["path"][len(rows[-1]["path"]) + 1:]
        assert any(line.startswith(label + " ") for line in lines), (label, out)
