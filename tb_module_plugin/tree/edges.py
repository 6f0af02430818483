"""Edges between the children of a group: op edges filed into the group whose two children they join, and the
edge of an answer (one definition, for op graphs and for Keras layer trees)."""

from __future__ import annotations

import heapq
import itertools
from operator import attrgetter, itemgetter

from . import ops as ops_lib
from .. import schema

# Producers (and ports) an aggregated edge keeps to read dtypes and shapes from.
MAX_EDGE_SAMPLES = 8
_NUMBER = attrgetter("number")  # a node's place in Hierarchy.all_nodes (set by hierarchy.finalize)
_MAX_CLIMB = 32  # levels _parents_of_ops climbs column-wise
_LEVEL_STEPS = 3  # levels _children_of_common_ancestor lifts edges a level at a time (then by binary lifting)


def distribute_edges(ops: list) -> None:
    """Files the root's edges (the edges between top-level groups; the first answer draws them), in order of
    `ops`, aggregated per pair of children in one flat list: [count, all-control, then up to MAX_EDGE_SAMPLES
    producers and ports to read dtypes and shapes from]. The edges inside groups are filed by FiledEdges."""
    for consumer in ops:
        if not consumer.inputs:
            continue
        top = consumer.top  # (read once for its inputs: a million ops file 2.3 million)
        for producer, port, control in consumer.inputs:
            a = producer.top
            if a is top:
                continue
            _add(a.parent, a, top, producer, port, control)


def _add(owner, a, b, producer, port, control) -> None:
    edges = owner.edges
    if edges is None:
        edges = owner.edges = {}
    edge = edges.get((a, b))
    if edge is None:
        edges[(a, b)] = [1, control] if control else [1, False, producer, port]
    else:
        edge[0] += 1
        if not control:
            edge[1] = False
            if len(edge) < 2 + 2 * MAX_EDGE_SAMPLES:
                edge += (producer, port)


class FiledEdges:
    """Every op edge inside a group below the root, filed column-wise (numpy) into the group whose two children
    hold its ends (lifted to that group's children), then aggregated per pair of children as distribute_edges
    does the root's (a group's alone when it is asked for first; every group's by aggregate); a group's are made
    into its list (see distribute_edges) only when it is asked for. Filing a million ops' edges one by one took
    2.8 s and 170 MB of lists; as arrays it is a few vectorised passes over them, and a group asked for reads a
    slice.

    `nodes`: the tree's nodes, the root first (Hierarchy.all_nodes: each node's place there is its `number`);
    `ops`: its ops, the leaves in the order of `nodes` (finalize's; a group's edges are listed in order of the
    first op that files each); `groups`: the groups below the root (finalize's)."""

    def __init__(self, nodes: list, ops: list, groups: list):
        import numpy as np  # (only op graphs file edges; numpy comes with TensorBoard)

        self.nodes = nodes
        count = len(nodes)
        # The node columns from the groups' attributes alone (a pass over every node for each column took 0.2 s
        # of a million-op graph): the ops' parents from how finalize numbers the nodes, an op's depth its
        # parent's and one.
        is_op = np.ones(count, np.bool_)
        is_op[0] = False  # (the root)
        below = np.fromiter(map(_NUMBER, groups), np.int32, len(groups))
        is_op[below] = False
        consumer = np.flatnonzero(is_op)  # (the ops are the leaves, in the order of the nodes: finalize)
        assert len(consumer) == len(ops)
        parent = np.zeros(count, np.int32)  # (the root's is itself: lifting stops there)
        depth = np.zeros(count, np.int32)
        depth[below] = np.fromiter(map(attrgetter("depth"), groups), np.int32, len(groups))
        parent[below] = _parents_of_groups(depth, np.r_[0, below])
        sizes = np.zeros(count, np.int32)  # (32-bit columns: fewer fresh pages to fault in)
        sizes[0] = len(nodes[0].children)
        sizes[below] = np.fromiter(map(len, map(attrgetter("children"), groups)), np.int32, len(groups))
        parent[consumer] = _parents_of_ops(parent, sizes, consumer, ops)
        del sizes
        depth[consumer] = depth[parent[consumer]] + 1
        self.is_op, self.parent, self.depth = is_op, parent, depth  # (structure.number_all reads them too)
        self.ops, self.op_index, self.groups = ops, consumer, groups
        inputs = list(map(attrgetter("inputs"), ops))
        lengths = np.fromiter(map(len, inputs), np.int64, len(ops))
        flat = list(itertools.chain.from_iterable(inputs))  # each input (producer, port, control), in op order
        del inputs
        producer = np.fromiter(map(_NUMBER, map(itemgetter(0), flat)), np.int32, len(flat))
        control = np.fromiter(map(itemgetter(2), flat), np.bool_, len(flat))
        del flat
        consumer = np.repeat(consumer.astype(np.int32), lengths)
        # An input's place in its consumer's inputs, to read its producer and port back from the op.
        position = np.arange(len(producer), dtype=np.int32) - np.repeat((np.cumsum(lengths) - lengths).astype(np.int32),
                                                                        lengths)
        a, b = producer, consumer.copy()
        del producer
        _children_of_common_ancestor(parent, depth, a, b)
        # The lifted edges in op order; a group's are picked and aggregated when it is first asked for, every
        # group's by aggregate() (settle): an expansion right after the first answer waits for the lifting alone.
        # (With the root's, filed by distribute_edges before the first answer, and an op's input of its own output,
        # a == b: both left out only then, see _picked.)
        self._lifted = (parent[a], a, b, control, consumer, position)
        self._pairs = None  # every group's _Pairs, once aggregated
        self._flow_owner = self._flow_from = self._flow_to = None

    def aggregate(self) -> None:
        """Every group's pairs, and the data edges of the groups whose children data flows against (a data edge
        from a later child to an earlier one) as (from, to) places among them: flows(), which Hierarchy.file_edges
        puts those groups' children in order by (Hierarchy._order)."""
        import numpy as np

        if self._pairs is not None:
            return
        lifted = self._lifted
        pairs = _Pairs(*_picked(lifted, (lifted[0] != 0) & (lifted[1] != lifted[2])), len(self.nodes))
        number = self._child_numbers()
        data = ~pairs.control
        against = np.unique(pairs.owner[data & (number[pairs.a] >= number[pairs.b])])
        flows = data & np.isin(pairs.owner, against)
        self._flow_owner = pairs.owner[flows]
        self._flow_from, self._flow_to = number[pairs.a[flows]], number[pairs.b[flows]]
        self._pairs = pairs
        self._lifted = None

    def _child_numbers(self):
        """Every node's place among its parent's children, in the order the parent lists them now (a group put
        in flow order meanwhile is not ordered again: see Hierarchy._order)."""
        import numpy as np

        children = list(filter(None, map(attrgetter("children"), self.nodes)))
        listed = sum(map(len, children))
        number = np.zeros(len(self.nodes), np.int32)
        number[np.fromiter(map(_NUMBER, itertools.chain.from_iterable(map(dict.values, children))), np.int32,
                           listed)] = \
            np.fromiter(itertools.chain.from_iterable(map(range, map(len, children))), np.int32, listed)
        return number

    def _pairs_of(self, i: int) -> "_Pairs":
        """The pairs of the group of index `i` (of every group, once aggregated)."""
        pairs, lifted = self._pairs, self._lifted
        if pairs is not None:
            return pairs
        if lifted is None:  # (aggregated meanwhile)
            return self._pairs
        return _Pairs(*_picked(lifted, (lifted[0] == i) & (lifted[1] != lifted[2])), len(self.nodes))

    def flows(self):
        """(group, its data edges as (from, to) places among its children) for each group whose children data
        flows against (aggregate first)."""
        import numpy as np

        owners = self._flow_owner.tolist()
        pairs = list(zip(self._flow_from.tolist(), self._flow_to.tolist()))
        start = 0
        for end in itertools.chain(np.flatnonzero(np.diff(self._flow_owner)).tolist(), [len(owners) - 1]) \
                if owners else ():
            yield self.nodes[owners[start]], pairs[start:end + 1]
            start = end + 1

    def forget_flows(self) -> None:
        """Once every group's children are in flow order: what only ordering them reads."""
        self._flow_owner = self._flow_from = self._flow_to = None

    def forget_columns(self) -> None:
        """Once the structures are numbered: the columns only numbering them reads."""
        self.parent = self.depth = self.is_op = self.ops = self.op_index = self.groups = None

    def flow_of(self, group) -> list | None:
        """The data edges between the group's children as (from, to) places among them, if data flows against
        the order they had when filed (else None)."""
        i = group.number
        pairs = self._pairs_of(i)
        lo, hi = self._slice(pairs.owner, i)
        data = ~pairs.control[lo:hi]
        place = {child: number for number, child in enumerate(group.children.values())}
        flows = [(place[self.nodes[a]], place[self.nodes[b]])
                 for a, b in zip(pairs.a[lo:hi][data].tolist(), pairs.b[lo:hi][data].tolist())]
        if not any(a >= b for a, b in flows):
            return None
        return flows

    @staticmethod
    def _slice(owners, i: int) -> tuple:
        import numpy as np

        return tuple(owners.searchsorted(np.array([i, i + 1], owners.dtype)).tolist())

    def of(self, group) -> dict | None:
        """The group's edges as distribute_edges files them: {(child, child): [count, all-control, samples...]}."""
        i = group.number
        pairs = self._pairs_of(i)
        lo, hi = self._slice(pairs.owner, i)
        if lo == hi:
            return None
        nodes, edges = self.nodes, {}
        for a, b, count, control, start, num in zip(
                pairs.a[lo:hi].tolist(), pairs.b[lo:hi].tolist(), pairs.count[lo:hi].tolist(),
                pairs.control[lo:hi].tolist(), pairs.sample_start[lo:hi].tolist(), pairs.num_samples[lo:hi].tolist()):
            edge = [count, control]
            for consumer, position in zip(pairs.sample_consumer[start:start + num].tolist(),
                                          pairs.sample_position[start:start + num].tolist()):
                producer, port, _ = nodes[consumer].inputs[position]
                edge += (producer, port)
            edges[(nodes[a], nodes[b])] = edge
        return edges


def _picked(columns: tuple, mask) -> tuple:
    import numpy as np

    at = np.flatnonzero(mask)
    return tuple(x[at] for x in columns)


class _Pairs:
    """Lifted edges aggregated per pair of children, as distribute_edges does (count, all-control, the first
    MAX_EDGE_SAMPLES data edges in op order), the pairs by group and each group's in order of the op that first
    files them. `count`: how many nodes (pair keys)."""

    def __init__(self, owner, a, b, control, consumer, position, count: int):
        import numpy as np

        order = np.argsort(a.astype(np.int64) * count + b, kind="stable")  # (in op order within each pair)
        pair_key = (a.astype(np.int64) * count + b)[order]
        starts = np.flatnonzero(np.r_[True, pair_key[1:] != pair_key[:-1]]) if len(order) else np.zeros(0, np.int64)
        del pair_key
        sizes = np.diff(np.r_[starts, len(order)])
        sorted_control = control[order]
        all_control = np.logical_and.reduceat(sorted_control, starts) if len(starts) else np.zeros(0, np.bool_)
        first = order[starts]  # each pair's first edge in op order
        # Its samples: its first MAX_EDGE_SAMPLES data edges, in op order.
        sampled = ~sorted_control
        num_samples = np.minimum(np.diff(np.r_[0, np.cumsum(sampled)][np.r_[starts, len(sampled)]]), MAX_EDGE_SAMPLES)
        long = sizes > MAX_EDGE_SAMPLES
        if long.any():  # (the data edges of pairs of more edges than that: each one's rank among its pair's)
            at = np.flatnonzero(np.repeat(long, sizes))
            data = sampled[at]
            before = np.cumsum(data) - data
            first_before = before[np.cumsum(sizes[long]) - sizes[long]]
            sampled[at] = data & (before - np.repeat(first_before, sizes[long]) < MAX_EDGE_SAMPLES)
        samples = order[sampled]
        sample_starts = (np.cumsum(num_samples) - num_samples).astype(np.int32)
        by_group = np.lexsort((first, owner[first]))
        self.owner = owner[first][by_group]
        self.a, self.b = a[first][by_group], b[first][by_group]
        self.count = sizes[by_group].astype(np.int32)
        self.control = all_control[by_group]
        self.sample_start = sample_starts[by_group]
        self.num_samples = num_samples[by_group].astype(np.int8)
        self.sample_consumer, self.sample_position = consumer[samples], position[samples].astype(np.int32)


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


def _children_of_common_ancestor(parent, depth, a, b) -> None:
    """For node index arrays `a` and `b` (neither an ancestor of the other): the children of their lowest common
    ancestor that hold them, in place. Most edges join two children of one group or nodes a level or two below
    it: those are lifted a level at a time (the deeper end, or both), the rest by binary lifting (tables of 2^k-th
    ancestors: scopes may nest thousands deep)."""
    import numpy as np

    rest = np.flatnonzero(parent[a] != parent[b])
    for _ in range(_LEVEL_STEPS):
        if not len(rest):
            return
        x, y = a[rest], b[rest]
        depth_x, depth_y = depth[x], depth[y]
        up_x, up_y = depth_x >= depth_y, depth_y >= depth_x
        x[up_x], y[up_y] = parent[x[up_x]], parent[y[up_y]]
        a[rest], b[rest] = x, y
        rest = rest[parent[x] != parent[y]]
    if not len(rest):
        return
    ups = [parent]
    while (1 << len(ups)) <= int(depth.max(initial=0)):
        ups.append(ups[-1][ups[-1]])
    x, y = a[rest], b[rest]
    diff = depth[x] - depth[y]
    for k, up in enumerate(ups):  # the deeper end lifted to the other's depth
        step = (np.abs(diff) >> k) & 1 == 1
        lift_x, lift_y = step & (diff > 0), step & (diff < 0)
        x[lift_x], y[lift_y] = up[x[lift_x]], up[y[lift_y]]
    for up in reversed(ups):  # both lifted while their ancestors differ
        differ = up[x] != up[y]
        x[differ], y[differ] = up[x[differ]], up[y[differ]]
    a[rest], b[rest] = x, y


def op_edge(source, target, edge: list) -> schema.HierarchyEdge:
    """The answer of an edge filed by distribute_edges: dtypes and shapes read from its sampled producers."""
    dtypes, shapes = [], []
    for i in range(2, len(edge), 2):
        producer, port = edge[i], edge[i + 1]
        node_def = producer.node_def
        add_unique(dtypes, ops_lib.output_dtype(node_def, port))
        add_unique(shapes, ops_lib.output_shape(node_def, port))
    return edge_answer(source.path, target.path, edge[0], dtypes, shapes, edge[1])


def edge_answer(source: str, target: str, count: int, dtypes: list, shapes: list,
                control: bool) -> schema.HierarchyEdge:
    """One edge between two children of a group, aggregated from the edges between their subtrees."""
    return schema.HierarchyEdge({"from": source, "to": target, "count": count, "dtypes": dtypes, "shapes": shapes,
                                 "control": control})


def data_flow_order(count: int, edges) -> list:
    """The indices 0..count-1 of a group's children in the order data flows between them: each child after the
    children whose tensors it takes (`edges`: (from index, to index) pairs), and otherwise in their given order
    (Kahn's algorithm, the earliest-given ready child first; in a cycle, the earliest-given child left)."""
    after: list = [[] for _ in range(count)]
    waiting = [0] * count
    for a, b in set(edges):
        if a != b:
            after[a].append(b)
            waiting[b] += 1
    ready = [i for i in range(count) if waiting[i] == 0]
    heapq.heapify(ready)
    order, placed, next_unplaced = [], [False] * count, 0
    while len(order) < count:
        if not ready:  # a cycle: let its earliest-given child go first
            while placed[next_unplaced]:
                next_unplaced += 1
            waiting[next_unplaced] = 0
            ready.append(next_unplaced)
        i = heapq.heappop(ready)
        if placed[i]:
            continue
        placed[i] = True
        order.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0 and not placed[j]:
                heapq.heappush(ready, j)
    return order


def add_unique(values: list, value: str) -> None:
    if value and value not in values:
        values.append(value)
