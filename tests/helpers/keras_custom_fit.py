"""Train Keras 3 models whose `fit` runs something other than Keras's generic step, with the ModuleGraph callback,
and print what the live objects say (tests/test_keras_custom_step.py reads it). Run in a subprocess:
python -m tests.helpers.keras_custom_fit LOGDIR.

Runs written under LOGDIR (each `<name>/train`, where the callback writes):
  own_step      a subclassed model overriding train_step as Keras's guide "Customizing what happens in fit()"
                teaches: two forward passes (x and an augmented view 2x), a consistency loss, gradients and the
                update of the head only
  generic_step  the same model without the override (Keras's generic step)
  gan           a GAN-like model overriding train_step with two optimizers of its own (`d_optimizer`,
                `g_optimizer`), each updating one layer, each step through both layers
  untraceable   a model overriding train_step with a step that runs inside Keras's own functions only
  tf_keras      a tf_keras model overriding train_step: `optimizer.minimize` of the head's variables only
  xla           a Sequential compiled with jit_compile=True (XLA), profiled
(fits under distribution strategies: tests/helpers/keras_strategy_fit.py)
"""

import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

from tb_module_plugin import ModuleGraph  # noqa: E402
from tb_module_plugin.recording.keras_steps import _optimizers, own_train_step  # noqa: E402 - as the callback sees

FEATURES, HIDDEN, TARGETS, BATCH, BATCHES = 32, 64, 4, 32, 6
VIEWS = 2  # forward passes the own step makes


def dataset():
    """Batches of a known size (drop_remainder), so that FLOPs per step are counted."""
    x = tf.random.stateless_normal([BATCH * BATCHES, FEATURES], seed=(1, 2))
    y = tf.random.stateless_normal([BATCH * BATCHES, TARGETS], seed=(3, 4))
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True)


def models() -> dict:
    import keras

    class Net(keras.Model):
        def __init__(self, name):
            super().__init__(name=name)
            self.body = keras.layers.Dense(HIDDEN, activation="relu", name="body")
            self.head = keras.layers.Dense(TARGETS, name="head")

        def call(self, x, training=False):
            return self.head(self.body(x))

    class TwoViews(Net):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                p1 = self(x, training=True)
                p2 = self(x * 2.0, training=True)  # a second, augmented view
                loss = tf.reduce_mean((p1 - y) ** 2) + tf.reduce_mean((p1 - p2) ** 2)
            head = self.head.trainable_variables  # fine-tune the head only
            self.optimizer.apply_gradients(zip(tape.gradient(loss, head), head))
            return {"loss": loss}

    class KerasOnly(Net):
        def train_step(self, data):
            # (runs where Keras traces it, its step functions: the callback's own trace of it fails)
            if not tf.compat.v1.get_default_graph().name.startswith(("one_step", "multi_step")):
                raise ValueError("this step runs inside Keras's own functions only")
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((self(x, training=True) - y) ** 2)
            variables = self.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return {"loss": loss}

    class Gan(Net):
        def compile(self, **kwargs):
            super().compile(**kwargs)
            self.d_optimizer, self.g_optimizer = keras.optimizers.Adam(), keras.optimizers.SGD()

        def train_step(self, data):
            x, _ = data
            with tf.GradientTape() as tape:  # the head ("discriminator") learns on the body's output
                d_loss = tf.reduce_mean(self(x, training=True))
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, self.head.trainable_weights),
                                                 self.head.trainable_weights))
            with tf.GradientTape() as tape:  # the body ("generator") learns against it
                g_loss = -tf.reduce_mean(self(x, training=True))
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, self.body.trainable_weights),
                                                 self.body.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    xla = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(HIDDEN, activation="relu", name="body"),
                            keras.layers.Dense(TARGETS, name="head")], name="xla_net")
    return {"own_step": TwoViews("net"), "generic_step": Net("net"), "gan": Gan("gan"), "untraceable": KerasOnly("net"),
            "xla": xla}


def tf_keras_model():
    import tf_keras

    class HeadOnly(tf_keras.Model):
        def __init__(self):
            super().__init__(name="tf_keras_net")
            self.body = tf_keras.layers.Dense(HIDDEN, activation="relu", name="body")
            self.head = tf_keras.layers.Dense(TARGETS, name="head")

        def call(self, x):
            return self.head(self.body(x))

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((self(x, training=True) - y) ** 2)
            self.optimizer.minimize(loss, self.head.trainable_variables, tape=tape)
            return {"loss": loss}

    return HeadOnly()


def main(logdir):
    results = {}
    for run, model in {**models(), "tf_keras": tf_keras_model()}.items():
        model.compile(optimizer="sgd", loss="mse", jit_compile=(run == "xla"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(dataset(), epochs=1, verbose=0,
                                callbacks=[ModuleGraph(os.path.join(logdir, run), profile_batch=(3, 4))])
        body, head = model.get_layer("body"), model.get_layer("head")
        results[run] = {"run": f"{run}/train", "tag": model.name, "batch": BATCH,
                        "body_kernel": list(body.kernel.shape), "head_kernel": list(head.kernel.shape),
                        "trained_head_only": run in ("own_step", "tf_keras"), "views": VIEWS if run in ("own_step", "gan") else 1,
                        "optimizers": len(_optimizers(model)), "own_step_found": own_train_step(model) is not None,
                        # (what the callback put in place of the optimizers' updates while it traced: none left)
                        "updates_replaced": sorted({name for optimizer in _optimizers(model)
                                                    for name in ("apply", "apply_gradients")
                                                    if name in vars(optimizer)}),
                        "jit_compile": model.jit_compile, "epochs_trained": len(history.epoch),
                        "warnings": [str(w.message) for w in caught if "ModuleGraph" in str(w.message)]}
    import tf_keras

    # A model of Keras's own that overrides the generic step (not trained: only whether its step is seen as its own).
    sam = tf_keras.models.experimental.SharpnessAwareMinimization(tf_keras.Sequential([tf_keras.layers.Dense(2)]))
    results["keras_own_models"] = {"SharpnessAwareMinimization": own_train_step(sam) is not None}
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
