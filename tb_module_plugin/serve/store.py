"""The graphs one TensorBoard serves: listed and read through its data provider, each built once and kept in a
cache bounded in bytes, the graph the tab opens first chosen and built ahead while TensorBoard's page loads."""

from __future__ import annotations

import logging
import threading
import time

from tensorboard import context

from . import first_view
from ..readers import profiles
from ..build import sources
from .cache import DEFAULT_MAX_BYTES, HierarchyCache, release_freed_memory, remembered_error
from ..errors import GraphError, ProfileError
from ..measures import time as time_lib
from .settle import settle

log = logging.getLogger(__name__)

PREPARE_WAIT_SECONDS = 600  # how long to wait for the logdir's first graph after start-up
PREPARE_POLL_SECONDS = 0.25  # how often to look for it meanwhile (a listing costs milliseconds)


class GraphStore:
    def __init__(self, data_provider, max_bytes: int = DEFAULT_MAX_BYTES, reload_seconds: float = 5.0,
                 logdir: str = ""):
        self._data_provider = data_provider
        self.cache = HierarchyCache(max_bytes)
        self._recent = sources.RecentAnswers(reload_seconds)
        self.logdir = logdir  # where the runs' profiles are ("" where TensorBoard serves no single logdir)
        self.prepared = threading.Event()  # set once the start-up head start is over (done or given up)

    def start_preparing(self) -> None:
        threading.Thread(target=self._prepare_first_graph, name="module_graph-prepare", daemon=True).start()

    def graphs(self, ctx, eid: str, fresh: bool = False) -> list:
        """The experiment's graphs; the page's listing (`fresh`) asks the data provider, its next requests reuse
        that answer (sources.RecentAnswers)."""
        return self._recent.get(("graphs", eid), lambda: sources.list_graphs(self._data_provider, ctx, eid), fresh)

    def graphs_answer(self, ctx, eid: str, choose_first: bool = False):
        """The `graphs` answer (a fresh listing); with `choose_first`, the graph to open first (first_view, parsing
        a few graphs to find it) and each graph's readability where it is known. Without it the answer depends on
        the logdir alone, not on what was opened before."""
        records = self.graphs(ctx, eid, fresh=True)
        readability, first = {}, None
        if choose_first:
            readability = self._known_readability(eid, records)
            choice = self.first_graph(ctx, eid, records)
            readability.update(choice.readability)
            first = choice.record
        return first_view.graphs_answer(records, self.profiled_runs(records), readability, first)

    def first_graph(self, ctx, eid: str, records: list) -> first_view.FirstChoice:
        """Which of `records` the tab opens first (first_view.choose_first_graph); the graphs it parses stay
        cached."""
        return first_view.choose_first_graph(records, lambda record: self._readability(ctx, eid, record),
                                             lambda record: self._is_parsed(ctx, eid, record))

    def _readability(self, ctx, eid: str, record):
        try:
            return first_view.Readability.of(self.hierarchy(ctx, eid, record.run, record.tag))
        except GraphError as e:
            return first_view.Readability.of(e)
        except sources.RecordNotFound:  # gone, or not read yet: neither readable nor not
            return None
        except sources.ProviderError as e:  # logged where raised; the page says why it does not read
            return first_view.Readability.of(GraphError(str(e)))
        except Exception as e:  # noqa: BLE001 - one graph the engine cannot build must not fail the listing
            log.exception("Modules tab: building %s/%s for the first view failed", record.run, record.tag)
            return first_view.Readability.of(GraphError(f"This graph could not be read ({type(e).__name__})."))

    def _is_parsed(self, ctx, eid: str, record) -> bool:
        try:
            blob_keys = self._blob_keys(ctx, eid, record, fresh=False)
        except sources.RecordNotFound:
            return True  # nothing to parse
        except sources.ProviderError:  # (logged where raised) not parsed; the listing goes on without it
            return False
        return self.cache.peek((eid, record, blob_keys)) is not None

    def _known_readability(self, eid: str, records: list) -> dict:
        """record -> first_view.Readability of the records whose newest blobs are built or failed, asking nothing
        (blobs looked up within the reload interval, outcomes still cached)."""
        known = {}
        for record in records:
            blob_keys = self._recent.peek(("blobs", eid, record))
            built = None if blob_keys is None else self.cache.peek((eid, record, blob_keys))
            if built is not None:
                known[record] = first_view.Readability.of(built)
        return known

    def profiled_runs(self, records: list) -> set:
        """The runs of `records` that hold profiles (looked for once a reload interval)."""
        return {run for run in {r.run for r in records} if self._profile_files(run)}

    def _profile_files(self, run: str) -> tuple:
        return self._recent.get(("profiles", run), lambda: tuple(profiles.profile_files(self.logdir, run)))

    def times(self, hierarchy, run: str):
        """measures.time.Times of `hierarchy`'s nodes from the run's profiles, read once (ProfileError when there
        are none, or they do not parse, or time none of its ops)."""
        files = self._profile_files(run)
        if files and hierarchy.record_wall_time:
            wall_time = hierarchy.record_wall_time
            listed = files
            files = self._recent.get(("profiles", run, wall_time, listed),
                                     lambda: tuple(profiles.newer(listed, wall_time)))
        if not files:
            raise ProfileError(f"Run {run!r} holds no profile to read time from (plugins/profile/*/*.xplane.pb). "
                             "Profile a call of the function: tf.profiler.experimental.start(RUN_DIR), the call, "
                             "tf.profiler.experimental.stop().")

        def read():
            try:
                return profiles.read_op_times(list(files))
            except ProfileError as e:
                return remembered_error(e)

        op_times = self.cache.get(("profile", run, files), read, lambda value: 4096 + 200 * (
            len(getattr(value, "total_ps", ())) + sum(len(f[0]) for f in getattr(value, "functions", {}).values())))
        if isinstance(op_times, ProfileError):
            raise remembered_error(op_times)
        return time_lib.times_for(hierarchy, op_times)

    def hierarchy(self, ctx, eid: str, run: str, tag: str, step: int | None = None):
        """The built graph of `run` and `tag` (its newest step, or `step`) (sources.RecordNotFound, errors.GraphError
        for what is not one)."""
        try:
            return self._built(ctx, eid, run, tag, fresh=False, step=step)
        except sources.RecordNotFound:  # written, rewritten or deleted since the answers remembered?
            self._recent.forget()
            return self._built(ctx, eid, run, tag, fresh=True, step=step)

    def _built(self, ctx, eid: str, run: str, tag: str, fresh: bool, step: int | None = None):
        record = sources.find_record(self.graphs(ctx, eid, fresh), run, tag)
        blob_keys = self._blob_keys(ctx, eid, record, fresh, step)

        def build():
            try:
                blobs = sources.read_blobs(self._data_provider, ctx, record, blob_keys)
                hierarchy = sources.build_hierarchy(record, blobs, consume=True)
                hierarchy.record_wall_time = getattr(blob_keys, "wall_time", None)
                del blobs
                release_freed_memory()  # (the parse's columns and lookups: 55 MB of a million-op graph)
                # Beside the first answer, not before it: file the edges inside groups, number structures (settle).
                threading.Thread(target=_settle, args=(hierarchy,), name="module_graph-settle", daemon=True).start()
                return hierarchy
            except GraphError as e:  # remembered, so a bad record is not parsed again on every request
                return remembered_error(e)

        built = self.cache.get((eid, record, blob_keys), build, _estimated_bytes)
        if isinstance(built, GraphError):
            raise remembered_error(built)
        return built

    def _blob_keys(self, ctx, eid: str, record, fresh: bool, step: int | None = None) -> tuple:
        key = ("blobs", eid, record) if step is None else ("blobs", eid, record, step)
        return self._recent.get(key, lambda: sources.latest_blob_keys(self._data_provider, ctx, eid, record, step),
                                fresh)

    def _prepare_first_graph(self) -> None:
        """While TensorBoard's page loads (seconds), choose and build the graph the tab opens first (and parse the
        graphs before it that do not read), so opening the tab costs the same whatever that graph's size and the
        page's `graphs?first=1` finds the choice made. Waits for the logdir's first load; gives up quietly."""
        ctx = context.RequestContext()
        deadline = time.monotonic() + PREPARE_WAIT_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    records = self.graphs(ctx, "")
                    if records:
                        self.first_graph(ctx, "", records)
                        return
                except Exception:  # noqa: BLE001 - a head start only: the request for that graph says what is wrong
                    return
                time.sleep(PREPARE_POLL_SECONDS)
        finally:
            self.prepared.set()


def _settle(hierarchy) -> None:
    settle(hierarchy, after_an_answer=True)
    release_freed_memory()


def _estimated_bytes(built) -> int:
    return built.estimated_bytes() if hasattr(built, "estimated_bytes") else 1024
