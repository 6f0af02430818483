"""Measured time per node: a run's op times (readers/profiles.py, OpTimes) matched to a built graph's ops by name,
summed up its groups, with fused kernels' ops found from the graph's edges and the ops grappler made in place of the
graph's put in their scopes' groups."""

from __future__ import annotations

import re
from array import array

from ..errors import ProfileError
from ..readers.profiles import OpTimes
from ..tree.scopes import common_group
from .backward import backward_sums

UNTIMED = float("nan")


def times_for(hierarchy, op_times: OpTimes) -> "Times":
    """The Times of the hierarchy's nodes for a run's measured op times (made once for each, kept by the graph)."""
    with hierarchy.lock:
        times = hierarchy.times.get(id(op_times))
        if times is None or times[0] is not op_times:
            times = hierarchy.times[id(op_times)] = (op_times, Times(hierarchy, op_times))
    return times[1]


# A fused kernel's type names the op it starts from: `_FusedConv2D`, `_MklNativeFusedConv2D`, `_FusedMatMul`,
# `_MklFusedDepthwiseConv2dNative`, `_FusedBatchNormEx` (from a FusedBatchNorm op).
_FUSED_KERNEL = re.compile(r"_(?:Mkl)?(?:Native)?Fused(\w+)$")
_FUSED_BASES = {"BatchNormEx": ("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")}
MAX_FUSED = 4  # ops back from the named op that a fusion may reach (grappler fuses at most three after the first)


def fused_chain(op, kernel: str, timed) -> list | None:
    """The ops a fused kernel ran, first to last (`op`, whose name its events carry, last), found from the graph:
    back from `op` through its data inputs, over ops the profile does not time themselves (`timed(op)` is
    False), to the nearest op of the type the kernel starts from. None where `kernel` is no fused kernel's type
    or no such op is found."""
    match = _FUSED_KERNEL.fullmatch(kernel)
    if match is None or kernel == op.type:
        return None  # (a graph grappler already fused holds the fused op itself: it is timed as it is)
    bases = _FUSED_BASES.get(match.group(1), (match.group(1),))
    if op.type in bases:
        return None  # (nothing fused after it)
    frontier, seen = [(op, [op])], {id(op)}
    for _ in range(MAX_FUSED):
        following = []
        for node, chain in frontier:
            for producer, _, control in node.inputs:
                if control or id(producer) in seen or timed(producer):
                    continue
                seen.add(id(producer))
                if producer.type in bases:
                    return [producer] + chain[::-1]
                following.append((producer, chain + [producer]))
        frontier = following
    return None


class Times:
    """Every node's measured time per step, in the order of Hierarchy.all_nodes (UNTIMED where no op below it
    was timed), from a run's OpTimes; with the share of each group's ops the profile timed (coverage_of), the
    fusions that ran ops as one kernel (fused_of) and the part of each group's time its backward pass takes
    (backward_of)."""

    def __init__(self, hierarchy, op_times: OpTimes):
        nodes = hierarchy.all_nodes  # (each node's place among them: node.number, set by tree.hierarchy.finalize)
        times = array("d", [UNTIMED]) * len(nodes)
        hit = bytearray(len(nodes))  # the op is timed: its own events, or a fused kernel's that ran it
        fused: dict = {}  # id(op) -> "Conv2D+BiasAdd (fused)"
        held = {node.run_name for node in nodes if node.children is None}
        # Only the runs of the function that ran this graph's ops: another function the profile ran over the same
        # layers (an evaluation) has ops of the same names.
        op_times = op_times.of_ops(held)
        total_ps, kernels, steps = op_times.total_ps, op_times.kernels, op_times.steps

        def timed(op) -> bool:  # (or already given a fused kernel's time: an op runs in one kernel)
            return op.run_name in total_ps or hit[op.number]

        # (first: those ops are timed for fused_chain)
        for op, us in _suffixed_times(nodes, held, total_ps, kernels, steps):
            i = op.number
            times[i], hit[i] = us if times[i] != times[i] else times[i] + us, 1
        for i, node in enumerate(nodes):
            if node.children is not None:
                continue
            ps = total_ps.get(node.run_name)
            if ps is None:
                continue
            chain = fused_chain(node, kernels.get(node.run_name, node.type), timed)
            if chain is None:
                times[i], hit[i] = ps / steps / 1e6, 1
                continue
            label = "+".join(op.type for op in chain) + " (fused)"
            for op in chain:  # the kernel's time on the op it starts from, 0 on the ops it ran after it
                j = op.number
                times[j], hit[j] = (ps / steps / 1e6 if op is chain[0] else 0.0), 1
                fused[id(op)] = label
        matched = sum(hit)
        # (before the sums below: added with them)
        for group, us in _unheld_times(nodes, held, total_ps, kernels, steps):
            i = group.number
            times[i] = us if times[i] != times[i] else times[i] + us
        if not matched and op_times.xla_events:
            raise ProfileError("The run's profiles time none of this graph's ops: they hold events of programs "
                             "compiled with XLA, which runs a compiled step as one program, with no time per "
                             "TensorFlow op. For time per module, profile steps run without XLA (Keras: "
                             "compile(..., jit_compile=False); tf.function(jit_compile=False)).")
        if not matched:
            raise ProfileError("The run's profiles time none of this graph's ops (they profiled another function, "
                             "or ops of other names): profile a call of the function this graph records, "
                             "tf.profiler.experimental.start(RUN_DIR), the call, tf.profiler.experimental.stop().")
        # Coverage counts the ops of the types the profile times somewhere in the graph: TensorFlow records no
        # event for some (a Const, a Reshape, an Identity, an _Arg) and grappler removes others, wherever they are.
        timed_types = {node.type for i, node in enumerate(nodes) if hit[i]}
        counted = array("l", [0]) * len(nodes)
        covered = array("l", [0]) * len(nodes)
        for i, node in enumerate(nodes):
            if node.children is None and node.type in timed_types:
                counted[i], covered[i] = 1, hit[i]
        for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each timed one to its parent
            parent = nodes[i].parent.number
            counted[parent] += counted[i]
            covered[parent] += covered[i]
            if times[i] == times[i]:  # (not NaN)
                times[parent] = times[i] if times[parent] != times[parent] else times[parent] + times[i]
        in_module = bytearray(len(nodes))  # the node is a module or inside one
        module_us = 0.0
        for i, node in enumerate(nodes):  # (parents before children)
            above = node.parent is not None and in_module[node.parent.number]
            if node.kind == "module" and not above and times[i] == times[i]:
                module_us += times[i]
            in_module[i] = above or node.kind == "module"
        self.times = times
        self._counted, self._covered, self._fused = counted, covered, fused
        self._backward = backward_sums(hierarchy, times, partial=True)
        self.module_us = module_us  # what the ops inside modules take, per step
        self.matched = matched
        self.steps = op_times.steps
        self.functions = op_times.kept  # the functions whose runs the time is of (() for the whole profile)
        self.profile_us = op_times.all_ops_ps / op_times.steps / 1e6  # every op of the profiled step

    def time_of(self, node) -> float | None:
        value = self.times[node.number]
        return None if value != value else value

    def coverage_of(self, node) -> float | None:
        """The share of the node's ops that the profile timed, of those of a type it times anywhere (None where
        it holds none of those)."""
        i = node.number
        return self._covered[i] / self._counted[i] if self._counted[i] else None

    def fused_of(self, node) -> str | None:
        """An op that ran in a fused kernel: the kernel's ops, `Conv2D+BiasAdd (fused)`."""
        return self._fused.get(id(node))

    def backward_of(self, node) -> float | None:
        """The time of the node's backward ops (backward.py): None where it holds none, or none is timed."""
        value = self._backward[node.number] if self._backward is not None else UNTIMED
        return None if value != value else value


# Grappler names the ops it makes in place of a graph's with a mark of the optimizer that made them:
# `<scope>/ArithmeticOptimizer/AddOpsRewrite_Add`, `ConstantFolding/<name>`,
# `<name>-0-TransposeNHWCToNCHW-LayoutOptimizer`, `<name>-CastToFp16-AutoMixedPrecision`; or after the last graph op
# of the chain it runs (`<op>/unary_ops_composition`: _suffixed_times). Only such events are another op's work in the graph's
# scopes: any other name the graph does not hold is an op of another function the profile also ran.
_GRAPPLER_SEGMENTS = frozenset({"ArithmeticOptimizer", "ConstantFolding"})
_GRAPPLER_SUFFIX = re.compile(r".-(?:LayoutOptimizer|AutoMixedPrecision)$")


def _grappler_scope(name: str) -> list | None:
    """The scope segments of a profiled op grappler made (its name without the optimizer's mark and its own last
    segment); None for a name without such a mark."""
    segments = name.split("/")
    kept = [s for s in segments[:-1] if s not in _GRAPPLER_SEGMENTS]
    if len(kept) == len(segments) - 1 and not _GRAPPLER_SUFFIX.search(segments[-1]):
        return None
    return kept


def _suffixed_times(nodes, held: set, total_ps: dict, kernels: dict, steps: int) -> list:
    """[(op, microseconds per step)] for the profiled ops the graph does not hold whose name is a graph op's name
    and one more segment: grappler's ops that run a chain of the graph's ops, named after its last one
    (ArithmeticOptimizer's `<op>/unary_ops_composition`, a `_UnaryOpsComposition` running the unary ops of GELU's
    gradient, `Neg` then `Exp`). Their time is that op's; the chain's other ops count as not timed. The graph and
    the profile decide: the name before the last `/` is one of the graph's ops, and the profile's kernel is one
    that runs a chain (another op named below a graph op's name, such as a body op of a call left unexpanded, is
    not that op's work)."""
    firsts: dict = {}  # graph op's name -> the picoseconds of the ops named after it
    for name, ps in total_ps.items():
        first = _composed_after(name, held, kernels)
        if first is not None:
            firsts[first] = firsts.get(first, 0) + ps
    if not firsts:
        return []
    return [(node, firsts[node.run_name] / steps / 1e6) for node in nodes
            if node.children is None and node.run_name in firsts]


_CHAIN_KERNELS = frozenset({"_UnaryOpsComposition"})  # grappler's kernels that run a chain of the graph's ops


def _composed_after(name: str, held: set, kernels: dict) -> str | None:
    """The graph op a profiled op not in the graph runs a chain ending with (_suffixed_times), or None."""
    if name in held or kernels.get(name) not in _CHAIN_KERNELS:
        return None
    first = name.rpartition("/")[0]
    return first if first in held else None


def _unheld_times(nodes, held: set, total_ps: dict, kernels: dict, steps: int) -> list:
    """[(group, microseconds per step)] for the profiled ops the graph does not hold that grappler made in place of
    ops of its scopes when TensorFlow ran it (`conv2_block1_add/ArithmeticOptimizer/AddOpsRewrite_Add`): each event's
    time goes to the deepest group holding every op of the graph in the deepest scope of its name that holds any."""
    unheld = []
    for name, ps in total_ps.items():
        if name not in held and _composed_after(name, held, kernels) is None:  # (_suffixed_times's)
            scope = _grappler_scope(name)
            if scope:
                unheld.append((scope, ps))
    if not unheld:
        return []
    # A trie of the held ops' scopes, each entry [children, first, last]: the first and last index (in `nodes`, a
    # depth-first order, so a group's nodes are contiguous) of the groups holding its ops. The deepest group holding
    # them all is the one holding the first and the last. Built once over the names: linear in their length.
    trie: list = [{}, None, None]
    wanted_tops = {scope[0] for scope, _ in unheld}
    for node in nodes:
        if node.children is not None:
            continue
        segments = node.run_name.split("/")[:-1]
        if not segments or segments[0] not in wanted_tops:
            continue
        i = node.parent.number
        entry = trie
        for segment in segments:
            entry = entry[0].setdefault(segment, [{}, None, None])
            if entry[1] is None or i < entry[1]:
                entry[1] = i
            if entry[2] is None or i > entry[2]:
                entry[2] = i
    out = []
    for scope, ps in unheld:
        entry, found = trie, None
        for segment in scope:
            entry = entry[0].get(segment)
            if entry is None:
                break
            found = entry
        if found is not None:
            out.append((common_group([nodes[found[1]], nodes[found[2]]]), ps / steps / 1e6))
    return out
