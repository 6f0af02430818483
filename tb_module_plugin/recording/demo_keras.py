"""The demo's Keras runs (demo.py writes them with the others): a Sequential through Keras's TensorBoard callback,
a Keras application's training step, a model trained with `fit` and the ModuleGraph callback."""

import os

from .demo_tools import fresh_run_dir, profile_calls, quiet_tf, trace_call


# --- 4. A Keras Sequential through the TensorBoard callback ---------------------
def write_keras_sequential(logdir):
    """Sequential Dense(4) > Dense(2) > Dense(1) on 10 inputs, the first layer
    frozen, fitted one short epoch with the TensorBoard callback (write_graph=True)."""
    tf = quiet_tf()
    import numpy as np

    keras = tf.keras
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(4, activation="relu", name="dense"),
            keras.layers.Dense(2, activation="relu", name="dense_1"),
            keras.layers.Dense(1, name="dense_2"),
        ],
        name="sequential",
    )
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 10)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    run_dir = fresh_run_dir(logdir, "keras_sequential")
    callback = keras.callbacks.TensorBoard(log_dir=run_dir, write_graph=True)
    model.fit(x, y, epochs=1, batch_size=16, callbacks=[callback], verbose=0)
    # The plugin's recording API says more than the callback: parameters, the frozen layer, the ops of each layer.
    from tb_module_plugin.recording import summary as module_summary

    writer = tf.summary.create_file_writer(os.path.join(run_dir, "module_record"))
    with writer.as_default():
        module_summary.module_graph("sequential", model, x[:1])
    writer.close()
    return run_dir


# --- 5. A Keras ResNet50 training step --------------------------------------------
def write_resnet50_train_step(logdir, image_size=64, classes=10, batch=2):
    """One traced tf.function: forward, loss, GradientTape gradients, apply_gradients
    (tag `train_step`)."""
    return write_keras_train_step(logdir, "resnet50_train_step", "ResNet50", image_size, classes, batch)


def write_keras_train_step(logdir, run, application, image_size=64, classes=10, batch=2, profile=True):
    """The training step of `tf.keras.applications.<application>` (built with weights=None: nothing is
    downloaded), traced into run `run` under the tag `train_step`, then profiled (`profile`); benchmarks/generate.py
    writes its big graphs with it too."""
    tf = quiet_tf()
    keras = tf.keras
    model = getattr(keras.applications, application)(
        weights=None, input_shape=(image_size, image_size, 3), classes=classes
    )
    optimizer = keras.optimizers.SGD(learning_rate=0.01)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = model(images, training=True)
            loss = loss_fn(labels, predictions)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    images = tf.random.uniform([batch, image_size, image_size, 3], seed=2)
    labels = tf.constant([i % classes for i in range(batch)], dtype=tf.int64)
    run_dir = fresh_run_dir(logdir, run)
    trace_call(tf, run_dir, "train_step", train_step, images, labels)
    if profile:
        profile_calls(tf, run_dir, train_step, images, labels)
    return run_dir


# --- 6. A Keras model trained with fit and the ModuleGraph callback ---------------------
def write_keras_fit(logdir, epochs=1, batches=24, batch_size=16):
    """A small Keras model (a frozen stem, a residual block of its own class, a head) trained `epochs` with `fit`
    on a tf.data dataset of random arrays, with the ModuleGraph callback (the record and a profile of batches 7-9)
    beside Keras's own TensorBoard callback (the loss): both write `keras_fit/train`."""
    tf = quiet_tf()
    import keras
    import numpy as np

    from tb_module_plugin.recording.keras import ModuleGraph

    class ResidualBlock(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.up = keras.layers.Dense(units * 2, activation="relu", name="up")
            self.down = keras.layers.Dense(units, name="down")
            self.norm = keras.layers.LayerNormalization(name="norm")

        def call(self, x):
            return self.norm(x + self.down(self.up(x)))

    inputs = keras.Input((32,), name="features")
    h = keras.layers.Dense(64, activation="relu", name="stem")(inputs)
    h = ResidualBlock(64, name="block_0")(h)
    h = ResidualBlock(64, name="block_1")(h)
    h = keras.layers.Dropout(0.1, name="dropout")(h)
    model = keras.Model(inputs, keras.layers.Dense(10, name="head")(h), name="classifier")
    model.get_layer("stem").trainable = False
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batches * batch_size, 32)).astype("float32")
    y = rng.integers(0, 10, size=(batches * batch_size,))
    # (drop_remainder: a batch of known size, so the record counts the FLOPs of a step; an open one has none)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)
    run_dir = fresh_run_dir(logdir, "keras_fit")
    model.fit(data, epochs=epochs, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(log_dir=run_dir), ModuleGraph(run_dir)])
    return run_dir
