"""The query parameters of the API's requests, checked once, with messages a user understands."""

from __future__ import annotations

import dataclasses

from ..errors import BadRequest
from ..measures.overlays import MEASURES
from .answers import MAX_DEPTH
from .search import MAX_SEARCH_LIMIT


@dataclasses.dataclass
class Args:
    run: str
    tag: str
    path: str = ""
    depth: int = 1
    query: str = ""
    regex: bool = False
    limit: int = 50
    time: bool = False  # with measured time from the run's profiles


@dataclasses.dataclass
class GraphsArgs:
    first: bool = False  # also choose the graph the page opens first (first_view)


def parse_graphs(args) -> GraphsArgs:
    return GraphsArgs(first=flag(args, "first"))


def parse(args) -> Args:
    for name in ("run", "tag"):
        if args.get(name) is None:
            raise BadRequest(f"The request needs a '{name}' parameter (which graph to show).")
    return Args(
        run=args["run"],
        tag=args["tag"],
        path=args.get("path", ""),
        depth=whole_number(args, "depth", 1, 0, MAX_DEPTH),
        query=args.get("q", ""),
        regex=flag(args, "regex"),
        limit=whole_number(args, "limit", 50, 1, MAX_SEARCH_LIMIT),
        time=flag(args, "time"),
    )


def flag(args, name: str) -> bool:
    """A yes/no parameter: 1, true or yes (any case) say yes; absent or anything else, no."""
    return args.get(name, "0").lower() in ("1", "true", "yes")


def whole_number(args, name: str, default, low: int, high: int):
    """A whole-number parameter from `low` to `high` (a 400 saying so otherwise); `default` when absent or empty."""
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"'{name}' must be a whole number from {low} to {high}, not {text!r}.") from None
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be a whole number from {low} to {high}, not {value}.")
    return value


MAX_VALUE_PATHS = 500  # paths one `values` request may ask for (the page asks for its loaded listings in batches)


@dataclasses.dataclass
class ValuesArgs:
    run: str
    tag: str
    measure: str  # a name of measures.overlays.MEASURES
    paths: list  # the nodes whose values are asked for, each with its descendants `depth` levels down
    depth: int = 1


def parse_values(args) -> ValuesArgs:
    common = parse(args)
    measure = args.get("measure")
    if measure not in MEASURES:
        raise BadRequest(f"'measure' must be one of {', '.join(MEASURES)}, not {measure!r}."
                         if measure is not None else f"The request needs a 'measure' parameter ({', '.join(MEASURES)}).")
    paths = args.getlist("path") or [""]
    if len(paths) > MAX_VALUE_PATHS:
        raise BadRequest(f"A values request may ask for at most {MAX_VALUE_PATHS} paths, not {len(paths)}.")
    return ValuesArgs(run=common.run, tag=common.tag, measure=measure, paths=paths, depth=common.depth)
