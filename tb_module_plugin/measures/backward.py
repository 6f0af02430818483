"""The backward part of each node: what its backward ops (build/backward.py's `backward` groups) sum to, of any
per-node values (FLOPs here; measured time in time.py)."""

from __future__ import annotations

from array import array

from ..build.backward import BACKWARD
from .costs import UNKNOWN


def backward_sums(hierarchy, values, partial: bool):
    """Each node's backward part of `values` (per node, in the order of hierarchy.all_nodes, NaN where not
    known; a node's place there is its TreeNode.number): the sum over the `backward` groups below it (a backward
    group's is its whole value). `partial`: a sum of what is known (measured time); else a part is not known when
    any of it is not (FLOPs). NaN where a node holds no backward group; None where the tree holds none."""
    nodes = hierarchy.all_nodes
    if not any(node.role == BACKWARD for node in nodes):
        return None
    nan = float("nan")
    sums = array("d", [nan]) * len(nodes)
    has = bytearray(len(nodes))
    unknown = bytearray(len(nodes))
    for i in range(len(nodes) - 1, 0, -1):  # children after their parents
        node = nodes[i]
        if node.role == BACKWARD:
            has[i], sums[i] = 1, values[i]
            unknown[i] = values[i] != values[i] and not partial
        if not has[i]:
            continue
        parent = node.parent.number
        has[parent] = 1
        unknown[parent] |= unknown[i]
        if sums[i] == sums[i]:
            sums[parent] = sums[i] if sums[parent] != sums[parent] else sums[parent] + sums[i]
    for i in range(len(nodes)):
        if unknown[i]:
            sums[i] = nan
    return sums


def holds_backward(hierarchy, node) -> bool:
    """Whether the node is or holds a `backward` group: a module without one has no backward pass to time or count
    (a part of None then means that; where it holds one, a part of None is not timed or not known)."""
    return id(node) in hierarchy.backward_holders


def runs_backward(hierarchy, node) -> bool:
    """Whether the node holds a `backward` group of which TensorFlow runs some op (measures/liveness.py): a frozen
    module's gradient ops are built and never run, so it has no backward pass to time or count. Before the costs
    are counted (a big graph's, after its first answer), whether it holds one."""
    if id(node) not in hierarchy.backward_holders:
        return False
    costs = hierarchy.costs
    if costs is None:
        return True
    sums = hierarchy.backward_ops_run
    if sums is None:  # (two threads may both make it: the same sums, one kept)
        run = array("d", (n.num_ops - costs.ops_not_run(n) for n in hierarchy.all_nodes))
        sums = hierarchy.backward_ops_run = backward_sums(hierarchy, run, partial=True)
    return sums[node.number] > 0


def flops_of(hierarchy, node) -> int | None:
    """The FLOPs of the node's backward ops: None where it holds none TensorFlow runs, or some are not known."""
    if not runs_backward(hierarchy, node):
        return None
    sums = hierarchy.backward_flops
    if sums is None:  # (two threads may both make it: the same sums, one kept)
        nan = float("nan")
        values = array("d", (nan if f == UNKNOWN else f for f in hierarchy.costs.flops))
        sums = hierarchy.backward_flops = backward_sums(hierarchy, values, partial=False)
    value = sums[node.number]
    return None if value != value else int(value)
