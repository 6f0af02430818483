"""A module record's tree lists a model's layers in the model's own order (`model.layers`, what `model.summary()`
lists) and a tf.Module's children in the order their attributes were assigned, where data flow does not decide:
records written by real TensorFlow, Keras 3 and tf_keras, the order taken from the live objects."""

from __future__ import annotations

import pytest

from tests.helpers.answers import client_get as get
from tb_module_plugin import summary as module_summary

from tests.helpers.traces import tf
from tb_module_plugin.build.module_record import build_module_hierarchy
from tb_module_plugin.serve import answers as answers_lib

LIVE = {}  # run -> the live root object (set by the fixture)


def functional(keras):
    """An Embedding named `tokens` and a Dropout named `drop` (no ops at inference) among the layers: a tree in the
    graph's order listed `drop` (and the input layer) last."""
    inputs = keras.Input((5,), dtype="int32", name="ids")
    x = keras.layers.Embedding(20, 8, name="tokens")(inputs)
    x = keras.layers.Dense(8, activation="relu", name="proj")(x)
    x = keras.layers.Dropout(0.1, name="drop")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(x), name="clf")


def subclassed(keras):
    """Layers tracked in the order they are assigned (not alphabetical: `tokens` first, `head` last), one of them
    (`spare`) never called."""

    class Classifier(keras.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.tokens = keras.layers.Embedding(20, 8, name="tokens")
            self.blocks = [keras.layers.Dense(8, activation="relu", name=f"block_{i}") for i in range(2)]
            self.spare = keras.layers.Dense(8, name="spare")  # built, never called: it makes no op
            self.drop = keras.layers.Dropout(0.1, name="drop")
            self.pool = keras.layers.GlobalAveragePooling1D(name="pool")
            self.head = keras.layers.Dense(3, name="head")

        def call(self, ids):
            x = self.tokens(ids)
            for block in self.blocks:
                x = block(x)
            return self.head(self.pool(self.drop(x)))

    model = Classifier()
    model(tf.ones([2, 5], tf.int32))
    model.spare.build((None, 5, 8))
    return model


class Dense(tf.Module):
    def __init__(self, n, name):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(tf.ones([n, n]), name="w")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return tf.matmul(x, self.w)


class Net(tf.Module):
    """`head` assigned before the `encoder` it takes tensors from; `zeta` and `alpha` take only the input, and are
    called in another order than assigned (the graph's order)."""

    def __init__(self):
        super().__init__(name="net")
        with self.name_scope:
            self.zeta = Dense(3, "zeta")
            self.head = Dense(3, "head")
            self.alpha = Dense(3, "alpha")
            self.encoder = Dense(3, "encoder")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return self.alpha(x) + self.zeta(x) + self.head(self.encoder(x))  # (not in the order assigned)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    import keras
    import tf_keras

    logdir = tmp_path_factory.mktemp("record_order")
    ids = tf.ones([2, 5], tf.int32)
    roots = {"keras3_functional": (functional(keras), ids), "tf_keras_functional": (functional(tf_keras), ids),
             "keras3_subclassed": (subclassed(keras), ids), "tf_keras_subclassed": (subclassed(tf_keras), ids),
             "module": (Net(), tf.ones([1, 3]))}
    for run, (root, example) in roots.items():
        writer = tf.summary.create_file_writer(str(logdir / run))
        with writer.as_default():
            assert module_summary.module_graph("model", root, example) is True
        writer.close()
        LIVE[run] = root
    return logdir


def node(client, run, path):
    status, body = get(client, "/hierarchy", run=run, tag="model", path=path, depth=1)
    assert status == 200, body
    return body["node"]


@pytest.mark.parametrize("run", ["keras3_functional", "tf_keras_functional", "keras3_subclassed",
                                 "tf_keras_subclassed"])
def test_a_models_layers_in_the_models_own_order(client, run):
    model = LIVE[run]
    answer = node(client, run, model.name)
    listed = [c["name"] for c in answer["children"] if c["kind"] == "module"]
    expected = [layer.name for layer in model.layers]  # what model.summary() lists
    assert listed == expected, (listed, expected)
    # The test tells the model's order from the others it could be confused with: names sorted, and the graph's
    # order (an input layer, an unused layer, Keras 3's Dropout at inference make no op: the graph alone would
    # place them after every layer with ops).
    assert sorted(expected) != expected
    opless = [c["name"] for c in answer["children"] if c["kind"] == "module" and c["num_ops"] == 0]
    assert opless and opless[0] != expected[-1], (opless, expected)
    # Data flows along the listing: no edge between two layers goes back up the list.
    for edge in answer["edges"]:
        a, b = edge["from"].rsplit("/", 1)[-1], edge["to"].rsplit("/", 1)[-1]
        if a in listed and b in listed and not edge["control"]:
            assert listed.index(a) < listed.index(b), (a, b, listed)


def test_a_modules_children_by_data_flow_then_as_assigned(client):
    net = LIVE["module"]
    assigned = [value.name for value in vars(net).values() if isinstance(value, tf.Module)]
    answer = node(client, "module", net.name)
    listed = [c["name"] for c in answer["children"] if c["kind"] == "module"]
    assert sorted(listed) == sorted(assigned)
    flows = {(e["from"].rsplit("/", 1)[-1], e["to"].rsplit("/", 1)[-1]) for e in answer["edges"] if not e["control"]}
    flows = {(a, b) for a, b in flows if a in listed and b in listed}  # (between two of its modules)
    assert flows, "the test holds no edge between children to order by"
    # Where data flows, it decides: the encoder is listed before the head that takes its output, though the head
    # was assigned first.
    for a, b in flows:
        assert listed.index(a) < listed.index(b), (a, b, listed)
        assert assigned.index(a) > assigned.index(b), "the test needs a pair whose assignment order differs"
    joined = {name for pair in flows for name in pair}
    # Where it does not, the order of assignment (not the alphabetical order tf.Module._flatten walks).
    free = [name for name in assigned if name not in joined]
    assert len(free) >= 2 and sorted(free) != free, free
    assert [name for name in listed if name in free] == free, (listed, free)


def test_the_recorded_order_is_the_one_listed():
    """The tab lists by the manifest's `order` (the writer's word), and a record without it (an older writer's,
    which listed children in their order already) by the modules' own order in the record."""
    import json

    from tb_module_plugin.readers import manifest as manifest_lib

    net = Net()
    written, concrete = module_summary.trace_record(tf, net, None, (tf.ones([1, 3]),), {})
    graph_def = concrete.graph.as_graph_def(add_shapes=True)

    def listed(record):
        parsed = manifest_lib.parse_manifest(json.dumps(record).encode("utf-8"))
        tree = build_module_hierarchy(parsed, graph_def, [], "model")
        return [c["name"] for c in answers_lib.node_json(tree, net.name, 1)["children"] if c["kind"] == "module"]

    children = [m for m in written["modules"] if m["parent"] == 0]
    assert [m["order"] for m in children] == sorted(m["order"] for m in children)
    as_written = listed(written)
    without = json.loads(json.dumps(written))
    for module in without["modules"]:
        del module["order"]
    assert listed(without) == as_written
    # Orders reversed: the children no edge orders (`zeta`, `alpha`) come the other way round; `encoder` still
    # before the `head` that takes its output.
    reversed_ = json.loads(json.dumps(written))
    for module in reversed_["modules"]:
        if module["parent"] == 0:
            module["order"] = -module["order"]
    assigned = [value.name for value in vars(net).values() if isinstance(value, tf.Module)]
    first, then = net.encoder.name, net.head.name  # (the head takes the encoder's output)
    free = [n for n in assigned if n not in (first, then)]
    again = listed(reversed_)
    assert [n for n in again if n in free] == free[::-1], again
    assert again.index(first) < again.index(then), again
