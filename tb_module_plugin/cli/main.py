"""Command line: the module tree of a logdir's graphs as a table, and SavedModel import.

    python -m tb_module_plugin summary LOGDIR [--run R] [--tag T] [--depth N] [--sort flops|time|params] [--all]
                                      [--json]
    python -m tb_module_plugin savedmodel PATH --logdir DIR [--name TAG]
    python -m tb_module_plugin diff LOGDIR --run A --tag T --run2 B --tag2 T2 [--json] [--fail-on BUDGETS]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tensorboard import context

from ..readers import profiles
from ..build import sources
from ..errors import ProfileError, PublicError
from ..measures.costs import count_costs
from ..measures.time import times_for
from ..serve import answers
from .table import SORT_KEYS, format_table, printable
from . import diff as compare_command


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tb_module_plugin", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser("summary", help="print each graph's module tree, like model.summary()")
    summary.add_argument("logdir")
    summary.add_argument("--run")
    summary.add_argument("--tag")
    summary.add_argument("--depth", type=int, default=3, help="module levels to show (default 3)")
    summary.add_argument("--sort", choices=SORT_KEYS, help="every module, the heaviest first")
    summary.add_argument("--all", action="store_true", help="the plugin's own groups too (inputs, outputs...)")
    summary.add_argument("--json", action="store_true", help="print the hierarchy API's JSON instead")
    savedmodel = commands.add_parser("savedmodel", help="write a SavedModel's module record for the Modules tab")
    savedmodel.add_argument("path")
    savedmodel.add_argument("--logdir", required=True, help="the run folder to write the record to")
    savedmodel.add_argument("--name", default="savedmodel", help="the record's tag (default: savedmodel)")
    compare_command.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "diff":  # (its own exit statuses: 2 for a graph that cannot be read)
        return compare_command.run(args, _say, logdir_data_provider, _times)
    try:
        if args.command == "summary":
            return _summary(args)
        return _savedmodel(args)
    except (PublicError, ValueError, OSError) as e:
        _say(f"error: {e}", sys.stderr)
        return 1


def _summary(args) -> int:
    """Each readable record's table (or JSON); each unreadable one's reason on stderr, one line each. The exit
    status is 1 when any record could not be read, so a script sees it; the readable ones are printed all the
    same."""
    if not os.path.isdir(args.logdir):
        raise ValueError(f"{args.logdir} is not a directory.")
    provider = logdir_data_provider(args.logdir)
    ctx = context.RequestContext()
    records = [r for r in sources.list_graphs(provider, ctx, "")
               if (args.run is None or r.run == args.run) and (args.tag is None or r.tag == args.tag)]
    if not records:
        raise ValueError(f"no graph in {args.logdir}" + (" for that run/tag" if args.run or args.tag else "") +
                         ". Record one with tf.summary.trace_on(graph=True) ... tf.summary.trace_export(name, step=0),"
                         " or tb_module_plugin.summary.module_graph(name, module, example_input).")
    out = {}
    failed = 0
    for record in records:
        try:
            blob_keys = sources.latest_blob_keys(provider, ctx, "", record)
            hierarchy = sources.build_hierarchy(record, sources.read_blobs(provider, ctx, record, blob_keys))
            hierarchy.record_wall_time = blob_keys.wall_time
        except PublicError as e:  # (a graph that does not read, a record gone, the data provider failing)
            _say(f"error: {record.run} / {record.tag}: {e}", sys.stderr)
            failed += 1
            continue
        times = _times(args.logdir, record.run, hierarchy)
        if args.json:
            out[f"{record.run}/{record.tag}"] = answers.node_json(hierarchy, "", max(0, min(args.depth, 8)), times)
        else:
            _say(f"{record.run} / {record.tag} ({record.source})")
            _say(format_table(hierarchy, args.depth, times, sort=args.sort, show_all=args.all))
            _say("")
    if args.json:
        # json escapes every control character but DEL (valid raw in JSON, still not for a terminal).
        print(json.dumps(out, indent=1).replace("\x7f", "\\u007f"))
    return 1 if failed else 0


def _times(logdir: str, run: str, hierarchy):
    """The measured time of the run's profiles, where it has some that time this graph (else None, and why on
    stderr when it has profiles that cannot)."""
    files = profiles.newer(profiles.profile_files(logdir, run), hierarchy.record_wall_time)
    if not files or not hierarchy.op_graph:
        return None
    try:
        count_costs(hierarchy)
        return times_for(hierarchy, profiles.read_op_times(files))
    except ProfileError as e:
        _say(f"note: {run}: {e}", sys.stderr)
        return None


def _say(text: str, file=None) -> None:
    """Print `text`, its lines' control characters escaped: names come from logdirs anyone may have written, and
    a terminal obeys what it is sent."""
    print("\n".join(printable(line) for line in text.split("\n")), file=file or sys.stdout)


def logdir_data_provider(logdir: str):
    """A data provider over a logdir read once, as TensorBoard's Python loader reads it."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    return data_provider.MultiplexerDataProvider(multiplexer, logdir)


def _savedmodel(args) -> int:
    from ..recording.summary import savedmodel_record

    savedmodel_record(args.path, args.logdir, args.name)
    logdir = os.path.dirname(args.logdir.rstrip("/")) or "."
    _say(f"wrote {args.name!r} to {args.logdir}: tensorboard --logdir {logdir}")
    return 0
