"""Function expansion: the calls (`PartitionedCall`, `StatefulPartitionedCall`) and control-flow bodies (`If`,
`While`, `Case`) of a GraphDef replaced by the ops of the functions they run, placed where their names say, with
every input resolved through the calls' arguments and return values."""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections import deque
from itertools import compress, count, islice, repeat
from operator import attrgetter, is_
from sys import intern
from typing import Iterable

from tensorboard.compat.proto import graph_pb2

from . import lite_proto
from .loops import int_constant, loop_trips
from ..tree.ops import CALL_OPS, CASE_OPS, CONTROL_FLOW, WHILE_OPS, FunctionOp, Op, UnexpandedOp, UnreachedOp
from ..tree.ops import port_index
from .budget import Budget, body_cost
from ..tree.ops import table_op_class

_BODY_OPS = frozenset(CONTROL_FLOW) | CASE_OPS
_NODE_FIELDS = attrgetter("name", "op", "input")
# How deep function calls are expanded; deeper calls (or a function calling itself) stay opaque ops.
MAX_CALL_DEPTH = 24

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
    call_prefix: str = ""  # the names of the calls and control-flow ops the body runs inside (see Op.run_name)

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


def flatten_graph_def(graph_def, budget: Budget | None = None) -> list:
    """Every op of a GraphDef (or of parse_graph_def's NodeTable), with calls into its library replaced by the
    called bodies, within `budget` (the record's, when it holds several graphs; else one of its own)."""
    if graph_def.__class__ is lite_proto.NodeTable:
        return _flatten_table(graph_def)
    return flatten_calls(graph_def, budget).ops


def flatten_calls(graph_def, budget: Budget | None) -> "_Flattener":
    """The flattening of a GraphDef (see flatten_graph_def), its outer graph's context kept as `root`."""
    flattener = _Flattener({f.signature.name: f for f in functions_of(graph_def)}, budget or Budget())
    flattener.root = _Context(names={}, top_names=frozenset(node.name.partition("/")[0] for node in graph_def.node))
    flattener.instantiate(flattener.root, graph_def.node, call_stack=(), function="")
    flattener.resolve_inputs()
    flattener.count_trips()
    return flattener


def _flatten_table(table: lite_proto.NodeTable) -> list:
    """flatten_graph_def for a graph without functions (the large ones), a column at a time: every op, then every
    input looked up at once. Inputs with a port, control inputs and unknown names are resolved as in a GraphDef
    with functions (_Flattener.resolve_inputs)."""
    names, marks = table.names, table.marks
    # (the rows made at once, before the ops: in pools of their own, which tree.ops.share_rows frees whole)
    ops = list(map(table_op_class(table.nodes, table.on_devices), names, table.ops, list(range(len(names)))))
    # Each op's output 0 as an input tuple, one per op and shared by every input that names it plainly.
    outputs = list(zip(ops, repeat("0"), repeat(False)))
    distinct = set(names)
    named_mark, repeated = lite_proto.MARK in distinct, len(distinct) != len(names)
    del distinct
    # (a tuple: each op's inputs are a slice of it, a tuple too, 40 bytes smaller than a list; ops whose inputs
    # are resolved later get a list)
    if repeated or named_mark:  # (the first op of a duplicated name keeps it)
        produced = tuple(map(dict(zip(reversed(names), reversed(outputs))).get, table.inputs))
    else:
        produced = _produced_nearby(names, outputs, table.inputs, marks)
    del outputs  # (the outputs no input names let go before the inputs' tuples are made: the build's peak is here)
    # (Setting each op's inputs in C: a Python loop over 200,000 ops costs more than making their lists.)
    deque(map(setattr, ops, repeat("inputs"), map(produced.__getitem__, map(slice, map((1).__add__, marks),
                                                                                 islice(marks, 1, None)))), maxlen=0)
    if produced.count(None) != len(names) or named_mark:
        is_mark = set(marks)
        nones = compress(count(), map(is_, produced, repeat(None)))
        unresolved = sorted({bisect_right(marks, i) - 1 for i in nones if i not in is_mark})
        # (each mark finds no op: the ops with an input that does not simply name one)
        flattener = _Flattener({}, Budget())
        root = _Context(names=dict(zip(reversed(names), reversed(ops))))
        for i in unresolved:
            ops[i].inputs = []
            flattener.resolve_later(ops[i], root, table.inputs[marks[i] + 1:marks[i + 1]])
        flattener.resolve_inputs()
    return ops


_NEARBY = 4096  # nodes a piece (see _produced_nearby)
_FAR = object()


def _produced_nearby(names: list, outputs: list, inputs: list, marks: list) -> tuple:
    """`outputs[i]` for each input naming node i, None for a mark or an input naming no node, the names all
    distinct. Most inputs name a node read shortly before: each piece of nodes' inputs is looked up among that
    piece's names first (a small dict, in the processor's cache: half the time of looking each up among a
    million), the rest among the names they name."""
    produced = []
    far = []  # positions of the inputs naming no node of their piece
    for start in range(0, len(names), _NEARBY):
        end = min(start + _NEARBY, len(names))
        near = dict(zip(names[start:end], outputs[start:end]))
        near[lite_proto.MARK] = None
        piece = list(map(near.get, inputs[marks[start]:marks[end]], repeat(_FAR)))
        far += compress(count(marks[start]), map(is_, piece, repeat(_FAR)))
        produced += piece
    if far:
        wanted = set(map(inputs.__getitem__, far))
        found = dict(compress(zip(names, outputs), map(wanted.__contains__, names)))
        for i, output in zip(far, map(found.get, map(inputs.__getitem__, far))):
            produced[i] = output
    return tuple(produced)


class _Flattener:
    def __init__(self, library: dict, budget: Budget):
        self.library = library
        self.ops: list = []
        self.taken: set = set()
        self._pending: list = []  # (Op, context, input strings)
        self._loops: list = []  # (While Op, its context, cond FunctionDef, body FunctionDef)
        self._control_producers: dict = {}  # id(_Call) -> what a control input on the call waits for
        self.costs = {name: body_cost(f) for name, f in library.items()}
        self.budget = budget
        self.root: _Context | None = None  # the outer graph's context (flatten_calls)
        budget.add_library(self.costs)

    def instantiate(self, ctx: _Context, nodes: list, call_stack: tuple, function: str,
                    placements: dict | None = None) -> None:
        """Create ops for `nodes` in `ctx`; expand the calls among them, depth first."""
        library, names, ops, pending, in_function = self.library, ctx.names, self.ops, self._pending, ctx.is_function
        calls = []
        for node in nodes:
            name, op_type, input_strings = _NODE_FIELDS(node)  # read each field once (upb fields are slow)
            op_type = intern(op_type)  # one copy of each op type
            if library and (op_type in CALL_OPS or op_type in library or op_type in _BODY_OPS):
                target = callees(node)[0]
                if target in library and target not in call_stack and len(call_stack) < MAX_CALL_DEPTH:
                    calls.append((node, target))
                    continue
            op = FunctionOp(placements[name] if placements is not None else name, name, op_type, node, function,
                            ctx.call_prefix)
            names.setdefault(name, op)  # the first op of a duplicated name keeps it
            ops.append(op)
            if input_strings:
                # Most inputs name an op created before: resolve those now; the rest (ports, calls, arguments,
                # names defined later) once every op exists, keeping the op's inputs in order. While this loop
                # runs, `names` holds only ops, and in a function body also "arg" (calls are added after it).
                producers = list(map(names.get, input_strings))
                if all(producers) if not in_function else all(p.__class__ is FunctionOp for p in producers):
                    op.inputs = [(p, "0", False) for p in producers]
                else:
                    pending.append((op, ctx, input_strings, None))
            if library:
                self.taken.add(op.placement)
                if op_type in WHILE_OPS:
                    cond, body = (library.get(node.attr[a].func.name) if a in node.attr else None
                                  for a in ("cond", "body"))
                    if cond is not None and body is not None:
                        self._loops.append((op, ctx, cond, body))
                if op_type in _BODY_OPS:
                    named = _bodies(node)
                    bodies = [(library[attr], label, first_input) for attr, label, first_input in named
                              if attr in library and attr not in call_stack and len(call_stack) < MAX_CALL_DEPTH]
                    if len(bodies) < len(named):  # (the others still show; the op says some are missing)
                        op.__class__ = UnreachedOp
                    # All of the op's bodies or none within the budget: an op half expanded would be neither
                    # whole nor marked.
                    if bodies and not self.budget.affords(
                            sum(self.costs[b.signature.name] for b, _, _ in bodies), len(bodies)):
                        op.__class__ = UnexpandedOp
                        bodies = []
                    for body, label, first_input in bodies:
                        self._expand_body(ctx, node, body, list(node.input)[first_input:],
                                          op.placement + "/" + label, call_stack, feeds=op)
        for node, target in calls:
            call_placement = placements[node.name] if placements is not None else node.name
            if self.budget.affords(self.costs[target]):
                self._expand_call(ctx, node, library[target], call_placement, call_stack)
            else:  # one op, its outputs its own (as a call into a function the library lacks)
                op = UnexpandedOp(call_placement, node.name, intern(node.op), node, function, ctx.call_prefix)
                names.setdefault(node.name, op)
                ops.append(op)
                self.taken.add(op.placement)
                if node.input:
                    pending.append((op, ctx, list(node.input), None))

    def _expand_call(self, ctx: _Context, node, function, call_placement: str, call_stack: tuple) -> None:
        """Inline a PartitionedCall body where its names say (relative to the call site's scopes, or in the
        absolute scope of a module it enters), or under the call's name if that clashes."""
        body_ctx = self._bind(ctx, node, function, list(node.input), origin=_scope_of(node.name),
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
        body_ctx = self._bind(ctx, node, function, inputs, origin=node.name, site=prefix)
        placements = {n.name: body_ctx.place(n.name) for n in body_nodes}
        self.taken.update(placements.values())
        self.instantiate(body_ctx, body_nodes, call_stack + (function.signature.name,),
                         function.signature.name, placements)
        label = prefix.rsplit("/", 1)[-1]
        for out in function.signature.output_arg:
            ret = function.ret.get(out.name)
            if ret:
                self._pending.append((feeds, body_ctx, [ret], f"{label}:{out.name}"))
        controls = ["^" + function.control_ret[k] for k in sorted(function.control_ret)]  # (its stateful ops: the op
        if controls:  # is done once they ran, whether its outputs read them or not)
            self._pending.append((feeds, body_ctx, controls, None))

    @staticmethod
    def _bind(ctx: _Context, node, function, inputs: list, origin: str, site: str,
              is_call: bool = False) -> _Context:
        """The context of `function`'s body as the op `node` of `ctx` runs it."""
        data_inputs = [i for i in inputs if not i.startswith("^")]
        bindings = {arg.name: (data_inputs[i] if i < len(data_inputs) else None)
                    for i, arg in enumerate(function.signature.input_arg)}
        names = {arg.name: "arg" for arg in function.signature.input_arg}
        return _Context(names=names, parent=ctx, arg_bindings=bindings, is_function=True, origin=origin, site=site,
                        is_call=is_call, call_prefix=f"{ctx.call_prefix}{node.name}/")

    def count_trips(self) -> None:
        """Each While op's trip count, where its cond and its body say it (see loop_trips)."""
        for op, ctx, cond, body in self._loops:
            inputs = [i for i in op.node_def.input if not i.startswith("^")]

            def outer_value(k, ctx=ctx, inputs=inputs):
                if k >= len(inputs):
                    return None
                found = list(self.resolve(ctx, inputs[k], False, 0))
                return int_constant(found[0][0]) if len(found) == 1 else None

            op.trips = loop_trips(cond, body, outer_value)

    def resolve_later(self, op: Op, ctx: _Context, input_strings: list) -> None:
        self._pending.append((op, ctx, input_strings, None))

    def resolve_inputs(self) -> None:
        for op, ctx, strings, port_override in self._pending:
            names = ctx.names
            for s in strings:
                target = names.get(s)
                if target.__class__ is FunctionOp:  # the common case: a plain `name` input of a plain op
                    op.inputs.append((target, port_override or "0", False))
                    continue
                control = s.startswith("^")
                for producer, port in self.resolve(ctx, s[1:] if control else s, control, 0):
                    op.inputs.append((producer, port_override or port, control))
        self._pending = []

    def resolve(self, ctx: _Context, ref: str, control: bool, depth: int) -> Iterable:
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
            return self.resolve(ctx.parent, binding, control, depth + 1)
        if isinstance(target, _Call):
            if control:
                # Once per call, each producer once: rets naming the same call again would repeat it, level after
                # level (2 rets of one call, 24 levels deep: 2**24 walks).
                found = self._control_producers.get(id(target))
                if found is None:
                    self._control_producers[id(target)] = []  # (a cycle back to this call adds nothing)
                    refs = target.control_rets or [r for r in target.rets if r]
                    unique = {}
                    for r in refs:
                        for producer, port in self.resolve(target.body, r, True, depth + 1):
                            unique.setdefault((id(producer), port), (producer, port))
                    found = self._control_producers[id(target)] = list(unique.values())
                return found
            if 0 <= index < len(target.rets) and target.rets[index]:
                return self.resolve(target.body, target.rets[index], control, depth + 1)
            return []
        return [(target, port)]


def callees(node) -> list:
    """The names of the functions `node` may run, each to be looked up in the library (a name it lacks is no
    function): first what a call runs (a PartitionedCall's `f`, else the op type: a function called by its name),
    then the bodies of a control-flow op."""
    called = node.attr["f"].func.name if node.op in CALL_OPS and "f" in node.attr else node.op
    return [called] + [body for body, _, _ in _bodies(node)]


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
        return parts[0], parts[1], port_index(parts[1])
    if len(parts) >= 3:
        return parts[0], ":".join(parts[1:]), port_index(parts[-1])
    return parts[0], parts[1], port_index(parts[1])


def _scope_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _relative(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if prefix and name.startswith(prefix + "/") and len(name) > len(prefix) + 1 else name


def functions_of(graph) -> list:
    """The FunctionDefs of a parsed graph (a NodeTable's graph holds none: see graph._readable)."""
    return list(graph.library.function) if graph.__class__ is graph_pb2.GraphDef else []
