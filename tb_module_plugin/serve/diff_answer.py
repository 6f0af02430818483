"""The `diff` answer (docs/api.md): a node of the union tree (diff.Diff) as a `hierarchy` node of the side it shows
(A's; B's for an added node) with its status, changes, counts and deltas, its children to the asked depth."""

from __future__ import annotations

from .. import schema
from ..compare import diff as diff_lib
from . import answers

_SIDE_ONLY = ("children", "has_children", "edges", "repeat")  # parts of the side's answer the union says instead


def diff_node(d: "diff_lib.Diff", path: str, depth: int, times_a=None, times_b=None) -> schema.DiffNode:
    out = _node(d, d.find(path), depth, times_a, times_b)
    missing = diff_lib.not_compared(d)
    if missing:  # (on the asked node, as time_missing: it is said of the whole comparison)
        out["not_compared"] = missing
    return out


def _node(d, node, depth: int, times_a, times_b) -> schema.DiffNode:
    h, times = (d.ha, times_a) if node.a is not None else (d.hb, times_b)
    side = answers.hierarchy_node(h, node.side, 0, times)
    for key in _SIDE_ONLY:
        side.pop(key, None)
    out = schema.DiffNode(path=node.path, name=node.side.name if node.parent is not None else side["name"])
    out.update((k, v) for k, v in side.items() if k not in ("path", "name"))
    out["diff"] = node.status
    changes = diff_lib.changes(d, node)
    if changes:
        out["changes"] = changes
    path_b = node.path_b
    if path_b is not None:
        out["path_b"] = path_b
    if node.is_group:
        children = node.children()
        out["num_children"] = len(children)
        out["counts"] = schema.DiffCounts(**{s: node.counts[s] for s in diff_lib.STATUSES if node.counts.get(s)})
    out["delta"] = diff_lib.delta(d, node, times_a, times_b)
    if node.is_group:
        if depth > 0:
            out["children"] = [_node(d, c, depth - 1, times_a, times_b) for c in children]
            out["edges"] = _edges(d, node)
        else:
            out["has_children"] = bool(children)
    return out


def _edges(d, node) -> list:
    """The edges between the listed children, as the side it shows has them, named by union paths."""
    h = d.ha if node.a is not None else d.hb
    union = {}
    for child in node.children():
        shown = child.a if node.a is not None else child.b
        if shown is not None:
            union[shown.path] = child.path
    out = []
    for edge in h.group_edges(node.side):
        ends = union.get(edge["from"]), union.get(edge["to"])
        if None not in ends:
            out.append(dict(edge, **{"from": ends[0], "to": ends[1]}))
    return out
