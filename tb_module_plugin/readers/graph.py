"""Reading graph records: a GraphDef (a run graph, a module record's graph) or a `trace_export` RunMetadata, and
which of a trace's graphs is the user's. Hands back flat lists of ops (ops.Op), function calls expanded (expand.py).
Nothing here knows about HTTP or JSON.
"""

from __future__ import annotations

from typing import Iterable

from google.protobuf import message as pb_message
from tensorboard.compat.proto import graph_pb2

from ..errors import GraphError
from . import lite_proto
from .budget import Budget
from .expand import flatten_calls, flatten_graph_def, functions_of
from ..tree.ops import ARG_OPS, RETVAL_OPS, FlatGraph, Op, is_resource_input


def parse_graph_def(blob: bytes):
    """A GraphDef: its nodes as a lite_proto.NodeTable, or the full GraphDef if it holds a function library."""
    try:
        graph_def = lite_proto.GraphDef.FromString(blob)
    except (pb_message.DecodeError, RuntimeError, ValueError) as e:
        raise GraphError(f"This record is not a readable GraphDef ({e}).") from None
    graph = _readable(graph_def, "This record is not a readable GraphDef")
    if not _node_count(graph) and not functions_of(graph):
        raise GraphError("This record holds an empty GraphDef: there is no op to show.")
    return graph


def flatten_returning(graph_def, returns: list, budget: Budget | None = None) -> tuple:
    """(flatten_graph_def's ops, the ops `returns` name: input strings of the graph's nodes, a function's outputs
    `name:1` and control outputs `^name`, resolved as an op's inputs are: an expanded call's output is its body's
    return value, waiting for a call is waiting for its control returns), None where one names no op."""
    if graph_def.__class__ is lite_proto.NodeTable:  # (no calls: each names an op)
        ops = flatten_graph_def(graph_def)
        names = dict(zip(reversed(graph_def.names), reversed(ops)))  # (the first op of a duplicated name keeps it)
        found = [names.get(ref.lstrip("^").partition(":")[0]) for ref in returns]
        return ops, (None if None in found else found)
    flattener = flatten_calls(graph_def, budget)
    found = [[op for op, _ in flattener.resolve(flattener.root, ref.lstrip("^"), ref.startswith("^"), 0)]
             for ref in returns]
    return flattener.ops, (None if not all(found) else [op for ops in found for op in ops])


def parse_run_metadata(blob: bytes, profiled: bool = False) -> list:
    """The GraphDefs of a trace_export record, in recording order (`profiled`: written with profiler=True)."""
    try:
        run_metadata = lite_proto.RunMetadata.FromString(blob)
    except (pb_message.DecodeError, RuntimeError, ValueError) as e:
        raise GraphError(f"This trace record is not a readable RunMetadata ({e}).") from None
    graphs = []
    for function_graph in run_metadata.function_graphs:
        for candidate in (function_graph.pre_optimization_graph, function_graph.post_optimization_graph):
            if candidate.node:
                graphs.append(candidate)
                break
    if not graphs:
        graphs = [g for g in run_metadata.partition_graphs if g.node]
    if not graphs:
        raise GraphError(empty_trace_message(profiled))
    # Each graph copied out on its own: its ops keep its nodes, which would otherwise keep the whole record (the
    # optimized and partition graphs a trace also holds) alive.
    return [_readable(lite_proto.GraphDef.FromString(g.SerializeToString()),
                      "This trace record is not a readable RunMetadata") for g in graphs]


def empty_trace_message(profiled: bool) -> str:
    """What an empty trace means, the commonest cause first."""
    causes = ("Most often the tf.function had already run before tf.summary.trace_on(graph=True): a function is "
              "recorded only while it is being traced, so call trace_on before its first call (a Keras model's step "
              "called once before trace_on records no graph at all).")
    if profiled:
        causes += (" This record was written with profiler=True: on TensorFlow 2.21, tf.summary.trace_on(graph=True, "
                   "profiler=True) without profiler_outdir records an empty trace too; record the graph with "
                   "tf.summary.trace_on(graph=True) alone and profile a later call with "
                   "tf.profiler.experimental.start/stop.")
    return ("This trace holds no graph. " + causes + " " + _XLA + " To record it: tf.summary.trace_on(graph=True), "
            "then the first call of your tf.function, then tf.summary.trace_export(name, step=0); or write it with "
            "tb_module_plugin.summary.module_graph(name, module, example_input).")


# Why a trace of a tf.function(jit_compile=True) call holds no graph of it, and what records one.
_XLA = ("TensorFlow records no graph for a call of a tf.function(jit_compile=True): XLA compiles it as a whole; "
        "tb_module_plugin.summary.module_graph(name, module, example_input, fn=your_function) records its graph "
        "(the graph XLA compiles).")


def eager_only_message(graphs: list) -> str:
    """What a trace that holds only eager ops' one-op graphs means (a tf.function's graph always has more: at
    least an Identity before its return value): the function was compiled with XLA, or traced before trace_on."""
    types = sorted({op_type for graph in graphs for _, op_type, _ in _nodes(graph)
                    if op_type not in ARG_OPS and op_type not in RETVAL_OPS and op_type != "NoOp"})
    shown = ", ".join(types[:4]) + (", ..." if len(types) > 4 else "")
    return (f"This trace holds no graph of a tf.function, only the one-op graphs TensorFlow records for ops run "
            f"eagerly ({shown}). {_XLA} Otherwise the function had already run before "
            "tf.summary.trace_on(graph=True): call trace_on before its first call.")


def _readable(graph_def, unreadable: str):
    """A lean GraphDef's NodeTable; one that holds functions is parsed again in full instead: expanding calls
    reads the functions' attrs. A node that does not decode makes the record `unreadable`."""
    try:
        if graph_def.library:
            return graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
        return lite_proto.node_table(graph_def.node)
    except (pb_message.DecodeError, RuntimeError, ValueError) as e:
        raise GraphError(f"{unreadable} ({e}).") from None


def _node_count(graph) -> int:
    return len(graph.names) if graph.__class__ is lite_proto.NodeTable else len(graph.node)


def _nodes(graph) -> Iterable:
    """(name, op type, NodeDef or its bytes) of each node of a parsed graph."""
    if graph.__class__ is lite_proto.NodeTable:
        return zip(graph.names, graph.ops, graph.nodes)
    return ((node.name, node.op, node) for node in graph.node)


def flatten_trace(graph_defs: list) -> FlatGraph:
    """Pick the traced function among a trace's graphs and flatten everything.

    trace_on records one tiny graph per eager op run meanwhile, and (TF 2.21, which keeps collecting after
    trace_export) every graph made since an earlier trace_export in the same process; the user's function is the
    last function graph. (A function first run before trace_on but after an earlier trace_export cannot be
    told from it: the record holds no function name nor any mark of when trace_on was called.)
    """
    is_eager = [is_eager_op_graph(g) for g in graph_defs]
    real = [g for g, eager_op in zip(graph_defs, is_eager) if not eager_op]
    eager = [g for g, eager_op in zip(graph_defs, is_eager) if eager_op]
    if not real:
        raise GraphError(eager_only_message(eager))
    real = _without_callees(real)
    budget = Budget()  # one for the whole trace: each of its graphs may hold the same few KB of fan-out
    main = flatten_graph_def(real[-1], budget)
    others = []
    for graph_def in real[:-1]:
        ops = flatten_graph_def(graph_def, budget)
        others.append((_function_label(ops), ops))
    eager_ops = []
    seen: dict = {}
    for graph in eager:
        for name, op_type, node_def in _nodes(graph):
            if op_type not in ARG_OPS and op_type not in RETVAL_OPS:
                k = seen[op_type] = seen.get(op_type, -1) + 1  # numbered, so they fold into series
                placement = f"{op_type}_{k}" if k else op_type
                eager_ops.append(Op(placement, name, op_type, node_def))
    return FlatGraph(ops=main, other_functions=others, eager_ops=eager_ops)


def _without_callees(graphs: list) -> list:
    """The graphs that no other graph of the trace calls: the runtime may record a function that the traced one
    calls as a graph of its own, and the call is expanded in place already. A graph is a callee when its ops (but
    its arguments, `_Arg`s or a FuncGraph's placeholders, and return values) are those of a function in another
    graph's library."""
    libraries = [{f.signature.name: {n.name for n in f.node_def} for f in functions_of(g)} for g in graphs]
    if len(graphs) < 2 or not any(libraries):
        return graphs
    kept = []
    for i, graph in enumerate(graphs):
        names = {name for name, op_type, _ in _nodes(graph)
                 if op_type not in ARG_OPS and op_type not in RETVAL_OPS and op_type != "Placeholder"}
        called = names and any(names == nodes for j, library in enumerate(libraries) if j != i
                               for nodes in library.values())
        if not called:
            kept.append(graph)
    return kept or graphs[-1:]


def is_eager_op_graph(graph) -> bool:
    """A graph trace_on recorded for an eager op: arguments, the op, return values. On oneDNN builds (TF 2.21) one
    such GraphDef can hold the op twice, as run and as rewritten (`MatMul` and `_MklMatMul`, each with arguments of
    its own): no op of it feeds another. A tf.function's graph always has an op feeding another (at least an
    Identity before its return value), and usually scoped names."""
    real: set = set()
    later = []  # (the inputs of ops that may name an op listed after them)
    for i, (name, op_type, node) in enumerate(_nodes(graph)):
        if op_type not in ARG_OPS and op_type not in RETVAL_OPS and op_type != "NoOp":
            if "/" in name:
                return False  # a function's graph: stop reading it here
            sources = [source.lstrip("^").split(":", 1)[0] for source in _inputs(graph, i, node)]
            if any(source in real for source in sources):
                return False  # an op feeds another
            real.add(name)
            later += sources
    return not any(source in real for source in later)


def _inputs(graph, i: int, node) -> list:
    """The input strings of node `i` of a parsed graph (`node`: what _nodes gives for it)."""
    if graph.__class__ is lite_proto.NodeTable:
        return graph.inputs[graph.marks[i] + 1:graph.marks[i + 1]]
    return node.input


def _function_label(ops: list) -> str:
    """Name a function by its model: the first top-level scope that reads a captured variable (`sequential_1`),
    else its most used top-level scope; graph_N would say nothing."""
    counts: dict = {}
    for op in ops:
        if "/" not in op.placement:
            continue
        top = op.placement.split("/", 1)[0]
        if not top:  # `/name`: no scope to name it by
            continue
        if any(p.type in ARG_OPS and is_resource_input(p.node_def) for p, _, control in op.inputs if not control):
            return top
        counts[top] = counts.get(top, 0) + 1
    return max(counts, key=counts.get) if counts else "function"


# -- Function expansion ---------------------------------------------------------------------------


