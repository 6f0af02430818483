"""Train small Keras models with `fit` and the ModuleGraph callback, as a user would, and print what the live
layers say (tests/test_keras_callback.py reads it). Run in a subprocess: python -m tests.helpers.keras_fit LOGDIR.

Runs written under LOGDIR (each `<name>/train`, where the callback writes):
  keras3_functional  Keras 3 functional model: a frozen Dense, a subclassed block of three sub-layers, Dropout
  keras3_subclassed  Keras 3 subclassed Model (its input shape known only from the first batch)
  keras3_sequential  Keras 3 Sequential without an Input, compiled with steps_per_execution=2 (Keras runs two
                     steps per call, inside a loop of its training function)
  tf_keras           tf_keras Sequential with BatchNormalization (moving statistics are not trainable)
  untraceable        a Keras 3 model whose call runs only in Keras's own functions: one warning, training goes on
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tests.helpers.truth import counts, keras_sublayers  # noqa: E402 - what the live objects say, as for the corpus
from tb_module_plugin import ModuleGraph  # noqa: E402

FEATURES, TARGETS, SAMPLES, BATCH = 12, 3, 160, 16


def dataset():
    """tf.data from random arrays, batched as most people batch (the batch dimension left open)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = rng.normal(size=(SAMPLES, TARGETS)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


def keras3_models():
    import keras

    class Block(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.up = keras.layers.Dense(units, activation="relu")
            self.down = keras.layers.Dense(units)
            self.norm = keras.layers.LayerNormalization()

        def call(self, x):
            return self.norm(x + self.down(self.up(x)))

    inputs = keras.Input((FEATURES,))
    h = keras.layers.Dense(16, name="stem")(inputs)
    h = Block(16, name="block")(h)
    h = keras.layers.Dropout(0.1)(h)
    functional = keras.Model(inputs, keras.layers.Dense(TARGETS, name="head")(h), name="functional_net")
    functional.get_layer("stem").trainable = False

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="subclassed_net")
            self.hidden = keras.layers.Dense(8, activation="tanh")
            self.block = Block(8, name="inner_block")
            self.out = keras.layers.Dense(TARGETS)

        def call(self, x):
            return self.out(self.block(self.hidden(x)))

    class Picky(keras.layers.Layer):
        """Runs only where Keras traces it (its build's scratch graph, its step functions), as a layer needing
        something Keras alone sets up: the callback's own trace of the step fails."""

        def call(self, x):
            if not tf.compat.v1.get_default_graph().name.startswith(("scratch", "one_step", "multi_step")):
                raise ValueError("Picky runs inside Keras's own functions only")
            return x

    picky = keras.Sequential([keras.Input((FEATURES,)), Picky(), keras.layers.Dense(TARGETS)], name="picky")
    sequential = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(TARGETS)],
                                  name="sequential_net")
    return {"keras3_functional": functional, "keras3_subclassed": Subclassed(), "keras3_sequential": sequential,
            "untraceable": picky}


STEPS_PER_EXECUTION = {"keras3_sequential": 2}


def tf_keras_model():
    import tf_keras

    model = tf_keras.Sequential([
        tf_keras.layers.Dense(16, activation="relu", input_shape=(FEATURES,)),
        tf_keras.layers.BatchNormalization(),
        tf_keras.layers.Dense(TARGETS),
    ], name="tf_keras_net")
    return {"tf_keras": model}


def truth(model) -> list:
    """Every layer under the model (sub-layers of subclassed layers included) with what the live object says."""
    found = []

    def visit(layer, names):
        params, trainable = counts(layer)
        found.append({"names": names, "class_name": f"{type(layer).__module__}.{type(layer).__qualname__}",
                      "params": params, "trainable": trainable,
                      "weighted": bool(layer.weights), "trainable_weighted": bool(layer.trainable_weights)})
        for child in keras_sublayers(layer):
            visit(child, names + [child.name])

    visit(model, [model.name])
    return found


def main(logdir):
    results = {}
    models = {**keras3_models(), **tf_keras_model()}
    for run, model in models.items():
        model.compile(optimizer="adam", loss="mse", steps_per_execution=STEPS_PER_EXECUTION.get(run, 1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(dataset(), epochs=2, verbose=0, callbacks=[ModuleGraph(os.path.join(logdir, run))])
        # (the model's input as the live model declares it; a subclassed model declares none: the data's)
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        shape = inputs[0].shape if inputs else dataset().element_spec[0].shape
        results[run] = {"run": f"{run}/train", "tag": model.name, "layers": truth(model),
                        "input_shape": [None if d is None else int(d) for d in shape],
                        "epochs_trained": len(history.history["loss"]),
                        "warnings": [str(w.message) for w in caught if "ModuleGraph" in str(w.message)]}
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
