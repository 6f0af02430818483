"""A lean GraphDef's NodeDefs kept compressed once settled (readers.lite_proto.Nodes.pack): every op reads back the
bytes it read before, in any order and while the swap happens in another thread, and the parsed GraphDef's memory
goes back to the system."""

from __future__ import annotations

import gc
import random
import threading

from tensorboard import context
from tensorboard.compat.proto import config_pb2, node_def_pb2

from tb_module_plugin.build import sources
from tb_module_plugin.cli import main as cli
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.readers import lite_proto
from tb_module_plugin.serve.cache import release_freed_memory
from tb_module_plugin.serve.settle import settle
from tb_module_plugin.tree.ops import pack_node_defs, table_nodes
from tests.helpers.records import RESNET_RUN
from tests.helpers.trees import build
from tests.test_hierarchy import graph_def


def stores_of(ops) -> list:
    """The lite_proto.Nodes the ops read their NodeDefs from."""
    return list({id(s): s for s in (table_nodes(type(op)) for op in ops) if s is not None}.values())


def test_a_real_traces_nodedefs_read_back_the_same_once_settled(resnet_logdir):
    provider = cli.logdir_data_provider(str(resnet_logdir))
    ctx = context.RequestContext()
    record = next(r for r in sources.list_graphs(provider, ctx, "") if r.run == RESNET_RUN)
    blobs = [provider.read_blob(ctx, blob_key=k) for k in sources.latest_blob_keys(provider, ctx, "", record)]
    h = sources.build_hierarchy(record, blobs)
    ops = [node for node in h.all_nodes if node.children is None]
    stores = stores_of(ops)
    before = [op.serialized_node_def() for op in ops]
    assert stores and not any(s.packed for s in stores)
    settle(h)
    assert all(s.packed for s in stores)
    assert [op.serialized_node_def() for op in ops] == before
    assert [op.serialized_node_def() for op in reversed(ops)] == before[::-1]
    # Each store holds one graph of the record, node for node as TensorFlow's own protobuf reads it.
    run_metadata = config_pb2.RunMetadata.FromString(blobs[0])
    graphs = {tuple(n.name for n in g.pre_optimization_graph.node): g.pre_optimization_graph.node
              for g in run_metadata.function_graphs}
    for store in stores:
        parsed = [node_def_pb2.NodeDef.FromString(data) for data in store]
        assert parsed == list(graphs[tuple(n.name for n in parsed)])
    assert sum(map(len, stores)) > 10 << lite_proto._PIECE_SHIFT  # (many pieces)


def _odd_nodes() -> list:
    """Serialized NodeDefs of every size: empty, a few bytes, large ones (kept apart) next to small ones and at the
    edges of pieces."""
    rng = random.Random(7)
    nodes = [node_def_pb2.NodeDef(name=f"n{i}", op="Relu", input=[f"n{i - 1}"] * rng.randrange(4)).SerializeToString()
             for i in range(1000)]
    nodes[0] = b""
    for i in (1, 7, 8, 9, 500, 999):
        nodes[i] = node_def_pb2.NodeDef(name=f"big{i}", op="Const",
                                        device=rng.randbytes(lite_proto._LARGE).hex()[:lite_proto._LARGE + i]
                                        ).SerializeToString()
    return nodes


def test_packed_nodes_read_back_in_any_order(monkeypatch):
    monkeypatch.setattr(lite_proto, "_PIECE_SHIFT", 3)  # (pieces of 8: 125 of them, more than are kept decompressed)
    original = _odd_nodes()
    nodes = lite_proto.Nodes(list(original))
    nodes.pack()
    assert nodes.packed and len(nodes) == len(original)
    assert list(nodes) == original
    order = list(range(len(original)))
    random.Random(3).shuffle(order)
    assert [nodes[i] for i in order] == [original[i] for i in order]
    assert [nodes[i] for i in reversed(range(len(original)))] == original[::-1]
    for i in (-1, len(original), len(original) + 8):
        try:
            nodes[i]
        except IndexError:
            continue
        raise AssertionError(f"nodes[{i}] read something")


def test_ops_read_their_nodedefs_while_another_thread_packs_them(monkeypatch):
    monkeypatch.setattr(lite_proto, "_PIECE_SHIFT", 4)
    n = 20_000
    g = graph_def(*((f"m/s{i % 50}/op{i}", "Relu", [f"m/s{(i - 1) % 50}/op{i - 1}"] if i else []) for i in range(n)))
    h = build(graph_lib.parse_graph_def(g.SerializeToString()))  # (lean: its ops read the record's NodeDefs)
    ops = [node for node in h.all_nodes if node.children is None]
    truth = {node.name: node.SerializeToString() for node in g.node}
    assert [op.serialized_node_def() for op in ops] == [truth[op.op_name] for op in ops]
    store, = stores_of(ops)
    wrong, errors, done = [], [], threading.Event()

    def read(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not done.is_set():
                start = rng.randrange(len(ops))
                for op in ops[start:start + 300]:
                    if op.serialized_node_def() != truth[op.op_name] or op.node_def.name != op.op_name:
                        wrong.append(op.op_name)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    readers = [threading.Thread(target=read, args=(seed,)) for seed in range(3)]
    for reader in readers:
        reader.start()
    pack_node_defs(h.all_nodes)
    packed = store.packed
    for _ in range(3):  # (the readers read the pieces for a while too)
        ops[random.randrange(len(ops))].serialized_node_def()
    done.set()
    for reader in readers:
        reader.join()
    assert packed and not errors and not wrong, (errors, wrong[:5])
    assert [op.serialized_node_def() for op in ops] == [truth[op.op_name] for op in ops]


def test_settled_ops_rows_are_the_numbers_of_the_nodes_numbered_alike():
    """Once settled, a lean op's row (its NodeDef's place in its table) is the int object the node numbered alike
    holds as its number (tree.ops.share_rows: the rows' own ints are freed) and reads back the same NodeDef."""
    n = 3_000
    g = graph_def(*((f"m/s{i % 30}/op{i}", "Relu", [f"m/s{(i - 1) % 30}/op{i - 1}"] if i else []) for i in range(n)))
    h = build(graph_lib.parse_graph_def(g.SerializeToString()))
    ops = [node for node in h.all_nodes if node.children is None]
    rows = [op._node_def for op in ops]
    before = [op.serialized_node_def() for op in ops]
    large = [row for row in rows if row > 256]  # (Python shares the ints up to 256 anyway)
    assert len(large) > n // 2 and not any(h.all_nodes[row].number is row for row in large)
    pack_node_defs(h.all_nodes)
    assert [op._node_def for op in ops] == rows
    assert all(h.all_nodes[op._node_def].number is op._node_def for op in ops)
    assert [op.serialized_node_def() for op in ops] == before


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_packing_gives_the_parsed_graphdefs_memory_back():
    node = node_def_pb2.NodeDef(name="n" * 100, op="Relu", input=["x" * 100, "y" * 100]).SerializeToString()
    blob = lite_proto.GraphDef(node=[node + b"\x22\x02d%d" % (i % 10) for i in range(150_000)]).SerializeToString()
    gc.collect()
    release_freed_memory()
    start = _resident_mb()
    nodes = lite_proto.Nodes(lite_proto.GraphDef.FromString(blob).node)
    release_freed_memory()
    parsed = _resident_mb() - start
    nodes.pack()
    gc.collect()
    release_freed_memory()
    packed = _resident_mb() - start
    assert parsed > len(blob) / 2**20 / 2, parsed  # (the parse's memory is seen at all)
    assert packed < parsed / 4, (parsed, packed)
    assert nodes[149_999] == node + b"\x22\x02d9"
