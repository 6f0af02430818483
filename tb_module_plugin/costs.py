"""What ops and groups cost: floating-point operations for one call of the recorded function, from the shapes the
graph records (`_output_shapes`: a `module_graph` record, a run graph written by `tf.summary.graph`).

A multiply-add counts as 2. Where TensorFlow's own profiler (`tf.compat.v1.profiler`, its flops registry) counts an
op, the count here is the same formula; ops it does not count but that do arithmetic (activations, batch norm,
einsum, fused ops, pooling...) are counted here too, by the rules below. Ops that only move or shape data (Const,
Identity, Reshape, Gather, a variable read...) cost 0. An op whose rule needs a shape the graph does not record (a
trace records almost none; a batch dimension left as None) has an unknown cost, and so has every group above it.
Unknown is not zero: an op type with neither a rule nor a place among the free ones (a custom op, an optimizer's
update) is not counted, and every group above it says its FLOPs are a lower bound and names the type; so is a call
or control-flow op whose functions were not expanded (the budget, a function calling itself: "PartitionedCall (not
expanded)"). A loop body's ops count once per iteration: times the trip count where the graph says it
(expand.loop_trips), else once, and every group above them says so; where that count is only the most the loop runs
(`maximum_iterations` beside a data-dependent condition), they say that.
"""

from __future__ import annotations

import re

from array import array
from math import prod

from .ops import CALL_OPS, WHILE_OPS, port_index

UNKNOWN = -1  # a cost that is not known (in the arrays below)
# A graph with more ops than this gets its costs in the background (Hierarchy.settle), after its first answer: the
# NodeDefs of every op have to be read, about half a second for 200,000 ops.
SYNC_COST_OPS = 40_000

# Rules by op type: flops from (node_def, input shapes, output shapes); a shape is a list of dimensions.
# Ops with no output whose rule reads their inputs alone (a variable updated in place: one per element of the value).
_NO_OUTPUT = frozenset({"AssignAddVariableOp", "AssignSubVariableOp"})
_UNARY = {  # one per element of the input (TensorFlow's profiler: Reciprocal, Square, Log, Neg; the rest here)
    "Reciprocal", "Square", "Log", "Neg", "AssignSub", "AssignAdd", "Relu", "Relu6", "Elu", "Selu",
    "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Expm1", "Log1p", "Sqrt", "Abs", "Erf", "Softplus", "Softsign", "Sin",
    "Cos", "Floor", "Ceil", "Round", "Sign", "Inv", "Gelu",
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


def _flag(node, name: str) -> bool:
    """A bool attribute, False where absent (read without `[]`, which would add it to the NodeDef)."""
    return name in node.attr and node.attr[name].b


def _ints(node, name: str) -> list:
    return list(node.attr[name].list.i) if name in node.attr else []


def _matmul(node, ins, outs):
    a = ins[0]
    k = a[-2] if _flag(node, "transpose_a") or _flag(node, "adj_x") else a[-1]
    return 2 * k * _elements(outs[0])


def _conv(node, ins, outs):
    kernel = ins[1]  # [kh, kw, in, out] (Conv3D: [kd, kh, kw, in, out]), whatever the data format
    return 2 * _elements(outs[0]) * prod(kernel[:-1])


def _depthwise(node, ins, outs):
    kernel = ins[1]  # [kh, kw, in, multiplier]
    return 2 * _elements(outs[0]) * kernel[0] * kernel[1]


def _conv_backprop_input(node, ins, outs):
    # TensorFlow's profiler: 2 * output elements * kernel elements / (output depth * strides' product)
    strides = _ints(node, "strides") or [1, 1, 1, 1]
    kernel, out = ins[1], outs[0]
    return 2 * _elements(out) * _elements(kernel) // (out[-1] * strides[1] * strides[2])


def _conv_backprop_filter(node, ins, outs):
    strides = _ints(node, "strides") or [1, 1, 1, 1]
    image, kernel = ins[0], outs[0]
    return 2 * _elements(image) * _elements(kernel) // (image[-1] * strides[1] * strides[2])


def _depthwise_backprop_input(node, ins, outs):
    return 2 * _elements(ins[2]) * ins[1][0] * ins[1][1]  # as the forward op: out_backprop elements x kernel area


def _depthwise_backprop_filter(node, ins, outs):
    return 2 * _elements(ins[2]) * outs[0][0] * outs[0][1]


def _pool(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(outs[0])


def _avg_pool_grad(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(ins[1]) * 2


def _max_pool_grad(node, ins, outs):
    return prod(_ints(node, "ksize") or [1]) * _elements(ins[1]) + _elements(ins[1])


def _reduction(finish):
    def rule(node, ins, outs):
        return _elements(ins[0]) + _elements(outs[0]) * (finish - 1)
    return rule


def _add_n(node, ins, outs):
    return _elements(ins[0]) * (len(ins) - 1) if ins else 0


def _fused_batch_norm(node, ins, outs):
    # inference: x * scale' + offset' (2 an element); training: the batch's mean and variance first (4 more)
    training = _flag(node, "is_training") if "is_training" in node.attr else True
    return _elements(ins[0]) * (6 if training else 2)


def _fused_batch_norm_grad(node, ins, outs):
    return _elements(ins[0]) * 8


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
    def rule(node, ins, outs):
        fused = len(node.attr["fused_ops"].list.s) if "fused_ops" in node.attr else 0  # (read only if there)
        return base(node, ins, outs) + fused * _elements(outs[0])
    return rule


def _softmax(node, ins, outs):
    return 5 * _elements(ins[0])  # TensorFlow's profiler: shift (2), exp (1), normalize (2)


def _l2_loss(node, ins, outs):
    return 3 * _elements(ins[0]) - 1


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
    **{op: (lambda node, ins, outs: _elements(ins[0])) for op in _UNARY},
    "Rsqrt": lambda node, ins, outs: 2 * _elements(ins[0]),  # (TensorFlow's profiler: a root and a division)
    **{op: (lambda node, ins, outs: _elements(ins[1])) for op in ("AssignAddVariableOp", "AssignSubVariableOp")},
    "SquaredDifference": lambda node, ins, outs: 2 * _elements(outs[0]),
    **{op: (lambda node, ins, outs: _elements(outs[0])) for op in _BINARY},
}


def output_shapes(node_def) -> list:
    """The recorded shape of each output (a list of dimensions), None where not fully known; [] if none is."""
    if "_output_shapes" not in node_def.attr:
        return []
    out = []
    for shape in node_def.attr["_output_shapes"].list.shape:
        dims = [d.size for d in shape.dim]
        out.append(None if shape.unknown_rank or any(d < 0 for d in dims) else dims)
    return out


def counted(op_type: str) -> bool:
    """Whether FLOPs of this op type are counted here: it has a rule, or is known to do no arithmetic."""
    return op_type in RULES or op_type in _FREE


def op_flops(op, shapes_of, node_def=None) -> int | None:
    """An op's FLOPs for one call: 0 for an op that does no arithmetic (or that no rule counts: see counted),
    None where a shape its rule needs is not recorded. `shapes_of(op, node_def=None)` gives an op's output shapes
    (output_shapes, memoized); `node_def`: the op's, where the caller has read it already."""
    rule = RULES.get(op.type)
    if rule is None:
        return 0
    if node_def is None:
        node_def = op.node_def
    outs = shapes_of(op, node_def)
    ins = []
    for producer, port, control in op.inputs:
        if control:
            continue
        produced = shapes_of(producer)
        index = port_index(port.rsplit(":", 1)[-1])
        ins.append(produced[index] if index < len(produced) else None)
    if op.type in _NO_OUTPUT:  # (its first input is the variable's handle: a shape that says nothing)
        if len(ins) < 2 or ins[1] is None:
            return None
    elif not outs or outs[0] is None or any(shape is None for shape in ins):
        return None
    try:
        flops = rule(node_def, ins, outs)
    except (IndexError, ZeroDivisionError, ValueError):
        return None  # shapes that do not fit the op (a damaged record)
    return None if flops is None else max(0, int(flops))


class Costs:
    """Every node's FLOPs, in the order of Hierarchy.all_nodes (UNKNOWN where not known), what they leave out
    (op types not counted, loops counted per iteration), and how many of each group's ops each device holds
    (where the graph records placement).

    The root's FLOPs are the recorded function's: the plugin's group of other functions and eager ops a trace (or
    a SavedModel's further signatures, often the same graph again) holds is counted on its own, not into the root."""

    def __init__(self, hierarchy):
        nodes = hierarchy.all_nodes
        index = {id(node): i for i, node in enumerate(nodes)}
        flops = array("q", [0]) * len(nodes)
        known = _records_shapes(nodes)
        memo: dict = {}
        uncounted: dict = {}  # node index -> {op types it holds that are not counted}
        per_iteration: set = set()  # node indexes holding ops of a loop whose trip count is not known
        loop_bound: set = set()  # node indexes holding ops of a loop counted at the most it runs
        loops = _loops(nodes)
        prefixes = _prefix_iterations(nodes, loops) if loops else None

        def shapes_of(op, node_def=None):
            shapes = memo.get(id(op))
            if shapes is None:
                shapes = memo[id(op)] = output_shapes(op.node_def if node_def is None else node_def)
            return shapes

        devices: dict = {}  # node index -> the device an op records
        # Last node first: producers come after their consumers in all_nodes' order (mostly), so each op's shapes
        # are read with its own NodeDef, not from a second parse when a consumer asks first.
        for i in range(len(nodes) - 1, -1, -1):
            node = nodes[i]
            if node.children is None:
                # Its NodeDef read once for its FLOPs, shapes and device: each read parses it again (a million
                # ops read 2.7 million times took most of the 11 s of counting).
                node_def = node.node_def
                if node_def.device:
                    devices[i] = node_def.device
                value = op_flops(node, shapes_of, node_def) if known or node.type not in RULES else None
                if not counted(node.type):
                    uncounted[i] = {node.type}
                elif node.not_expanded or node.type in CALL_OPS:  # (an expanded call leaves no op of its own)
                    uncounted[i] = {f"{node.type} (not expanded)"}
                if prefixes is not None and node.call_prefix and value:
                    times, at_most = _iterations(node, prefixes)
                    if times is None:
                        per_iteration.add(i)
                    else:
                        value *= times
                        if at_most:
                            loop_bound.add(i)
                flops[i] = UNKNOWN if value is None else value
        for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each to its parent
            node = nodes[i]
            parent = index[id(node.parent)]
            if node.role in _APART and parent == 0:
                continue  # (not the recorded function's work)
            if flops[i] == UNKNOWN or flops[parent] == UNKNOWN:
                flops[parent] = UNKNOWN  # (a group is known when every op below it is)
            else:
                flops[parent] += flops[i]
            if i in uncounted:
                uncounted.setdefault(parent, set()).update(uncounted[i])
            if i in per_iteration:
                per_iteration.add(parent)
            if i in loop_bound:
                loop_bound.add(parent)
        self._index = index
        self.flops = flops
        self._uncounted = uncounted
        self._per_iteration = per_iteration
        self._loop_bound = loop_bound
        self._device_names, self._devices = _placement(nodes, index, devices)

    def flops_of(self, node) -> int | None:
        value = self.flops[self._index[id(node)]]
        return None if value == UNKNOWN else value

    def flops_uncounted(self, node) -> list:
        """The op types below the node whose FLOPs are not counted (its FLOPs are a lower bound), sorted."""
        return sorted(self._uncounted.get(self._index[id(node)], ()))

    def flops_per_iteration(self, node) -> bool:
        """Whether some of the node's FLOPs are a loop body's, counted once where the trip count is not known."""
        return self._index[id(node)] in self._per_iteration

    def flops_loop_bound(self, node) -> bool:
        """Whether some of the node's FLOPs are a loop body's, counted at the most the loop runs (its
        `maximum_iterations`) where a data-dependent condition may end it sooner."""
        return self._index[id(node)] in self._loop_bound

    def devices_of(self, node) -> dict | None:
        """Device -> how many of the node's ops it holds, most first (an op: its own, once); None where no op
        records one."""
        if node.children is None:
            device = node.node_def.device
            return {canonical_device(device): 1} if device else None
        counts = self._devices.get(self._index[id(node)])
        if not counts:
            return None
        return {self._device_names[d]: n for d, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))}


_APART = {"functions", "eager_ops"}  # the roles of groups whose ops are not the recorded function's


def _loops(nodes) -> dict:
    """The loops of the graph: the call prefix of each While op's bodies (see ops.Op.run_name) -> (its trip
    count, expand.Trips or None, and its cond function's name)."""
    loops = {}
    for node in nodes:
        if node.children is None and node.type in WHILE_OPS:
            cond = node.node_def.attr["cond"].func.name if "cond" in node.node_def.attr else ""
            loops[f"{node.call_prefix}{node.op_name}/"] = (node.trips, cond)
    return loops


def _prefix_iterations(nodes, loops) -> dict:
    """Each call prefix the ops (and loops) have -> (how many times the loops around it run its body's ops before
    its own loop counts, None where one's trip count is not known; whether one of those counts is a most; its own
    loop, loops' entry, or None). The loops around a prefix are those whose prefix starts it: sorted, each prefix
    finds the longest such among those before it with a stack, so a deep prefix is not cut at each of its '/'."""
    prefixes = set(loops)
    for node in nodes:
        if node.children is None and node.call_prefix:
            prefixes.add(node.call_prefix)
    table: dict = {}
    stack: list = []
    for prefix in sorted(prefixes):
        while stack and not prefix.startswith(stack[-1]):
            stack.pop()
        times, at_most = 1, False
        if stack:
            times, at_most, loop = table[stack[-1]]
            if loop is not None and times is not None:
                trips = loop[0]
                times, at_most = (None, at_most) if trips is None else (times * trips.count, at_most or trips.at_most)
        table[prefix] = (times, at_most, loops.get(prefix))
        stack.append(prefix)
    return table


def _iterations(op, prefixes) -> tuple:
    """How many times the op runs in one call: the product of the trip counts of the loops it is in (a cond's ops
    once more than its body's), None where one of them is not known; and whether one of them is a most."""
    times, at_most, loop = prefixes[op.call_prefix]
    if times is None or loop is None:
        return times, at_most
    trips, cond = loop
    if trips is None:
        return None, at_most
    return times * (trips.count + 1 if op.function == cond else trips.count), at_most or trips.at_most


_LOCAL_TASK = "/job:localhost/replica:0/task:0"  # the default task of a one-process program
_LEGACY_DEVICE = re.compile(r"/(cpu|gpu|tpu):(\d+)$", re.IGNORECASE)


def canonical_device(device: str) -> str:
    """One name per device: a one-process program's ops name theirs `/device:CPU:0` or, once placed, with the
    local task in front (`/job:localhost/replica:0/task:0/device:CPU:0`), or the old way (`/cpu:0`)."""
    if device.startswith(_LOCAL_TASK + "/"):
        device = device[len(_LOCAL_TASK):]
    return _LEGACY_DEVICE.sub(lambda m: f"/device:{m.group(1).upper()}:{m.group(2)}", device)


def _placement(nodes, index, devices: dict) -> tuple:
    """The devices ops record (`devices`: node index -> device; their names, numbered) and each group's count of
    ops per device number (groups without placed ops left out: most graphs record none)."""
    numbers: dict = {}
    counts: dict = {}
    for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each to its parent
        node = nodes[i]
        if node.children is None:
            device = devices.get(i)
            if not device:
                continue
            own = {numbers.setdefault(canonical_device(device), len(numbers)): 1}
        else:
            own = counts.get(i)
            if not own:
                continue
        parent = counts.setdefault(index[id(node.parent)], {})
        for number, n in own.items():
            parent[number] = parent.get(number, 0) + n
    return list(numbers), counts


_NO_SHAPES_OF_THEIR_OWN = {"AssignAdd", "AssignSub"} | _NO_OUTPUT  # (ops a trace may record shapes of anyway)


def _records_shapes(nodes) -> bool:
    """Whether the graph records op shapes at all (a trace's graphs record only their inputs'): looked at on a few
    ops that have a rule, so that a trace of 30,000 ops is not read through for nothing."""
    looked = 0
    for node in nodes:
        if node.children is None and node.type in RULES and node.type not in _NO_SHAPES_OF_THEIR_OWN:
            if "_output_shapes" in node.node_def.attr:
                return True
            looked += 1
            if looked >= 32:
                return False
    return looked == 0
