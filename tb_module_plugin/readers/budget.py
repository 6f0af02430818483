"""What expanding function calls and control-flow bodies may add to one record (readers/expand.py): a budget of
ops and bodies, so that a few KB of calls fanning out cannot make millions of ops."""

from __future__ import annotations

from ..tree.ops import CASE_OPS

# What expanding may add to a record: a function calling the next one twice, 24 levels deep, is a 2 KB record of 16
# million ops (and 4**24 with While loops running the next level as both condition and body). Past either bound,
# calls and control-flow ops stay single ops (ops.UnexpandedOp). Expanding costs about 30 us an op here (a body's
# own setup, as much as 3 more): the bounds keep the worst record's build to seconds beyond what its size costs.
# A body is charged all that instantiating it reads (body_cost): its ops, their inputs, its arguments and return
# values, so a body of few ops but a huge signature or fan-in costs what it takes. One Budget covers every graph of a
# record (a trace's function graphs, a module record's extra functions). Each bound grows with the libraries
# (BUDGET_PER_LIBRARY_OP per unit of their cost, as many bodies per function), so that a real model traced inside
# a called function (a body of a million ops, expanded once) is expanded whole.
MAX_EXPANDED_OPS = 250_000
MAX_EXPANDED_BODIES = 10_000
BUDGET_PER_LIBRARY_OP = 4


def body_cost(function) -> int:
    """What instantiating `function`'s body once reads: each op and its inputs (and a Case op's branches), the
    signature's arguments and outputs, the return values."""
    signature = function.signature
    cost = len(signature.input_arg) + len(signature.output_arg) + len(function.ret) + len(function.control_ret)
    for node in function.node_def:
        cost += 1 + len(node.input)
        if node.op in CASE_OPS and "branches" in node.attr:
            cost += len(node.attr["branches"].list.func)
    return cost


class Budget:
    """What expanding calls may add to one record, shared by all of its graphs (each graph's library adds to it)."""

    def __init__(self):
        self.max_ops, self.max_bodies = MAX_EXPANDED_OPS, MAX_EXPANDED_BODIES
        self.spent_ops = self.spent_bodies = 0

    def add_library(self, costs: dict) -> None:
        self.max_ops += BUDGET_PER_LIBRARY_OP * sum(costs.values())
        self.max_bodies += BUDGET_PER_LIBRARY_OP * len(costs)

    def affords(self, cost: int, bodies: int = 1) -> bool:
        """Whether expanding `bodies` bodies of total `cost` keeps within the budget (and if so, it is spent)."""
        if self.spent_bodies + bodies > self.max_bodies or self.spent_ops + cost > self.max_ops:
            return False
        self.spent_ops += cost
        self.spent_bodies += bodies
        return True
