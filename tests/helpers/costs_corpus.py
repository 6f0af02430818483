"""Graphs with costs to check, written with real TensorFlow, and what TensorFlow itself says they cost.

    python -m tests.helpers.costs_corpus LOGDIR

- `resnet50_forward`: a `module_graph` record of Keras 3 ResNet50 (weights=None) at 224x224, batch 1; the truth:
  TensorFlow's own profiler's float-operation count of the same graph (`tf.compat.v1.profiler`), and each Conv2D
  and Dense layer's 2 * H_out * W_out * K_h * K_w * C_in * C_out (2 * in * out) from the live layer's shapes, and
  its bias's additions (H_out * W_out * C_out).
- `profiled_step`: a Keras 3 training step traced with `trace_on(graph=True)` on its first call, then three later
  calls profiled with `tf.profiler.experimental.start/stop` (the way that works on TensorFlow 2.21); the truth:
  the op events of the profile, per step, decoded with TensorFlow's own xplane_pb2.
- `nested_profiled_step`: the demo's nested model (tf.Module, a nested tf.function, a tf.cond and a tf.while_loop
  in every block) and its training step, traced and profiled as the demo does (run `nested_profiled_step/train`,
  whose ops run inlined from the calls and bodies); the truth: the profile's op events, per step.
- `placed_ops`: a trace of a module whose `host` child runs under `tf.device("/CPU:0")` and whose `free` child is
  not placed; the truth: each top-level name scope's ops per device, read off the traced function's graph.
- `profile_of_another_function`: a trace of one function and a profile of another; `damaged_profile`: a trace
  and a profile file of garbage bytes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.helpers import corpus  # (sets TensorFlow's logging up before importing it)

import tensorflow as tf  # noqa: E402,I001

from tb_module_plugin import summary as module_summary  # noqa: E402
from tb_module_plugin.recording import demo_tools


def resnet50_forward(logdir: Path) -> dict:
    import keras

    model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))
    x = tf.ones([1, 224, 224, 3])
    writer = tf.summary.create_file_writer(str(corpus.fresh(logdir, "resnet50_forward")))
    with writer.as_default():
        assert module_summary.module_graph("model", model, x)
    writer.close()
    graph = tf.function(model.__call__).get_concrete_function(x).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profiled = tf.compat.v1.profiler.profile(graph, options=options, cmd="op")
    layers = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w, c_in, _ = layer.kernel.shape
            layers[layer.name] = {"op": "Conv2D", "flops": 2 * h * w * k_h * k_w * c_in * c_out,
                                  "bias": h * w * c_out if layer.use_bias else 0}
        elif isinstance(layer, keras.layers.Dense):
            c_in, c_out = layer.kernel.shape
            layers[layer.name] = {"op": "MatMul", "flops": 2 * c_in * c_out, "bias": c_out if layer.use_bias else 0}
    return {"run": "resnet50_forward", "tag": "model", "tf_profiler_flops": int(profiled.total_float_ops),
            "layer_flops": layers, "model_name": model.name}


def _profile_op_events_us(run_dir: Path, steps: int) -> float:
    """Every op event of the run's profiles, in microseconds per step, read with TensorFlow's own XSpace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    total = 0
    for path in run_dir.glob("plugins/profile/*/*.xplane.pb"):
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
        for plane in space.planes:
            if not plane.name.startswith("/host:"):
                continue
            for line in plane.lines:
                if line.name.startswith("tf_"):
                    for event in line.events:
                        name = plane.event_metadata[event.metadata_id].name
                        if ":" in name and not name.startswith("ExecutorState"):
                            total += event.duration_ps
    return total / steps / 1e6


def profiled_step(logdir: Path, steps: int = 3) -> dict:
    import keras

    model = corpus._functional(keras)
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    step = corpus.train_step(model, keras.losses.MeanSquaredError(), optimizer)
    x, y = tf.ones([16, 6]), tf.ones([16, 3])
    run = corpus.fresh(logdir, "profiled_step")
    writer = tf.summary.create_file_writer(str(run))
    tf.summary.trace_on(graph=True)
    step(x, y)  # the first call: traced while tracing is on
    with writer.as_default():
        tf.summary.trace_export("step", step=0)
    writer.close()
    step(x, y)  # (warm)
    tf.profiler.experimental.start(str(run))
    for _ in range(steps):
        step(x, y)
    tf.profiler.experimental.stop()
    return {"run": "profiled_step", "tag": "step", "steps": steps, "op_events_us": _profile_op_events_us(run, steps)}


def profile_of_another_function(logdir: Path) -> dict:
    run = corpus.fresh(logdir, "profile_of_another_function")

    @tf.function
    def traced(x):
        with tf.name_scope("traced"):
            return tf.nn.relu(x) * 3.0

    @tf.function
    def profiled(x):
        with tf.name_scope("other"):
            return tf.matmul(x, x) + 1.0

    writer = tf.summary.create_file_writer(str(run))
    tf.summary.trace_on(graph=True)
    traced(tf.ones([4, 4]))
    with writer.as_default():
        tf.summary.trace_export("traced", step=0)
    writer.close()
    tf.profiler.experimental.start(str(run))
    profiled(tf.ones([4, 4]))
    tf.profiler.experimental.stop()
    return {"run": "profile_of_another_function", "tag": "traced"}


def damaged_profile(logdir: Path) -> dict:
    run = corpus.fresh(logdir, "damaged_profile")

    @tf.function
    def f(x):
        return x * 2.0

    writer = tf.summary.create_file_writer(str(run))
    tf.summary.trace_on(graph=True)
    f(tf.ones([2]))
    with writer.as_default():
        tf.summary.trace_export("f", step=0)
    writer.close()
    session = run / "plugins" / "profile" / "2026_01_01_00_00_00"
    session.mkdir(parents=True)
    (session / "host.xplane.pb").write_bytes(b"\x0f\xff\xfe not an XSpace \x00\x07")
    return {"run": "damaged_profile", "tag": "f"}


def nested_profiled_step(logdir: Path) -> dict:
    from tb_module_plugin.recording import demo

    run = logdir / "nested_profiled_step"
    demo.write_nested_model(str(logdir), run=run.name)
    train = run / "train"
    return {"run": f"{run.name}/train", "tag": "train_step", "steps": demo_tools.PROFILED_STEPS,
            "op_events_us": _profile_op_events_us(train, demo_tools.PROFILED_STEPS)}


def placed_ops(logdir: Path) -> dict:
    run = corpus.fresh(logdir, "placed_ops")

    class Part(tf.Module):
        def __init__(self, name):
            super().__init__(name=name)
            self.w = tf.Variable(tf.ones([4, 4]), name="w")

        @tf.Module.with_name_scope
        def __call__(self, x):
            return tf.nn.relu(tf.matmul(x, self.w))

    class Placed(tf.Module):
        def __init__(self):
            super().__init__(name="placed")
            self.host = Part("host")
            self.free = Part("free")

        @tf.function
        def __call__(self, x):
            with tf.device("/CPU:0"):
                y = self.host(x)
            return self.free(y)

    model = Placed()
    x = tf.ones([2, 4])
    writer = tf.summary.create_file_writer(str(run))
    tf.summary.trace_on(graph=True)
    model(x)
    with writer.as_default():
        tf.summary.trace_export("placed", step=0)
    writer.close()
    devices: dict = {}
    for op in model.__call__.get_concrete_function(x).graph.get_operations():
        if op.device:
            scope = devices.setdefault(op.name.split("/")[0], {})
            scope[op.device] = scope.get(op.device, 0) + 1
    return {"run": "placed_ops", "tag": "placed", "devices": devices}


WRITERS = [resnet50_forward, profiled_step, nested_profiled_step, placed_ops, profile_of_another_function, damaged_profile]


def main(argv=None) -> int:
    logdir = Path((argv or sys.argv[1:])[0])
    logdir.mkdir(parents=True, exist_ok=True)
    truth = {}
    for write in WRITERS:
        print(f"writing {write.__name__} ...", flush=True)
        entry = write(logdir)
        truth[write.__name__] = entry
    (logdir / "truth.json").write_text(json.dumps(truth, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
