"""The `diff` command: two graphs compared module by module, as text or JSON, and as a CI gate.

    python -m tb_module_plugin diff LOGDIR --run A --tag T --run2 B --tag2 T2 [--logdir2 L2] [--step S]
                                [--step2 S2] [--json] [--fail-on params:+1%,flops:+5%] [--fail-on encoder=flops:+2%]

Exit status: 0 the graphs match (with --fail-on: no budget exceeded), 1 they differ (with --fail-on: a budget is
exceeded), 2 a graph cannot be read or is not there, or a budget cannot be checked. Graphs that match in what they
record but not in everything a comparison reads (two traces: no parameter shapes) exit 0 as a match of what they
hold, and say what was not compared (`not_compared`, `identical` null); a budget on those measures exits 2.
"""

from __future__ import annotations

import json
import os
import sys

from tensorboard import context

from ..build import sources
from ..compare import diff as diff_lib
from ..compare import gate
from ..errors import GraphError, NotFound
from ..measures.costs import count_costs
from ..serve import diff_answer as answer
from .table import duration, human

EXIT_SAME, EXIT_DIFFERENT, EXIT_UNREADABLE = 0, 1, 2
NAMES = {"num_params": "parameters", "flops": "FLOPs"}  # schema.NotCompared's keys, as the text says them


def add_parser(commands) -> None:
    parser = commands.add_parser("diff", help="compare two graphs module by module (exit 1 when they differ)")
    parser.add_argument("logdir")
    parser.add_argument("--run", required=True, help="graph A's run")
    parser.add_argument("--tag", required=True, help="graph A's tag")
    parser.add_argument("--run2", required=True, help="graph B's run")
    parser.add_argument("--tag2", required=True, help="graph B's tag")
    parser.add_argument("--logdir2", help="graph B's logdir (default: LOGDIR)")
    parser.add_argument("--step", type=int, help="graph A's step (default: the newest)")
    parser.add_argument("--step2", type=int, help="graph B's step (default: the newest)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--fail-on", action="append", default=[], metavar="BUDGETS",
                        help="fail (exit 1) only when a measure grows past its budget: params:+1%%,flops:+5%% on the "
                             "totals, encoder=flops:+2%% on a module (params, flops, time; +N%% or +N)")


def run(args, say, logdir_data_provider, times_of) -> int:
    """The command; its exit status. From cli.py: `say` prints a line, its control characters escaped;
    `logdir_data_provider(logdir)` reads a logdir; `times_of(logdir, run, hierarchy)` its profiles' times or None."""
    try:
        budgets = gate.parse(args.fail_on)
        sides = []
        for logdir, run_name, tag, step in ((args.logdir, args.run, args.tag, args.step),
                                            (args.logdir2 or args.logdir, args.run2, args.tag2, args.step2)):
            if not os.path.isdir(logdir):
                raise GraphError(f"{logdir} is not a directory.")
            hierarchy = load(logdir_data_provider(logdir), run_name, tag, step)
            sides.append((hierarchy, times_of(logdir, run_name, hierarchy)))
        (ha, times_a), (hb, times_b) = sides
        d = diff_lib.Diff(ha, hb)
        checks = gate.check(d, budgets, times_a, times_b)
    except (GraphError, sources.RecordNotFound, sources.ProviderError, gate.BadBudget, NotFound, OSError) as e:
        say(f"error: {e}", sys.stderr)
        return EXIT_UNREADABLE
    rows = changed_rows(d, times_a, times_b)
    identical, missing = d.identical, diff_lib.not_compared(d)
    if args.json:
        out = {"a": _side(args.run, args.tag, args.step), "b": _side(args.run2, args.tag2, args.step2),
               "identical": identical, "not_compared": missing,
               "node": answer.diff_node(d, "", 0, times_a, times_b), "changed": rows,
               "budgets": [c.to_json() for c in checks]}
        # json escapes every control character but DEL (valid raw in JSON, still not for a terminal).
        print(json.dumps(out, indent=1).replace("\x7f", "\\u007f"))
    else:
        say(f"A: {args.run} / {args.tag}   B: {args.run2} / {args.tag2}")
        if identical:
            say("the graphs match")
        elif identical is None:
            say(f"the structure is the same, but {_listed(missing)} were not compared: the graphs may still differ")
        else:
            say(f"{len(rows)} group(s) differ:")
        for row in rows:
            say(_line(row))
        if missing:
            say("not compared:")
        for key, why in missing.items():
            say(f"  {NAMES[key]}: {why}")
        for c in checks:
            say(f"budget {c.budget}: {human(c.a)} -> {human(c.b)} {'EXCEEDED' if c.exceeded else 'ok'}")
    if budgets:
        return EXIT_DIFFERENT if any(c.exceeded for c in checks) else EXIT_SAME
    # (the same structure with measures left uncompared: nothing the graphs hold differs, the exit a match's as the
    # command's contract has it; the text and `identical` say what was not compared, and a budget on those measures,
    # the gate for sizes, cannot pass)
    return EXIT_DIFFERENT if identical is False else EXIT_SAME


def load(provider, run: str, tag: str, step=None):
    """A record's built hierarchy (its costs counted), as the plugin builds it."""
    ctx = context.RequestContext()
    record = sources.find_record(sources.list_graphs(provider, ctx, ""), run, tag)
    blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record, step))
    hierarchy = sources.build_hierarchy(record, blobs)
    count_costs(hierarchy)
    return hierarchy


def changed_rows(d, times_a=None, times_b=None) -> list:
    """The groups (modules and scopes) that are not the same, parents first; an added or removed group once (not
    what is inside it)."""
    rows = []
    stack = [d.root]
    while stack:
        node = stack.pop()
        if node.status != "same" and node.is_group:
            row = {"path": node.path, "diff": node.status, "kind": node.side.kind}
            if node.path_b is not None:
                row["path_b"] = node.path_b
            changes = diff_lib.changes(d, node)
            if changes:
                row["changes"] = changes
            row["delta"] = diff_lib.delta(d, node, times_a, times_b)
            rows.append(row)
        if node.is_group and node.a is not None and node.b is not None and node.status != "same":
            stack.extend(reversed(node.children()))
    return rows


def _side(run: str, tag: str, step) -> dict:
    return {"run": run, "tag": tag, "step": step}


def _line(row: dict) -> str:
    where = row["path"] or "(root)"
    if "path_b" in row:  # (an added node by its path in B alone)
        where = row["path_b"] if row["diff"] == "added" else f"{where} -> {row['path_b']}"
    parts = []
    for c in row.get("changes", ()):
        if c["field"] in ("num_params", "num_ops"):
            continue  # (said by the delta, or by the counts of what is below)
        parts.append(f"{c['field']} {_short(c['a'])} -> {_short(c['b'])}")
    delta = row["delta"]
    if delta.get("num_params"):
        parts.append(f"params {delta['num_params']:+,}")
    if delta.get("flops"):
        parts.append(f"flops {'+' if delta['flops'] > 0 else '-'}{human(abs(delta['flops']))}")
    if delta.get("time_us"):
        parts.append(f"time {'+' if delta['time_us'] > 0 else '-'}{duration(abs(delta['time_us']))}")
    return f"  {row['diff']:<8} {where}" + (f"   {'; '.join(parts)}" if parts else "")


def _listed(missing: dict) -> str:
    return " and ".join(NAMES[key] for key in missing)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
