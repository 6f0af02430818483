"""Lean stand-ins for GraphDef and RunMetadata that decode only what a build reads of every op.

A parsed `tensorflow.GraphDef` decodes every attribute of every op: about four times the record's size (204 MB
and 0.3 s for a 46 MB, 200,000-op graph; 88 MB and 0.1 s this way). These messages declare only a
NodeDef's `name`, `op` and `input`; everything else (device, attrs) stays in the message as unknown fields, kept
byte for byte, so `full_node_def` gets the real NodeDef back for the few ops a person looks at. A GraphDef with a
function library is parsed in full (`library` is declared as bytes only to notice one).

Built from a descriptor at import, so no generated code or protoc is needed; wire-compatible with
tensorflow/core/framework/graph.proto and tensorflow/core/protobuf/config.proto.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import message as pb_message
from tensorboard.compat.proto import node_def_pb2

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

    message("NodeDef", (1, "name", "string", False), (2, "op", "string", False), (3, "input", "string", True))
    message("GraphDef", (1, "node", "NodeDef", True), (2, "library", "bytes", False))
    message("FunctionGraphs", (1, "partition_graphs", "GraphDef", True),
            (2, "pre_optimization_graph", "GraphDef", False), (3, "post_optimization_graph", "GraphDef", False))
    message("RunMetadata", (3, "partition_graphs", "GraphDef", True), (4, "function_graphs", "FunctionGraphs", True))
    return file


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())
GraphDef = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.GraphDef"))
RunMetadata = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.RunMetadata"))
NodeDef = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{_PACKAGE}.NodeDef"))


def full_node_def(data: bytes, name: str, op: str) -> node_def_pb2.NodeDef:
    """The real NodeDef from a lean one's serialized bytes (its attrs were kept as unknown fields). A record whose
    attrs do not decode (damaged) gives the op without them rather than an error in the middle of an answer."""
    try:
        return node_def_pb2.NodeDef.FromString(data)
    except (pb_message.DecodeError, RuntimeError, ValueError):
        return node_def_pb2.NodeDef(name=name, op=op)
