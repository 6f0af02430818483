"""Profiles whose window also ran another function over the same layers, as users make them (read by
tests/test_profile_windows.py). Run in a subprocess: python -m tests.helpers.profile_windows LOGDIR.

Runs written under LOGDIR:
  fit/train  Keras 3 `fit` with validation data and the ModuleGraph callback, its profile_batch reaching past the
             first epoch's end (Keras runs the validation pass, the same layers under the same op names, there)
  loop       README's custom loop: train_step traced, then TRAIN_CALLS train steps and EVAL_CALLS calls of an
             eval_step over the same model in one profiling session
  rerun/train  a notebook cell run twice into one log_dir: `fit` with the callback, the model's d1 WIDTHS[0] wide,
             then again with a new model, d1 WIDTHS[1] wide (two records of one tag, two profiling sessions)
Prints `RESULT {json}`: what the live objects and the calls made say.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

FEATURES, WIDTH, BATCH = 32, 64, 8
TRAIN_BATCHES, VAL_BATCHES, PROFILE_BATCH = 4, 6, (3, 6)
TRAIN_CALLS, EVAL_CALLS = 3, 3
WIDTHS, RERUN_PROFILE = (256, 16), (3, 4)


def model(width=WIDTH):
    import keras

    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(width, activation="relu", name="d1"),
                             keras.layers.Dense(2, name="head")], name="m")


def data(batches):
    x, y = tf.random.normal([batches * BATCH, FEATURES]), tf.ones([batches * BATCH, 2])
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)


def fit(logdir):
    from tb_module_plugin import ModuleGraph

    m = model()
    m.compile(optimizer="sgd", loss="mse", jit_compile=False)
    train = data(TRAIN_BATCHES)
    per_epoch = int(train.cardinality())
    m.fit(train, validation_data=data(VAL_BATCHES), epochs=2, verbose=0,
          callbacks=[ModuleGraph(os.path.join(logdir, "fit"), profile_batch=PROFILE_BATCH)])
    # The profile starts at batch PROFILE_BATCH[0] and must end with the epoch's training batches.
    first = PROFILE_BATCH[0]
    return {"run": "fit/train", "tag": m.name, "layer": m.layers[0].name,
            "profiled_steps": min(PROFILE_BATCH[1], per_epoch) - first + 1}


def traced_step(m, run_dir, x, y):
    """README's custom loop's `train_step` over the Keras model `m` (SGD, mean squared error), its first call traced
    into `run_dir` under the tag "train_step"."""
    import keras

    opt, lossf = keras.optimizers.SGD(), keras.losses.MeanSquaredError()
    opt.build(m.trainable_variables)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = lossf(y, m(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
        return loss

    writer = tf.summary.create_file_writer(run_dir)
    tf.summary.trace_on(graph=True)
    train_step(x, y)
    with writer.as_default():
        tf.summary.trace_export("train_step", step=0)
    writer.close()
    return train_step


def loop(logdir):
    import keras

    m = model()
    lossf = keras.losses.MeanSquaredError()

    @tf.function
    def eval_step(x, y):
        return lossf(y, m(x, training=False))

    run_dir = os.path.join(logdir, "loop")
    x, y = tf.random.normal([BATCH, FEATURES]), tf.ones([BATCH, 2])
    train_step = traced_step(m, run_dir, x, y)
    eval_step(x, y)  # (warm)
    tf.profiler.experimental.start(run_dir)
    for _ in range(TRAIN_CALLS):
        train_step(x, y)
    for _ in range(EVAL_CALLS):  # after every training step: the profile's last forward events are these
        eval_step(x, y)
    tf.profiler.experimental.stop()
    return {"run": "loop", "tag": "train_step", "layer": m.layers[0].name, "train_calls": TRAIN_CALLS,
            "eval_calls": EVAL_CALLS}


def rerun(logdir):
    from tb_module_plugin import ModuleGraph

    sessions, params = [], []
    profile_root = os.path.join(logdir, "rerun", "train", "plugins", "profile")
    for width in WIDTHS:
        if sessions:
            time.sleep(1.5)  # (TensorFlow names a profiling session by the second it starts in: a second apart)
        m = model(width)
        m.compile(optimizer="sgd", loss="mse", jit_compile=False)
        m.fit(data(TRAIN_BATCHES), epochs=1, verbose=0,
              callbacks=[ModuleGraph(os.path.join(logdir, "rerun"), profile_batch=RERUN_PROFILE)])
        params.append(int(m.layers[0].count_params()))
        sessions.append(sorted(set(os.listdir(profile_root)) - {s for run in sessions for s in run}))
    return {"run": "rerun/train", "tag": m.name, "layer": m.layers[0].name, "d1_params": params,
            "sessions": sessions, "profiled_steps": RERUN_PROFILE[1] - RERUN_PROFILE[0] + 1}


def main(logdir):
    print("RESULT " + json.dumps({"fit": fit(logdir), "loop": loop(logdir), "rerun": rerun(logdir)}))


if __name__ == "__main__":
    main(sys.argv[1])
