"""The `time` measure: a node's measured time per profiled step (measures/time.py's Times of a run's profiles),
the share of its ops timed, its backward part, the fused kernel that ran an op, and the step's totals at the root."""

from __future__ import annotations

from .backward import runs_backward
from .flops_values import splits

NAME = "time"
FIELDS = ("time_us", "time_coverage", "backward_time_us", "backward_untimed", "fused", "step_time_us", "module_time_us")


def values_of(graph, node) -> tuple:
    times = graph.times
    out: dict = {}
    if times is None:
        return out, False  # (not asked for: the route reads the run's profiles first, or says why it cannot)
    time_us = times.time_of(node)
    if time_us is not None:
        out["time_us"] = round(time_us, 3)
        coverage = times.coverage_of(node)
        if coverage is not None:
            out["time_coverage"] = round(coverage, 4)
        if splits(node):
            backward_us = times.backward_of(node)
            if backward_us is not None:
                out["backward_time_us"] = round(backward_us, 3)
            elif runs_backward(graph.hierarchy, node):
                out["backward_untimed"] = True  # (a backward pass the profile missed, not a module without one)
        fused = times.fused_of(node)
        if fused:
            out["fused"] = fused
    if node.parent is None:
        out["step_time_us"] = round(times.profile_us, 3)
        out["module_time_us"] = round(times.module_us, 3)
    return out, time_us is None


def pending(graph) -> bool:
    return False  # (a run's profiles are read when asked, before the answer)
