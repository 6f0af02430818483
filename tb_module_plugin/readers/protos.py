"""Protobuf messages read without the library that defines them (TensorFlow's XSpace, tf_keras's SavedMetadata):
built at run time from the fields read, each with its number in the original .proto (other fields are skipped
when a message is parsed)."""

from __future__ import annotations

import functools

_KINDS = {"int32": 5, "int64": 3, "string": 9, "bytes": 12, "bool": 8, "double": 1}  # FieldDescriptorProto types


@functools.lru_cache(maxsize=None)
def message_class(package: str, root: str, messages: tuple):
    """The class of message `root` among `messages`: ((name, ((field, number, kind, repeated), ...)), ...), a
    kind being a scalar type of _KINDS or the name of another of `messages`."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field_proto = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name=f"{package}.proto", package=package)
    for name, fields in messages:
        message = proto.message_type.add(name=name)
        for field_name, number, kind, repeated in fields:
            field = message.field.add(name=field_name, number=number,
                                      label=field_proto.LABEL_REPEATED if repeated else field_proto.LABEL_OPTIONAL)
            if kind in _KINDS:
                field.type = _KINDS[kind]
            else:
                field.type, field.type_name = field_proto.TYPE_MESSAGE, f".{package}.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{root}"))
