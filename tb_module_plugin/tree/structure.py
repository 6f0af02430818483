"""Structure numbers (tree.Hierarchy.structure_of) of every node of an op graph at once, column-wise: a million
ops numbered one by one took 0.8 s, which the first expansion of a module of 48 same-sized blocks waited for."""

from __future__ import annotations

import itertools
from operator import attrgetter

from . import ops as ops_lib

MAX_LEVELS = 256  # deeper trees are numbered node by node (a numpy pass per level would cost more than it saves)
# The op types passes.assign_io_roles may make a variable (the only ones whose structure reads their shape).
_VARIABLE_TYPES = ops_lib.ARG_OPS | ops_lib.VARIABLE_OPS | {"Placeholder"}
_MULTIPLIER = 0x9E3779B97F4A7C15  # (odd: hashes of runs of child numbers, verified before they are trusted)


def facts_key(facts: dict) -> tuple:
    """What a group's recorded facts add to its structure: its class, its own parameters' shapes and its config
    but the name (a Keras callback's layer records no weights; a trace's captured variables no shapes)."""
    return (facts.get("class_name"), tuple(sorted(str(v.get("shape")) for v in facts.get("variables", ()))),
            tuple(sorted((k, v) for k, v in facts.get("attrs", {}).items() if k != "name")))


def own_shapes_unknown(facts: dict) -> bool | None:
    """Whether a group's recorded parameters include one of unknown shape; None where it records none."""
    if "variables" not in facts:
        return None
    return any(not isinstance(v.get("shape"), list) or None in v["shape"] for v in facts["variables"])


class _TypeNumbers(dict):
    """Op type -> the structure number of a plain op of that type, made on first need (in `interned`)."""

    def __init__(self, interned: dict, numbers):
        super().__init__()
        self.interned, self.numbers = interned, numbers

    def __missing__(self, op_type: str) -> int:
        number = self[op_type] = self.interned.setdefault(("op", op_type, ()), next(self.numbers))
        return number


def number_all(columns, interned: dict, numbers, unknown_shapes: set, read_shapes: dict | None = None):
    """Every node's structure number as Hierarchy.structure_of makes it (the same keys in `interned`, so numbers agree
    with the ones it makes), level by level from the deepest: the child numbers of each group sorted, groups of
    equal runs found by a hash of them, checked element by element, and only one key made per distinct run.
    `columns`: an edges.NodeColumns (its nodes, the root first, their parents and depths, which are ops, the ops
    with their indices and the groups below the root). Returns the numbers in that order (kept as a column: set on
    a million nodes they took 0.15 s more); None (nothing done) for a tree deeper than MAX_LEVELS."""
    import numpy as np

    nodes, parent, depth, is_op = columns.nodes, columns.parent, columns.depth, columns.is_op
    count = len(nodes)
    levels = int(depth.max(initial=0))
    if levels > MAX_LEVELS:
        return None
    code = np.zeros(count, np.int64)
    ops, op_index = columns.ops, columns.op_index
    by_type = _TypeNumbers(interned, numbers)
    op_codes = np.fromiter(map(by_type.__getitem__, map(attrgetter("type"), ops)), np.int64, len(ops))
    # The variables, among the ops of the types that may be one (a test of every op's role took 0.07 s).
    maybe = [number for op_type, number in by_type.items() if op_type in _VARIABLE_TYPES]
    for k in np.flatnonzero(np.isin(op_codes, maybe)).tolist() if maybe else ():
        if ops[k].role != "variable":
            continue
        dims = ops_lib.variable_dims(ops[k], read_shapes)
        op_codes[k] = number = interned.setdefault(("op", ops[k].type, dims), next(numbers))
        if dims is None:
            unknown_shapes.add(number)
    code[op_index] = op_codes
    del op_codes
    # Facts: numbered keys (0: none), and whether each group's own parameters decide its unknown shapes.
    facts_code = np.zeros(count, np.int64)
    facts_keys: list = [facts_key({})]
    own_unknown: dict = {}  # node index -> its own parameters' unknown shapes, where it records them
    keys_seen: dict = {facts_keys[0]: 0}
    groups = [nodes[0], *columns.groups]  # (only groups record facts)
    for group in itertools.compress(groups, map(bool, map(attrgetter("facts"), groups))):
        i, facts = group.number, group.facts
        key = facts_key(facts)
        facts_code[i] = keys_seen.setdefault(key, len(keys_seen))
        if len(facts_keys) < len(keys_seen):
            facts_keys.append(key)
        own = own_shapes_unknown(facts)
        if own is not None:
            own_unknown[i] = own
    del groups
    by_depth = np.argsort(depth.astype(np.uint16), kind="stable")  # (a radix sort: levels <= MAX_LEVELS)
    level_starts = np.searchsorted(depth[by_depth], np.arange(levels + 3))
    for level in range(levels, -1, -1):
        at_level = by_depth[level_starts[level]:level_starts[level + 1]]
        groups = at_level[~is_op[at_level]]  # (ascending: the sort is stable)
        if not len(groups):
            continue
        below = by_depth[level_starts[level + 1]:level_starts[level + 2]]
        # By parent, then number: one depth's nodes in the order of the tree have their parents in order already
        # (a group's subtree is one piece of it, after the group), so one sort of a key of both does (a lexsort
        # of the two took longer).
        below = below[np.argsort(parent[below].astype(np.int64) * (int(code[below].max(initial=0)) + 1)
                                 + code[below])]
        child_codes, child_parents = code[below], parent[below]
        # (every node one level down is a child of one of `groups`, both in order: each group's run follows the last)
        sizes = np.zeros(len(groups), np.int64)
        if len(below):
            run_starts = np.flatnonzero(np.r_[True, child_parents[1:] != child_parents[:-1]])
            sizes[np.searchsorted(groups, child_parents[run_starts])] = np.diff(np.r_[run_starts, len(below)])
        starts = np.cumsum(sizes) - sizes
        run = np.repeat(np.arange(len(groups)), sizes)
        place = np.arange(len(below)) - starts[run]
        # Each run's hash: the sum of its codes, each times a power of _MULTIPLIER by its place (mod 2^64).
        hashes = np.zeros(len(groups), np.uint64)
        if len(below):
            powers = np.multiply.accumulate(np.full(int(sizes.max()), _MULTIPLIER, np.uint64))
            weights = (child_codes.astype(np.uint64) + np.uint64(1)) * powers[place]
            filled = sizes > 0
            hashes[filled] = np.add.reduceat(weights, starts[filled])
        group_facts = facts_code[groups]
        order = np.lexsort((hashes, sizes, group_facts))
        same = np.r_[False, (hashes[order][1:] == hashes[order][:-1]) & (sizes[order][1:] == sizes[order][:-1])
                     & (group_facts[order][1:] == group_facts[order][:-1])]
        kind = np.empty(len(groups), np.int64)  # each group's class
        kind[order] = np.cumsum(~same) - 1
        first = order[np.flatnonzero(~same)]  # a group of each class
        representative = first[kind]
        if np.array_equal(child_codes, child_codes[starts[representative][run] + place]):
            made = first  # (one key per class)
        else:  # (two runs of one hash: each group's key made)
            made, kind = np.arange(len(groups)), np.arange(len(groups))
        class_numbers = np.fromiter((interned.setdefault(
            (facts_keys[f], tuple(child_codes[start:start + size].tolist())), next(numbers))
            for f, start, size in zip(group_facts[made].tolist(), starts[made].tolist(), sizes[made].tolist())),
            np.int64, len(made))
        numbered = code[groups] = class_numbers[kind]
        # Unknown shapes: a child's (a group recording its own parameters: its own, and its child groups').
        flagged = np.zeros(len(groups), np.bool_)
        if unknown_shapes:
            unknown_children = np.isin(child_codes, np.fromiter(unknown_shapes, np.int64, len(unknown_shapes)))
            flagged[run[unknown_children]] = True
            unknown_children &= ~is_op[below]
        else:
            unknown_children = np.zeros(len(below), np.bool_)
        if own_unknown:
            for g in np.flatnonzero(np.isin(groups, np.fromiter(own_unknown, np.int64, len(own_unknown)))).tolist():
                flagged[g] = own_unknown[int(groups[g])] or bool(unknown_children[starts[g]:starts[g] + sizes[g]].any())
        unknown_shapes.update(numbered[flagged].tolist())
    return code.astype(np.int32)
