"""Every op's consumers, and what crosses a group's edge, from one table of every input of every op.

A dict of each op's consumers, made as a million ops' inputs are walked, took 9 s and 190 MB, and what enters and
leaves a group was a walk over all its ops (3 s for a million-op graph's top module). Here every input is a row of
three columns (its producer's and its consumer's node numbers, its place among the consumer's inputs), sorted by
producer: an op's consumers are one slice of them, and a group's crossings the rows with one end inside the range
of node numbers its subtree holds (hierarchy.finalize numbers a subtree's nodes one after another).
"""

from __future__ import annotations

import itertools
from operator import attrgetter, itemgetter

_NUMBER = attrgetter("number")  # a node's place in Hierarchy.all_nodes (set by hierarchy.finalize)


class Links:
    """The inputs of `ops` (the tree's leaves, in the order of `nodes`, Hierarchy.all_nodes) as rows sorted by
    producer, then consumer, then place among its inputs (the order the consumers of an op are listed in)."""

    def __init__(self, nodes: list, ops: list):
        import numpy as np  # (only op graphs have links; numpy comes with TensorBoard)

        self.nodes = nodes
        inputs = list(map(attrgetter("inputs"), ops))
        lengths = np.fromiter(map(len, inputs), np.int64, len(ops))
        total = int(lengths.sum())
        producer = np.fromiter(map(_NUMBER, map(itemgetter(0), itertools.chain.from_iterable(inputs))), np.int32,
                               total)
        del inputs
        consumer = np.repeat(np.fromiter(map(_NUMBER, ops), np.int32, len(ops)), lengths)
        position = (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)).astype(
            np.int32)
        order = np.argsort(producer, kind="stable")  # (stable: by consumer and place within each producer)
        self.producer, self.consumer, self.position = producer[order], consumer[order], position[order]

    def consumers_of(self, op) -> list:
        """[(consumer op, port, control)] of each input that names `op`, the consumers in node order."""
        lo, hi = self.producer.searchsorted([op.number, op.number + 1]).tolist()
        return [self._input(c, k) for c, k in zip(self.consumer[lo:hi].tolist(), self.position[lo:hi].tolist())]

    def crossing(self, group) -> tuple:
        """What crosses `group`'s edge: (incoming, outgoing), each [(producer op, consumer op, port, control)];
        incoming in the order of the consumers inside (node order, then their inputs' order), outgoing in the
        order of the producers inside, then of their consumers."""
        import numpy as np

        lo, hi = group.number, last_number(group)
        producer, consumer = self.producer, self.consumer
        inside_producer = (producer >= lo) & (producer <= hi)
        inside_consumer = (consumer >= lo) & (consumer <= hi)
        incoming = np.flatnonzero(inside_consumer & ~inside_producer)
        incoming = incoming[np.lexsort((self.position[incoming], consumer[incoming]))]
        outgoing = np.flatnonzero(inside_producer & ~inside_consumer)  # (sorted by producer, consumer, place)
        return self._rows(incoming), self._rows(outgoing)

    def _rows(self, rows) -> list:
        out = []
        for c, k in zip(self.consumer[rows].tolist(), self.position[rows].tolist()):
            consumer, port, control = self._input(c, k)
            out.append((self.nodes[c].inputs[k][0], consumer, port, control))
        return out

    def _input(self, c: int, k: int) -> tuple:
        """(consumer op, port, control) of input `k` of the op numbered `c`."""
        consumer = self.nodes[c]
        _, port, control = consumer.inputs[k]
        return consumer, port, control


def last_number(group) -> int:
    """The highest node number in `group`'s subtree (its nodes are numbered group.number to this, one after another):
    the last one numbered of its children, then of theirs, down to a leaf."""
    node = group
    while node.children:
        node = max(node.children.values(), key=_NUMBER)
    return node.number
