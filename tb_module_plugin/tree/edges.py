"""Edges between the children of a group: op edges filed into the group whose two children they join, and the
edge of an answer (one definition, for op graphs and for Keras layer trees)."""

from __future__ import annotations

import heapq
import itertools
from operator import attrgetter, itemgetter

from . import links as links_lib
from .columns import NUMBER as _NUMBER, NodeColumns
from . import ops as ops_lib
from .. import schema

# Producers (and ports) an aggregated edge keeps to read dtypes and shapes from.
MAX_EDGE_SAMPLES = 8
_OPS_AT_A_TIME = 65536  # ops whose control flags _controls reads in one call
_FEW_EDGES = 2048  # a group's edges whose control flags are read from their ops one by one (more: all at once)
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
    hold its ends, then aggregated per pair of children as distribute_edges does the root's (a group's alone when
    it is asked for first; every group's by aggregate); a group's are made into its list (see distribute_edges)
    only when it is asked for. Filing a million ops' edges one by one took 2.8 s and 170 MB of lists; as arrays it
    is a few vectorised passes over them, and a group asked for reads a slice.

    `columns`: the tree's NodeColumns (a group's edges are listed in order of the first op that files each: the
    ops' order there). It keeps them until aggregate has lifted every edge."""

    def __init__(self, columns: NodeColumns):
        import numpy as np  # (only op graphs file edges; numpy comes with TensorBoard)

        self.nodes, self._columns, ops = columns.nodes, columns, columns.ops
        inputs = list(map(attrgetter("inputs"), ops))
        lengths = np.fromiter(map(len, inputs), np.int64, len(ops))
        flat = list(itertools.chain.from_iterable(inputs))  # each input (producer, port, control), in op order
        del inputs
        producer = np.fromiter(map(_NUMBER, map(itemgetter(0), flat)), np.int32, len(flat))
        del flat
        consumer = np.repeat(columns.op_index.astype(np.int32), lengths)  # (ascending: the ops in node order)
        # Every edge in op order, its ends not yet lifted: a group asked for first picks its own by its children's
        # ranges of numbers (group_inputs); aggregate() (settle) lifts them all to the children of the groups
        # they join. An expansion right after the first answer waits for neither lifting nor aggregating, nor
        # for every input's control flag and place among its consumer's inputs (read for the edges picked).
        self._inputs = (producer, consumer)
        self._control = None  # every input's control flag, once made (see _controls)
        self._pairs = None  # every group's _Pairs, once aggregated
        self._last = None  # (group, its _Pairs) of the group last asked for before that
        self._flow_owner = self._flow_from = self._flow_to = None

    def aggregate(self) -> None:
        """Every group's pairs, and the data edges of the groups whose children data flows against (a data edge
        from a later child to an earlier one) as (from, to) places among them: flows(), which Hierarchy.file_edges
        puts those groups' children in order by (Hierarchy._order)."""
        import numpy as np

        if self._pairs is not None:
            return
        producer, consumer = self._inputs
        control = self._controls(self._columns.ops)
        starts = np.flatnonzero(np.r_[True, consumer[1:] != consumer[:-1]])  # (each op's inputs: one run)
        position = (np.arange(len(consumer)) - np.repeat(starts, np.diff(np.r_[starts, len(consumer)]))).astype(
            np.int32)
        del starts
        parent = self._columns.parent
        a, b = producer.copy(), consumer.copy()
        _children_of_common_ancestor(parent, self._columns.depth, a, b)
        # (With the root's, filed by distribute_edges before the first answer, and an op's input of its own output,
        # a == b: both left out only then.)
        lifted = (parent[a], a, b, control, consumer, position)
        del a, b
        pairs = _Pairs(*_picked(lifted, (lifted[0] != 0) & (lifted[1] != lifted[2])), len(self.nodes))
        del lifted
        number = self._child_numbers()
        data = ~pairs.control
        against = np.unique(pairs.owner[data & (number[pairs.a] >= number[pairs.b])])
        flows = data & np.isin(pairs.owner, against)
        self._flow_owner = pairs.owner[flows]
        self._flow_from, self._flow_to = number[pairs.a[flows]], number[pairs.b[flows]]
        self._pairs = pairs
        self._inputs = self._columns = self._last = self._control = None

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

    def _pairs_of(self, group) -> "_Pairs":
        """The group's pairs (every group's, once aggregated)."""
        import numpy as np

        pairs, inputs, columns = self._pairs, self._inputs, self._columns
        if pairs is not None:
            return pairs
        if inputs is None or columns is None:  # (aggregated meanwhile)
            return self._pairs
        last = self._last
        if last is not None and last[0] is group:  # (an expansion reads them twice: its flow order, its edges)
            return last[1]
        producer, consumer = inputs
        owner, a, b, at = group_inputs(group, producer, consumer)
        consumers = consumer[at]
        position = (at - consumer.searchsorted(consumers, "left")).astype(np.int32)
        if len(at) > _FEW_EDGES:
            control = self._controls(columns.ops)[at]
        else:
            nodes = self.nodes
            control = np.fromiter((nodes[c].inputs[k][2] for c, k in zip(consumers.tolist(), position.tolist())),
                                  np.bool_, len(at))
        pairs = _Pairs(owner, a, b, control, consumers, position, len(self.nodes))
        self._last = (group, pairs)
        return pairs

    def _controls(self, ops: list):
        """Every input's control flag, in op order (read again from the ops' inputs when first needed: an expansion
        reads those of its own edges alone)."""
        import numpy as np

        control = self._control
        if control is None:
            pieces = [np.zeros(0, np.bool_)]
            # (a piece of the ops at a time: settle reads them all, and one call over a million ops would hold the
            # interpreter from an answer asked meanwhile for tens of milliseconds)
            for start in range(0, len(ops), _OPS_AT_A_TIME):
                inputs = itertools.chain.from_iterable(map(attrgetter("inputs"), ops[start:start + _OPS_AT_A_TIME]))
                pieces.append(np.fromiter(map(itemgetter(2), inputs), np.bool_))
            control = self._control = np.concatenate(pieces)
        return control

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

    def flow_of(self, group) -> list | None:
        """The data edges between the group's children as (from, to) places among them, if data flows against
        the order they had when filed (else None)."""
        i = group.number
        pairs = self._pairs_of(group)
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
        pairs = self._pairs_of(group)
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


def group_inputs(group, producer, consumer) -> tuple:
    """The edges joining two children of `group` (`producer`, `consumer`: every edge's ends in op order, the
    consumers ascending) as (owner, from child, to child, the edges' indices there): a group's subtree is one run
    of node numbers, each child's subtree one run in it, so an edge is the group's when both its ends are in the
    group's run and in two children's runs (the children they are in: what lifting them finds)."""
    import numpy as np

    starts = np.sort(np.fromiter(map(_NUMBER, group.children.values()), np.int32, len(group.children)))
    if not len(starts):
        none = np.zeros(0, np.int32)
        return none, none, none, none
    lo, hi = int(starts[0]), links_lib.last_number(group)
    first, last = consumer.searchsorted(np.array([lo, hi + 1], consumer.dtype)).tolist()
    inside = producer[first:last]
    at = first + np.flatnonzero((inside >= lo) & (inside <= hi))
    child = np.repeat(starts, np.diff(np.r_[starts, hi + 1]))  # the child holding each node of the run
    a, b = child[producer[at] - lo], child[consumer[at] - lo]
    apart = np.flatnonzero(a != b)
    at = at[apart]
    return np.full(len(at), group.number, np.int32), a[apart], b[apart], at


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
