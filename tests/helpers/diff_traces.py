"""A Keras MLP whose middle layer has a width of choice, traced (its training step, trace_on/trace_export, as README's
custom loop does) and recorded (module_graph of its forward pass), each width in a process of its own as README
advises for traces: two traces of one structure whose parameters differ, and the same as records.

    python -m tests.helpers.diff_traces LOGDIR RUN WIDTH

writes LOGDIR/trace/RUN (tag `step`) and LOGDIR/record/RUN (tag `model`) and prints `RESULT {...}`: what the live
layers say (their names, parameters, kernel shapes, activations) and the batch the record was called on.
"""

from __future__ import annotations

import json
import os
import sys

BATCH = 8
TRACE_TAG, RECORD_TAG = "step", "model"


def write(logdir: str, run: str, width: int) -> dict:
    from tests.helpers.traces import tf  # (quiet TensorFlow)
    import keras

    from tests.helpers import corpus

    from tb_module_plugin import summary as module_summary

    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(width, activation="relu"), keras.layers.Dense(4)], name="mlp")
    optimizer = keras.optimizers.SGD()
    optimizer.build(model.trainable_variables)
    step = corpus.train_step(model, keras.losses.MeanSquaredError(), optimizer)
    x, y = tf.ones([BATCH, 16]), tf.ones([BATCH, 4])
    writer = tf.summary.create_file_writer(os.path.join(logdir, "trace", run))
    tf.summary.trace_on(graph=True)
    step(x, y)
    with writer.as_default():
        tf.summary.trace_export(name=TRACE_TAG, step=0)
    writer.close()
    writer = tf.summary.create_file_writer(os.path.join(logdir, "record", run))
    with writer.as_default():
        module_summary.module_graph(RECORD_TAG, model, x, step=0)
    writer.close()
    return {"batch": BATCH, "layers": [
        {"name": layer.name, "params": layer.count_params(), "kernel": list(layer.kernel.shape),
         "activation": layer.activation.__name__} for layer in model.layers]}


if __name__ == "__main__":
    print("RESULT " + json.dumps(write(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
