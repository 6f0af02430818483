"""Write demo graphs for the Modules tab with real TensorFlow.

    python -m tb_module_plugin.recording.demo --logdir DIR [--skip-resnet] [--only NAME ...]

Each graph goes to its own run folder under DIR:

    demo_module           the classic tutorial's DemoModule(tf.Module), traced addprint
                          (and demo_module_record: the same through summary.module_graph)
    attribute_module      the same tutorial's attribute-style tf.Module, traced addprint
    nested_model          model > encoder > block_0..block_3 > up/down, a nested
                          tf.function, a tf.cond and a tf.while_loop in every block;
                          nested_model/train: its training step, traced, then profiled
    keras_sequential      Keras Sequential of three Dense layers (first frozen), fitted
                          with keras.callbacks.TensorBoard(write_graph=True); Keras
                          writes its runs under keras_sequential/train (and /validation);
                          keras_sequential/module_record: summary.module_graph of it
    resnet50_train_step   a Keras ResNet50 (weights=None) training step, traced, then
                          profiled (slow; --skip-resnet leaves it out)
    nested_versions       nested_model's two versions (v1; v2: a block added, the head
                          widened, block_0 frozen) and a retrace, to compare with
                          python -m tb_module_plugin diff (compare/demo_versions.py)
    keras_fit             a small Keras model trained one epoch with fit and the
                          ModuleGraph callback (and Keras's TensorBoard callback): both
                          write keras_fit/train (--skip-resnet leaves it out too)

Then: tensorboard --logdir DIR, and open the Modules tab.
"""

import argparse
import os
import sys

from .demo_keras import write_keras_fit, write_keras_sequential, write_resnet50_train_step
from .demo_tools import fresh_run_dir, profile_calls, quiet_tf, trace_call  # (demo_tools quiets TensorFlow first)

NESTED_BLOCKS = 4
NESTED_WIDTH = 8


# --- 1. The classic tutorial's DemoModule ----------------------------------------
def demo_module_class(tf):
    """The tutorial's tf.Module subclass with a variable and a traced `addprint`."""

    class DemoModule(tf.Module):
        def __init__(self, init_value=tf.constant(0.0), name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.x = tf.Variable(init_value, dtype=tf.float32, trainable=True)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def addprint(self, a):
            with self.name_scope:
                self.x.assign_add(a)
                tf.print(self.x)
                return self.x

    return DemoModule


def write_demo_module(logdir):
    """DemoModule's `addprint` traced with trace_on/trace_export (tag `addprint`), and the same module written
    with the plugin's own recording API (run `demo_module_record`: class, variables, parameters)."""
    tf = quiet_tf()
    from tb_module_plugin.recording import summary as module_summary

    mod = demo_module_class(tf)()
    run_dir = fresh_run_dir(logdir, "demo_module")
    trace_call(tf, run_dir, "addprint", mod.addprint, tf.constant(5.0))
    writer = tf.summary.create_file_writer(fresh_run_dir(logdir, "demo_module_record"))
    with writer.as_default():
        module_summary.module_graph("addprint", mod, tf.constant(1.0), fn=mod.addprint)
    writer.close()
    return run_dir


# --- 2. The same tutorial's attribute-style module -----------------------------
def write_attribute_module(logdir):
    """A plain tf.Module given `x` and a tf.function `addprint` as attributes."""
    tf = quiet_tf()

    mod = tf.Module()
    mod.x = tf.Variable(0.0)

    def addprint(a):
        mod.x.assign_add(a)
        tf.print(mod.x)
        return mod.x

    mod.addprint = tf.function(lambda a: addprint(a))

    run_dir = fresh_run_dir(logdir, "attribute_module")
    trace_call(tf, run_dir, "addprint", mod.addprint, tf.constant(5.0))
    return run_dir


# --- 3. A nested module model ------------------------------------------------------
def _nested_classes(tf):
    class Dense(tf.Module):
        def __init__(self, n_in, n_out, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = tf.Variable(tf.random.normal([n_in, n_out], stddev=0.1), name="w")
                self.b = tf.Variable(tf.zeros([n_out]), name="b")

        @tf.Module.with_name_scope
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w) + self.b)

    class Block(tf.Module):
        """up > cond (scale or shift) > a short while loop > down, plus a residual."""

        def __init__(self, width, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.up = Dense(width, width, name="up")
                self.down = Dense(width, width, name="down")

        @tf.Module.with_name_scope
        def __call__(self, x):
            h = self.up(x)
            h = tf.cond(tf.reduce_sum(h) > 0.0, lambda: h * 2.0, lambda: h - 1.0, name="gate")
            _, h = tf.while_loop(
                lambda i, v: i < 3,
                lambda i, v: (i + 1, v * 0.5 + 0.1),
                (tf.constant(0), h),
                name="refine",
            )
            return self.down(h) + x

    class Encoder(tf.Module):
        def __init__(self, width, n_blocks, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.blocks = [Block(width, name=f"block_{i}") for i in range(n_blocks)]

        @tf.function
        def run_blocks(self, x):
            for block in self.blocks:
                x = block(x)
            return x

        @tf.Module.with_name_scope
        def __call__(self, x):
            return self.run_blocks(x)

    class Model(tf.Module):
        def __init__(self, width=NESTED_WIDTH, n_blocks=NESTED_BLOCKS, name="model"):
            super().__init__(name=name)
            with self.name_scope:
                self.encoder = Encoder(width, n_blocks, name="encoder")
                self.head = Dense(width, 1, name="head")

        @tf.function
        def __call__(self, x):
            with self.name_scope:
                return self.head(self.encoder(x))

    return Model


def write_nested_model(logdir, run="nested_model"):
    """model > encoder > block_0..block_3 > up/down, the encoder through a nested
    tf.function, a tf.cond and a tf.while_loop in every block (tag `model`); its
    training step in `<run>/train` (tag `train_step`), traced, then profiled."""
    tf = quiet_tf()
    Model = _nested_classes(tf)
    model = Model()
    x = tf.random.normal([2, NESTED_WIDTH], seed=1)
    run_dir = fresh_run_dir(logdir, run)
    trace_call(tf, run_dir, "model", model, x)
    # Its training step, in a run of its own (nested_model/train) with that run's profile.
    y = tf.random.normal([2, 1], seed=2)
    learning_rate = 0.01

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        gradients = tape.gradient(loss, model.trainable_variables)
        for variable, gradient in zip(model.trainable_variables, gradients):
            variable.assign_sub(learning_rate * gradient)
        return loss

    train_dir = os.path.join(run_dir, "train")
    os.makedirs(train_dir)
    trace_call(tf, train_dir, "train_step", train_step, x, y)
    profile_calls(tf, train_dir, train_step, x, y)
    return run_dir


def write_nested_versions(logdir, run="nested_versions"):
    """Two versions of the nested model and a retrace, to compare (demo_versions.py)."""
    from . import demo_versions

    tf = quiet_tf()
    return demo_versions.write_versions(tf, fresh_run_dir(logdir, run), _nested_classes(tf), NESTED_WIDTH,
                                        NESTED_BLOCKS, lambda *args: trace_call(tf, *args))


SLOW = ("resnet50_train_step", "keras_fit")  # what --skip-resnet leaves out

WRITERS = {
    "demo_module": write_demo_module,
    "attribute_module": write_attribute_module,
    "nested_model": write_nested_model,
    "keras_sequential": write_keras_sequential,
    "resnet50_train_step": write_resnet50_train_step,
    "keras_fit": write_keras_fit,
    "nested_versions": write_nested_versions,
}


def write_demo(logdir, skip_resnet=False, only=None, out=sys.stdout):
    """Write the demo runs to `logdir`; returns {run: folder}."""
    names = list(only) if only else list(WRITERS)
    if skip_resnet and not only:
        names = [name for name in names if name not in SLOW]
    os.makedirs(logdir, exist_ok=True)
    written = {}
    for name in names:
        print(f"writing {name} ...", file=out, flush=True)
        written[name] = WRITERS[name](logdir)
        print(f"  wrote {written[name]}", file=out, flush=True)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tb_module_plugin.recording.demo",
        description="Write demo TensorFlow graphs for the TensorBoard Modules tab.",
    )
    parser.add_argument("--logdir", required=True, help="folder to write the runs into")
    parser.add_argument(
        "--skip-resnet", action="store_true", help="leave out the slow runs (the ResNet50 training step, the Keras fit)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=sorted(WRITERS), metavar="RUN", help="write only these runs"
    )
    args = parser.parse_args(argv)
    written = write_demo(args.logdir, skip_resnet=args.skip_resnet, only=args.only)
    print(f"Wrote {len(written)} runs to {os.path.abspath(args.logdir)}:")
    for name, path in written.items():
        print(f"  {name}: {path}")
    print(f"Next: tensorboard --logdir {args.logdir}  and open the Modules tab (#module_graph)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
