"""Edges between the children of a group: op edges filed into the group whose two children they join, and the
edge of an answer (one definition, for op graphs and for Keras layer trees)."""

from __future__ import annotations

import heapq

from . import ops as ops_lib
from .. import schema

# Producers (and ports) an aggregated edge keeps to read dtypes and shapes from.
MAX_EDGE_SAMPLES = 8


def distribute_edges(ops: list, at_root: bool) -> None:
    """Every op edge belongs to one group: the one whose two children hold its ends. One pass files the root's
    (`at_root`: the edges between top-level groups), another all the others, in the same order of ops; each
    group's are aggregated per pair of children in one flat list: [count, all-control, then up to
    MAX_EDGE_SAMPLES producers and ports to read dtypes and shapes from] (a 200,000-op graph has as many edges:
    the list keeps them small)."""
    for consumer in ops:
        if not consumer.inputs:
            continue
        parent, top = consumer.parent, consumer.top  # (read once for its inputs: a million ops file 2.3 million)
        for producer, port, control in consumer.inputs:
            if producer is consumer:
                continue
            if at_root:
                a, b = producer.top, top
                if a is b:
                    continue
                owner = a.parent
            elif producer.top is not top:
                continue
            elif producer.parent is parent:
                a, b, owner = producer, consumer, parent
            else:
                a, b = producer, consumer
                while a.depth > b.depth:
                    a = a.parent
                while b.depth > a.depth:
                    b = b.parent
                while a.parent is not b.parent:
                    a, b = a.parent, b.parent
                owner = a.parent
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
