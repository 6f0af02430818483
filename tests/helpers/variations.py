"""The everyday variations of real code, recorded as users write them, with what their live objects say.

    python -m tests.helpers.variations LOGDIR [--only NAME ...]

Like tests/helpers/corpus.py (whose writers and Truth it uses): a Keras 3 model whose name holds `-` and `.`, Keras's
EfficientNetV2B0 application (named `efficientnetv2-b0`), a Sonnet ResNet (whose BatchNorm modules are named
`batchnorm_N`, like tf.nn.batch_normalization's helper scope), a tf_keras LSTM and a Keras model trained under
tf.distribute.MirroredStrategy over two logical CPU devices; each as a training-step trace and a `module_graph`
record, the truth into LOGDIR/truth.json. Nothing is downloaded (weights=None).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers import corpus  # (sets TensorFlow's logging up before importing it)
from tests.helpers.truth import Truth, own_variables

import tensorflow as tf  # noqa: E402,I001

REPLICAS = 2


def _handles(variable) -> list:
    """The resource handles of a variable: one, or a mirrored variable's one per device."""
    inner = getattr(variable, "value", None)
    tf_variable = inner if inner is not None and hasattr(inner, "handle") else variable
    components = getattr(tf_variable, "values", None)
    return [c.handle for c in components] if isinstance(components, (list, tuple)) else [tf_variable.handle]


def with_arguments(entry: dict, root, fn, args) -> dict:
    """Each variable of a trace's truth with `args`: the names of the traced function's arguments its handles
    became, as the concrete function's own FunctionDef names them (never rebuilt from a scope name)."""
    concrete = fn.get_concrete_function(*args)
    arg_names = [a.name for a in concrete.function_def.signature.input_arg]
    position = {id(t): i for i, t in enumerate(concrete.graph.inputs)}
    internal = {id(external): position[id(placeholder)] for external, placeholder in concrete.graph.captures}
    truth = Truth(root)  # (the same walk as the entry's: the same indices)
    for module in entry["modules"]:
        own = own_variables(truth.objects[module["index"]], state=True)
        assert len(own) == len(module["own_state"])
        for record, variable in zip(module["own_state"], own):
            record["args"] = [arg_names[internal[id(h)]] for h in _handles(variable) if id(h) in internal]
    return entry


def _logical_cpus() -> None:
    """Two logical CPU devices for MirroredStrategy: possible only before TensorFlow initializes its devices."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)


def _hyphen_net(keras):
    inputs = keras.Input((6,), name="features")
    x = keras.layers.Dense(8, activation="relu", name="hidden-1")(inputs)
    x = keras.layers.BatchNormalization(name="norm.a")(x)
    y = keras.layers.Dense(3, name="head>out")(x)
    return keras.Model(inputs, y, name="hyphen-net.v2")


def hyphen_net(logdir: Path) -> list:
    import keras

    model = _hyphen_net(keras)
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    step = corpus.train_step(model, keras.losses.MeanSquaredError(), optimizer)
    args = (tf.ones([4, 6]), tf.ones([4, 3]))
    trace = with_arguments(corpus.trace_truth(logdir, "hyphen_net", model, step, args, extra_roots=[optimizer]),
                           model, step, args)
    record = corpus.write_record(logdir, "hyphen_net", _hyphen_net(keras), (tf.ones([2, 6]),))
    return [trace, record]


def efficientnetv2(logdir: Path) -> list:
    import keras

    def build():
        return keras.applications.EfficientNetV2B0(weights=None, input_shape=(32, 32, 3), classes=3)

    model = build()
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    step = corpus.train_step(model, keras.losses.SparseCategoricalCrossentropy(), optimizer)
    images, labels = tf.random.uniform([2, 32, 32, 3], seed=3), tf.constant([0, 2], tf.int64)
    trace = with_arguments(corpus.trace_truth(logdir, "efficientnetv2", model, step, (images, labels),
                                              extra_roots=[optimizer]), model, step, (images, labels))
    record = corpus.write_record(logdir, "efficientnetv2", build(), (tf.ones([1, 32, 32, 3]),))
    return [trace, record]


def _sonnet_resnet():
    import sonnet as snt

    return snt.nets.ResNet([1, 1, 1, 1], num_classes=3, channels_per_group_list=(4, 8, 8, 8), name="resnet")


def sonnet_resnet(logdir: Path) -> list:
    images = tf.ones([2, 16, 16, 3])
    net = _sonnet_resnet()
    net(images, is_training=True)  # Sonnet creates its variables on the first call
    step = tf.function(lambda x: net(x, is_training=True))
    trace = with_arguments(corpus.trace_truth(logdir, "sonnet_resnet", net, step, (images,)), net, step, (images,))
    net = _sonnet_resnet()
    net(images, is_training=True)
    record = corpus.write_record(logdir, "sonnet_resnet", net, (images,), kwargs={"is_training": True})
    return [trace, record]


def _lstm_net(tf_keras):
    return tf_keras.Sequential([tf_keras.Input((5, 4)), tf_keras.layers.LSTM(6, name="lstm"),
                                tf_keras.layers.Dense(3, name="out")], name="lstm_net")


def tf_keras_lstm(logdir: Path) -> list:
    """tf_keras reads an LSTM's weights in scopes of their own (`lstm/Read`, `Read_1`...) that use them nowhere."""
    import tf_keras

    model = _lstm_net(tf_keras)
    optimizer = tf_keras.optimizers.SGD(0.01)
    step = corpus.train_step(model, tf_keras.losses.MeanSquaredError(), optimizer)
    args = (tf.ones([2, 5, 4]), tf.ones([2, 3]))
    trace = with_arguments(corpus.trace_truth(logdir, "tf_keras_lstm", model, step, args, extra_roots=[optimizer]),
                           model, step, args)
    record = corpus.write_record(logdir, "tf_keras_lstm", _lstm_net(tf_keras), (tf.ones([2, 5, 4]),))
    return [trace, record]


def _mirrored_mlp(keras):
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                             keras.layers.Dense(3, name="out")], name="mirrored_mlp")


def mirrored(logdir: Path) -> list:
    """A distributed training step as tf.distribute's guide writes one: strategy.run of a replica step."""
    import keras

    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])
    with strategy.scope():
        model = _mirrored_mlp(keras)
        optimizer = keras.optimizers.SGD(0.01)
        optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.MeanSquaredError(reduction="sum")

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True)) / 8.0
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def step(x, y):
        losses = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    x, y = tf.ones([8, 6]), tf.ones([8, 3])
    trace = with_arguments(corpus.trace_truth(logdir, "mirrored", model, step, (x, y), extra_roots=[optimizer]),
                           model, step, (x, y))
    trace["replicas"] = REPLICAS
    record = corpus.write_record(logdir, "mirrored", model, (x, y), fn=step)
    record["replicas"] = REPLICAS
    return [trace, record]


MODELS = {
    "hyphen_net": hyphen_net,
    "efficientnetv2": efficientnetv2,
    "sonnet_resnet": sonnet_resnet,
    "mirrored": mirrored,
    "tf_keras_lstm": tf_keras_lstm,
}


def main(argv=None) -> int:
    _logical_cpus()
    return corpus.main(argv, MODELS)


if __name__ == "__main__":
    sys.exit(main())
