"""The `params` measure: a module's parameters, as its record says them or as the build estimated them from the
variable shapes a graph records (kept by the build as tree.Hierarchy.values, keyed by node path)."""

from __future__ import annotations

NAME = "params"
FIELDS = ("num_params", "num_trainable_params", "frozen", "params_estimated")


def values_of(graph, node) -> tuple:
    if node.children is None:
        return {}, False  # (an op holds no parameters of its own: its module says them)
    h = graph.hierarchy
    values = h.values.get(node.path) if h.values else None
    values = {key: value for key, value in (values or {}).items() if key in FIELDS}
    return values, node.kind == "module" and "num_params" not in values


def pending(graph) -> bool:
    return False  # (known from the build)
