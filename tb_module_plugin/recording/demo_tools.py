"""What the demo's writers share: TensorFlow quieted, a run's folder emptied, a call traced, calls profiled."""

import os
import shutil

# Quiet TensorFlow before it is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def quiet_tf():
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
    return tf


def fresh_run_dir(logdir, run):
    """The run's folder, emptied first so that running the demo twice does not
    pile a second copy of every record into it."""
    path = os.path.join(logdir, run)
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def trace_call(tf, run_dir, tag, fn, *args):
    """Trace one call of `fn` with trace_on/trace_export into `run_dir` under `tag`."""
    writer = tf.summary.create_file_writer(run_dir)
    tf.summary.trace_on(graph=True)
    try:
        result = fn(*args)
    finally:
        with writer.as_default():
            tf.summary.trace_export(name=tag, step=0)
    writer.flush()
    writer.close()
    return result


PROFILED_STEPS = 3


def profile_calls(tf, run_dir, fn, *args, steps=PROFILED_STEPS):
    """Profile `steps` calls of `fn` into `run_dir` (TensorBoard's Profile plugin and the Modules tab's time read
    them there), after one call that warms it. The way that works on TensorFlow 2.21: the graph traced on the
    first call (trace_call), the profile of later calls; `trace_on(profiler=True)` on the traced call leaves an empty
    graph record."""
    fn(*args)
    tf.profiler.experimental.start(run_dir)
    try:
        for _ in range(steps):
            fn(*args)
    finally:
        tf.profiler.experimental.stop()
