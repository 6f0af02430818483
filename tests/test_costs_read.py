"""The costs read every op's shapes and device from NodeDefs joined a few thousand at a time
(measures/costs.py `_recorded`): what they read must be what protobuf's own NodeDef says of each op, whatever the
bytes (fields written twice, map entries written out of order or short, damaged values, bytes that look like the
marks the joined read puts between NodeDefs)."""

import random

import pytest
from tensorboard.compat.proto import attr_value_pb2, node_def_pb2

from tb_module_plugin.measures import costs as costs_lib
from tb_module_plugin.measures.flops import output_shapes
from tb_module_plugin.readers import lite_proto
from tb_module_plugin.tree.ops import Op, full_node_def, table_op_class


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _shapes_value(*shapes) -> bytes:
    value = attr_value_pb2.AttrValue()
    for dims in shapes:
        shape = value.list.shape.add()
        for d in dims:
            shape.dim.add(size=d)
    return value.SerializeToString()


def _node(name: str, device: str = "", shapes=((2, 3),)) -> bytes:
    n = node_def_pb2.NodeDef(name=name, op="Relu", input=["x"], device=device)
    n.attr["T"].type = 1
    if shapes is not None:
        n.attr["_output_shapes"].CopyFrom(attr_value_pb2.AttrValue.FromString(_shapes_value(*shapes)))
    return n.SerializeToString()


def _entry(*fields: bytes) -> bytes:
    return _field(5, b"".join(fields))


KEY = _field(1, b"_output_shapes")
ODD = {
    "device written twice": _node("a", "/device:CPU:0") + _field(4, b"/device:GPU:1"),
    "device emptied by a second write": _node("a", "/device:CPU:0") + _field(4, b""),
    "shapes written twice": _node("a") + _entry(KEY, _field(2, _shapes_value((5,), (6, 7)))),
    "entry value before key": _node("a", shapes=None) + _entry(_field(2, _shapes_value((4, 4))), KEY),
    "entry with its key twice": _node("a", shapes=None) + _entry(_field(1, b"T"), KEY,
                                                                 _field(2, _shapes_value((9,)))),
    "entry without a value": _node("a", shapes=None) + _entry(KEY),
    "damaged shapes value": _node("a", shapes=None) + _entry(KEY, _field(2, b"\x0a\x05\x3a")),
    "a device that is the mark": _node("a", "\0"),
    "an attr key that is the mark": _node("a") + _entry(_field(1, b"\0"), _field(2, b"")),
    "a node cut short": _node("a", "/device:CPU:0")[:-3],
    "a device that is not UTF-8": _node("a") + _field(4, b"\xff\xfe"),
    "no shapes, placed": _node("a", "/job:localhost/replica:0/task:0/device:CPU:0", shapes=None),
}


def _ops(datas: list, packed: bool = False) -> list:
    """Ops of these NodeDefs, numbered in order; `packed`: a lean GraphDef's, its NodeDefs kept compressed
    (lite_proto.Nodes.pack), listed in another order than the graph's."""
    if not packed:
        ops = []
        for number, data in enumerate(datas):
            op = Op(f"op{number}", f"op{number}", "Relu", data)
            op.number = number
            ops.append(op)
        return ops
    nodes = lite_proto.Nodes(list(datas))
    nodes.pack()
    table_op = table_op_class(nodes)
    ops = [table_op(f"op{i}", "Relu", i) for i in range(len(datas))]
    for i, op in enumerate(ops):
        op.number = i  # (its place in the tree: datas[i] is its NodeDef)
    random.Random(5).shuffle(ops)
    return ops


def _truth(data: bytes) -> tuple:
    node_def = full_node_def(data, "a", "Relu")  # (protobuf's own parse; a NodeDef that does not decode: bare)
    return output_shapes(node_def), node_def.device


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("odd", sorted(ODD))
def test_an_odd_node_def_reads_as_protobuf_reads_it_among_plain_ones(odd, packed):
    plain = [_node(f"n{i}", "/device:CPU:0" if i % 3 == 0 else "", ((i, 2),) if i % 2 else None) for i in range(9)]
    datas = plain[:4] + [ODD[odd]] + plain[4:]
    shapes, devices = costs_lib._recorded(_ops(datas, packed), len(datas))
    assert [(s, devices.get(i, "")) for i, s in enumerate(shapes)] == [_truth(d) for d in datas]


@pytest.mark.parametrize("packed", [False, True])
def test_many_node_defs_read_in_pieces_as_each_alone(packed):
    datas = [_node(f"n{i}", f"/device:CPU:{i % 2}" if i % 5 == 0 else "", ((i % 7, 3),) if i % 4 else None)
             for i in range(3 * costs_lib._OPS_AT_A_TIME + 5)]
    datas[costs_lib._OPS_AT_A_TIME + 1] = ODD["entry with its key twice"]  # (one piece read node by node)
    big = node_def_pb2.NodeDef(name="big", op="Const", device="/device:CPU:1")
    big.attr["_output_shapes"].CopyFrom(attr_value_pb2.AttrValue.FromString(_shapes_value((4, 5))))
    big.attr["value"].tensor.tensor_content = bytes(costs_lib._JOINED_MAX_BYTES)
    datas[7] = big.SerializeToString()  # (read alone; packed: kept apart)
    shapes, devices = costs_lib._recorded(_ops(datas, packed), len(datas))
    assert [(s, devices.get(i, "")) for i, s in enumerate(shapes)] == [_truth(d) for d in datas]
