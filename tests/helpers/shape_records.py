"""Records whose costs depend on reading the right shapes, written as users write them, with what the live objects
say (truth.json): python -m tests.helpers.shape_records LOGDIR (tests/test_costs_shapes.py reads it).

Runs written under LOGDIR:
  einsum/train   Keras 3 EinsumDense + Dense trained with `fit` and the ModuleGraph callback (static batch): the
                 broadcasting matmul's gradient sums over axes BroadcastGradientArgs gives (no recorded shape)
  tfk_bn/train   tf_keras Conv2D + BatchNormalization trained the same way: FusedBatchNormGradV3 reads the
                 forward op's reserve spaces (no recorded shape)
  keras_rg/fwd   a Keras 3 functional model's forward tf.function written with tf.summary.graph (a run graph: its
                 variables are resource Placeholders whose `shape` is the handle's)
  module_rg/fwd  the suite's own run graph (tests/helpers/records.py NET_RUN_GRAPH): a tf.Module's concrete function
  blocks_rg/fwd  a run graph of a tf.Module holding three blocks alike but for the last one's width
  masked         a module_graph record of a tf.Module whose ops after a boolean_mask have a data-dependent shape
"""

import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

from tb_module_plugin import ModuleGraph  # noqa: E402

BATCH = 4


def _dataset(x_shape, y_shape, steps=2):
    x = tf.random.stateless_normal([BATCH * steps, *x_shape], seed=[1, 2])
    return tf.data.Dataset.from_tensor_slices((x, tf.ones([BATCH * steps, *y_shape]))).batch(BATCH,
                                                                                             drop_remainder=True)


def einsum(logdir: Path) -> dict:
    import keras

    model = keras.Sequential([keras.Input((6, 8)),
                              keras.layers.EinsumDense("abc,cd->abd", output_shape=(6, 4), bias_axes="d", name="proj"),
                              keras.layers.Flatten(name="flat"), keras.layers.Dense(2, name="head")], name="m")
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    model.fit(_dataset((6, 8), (2,)), epochs=1, verbose=0, callbacks=[ModuleGraph(str(logdir / "einsum"),
                                                                                 profile_batch=0)])
    return {"batch": BATCH, "layers": {
        layer.name: {"kernel": list(layer.kernel.shape), "bias": list(layer.bias.shape),
                     "input": list(layer.input.shape[1:]), "output": list(layer.output.shape[1:])}
        for layer in model.layers if layer.weights}}


def tfk_bn(logdir: Path) -> dict:
    import tf_keras

    layers = tf_keras.layers
    model = tf_keras.Sequential([tf_keras.Input((6, 6, 2)), layers.Conv2D(4, 3, use_bias=False, name="conv"),
                                 layers.BatchNormalization(name="bn"), layers.ReLU(name="relu"),
                                 layers.GlobalAveragePooling2D(name="gap"), layers.Dense(3, name="head")], name="net")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_dataset((6, 6, 2), (3,)), epochs=1, verbose=0, callbacks=[ModuleGraph(str(logdir / "tfk_bn"),
                                                                                    profile_batch=0)])
    return {"batch": BATCH, "layers": {
        layer.name: {"weights": [list(w.shape) for w in layer.weights], "input": list(layer.input.shape[1:]),
                     "output": list(layer.output.shape[1:])} for layer in model.layers}}


def _write_graph(run_dir: Path, graph) -> None:
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        tf.summary.graph(graph)
    writer.close()


def keras_run_graph(logdir: Path) -> dict:
    import keras

    layers = keras.layers
    inputs = keras.Input((8, 8, 3))
    h = layers.BatchNormalization(name="bn")(layers.Conv2D(8, 3, name="conv")(inputs))
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    shared = layers.Dense(16, activation="relu", name="shared")  # (called twice: its variables read twice)
    h = layers.Concatenate(name="cat")([shared(h), shared(h * 2.0)])
    model = keras.Model(inputs, layers.Dense(2, name="head")(h), name="net")
    forward = tf.function(lambda x: model(x, training=False))
    _write_graph(logdir / "keras_rg" / "fwd", forward.get_concrete_function(tf.ones([BATCH, 8, 8, 3])).graph)
    return {"params": model.count_params(),
            "layers": {layer.name: layer.count_params() for layer in model.layers if layer.weights}}


def module_run_graph(logdir: Path) -> dict:
    import textwrap

    from tests.helpers.records import NET_RUN_GRAPH

    made = {"tf": tf}
    exec(textwrap.dedent(NET_RUN_GRAPH), made)  # (the suite's run graph, tests/conftest.py's `run_graph`)
    _write_graph(logdir / "module_rg" / "fwd", made["G"])
    return {"params": sum(math.prod(v.shape) for v in made["NET"].variables)}


def blocks_run_graph(logdir: Path) -> dict:
    class Block(tf.Module):
        def __init__(self, width_in, width_out, name):
            super().__init__(name=name)
            with self.name_scope:
                self.w = tf.Variable(tf.ones([width_in, width_out]), name="w")

        @tf.Module.with_name_scope
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w))

    class Blocks(tf.Module):
        def __init__(self):
            super().__init__(name="blocks")
            with self.name_scope:
                self.blocks = [Block(4, 4, "block_0"), Block(4, 4, "block_1"), Block(4, 3, "block_2")]

        @tf.Module.with_name_scope
        def __call__(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Blocks()
    forward = tf.function(model.__call__)
    _write_graph(logdir / "blocks_rg" / "fwd", forward.get_concrete_function(tf.ones([BATCH, 4])).graph)
    return {"blocks": {b.name: [list(v.shape) for v in b.variables] for b in model.blocks}}


def masked(logdir: Path) -> dict:
    from tb_module_plugin import summary as module_summary

    class Masked(tf.Module):
        @tf.Module.with_name_scope
        def __call__(self, x):
            return tf.exp(tf.boolean_mask(x, x > 0.0))  # (how many elements pass: known only when it runs)

    writer = tf.summary.create_file_writer(str(logdir / "masked"))
    with writer.as_default():
        assert module_summary.module_graph("masked", Masked(name="masked"), tf.ones([BATCH, 3]))
    writer.close()
    return {}


def main(argv=None) -> int:
    logdir = Path((argv or sys.argv[1:])[0])
    logdir.mkdir(parents=True, exist_ok=True)
    truth = {"einsum": einsum(logdir), "tfk_bn": tfk_bn(logdir), "keras_rg": keras_run_graph(logdir),
             "module_rg": module_run_graph(logdir), "masked": masked(logdir),
             "blocks_rg": blocks_run_graph(logdir)}
    (logdir / "truth.json").write_text(json.dumps(truth, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
