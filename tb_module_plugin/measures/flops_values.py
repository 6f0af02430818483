"""The `flops` measure: a node's FLOPs (measures/costs.py), the backward part of them, what they leave out, and
the devices its ops are placed on (counted with them), how many of its ops TensorFlow does not run (no FLOPs)."""

from __future__ import annotations

from ..build.backward import BACKWARD
from . import backward as backward_part

NAME = "flops"
FIELDS = ("flops", "backward_flops", "flops_uncounted", "flops_per_iteration", "flops_loop_bound", "flops_not_run",
          "flops_shapes_missing", "devices")


def values_of(graph, node) -> tuple:
    h = graph.hierarchy
    out: dict = {}
    if h.costs is None:
        # A Keras callback's layer tree has no ops to count; a big op graph's are being counted (pending).
        return out, not h.op_graph
    not_known = False
    flops = h.costs.flops_of(node)
    if flops is None:
        not_known = True
        if h.costs.records_shapes:  # (a trace records none: the page says so)
            out["flops_shapes_missing"] = [op.path for op in h.costs.ops_not_known(node)]
    else:
        out["flops"] = flops
        backward_flops = backward_part.flops_of(h, node) if splits(node) else None
        if backward_flops is not None:
            out["backward_flops"] = backward_flops
        uncounted = h.costs.flops_uncounted(node)
        if uncounted:
            out["flops_uncounted"] = uncounted
        if h.costs.flops_per_iteration(node):
            out["flops_per_iteration"] = True
        if h.costs.flops_loop_bound(node):
            out["flops_loop_bound"] = True
        not_run = h.costs.ops_not_run(node)
        if not_run:
            out["flops_not_run"] = not_run  # (why its FLOPs are fewer than its ops' rules say)
        # (not exact: the count is given, and why it is not the whole)
        not_known = bool(uncounted) or "flops_per_iteration" in out or "flops_loop_bound" in out
    devices = h.costs.devices_of(node)
    if devices:
        out["devices"] = devices
    return out, not_known


def pending(graph) -> bool:
    """A big op graph's FLOPs are counted in the background after its first answer (serve.settle)."""
    return graph.hierarchy.costs is None and bool(graph.hierarchy.op_graph)


def splits(node) -> bool:
    """Whether a backward part is said of the node: of a module (its forward pass is the rest) and of a backward
    group (all of it); elsewhere the rest is not a forward pass (the root's holds the loss and the optimizer's work)."""
    return node.kind == "module" or node.role == BACKWARD
