"""A tiny GELU network's training step, profiled, as users make it (read by tests/test_fused_groups.py). Run in a
subprocess: python -m tests.helpers.gelu_step LOGDIR.

Runs written under LOGDIR:
  loop   README's custom loop over an MLP of Dense(activation="gelu") layers: train_step traced, then STEPS
         profiled steps (grappler runs the GELU gradient's chain of unary ops as one `_UnaryOpsComposition` op,
         named `<the graph's last op of the chain>/unary_ops_composition`)
  fit/train  Keras 3 `fit` of a Conv2D + Dense network with the ModuleGraph callback (a training step's record)
Prints `RESULT {json}`: what the live objects say (each layer's output shape for the recorded batch).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

FEATURES, WIDTH, BATCH, STEPS = 16, 32, 8, 3
IMAGE, BATCHES, PROFILE_BATCH = (10, 10, 3), 4, (2, 3)


def mlp():
    import keras

    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(WIDTH, activation="gelu", name="d1"),
                             keras.layers.Dense(2, name="head")], name="mlp")


def loop(logdir):
    from tests.helpers.profile_windows import traced_step

    m = mlp()
    run_dir = os.path.join(logdir, "loop")
    x, y = tf.random.normal([BATCH, FEATURES]), tf.ones([BATCH, 2])
    train_step = traced_step(m, run_dir, x, y)
    tf.profiler.experimental.start(run_dir)
    for _ in range(STEPS):
        train_step(x, y)
    tf.profiler.experimental.stop()
    return {"run": "loop", "tag": "train_step", "layer": m.layers[0].name, "steps": STEPS}


def fit(logdir):
    import keras

    from tb_module_plugin import ModuleGraph

    m = keras.Sequential([keras.Input(IMAGE), keras.layers.Conv2D(4, 3, activation="gelu", name="c1"),
                          keras.layers.Flatten(name="flat"), keras.layers.Dense(8, activation="gelu", name="d1"),
                          keras.layers.Dense(2, name="head")], name="net")
    m.compile(optimizer="sgd", loss="mse", jit_compile=False)
    x, y = tf.random.normal([BATCHES * BATCH, *IMAGE]), tf.ones([BATCHES * BATCH, 2])
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)
    m.fit(data, epochs=1, verbose=0, callbacks=[ModuleGraph(os.path.join(logdir, "fit"), profile_batch=PROFILE_BATCH)])
    batch = next(iter(data))[0]
    shapes, h = {}, batch
    for layer in m.layers:  # each layer's output for the recorded batch, from the live layers
        h = layer(h)
        shapes[layer.name] = [int(d) for d in h.shape]
    return {"run": "fit/train", "tag": m.name, "shapes": shapes,
            "weighted": [layer.name for layer in m.layers if layer.weights]}


def main(logdir):
    print("RESULT " + json.dumps({"loop": loop(logdir), "fit": fit(logdir)}))


if __name__ == "__main__":
    main(sys.argv[1])
