"""The `values` answer (docs/api.md): one measure's overlay for some nodes and their descendants, apart from the
structure, so that the page adds a measure (measured time) to what it has listed without listing it again."""

from __future__ import annotations

from .. import schema
from ..measures import overlays
from ..measures.costs import count_costs


def values_json(h, measure: str, paths: list, depth: int, times=None) -> schema.ValuesAnswer:
    """`measure`'s values of the nodes at `paths` and of their descendants `depth` levels down (as a `hierarchy`
    answer of that depth lists them); `times`: the run's measures.time.Times, for the time measure. A small
    graph's FLOPs are counted first, as before its first answer."""
    count_costs(h, small_only=True)
    nodes = [h.find(path) for path in paths]  # (every path first: an unknown one is a 404, not half an answer)
    graph = overlays.ServedGraph(h, times)
    pending = overlays.MEASURES[measure].pending(graph)
    values: dict = {}
    if not pending:
        seen: dict = {}  # id(node) -> the most levels below it walked (paths repeated or nested are walked once)
        for node in nodes:
            _walk(graph, node, depth, measure, values, seen)
    return schema.ValuesAnswer(measure=measure, values=values, pending=pending)


def _walk(graph, node, depth: int, measure: str, out: dict, seen: dict) -> None:
    stack = [(node, depth)]
    while stack:
        node, levels = stack.pop()
        if seen.get(id(node), -1) >= levels:
            continue
        if id(node) not in seen:
            out[node.path] = overlays.overlay_of(graph, node, measure)
        seen[id(node)] = levels
        if node.children is not None and levels > 0:
            stack.extend((child, levels - 1) for child in node.children.values())
