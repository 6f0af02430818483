"""The `diff` route's query and answer: `diff?run=A&tag=TA&run2=B&tag2=TB&path=P&depth=D[&step=S&step2=S2&time=1]`
(plugin.py maps the route here; errors are the same 400/404/422 JSON answers as `hierarchy`'s)."""

from __future__ import annotations

import dataclasses

from .. import schema
from ..errors import BadRequest, ProfileError
from ..compare import diff as diff_lib
from . import diff_answer as answer
from . import query
from .answers import MAX_DEPTH

MAX_STEP = 2**63 - 1


@dataclasses.dataclass
class DiffArgs:
    run: str
    tag: str
    run2: str
    tag2: str
    path: str = ""
    depth: int = 1
    step: int | None = None  # None: the newest step
    step2: int | None = None
    time: bool = False  # with measured time from the runs' profiles


def parse(args) -> DiffArgs:
    for name, what in (("run", "the first graph"), ("tag", "the first graph"), ("run2", "the graph to compare with"),
                       ("tag2", "the graph to compare with")):
        if args.get(name) is None:
            raise BadRequest(f"The request needs a '{name}' parameter ({what}).")
    return DiffArgs(run=args["run"], tag=args["tag"], run2=args["run2"], tag2=args["tag2"],
                    path=args.get("path", ""), depth=query.whole_number(args, "depth", 1, 0, MAX_DEPTH),
                    step=query.whole_number(args, "step", None, 0, MAX_STEP),  # (None: the newest step)
                    step2=query.whole_number(args, "step2", None, 0, MAX_STEP), time=query.flag(args, "time"))


def diff_of(store, ha, hb) -> "diff_lib.Diff":
    """The comparison of two built graphs, made once and kept in the store's cache (keyed by both: the diff keeps
    them alive while it is kept, so their ids name them)."""
    return store.cache.get(("diff", id(ha), id(hb)), lambda: _compare(ha, hb), _estimated_bytes)


def _compare(ha, hb):
    # (FLOPs deltas come once both graphs' costs are counted: the settling thread counts them after the build)
    return diff_lib.Diff(ha, hb)


def _estimated_bytes(d) -> int:
    return 4096 + 400 * (sum(d.root.counts.values()) if d.root.counts else 1)


def respond(store, ctx, eid: str, request_args) -> schema.DiffAnswer:
    args = parse(request_args)
    ha = store.hierarchy(ctx, eid, args.run, args.tag, args.step)
    hb = store.hierarchy(ctx, eid, args.run2, args.tag2, args.step2)
    times_a = times_b = missing = None
    if args.time:
        # One side without a profile leaves its times and every time delta unknown, and says why; only when
        # neither side has one is it the `profile` 422 (no time to show at all).
        times_a, error_a = _times(store, ha, args.run)
        times_b, error_b = _times(store, hb, args.run2)
        if error_a is not None and error_b is not None:
            raise error_a
        missing = error_a or error_b
    out = schema.DiffAnswer(node=answer.diff_node(diff_of(store, ha, hb), args.path, args.depth, times_a, times_b))
    if missing is not None:
        out["node"]["time_missing"] = str(missing)
    return out


def _times(store, h, run: str):
    try:
        return store.times(h, run), None
    except ProfileError as e:
        return None, e
