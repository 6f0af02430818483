"""Train Keras 3 models with `fit` under tf.distribute strategies, with the ModuleGraph callback, and print what the
live objects say (tests/test_keras_strategy.py reads it). Run in a subprocess:
python -m tests.helpers.keras_strategy_fit LOGDIR.

Runs written under LOGDIR (each `<name>/train`, where the callback writes), each model built and compiled in its
strategy's scope:
  mirrored      a Sequential (Dense + ReLU, BatchNormalization, Dense) under MirroredStrategy over two logical CPUs
  one_device    the same under OneDeviceStrategy on the second logical CPU
  default       the same under the default strategy (no strategy scope)
  mirrored_own  tests/helpers/keras_custom_fit.py's model overriding train_step (two forward passes, the head's
                gradients only) under MirroredStrategy
  mirrored_tf_keras  the Sequential in tf_keras under MirroredStrategy (its variables are distributed variables)
  mirrored_untraceable  keras_custom_fit.py's model whose train_step runs inside Keras's own functions only, under
                MirroredStrategy (one warning, no record)
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

from tb_module_plugin import ModuleGraph  # noqa: E402
from tb_module_plugin.recording.keras_steps import _optimizers  # noqa: E402 - as the callback sees them
from tests.helpers import keras_custom_fit  # noqa: E402

FEATURES, HIDDEN, TARGETS = keras_custom_fit.FEATURES, keras_custom_fit.HIDDEN, keras_custom_fit.TARGETS
BATCH = keras_custom_fit.BATCH  # the global batch, which MirroredStrategy splits over its replicas
REPLICAS = 2


def sequential(keras):
    """Keras 3's or tf_keras's (`keras` is the module)."""
    return keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(HIDDEN, activation="relu", name="body"),
                             keras.layers.BatchNormalization(name="norm"), keras.layers.Dense(TARGETS, name="head")],
                            name="strategy_net")


def strategies() -> dict:
    # One MirroredStrategy for both of its runs: two in one process number their collective ops alike, and the
    # second fit's gradient all-reduce fails (a shape mismatch) with or without the callback.
    mirrored = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])
    return {"mirrored": mirrored, "one_device": tf.distribute.OneDeviceStrategy("/cpu:1"),
            "default": tf.distribute.get_strategy(), "mirrored_own": mirrored, "mirrored_tf_keras": mirrored,
            "mirrored_untraceable": mirrored}


def size(variable) -> int:
    n = 1
    for d in variable.shape:
        n *= int(d)
    return n


def layer_truth(model) -> list:
    """Each layer as the live model says it: its attribute path (the model's attribute holding it, else its place
    in `model.layers`, as a Sequential holds its layers), class, parameters (all and trainable)."""
    return [{"name": layer.name,
             "path": next((name for name, value in vars(model).items() if value is layer), f"layers[{i}]"),
             "class_name": f"{type(layer).__module__}.{type(layer).__qualname__}",
             "params": layer.count_params(), "trainable": sum(map(size, layer.trainable_weights))}
            for i, layer in enumerate(model.layers)]


def main(logdir):
    # (two logical CPUs for MirroredStrategy: set before TensorFlow runs anything)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
    import keras
    import tf_keras

    results = {}
    for run, strategy in strategies().items():
        with strategy.scope():
            if run in ("mirrored_own", "mirrored_untraceable"):
                model = keras_custom_fit.models()["own_step" if run == "mirrored_own" else "untraceable"]
            else:
                model = sequential(tf_keras if run == "mirrored_tf_keras" else keras)
            model.compile(optimizer="sgd", loss="mse")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(keras_custom_fit.dataset(), epochs=1, verbose=0,
                                callbacks=[ModuleGraph(os.path.join(logdir, run), profile_batch=(3, 4))])
        body, head = model.get_layer("body"), model.get_layer("head")
        results[run] = {"run": f"{run}/train", "tag": model.name, "batch": BATCH,
                        "replicas": strategy.num_replicas_in_sync,
                        # (the default strategy places nothing: TensorFlow's own placement)
                        "devices": [] if run == "default" else list(strategy.extended.worker_devices),
                        "body_kernel": list(body.kernel.shape), "head_kernel": list(head.kernel.shape),
                        "views": keras_custom_fit.VIEWS if run == "mirrored_own" else 1,
                        "layers": layer_truth(model), "params": model.count_params(),
                        "trainable": sum(map(size, model.trainable_weights)),
                        # (what the callback put in place of the optimizers' updates while it traced: none left)
                        "updates_replaced": sorted({name for optimizer in _optimizers(model)
                                                    for name in ("apply", "apply_gradients")
                                                    if name in vars(optimizer)}),
                        "epochs_trained": len(history.epoch),
                        "warnings": [str(w.message) for w in caught if "ModuleGraph" in str(w.message)]}
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
