"""Turn GraphDef / RunMetadata records into one flat list of ops, with function calls expanded.

This is the format adapter: it knows protobufs, `trace_on` noise and FunctionDef plumbing, and hands
`hierarchy.py` a small typed model (`Op`: a placement name whose `/` segments are name scopes, an op
type and resolved inputs; each Op becomes a leaf of the module tree). Nothing here knows about HTTP or JSON.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections import deque
from itertools import compress, count, islice, repeat
from operator import attrgetter, is_
from sys import intern
from typing import Iterable

from google.protobuf import message as pb_message
from tensorboard.compat.proto import graph_pb2, node_def_pb2, types_pb2

from . import lite_proto
from .tree import TreeNode


class GraphError(Exception):
    """A record that holds no readable graph; the message is meant for the user."""


ARG_OPS = frozenset({"_Arg", "_DeviceArg"})
RETVAL_OPS = frozenset({"_Retval", "_DeviceRetval"})
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable", "VarHandleOpV2"})
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
# Control-flow ops and (attr, label, index of their first data input) for each body they run.
CONTROL_FLOW = {
    "If": (("then_branch", "then"), ("else_branch", "else")),
    "StatelessIf": (("then_branch", "then"), ("else_branch", "else")),
    "While": (("cond", "cond"), ("body", "body")),
    "StatelessWhile": (("cond", "cond"), ("body", "body")),
}
CASE_OPS = frozenset({"Case", "StatelessCase"})
_BODY_OPS = frozenset(CONTROL_FLOW) | CASE_OPS
_NODE_FIELDS = attrgetter("name", "op", "input")
# How deep function calls are expanded; deeper calls (or a function calling itself) stay opaque ops.
MAX_CALL_DEPTH = 24


class Op(TreeNode):
    """One op of the flattened graph, and a leaf of the module tree once hierarchy.py places it (a plain class
    with slots: a graph can hold 200,000 of them)."""

    __slots__ = ("placement", "op_name", "type", "_node_def", "function", "inputs", "role")
    # As a leaf of the tree (a group, tree.Group, has its own).
    kind = "op"
    children = None
    num_ops = 1
    facts = None

    def __init__(self, placement: str, op_name: str, op_type: str, node_def, function: str = ""):
        self.placement = placement  # '/'-separated scopes + own name, where the hierarchy puts it
        self.op_name = op_name  # its name in the GraphDef or FunctionDef it comes from
        self.type = op_type
        self._node_def = node_def  # the NodeDef, its serialized bytes, or (lean GraphDef's nodes, index)
        self.function = function  # the FunctionDef it was expanded from ("" for the traced graph itself)
        self.inputs = []  # [(Op, port, is_control)]
        self.role = ""  # "input" | "variable" | "output" | ""
        self.parent = self._path = self.structure = None  # not placed in a tree yet (see tree.TreeNode)

    @property
    def is_variable(self) -> bool:
        return self.role == "variable"

    @property
    def node_def(self):
        """The op's full NodeDef; parsed again from its bytes (a lean GraphDef's, see lite_proto, or compacted):
        only ops people look at need it."""
        node_def = self._node_def
        if node_def.__class__ is node_def_pb2.NodeDef:
            return node_def
        if node_def.__class__ is tuple:
            nodes, index = node_def
            data = nodes[index]
        else:
            data = node_def if node_def.__class__ is bytes else node_def.SerializeToString()
        return lite_proto.full_node_def(data, self.op_name, self.type)

    def compact(self) -> None:
        """Keep a parsed NodeDef as bytes: a parsed GraphDef takes about four times its serialized size, and any
        NodeDef kept keeps all of it alive. (A lean GraphDef keeps its nodes serialized.)"""
        if self._node_def.__class__ is node_def_pb2.NodeDef:
            self._node_def = self._node_def.SerializeToString()

    def __repr__(self) -> str:
        return f"Op({self.placement!r}, {self.type!r})"


@dataclasses.dataclass
class FlatGraph:
    """The traced function's ops, and those of the other functions the record holds."""

    ops: list  # [Op] of the main function
    other_functions: list  # [(label, [Op])] earlier work recorded in the same trace
    eager_ops: list  # [Op] the single ops of the graphs trace_on records for eager ops


def parse_graph_def(blob: bytes):
    """A GraphDef: its nodes as a lite_proto.NodeTable, or the full GraphDef if it holds a function library."""
    try:
        graph_def = lite_proto.GraphDef.FromString(blob)
    except (pb_message.DecodeError, RuntimeError, ValueError) as e:
        raise GraphError(f"This record is not a readable GraphDef ({e}).") from None
    graph = _readable(graph_def, "This record is not a readable GraphDef")
    if not _node_count(graph) and not _functions(graph):
        raise GraphError("This record holds an empty GraphDef: there is no op to show.")
    return graph


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
    return ("This trace holds no graph. " + causes + " To record it: tf.summary.trace_on(graph=True), then the first "
            "call of your tf.function, then tf.summary.trace_export(name, step=0); or write it with "
            "tb_module_plugin.summary.module_graph(name, module, example_input).")


def _readable(graph_def, unreadable: str):
    """A lean GraphDef's NodeTable; one that holds functions is parsed again in full instead: expanding calls
    reads the functions' attrs. A node that does not decode makes the record `unreadable`."""
    try:
        if graph_def.library:
            return graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
        return lite_proto.node_table(graph_def.node)
    except (pb_message.DecodeError, RuntimeError, ValueError) as e:
        raise GraphError(f"{unreadable} ({e}).") from None


def _functions(graph) -> list:
    """The FunctionDefs of a parsed graph (a NodeTable's graph holds none: see _readable)."""
    return list(graph.library.function) if graph.__class__ is graph_pb2.GraphDef else []


def _node_count(graph) -> int:
    return len(graph.names) if graph.__class__ is lite_proto.NodeTable else len(graph.node)


def _nodes(graph) -> Iterable:
    """(name, op type, NodeDef or its bytes) of each node of a parsed graph."""
    if graph.__class__ is lite_proto.NodeTable:
        return zip(graph.names, graph.ops, graph.nodes)
    return ((node.name, node.op, node) for node in graph.node)


def flatten_trace(graph_defs: list) -> FlatGraph:
    """Pick the traced function among a trace's graphs and flatten everything.

    trace_on records one tiny graph per eager op run meanwhile, and (TF 2.21) graphs of earlier work in the
    same process; the user's function is the last graph that is neither.
    """
    is_eager = [is_eager_op_graph(g) for g in graph_defs]
    real = [g for g, eager_op in zip(graph_defs, is_eager) if not eager_op]
    eager = [g for g, eager_op in zip(graph_defs, is_eager) if eager_op]
    if not real:
        real, eager = eager[-1:], eager[:-1]
    real = _without_callees(real)
    main = flatten_graph_def(real[-1])
    others = []
    for graph_def in real[:-1]:
        ops = flatten_graph_def(graph_def)
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
    libraries = [{f.signature.name: {n.name for n in f.node_def} for f in _functions(g)} for g in graphs]
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
    """A graph trace_on recorded for one eager op: its arguments, the op, its return values."""
    real = 0
    for name, op_type, _ in _nodes(graph):
        if op_type not in ARG_OPS and op_type not in RETVAL_OPS and op_type != "NoOp":
            real += 1
            if real > 1 or "/" in name:
                return False  # a function's graph: stop reading it here
    return True


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


@dataclasses.dataclass(eq=False)
class _Call:
    """An expanded call: its outputs are the body's return values."""

    body: "_Context"
    rets: list  # input strings in the body's context, one per output
    control_rets: list  # names of body nodes that finish the call


@dataclasses.dataclass(eq=False)
class _Context:
    """The outer graph or one instantiated function body: node names to Ops, calls or arguments, and where the
    body's ops are placed (`place`)."""

    names: dict
    parent: "_Context | None" = None
    arg_bindings: dict = dataclasses.field(default_factory=dict)  # arg name -> input string in parent
    is_function: bool = False
    origin: str = ""  # the scope the body's names are written under: a control-flow op's name, a call's scope
    site: str = ""  # where `origin` is placed in the tree
    is_call: bool = False  # a called function's body (its names are relative to the call, unless absolute)
    top_names: frozenset = frozenset()  # (the outer graph) the first name segments of its nodes

    def place(self, name: str) -> str:
        """Where an op of this body named `name` goes. A name under `origin` keeps its place relative to it. A
        name with a scope of its own is absolute when the body runs in the scope it was traced in (every name of
        an If/While body is: TensorFlow builds them in the op's scope) or, in a called function (traced in a
        fresh graph, so its names are relative to the call), when its first scope is one the outer graph or the
        call site has: a tf.Module enters its scope by its full name (`rnn/cell/` inside a loop body, or inside
        a function called from one). Such a name goes where the enclosing body places it, not under this one:
        the module's ops stay in the module."""
        if self.parent is None:
            return name
        origin = self.origin
        if origin and name.startswith(origin) and name[len(origin):len(origin) + 1] == "/" and len(name) > len(
                origin) + 1:
            return f"{self.site}/{name[len(origin) + 1:]}" if self.site else name[len(origin) + 1:]
        if "/" in name and (not self.is_call or self._names_outer_scope(name)):
            return self.parent.place(name)
        return f"{self.site}/{name}" if self.site else name

    def _names_outer_scope(self, name: str) -> bool:
        first = name.partition("/")[0]
        if first and first == self.origin.partition("/")[0]:
            return True
        ctx = self
        while ctx.parent is not None:
            ctx = ctx.parent
        return first in ctx.top_names


def flatten_graph_def(graph_def) -> list:
    """Every op of a GraphDef (or of parse_graph_def's NodeTable), with calls into its library replaced by the
    called bodies."""
    if graph_def.__class__ is lite_proto.NodeTable:
        return _flatten_table(graph_def)
    flattener = _Flattener({f.signature.name: f for f in _functions(graph_def)})
    root = _Context(names={}, top_names=frozenset(node.name.partition("/")[0] for node in graph_def.node))
    flattener.instantiate(root, graph_def.node, call_stack=(), function="")
    flattener.resolve_inputs()
    return flattener.ops


def _flatten_table(table: lite_proto.NodeTable) -> list:
    """flatten_graph_def for a graph without functions (the large ones), a column at a time: every op, then every
    input looked up at once. Inputs with a port, control inputs and unknown names are resolved as in a GraphDef
    with functions (_Flattener.resolve_inputs)."""
    names, marks = table.names, table.marks
    ops = list(map(Op, names, names, table.ops, zip(repeat(table.nodes), range(len(names)))))
    # Each op's output 0 as an input tuple, one per op and shared by every input that names it plainly; the first
    # op of a duplicated name keeps it.
    outputs = dict(zip(reversed(names), zip(reversed(ops), repeat("0"), repeat(False))))
    produced = list(map(outputs.get, table.inputs))
    # (Setting each op's inputs in C: a Python loop over 200,000 ops costs more than making their lists.)
    deque(map(setattr, ops, repeat("inputs"), map(produced.__getitem__, map(slice, map((1).__add__, marks),
                                                                                 islice(marks, 1, None)))), maxlen=0)
    if produced.count(None) != len(names) or lite_proto.MARK in outputs:
        is_mark = set(marks)
        nones = compress(count(), map(is_, produced, repeat(None)))
        unresolved = sorted({bisect_right(marks, i) - 1 for i in nones if i not in is_mark})
        flattener = _Flattener({})  # (each mark finds no op: the ops with an input that does not simply name one)
        root = _Context(names=dict(zip(reversed(names), reversed(ops))))
        for i in unresolved:
            ops[i].inputs = []
            flattener.resolve_later(ops[i], root, table.inputs[marks[i] + 1:marks[i + 1]])
        flattener.resolve_inputs()
    return ops


class _Flattener:
    def __init__(self, library: dict):
        self.library = library
        self.ops: list = []
        self.taken: set = set()
        self._pending: list = []  # (Op, context, input strings)

    def instantiate(self, ctx: _Context, nodes: list, call_stack: tuple, function: str,
                    placements: dict | None = None) -> None:
        """Create ops for `nodes` in `ctx`; expand the calls among them, depth first."""
        library, names, ops, pending, in_function = self.library, ctx.names, self.ops, self._pending, ctx.is_function
        calls = []
        for node in nodes:
            name, op_type, input_strings = _NODE_FIELDS(node)  # read each field once (upb fields are slow)
            op_type = intern(op_type)  # one copy of each op type
            if library and (op_type in CALL_OPS or op_type in library or op_type in _BODY_OPS):
                target = node.attr["f"].func.name if op_type in CALL_OPS and "f" in node.attr else (
                    op_type if op_type in library else "")
                if target in library and target not in call_stack and len(call_stack) < MAX_CALL_DEPTH:
                    calls.append((node, target))
                    continue
            op = Op(placements[name] if placements is not None else name, name, op_type, node, function)
            names.setdefault(name, op)  # the first op of a duplicated name keeps it
            ops.append(op)
            if input_strings:
                # Most inputs name an op created before: resolve those now; the rest (ports, calls, arguments,
                # names defined later) once every op exists, keeping the op's inputs in order. While this loop
                # runs, `names` holds only ops, and in a function body also "arg" (calls are added after it).
                producers = list(map(names.get, input_strings))
                if all(producers) if not in_function else all(p.__class__ is Op for p in producers):
                    op.inputs = [(p, "0", False) for p in producers]
                else:
                    pending.append((op, ctx, input_strings, None))
            if library:
                self.taken.add(op.placement)
                if op_type in _BODY_OPS:
                    for attr, label, first_input in _bodies(node):
                        body = library.get(attr)
                        if body is not None and attr not in call_stack and len(call_stack) < MAX_CALL_DEPTH:
                            self._expand_body(ctx, node, body, list(node.input)[first_input:],
                                              op.placement + "/" + label, call_stack, feeds=op)
        for node, target in calls:
            call_placement = placements[node.name] if placements is not None else node.name
            self._expand_call(ctx, node, library[target], call_placement, call_stack)

    def _expand_call(self, ctx: _Context, node, function, call_placement: str, call_stack: tuple) -> None:
        """Inline a PartitionedCall body where its names say (relative to the call site's scopes, or in the
        absolute scope of a module it enters), or under the call's name if that clashes."""
        body_ctx = self._bind(ctx, function, list(node.input), origin=_scope_of(node.name),
                              site=_scope_of(call_placement), is_call=True)
        body_nodes = list(function.node_def)
        inline = {n.name: body_ctx.place(n.name) for n in body_nodes}
        clashes = {name for name, p in inline.items() if p in self.taken}
        if any("/" in name for name in clashes):
            placements = {n.name: f"{call_placement}/{_relative(n.name, body_ctx.origin)}" for n in body_nodes}
        else:
            placements = {name: (f"{call_placement}/{name}" if name in clashes else p) for name, p in inline.items()}
        control_rets = [function.control_ret[k] for k in sorted(function.control_ret)]  # a map: its order varies
        ctx.names.setdefault(node.name, _Call(body=body_ctx, rets=[function.ret.get(a.name, "") for a in
                                                                   function.signature.output_arg],
                                              control_rets=control_rets))
        self.taken.update(placements.values())
        self.instantiate(body_ctx, body_nodes, call_stack + (function.signature.name,),
                         function.signature.name, placements)

    def _expand_body(self, ctx: _Context, node, function, inputs: list, prefix: str, call_stack: tuple,
                     feeds: Op) -> None:
        """Place a control-flow body under `<op>/<label>/` (but the ops of modules it calls in their own scopes,
        see _Context.place); its return values feed the op."""
        body_nodes = list(function.node_def)
        body_ctx = self._bind(ctx, function, inputs, origin=node.name, site=prefix)
        placements = {n.name: body_ctx.place(n.name) for n in body_nodes}
        self.taken.update(placements.values())
        self.instantiate(body_ctx, body_nodes, call_stack + (function.signature.name,),
                         function.signature.name, placements)
        label = prefix.rsplit("/", 1)[-1]
        for out in function.signature.output_arg:
            ret = function.ret.get(out.name)
            if ret:
                self._pending.append((feeds, body_ctx, [ret], f"{label}:{out.name}"))

    @staticmethod
    def _bind(ctx: _Context, function, inputs: list, origin: str, site: str, is_call: bool = False) -> _Context:
        data_inputs = [i for i in inputs if not i.startswith("^")]
        bindings = {arg.name: (data_inputs[i] if i < len(data_inputs) else None)
                    for i, arg in enumerate(function.signature.input_arg)}
        names = {arg.name: "arg" for arg in function.signature.input_arg}
        return _Context(names=names, parent=ctx, arg_bindings=bindings, is_function=True, origin=origin, site=site,
                        is_call=is_call)

    def resolve_later(self, op: Op, ctx: _Context, input_strings: list) -> None:
        self._pending.append((op, ctx, input_strings, None))

    def resolve_inputs(self) -> None:
        for op, ctx, strings, port_override in self._pending:
            names = ctx.names
            for s in strings:
                target = names.get(s)
                if target.__class__ is Op:  # the common case: a plain `name` input of a plain op
                    op.inputs.append((target, port_override or "0", False))
                    continue
                control = s.startswith("^")
                for producer, port in self._resolve(ctx, s[1:] if control else s, control, 0):
                    op.inputs.append((producer, port_override or port, control))
        self._pending = []

    def _resolve(self, ctx: _Context, ref: str, control: bool, depth: int) -> Iterable:
        """The ops (and their output ports) an input string names, following args and calls."""
        if depth > 4 * MAX_CALL_DEPTH:
            return []
        name, port, index = _split_input(ref, ctx.is_function)
        target = ctx.names.get(name)
        if target is None:
            return []  # a dangling input: nothing to draw
        if target == "arg":
            binding = ctx.arg_bindings.get(name)
            if binding is None or ctx.parent is None:
                return []
            return self._resolve(ctx.parent, binding, control, depth + 1)
        if isinstance(target, _Call):
            if control:
                refs = target.control_rets or [r for r in target.rets if r]
                return [p for r in refs for p in self._resolve(target.body, r, True, depth + 1)]
            if 0 <= index < len(target.rets) and target.rets[index]:
                return self._resolve(target.body, target.rets[index], control, depth + 1)
            return []
        return [(target, port)]


def _bodies(node) -> list:
    """(function name, label, first data input) of each body a control-flow op runs."""
    if node.op in CONTROL_FLOW:
        first = 1 if "If" in node.op else 0
        return [(node.attr[attr].func.name, label, first) for attr, label in CONTROL_FLOW[node.op]
                if attr in node.attr]
    if node.op in CASE_OPS and "branches" in node.attr:
        return [(f.name, f"branch_{i}", 1) for i, f in enumerate(node.attr["branches"].list.func)]
    return []


def _split_input(ref: str, in_function: bool) -> tuple:
    """`name`, `name:1` (GraphDef) or `name:out:1` (FunctionDef) -> (name, port, output index)."""
    parts = ref.split(":")
    if len(parts) == 1:
        return ref, "0", 0
    if len(parts) == 2 and not in_function:
        return parts[0], parts[1], _int(parts[1])
    if len(parts) >= 3:
        return parts[0], ":".join(parts[1:]), _int(parts[-1])
    return parts[0], parts[1], _int(parts[1])


def _int(text: str) -> int:
    return int(text) if text.isdecimal() else 0  # isdigit() also takes "²", which int() refuses


def _scope_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _relative(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if prefix and name.startswith(prefix + "/") and len(name) > len(prefix) + 1 else name


# -- Types and shapes --------------------------------------------------------------------------------


def dtype_name(enum_value: int) -> str:
    try:
        name = types_pb2.DataType.Name(enum_value)
    except ValueError:
        return f"dtype_{enum_value}"
    name = name[3:].lower() if name.startswith("DT_") else name.lower()
    name = name[:-4] if name.endswith("_ref") else name
    return _TF_DTYPE_NAMES.get(name, name)


# The names TensorFlow users know (tf.float32), where the proto enum says otherwise.
_TF_DTYPE_NAMES = {"float": "float32", "double": "float64", "half": "float16"}


def output_dtype(node_def, port: str) -> str:
    """Best guess of an output's dtype from the op's attributes (no op registry without TensorFlow)."""
    attrs = node_def.attr
    index = _int(port.rsplit(":", 1)[-1])
    if node_def.op in VARIABLE_OPS and node_def.op != "VariableV2":
        return "resource"
    for key in ("Tout", "output_types", "out_types", "component_types"):
        if key in attrs and attrs[key].list.type:
            types = attrs[key].list.type
            return dtype_name(types[index]) if index < len(types) else ""
    for key in ("out_type", "DstT", "dtype", "T", "Tidx"):
        if key in attrs and attrs[key].WhichOneof("value") == "type":
            return dtype_name(attrs[key].type)
    return ""


def output_shape(node_def, port: str) -> str:
    """`[2,4]` from `_output_shapes` where the writer recorded them, else ""."""
    if "_output_shapes" not in node_def.attr:
        return ""
    shapes = node_def.attr["_output_shapes"].list.shape
    index = _int(port.rsplit(":", 1)[-1])
    return format_shape(shapes[index]) if index < len(shapes) else ""


def format_shape(shape) -> str:
    if shape.unknown_rank:
        return "?"
    return "[" + ",".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def is_resource_input(node_def) -> bool:
    """A captured variable handle (an `_Arg` of a traced function, a `Placeholder` of a FuncGraph)."""
    key = "T" if node_def.op in ARG_OPS else "dtype" if node_def.op == "Placeholder" else None
    return key is not None and key in node_def.attr and node_def.attr[key].type == types_pb2.DT_RESOURCE


def variable_size(op: Op) -> int | None:
    """Elements of a variable, where the graph says its shape: a VarHandleOp's `shape`, a captured handle's
    `_handle_shapes`, or the `_output_shapes` of an op reading it. None when unknown."""
    attrs = op.node_def.attr
    shape = None
    if "shape" in attrs:
        shape = attrs["shape"].shape
    elif "_handle_shapes" in attrs and attrs["_handle_shapes"].list.shape:
        shape = attrs["_handle_shapes"].list.shape[0]
    elif "_output_shapes" in attrs and op.type not in ARG_OPS and op.type != "Placeholder":
        shape = attrs["_output_shapes"].list.shape[0] if attrs["_output_shapes"].list.shape else None
    if shape is None or shape.unknown_rank or any(d.size < 0 for d in shape.dim):
        return None
    size = 1
    for d in shape.dim:
        size *= d.size
    return size
