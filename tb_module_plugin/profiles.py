"""Measured time: the profiles TensorFlow's profiler writes into a run (`<run>/plugins/profile/<session>/
<host>.xplane.pb`, an XSpace protobuf), read through TensorBoard's file system layer (so a `gs://` logdir works as
it does for the Profile plugin), and matched to a graph's ops by name.

On the host CPU plane, each op run is an event named `op_name:op_type` (a fused op keeps the name of its last op:
`dense_1/Relu:_MklNativeFusedMatMul` holds the MatMul's time too). An op's time is the sum of its events' durations
over every profiled step, divided by the number of steps: how many times the op run most often ran. Events that are
not op runs (`ExecutorState::Process` encloses them) are left out.
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

PROFILE_DIR = ("plugins", "profile")
PROFILE_SUFFIX = ".xplane.pb"
UNTIMED = float("nan")
# A profile is read whole and parsed in memory (several times its size): larger files are refused before reading.
# TensorFlow's profiles of a few training steps are a few MB; the README states this bound.
MAX_PROFILE_BYTES = 256 * 2**20


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
    """The op events of `files` (GraphError for a profile that does not parse, or holds no op event)."""
    total: dict = collections.Counter()
    runs: dict = collections.Counter()
    gfile = _gfile()
    for path in files:
        try:
            space = _xspace().FromString(_profile_bytes(path, gfile))
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
    if not runs:
        raise GraphError(f"The run's profiles ({', '.join(files)}) time no op: TensorFlow's profiler wrote no op "
                         "event into them (profile a call of a tf.function: tf.profiler.experimental.start(RUN_DIR), "
                         "the call, tf.profiler.experimental.stop()).")
    steps = collections.Counter(runs.values()).most_common(1)[0][0]
    return OpTimes(files=list(files), total_ps=dict(total), runs=dict(runs), steps=max(1, steps),
                   all_ops_ps=sum(total.values()))


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
    was timed), from a run's OpTimes."""

    def __init__(self, hierarchy, op_times: OpTimes):
        from array import array

        nodes = hierarchy.all_nodes
        index = {id(node): i for i, node in enumerate(nodes)}
        times = array("d", [UNTIMED]) * len(nodes)
        matched = 0
        for i, node in enumerate(nodes):
            if node.children is None:
                us = op_times.per_step_us(node.run_name)
                if us is not None:
                    times[i] = us
                    matched += 1
        if not matched:
            raise GraphError("The run's profiles time none of this graph's ops (they profiled another function, "
                             "or ops of other names): profile a call of the function this graph records, "
                             "tf.profiler.experimental.start(RUN_DIR), the call, tf.profiler.experimental.stop().")
        for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each timed one to its parent
            if times[i] == times[i]:  # (not NaN)
                parent = index[id(nodes[i].parent)]
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
        self.module_us = module_us  # what the ops inside modules take, per step
        self.matched = matched
        self.steps = op_times.steps
        self.profile_us = op_times.all_ops_ps / op_times.steps / 1e6  # every op of the profiled step

    def time_of(self, node) -> float | None:
        value = self.times[self._index[id(node)]]
        return None if value != value else value


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
