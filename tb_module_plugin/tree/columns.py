"""Every node of an op graph's tree as columns (numpy) in the order of Hierarchy.all_nodes: its parent and depth,
whether it is an op. Filing the edges inside groups (edges.FiledEdges) and numbering the structures
(structure.number_all) read them, made once for both."""

from __future__ import annotations

from operator import attrgetter

NUMBER = attrgetter("number")  # a node's place in Hierarchy.all_nodes (set by hierarchy.finalize)
_MAX_CLIMB = 32  # levels _parents_of_ops climbs column-wise


class NodeColumns:
    """Every node's parent and depth, which are ops, the ops' numbers, as columns (numpy) in the order of `nodes`:
    what FiledEdges lifts edges by and structure.number_all numbers by (made once, before either).

    `nodes`: the tree's nodes, the root first (Hierarchy.all_nodes: each node's place there is its `number`);
    `ops`: its ops, the leaves in the order of `nodes` (finalize's); `groups`: the groups below the root
    (finalize's)."""

    def __init__(self, nodes: list, ops: list, groups: list):
        import numpy as np  # (only op graphs have columns; numpy comes with TensorBoard)

        self.nodes = nodes
        count = len(nodes)
        # The node columns from the groups' attributes alone (a pass over every node for each column took 0.2 s
        # of a million-op graph): the ops' parents from how finalize numbers the nodes, an op's depth its
        # parent's and one.
        is_op = np.ones(count, np.bool_)
        is_op[0] = False  # (the root)
        below = np.fromiter(map(NUMBER, groups), np.int32, len(groups))
        is_op[below] = False
        op_index = np.flatnonzero(is_op)  # (the ops are the leaves, in the order of the nodes: finalize)
        assert len(op_index) == len(ops)
        parent = np.zeros(count, np.int32)  # (the root's is itself: lifting stops there)
        depth = np.zeros(count, np.int32)
        depth[below] = np.fromiter(map(attrgetter("depth"), groups), np.int32, len(groups))
        parent[below] = _parents_of_groups(depth, np.r_[0, below])
        sizes = np.zeros(count, np.int32)  # (32-bit columns: fewer fresh pages to fault in)
        sizes[0] = len(nodes[0].children)
        sizes[below] = np.fromiter(map(len, map(attrgetter("children"), groups)), np.int32, len(groups))
        parent[op_index] = _parents_of_ops(parent, sizes, op_index, ops)
        del sizes
        depth[op_index] = depth[parent[op_index]] + 1
        self.is_op, self.parent, self.depth = is_op, parent, depth
        self.ops, self.op_index, self.groups = ops, op_index, groups


def _parents_of_groups(depth, groups):
    """The parents of the groups (`groups`: the root's number and theirs, in order; `depth`: every node's): each
    one's is the last group a level up numbered before it (nodes are numbered each group before its subtree, which
    is one piece: nothing of that level comes between)."""
    import numpy as np

    levels = depth[groups]
    # (by level, then number; a radix sort for levels of 16 bits)
    by_level = np.argsort(levels.astype(np.uint16) if levels.max() < 1 << 16 else levels, kind="stable")
    levels = levels.astype(np.int64)
    keys = levels[by_level] * len(depth) + groups[by_level]
    return groups[by_level[np.searchsorted(keys, (levels[1:] - 1) * len(depth) + groups[1:]) - 1]]


def _parents_of_ops(parent, sizes, ops_at, ops: list):
    """The parents of the ops (`ops_at`: their numbers), from the groups' parents (`parent`) and every node's number
    of children (`sizes`). finalize numbers the nodes in the order it pops them from a stack its groups push their
    children on: an op's parent is the last group before it that pushed onto the stack as low as the op's place
    there, found by climbing the parents of the last group before it."""
    import numpy as np

    count = len(sizes)
    height = np.ones(count, np.int32)  # each node's place on the stack (its height before it is popped)
    height[1:] += np.cumsum(sizes[:-1] - 1, dtype=np.int32)
    # the last group that pushed, by node
    last = np.maximum.accumulate(np.where(sizes > 0, np.arange(count, dtype=np.int32), np.int32(0)))
    found = last[ops_at - 1]
    climbing = np.flatnonzero(height[found] > height[ops_at])
    for _ in range(_MAX_CLIMB):
        if not len(climbing):
            return found
        found[climbing] = parent[found[climbing]]
        climbing = climbing[height[found[climbing]] > height[ops_at[climbing]]]
    for k in climbing.tolist():  # (scopes nested deep: the rest read from the ops)
        found[k] = ops[k].parent.number
    return found
