"""Lean stand-ins for GraphDef and RunMetadata that decode only what a build reads of every op.

A parsed `tensorflow.GraphDef` decodes every attribute of every op: about four times the record's size (204 MB
and 0.3 s for a 46 MB, 200,000-op graph). Here a GraphDef's nodes stay serialized NodeDefs, and `node_table`
reads only their `name`, `op` and `input`, as three flat columns decoded in C (no Python object per node
and field); `tree.ops.full_node_def` gets the real NodeDef back from its bytes for the few ops a person looks at. A
GraphDef with a function library is parsed in full (`library` is declared as bytes only to notice one).

Built from a descriptor at import, so no generated code or protoc is needed; wire-compatible with
tensorflow/core/framework/graph.proto and tensorflow/core/protobuf/config.proto.
"""

from __future__ import annotations

import dataclasses
from itertools import compress, count
from sys import intern

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "tb_module_plugin.lite"
_F = descriptor_pb2.FieldDescriptorProto


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="tb_module_plugin/lite.proto", package=_PACKAGE, syntax="proto3")

    def message(name, *fields):
        proto = file.message_type.add(name=name)
        for number, field_name, kind, repeated in fields:
            field = proto.field.add(name=field_name, number=number,
                                    label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
            if kind in ("string", "bytes"):
                field.type = _F.TYPE_STRING if kind == "string" else _F.TYPE_BYTES
            else:
                field.type, field.type_name = _F.TYPE_MESSAGE, f".{_PACKAGE}.{kind}"

    message("NodeDef", (1, "name", "string", False), (2, "op", "string", False), (3, "input", "string", True),
            (4, "device", "bytes", False))  # (bytes: read only to know whether there is one)
    # NodeDefs one after another, read as one message: every name, op type and input in order.
    message("NodeColumns", (1, "name", "string", True), (2, "op", "string", True), (3, "input", "string", True),
            (4, "device", "bytes", True))
    message("GraphDef", (1, "node", "bytes", True), (2, "library", "bytes", False))
    # What the costs read of every op (measures/costs.py): NodeDefs' devices and attrs, each attr entry kept
    # serialized, read joined; then attr entries joined, as keys and values.
    message("NodeAttrs", (4, "device", "bytes", True), (5, "attr", "bytes", True))
    message("AttrEntries", (1, "key", "bytes", True), (2, "value", "bytes", True))
    message("FunctionGraphs", (1, "partition_graphs", "GraphDef", True),
            (2, "pre_optimization_graph", "GraphDef", False), (3, "post_optimization_graph", "GraphDef", False))
    message("RunMetadata", (3, "partition_graphs", "GraphDef", True), (4, "function_graphs", "FunctionGraphs", True))
    return file


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())
GraphDef = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.GraphDef"))
RunMetadata = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.RunMetadata"))
NodeDef = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.NodeDef"))
_NodeColumns = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.NodeColumns"))
NodeAttrs = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.NodeAttrs"))
AttrEntries = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.AttrEntries"))

# Written before each NodeDef when they are read as one message: a name, an op and an input "\0" mark where each
# node starts (protobuf appends a repeated field's values in the order it reads them).
MARK = "\0"
_NODES_AT_A_TIME = 4096
_MARK_FIELDS = b"\x0a\x01\x00\x12\x01\x00\x1a\x01\x00"


@dataclasses.dataclass
class NodeTable:
    """A lean GraphDef's nodes as columns: node i is `names[i]`, of type `ops[i]`, serialized as `nodes[i]`, and
    its inputs are `inputs[marks[i] + 1:marks[i + 1]]` (`inputs` holds a mark before each node's inputs)."""

    names: list
    ops: list  # interned
    nodes: object  # the GraphDef's serialized NodeDefs (its `node` field: each made a bytes object when asked for)
    inputs: list
    marks: list  # len(names) + 1 positions in `inputs`
    on_devices: bool = False  # some node names the device it runs on


def node_table(nodes) -> NodeTable:
    """The columns of serialized NodeDefs; raises DecodeError for one that does not decode. (Read joined, a node
    whose last field runs past its end reads into the next node's mark, so the columns stop lining up and the
    nodes are read one by one, which refuses it; only a record made so that the next node carries a mark of its own
    is read rather than refused, as the graph its bytes then describe.)"""
    n = len(nodes)
    if n:
        names, ops, inputs, on_devices = [], [], [], False
        # A few thousand nodes at a time: the memory of each piece's bytes and parse is reused by the next
        # (allocating fresh memory for all of a 46 MB graph at once costs more than reading it).
        for start in range(0, n, _NODES_AT_A_TIME):
            columns = _NodeColumns.FromString(_MARK_FIELDS.join([b"", *nodes[start:start + _NODES_AT_A_TIME]]))
            names += columns.name
            ops += map(intern, columns.op)  # (op types: one string each, not one per op)
            inputs += columns.input
            on_devices = on_devices or any(columns.device)
        # Each node wrote one name and one op (else: an empty one left out, or one written twice), and no input
        # is the mark itself: then the columns line up with the nodes.
        if (len(names) == len(ops) == 2 * n and names[::2].count(MARK) == n and ops[::2].count(MARK) == n
                and MARK not in names[1::2] and MARK not in ops[1::2]):
            marks = list(compress(count(), map(MARK.__eq__, inputs)))
            if len(marks) == n:
                marks.append(len(inputs))
                return NodeTable(names[1::2], ops[1::2], nodes, inputs, marks, on_devices)
    # Node by node (a rare record: the columns of some nodes would not line up), with the same shape.
    parsed = [NodeDef.FromString(node) for node in nodes]
    inputs, marks = [], []
    for node in parsed:
        marks.append(len(inputs))
        inputs.append(MARK)
        inputs.extend(node.input)
    marks.append(len(inputs))
    return NodeTable([node.name for node in parsed], [intern(node.op) for node in parsed], nodes, inputs, marks,
                     any(node.device for node in parsed))

