"""Budgets for the `diff` command (`--fail-on`): how much a measure may grow from graph A to graph B, on the totals
or on one module, before the command fails (exit 1), so a CI run can guard a refactor or an upgrade.

    params:+1%,flops:+5%        the totals: parameters may grow by 1 %, FLOPs by 5 %
    encoder=flops:+2%           the module at path `encoder` (its path in A)
    params:+1000                an absolute growth
"""

from __future__ import annotations

import dataclasses
import re

from . import diff as diff_lib

MEASURES = {"params": 0, "flops": 1, "time": 2}  # a budget's measure -> its index in diff.measures' triples
_BUDGET = re.compile(r"^(?:(?P<path>[^=]*)=)?(?P<measure>[a-z_]+):\+?(?P<amount>\d+(?:\.\d+)?)(?P<percent>%?)$")


class BadBudget(ValueError):
    """A `--fail-on` that does not parse; the message is meant for the user."""


@dataclasses.dataclass(frozen=True)
class Budget:
    measure: str  # params | flops | time
    amount: float  # how much it may grow
    percent: bool  # amount is a percentage of A's value
    path: str = ""  # "" the totals, else a module's path

    def __str__(self) -> str:
        where = f"{self.path}=" if self.path else ""
        return f"{where}{self.measure}:+{self.amount:g}{'%' if self.percent else ''}"


@dataclasses.dataclass
class Check:
    budget: Budget
    a: float | None  # A's value (None: not known)
    b: float | None
    exceeded: bool

    def to_json(self) -> dict:
        return {"budget": str(self.budget), "a": self.a, "b": self.b, "exceeded": self.exceeded}


def parse(texts: list) -> list:
    """[Budget] of the `--fail-on` values (each a comma-separated list)."""
    out = []
    for text in texts:
        for item in filter(None, (part.strip() for part in text.split(","))):
            found = _BUDGET.match(item)
            if not found or found["measure"] not in MEASURES:
                raise BadBudget(f"--fail-on {item!r}: write MEASURE:+N% or MEASURE:+N (MEASURE one of "
                                f"{', '.join(MEASURES)}), optionally after a module's path and '=' "
                                "(encoder=flops:+2%).")
            out.append(Budget(found["measure"], float(found["amount"]), bool(found["percent"]),
                              (found["path"] or "").strip("/")))
    return out


def check(d: "diff_lib.Diff", budgets: list, times_a=None, times_b=None) -> list:
    """[Check] of each budget (tree.NotFound for a path in neither graph; BadBudget for a measure neither side
    knows there)."""
    out = []
    for budget in budgets:
        node = d.find(budget.path)
        index = MEASURES[budget.measure]
        if budget.path:
            values = diff_lib.measures(d, node, times_a, times_b)
            a, b = values["a"][index], values["b"][index]
        else:
            a, b = total(d.ha, index, times_a), total(d.hb, index, times_b)
        if a is None or b is None:
            raise BadBudget(f"--fail-on {budget}: the {budget.measure} of {budget.path or 'the graphs'} is not known "
                            f"in {'A' if a is None else 'B'} (a trace records no parameter shapes; time needs a "
                            "profile of the run).")
        limit = a * budget.amount / 100 if budget.percent else budget.amount
        out.append(Check(budget, a, b, b - a > limit))
    return out


def total(h, index: int, times=None):
    """A whole graph's parameters (those of the modules at its top), FLOPs or time; None where not known."""
    if index == 0:
        params = [h.values.get(c.path, {}).get("num_params") for c in h.root.children.values()
                  if c.kind == "module"] if h.values else []
        known = [p for p in params if p is not None]
        return sum(known) if known else None
    if index == 1:
        return h.costs.flops_of(h.root) if h.costs is not None else None
    return times.time_of(h.root) if times is not None else None
