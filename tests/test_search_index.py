"""The search index orders a million nodes without a key of each node's path (serve/search.py `_order`): its order
and its answers must be those of sorting every node by (is an op, depth, path), on trees whose names sort
awkwardly against "/" ("a!" < "a" but "a!/" < "a/"), hold line breaks, or make paths longer than a search reads."""

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tb_module_plugin.serve import search as search_lib
from tb_module_plugin.tree import node as tree
from tb_module_plugin.tree.hierarchy import Group, Hierarchy
from tb_module_plugin.tree.ops import Op

# Characters around "/" (0x2f) in code point order, letters, a line break, one outside ASCII.
NAMES = st.text(alphabet="!-./0aAbé\n", min_size=1, max_size=4)  # (the build names no scope "")
SHAPES = st.recursive(st.just(None), lambda inner: st.dictionaries(NAMES, inner, min_size=0, max_size=5),
                      max_leaves=40)


def hierarchy_of(shape: dict) -> Hierarchy:
    """A tree of groups (dicts) and ops (None) by name, built as the builder places them."""
    root = Group("", "scope", None)
    stack = [(root, shape)]
    while stack:
        group, children = stack.pop()
        for name, child in children.items():
            if child is None:
                op = Op(name, name, "Relu", None)
                op.name = name
                group.children[name] = op
            else:
                inner = Group(name, "scope", group)
                group.children[name] = inner
                stack.append((inner, child))
    return Hierarchy(root, op_graph=False)


def expected(h: Hierarchy, limit: int) -> list:
    """(node, name, path) in the answer's order, computed from the live tree: every node's whole path walked up
    from it, sorted by (is an op, depth, the path's first `limit` characters, place in the tree)."""
    rows = []
    for place, node in enumerate(h.all_nodes):
        if node is h.root:
            continue
        names, up = [], node
        while up is not h.root:
            names.append(up.name)
            up = up.parent
        path = "/".join(reversed(names))
        rows.append(((node.children is None, len(names), path[:limit], place), node, node.name[:limit], path[:limit]))
    rows.sort(key=lambda row: row[0])
    return [row[1:] for row in rows]


QUERIES = ["a", "^a", "a$", "^$", "!", r"\.", "-", "b.*a", "^[^/]*$", "/", "é", "A/b", ".", "0!", "^.!"]


def check(shape, limit, monkeypatch, piece_bytes=8):
    monkeypatch.setattr(tree, "MAX_KEPT_PATH", limit)
    monkeypatch.setattr(search_lib, "_PIECE_BYTES", piece_bytes)  # (most trees' text in many pieces)
    monkeypatch.setattr(search_lib, "_PIECE", 3)
    h = hierarchy_of(shape)
    want = expected(h, limit)
    index = search_lib.index_of(h)
    assert index.nodes == [node for node, _, _ in want]
    # The text: every name and path a line, but those with a line break of their own (searched alone), in pieces of
    # whole lines, each numbered by its first line.
    lines = [line.encode("utf-8") for _, name, path in want for line in (name, path) if "\n" not in line]
    pieces = [zlib.decompress(data).split(b"\n") for _, data in index.pieces]
    assert [line for piece in pieces for line in piece] == lines
    assert [first for first, _ in index.pieces] == [sum(map(len, pieces[:i])) for i in range(len(pieces))]
    for query in QUERIES:
        alone = search_lib.compile_query(query)[1]  # (RE2 on one line: Python's `$` also matches before a "\n")
        matched = [node for node, name, path in want
                   if any(alone.search(line.encode("utf-8")) for line in (name, path))]
        for wanted in (1, 3, 500):
            got = index.matching(*search_lib.compile_query(query), wanted)
            assert got == matched[:wanted], (query, wanted, [n.path for n in got], [n.path for n in matched])
    assert not any(node._path for node in h.all_nodes if node.children is None)  # (ops keep no path)
    # A plain search, through the index where it can answer one: a part of the name or path, any case.
    for query in ("a", "A!", "b/", "é", "-a", "\n", "0/b", "", ".", "a.b"):
        matched = [node for node, _, path in want if query.lower() in path.lower() or
                   query.lower() in node.name.lower()]
        for wanted in (1, 500):
            got = search_lib.search(h, query, False, wanted)
            assert [m["path"] for m in got["matches"]] == [n.path for n in matched[:wanted]], (query, wanted)
            assert got["truncated"] == (len(matched) > wanted)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=SHAPES.filter(lambda s: isinstance(s, dict)))
def test_the_index_holds_every_node_in_the_order_of_their_paths(shape, monkeypatch):
    check(shape, 1000, monkeypatch)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=SHAPES.filter(lambda s: isinstance(s, dict)), limit=st.integers(1, 8))
def test_paths_cut_to_what_a_search_reads_keep_the_order_of_the_cut_paths(shape, limit, monkeypatch):
    check(shape, limit, monkeypatch)


@pytest.mark.parametrize("names", [("a", "a!", "a-", "a."), ("a", "ab", "a!b"), ("b", "a/b", "a")])
def test_names_that_sort_around_a_slash(names, monkeypatch):
    """Siblings whose order differs from their paths' + "/" ("a" < "a!" but "a!/" < "a/"), each with a child
    group and op; one holds a "/" of its own (the tree of a Keras model may): ordered by whole paths then."""
    check({name: {"x": {"y": None}, "y": None} for name in names}, 1000, monkeypatch)


def test_an_op_is_asked_its_path_without_keeping_it():
    h = hierarchy_of({"m": {"d": {"MatMul": None}}})
    op = h.find("m/d/MatMul")
    assert op.path == "m/d/MatMul" and op._path is None and op.parent._path == "m/d"


def test_a_plain_query_too_long_for_re2_is_scanned(monkeypatch):
    """A plain search has no length cap, and escaping its punctuation for RE2 makes it four times longer: a query
    whose pattern RE2 cannot compile is answered by the scan (what a plain search finds), not refused."""
    h = hierarchy_of({"a!!": {"b": None}, "c": {"d!": None}})
    index = search_lib.index_of(h)
    assert index.plain  # (ASCII, whole names: the index would answer a plain search)
    query = "!" * 1_000_000
    with pytest.raises(search_lib.BadQuery):  # (what the fallback catches: RE2 refuses the escaped query)
        search_lib._patterns(query.replace("!", "\\x21").encode("ascii"))
    assert index.literal(query) is None
    scanned = []
    paths = search_lib._paths
    monkeypatch.setattr(search_lib, "_paths", lambda hierarchy: scanned.append(1) or paths(hierarchy))
    answer = search_lib.search(h, query, regex=False, limit=10)
    truth = [n.path for n in h.all_nodes if n is not h.root and (query in n.path or query in n.name)]
    assert scanned and [m["path"] for m in answer["matches"]] == truth and not answer["truncated"]
    short = search_lib.search(h, "!", regex=False, limit=10)  # (the same text, short: through the index)
    assert {m["path"] for m in short["matches"]} == {n.path for n in h.all_nodes if n is not h.root and "!" in n.path}


def test_a_finished_index_keeps_what_a_search_reads_only():
    """What writing the text needed (where it got to, the next rank) goes with the writer: the index keeps the
    nodes, the text, the lines searched alone and their owners, the count of lines and whether it answers a plain
    search, the same for a tree whose names hold line breaks."""
    for shape in ({"a": {"b": None, "c\n": None}, "d": None}, {"a": {"b": None}}):
        h = hierarchy_of(shape)
        index = search_lib.SearchIndex(h)
        assert set(vars(index)) == {"nodes", "pieces", "owners", "alone", "lines", "plain"}
        assert index.lines == sum(zlib.decompress(data).count(b"\n") + 1 for _, data in index.pieces) == \
            2 * (len(h.all_nodes) - 1) - len(index.alone)
