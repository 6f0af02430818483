"""The ops of a flattened graph: the small typed model the readers (graph.py, expand.py, manifest.py) hand the
tree builder (`Op`: a placement whose `/` segments are name scopes, an op type and resolved inputs; each Op becomes a
leaf of the module tree), the op types the engine knows, and what an op's attributes say of its outputs."""

from __future__ import annotations

import dataclasses
from collections import deque
from itertools import compress, repeat
from operator import attrgetter

from google.protobuf import message as pb_message
from tensorboard.compat.proto import node_def_pb2, types_pb2

from .node import TreeNode

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
WHILE_OPS = frozenset({"While", "StatelessWhile"})
_BODY_OPS = frozenset(CONTROL_FLOW) | CASE_OPS


class Op(TreeNode):
    """One op of the flattened graph, and a leaf of the module tree once build/builder.py places it (a plain class
    with slots: a graph can hold a million of them). What every op keeps; an op of a graph with functions is a
    FunctionOp, which keeps also where its function runs."""

    __slots__ = ("placement", "op_name", "type", "_node_def", "inputs", "role")
    # As a leaf of the tree (a group, tree.Group, has its own).
    kind = "op"
    children = None
    num_ops = 1
    facts = None
    _path = None  # (an op keeps no path: see TreeNode.path)
    not_expanded = ""  # schema.NotExpanded (see UnexpandedOp)
    on_devices = True  # whether its graph may name devices for its ops (a TableOp's says whether it does)
    # A graph without functions' op runs in none (FunctionOp keeps its own; a TableOp's class may hold a module
    # record's, see prefix_calls): four slots fewer, 32 MB less on a million ops.
    function = ""
    call_prefix = ""
    trips = None
    placed = None  # (a lean table's ops: see PlacedTableOp)

    def __init__(self, placement: str, op_name: str, op_type: str, node_def):
        self.placement = placement  # '/'-separated scopes + own name, where the hierarchy puts it
        self.op_name = op_name  # its name in the GraphDef or FunctionDef it comes from
        self.type = op_type
        self._node_def = node_def  # the NodeDef, its serialized bytes, or its index in its class's `nodes` (TableOp)
        self.inputs = []  # [(Op, port, is_control)]
        self.role = ""  # "input" | "variable" | "output" | ""
        self.parent = self.structure = None  # not placed in a tree yet (see tree.TreeNode)

    @property
    def run_name(self) -> str:
        """Its name when TensorFlow runs the graph, as profiles name it: the calls it is inlined from, then its
        own name (a control-flow body's `<op>/<branch>/_<n>/` taken as `<op>/`, see profiles.run_name_of)."""
        return self.call_prefix + self.op_name

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
        if node_def.__class__ is int:
            data = self.nodes[node_def]
        else:
            data = node_def if node_def.__class__ is bytes else node_def.SerializeToString()
        return full_node_def(data, self.op_name, self.type)

    def serialized_node_def(self) -> bytes:
        """The op's NodeDef as bytes, as kept (a lean GraphDef's, or compacted), or a parsed one serialized: two ops
        alike to the byte (a comparison) without parsing either."""
        node_def = self._node_def
        if node_def.__class__ is int:
            return self.nodes[node_def]
        if node_def.__class__ is bytes:
            return node_def
        return node_def.SerializeToString(deterministic=True)

    def compact(self) -> None:
        """Keep a parsed NodeDef as bytes: a parsed GraphDef takes about four times its serialized size, and any
        NodeDef kept keeps all of it alive. (A lean GraphDef keeps its nodes serialized.)"""
        if self._node_def.__class__ is node_def_pb2.NodeDef:
            self._node_def = self._node_def.SerializeToString()

    def __repr__(self) -> str:
        return f"Op({self.placement!r}, {self.type!r})"


class FunctionOp(Op):
    """An op of a graph with functions (readers/expand.py), which keeps the function it was expanded from, the calls
    it runs inside and, a While op, how many times its body runs."""

    __slots__ = ("function", "call_prefix", "trips")

    def __init__(self, placement: str, op_name: str, op_type: str, node_def, function: str = "",
                 call_prefix: str = ""):
        Op.__init__(self, placement, op_name, op_type, node_def)
        self.function = function  # the FunctionDef it was expanded from ("" for the traced graph itself)
        # The names of the calls (and control-flow ops) it runs inside, each with a "/" after it: TensorFlow
        # inlines function bodies when it runs a graph and names their ops so (see run_name).
        self.call_prefix = call_prefix
        self.trips = None  # a While op: how many times its body runs (readers.loops.Trips), where the graph says it


class TableOp(Op):
    """The ops of one lean GraphDef (lite_proto.NodeTable), each graph's a class of its own (table_op_class)."""

    __slots__ = ()

    def __init__(self, name: str, op_type: str, row: int):
        # (Op's fields, less an inputs list each: expand._flatten_table sets them all at once. A million ops made
        # so take 0.23 s, not 0.3-0.4.)
        self.placement = self.op_name = name
        self.type = op_type
        self._node_def = row
        self.role = ""
        self.parent = self.structure = None


_HEAD, _LEAF = Op.placement, Op.op_name  # (the slots themselves, under a PlacedTableOp's properties)


class PlacedTableOp(TableOp):
    """A TableOp once placed in the tree, whose placement was its name: the name kept in two shared strings, its
    scope with the "/" after it (one string for the ops of a scope) and its last segment (interned), not a string of
    its own (a million ops' names took 96 MB). Its name and placement, read rarely once the tree is built, are the
    two joined."""

    __slots__ = ()

    def _name(self) -> str:
        return _HEAD.__get__(self) + _LEAF.__get__(self)

    def _unplace(self, field: str, value: str) -> None:
        """Back to its table's class, keeping its name whole (a field set once it is placed: none does so now)."""
        name = self._name()
        self.__class__ = self.table
        self.placement = self.op_name = name
        setattr(self, field, value)

    op_name = property(_name, lambda self, value: self._unplace("op_name", value))
    placement = property(_name, lambda self, value: self._unplace("placement", value))


def table_op_class(nodes, on_devices: bool = True) -> type:
    """An Op class for the ops of one lean GraphDef (lite_proto.NodeTable): its serialized `nodes` (lite_proto.Nodes)
    are the class's, each op keeps only its index (a tuple of the two for each of a million ops took 70 MB);
    `on_devices`: whether some of them names a device. Its ops become its `placed` class's when placed (see
    PlacedTableOp)."""
    table = type("TableOp", (TableOp,), {"__slots__": (), "nodes": nodes, "on_devices": on_devices})
    table.placed = type("TableOp", (PlacedTableOp, table), {"__slots__": (), "placed": None, "table": table})
    return table


def prefix_calls(ops: list, prefix: str) -> None:
    """Put `prefix` (the calls a module record's graph ran inside) before each op's call prefix, one string per
    distinct prefix (the ops of one body share theirs). A TableOp keeps none: its graph's class holds it."""
    joined: dict = {}
    tables = set()
    for op in ops:
        if isinstance(op, TableOp):
            tables.add(op.table if isinstance(op, PlacedTableOp) else op.__class__)
            continue
        inner = op.call_prefix
        op.call_prefix = joined.get(inner) or joined.setdefault(inner, prefix + inner)
    for table in tables:  # (each its graph's own class: see table_op_class)
        table.call_prefix = joined.get(table.call_prefix) or joined.setdefault(table.call_prefix,
                                                                               prefix + table.call_prefix)


def pack_node_defs(nodes: list) -> None:
    """Keep the NodeDefs of the lean GraphDefs a tree's ops come from compressed (lite_proto.Nodes.pack): once every
    NodeDef has been read (the FLOPs), only the few ops a person opens read theirs. And let their ops' rows share
    the nodes' numbers (share_rows). `nodes`: a tree's all_nodes."""
    tables = {cls for cls in set(map(type, nodes)) if table_nodes(cls) is not None}
    for cls in tables:
        table_nodes(cls).pack()
    share_rows(nodes, tables)


def share_rows(nodes: list, tables: set) -> None:
    """Each op of a class in `tables` (table_op_class) keeps as its row the int object of that value a node of
    `nodes` (a tree's all_nodes, node k numbered k: hierarchy.finalize) holds as its number: the rows, one int
    object each as the flattening made them, are then freed (a million ops' took 28 MB). Answers read either
    object meanwhile: they are equal."""
    if not nodes or nodes[-1].number != len(nodes) - 1:  # (not a whole tree in its order: nothing to share)
        return
    ops = list(compress(nodes, map(tables.__contains__, map(type, nodes))))
    numbers = list(map(_NUMBER, nodes))
    rows = list(map(_ROW, ops))
    if rows and max(rows) >= len(numbers):  # (rows past the tree's numbers, of ops it left out: ints of their own)
        numbers.extend(range(len(numbers), max(rows) + 1))
    deque(map(setattr, ops, repeat("_node_def"), map(numbers.__getitem__, rows)), maxlen=0)


_NUMBER, _ROW = attrgetter("number"), attrgetter("_node_def")


def table_nodes(cls):
    """The serialized NodeDefs an op class made by table_op_class holds (its placed class's: its table's), or None
    for another class."""
    for c in cls.__mro__:
        nodes = c.__dict__.get("nodes")
        if nodes is not None:
            return nodes
    return None


def break_cycles(nodes: list) -> None:
    """Cut what points back up or around a tree's `nodes` (Hierarchy.free_when_dropped), so reference counting frees
    them: each node's parent and top-level ancestor, each op's inputs (a graph's loops make them cyclic), the
    serialized nodes a table's op class holds (a class is a cycle of its own)."""
    deque(map(setattr, nodes, repeat("parent"), repeat(None)), maxlen=0)
    deque(map(setattr, nodes, repeat("top"), repeat(None)), maxlen=0)
    ops = [node for node in nodes if isinstance(node, Op)]
    deque(map(setattr, ops, repeat("inputs"), repeat(())), maxlen=0)
    for op_class in set(map(type, ops)):
        for cls in op_class.__mro__:
            if "nodes" in vars(cls):
                cls.nodes = ()
    nodes.clear()


@dataclasses.dataclass
class FlatGraph:
    """The traced function's ops, and those of the other functions the record holds."""

    ops: list  # [Op] of the main function
    other_functions: list  # [(label, [Op])] earlier work recorded in the same trace
    eager_ops: list  # [Op] the single ops of the graphs trace_on records for eager ops


def port_index(text: str) -> int:
    """The output index a port names (`1`, `output:1` -> 1); 0 for what is not a number."""
    return int(text) if text.isdecimal() else 0  # isdigit() also takes "²", which int() refuses



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
    index = port_index(port.rsplit(":", 1)[-1])
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
    index = port_index(port.rsplit(":", 1)[-1])
    return format_shape(shapes[index]) if index < len(shapes) else ""


def format_shape(shape) -> str:
    if shape.unknown_rank:
        return "?"
    return "[" + ",".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def is_resource_input(node_def) -> bool:
    """A captured variable handle (an `_Arg` of a traced function, a `Placeholder` of a FuncGraph)."""
    key = "T" if node_def.op in ARG_OPS else "dtype" if node_def.op == "Placeholder" else None
    return key is not None and key in node_def.attr and node_def.attr[key].type == types_pb2.DT_RESOURCE


def variable_size(op: Op, read_shapes: dict | None = None) -> int | None:
    """Elements of a variable, where the graph says its shape: a VarHandleOp's `shape`, a captured handle's
    `_handle_shapes`, or (`read_shapes`, see read_handle_shapes) the shape its reader records. None when unknown."""
    dims = variable_dims(op, read_shapes)
    if dims is None or any(d < 0 for d in dims):
        return None
    size = 1
    for d in dims:
        size *= d
    return size


def variable_dims(op: Op, read_shapes: dict | None = None) -> tuple | None:
    """A variable's dimensions as the graph says them (see variable_size; -1 for an unknown one), None when its
    rank is not known. A captured handle (a resource `_Arg` or `Placeholder`) says them only in `_handle_shapes`
    or (`read_shapes`: Hierarchy.read_shapes) where it is read: its `shape` and `_output_shapes` are the handle's,
    a scalar."""
    if read_shapes and id(op) in read_shapes:
        return read_shapes[id(op)]
    attrs = op.node_def.attr
    shape = None
    if "_handle_shapes" in attrs and attrs["_handle_shapes"].list.shape:
        shape = attrs["_handle_shapes"].list.shape[0]
    elif op.type in ARG_OPS or op.type == "Placeholder":
        pass
    elif "shape" in attrs:
        shape = attrs["shape"].shape
    elif "_output_shapes" in attrs:
        shape = attrs["_output_shapes"].list.shape[0] if attrs["_output_shapes"].list.shape else None
    if shape is None or shape.unknown_rank:
        return None
    return tuple(d.size for d in shape.dim)


def read_handle_shapes(ops: list) -> dict:
    """{id(handle): dims} of the captured variables whose shape the graph records only where they are read (a
    FuncGraph written by `tf.summary.graph`: a resource Placeholder without `_handle_shapes`, its `shape` the
    handle's, [], and its ReadVariableOp's `_output_shapes` the variable's). Once roles are given."""
    wanting, found = {}, {}
    for op in compress(ops, map(_HANDLE_TYPES.__contains__, map(attrgetter("type"), ops))):  # (types read in C)
        if op.role == "variable" and variable_dims(op) is None:
            wanting[id(op)] = op
    for reader in compress(ops, map("ReadVariableOp".__eq__, map(attrgetter("type"), ops))) if wanting else ():
        handle = reader.inputs[0][0] if reader.inputs else None
        if handle is None or wanting.get(id(handle)) is not handle or id(handle) in found:
            continue
        recorded = reader.node_def.attr
        shapes = recorded["_output_shapes"].list.shape if "_output_shapes" in recorded else ()
        if shapes and not shapes[0].unknown_rank:
            found[id(handle)] = tuple(d.size for d in shapes[0].dim)
    return found


_HANDLE_TYPES = ARG_OPS | {"Placeholder"}


class UnexpandedOp(FunctionOp):
    """A call or control-flow op whose functions expand.py left out: expanding them would pass its budget (the op
    stays one op, as in a graph without its library)."""

    __slots__ = ()
    not_expanded = "budget"


class UnreachedOp(FunctionOp):
    """A control-flow op some of whose bodies expand.py left out whatever the budget: they call themselves, lie
    deeper than the calls it expands or are not in the library (the others are expanded; what is left out is
    counted by none, so its FLOPs are a lower bound)."""

    __slots__ = ()
    not_expanded = "depth"


def full_node_def(data: bytes, name: str, op: str) -> node_def_pb2.NodeDef:
    """The real NodeDef from its serialized bytes (a lean GraphDef's node, or a compacted op). A record whose
    attrs do not decode (damaged) gives the op without them rather than an error in the middle of an answer."""
    try:
        return node_def_pb2.NodeDef.FromString(data)
    except (pb_message.DecodeError, RuntimeError, ValueError):
        return node_def_pb2.NodeDef(name=name, op=op)
