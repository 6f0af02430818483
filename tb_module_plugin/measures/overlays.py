"""The one overlay mechanism: every measure (parameters, FLOPs, measured time) is a module of this folder that says
a node's values of its fields, kept apart from the tree's structure. The `hierarchy` and `node` answers join the
structure with the overlays they are asked for, the `values` answer gives one overlay alone, both through MEASURES.

A measure module has NAME (a schema.CostMeasure), FIELDS (its schema.NodeValues fields), `values_of(graph, node)`
-> (its fields known for the node, whether any is not known: then NAME joins the node's `cost_unknown`) and
`pending(graph)` (still being worked out in the background: no values yet, and none said unknown)."""

from __future__ import annotations

import dataclasses

from .. import schema
from . import flops_values, params_values, time_values

MEASURES = {m.NAME: m for m in (params_values, flops_values, time_values)}
DEFAULT_MEASURES = ("params", "flops")  # what a `hierarchy` or `node` answer holds unless time is asked for


@dataclasses.dataclass(frozen=True)
class ServedGraph:
    """A built graph as the measures read it: the tree, and what a request brings to it (a run's measured time)."""

    hierarchy: object  # tree.Hierarchy
    times: object = None  # measures.time.Times of its nodes, when time is asked for


def measures_of(times) -> tuple:
    """The measures a `hierarchy` or `node` answer joins: the default ones, and time with a run's Times."""
    return DEFAULT_MEASURES + ("time",) if times is not None else DEFAULT_MEASURES


def joined(graph: ServedGraph, node, names, facts: dict) -> dict:
    """The node's module `facts` and the overlays `names` in one dict, in the order an answer holds them
    (schema.FACTS_AND_VALUES_ORDER), with `cost_unknown` naming the measures not known for it."""
    found = dict(facts)
    unknown = []
    for name in names:
        values, not_known = MEASURES[name].values_of(graph, node)
        found.update(values)
        if not_known:
            unknown.append(name)
    if unknown:
        found["cost_unknown"] = unknown
    return _in_order(found)


def overlay_of(graph: ServedGraph, node, name: str) -> schema.OverlayValues:
    """One measure's values of a node, as the `values` answer gives them."""
    values, not_known = MEASURES[name].values_of(graph, node)
    out = schema.OverlayValues(**_in_order(values))
    if not_known:
        out["unknown"] = [name]
    return out


def _in_order(values: dict) -> dict:
    """`values` in the schema's order (a field it does not order yet: after those, as given)."""
    ordered = {key: values[key] for key in schema.FACTS_AND_VALUES_ORDER if key in values}
    ordered.update((key, value) for key, value in values.items() if key not in ordered)
    return ordered
