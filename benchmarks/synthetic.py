"""A synthetic, deeply scoped GraphDef of about 200,000 ops (or 1,000,000: `steps=STEPS_1M`), built directly as a
protobuf (fast, no tf.Graph).

    model/input                                   Placeholder
    model/block_07/attention/query/dense/...      one sub-module, ~350 ops, five levels down
    model/output                                  Identity

48 blocks x 12 sub-modules (attention/{query,key,value,output}, mlp/{up,gate,act,down},
norm/{ln_in,ln_mid,scale,ln_out}) x 350 ops + 2 = 201,602 ops. Every sub-module `.../dense` owns one variable
(VarHandleOp `kernel`, read once by `ReadVariableOp`) and a chain of 49 `step_NN` scopes of 7 ops each.
Dataflow chains the steps, the sub-modules of a block (query/key/value feed output, ...) and the blocks.
Each block's `attention/query/dense/scale` is a 256x256 float32 Const (256 KB), every other `scale` a 16x16
one, so attribute elision matters (about 13 MB of tensor content in all).
"""

from __future__ import annotations

N_BLOCKS = 48
STEPS = 49  # 49 steps x 7 ops + 7 other ops = 350 ops per sub-module
WIDTH = 64
BATCH = 8
BIG_CONST = 256  # side of the large Const of each block's attention/query
SMALL_CONST = 16

# (part, sub-module, the sub-modules of the same block it reads; None = the block's input)
SUBMODULES = [
    ("attention", "query", [None]),
    ("attention", "key", [None]),
    ("attention", "value", [None]),
    ("attention", "output", ["attention/query", "attention/key", "attention/value"]),
    ("norm", "ln_in", ["attention/output", None]),
    ("mlp", "up", ["norm/ln_in"]),
    ("mlp", "gate", ["norm/ln_in"]),
    ("mlp", "act", ["mlp/up", "mlp/gate"]),
    ("mlp", "down", ["mlp/act"]),
    ("norm", "ln_mid", ["mlp/down", "norm/ln_in"]),
    ("norm", "scale", ["norm/ln_mid"]),
    ("norm", "ln_out", ["norm/scale", "norm/ln_mid"]),
]
OPS_PER_SUBMODULE = 7 + 7 * STEPS
STEPS_1M = 248  # the million-op variant: 48 x 12 x 1,743 + 2 = 1,003,970 ops
EXPECTED_OPS = N_BLOCKS * len(SUBMODULES) * OPS_PER_SUBMODULE + 2


def deep_module_path(block: int = 7) -> str:
    """The path of a ~350-op module five levels down (as the Modules tab names it)."""
    return f"model/block_{block:02d}/attention/query/dense"


def expected_ops(steps: int = STEPS) -> int:
    return N_BLOCKS * len(SUBMODULES) * (7 + 7 * steps) + 2


def build_graph_def(output_shapes: bool = True, steps: int = STEPS):
    """The GraphDef (tensorboard.compat.proto.graph_pb2.GraphDef); `_output_shapes` on every op as
    tf.summary.graph(tf.Graph) writes them (add_shapes=True), unless `output_shapes` is False. `steps` per
    sub-module (STEPS: 201,602 ops; STEPS_1M: 1,003,970 ops, each sub-module 1,743 ops)."""
    from tensorboard.compat.proto import graph_pb2, types_pb2

    graph = graph_pb2.GraphDef()
    graph.versions.producer = 1994
    f32 = types_pb2.DT_FLOAT

    def shape_proto(target, dims):
        for d in dims:
            target.dim.add().size = d

    act_shape = [BATCH, WIDTH]

    def add(name, op, inputs=(), dtype_attr="T", shape=act_shape):
        node = graph.node.add()
        node.name = name
        node.op = op
        node.input.extend(inputs)
        if dtype_attr:
            node.attr[dtype_attr].type = f32
        if shape is not None and output_shapes:
            shape_proto(node.attr["_output_shapes"].list.shape.add(), shape)
        return node

    def const(name, dims, fill=b"\0"):
        node = add(name, "Const", dtype_attr="dtype", shape=dims)
        tensor = node.attr["value"].tensor
        tensor.dtype = f32
        shape_proto(tensor.tensor_shape, dims)
        n = 1
        for d in dims:
            n *= d
        if n == 1:
            tensor.float_val.append(0.5)
        else:
            tensor.tensor_content = fill * (4 * n)
        return node

    def dense(prefix, sources, big):
        """One sub-module: 350 ops under `prefix` (= .../dense); returns the name of its output op."""
        var = add(f"{prefix}/kernel", "VarHandleOp", dtype_attr="dtype", shape=[])
        shape_proto(var.attr["shape"].shape, [WIDTH, WIDTH])
        var.attr["shared_name"].s = f"{prefix}/kernel".encode()
        var.attr["container"].s = b""
        add(f"{prefix}/ReadVariableOp", "ReadVariableOp", [f"{prefix}/kernel"], dtype_attr="dtype", shape=[WIDTH, WIDTH])
        side = BIG_CONST if big else SMALL_CONST
        const(f"{prefix}/scale", [side, side], fill=b"\x3f" if big else b"\0")
        if len(sources) == 1:
            add(f"{prefix}/input", "Identity", sources)
        else:
            node = add(f"{prefix}/input", "AddN", sources)
            node.attr["N"].i = len(sources)
        add(f"{prefix}/Rsqrt", "Rsqrt", [f"{prefix}/input"])
        add(f"{prefix}/normalize", "Mul", [f"{prefix}/Rsqrt", f"{prefix}/scale"])
        prev = f"{prefix}/normalize"
        for k in range(steps):
            s = f"{prefix}/step_{k:02d}"
            const(f"{s}/mul/y", [])
            add(f"{s}/MatMul", "MatMul", [prev, f"{prefix}/ReadVariableOp"])
            add(f"{s}/add", "AddV2", [f"{s}/MatMul", prev])
            add(f"{s}/Relu", "Relu", [f"{s}/add"])
            add(f"{s}/mul", "Mul", [f"{s}/Relu", f"{s}/mul/y"])
            add(f"{s}/Sigmoid", "Sigmoid", [f"{s}/mul"])
            add(f"{s}/Identity", "Identity", [f"{s}/Sigmoid"])
            prev = f"{s}/Identity"
        add(f"{prefix}/output", "Identity", [prev])
        return f"{prefix}/output"

    placeholder = add("model/input", "Placeholder", dtype_attr="dtype")
    shape_proto(placeholder.attr["shape"].shape, act_shape)
    x = "model/input"
    for b in range(N_BLOCKS):
        outputs = {}
        for part, sub, reads in SUBMODULES:
            key = f"{part}/{sub}"
            sources = [x if r is None else outputs[r] for r in reads]
            prefix = f"model/block_{b:02d}/{key}/dense"
            outputs[key] = dense(prefix, sources, big=(key == "attention/query"))
        x = outputs["norm/ln_out"]
    add("model/output", "Identity", [x])
    assert len(graph.node) == expected_ops(steps), (len(graph.node), expected_ops(steps))
    return graph


if __name__ == "__main__":
    import sys
    import time

    t = time.time()
    g = build_graph_def(steps=int(sys.argv[1]) if len(sys.argv) > 1 else STEPS)
    data = g.SerializeToString()
    print(f"{len(g.node)} ops, {len(data) / 1e6:.1f} MB, built in {time.time() - t:.1f} s")
