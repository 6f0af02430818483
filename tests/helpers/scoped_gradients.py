"""Train two tiny Keras 3 models whose layers' gradient ops TensorFlow names after the layers' scopes, not after a
forward op (BatchNormalization's `moments`, a ReLU layer's and `activation=`'s `ReluGrad`, the attention's core),
and print what the graphs TensorFlow traced say (tests/test_backward_of_scopes.py reads it). Run in a subprocess:
python -m tests.helpers.scoped_gradients LOGDIR.

Runs written under LOGDIR:
  cnn/train   Conv2D conv -> BatchNormalization bn -> ReLU relu -> Conv2D(relu) c2, `fit` with the callback, profiled
  cnn/step    the same model's hand-written step recorded with `module_graph(..., fn=step)`
  attn/train  MultiHeadAttention mha -> LayerNormalization ln -> Dense head in a subclassed model, `fit` with the
              callback, profiled

Each layer's call records the name scope TensorFlow gives it in the graph being traced (`cnn_1/bn_1`), so the
truth of each layer's gradient ops (`gradient_tape/cnn_1/bn_1/moments/sub`) comes from the traced graph's ops and
the live layers, never from the plugin.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

from tests.helpers.truth import keras_sublayers  # noqa: E402
from tb_module_plugin import ModuleGraph  # noqa: E402
from tb_module_plugin import summary as module_summary  # noqa: E402

BATCH, STEPS = 8, 8
PROFILE = (3, 5)
TAPE = "gradient_tape/"


def watch(model) -> tuple:
    """Make each layer under `model` note (graph, its name scope) on every call; returns ({id(layer): its path in
    the tab}, the notes)."""
    paths, notes = {}, []

    def visit(layer, path):
        paths[id(layer)] = path
        call = layer.call

        def noting(*args, **kwargs):
            notes.append((id(layer), tf.compat.v1.get_default_graph(), tf.get_current_name_scope()))
            return call(*args, **kwargs)

        layer.call = noting
        for child in keras_sublayers(layer):
            visit(child, f"{path}/{child.name}")

    for layer in keras_sublayers(model):
        visit(layer, f"{model.name}/{layer.name}")
    return paths, notes


def gradients_by_layer(graph, paths, notes) -> tuple:
    """({layer path: the names of `graph`'s gradient ops under its scope in `graph`, not under a layer inside it},
    the names of its gradient ops outside the model's scope, the scope its layers' scopes are in: the loss's)."""
    scopes = {scope: paths[layer] for layer, g, scope in notes if g is graph}
    model_scope = os.path.commonpath(list(scopes))
    found, loss = {path: [] for path in scopes.values()}, []
    for op in graph.get_operations():
        if not op.name.startswith(TAPE):
            continue
        name = op.name[len(TAPE):]
        held = [scope for scope in scopes if name.startswith(scope + "/")]
        if held:
            found[scopes[max(held, key=len)]].append(op.name)
        elif not name.startswith(model_scope + "/"):
            loss.append(op.name)
    return found, loss


def first_training_graph(notes):
    """The first graph a layer was called in that holds gradient ops: the training function `fit` traces (and
    runs, so the profile's op names are its own) before the callback traces its record."""
    return next(g for _, g, _ in notes if any(op.name.startswith(TAPE) for op in g.get_operations()))


def data(x_shape, y_shape):
    x = tf.random.stateless_normal([BATCH * STEPS, *x_shape], seed=[1, 2])
    y = tf.random.stateless_normal([BATCH * STEPS, *y_shape], seed=[3, 4])
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)


def fit(model, ds, logdir, name) -> dict:
    model(next(iter(ds))[0])  # (built first: a MultiHeadAttention makes its sub-layers when built)
    paths, notes = watch(model)
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    model.fit(ds, epochs=1, verbose=0, callbacks=[ModuleGraph(os.path.join(logdir, name), profile_batch=PROFILE)])
    gradients, loss = gradients_by_layer(first_training_graph(notes), paths, notes)
    return {"run": f"{name}/train", "tag": model.name, "gradients": gradients, "loss_gradients": loss}


def cnn():
    import keras

    layers = keras.layers
    return keras.Sequential([keras.Input((6, 6, 3)), layers.Conv2D(4, 3, use_bias=False, name="conv"),
                             layers.BatchNormalization(name="bn"), layers.ReLU(name="relu"),
                             layers.Conv2D(2, 3, activation="relu", name="c2")], name="cnn")


def attention():
    import keras

    class Block(keras.Model):
        def __init__(self):
            super().__init__(name="attn")
            self.mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")
            self.ln = keras.layers.LayerNormalization(name="ln")
            self.head = keras.layers.Dense(3, name="head")

        def call(self, x):
            return self.head(self.ln(x + self.mha(x, x)))

    return Block()


def step_record(model, ds, logdir, name) -> dict:
    """`module_graph` of a hand-written training step (tape, SGD)."""
    import keras

    optimizer = keras.optimizers.SGD(0.01)
    x, y = next(iter(ds))
    model(x)  # (built before the step: its variables exist outside it)
    optimizer.build(model.trainable_variables)
    paths, notes = watch(model)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    writer = tf.summary.create_file_writer(os.path.join(logdir, name, "step"))
    with writer.as_default():
        assert module_summary.module_graph("step", model, x, y, fn=step)
    writer.close()
    gradients, loss = gradients_by_layer(step.get_concrete_function(x, y).graph, paths, notes)
    return {"run": f"{name}/step", "tag": "step", "gradients": gradients, "loss_gradients": loss}


def main(logdir):
    results = {
        "cnn_train": fit(cnn(), data((6, 6, 3), (2, 2, 2)), logdir, "cnn"),
        "cnn_step": step_record(cnn(), data((6, 6, 3), (2, 2, 2)), logdir, "cnn_step"),
        "attn_train": fit(attention(), data((5, 8), (5, 3)), logdir, "attn"),
    }
    with open(os.path.join(logdir, "truth.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
