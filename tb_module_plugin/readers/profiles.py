"""Measured time, read: the profiles TensorFlow's profiler writes into a run (`<run>/plugins/profile/<session>/
<host>.xplane.pb`, an XSpace protobuf), read through TensorBoard's file system layer (so a `gs://` logdir works as
it does for the Profile plugin) into each op's time by name (OpTimes; measures/time.py matches them to a graph).

On the host CPU plane, each op run is an event named `op_name:op_type`. An op's time is the sum of its events'
durations over every profiled step, divided by the number of steps: how many times the op run most often ran.
Events that are not op runs (`ExecutorState::Process` encloses them) are left out.

A profile may also have run other functions over the same layers (an `eval_step`, Keras's validation pass), whose
ops carry the same names as the step's. The host's Python thread holds each function run with its span
(`EagerLocalExecute: __inference_train_step_155`): each op event is also counted for the run whose span holds its
start (OpTimes.functions), and a graph's time is taken from the runs of the functions that ran the most of its
ops (OpTimes.of_ops).

A fused op keeps the name of the last op it fused (`dense_1/BiasAdd:_FusedMatMul` holds the MatMul's time): its
event's type says it is one and which op it starts from, and the graph's edges from the named op back through its
inputs find the ops it fused. Their time goes to that first op (the convolution, the product), and each of them is
named by the fusion (`Conv2D+BiasAdd (fused)`).
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import os
import posixpath
import re
import stat

from ..errors import ProfileError
from .protos import message_class

PROFILE_DIR = ("plugins", "profile")
PROFILE_SUFFIX = ".xplane.pb"
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


def newer(files: list, wall_time: float | None) -> list:
    """The profiles of `files` written after `wall_time` (a record's, in seconds): the sessions of the step it
    records, not those of a record the run held before (a notebook cell run again into one log_dir). All of them
    where none is newer (a step profiled before it was recorded) or the time is not known."""
    if not wall_time:
        return list(files)
    gfile = _gfile()
    kept = []
    for path in files:
        try:
            if "://" in path:  # (an object store's times, through TensorBoard's file system layer, in whole seconds)
                written = getattr(gfile.stat(path), "mtime_nsec", None)
                newer_ = written is None or written // 10**9 >= int(wall_time)
            else:
                newer_ = os.stat(path).st_mtime_ns / 1e9 >= wall_time
        except (OSError, ValueError):  # (gone since listed, unreachable: read_op_times says what it finds)
            newer_ = True
        if newer_:
            kept.append(path)
    return kept or list(files)


@dataclasses.dataclass
class OpTimes:
    """What a run's profiles measured: each op's total time and how many times it ran, over every step."""

    files: list  # the profiles read
    total_ps: dict  # op name -> picoseconds over all its runs
    runs: dict  # op name -> how many times it ran
    steps: int  # profiled steps (the number of runs most ops had)
    all_ops_ps: int  # every op event's time, matched to a graph or not
    kernels: dict = dataclasses.field(default_factory=dict)  # op name -> the type of its events (`_FusedConv2D`)
    xla_events: int = 0  # events of XLA-compiled programs run (they time XLA's kernels, not the graph's ops)
    # function run on the host (`__inference_train_step_155`) -> (total_ps, runs) of the op events in its runs' spans
    functions: dict = dataclasses.field(default_factory=dict)
    kept: tuple = ()  # the functions of_ops kept (() for every event)

    def of_ops(self, held) -> "OpTimes":
        """These times restricted to the runs of the functions that ran the most distinct ops of `held` (a
        graph's op names as profiles name them; ties all kept, as a function traced again runs the same ops):
        another function running some of the same ops (an evaluation of the same layers) is left out. Itself
        where no function run holds any of them (a profile without the host's function spans)."""
        counts = {name: sum(op in held for op in runs) for name, (_, runs) in self.functions.items()}
        best = max(counts.values(), default=0)
        if not best:
            return self
        kept = sorted(name for name, count in counts.items() if count == best)
        # Then every other function that runs some of `held` none kept runs (a step's optimizer update in a
        # function of its own): only one whose held ops all run in those kept is another run of the same work.
        covered = {op for name in kept for op in self.functions[name][1] if op in held}
        for name in sorted(counts, key=lambda n: (-counts[n], n)):
            if name not in kept and counts[name]:
                own = {op for op in self.functions[name][1] if op in held}
                if own - covered:
                    kept.append(name)
                    covered |= own
        kept = tuple(sorted(kept))
        total: dict = collections.Counter()
        runs: dict = collections.Counter()
        for name in kept:
            total.update(self.functions[name][0])
            runs.update(self.functions[name][1])
        return OpTimes(files=self.files, total_ps=dict(total), runs=dict(runs), steps=_steps(runs),
                       all_ops_ps=sum(total.values()), kernels=self.kernels, xla_events=self.xla_events, kept=kept)

    def per_step_us(self, op_name: str) -> float | None:
        ps = self.total_ps.get(op_name)
        return None if ps is None else ps / self.steps / 1e6


# A step compiled with XLA (`jit_compile=True`) runs as one executable: its events are the executable's and its
# thunks' (`CpuExecutable::ExecuteAsyncOnStream`, `ThunkExecutor::Execute`, `copy.2`, `end: copy.2`); no event times
# an op of the graph. An op that launches a compiled cluster is timed as the op it is, all of the cluster in it.
_XLA_EVENT = re.compile(r"\w*Executable::ExecuteAsyncOnStream\w*|ThunkExecutor::Execute")
_XLA_OP_TYPES = frozenset({"XlaLaunch", "XlaLaunchV2", "_XlaRun"})


# TensorFlow runs a control-flow op's bodies inlined, naming their ops `<op>/<branch>/_<node id>/<name>` (`then`,
# `else`, `cond`, `body`); the node id is the lowered graph's, which no record holds.
_BODY_RUN = re.compile(r"/[A-Za-z_]\w*/_\d+(?=/)")


def run_name_of(event_op_name: str) -> str:
    """A profiled op's name as Op.run_name spells it: each control-flow body's `/<branch>/_<node id>/` as `/`."""
    return _BODY_RUN.sub("", event_op_name) if "/_" in event_op_name else event_op_name


def read_op_times(files: list) -> OpTimes:
    """The op events of `files` (ProfileError for a profile that does not parse, or holds no op event): the newest
    MAX_PROFILE_FILES of them, and of those only as many, newest first, as MAX_PROFILES_TOTAL_BYTES holds (the
    newest is read whatever its size within MAX_PROFILE_BYTES)."""
    total: dict = collections.Counter()
    runs: dict = collections.Counter()
    kernels: dict = {}
    functions: dict = {}  # function name -> (Counter of ps, Counter of runs)
    xla_events = 0
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
        except ProfileError:
            raise
        except Exception as e:  # noqa: BLE001 - a decode error, a file gone: said as what it is
            raise ProfileError(f"The profile {path} is not a readable XSpace ({type(e).__name__}: {e}).") from None
        for plane in space.planes:
            if not plane.name.startswith("/host:"):
                continue  # (a device plane names kernels, not ops)
            names = {entry.key: entry.value.name for entry in plane.event_metadata}
            spans = _function_runs(plane, names)
            starts = [span[0] for span in spans]
            for line in plane.lines:
                if not line.name.startswith("tf_"):
                    continue  # (the `python` line holds host-side events, not op runs)
                line_ps = line.timestamp_ns * 1000
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    if _XLA_EVENT.fullmatch(name):
                        xla_events += 1
                        continue
                    op_name, colon, op_type = name.rpartition(":")
                    # (`end: copy.2`, an XLA thunk's end, is no op run: an op's type follows its colon directly)
                    if colon and op_name and op_type and not op_name.endswith(":") and not op_type[0].isspace():
                        xla_events += op_type in _XLA_OP_TYPES
                        op_name = run_name_of(op_name)
                        total[op_name] += event.duration_ps
                        runs[op_name] += 1
                        kernels.setdefault(op_name, op_type)  # the newest profile's
                        function = _run_holding(spans, starts, line_ps + event.offset_ps)
                        if function is not None:
                            pair = functions.get(function)
                            if pair is None:
                                pair = functions[function] = (collections.Counter(), collections.Counter())
                            pair[0][op_name] += event.duration_ps
                            pair[1][op_name] += 1
    files = read[::-1]
    if not runs and xla_events:
        raise ProfileError(f"The run's profiles ({', '.join(files)}) time no op: they hold only XLA's events "
                         f"({xla_events} of programs compiled with XLA), and XLA runs a compiled step as one "
                         "program, with no time per TensorFlow op. For time per module, profile steps run without "
                         "XLA (Keras: compile(..., jit_compile=False); tf.function(jit_compile=False)).")
    if not runs:
        raise ProfileError(f"The run's profiles ({', '.join(files)}) time no op: TensorFlow's profiler wrote no op "
                         "event into them (profile a call of a tf.function: tf.profiler.experimental.start(RUN_DIR), "
                         "the call, tf.profiler.experimental.stop()).")
    return OpTimes(files=list(files), total_ps=dict(total), runs=dict(runs), steps=_steps(runs),
                   all_ops_ps=sum(total.values()), kernels=kernels, xla_events=xla_events,
                   functions={name: (dict(ps), dict(count)) for name, (ps, count) in functions.items()})


def _steps(runs: dict) -> int:
    """Profiled steps: how many times most ops ran."""
    return max(1, collections.Counter(runs.values()).most_common(1)[0][0]) if runs else 1


# The host's Python thread marks each eager execution with its span: `EagerLocalExecute: <op or function>`
# (a tf.function's run is `EagerLocalExecute: __inference_<name>_<n>`); the ops a function runs run on TensorFlow's
# threads (the `tf_` lines) while it waits, inside that span.
_FUNCTION_RUN = "EagerLocalExecute: "
_FUNCTION_RUN_PREFIX = _FUNCTION_RUN + "__inference_"  # (a tf.function's run; other spans are single ops)
_MAX_OVERLAP = 8  # spans of other Python threads looked back over for the one holding an event


def _function_runs(plane, names: dict) -> list:
    """[(start ps, end ps, name)] of the plane's function runs, by start."""
    spans = []
    for line in plane.lines:
        if line.name.startswith("tf_"):
            continue
        line_ps = line.timestamp_ns * 1000
        for event in line.events:
            name = names.get(event.metadata_id, "")
            # (function runs only: a single eager op another thread runs meanwhile, a data pipeline's, would hide
            # the run holding an event from _run_holding)
            if name.startswith(_FUNCTION_RUN_PREFIX):
                start = line_ps + event.offset_ps
                spans.append((start, start + event.duration_ps, name[len(_FUNCTION_RUN):]))
    spans.sort()
    return spans


def _run_holding(spans: list, starts: list, at: int):
    """The name of the latest-starting execution whose span holds the time `at` (None for none)."""
    i = bisect.bisect_right(starts, at) - 1
    for j in range(i, max(-1, i - _MAX_OVERLAP), -1):
        if spans[j][1] >= at:
            return spans[j][2]
    return None


def _profile_bytes(path: str, gfile) -> bytes:
    """The bytes of the profile at `path`, only if it is a regular file of at most MAX_PROFILE_BYTES (ProfileError
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
        raise ProfileError(f"The profile {path} is {kind}, not a file: only regular files are read as profiles.")
    _check_size(path, status.st_size)


def _check_size(path: str, size: int) -> None:
    if size > MAX_PROFILE_BYTES:
        raise ProfileError(f"The profile {path} is {size / 2**20:,.0f} MB: profiles of more than "
                         f"{MAX_PROFILE_BYTES // 2**20} MB are not read (profile fewer steps: "
                         "tf.profiler.experimental.start/stop around one or two calls).")


def _xspace():
    """The XSpace message, with only the fields read here (TensorFlow's xplane.proto: XSpace.planes = 1;
    XPlane.name = 2, lines = 3, event_metadata = 4 (a map int64 -> XEventMetadata, whose name = 2); XLine.name = 2,
    timestamp_ns = 3, events = 4; XEvent.metadata_id = 1, offset_ps = 2, duration_ps = 3)."""
    return message_class("tb_module_plugin_xplane", "XSpace", (
        ("XEvent", (("metadata_id", 1, "int64", False), ("offset_ps", 2, "int64", False),
                    ("duration_ps", 3, "int64", False))),
        ("XLine", (("name", 2, "string", False), ("timestamp_ns", 3, "int64", False), ("events", 4, "XEvent", True))),
        ("XEventMetadata", (("name", 2, "string", False),)),
        ("EventMetadataEntry", (("key", 1, "int64", False), ("value", 2, "XEventMetadata", False))),
        ("XPlane", (("name", 2, "string", False), ("lines", 3, "XLine", True),
                    ("event_metadata", 4, "EventMetadataEntry", True))),
        ("XSpace", (("planes", 1, "XPlane", True),)),
    ))
