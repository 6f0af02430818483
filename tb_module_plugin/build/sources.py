"""What the data provider holds: the graph records of a logdir, read only through `context.data_provider`
(so TensorBoard's Rust data server works too), and how each kind of record becomes a hierarchy."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import time

from tensorboard import errors as tb_errors
from tensorboard.data import provider

from ..errors import GraphError, NotFound, PublicError
from ..schema import PLUGIN_NAME
from .. import schema
from ..readers import graph as graph_lib
from .builder import build_graph_hierarchy
from ..tree.hierarchy import Hierarchy
from ..readers.keras_model import build_keras_hierarchy
from ..readers.manifest import parse_manifest
from .module_record import build_module_hierarchy

log = logging.getLogger(__name__)

# Data-plugin name -> the `source` the API reports, in order of preference when a run/tag has several.
GRAPH_PLUGINS = {
    PLUGIN_NAME: "module",
    "graph_run_metadata_graph": "trace",  # tf.summary.trace_export
    "graph_run_metadata": "trace",  # trace_export with profiler=True
    "graphs": "run_graph",  # tf.summary.graph, Event.graph_def
    "graph_keras_model": "keras",  # the Keras TensorBoard callback
}
RUN_GRAPH_TAG = "__run_graph__"
# TensorFlow and Keras write this content in trace and Keras records; TensorBoard's Graphs plugin ignores
# other versions, so do we.
_TF_CONTENT = b"1"


@dataclasses.dataclass(frozen=True)
class GraphRecord:
    run: str
    tag: str
    source: str
    plugin_name: str

    def to_json(self, profiled: bool = False) -> schema.GraphEntry:
        return schema.GraphEntry(run=self.run, tag=self.tag, source=self.source, profiled=profiled)


class RecordNotFound(NotFound):
    """No graph for that run and tag; the message is meant for the user."""


class ProviderError(PublicError):
    """The data provider failed to answer (a 422); the message is meant for the user. Not remembered as the
    record's outcome: the next request asks again (a data server restarting recovers)."""


@contextlib.contextmanager
def _asking_provider(what: str, run: str = "", tag: str = "", passing: tuple = ()):
    """Whatever the data provider raises but `passing` (a run gone, which callers handle) becomes a ProviderError
    saying what could not be done. Its PublicErrors' text is meant to be shown; of anything else only the type
    is."""
    try:
        yield
    except passing:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the provider is an answer, never a 500
        log.warning("Modules tab: the data provider failed to %s: %r", what, e)
        reason = str(e) if isinstance(e, tb_errors.PublicError) else type(e).__name__
        hint = ""
        if any(c in name for name in (run, tag) for c in '"\\'):
            # TensorBoard 2.21's Rust data server cannot parse its own blob keys for such names.
            hint = (" TensorBoard's Rust data server (--load_fast=true) cannot read runs or tags whose names hold "
                    "'\"' or '\\': start TensorBoard with --load_fast=false to see this graph.")
        raise ProviderError(f"TensorBoard's data provider could not {what} ({reason}).{hint}") from None


def list_graphs(data_provider, ctx, experiment_id: str) -> list:
    """Every graph of the experiment, one per (run, tag), sorted."""
    records = {}
    for plugin_name, source in GRAPH_PLUGINS.items():
        with _asking_provider("list the logdir's graphs"):
            mapping = data_provider.list_blob_sequences(ctx, experiment_id=experiment_id, plugin_name=plugin_name)
        for run, tags in (mapping or {}).items():
            for tag, series in tags.items():
                if plugin_name == "graphs":
                    if tag != RUN_GRAPH_TAG:
                        continue
                elif plugin_name != PLUGIN_NAME and series.plugin_content != _TF_CONTENT:
                    continue
                records.setdefault((run, tag), GraphRecord(run, tag, source, plugin_name))
    return [records[key] for key in sorted(records)]


def find_record(records: list, run: str, tag: str) -> GraphRecord:
    """The graph of `run` and `tag` among `records` (a list_graphs answer)."""
    for record in records:
        if record.run == run and record.tag == tag:
            return record
    if not any(record.run == run for record in records):
        raise RecordNotFound(f"There is no run {run!r} with a graph in this logdir.")
    raise RecordNotFound(f"Run {run!r} has no graph tagged {tag!r}.")


class RecentAnswers:
    """The data provider's answers about graphs, reused for `seconds` (TensorBoard's reload interval: it reads
    nothing newer before that). Every API request needs the listing and the record's newest blobs: asked anew, that
    was six data-provider calls per request (100 ms a request with the Rust data server on a 40-graph logdir). Keyed by
    experiment; an exception (nothing found) is not remembered."""

    MAX_ENTRIES = 1024

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._answers: dict = {}

    def get(self, key, compute, fresh: bool = False):
        """`compute()`'s answer, or the one it gave less than `seconds` ago (unless `fresh` is asked for); an
        empty answer is not remembered (a logdir still being loaded)."""
        now = time.monotonic()
        hit = None if fresh else self._answers.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = compute()
        if len(self._answers) >= self.MAX_ENTRIES:
            self._answers.clear()
        if value:
            self._answers[key] = (now, value)
        return value

    def peek(self, key):
        """The answer given less than `seconds` ago, or None; never asks."""
        hit = self._answers.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.seconds else None

    def forget(self) -> None:
        self._answers.clear()


# What a data provider raises for a run or step that went between listing and reading (a run deleted while
# served): the Python loader's multiplexer raises KeyError, the Rust data server's client NotFoundError.
_VANISHED = (tb_errors.NotFoundError, KeyError)


MAX_STEPS = 1000  # steps of one record a step may be chosen among (TensorBoard keeps 10 by default)


class BlobKeys(tuple):
    """A record's blob keys, with the wall time (seconds) of the event that wrote them."""

    wall_time: float | None = None


def latest_blob_keys(data_provider, ctx, experiment_id: str, record: GraphRecord, step: int | None = None) -> tuple:
    """The blobs of the record's newest step (a trace written again at a later step replaces the older), or of
    `step` (comparing two steps of one run), as BlobKeys: of two data at one step, the newer."""
    try:
        with _asking_provider(f"list the data of run {record.run!r}, tag {record.tag!r}", record.run, record.tag,
                              _VANISHED):
            sequences = data_provider.read_blob_sequences(
                ctx, experiment_id=experiment_id, plugin_name=record.plugin_name,
                run_tag_filter=provider.RunTagFilter(runs=[record.run], tags=[record.tag]),
                downsample=1 if step is None else MAX_STEPS)
    except _VANISHED:
        sequences = None
    data = (sequences or {}).get(record.run, {}).get(record.tag, [])
    if step is not None:
        steps = [datum.step for datum in data]
        data = [datum for datum in data if datum.step == step]
        if not data:
            raise RecordNotFound(f"Run {record.run!r}, tag {record.tag!r} holds no graph at step {step} (its steps: "
                                 f"{', '.join(map(str, steps[:20])) or 'none'}).")
    datum = max(data, key=lambda d: (d.step, d.wall_time or 0.0), default=None)
    if datum is None or not datum.values:
        raise RecordNotFound(f"Run {record.run!r}, tag {record.tag!r} holds no data.")
    keys = BlobKeys(value.blob_key for value in datum.values)
    keys.wall_time = datum.wall_time
    return keys


def read_blobs(data_provider, ctx, record: GraphRecord, blob_keys: tuple) -> list:
    """The record's blobs; a run or step gone since it was listed is a RecordNotFound."""
    try:
        with _asking_provider(f"read run {record.run!r}, tag {record.tag!r}", record.run, record.tag, _VANISHED):
            return [data_provider.read_blob(ctx, blob_key=key) for key in blob_keys]
    except _VANISHED:
        raise RecordNotFound(f"Run {record.run!r}, tag {record.tag!r} changed while it was read "
                             "(deleted or rewritten): reload to see what is there now.") from None


def build_hierarchy(record: GraphRecord, blobs: list, consume: bool = False) -> Hierarchy:
    """Parse a record once; raises errors.GraphError for a record that holds no readable graph. `consume`: the
    caller has no further use for `blobs`, which is emptied as they are parsed (a run graph's blob goes before its
    ops are made: TensorBoard hands the store a copy of its own, 179 MB of the million-op graph's)."""
    # The ops keep their NodeDefs, and through them the whole parsed record, alive: count it for the cache.
    record_bytes = sum(len(blob) for blob in blobs)
    with _no_gc():
        hierarchy = _build(record, blobs if consume else list(blobs))
    hierarchy.record_bytes = record_bytes
    return hierarchy


@contextlib.contextmanager
def _no_gc():
    """Building creates hundreds of thousands of objects and no garbage; the collector's passes over them would
    double the build time, and each of its later full collections would walk the whole tree again (seconds for
    200,000 ops, in the middle of some request). So collection pauses during the build, and the built tree is
    then frozen (gc.freeze: out of the collector's sight, still freed by reference counting: a tree the cache
    drops breaks its own cycles, Hierarchy.free_when_dropped)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _build(record: GraphRecord, blobs: list) -> Hierarchy:
    return BUILDERS[record.source](record, blobs)


def _module_record(record: GraphRecord, blobs: list) -> Hierarchy:
    if len(blobs) < 2:
        raise GraphError("This module record is damaged: it should hold a manifest and a graph.")
    manifest = parse_manifest(blobs[0])
    others = [graph_lib.parse_graph_def(blob) for blob in blobs[2:]]
    return build_module_hierarchy(manifest, graph_lib.parse_graph_def(blobs[1]), others, record.tag)


def _keras_model(record: GraphRecord, blobs: list) -> Hierarchy:
    return build_keras_hierarchy(blobs[0], record.tag)


def _run_graph(record: GraphRecord, blobs: list) -> Hierarchy:
    graph_def = graph_lib.parse_graph_def(blobs.pop(0))  # (the blob goes once parsed: see build_hierarchy)
    flat = graph_lib.FlatGraph(ops=graph_lib.flatten_graph_def(graph_def), other_functions=[], eager_ops=[])
    # The parse's columns (a million ops: 2.3 million input names) go before the tree is built, which then reuses
    # their memory.
    del graph_def
    return build_graph_hierarchy(flat, record.run)


def _trace(record: GraphRecord, blobs: list) -> Hierarchy:
    graphs = graph_lib.parse_run_metadata(blobs[0], profiled=record.plugin_name == "graph_run_metadata")
    return build_graph_hierarchy(graph_lib.flatten_trace(graphs), record.tag)


# The `source` of a record (GRAPH_PLUGINS) -> what reads and builds it: a new kind of record is one entry here.
BUILDERS = {"module": _module_record, "keras": _keras_model, "run_graph": _run_graph, "trace": _trace}
