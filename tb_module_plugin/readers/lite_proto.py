"""Lean stand-ins for GraphDef and RunMetadata that decode only what a build reads of every op.

A parsed `tensorflow.GraphDef` decodes every attribute of every op: about four times the record's size (204 MB
and 0.3 s for a 46 MB, 200,000-op graph). Here a GraphDef's nodes stay serialized NodeDefs, and `node_table`
reads only their `name`, `op` and `input`, as three flat columns decoded in C (no Python object per node
and field); `tree.ops.full_node_def` gets the real NodeDef back from its bytes for the few ops a person looks at.
Once every NodeDef has been read (the FLOPs, serve/settle.py), `Nodes.pack` keeps them compressed. A
GraphDef with a function library is parsed in full (`library` is declared as bytes only to notice one).

Built from a descriptor at import, so no generated code or protoc is needed; wire-compatible with
tensorflow/core/framework/graph.proto and tensorflow/core/protobuf/config.proto.
"""

from __future__ import annotations

import dataclasses
import threading
import zlib
from array import array
from itertools import accumulate, compress, count, repeat
from operator import is_
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
    nodes: Nodes  # the serialized NodeDefs
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
            ops += columns.op
            inputs += columns.input
            on_devices = on_devices or any(columns.device)
        # Each node wrote one name and one op (else: an empty one left out, or one written twice), and no input
        # is the mark itself: then the columns line up with the nodes.
        if (len(names) == len(ops) == 2 * n and names[::2].count(MARK) == n and ops[::2].count(MARK) == n
                and MARK not in names[1::2] and MARK not in ops[1::2]):
            # (The mark is one string, as every one-character string decoded: its identity finds it sooner
            # than comparing; one that were not would be found by comparing.)
            marks = list(compress(count(), map(is_, inputs, repeat(MARK))))
            if len(marks) != n:
                marks = list(compress(count(), map(MARK.__eq__, inputs)))
            if len(marks) == n:
                marks.append(len(inputs))
                # (op types: one string each, not one per op)
                return NodeTable(names[1::2], list(map(intern, ops[1::2])), Nodes(nodes), inputs, marks,
                                 on_devices)
    # Node by node (a rare record: the columns of some nodes would not line up), with the same shape.
    parsed = [NodeDef.FromString(node) for node in nodes]
    inputs, marks = [], []
    for node in parsed:
        marks.append(len(inputs))
        inputs.append(MARK)
        inputs.extend(node.input)
    marks.append(len(inputs))
    return NodeTable([node.name for node in parsed], [intern(node.op) for node in parsed], Nodes(nodes), inputs,
                     marks, any(node.device for node in parsed))


_PIECE_SHIFT = 8  # 256 NodeDefs a piece (about 54 KB of a million-op graph's: zlib's 32 KB window compresses it
# nearly as well as a bigger piece, and reading one node decompresses little)
_LARGE = 1 << 16  # a NodeDef larger (a constant's values) is kept as it is, not in a piece
_RECENT = 16  # pieces kept decompressed, the last read first


class Nodes:
    """A lean GraphDef's serialized NodeDefs: `nodes[i]` is node i's bytes. Kept as the parsed GraphDef's `node`
    field (each made a bytes object when asked for) until pack(), then compressed, the parsed message let go.

    After pack(), node i lies in piece i >> shift, at offsets[i]:offsets[i + 1] of the pieces' bytes decompressed
    one after another; a large one (offsets equal) in `large`. Reading ops in the order of the graph
    (a comparison, a group's ops) decompresses each piece once: the last few stay decompressed."""

    __slots__ = ("_kept", "_recent", "_lock")

    def __init__(self, field):
        self._kept = field  # the parsed `node` field, or a _Packed
        self._recent = ()  # ((piece number, its bytes, the offset it starts at), ...), the last read first
        self._lock = threading.Lock()  # (one pack() at a time)

    def __len__(self) -> int:
        kept = self._kept
        return kept.count if kept.__class__ is _Packed else len(kept)

    def __getitem__(self, i: int) -> bytes:
        kept = self._kept  # (read once: pack() may swap it meanwhile, from another thread)
        if kept.__class__ is not _Packed:
            return kept[i]
        if i < 0:  # (past the end: offsets[i + 1] raises it)
            raise IndexError(i)
        p = i >> kept.shift
        recent = self._recent
        if recent and recent[0][0] == p:  # (a walk in order: the piece of the node before)
            data, base = recent[0][1], recent[0][2]
        else:
            data, base = self._piece(kept, p)
        offsets = kept.offsets
        start, end = offsets[i] - base, offsets[i + 1] - base
        if start == end and i in kept.large:
            return kept.large[i]
        return data[start:end]

    def _piece(self, kept, p: int) -> tuple:
        """(piece p decompressed, the offset it starts at)."""
        recent = self._recent
        for entry in recent:
            if entry[0] == p:
                break
        else:
            entry = (p, zlib.decompress(kept.pieces[p]), kept.offsets[p << kept.shift])
        # (a tuple replaced at once: a reader in another thread sees the old one or the new one)
        self._recent = (entry, *(e for e in recent[:_RECENT] if e[0] != p))[:_RECENT]
        return entry[1], entry[2]

    def __iter__(self):
        kept = self._kept
        if kept.__class__ is not _Packed:
            return iter(kept)
        return map(self.__getitem__, range(kept.count))

    @property
    def packed(self) -> bool:
        return self._kept.__class__ is _Packed

    def pack(self) -> None:
        """Keep the NodeDefs compressed (zlib level 1, which lets other threads run: the million-op graph's 212 MB
        in 12 MB and its 48 large constants' 13 MB, in 0.6 s) and let the parsed GraphDef go (its memory goes back
        to the system). Reads in other threads meanwhile read the parsed field; each read after it, the pieces."""
        with self._lock:
            field = self._kept
            if field.__class__ is _Packed:
                return
            n, shift = len(field), _PIECE_SHIFT
            lengths = array("q")
            pieces = []
            large = {}
            for start in range(0, n, 1 << shift):
                piece = field[start:start + (1 << shift)]
                sizes = list(map(len, piece))
                if max(sizes) > _LARGE:
                    for j, size in enumerate(sizes):
                        if size > _LARGE:
                            large[start + j], piece[j], sizes[j] = piece[j], b"", 0
                lengths.extend(sizes)
                pieces.append(zlib.compress(b"".join(piece), 1))
            self._kept = _Packed(n, shift, pieces, array("q", accumulate(lengths, initial=0)), large)


@dataclasses.dataclass(slots=True)
class _Packed:
    count: int
    shift: int  # 1 << shift NodeDefs a piece
    pieces: list  # zlib-compressed bytes of a piece's NodeDefs each (the last: the rest)
    offsets: array  # count + 1 positions (see Nodes)
    large: dict  # node index -> its bytes, for NodeDefs over _LARGE bytes
