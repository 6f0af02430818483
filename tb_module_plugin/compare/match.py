"""Aligning the children of two matched groups: groups by structure signature and name together, as a sequence
diff does (a renamed scope pairs with its old self; a block inserted among twelve is one insertion, the blocks
after it pairs with shifted names); ops by name and type."""

from __future__ import annotations

import difflib

from .signature import INPUT_OPS, op_kind, op_types

MAX_CELLS = 40_000  # children pairs the exact alignment weighs; beyond, difflib's longest-block heuristic


def align(a_children: list, b_children: list, sig_a: dict, sig_b: dict, renamed: bool = False,
          feeds=None, loose=None) -> list:
    """[(a child or None, b child or None)] in the union's order (A's order, B's insertions after the B sibling
    they follow). `renamed`: the two groups lie at different paths, so ops named after their scope (a captured
    variable's `_Arg`, named after the op reading it) differ by that: the ops left over pair in order by signature.
    Groups left over pair by name, then by `loose` signatures (A's and B's, see signature.signatures).
    Captured variables' placeholders are named by TensorFlow (tf_named): those left over pair by what they feed
    (`feeds`: for A's ops and for B's, a key of their consumers), then in order by signature."""
    pairs = {}  # id(a child) -> its b child
    groups_a = [c for c in a_children if c.children is not None]
    groups_b = [c for c in b_children if c.children is not None]
    for i, j in _align_groups([sig_a[id(c)] for c in groups_a], [sig_b[id(c)] for c in groups_b],
                              [c.name for c in groups_a], [c.name for c in groups_b]):
        pairs[id(groups_a[i])] = groups_b[j]
    # Groups left over in both under one name: the same group, its structure changed (a widened layer).
    matched_b = {id(b) for b in pairs.values()}
    left_b = {name_key(c): c for c in groups_b if id(c) not in matched_b}
    for a in groups_a:
        if id(a) not in pairs and name_key(a) in left_b:
            pairs[id(a)] = left_b.pop(name_key(a))
    # Then by their loose signatures (`loose`: A's and B's; op types and nesting alone), as the first pass did:
    # a trace's `resnet50_1` against a module record's `resnet50`.
    left_a = [c for c in groups_a if id(c) not in pairs]
    if left_a and left_b and loose is not None:
        others = list(left_b.values())
        for i, j in _align_groups([loose[0][id(c)] for c in left_a], [loose[1][id(c)] for c in others],
                                  [c.name for c in left_a], [c.name for c in others]):
            pairs[id(left_a[i])] = others[j]
        _pair_similar([c for c in left_a if id(c) not in pairs], [c for c in others if id(c) not in
                                                                  {id(b) for b in pairs.values()}], pairs)
    # Ops: by name and type (an input's type as signature.op_kind says it).
    ops_b = {c.name: c for c in b_children if c.children is None}
    for a in a_children:
        if a.children is None:
            b = ops_b.get(a.name)
            if b is not None and op_kind(b) == op_kind(a):
                pairs[id(a)] = b
    if feeds is not None:
        matched_b = {id(b) for b in pairs.values()}
        args_b: dict = {}
        for c in b_children:
            if tf_named(c) and id(c) not in matched_b:
                args_b.setdefault(feeds[1](c), []).append(c)
        for a in a_children:
            if tf_named(a) and id(a) not in pairs:
                same_feeds = args_b.get(feeds[0](a))
                if same_feeds:
                    pairs[id(a)] = same_feeds.pop(0)
    left_a = [c for c in a_children if c.children is None and id(c) not in pairs and (renamed or tf_named(c))]
    if left_a:
        matched_b = {id(b) for b in pairs.values()}
        left_b = [c for c in b_children if c.children is None and id(c) not in matched_b
                  and (renamed or tf_named(c))]
        if left_b:
            for i, j in _align_groups([sig_a[id(c)] for c in left_a], [sig_b[id(c)] for c in left_b],
                                      [c.name for c in left_a], [c.name for c in left_b]):
                pairs[id(left_a[i])] = left_b[j]
    return _union_order(a_children, b_children, pairs)


def name_key(group):
    """What names a group across two graphs: its name; for a series the plugin folded (`AddN[0-121]`, named after
    how many there are), the type of its ops."""
    if group.role == "series":
        first = next(iter(group.children.values()), None)
        return ("series", first.type if first is not None and first.children is None else group.name)
    return group.name


MIN_SIMILARITY = 0.5  # the share of op types two groups left over must have in common to be one group


def _pair_similar(left_a: list, left_b: list, pairs: dict) -> None:
    """Groups still left over, each paired with the most alike of the other side's (the op types below them, as a
    multiset, MIN_SIMILARITY of them in common), in A's order: the same module written by two kinds of record,
    whose ops differ by what each records."""
    if not left_a or not left_b or len(left_a) * len(left_b) > MAX_CELLS:
        return
    counts_b = [op_types(b) for b in left_b]
    taken = set()
    for a in left_a:
        counts_a = op_types(a)
        best, best_score = None, MIN_SIMILARITY
        for j, counts in enumerate(counts_b):
            if j in taken:
                continue
            common = sum(min(n, counts.get(kind, 0)) for kind, n in counts_a.items())
            score = common / max(sum(counts_a.values()), sum(counts.values()), 1)
            if score >= best_score and (best is None or score > best_score):
                best, best_score = j, score
        if best is not None:
            taken.add(best)
            pairs[id(a)] = left_b[best]


def tf_named(op) -> bool:
    """A captured variable's placeholder (an `_Arg` or `Placeholder` of role variable): TensorFlow names it, after
    the op reading it or with a number of the process that traced it (`model_encoder_1066`, `model/encoder/585`),
    not the user; so another name is no change."""
    return op.children is None and op.role == "variable" and op.type in INPUT_OPS


def _union_order(a_children: list, b_children: list, pairs: dict) -> list:
    matched_b = {id(b): True for b in pairs.values()}
    after: dict = {}  # id(the matched b child they follow, or None) -> the added b children, in B's order
    anchor = None
    for b in b_children:
        if id(b) in matched_b:
            anchor = id(b)
        else:
            after.setdefault(anchor, []).append(b)
    out = [(None, b) for b in after.get(None, ())]
    for a in a_children:
        b = pairs.get(id(a))
        out.append((a, b))
        if b is not None:
            out.extend((None, added) for added in after.get(id(b), ()))
    return out


def _align_groups(sa: list, sb: list, na: list, nb: list) -> list:
    """[(i, j)] pairs of equal signatures (of groups, or of ops left over), in order, as many as can be; among
    those, as many equal names as can be."""
    n, m = len(sa), len(sb)
    if sa == sb:
        return [(i, i) for i in range(n)]
    lo = 0  # a common beginning and end, alike in signature and name, are paired as they are
    while lo < n and lo < m and sa[lo] == sb[lo] and na[lo] == nb[lo]:
        lo += 1
    hi = 0
    while hi < n - lo and hi < m - lo and sa[n - 1 - hi] == sb[m - 1 - hi] and na[n - 1 - hi] == nb[m - 1 - hi]:
        hi += 1
    pairs = [(i, i) for i in range(lo)]
    mid_a, mid_b = sa[lo:n - hi], sb[lo:m - hi]
    if mid_a and mid_b:
        if len(mid_a) * len(mid_b) <= MAX_CELLS:
            middle = _weighted_lcs(mid_a, mid_b, na[lo:n - hi], nb[lo:m - hi])
        else:
            blocks = difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_matching_blocks()
            middle = [(block.a + k, block.b + k) for block in blocks for k in range(block.size)]
        pairs += [(lo + i, lo + j) for i, j in middle]
    pairs += [(n - hi + k, m - hi + k) for k in range(hi)]
    return pairs


def _weighted_lcs(sa: list, sb: list, na: list, nb: list) -> list:
    """The order-keeping pairing of equal signatures with the most pairs, then the most equal names (dynamic
    programming over the len(sa) x len(sb) cells)."""
    n, m = len(sa), len(sb)
    big = min(n, m) + 1  # one more pair outweighs any number of equal names
    score = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = score[i], score[i + 1]
        for j in range(m - 1, -1, -1):
            best = below[j] if below[j] >= row[j + 1] else row[j + 1]
            if sa[i] == sb[j]:
                take = below[j + 1] + big + (na[i] == nb[j])
                if take > best:
                    best = take
            row[j] = best
    pairs = []
    i = j = 0
    while i < n and j < m:
        if sa[i] == sb[j] and score[i][j] == score[i + 1][j + 1] + big + (na[i] == nb[j]):
            pairs.append((i, j))
            i += 1
            j += 1
        elif score[i + 1][j] >= score[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs
