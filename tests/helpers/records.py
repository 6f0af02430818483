"""Writing logdirs: the demo and small traces in a subprocess (so every test logdir holds exactly what a user's
process would write, without the function graphs TensorFlow keeps collecting in a long-lived process), and records
written by hand with TensorBoard's own event writer (bad, hostile and markup-named ones). No TensorFlow here.
"""

import textwrap
import time
from pathlib import Path

from tests.helpers.processes import REPO, cache_key, cached_logdir, run_python

RESNET_RUN = "resnet50_train_step"


def write_demo(logdir, skip_resnet=True, only=None):
    """`python -m tb_module_plugin.recording.demo --logdir LOGDIR` in a subprocess."""
    args = ["-m", "tb_module_plugin.recording.demo", "--logdir", str(logdir)]
    if skip_resnet:
        args.append("--skip-resnet")
    if only:
        args += ["--only", *only]
    return run_python(args)


def cached_resnet_logdir():
    """The demo's ResNet50 training step (about 20 s to write), cached across sessions in .cache/ (keyed by the demo's code
    and the TensorFlow version)."""
    recording = REPO / "tb_module_plugin" / "recording"
    key = cache_key([recording / "demo_keras.py", recording / "demo_tools.py"], ("tensorflow-cpu", "tensorflow", "keras"))
    return cached_logdir("resnet50", key, lambda tmp: write_demo(tmp, skip_resnet=False, only=[RESNET_RUN]))


_TRACE_TEMPLATE = """
import os, sys
import tensorflow as tf
tf.get_logger().setLevel("ERROR")
{code}
_writer = tf.summary.create_file_writer({run_dir!r})
tf.summary.trace_on(graph=True)
{call}
with _writer.as_default():
    tf.summary.trace_export(name={tag!r}, step=0)
_writer.flush()
"""


def write_trace(logdir, run, tag, code, call="f(*ARGS)"):
    """Trace a small function with real TensorFlow, as a user would.

    `code` is Python source run after `import tensorflow as tf`; it defines what
    `call` (by default `f(*ARGS)`) runs between trace_on and trace_export, e.g.

        write_trace(logdir, "double", "f", '''
            @tf.function
            def f(x):
                return x * 2.0
            ARGS = (tf.constant(1.0),)
        ''')
    """
    run_dir = Path(logdir) / run
    run_dir.mkdir(parents=True, exist_ok=True)
    source = _TRACE_TEMPLATE.format(
        code=textwrap.dedent(code), call=call, run_dir=str(run_dir), tag=tag
    )
    run_python(source)
    return run_dir


def write_graph_with_tf(logdir, run, code):
    """`tf.summary.graph(G)` for the graph `G` that `code` builds (a run graph)."""
    run_dir = Path(logdir) / run
    run_dir.mkdir(parents=True, exist_ok=True)
    source = (
        "import tensorflow as tf\n"
        + textwrap.dedent(code)
        + f"\n_w = tf.summary.create_file_writer({str(run_dir)!r})\n"
        + "with _w.as_default():\n    tf.summary.graph(G)\n_w.flush()\n"
    )
    run_python(source)
    return run_dir


class RawWriter:
    """Writes records by hand with TensorBoard's event writer (no TensorFlow): blob
    records as TensorFlow writes them (a string tensor of shape [1], plugin content
    b"1"), and event-file `graph_def`s."""

    def __init__(self, logdir, run):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.run_dir = Path(logdir) / run
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._writer = EventFileWriter(str(self.run_dir))

    def blob(self, plugin_name, tag, payload, step=0):
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2
        from tensorboard.compat.proto import tensor_shape_pb2, types_pb2

        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name=plugin_name, content=b"1"
            ),
            data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        )
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]
            ),
            string_val=[payload],
        )
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)]
        )
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
        return self

    def run_metadata(self, tag, graph_defs=(), plugin_name="graph_run_metadata_graph", step=0):
        """A trace_export-style record whose function graphs are `graph_defs`."""
        from tensorboard.compat.proto import config_pb2

        rm = config_pb2.RunMetadata()
        for g in graph_defs:
            rm.function_graphs.add().pre_optimization_graph.CopyFrom(g)
        return self.blob(plugin_name, tag, rm.SerializeToString(), step=step)

    def graph_def(self, payload, step=0):
        """An event-file `graph_def` (what `tf.summary.graph` and TF1 writers leave)."""
        from tensorboard.compat.proto import event_pb2

        if not isinstance(payload, bytes):
            payload = payload.SerializeToString()
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, graph_def=payload))
        return self

    def flush(self):
        """Write what is buffered (a training job's writer between two records)."""
        self._writer.flush()
        return self

    def close(self):
        self._writer.flush()
        self._writer.close()


def graph_def(nodes, functions=(), types=True):
    """A GraphDef from (name, op, [inputs][, attrs]) tuples: `attrs` maps an attribute to an AttrValue, bytes
    (a string attribute) or str (a function's name); with `types`, each node gets a float `T` (or `dtype`, for
    Placeholder, _Arg and Const) first. `functions` (function_def's) make its library."""
    from tensorboard.compat.proto import graph_pb2, types_pb2

    g = graph_pb2.GraphDef()
    for name, op, inputs, *attrs in nodes:
        n = g.node.add(name=name, op=op, input=list(inputs))
        if types:
            n.attr["dtype" if op in ("Placeholder", "_Arg", "Const") else "T"].type = types_pb2.DT_FLOAT
        _set_attrs(n, attrs[0] if attrs else {})
    g.library.function.extend(functions)
    return g


def function_def(name, nodes, rets=None, args=("x",)):
    """A FunctionDef of float arguments `args`, (name, op, [inputs][, attrs]) nodes and {output: source} rets."""
    from tensorboard.compat.proto import function_pb2, types_pb2

    f = function_pb2.FunctionDef()
    f.signature.name = name
    for arg in args:
        f.signature.input_arg.add(name=arg, type=types_pb2.DT_FLOAT)
    for ret, source in (rets or {}).items():
        f.signature.output_arg.add(name=ret, type=types_pb2.DT_FLOAT)
        f.ret[ret] = source
    for node_name, op, inputs, *attrs in nodes:
        _set_attrs(f.node_def.add(name=node_name, op=op, input=list(inputs)), attrs[0] if attrs else {})
    return f


def _set_attrs(node, attrs: dict) -> None:
    for key, value in attrs.items():
        if isinstance(value, bytes):
            node.attr[key].s = value
        elif isinstance(value, str):
            node.attr[key].func.name = value
        else:
            node.attr[key].CopyFrom(value)


# Names that would run script if a page ever put them into the DOM as HTML.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SVG = "<svg onload=alert(1)>"


def write_xss_records(logdir, run="xss"):
    """A trace and a run graph whose node names, op types and attributes are markup."""
    nodes = [
        ("x", "Placeholder", []),
        (XSS_IMG, "Identity", ["x"]),
        (XSS_SCRIPT, "Neg", [XSS_IMG]),
        (f"{XSS_IMG}/Square", "Square", [XSS_SCRIPT]),
        (f"{XSS_SVG}/{XSS_SVG}", XSS_IMG, [f"{XSS_IMG}/Square"]),
    ]
    g = graph_def(nodes)
    g.node[-1].attr["note"].s = XSS_SCRIPT.encode()
    g.node[-1].attr[XSS_SVG].s = XSS_IMG.encode()
    w = RawWriter(logdir, run)
    w.run_metadata("markup", [g])
    w.graph_def(g)
    w.close()
    return w.run_dir


BAD_RECORDS = {
    # tag: (plugin name, payload, why it is bad)
    "garbage": ("graph_run_metadata_graph", b"\x0f\xff\xfe not a RunMetadata \x00\x07", "garbage bytes"),
    "empty_run_metadata": ("graph_run_metadata_graph", b"", "an empty RunMetadata"),
    "profiler_empty": ("graph_run_metadata", b"", "trace_on(profiler=True) on TF 2.21: empty RunMetadata"),
    "keras": ("graph_keras_model", b'{"class_name": "Sequential", "config": {"layers": [', "Keras JSON that does not parse"),
}


def write_bad_records(logdir, run="bad_records"):
    """Records that hold no readable graph: each of BAD_RECORDS, plus a run graph
    of garbage bytes in its own run `bad_run_graph`."""
    w = RawWriter(logdir, run)
    for tag, (plugin, payload, _) in BAD_RECORDS.items():
        w.blob(plugin, tag, payload)
    w.close()
    g = RawWriter(logdir, "bad_run_graph")
    g.graph_def(b"\x0f\xff\xfe not a GraphDef")
    g.close()
    return w.run_dir


def write_net_run_graph(logdir, run="run_graph"):
    """A real `tf.summary.graph` of a small tf.Module's concrete function (NET_RUN_GRAPH: `NET`, its graph `G`)."""
    return write_graph_with_tf(logdir, run, NET_RUN_GRAPH)


NET_RUN_GRAPH = """
        class Net(tf.Module):
            def __init__(self):
                super().__init__(name="net")
                with self.name_scope:
                    self.w = tf.Variable(tf.ones([3, 2]), name="w")
            @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
            def __call__(self, x):
                with self.name_scope:
                    return tf.nn.relu(tf.matmul(x, self.w))
        NET = Net()
        G = NET.__call__.get_concrete_function().graph
        """
