"""The TensorBoard plugin: routes mapped to functions, nothing else (see docs/api.md)."""

from __future__ import annotations

import json
import mimetypes
import os
import threading
import time

from tensorboard import context, plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from . import PLUGIN_NAME, requests, sources
from .cache import DEFAULT_MAX_BYTES, HierarchyCache, release_freed_memory
from .graph import GraphError
from .tree import NotFound
from .search import BadQuery

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CACHE_FLAG = "module_graph_cache_mb"
PREPARE_WAIT_SECONDS = 600  # how long to wait for the logdir's first graph after start-up
PREPARE_POLL_SECONDS = 0.25  # how often to look for it meanwhile (a listing costs milliseconds)


class ModuleGraphPlugin(base_plugin.TBPlugin, base_plugin.TBLoader):
    """The Modules tab.

    Also its own loader: TensorBoard makes a TBLoader subclass named by the entry point with no arguments, asks it
    for flags, then calls `load(context)`; that is how `--module_graph_cache_mb` exists.
    """

    plugin_name = PLUGIN_NAME

    def __init__(self, context=None):
        if context is None:  # the loader
            return
        self._data_provider = context.data_provider
        megabytes = getattr(context.flags, CACHE_FLAG, None)
        self._cache = HierarchyCache(int(megabytes * 2**20) if megabytes else DEFAULT_MAX_BYTES)
        reload_seconds = getattr(context.flags, "reload_interval", None)
        self._recent = sources.RecentAnswers(reload_seconds if reload_seconds and reload_seconds > 0 else 5.0)
        threading.Thread(target=self._prepare_first_graph, name="module_graph-prepare", daemon=True).start()

    # -- loader --
    def define_flags(self, parser):
        parser.add_argument_group(PLUGIN_NAME).add_argument(
            "--" + CACHE_FLAG, type=float, default=DEFAULT_MAX_BYTES / 2**20, metavar="MB",
            help="Memory for parsed graphs of the Modules tab, in MB (default: %(default)g); the least recently "
                 "opened graphs are dropped beyond it and parsed again when asked for.")

    def fix_flags(self, flags):
        if not getattr(flags, CACHE_FLAG, 1) > 0:
            raise base_plugin.FlagsError(f"--{CACHE_FLAG} must be a positive number of megabytes.")

    def load(self, context):
        return ModuleGraphPlugin(context)

    def get_plugin_apps(self):
        return {
            "/graphs": self._serve_graphs,
            "/hierarchy": self._serve_hierarchy,
            "/node": self._serve_node,
            "/search": self._serve_search,
            "/index.js": self._serve_index,
            "/static/*": self._serve_static,
        }

    def is_active(self):
        return False  # the tab is enabled by data_plugin_names() having data

    def data_plugin_names(self):
        return tuple(sources.GRAPH_PLUGINS)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name="Modules")

    # -- routes --
    @wrappers.Request.application
    def _serve_graphs(self, request):
        ctx, eid = plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
        return _json(request, {"graphs": [r.to_json() for r in self._graphs(ctx, eid, fresh=True)]})

    @wrappers.Request.application
    def _serve_hierarchy(self, request):
        return self._answer(request, lambda h, args: {"node": h.node_json(args.path, args.depth)})

    @wrappers.Request.application
    def _serve_node(self, request):
        return self._answer(request, lambda h, args: {"node": h.details_json(args.path)})

    @wrappers.Request.application
    def _serve_search(self, request):
        return self._answer(request, lambda h, args: h.search(args.query, args.regex, args.limit))

    @wrappers.Request.application
    def _serve_index(self, request):
        return _static_file(request, "index.js")

    @wrappers.Request.application
    def _serve_static(self, request):
        return _static_file(request, request.path.rsplit("/static/", 1)[-1])

    # -- helpers --
    def _answer(self, request, respond):
        """Parse the request, fetch the hierarchy, answer; every failure becomes a JSON error."""
        try:
            args = requests.parse(request.args)
            hierarchy = self._hierarchy(request, args.run, args.tag)
            return _json(request, respond(hierarchy, args))
        except (requests.BadRequest, BadQuery) as e:
            return _error(request, str(e), 400)
        except (sources.RecordNotFound, NotFound) as e:
            return _error(request, str(e), 404)
        except GraphError as e:
            return _error(request, str(e), 422)

    def _prepare_first_graph(self) -> None:
        """While TensorBoard's page loads (seconds), parse the graph the tab opens first, so opening the tab costs
        the same whatever that graph's size. Waits for the logdir's first load; gives up quietly."""
        ctx = context.RequestContext()
        deadline = time.monotonic() + PREPARE_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                records = self._graphs(ctx, "")
                if records:
                    self._hierarchy_of(ctx, "", records[0].run, records[0].tag)
                    return
            except Exception:  # noqa: BLE001 - a head start only: the request for that graph says what is wrong
                return
            time.sleep(PREPARE_POLL_SECONDS)

    def _hierarchy(self, request, run: str, tag: str):
        ctx, eid = plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
        return self._hierarchy_of(ctx, eid, run, tag)

    def _graphs(self, ctx, eid: str, fresh: bool = False) -> list:
        """The experiment's graphs; the page's listing (`fresh`) asks the data provider, its next requests reuse
        that answer (sources.RecentAnswers)."""
        return self._recent.get(("graphs", eid), lambda: sources.list_graphs(self._data_provider, ctx, eid), fresh)

    def _hierarchy_of(self, ctx, eid: str, run: str, tag: str):
        try:
            return self._built(ctx, eid, run, tag, fresh=False)
        except sources.RecordNotFound:  # written, rewritten or deleted since the answers remembered?
            self._recent.forget()
            return self._built(ctx, eid, run, tag, fresh=True)

    def _built(self, ctx, eid: str, run: str, tag: str, fresh: bool):
        record = sources.find_record(self._graphs(ctx, eid, fresh), run, tag)
        blob_keys = self._recent.get(("blobs", eid, record),
                                     lambda: sources.latest_blob_keys(self._data_provider, ctx, eid, record), fresh)

        def build():
            try:
                blobs = sources.read_blobs(self._data_provider, ctx, record, blob_keys)
                hierarchy = sources.build_hierarchy(record, blobs)
                # Beside the first answer, not before it: file the edges inside groups, number structures (settle).
                threading.Thread(target=_settle, args=(hierarchy,), name="module_graph-settle", daemon=True).start()
                return hierarchy
            except GraphError as e:  # remembered, so a bad record is not parsed again on every request
                return e

        built = self._cache.get((eid, record, blob_keys), build, _estimated_bytes)
        if isinstance(built, GraphError):
            raise built
        return built


def _settle(hierarchy) -> None:
    hierarchy.settle()
    release_freed_memory()


def _estimated_bytes(built) -> int:
    return built.estimated_bytes() if hasattr(built, "estimated_bytes") else 1024


def _json(request, body, status: int = 200):
    return http_util.Respond(request, json.dumps(body, ensure_ascii=False), "application/json", code=status)


def _error(request, message: str, status: int):
    return _json(request, {"error": message}, status)


def _static_file(request, name: str):
    """A file of the built front end; only names that are files of static/ itself (no traversal)."""
    if name not in _static_names():
        return _error(request, f"There is no file {name!r} in this plugin.", 404)
    with open(os.path.join(STATIC_DIR, name), "rb") as f:
        body = f.read()
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        mimetype = "text/javascript"
    return http_util.Respond(request, body, mimetype)


def _static_names() -> set:
    try:
        return {n for n in os.listdir(STATIC_DIR) if os.path.isfile(os.path.join(STATIC_DIR, n))}
    except OSError:
        return set()
