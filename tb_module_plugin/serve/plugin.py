"""The TensorBoard plugin: routes mapped to functions, nothing else (see docs/api.md). Each route parses its query
(query.py), asks the store for the graph (store.py), answers (answers.py, search.py) and responds with JSON; every
failure the user can cause is a JSON error with the 4xx status of its kind (errors.py)."""

from __future__ import annotations

import json
import logging
import mimetypes
import os

from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from .. import schema
from ..errors import PublicError
from ..schema import PLUGIN_NAME
from ..build import sources
from . import answers, compare, query, search, values
from .cache import DEFAULT_MAX_BYTES
from .store import GraphStore

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")  # (the package's)
CACHE_FLAG = "module_graph_cache_mb"


class ModuleGraphPlugin(base_plugin.TBPlugin, base_plugin.TBLoader):
    """The Modules tab.

    Also its own loader: TensorBoard makes a TBLoader subclass named by the entry point with no arguments, asks it
    for flags, then calls `load(context)`; that is how `--module_graph_cache_mb` exists.
    """

    plugin_name = PLUGIN_NAME

    def __init__(self, context=None):
        if context is None:  # the loader
            return
        megabytes = getattr(context.flags, CACHE_FLAG, None)
        reload_seconds = getattr(context.flags, "reload_interval", None)
        self.store = GraphStore(context.data_provider, int(megabytes * 2**20) if megabytes else DEFAULT_MAX_BYTES,
                                reload_seconds if reload_seconds and reload_seconds > 0 else 5.0,
                                logdir=getattr(context, "logdir", "") or "")
        self.store.start_preparing()

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
            "/values": self._serve_values,
            "/diff": self._serve_diff,
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
        def respond():
            ctx, eid = plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
            args = query.parse_graphs(request.args)
            return _json(request, self.store.graphs_answer(ctx, eid, choose_first=args.first))

        return _answered_or_error(request, respond)

    @wrappers.Request.application
    def _serve_hierarchy(self, request):
        return self._answer(request, lambda h, args: schema.HierarchyAnswer(
            node=answers.node_json(h, args.path, args.depth, self._times(h, args))))

    @wrappers.Request.application
    def _serve_node(self, request):
        return self._answer(request, lambda h, args: schema.NodeAnswer(
            node=answers.details_json(h, args.path, self._times(h, args))))

    @wrappers.Request.application
    def _serve_search(self, request):
        return self._answer(request, lambda h, args: search.search(h, args.query, args.regex, args.limit))

    @wrappers.Request.application
    def _serve_values(self, request):
        def answer():
            args = query.parse_values(request.args)
            ctx, eid = plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
            h = self.store.hierarchy(ctx, eid, args.run, args.tag)
            times = self.store.times(h, args.run) if args.measure == "time" else None
            return _json(request, values.values_json(h, args.measure, args.paths, args.depth, times))

        return _answered_or_error(request, answer)

    @wrappers.Request.application
    def _serve_diff(self, request):
        return _answered_or_error(request, lambda: _json(request, compare.respond(
            self.store, plugin_util.context(request.environ), plugin_util.experiment_id(request.environ),
            request.args)))

    @wrappers.Request.application
    def _serve_index(self, request):
        return _answered_or_error(request, lambda: _static_file(request, "index.js"))

    @wrappers.Request.application
    def _serve_static(self, request):
        return _answered_or_error(request, lambda: _static_file(request, request.path.rsplit("/static/", 1)[-1]))

    def _times(self, hierarchy, args):
        return self.store.times(hierarchy, args.run) if args.time else None

    def _answer(self, request, respond):
        """Parse the request, fetch the hierarchy, answer; every failure becomes a JSON error."""
        def answer():
            args = query.parse(request.args)
            ctx, eid = plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)
            return _json(request, respond(self.store.hierarchy(ctx, eid, args.run, args.tag), args))

        return _answered_or_error(request, answer)


def _answered_or_error(request, answer):
    """`answer()`, or the JSON error (4xx) of what it raised; what nobody foresaw is logged and still a 4xx (the
    API promises JSON errors: a page shows the message, TensorBoard's plain-text 500 it could not)."""
    try:
        return answer()
    except PublicError as e:  # (each kind says its status: errors.py)
        return _error(request, str(e), e.http_code, e.kind)
    except Exception as e:  # noqa: BLE001
        log.exception("Modules tab: %s failed", request.path)
        return _error(request, f"This request could not be answered ({type(e).__name__}); TensorBoard's log says "
                               "more.", 422)


def _json(request, body, status: int = 200):
    return http_util.Respond(request, json.dumps(body, ensure_ascii=False), "application/json", code=status)


def _error(request, message: str, status: int, kind: str = ""):
    answer = schema.ErrorAnswer(error=message)
    if kind:
        answer["kind"] = kind
    return _json(request, answer, status)


def _static_file(request, name: str):
    """A file of the built front end; only names that are files of static/ itself (no traversal)."""
    try:
        if name not in _static_names():
            raise FileNotFoundError(name)
        with open(os.path.join(STATIC_DIR, name), "rb") as f:
            body = f.read()
    except OSError:  # (or gone since it was listed)
        return _error(request, f"There is no file {name!r} in this plugin.", 404)
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.endswith(".js"):
        mimetype = "text/javascript"
    return http_util.Respond(request, body, mimetype)


def _static_names() -> set:
    try:
        return {n for n in os.listdir(STATIC_DIR) if os.path.isfile(os.path.join(STATIC_DIR, n))}
    except OSError:
        return set()
