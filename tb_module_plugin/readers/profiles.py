"""Measured time: the profiles TensorFlow's profiler writes into a run (`<run>/plugins/profile/<session>/
<host>.xplane.pb`, an XSpace protobuf), read through TensorBoard's file system layer (so a `gs://` logdir works as
it does for the Profile plugin), and matched to a graph's ops by name.

On the host CPU plane, each op run is an event named `op_name:op_type`. An op's time is the sum of its events'
durations over every profiled step, divided by the number of steps: how many times the op run most often ran.
Events that are not op runs (`ExecutorState::Process` encloses them) are left out.

A fused op keeps the name of the last op it fused (`dense_1/BiasAdd:_FusedMatMul` holds the MatMul's time): its
event's type says it is one and which op it starts from, and the graph's edges from the named op back through its
inputs find the ops it fused. Their time goes to that first op (the convolution, the product), and each of them is
named by the fusion (`Conv2D+BiasAdd (fused)`).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import posixpath
import re
import stat

from .graph import GraphError
from .protos import message_class
from ..tree.scopes import common_group

PROFILE_DIR = ("plugins", "profile")
PROFILE_SUFFIX = ".xplane.pb"
UNTIMED = float("nan")
# A profile is read whole and parsed in memory (several times its size): larger files are refused before reading.
# TensorFlow's profiles of a few training steps are a few MB; the README states this bound.
MAX_PROFILE_BYTES = 256 * 2**20
# A run may hold any number of profiling sessions: what one reading takes of them, the newest first.
MAX_PROFILE_FILES = 64
MAX_PROFILES_TOTAL_BYTES = 2**30


def _gfile():
    from tensorboard.compat import tf

    return tf.io.gfile


def run_dir(logdir: str, run: str) -> str:
    if not logdir:
        return ""
    join = posixpath.join if "://" in logdir else os.path.join
    return logdir if run == "." else join(logdir, *run.split("/"))


def profile_files(logdir: str, run: str) -> list:
    """The run's .xplane.pb files, newest session last ([] for none, or no logdir)."""
    directory = run_dir(logdir, run)
    if not directory:
        return []
    gfile = _gfile()
    join = posixpath.join if "://" in directory else os.path.join
    root = join(directory, *PROFILE_DIR)
    try:
        if not gfile.isdir(root):
            return []
        return sorted(gfile.glob(join(root, "*", "*" + PROFILE_SUFFIX)))
    except (OSError, ValueError):  # (an unreachable bucket, a permission)
        return []


@dataclasses.dataclass
class OpTimes:
    """What a run's profiles measured: each op's total time and how many times it ran, over every step."""

    files: list  # the profiles read
    total_ps: dict  # op name -> picoseconds over all its runs
    runs: dict  # op name -> how many times it ran
    steps: int  # profiled steps (the number of runs most ops had)
    all_ops_ps: int  # every op event's time, matched to a graph or not
    kernels: dict = dataclasses.field(default_factory=dict)  # op name -> the type of its events (`_FusedConv2D`)

    def per_step_us(self, op_name: str) -> float | None:
        ps = self.total_ps.get(op_name)
        return None if ps is None else ps / self.steps / 1e6


# TensorFlow runs a control-flow op's bodies inlined, naming their ops `<op>/<branch>/_<node id>/<name>` (`then`,
# `else`, `cond`, `body`); the node id is the lowered graph's, which no record holds.
_BODY_RUN = re.compile(r"/[A-Za-z_]\w*/_\d+(?=/)")


def run_name_of(event_op_name: str) -> str:
    """A profiled op's name as Op.run_name spells it: each control-flow body's `/<branch>/_<node id>/` as `/`."""
    return _BODY_RUN.sub("", event_op_name) if "/_" in event_op_name else event_op_name


def read_op_times(files: list) -> OpTimes:
    """The op events of `files` (GraphError for a profile that does not parse, or holds no op event): the newest
    MAX_PROFILE_FILES of them, and of those only as many, newest first, as MAX_PROFILES_TOTAL_BYTES holds (the
    newest is read whatever its size within MAX_PROFILE_BYTES)."""
    total: dict = collections.Counter()
    runs: dict = collections.Counter()
    kernels: dict = {}
    gfile = _gfile()
    read: list = []
    spent = 0
    for path in reversed(files[-MAX_PROFILE_FILES:]):  # (`files` lists the newest session last)
        try:
            data = _profile_bytes(path, gfile)
            spent += len(data)
            if read and spent > MAX_PROFILES_TOTAL_BYTES:
                break
            read.append(path)
            space = _xspace().FromString(data)
            del data
        except GraphError:
            raise
        except Exception as e:  # noqa: BLE001 - a decode error, a file gone: said as what it is
            raise GraphError(f"The profile {path} is not a readable XSpace ({type(e).__name__}: {e}).") from None
        for plane in space.planes:
            if not plane.name.startswith("/host:"):
                continue  # (a device plane names kernels, not ops)
            names = {entry.key: entry.value.name for entry in plane.event_metadata}
            for line in plane.lines:
                if not line.name.startswith("tf_"):
                    continue  # (the `python` line holds host-side events, not op runs)
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    op_name, colon, op_type = name.rpartition(":")
                    if colon and op_name and op_type and not op_name.endswith(":"):
                        op_name = run_name_of(op_name)
                        total[op_name] += event.duration_ps
                        runs[op_name] += 1
                        kernels.setdefault(op_name, op_type)  # the newest profile's
    files = read[::-1]
    if not runs:
        raise GraphError(f"The run's profiles ({', '.join(files)}) time no op: TensorFlow's profiler wrote no op "
                         "event into them (profile a call of a tf.function: tf.profiler.experimental.start(RUN_DIR), "
                         "the call, tf.profiler.experimental.stop()).")
    steps = collections.Counter(runs.values()).most_common(1)[0][0]
    return OpTimes(files=list(files), total_ps=dict(total), runs=dict(runs), steps=max(1, steps),
                   all_ops_ps=sum(total.values()), kernels=kernels)


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


def _profile_bytes(path: str, gfile) -> bytes:
    """The bytes of the profile at `path`, only if it is a regular file of at most MAX_PROFILE_BYTES (GraphError
    otherwise). A named pipe found where a profile should be blocked its reader forever, a device or a huge file
    exhausted the server: the kind and size are checked before opening, and again on what was opened."""
    if "://" in path:  # an object store (gs://...) holds objects only: the size is all there is to check
        _check_size(path, gfile.stat(path).length)
        with gfile.GFile(path, "rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)
    else:
        _check_regular(path, os.stat(path))
        # Non-blocking, so that a file swapped for a pipe since the check cannot block the open either.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            _check_regular(path, os.fstat(fd))
            data = f.read(MAX_PROFILE_BYTES + 1)
    _check_size(path, len(data))  # (grown since)
    return data


_NOT_REGULAR = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory"))


def _check_regular(path: str, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _NOT_REGULAR if test(status.st_mode)), "not a regular file")
        raise GraphError(f"The profile {path} is {kind}, not a file: only regular files are read as profiles.")
    _check_size(path, status.st_size)


def _check_size(path: str, size: int) -> None:
    if size > MAX_PROFILE_BYTES:
        raise GraphError(f"The profile {path} is {size / 2**20:,.0f} MB: profiles of more than "
                         f"{MAX_PROFILE_BYTES // 2**20} MB are not read (profile fewer steps: "
                         "tf.profiler.experimental.start/stop around one or two calls).")


class Times:
    """Every node's measured time per step, in the order of Hierarchy.all_nodes (UNTIMED where no op below it
    was timed), from a run's OpTimes; with the share of each group's ops the profile timed (coverage_of), the
    fusions that ran ops as one kernel (fused_of) and the part of each group's time its backward pass takes
    (backward_of)."""

    def __init__(self, hierarchy, op_times: OpTimes):
        from array import array

        from ..build import backward

        nodes = hierarchy.all_nodes
        index = {id(node): i for i, node in enumerate(nodes)}
        times = array("d", [UNTIMED]) * len(nodes)
        hit = bytearray(len(nodes))  # the op is timed: its own events, or a fused kernel's that ran it
        fused: dict = {}  # id(op) -> "Conv2D+BiasAdd (fused)"
        total_ps, kernels, steps = op_times.total_ps, op_times.kernels, op_times.steps

        def timed(op) -> bool:  # (or already given a fused kernel's time: an op runs in one kernel)
            return op.run_name in total_ps or hit[index[id(op)]]

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
                j = index[id(op)]
                times[j], hit[j] = (ps / steps / 1e6 if op is chain[0] else 0.0), 1
                fused[id(op)] = label
        matched = sum(hit)
        for group, us in _unheld_times(nodes, total_ps, steps):  # (before the sums below: added with them)
            i = index[id(group)]
            times[i] = us if times[i] != times[i] else times[i] + us
        if not matched:
            raise GraphError("The run's profiles time none of this graph's ops (they profiled another function, "
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
            parent = index[id(nodes[i].parent)]
            counted[parent] += counted[i]
            covered[parent] += covered[i]
            if times[i] == times[i]:  # (not NaN)
                times[parent] = times[i] if times[parent] != times[parent] else times[parent] + times[i]
        in_module = bytearray(len(nodes))  # the node is a module or inside one
        module_us = 0.0
        for i, node in enumerate(nodes):  # (parents before children)
            above = node.parent is not None and in_module[index[id(node.parent)]]
            if node.kind == "module" and not above and times[i] == times[i]:
                module_us += times[i]
            in_module[i] = above or node.kind == "module"
        self._index = index
        self.times = times
        self._counted, self._covered, self._fused = counted, covered, fused
        self._backward = backward.backward_sums(hierarchy, index, times, partial=True)
        self.module_us = module_us  # what the ops inside modules take, per step
        self.matched = matched
        self.steps = op_times.steps
        self.profile_us = op_times.all_ops_ps / op_times.steps / 1e6  # every op of the profiled step

    def time_of(self, node) -> float | None:
        value = self.times[self._index[id(node)]]
        return None if value != value else value

    def coverage_of(self, node) -> float | None:
        """The share of the node's ops that the profile timed, of those of a type it times anywhere (None where
        it holds none of those)."""
        i = self._index[id(node)]
        return self._covered[i] / self._counted[i] if self._counted[i] else None

    def fused_of(self, node) -> str | None:
        """An op that ran in a fused kernel: the kernel's ops, `Conv2D+BiasAdd (fused)`."""
        return self._fused.get(id(node))

    def backward_of(self, node) -> float | None:
        """The time of the node's backward ops (backward.py): None where it holds none, or none is timed."""
        value = self._backward[self._index[id(node)]] if self._backward is not None else UNTIMED
        return None if value != value else value


# Grappler names the ops it makes in place of a graph's with a mark of the optimizer that made them:
# `<scope>/ArithmeticOptimizer/AddOpsRewrite_Add`, `ConstantFolding/<name>`,
# `<name>-0-TransposeNHWCToNCHW-LayoutOptimizer`, `<name>-CastToFp16-AutoMixedPrecision`. Only such events are
# another op's work in the graph's scopes: any other name the graph does not hold is an op of another function the
# profile also ran.
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


def _unheld_times(nodes, total_ps: dict, steps: int) -> list:
    """[(group, microseconds per step)] for the profiled ops the graph does not hold that grappler made in place of
    ops of its scopes when TensorFlow ran it (`conv2_block1_add/ArithmeticOptimizer/AddOpsRewrite_Add`): each event's
    time goes to the deepest group holding every op of the graph in the deepest scope of its name that holds any."""
    held = {node.run_name for node in nodes if node.children is None}
    unheld = []
    for name, ps in total_ps.items():
        if name not in held:
            scope = _grappler_scope(name)
            if scope:
                unheld.append((scope, ps))
    if not unheld:
        return []
    # A trie of the held ops' scopes, each entry [children, first, last]: the first and last index (in `nodes`, a
    # depth-first order, so a group's nodes are contiguous) of the groups holding its ops. The deepest group holding
    # them all is the one holding the first and the last. Built once over the names: linear in their length.
    position = {id(node): i for i, node in enumerate(nodes)}
    trie: list = [{}, None, None]
    wanted_tops = {scope[0] for scope, _ in unheld}
    for node in nodes:
        if node.children is not None:
            continue
        segments = node.run_name.split("/")[:-1]
        if not segments or segments[0] not in wanted_tops:
            continue
        i = position[id(node.parent)]
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



def _xspace():
    """The XSpace message, with only the fields read here (TensorFlow's xplane.proto: XSpace.planes = 1;
    XPlane.name = 2, lines = 3, event_metadata = 4 (a map int64 -> XEventMetadata, whose name = 2); XLine.name = 2,
    events = 4; XEvent.metadata_id = 1, duration_ps = 3)."""
    return message_class("tb_module_plugin_xplane", "XSpace", (
        ("XEvent", (("metadata_id", 1, "int64", False), ("duration_ps", 3, "int64", False))),
        ("XLine", (("name", 2, "string", False), ("events", 4, "XEvent", True))),
        ("XEventMetadata", (("name", 2, "string", False),)),
        ("EventMetadataEntry", (("key", 1, "int64", False), ("value", 2, "XEventMetadata", False))),
        ("XPlane", (("name", 2, "string", False), ("lines", 3, "XLine", True),
                    ("event_metadata", 4, "EventMetadataEntry", True))),
        ("XSpace", (("planes", 1, "XPlane", True),)),
    ))
