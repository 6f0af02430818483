"""What an op costs: floating-point operations for one call of the recorded function, from the shapes the
graph records (`_output_shapes`: a `module_graph` record, a run graph written by `tf.summary.graph`).

A multiply-add counts as 2. Where TensorFlow's own profiler (`tf.compat.v1.profiler`, its flops registry) counts an
op, the count here is the same formula; ops it does not count but that do arithmetic (activations, batch norm,
einsum, fused ops, pooling...) are counted here too, by the rules below. Ops that only move or shape data (Const,
Identity, Reshape, Gather, a variable read...) cost 0. An op whose rule needs a shape the graph does not record (a
trace records almost none; a batch dimension left as None) has an unknown cost, and so has every group above it.
Unknown is not zero: an op type with neither a rule nor a place among the free ones (a custom op, an optimizer's
update) is not counted, and every group above it says its FLOPs are a lower bound and names the type; so is a call
or control-flow op whose functions were not expanded (the budget, a function calling itself: "PartitionedCall (not
expanded)").
"""

from __future__ import annotations

from math import prod

from ..tree.ops import port_index

NO_OUTPUT = frozenset({"AssignAddVariableOp", "AssignSubVariableOp"})
_UNARY = {  # one per element of the input (TensorFlow's profiler: Reciprocal, Square, Log, Neg; the rest here)
    "Reciprocal", "Square", "Log", "Neg", "AssignSub", "AssignAdd", "Relu", "Relu6", "Elu", "Selu",
    "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Expm1", "Log1p", "Sqrt", "Abs", "Erf", "Softplus", "Softsign", "Sin",
    "Cos", "Floor", "Ceil", "Round", "Sign", "Inv", "Gelu", "Erfc",
}
_BINARY = {  # one per element of the output (broadcast)
    "Add", "AddV2", "Sub", "Mul", "RealDiv", "Div", "DivNoNan", "FloorDiv", "FloorMod", "Maximum", "Minimum", "Pow",
    "RsqrtGrad", "GreaterEqual", "Greater", "LessEqual", "Less", "Equal", "NotEqual", "ReluGrad", "Relu6Grad",
    "SigmoidGrad", "TanhGrad", "SqrtGrad", "BiasAddV1", "SelectV2", "Select", "MulNoNan", "Xdivy", "Xlogy",
    "LogicalAnd", "LogicalOr",
}
_REDUCTIONS = {"Mean": 1, "Sum": 0, "Max": 0, "Min": 0, "Prod": 0, "ArgMax": 0, "ArgMin": 0, "BiasAddGrad": 0,
               "EuclideanNorm": 1}  # op -> flops per output element to finish (Mean divides)
_FREE = {  # ops that only move, shape or hold data: no arithmetic
    "Const", "Identity", "IdentityN", "Placeholder", "_Arg", "_Retval", "_DeviceArg", "_DeviceRetval", "NoOp",
    "ReadVariableOp", "VarHandleOp", "VariableV2", "AssignVariableOp", "Reshape", "Shape", "ShapeN", "Size", "Rank",
    "Squeeze", "ExpandDims", "Transpose", "ConcatV2", "Concat", "Pack", "Unpack", "Split", "SplitV", "Slice",
    "StridedSlice", "StridedSliceGrad", "Gather", "GatherV2", "GatherNd", "ResourceGather", "Tile", "Fill", "ZerosLike",
    "OnesLike", "Pad", "PadV2", "MirrorPad", "Cast", "StopGradient", "PreventGradient", "Range", "BroadcastTo",
    "BroadcastArgs", "BroadcastGradientArgs", "OneHot", "Where", "PrintV2", "StringFormat", "Assert", "If", "While",
    "StatelessIf", "StatelessWhile", "Case", "StatelessCase", "PartitionedCall", "StatefulPartitionedCall",
    "ScatterNd", "TensorScatterUpdate", "ReverseV2", "Bitcast", "CheckNumerics", "EnsureShape", "Snapshot",
    "DeviceIndex", "Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond", "ControlTrigger",
    "RandomUniform", "RandomStandardNormal", "StatelessRandomUniformV2", "StatelessRandomNormalV2",
    "StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg", "StatelessRandomUniformFullIntV2",
    "StatelessTruncatedNormalV2", "TruncatedNormal", "DepthToSpace", "SpaceToDepth", "InvertPermutation",
    # (more that only hold, move, compare or bookkeep: variables, lists, iterators, checkpoints, random bits)
    "PlaceholderWithDefault", "VarIsInitializedOp", "DestroyResourceOp", "ReadVariableXlaSplitND", "Empty",
    "TensorListReserve", "TensorListFromTensor", "TensorListStack", "TensorListSetItem", "TensorListGetItem",
    "TensorListElementShape", "TensorListLength", "TensorListPushBack", "TensorListPopBack", "EmptyTensorList",
    "TensorArrayV3", "TensorArrayWriteV3", "TensorArrayReadV3", "TensorArrayGatherV3", "TensorArrayScatterV3",
    "TensorArraySizeV3", "IteratorGetNext", "IteratorV2", "MakeIterator", "AnonymousIteratorV3", "OptionalGetValue",
    "OptionalHasValue", "SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename", "StringJoin",
    "StaticRegexFullMatch", "Print", "LogicalNot", "Unique", "ResourceScatterUpdate",
    "StatelessRandomUniformIntV2", "RandomUniformInt", "StatelessMultinomial", "Multinomial",
    "RngReadAndSkip", "RngBitGenerator", "StatelessRandomGetAlg", "TensorScatterAdd", "FakeParam", "_Send", "_Recv",
    "_HostSend", "_HostRecv", "Variable", "VarHandleOpV2", "AssignVariableXlaConcatND", "Real", "Imag",
    "QueueDequeueV2", "QueueEnqueueV2", "FIFOQueueV2", "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3",
    "ParallelConcat", "MatrixDiag", "MatrixDiagV3", "MatrixDiagPart", "MatrixDiagPartV3", "MatrixBandPart",
    "Reverse", "Roll", "UnravelIndex", "ReverseSequence", "ResizeNearestNeighbor", "SparseToDense",
    "DynamicStitch", "ParallelDynamicStitch", "DynamicPartition",
}


def _elements(shape) -> int:
    return prod(shape)


ALL = "all"  # (reads: every input's shape)


def reads(*inputs, out=False):
    """Declares the shapes a rule reads: its inputs' by position (ALL: every input's) and, with `out`, its first
    output's. op_flops counts an op where these are recorded, whatever its other inputs' (a reduction's axes, the
    reserve space FusedBatchNormV3 hands its gradient: tensors a graph often records with no shape)."""
    def mark(rule):
        rule.reads = (inputs, out)
        return rule
    return mark


def _flag(node, name: str) -> bool:
    """A bool attribute, False where absent (read without `[]`, which would add it to the NodeDef)."""
    return name in node.attr and node.attr[name].b


def _ints(node, name: str) -> list:
    return list(node.attr[name].list.i) if name in node.attr else []


@reads(0, out=True)
def _matmul(node, ins, outs):
    a = ins[0]
    k = a[-2] if _flag(node, "transpose_a") or _flag(node, "adj_x") else a[-1]
    return 2 * k * _elements(outs[0])


@reads(1, out=True)
def _conv(node, ins, outs):
    kernel = ins[1]  # [kh, kw, in, out] (Conv3D: [kd, kh, kw, in, out]), whatever the data format
    return 2 * _elements(outs[0]) * prod(kernel[:-1])


@reads(1, out=True)
def _depthwise(node, ins, outs):
    kernel = ins[1]  # [kh, kw, in, multiplier]
    return 2 * _elements(outs[0]) * kernel[0] * kernel[1]


@reads(1, out=True)  # (input 0: the input's size, a shape vector)
def _conv_backprop_input(node, ins, outs):
    # TensorFlow's profiler: 2 * output elements * kernel elements / (output depth * strides' product)
    strides = _ints(node, "strides") or [1, 1, 1, 1]
    kernel, out = ins[1], outs[0]
    return 2 * _elements(out) * _elements(kernel) // (out[-1] * strides[1] * strides[2])


@reads(0, out=True)  # (input 1: the filter's size, a shape vector)
def _conv_backprop_filter(node, ins, outs):
    strides = _ints(node, "strides") or [1, 1, 1, 1]
    image, kernel = ins[0], outs[0]
    return 2 * _elements(image) * _elements(kernel) // (image[-1] * strides[1] * strides[2])


@reads(1, 2)
def _depthwise_backprop_input(node, ins, outs):
    return 2 * _elements(ins[2]) * ins[1][0] * ins[1][1]  # as the forward op: out_backprop elements x kernel area


@reads(2, out=True)
def _depthwise_backprop_filter(node, ins, outs):
    return 2 * _elements(ins[2]) * outs[0][0] * outs[0][1]


@reads(out=True)
def _pool(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(outs[0])


@reads(1)  # (input 0: the input's size, a shape vector)
def _avg_pool_grad(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(ins[1]) * 2


@reads(1)  # (its original output)
def _max_pool_grad(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(ins[1]) + _elements(ins[1])


def _reduction(finish):
    @reads(0, out=True)  # (not input 1, its axes: a gradient's often come from BroadcastGradientArgs, no shape)
    def rule(node, ins, outs):
        if _elements(outs[0]) == _elements(ins[0]):
            return 0  # (no axis reduced, or only axes of size 1: a broadcast's gradient where nothing broadcast)
        return _elements(ins[0]) + _elements(outs[0]) * (finish - 1)
    return rule


@reads(0)  # (and how many inputs: the rest have its shape)
def _add_n(node, ins, outs):
    return _elements(ins[0]) * (len(ins) - 1) if ins else 0


@reads(0)
def _fused_batch_norm(node, ins, outs):
    # inference: x * scale' + offset' (2 an element); training: the batch's mean and variance first (4 more)
    training = _flag(node, "is_training") if "is_training" in node.attr else True
    return _elements(ins[0]) * (6 if training else 2)


@reads(0)  # (not its reserve spaces, inputs 3-5, often recorded with no shape)
def _fused_batch_norm_grad(node, ins, outs):
    return _elements(ins[0]) * 8


@reads(ALL)
def _einsum(node, ins, outs):
    """2 x the product of the sizes of every index the equation names (a contraction's multiply-adds)."""
    if "equation" not in node.attr:
        return None
    equation = node.attr["equation"].s.decode("utf-8", "replace").replace(" ", "")
    operands, _, _ = equation.partition("->")
    sizes: dict = {}
    for labels, shape in zip(operands.split(","), ins):
        if "." in labels or len(labels) != len(shape):
            return None  # (an ellipsis: which dimensions it stands for is not said here)
        for label, size in zip(labels, shape):
            sizes[label] = max(sizes.get(label, 1), size)
    return 2 * prod(sizes.values()) if len(ins) > 1 else prod(sizes.values())


def _fused(base):
    """A grappler-fused op (`_FusedMatMul`, `_FusedConv2D`): its base op, plus one an output element per fused
    op after it (BiasAdd, Relu, ...)."""
    @reads(*base.reads[0], out=True)
    def rule(node, ins, outs):
        fused = len(node.attr["fused_ops"].list.s) if "fused_ops" in node.attr else 0  # (read only if there)
        return base(node, ins, outs) + fused * _elements(outs[0])
    return rule


@reads(0)
def _softmax(node, ins, outs):
    return 5 * _elements(ins[0])  # TensorFlow's profiler: shift (2), exp (1), normalize (2)


@reads(0)
def _l2_loss(node, ins, outs):
    return 3 * _elements(ins[0]) - 1


@reads(0)
def _bias_add(node, ins, outs):
    return _elements(ins[0])


RULES = {
    "MatMul": _matmul, "BatchMatMul": _matmul, "BatchMatMulV2": _matmul, "BatchMatMulV3": _matmul,
    "Conv2D": _conv, "Conv3D": _conv, "Conv1D": _conv, "DepthwiseConv2dNative": _depthwise,
    "Conv2DBackpropInput": _conv_backprop_input, "Conv2DBackpropFilter": _conv_backprop_filter,
    "Conv3DBackpropInputV2": _conv_backprop_input, "Conv3DBackpropFilterV2": _conv_backprop_filter,
    "DepthwiseConv2dNativeBackpropInput": _depthwise_backprop_input,
    "DepthwiseConv2dNativeBackpropFilter": _depthwise_backprop_filter,
    "AvgPool": _pool, "MaxPool": _pool, "AvgPool3D": _pool, "MaxPool3D": _pool, "AvgPoolGrad": _avg_pool_grad,
    "MaxPoolGrad": _max_pool_grad, "AddN": _add_n, "BiasAdd": _bias_add, "Softmax": _softmax,
    "LogSoftmax": _softmax, "L2Loss": _l2_loss, "Einsum": _einsum,
    "FusedBatchNorm": _fused_batch_norm, "FusedBatchNormV2": _fused_batch_norm, "FusedBatchNormV3": _fused_batch_norm,
    "FusedBatchNormGrad": _fused_batch_norm_grad, "FusedBatchNormGradV2": _fused_batch_norm_grad,
    "FusedBatchNormGradV3": _fused_batch_norm_grad,
    "_FusedMatMul": _fused(_matmul), "_FusedConv2D": _fused(_conv),
    **{op: _reduction(finish) for op, finish in _REDUCTIONS.items()},
    **{op: reads(0)(lambda node, ins, outs: _elements(ins[0])) for op in _UNARY},
    "Rsqrt": reads(0)(lambda node, ins, outs: 2 * _elements(ins[0])),  # (TensorFlow's profiler: a root and a division)
    # (input 0 is the variable's handle, whose shape says nothing: the value's)
    **{op: reads(1)(lambda node, ins, outs: _elements(ins[1])) for op in NO_OUTPUT},
    "SquaredDifference": reads(out=True)(lambda node, ins, outs: 2 * _elements(outs[0])),
    **{op: reads(out=True)(lambda node, ins, outs: _elements(outs[0])) for op in _BINARY},
}


def output_shapes(node_def) -> list:
    """The recorded shape of each output (a list of dimensions), None where not fully known; [] if none is."""
    if "_output_shapes" not in node_def.attr:
        return []
    return shapes_in(node_def.attr["_output_shapes"])


def shapes_in(value) -> list:
    """The shapes an `_output_shapes` AttrValue holds, as output_shapes gives them."""
    out = []
    for shape in value.list.shape:
        dims = [d.size for d in shape.dim]
        out.append(None if shape.unknown_rank or any(d < 0 for d in dims) else dims)
    return out


def counted(op_type: str) -> bool:
    """Whether FLOPs of this op type are counted here: it has a rule, or is known to do no arithmetic."""
    return op_type in RULES or op_type in _FREE


def op_flops(op, shapes_of) -> int | None:
    """An op's FLOPs for one call: 0 for an op that does no arithmetic (or that no rule counts: see counted),
    None where a shape its rule reads (its `reads`) is not recorded. `shapes_of(op)` gives an op's output shapes
    (output_shapes; lists the caller may share, read only here)."""
    rule = RULES.get(op.type)
    if rule is None:
        return 0
    outs = shapes_of(op)
    ins = []
    for producer, port, control in op.inputs:
        if control:
            continue
        produced = shapes_of(producer)
        index = _PORTS.get(port)
        if index is None:
            index = port_index(port.rsplit(":", 1)[-1])
        ins.append(produced[index] if index < len(produced) else None)
    inputs, out = rule.reads
    if out and (not outs or outs[0] is None):
        return None
    if inputs == (ALL,):
        if None in ins:  # (a shape not known; no list equals None)
            return None
    elif any(i >= len(ins) or ins[i] is None for i in inputs):
        return None
    try:
        flops = rule(_Attrs(op), ins, outs)
    except (IndexError, ZeroDivisionError, ValueError):
        return None  # shapes that do not fit the op (a damaged record)
    return None if flops is None else max(0, int(flops))


_PORTS = {str(i): i for i in range(8)}  # the ports most inputs name (the rest: port_index)


class _Attrs:
    """What a rule reads of an op's NodeDef, its `attr`: parsed only if the rule reads one (most read shapes
    alone, and a million ops' NodeDefs parsed took seconds)."""

    __slots__ = ("op", "_node_def")

    def __init__(self, op):
        self.op = op
        self._node_def = None

    @property
    def attr(self):
        if self._node_def is None:
            self._node_def = self.op.node_def  # (kept: the map is the parsed message's)
        return self._node_def.attr
