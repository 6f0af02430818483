"""Hostile logdirs (issue 5): every bad input a graph record can hold, written by hand with
TensorBoard's own event writer (no TensorFlow), and the answer each must get.

`write_hostile_logdir(logdir)` writes them all; `CASES` says, per (run, tag), what the
`hierarchy` route answers: 200 (a best-effort graph) or an error status with words of its
message. Used by tests/test_hostile_inputs.py (the answers), tests/test_load_fast.py (the
same answers under the Rust data server) and the `hostile_*` fixtures of conftest.py.
"""

import json
import random

from tests.helpers.records import XSS_IMG, XSS_SCRIPT, XSS_SVG, RawWriter, graph_def
from tests.helpers.records import function_def as _function

TRACE = "graph_run_metadata_graph"
KERAS = "graph_keras_model"
RUN_GRAPH = "__run_graph__"

LONG = 10_000
DEEP = 1_000
DEEP_NAME = "/".join(f"s{i}" for i in range(DEEP)) + "/leaf"
LONG_NAME = "n" * LONG
UNICODE_NAMES = [
    "模型/层/乘法",
    "emoji 🙂/op 🚀",
    "rtl \u202egnp.exe/op",
    "nul\x00byte/op",
    "line\u2028sep/op",
    "combining e\u0301/op",
    "zero\u200bwidth/op",
    "tab\tand\nnewline/op",
]
MARKUP_NAMES = [XSS_IMG, f"{XSS_SVG}/op", XSS_SCRIPT, "&amp;&lt;x&gt;/\"quoted\" 'single'", "{{7*7}}/${7*7}"]
# Unicode digits that str.isdigit() accepts but int() does not.
ODD_DIGITS = "²³¹"


def _graph(nodes, functions=()):
    return graph_def(nodes, functions, types=False)


def _branches(*names):
    from tensorboard.compat.proto import attr_value_pb2

    value = attr_value_pb2.AttrValue()
    for name in names:
        value.list.func.add(name=name)
    return value


def _invalid_utf8_graph():
    """A GraphDef whose node name is not UTF-8 (no TensorFlow writes this; protobuf refuses it)."""
    return _graph([("XXXX", "Const", [])]).SerializeToString().replace(b"XXXX", b"\xff\xfe\xfd\xfc")


def _nested(depth, leaf="1"):
    return "[" * depth + leaf + "]" * depth


def _sequential(depth):
    model = {"class_name": "Dense", "config": {"name": "core"}}
    for i in range(depth):
        model = {"class_name": "Sequential", "config": {"name": f"level_{i}", "layers": [model]}}
    return model


TRACES = {
    # tag: GraphDefs of a trace_export record
    "dangling": [_graph([("a", "Const", []), ("b", "AddV2", ["a", "ghost", "ghost:3", "^ghost2", "a:7"]),
                         ("c", "Relu", ["^b", "b:0", "missing/deep:out:1"])])],
    "cycle": [_graph([("a", "AddV2", ["c"]), ("b", "AddV2", ["a"]), ("c", "AddV2", ["b"]),
                      ("d", "AddV2", ["d", "^d"]), ("s/x", "Mul", ["s/y"]), ("s/y", "Mul", ["s/x"])])],
    "duplicates": [_graph([("a", "Const", []), ("a", "Const", []), ("a", "Relu", ["a"]), ("a/b", "Relu", ["a"]),
                           ("b", "Relu", ["a", "a/b"]), ("a (2)", "Const", [])])],
    "long_names": [_graph([(LONG_NAME, "Const", []), ("s/" + "m" * LONG, "Relu", [LONG_NAME]),
                           ("x" * LONG + "/" + "y" * LONG, "Relu", ["s/" + "m" * LONG])])],
    "empty_names": [_graph([("", "Const", []), ("/", "Const", []), ("a//b", "Relu", [""]), ("a/", "Relu", ["/"]),
                            ("//", "Relu", ["a//b"]), ("a", "Relu", ["a/"])])],
    # Scopes behind a leading "/" named like the groups the plugin adds at the top, on a crowded top level.
    "plugin_names": [_graph([("/ops_outside_scopes/x", "Const", []), ("/outputs", "Const", []),
                             ("out", "_Retval", ["/outputs"])] +
                            [(f"a{i}", "Relu", ["/ops_outside_scopes/x"]) for i in range(13)])],
    "deep_scopes": [_graph([("x", "Const", []), (DEEP_NAME, "Relu", ["x"]),
                            ("/".join(f"s{i}" for i in range(DEEP // 2)) + "/half", "Relu", [DEEP_NAME])])],
    "unicode": [_graph([(name, op, [], {"note": name.encode() + b" \xff\xfe not utf-8"})
                        for name, op in zip(UNICODE_NAMES, ["Ünïcødé", "🙂", "Const", "Const", "Const", "Const",
                                                            "Const", "Const"])])],
    "markup": [_graph([(name, XSS_IMG if i % 2 else "Const", [], {XSS_SVG: XSS_SCRIPT.encode()})
                       for i, name in enumerate(MARKUP_NAMES)])],
    "odd_digits": [_graph([("x", "Const", [])] + [(f"AddN_{d}", "AddN", [f"x:{d}"]) for d in ODD_DIGITS] +
                          [(f"AddN_{i}", "AddN", ["x"]) for i in range(1, 6)] + [("Relu", "Relu", ["x:²"])])],
    "recursion": [_graph(
        [("x", "Const", []), ("self", "StatefulPartitionedCall", ["x"], {"f": "loop"}),
         ("mutual", "PartitionedCall", ["x"], {"f": "ping"}),
         ("missing", "StatefulPartitionedCall", ["x"], {"f": "no_such_function"}),
         ("no_f", "StatefulPartitionedCall", ["x"]),
         ("cond", "StatelessIf", ["x", "x"], {"then_branch": "loop", "else_branch": "nowhere"}),
         ("while", "While", ["x"], {"cond": "loop", "body": "while_body"}),
         ("case", "Case", ["x", "x"], {"branches": _branches("ping", "nowhere", "loop")}),
         ("direct", "ping", ["x"])],
        functions=[
            _function("loop", [("again", "StatefulPartitionedCall", ["x"], {"f": "loop"})], {"y": "again:output:0"}),
            _function("ping", [("call_pong", "PartitionedCall", ["x"], {"f": "pong"})], {"y": "call_pong:output:0"}),
            _function("pong", [("call_ping", "PartitionedCall", ["x"], {"f": "ping"})], {"y": "call_ping:output:0"}),
            _function("while_body", [("body_again", "While", ["x"], {"cond": "loop", "body": "while_body"})],
                      {"y": "body_again:output:0"}),
        ])],
    "library_only": [_graph([], functions=[_function("lonely", [("op", "Relu", ["x"])], {"y": "op:activations:0"})])],
    "empty_graphs": [_graph([]), _graph([])],
}
BLOBS = {
    # tag: (plugin name, payload)
    "random_bytes": (TRACE, bytes(random.Random(5).getrandbits(8) for _ in range(4096)) + b"\xff\xff"),
    "empty_run_metadata": (TRACE, b""),
    "profiler_empty": ("graph_run_metadata", b""),
    "invalid_utf8": (TRACE, None),  # filled in by write_hostile_logdir (a RunMetadata around _invalid_utf8_graph)
    "keras_not_json": (KERAS, b'{"class_name": "Sequential", "config": {"layers": ['),
    "keras_list": (KERAS, b"[1, 2, 3]"),
    "keras_not_utf8": (KERAS, b'{"class_name": "\xff\xfe"}'),
    "keras_no_class": (KERAS, json.dumps({"config": {"layers": []}}).encode()),
    "keras_unknown_class": (KERAS, json.dumps({"class_name": "Mystery", "config": {"anything": [1, {"a": None}]}})
                            .encode()),
    "keras_layers_not_a_list": (KERAS, json.dumps({"class_name": "Functional", "config": {"layers": {"a": 1}}})
                                .encode()),
    "keras_odd_layers": (KERAS, json.dumps({"class_name": "Functional", "config": {"name": XSS_IMG, "layers": [
        1, None, "text", [], {"class_name": "Dense"}, {"name": "a/b/c", "class_name": "Dense", "config": None},
        {"name": "dup", "class_name": "Dense", "config": {"name": "dup"}, "inbound_nodes": "nonsense"},
        {"name": "dup", "class_name": "Dense", "config": {"name": "dup", "units": {"class_name": 3}},
         "inbound_nodes": [[["dup", 0, 0, {}]], {"args": [{"config": {"keras_history": [["x"], "y"]}}]}, 7]},
        {"name": "", "class_name": None, "config": {"name": "", "trainable": "yes", "x": "y" * 5000}},
        {"name": XSS_SCRIPT, "class_name": XSS_SVG, "config": {"name": XSS_SCRIPT}, "inbound_nodes": [
            {"args": [{"config": {"keras_history": ["dup", 0, 0], "shape": "not a list", "dtype": {"a": 1}}}]}]},
    ]}}).encode()),
    "keras_deep_models": (KERAS, json.dumps(_sequential(100)).encode()),
    "keras_deep_value": (KERAS, ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", '
                                 '"config": {"name": "d", "deep": %s}}]}}' % _nested(900)).encode()),
    "keras_too_deep": (KERAS, _nested(100_000).encode()),
}
# tag -> (status of the hierarchy route, words of its error message)
EXPECTED = {
    **{tag: (200, None) for tag in TRACES if tag not in ("empty_graphs", "library_only")},
    "empty_graphs": (422, "holds no graph"),
    "library_only": (422, "holds no graph"),
    "random_bytes": (422, "not a readable RunMetadata"),
    "empty_run_metadata": (422, "trace_on(graph=True)"),
    "profiler_empty": (422, "trace_on(graph=True)"),
    "invalid_utf8": (422, "not a readable RunMetadata"),
    "keras_not_json": (422, "not readable JSON"),
    "keras_list": (422, "not a Keras model"),
    "keras_not_utf8": (422, "not readable JSON"),
    "keras_no_class": (422, "not a Keras model"),
    "keras_unknown_class": (200, None),
    "keras_layers_not_a_list": (200, None),
    "keras_odd_layers": (200, None),
    "keras_deep_models": (200, None),
    "keras_deep_value": (200, None),
    "keras_too_deep": (422, "not readable JSON"),
}
HOSTILE_RUN = "hostile"
# Run graphs: one per run (event-file graph_def), run name -> (payload, status, words)
RUN_GRAPHS = {
    "rg_garbage": (b"\x0f\xff\xfe not a GraphDef", 422, "not a readable GraphDef"),
    "rg_invalid_utf8": (_invalid_utf8_graph(), 422, "not a readable GraphDef"),
    "rg_empty": (b"", 422, "empty GraphDef"),
    "rg_dangling_cycle": (_graph([("a", "AddV2", ["b", "ghost"]), ("b", "AddV2", ["a"])]).SerializeToString(),
                          200, None),
}
# A run and a tag that are markup themselves.
MARKUP_RUN, MARKUP_TAG = XSS_IMG, XSS_SVG

CASES = {**{(HOSTILE_RUN, tag): EXPECTED[tag] for tag in EXPECTED},
         **{(run, RUN_GRAPH): (status, words) for run, (_, status, words) in RUN_GRAPHS.items()},
         (MARKUP_RUN, MARKUP_TAG): (200, None)}


def write_hostile_logdir(logdir):
    """Every case of CASES into `logdir`."""
    from tensorboard.compat.proto import config_pb2

    w = RawWriter(logdir, HOSTILE_RUN)
    for tag, graph_defs in TRACES.items():
        w.run_metadata(tag, graph_defs)
    for tag, (plugin, payload) in BLOBS.items():
        if payload is None:
            run_metadata = config_pb2.RunMetadata()
            run_metadata.function_graphs.add().pre_optimization_graph.node.add(name="ZZZZ", op="Const")
            payload = run_metadata.SerializeToString().replace(b"ZZZZ", b"\xff\xfe\xfd\xfc")
        w.blob(plugin, tag, payload)
    w.close()
    for run, (payload, _, _) in RUN_GRAPHS.items():
        RawWriter(logdir, run).graph_def(payload).close()
    RawWriter(logdir, MARKUP_RUN).run_metadata(MARKUP_TAG, [_graph(
        [("x", "Placeholder", []), (XSS_SCRIPT, XSS_IMG, ["x"], {"label": XSS_SVG.encode()})])]).close()
    return logdir


# --- Graphs of a realistic shape, for the concurrency tests --------------------------------
def synthetic_graph(layers, blocks, ops_per_block, seed=0):
    """A traced model's graph: `model/layer_i/block_j/...` ops chained through the layers, one captured
    variable per block, block 0 of each layer called through a function, numbered ops that fold."""
    from tensorboard.compat.proto import types_pb2

    rng = random.Random(seed)
    nodes = [("x", "_Arg", [], {"T": _type_attr(types_pb2.DT_FLOAT)})]
    functions = []
    previous = "x"
    for i in range(layers):
        for j in range(blocks):
            scope = f"model/layer_{i}/block_{j}"
            var = f"{scope.replace('/', '_')}_readvariableop_resource"
            nodes.append((var, "_Arg", [], {"T": _type_attr(types_pb2.DT_RESOURCE)}))
            nodes.append((f"{scope}/ReadVariableOp", "ReadVariableOp", [var]))
            if j == 0:
                fname = f"block_fn_{i}"
                body = [(f"{scope}/inner/Mul", "Mul", ["x", "x"]), (f"{scope}/inner/Relu", "Relu",
                                                                      [f"{scope}/inner/Mul:z:0"])]
                functions.append(_function(fname, body, {"y": f"{scope}/inner/Relu:activations:0"}))
                nodes.append((f"{scope}/StatefulPartitionedCall", "StatefulPartitionedCall", [previous],
                              {"f": fname}))
                previous = f"{scope}/StatefulPartitionedCall"
            for k in range(ops_per_block):
                name = f"{scope}/{rng.choice(['MatMul', 'AddV2', 'Relu', 'Mul'])}_{k}"
                inputs = [previous] + ([f"{scope}/ReadVariableOp"] if k == 0 else [])
                nodes.append((name, name.rsplit("/", 1)[1].split("_")[0], inputs))
                previous = name
    nodes.append(("Identity", "Identity", [previous]))
    nodes.append(("output", "_Retval", ["Identity"]))
    return _graph(nodes, functions)


def _type_attr(dtype):
    from tensorboard.compat.proto import attr_value_pb2

    return attr_value_pb2.AttrValue(type=dtype)


SYNTHETIC = {
    # run -> (layers, blocks, ops per block): about 300, 3,000 and 12,000 ops
    "synthetic_small": (3, 4, 20),
    "synthetic_medium": (10, 10, 28),
    "synthetic_large": (24, 20, 24),
}
SYNTHETIC_TAG = "train_step"


def write_synthetic_runs(logdir):
    for seed, (run, shape) in enumerate(SYNTHETIC.items()):
        RawWriter(logdir, run).run_metadata(SYNTHETIC_TAG, [synthetic_graph(*shape, seed=seed)]).close()
    return logdir


# --- Event files cut mid-record ---------------------------------------------------------------
CUT_RUN = "cut_records"  # a whole trace, then one cut in half: the first is served
CUT_ALONE_RUN = "cut_alone"  # only a trace cut in half: no graph


def write_cut_runs(logdir):
    """Event files a training job left half written (killed while writing, disk full)."""
    small = [_graph([("cut/x", "Const", []), ("cut/y", "Relu", ["cut/x"])])]
    for run, whole in ((CUT_RUN, True), (CUT_ALONE_RUN, False)):
        w = RawWriter(logdir, run)
        if whole:
            w.run_metadata("whole", small)
        w.flush()
        path = _event_file(w.run_dir)
        before = path.stat().st_size
        w.run_metadata("cut", small)
        w.close()
        after = path.stat().st_size
        with open(path, "r+b") as f:
            f.truncate(before + (after - before) // 2)
    return logdir


def _event_file(run_dir):
    files = sorted(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1, files
    return files[0]


# What every loader lists once it has read the logdir.
LISTED = sorted(set(CASES) | {(run, SYNTHETIC_TAG) for run in SYNTHETIC} | {(CUT_RUN, "whole")})
