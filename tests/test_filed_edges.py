"""Edges inside groups filed column-wise (tree.edges.FiledEdges) and structures numbered column-wise
(tree.structure.number_all): the same answers as filing each edge and numbering each node one by one, worked out
here from the live nodes of a second tree built of the same graph."""

from __future__ import annotations

import random

import pytest
from tensorboard.compat.proto import attr_value_pb2

from tests.helpers.records import graph_def
from tests.helpers.trees import build
from tb_module_plugin.tree import columns as columns_lib
from tb_module_plugin.tree import edges as edges_lib
from tb_module_plugin.tree import structure as structure_lib
from tb_module_plugin.tree.hierarchy import Group, Hierarchy

DEEP = 300  # scopes nested deeper than structure.MAX_LEVELS: numbered node by node, lifted by 9 tables


def _graph(deep_levels: int = DEEP):
    """Blocks of scopes with edges within and between them, pairs of more data edges than an edge samples, pairs
    of control edges only, an op that takes its own output, ops listed after the ops they feed, and a chain of
    DEEP nested scopes with edges between its levels."""
    rng = random.Random(7)
    nodes = [("x", "Placeholder", [])]
    names = ["x"]
    for block in range(4):
        for step in range(6):
            for op in range(3):
                name = f"net/block_{block}/step_{step}/op_{op}"
                inputs = [rng.choice(names) for _ in range(rng.randint(1, 3))]
                if rng.random() < 0.3:
                    inputs.append("^" + rng.choice(names))
                nodes.append((name, "Mul" if op % 2 else "Add", inputs))
                names.append(name)
    # Many edges between one pair of groups (more than MAX_EDGE_SAMPLES data ones, and control ones).
    for i in range(2 * edges_lib.MAX_EDGE_SAMPLES):
        nodes.append((f"net/wide/sink_{i}", "Identity", [f"net/block_0/step_{i % 6}/op_1", "^net/block_1/step_0/op_0"]))
    nodes.append(("net/controls/a", "NoOp", ["^net/block_2/step_0/op_0", "^net/block_2/step_1/op_0"]))
    nodes.append(("net/self/loop", "Merge", ["net/self/loop", "x"]))
    # Listed before what feeds them: their group's children are put in flow order.
    nodes.append(("net/late/first/use", "Relu", ["net/late/second/make"]))
    nodes.append(("net/late/second/make", "Relu", ["x"]))
    deep = "deep/" + "/".join(f"d{i}" for i in range(deep_levels))
    for level in (3, deep_levels // 2, deep_levels - 1):
        prefix = "deep/" + "/".join(f"d{i}" for i in range(level))
        nodes.append((f"{prefix}/op", "Neg", ["x", f"{deep}/leaf"] if level < deep_levels - 1 else ["x"]))
    nodes.append((f"{deep}/leaf", "Neg", ["net/block_3/step_5/op_2"]))
    return graph_def(nodes, (), types=False)


def _file_one_by_one(h) -> None:
    """The edges of every group as distribute_edges's lists, each edge lifted to its ends' common ancestor's
    children by walking up their parents, in the order of the ops; then each group's children in flow order."""
    for node in h.all_nodes:
        if node.children is not None and node is not h.root:
            node.edges = None
    for consumer in (node for node in h.all_nodes if node.children is None):
        for producer, port, control in consumer.inputs:
            a, b = producer, consumer
            while a.depth > b.depth:
                a = a.parent
            while b.depth > a.depth:
                b = b.parent
            while a.parent is not b.parent:
                a, b = a.parent, b.parent
            if a is b or a.parent is h.root:
                continue
            edges = a.parent.edges = a.parent.edges or {}
            edge = edges.setdefault((a, b), [0, True])
            edge[0] += 1
            if not control:
                edge[1] = False
                if len(edge) < 2 + 2 * edges_lib.MAX_EDGE_SAMPLES:
                    edge += (producer, port)
    for group in h.all_nodes:
        if group.children and group is not h.root and group.edges:
            items = list(group.children.values())
            place = {child: i for i, child in enumerate(items)}
            pairs = [(place[a], place[b]) for (a, b), edge in group.edges.items() if not edge[1]]
            if any(a >= b for a, b in pairs):  # (else kept as filed, as Hierarchy keeps them)
                group.children = {items[i].name: items[i] for i in edges_lib.data_flow_order(len(items), pairs)}


def _groups(h) -> dict:
    return {node.path: node for node in h.all_nodes if node.children is not None}


@pytest.mark.parametrize("settled", [True, False])
@pytest.mark.parametrize("level_steps", [0, edges_lib._LEVEL_STEPS])
def test_edges_filed_column_wise_are_the_edges_filed_one_by_one(settled, level_steps, monkeypatch):
    """Settled (every group's aggregated and ordered at once, as settle does) or each group's when asked for; ends
    lifted by binary lifting alone, or a few levels a level at a time first (the deep chain's need both)."""
    monkeypatch.setattr(edges_lib, "_LEVEL_STEPS", level_steps)
    g = _graph()
    columns, one_by_one = build(g), build(g)
    _file_one_by_one(one_by_one)
    if settled:
        columns.file_edges()
    expected, groups = _groups(one_by_one), _groups(columns)
    assert expected.keys() == groups.keys()
    samples = 0
    for path, group in groups.items():
        want = expected[path]
        assert [c.name for c in columns.in_flow_order(group)] == [c.name for c in want.children.values()], path
        edges = columns.group_edges(group)
        want_edges = [edges_lib.op_edge(a, b, edge) for (a, b), edge in (want.edges or {}).items()]
        if group is not columns.root:  # (the root's are filed by both trees' builds, not by _file_one_by_one)
            assert edges == want_edges, path
        samples = max(samples, max((len(edge) for edge in (want.edges or {}).values()), default=0))
    # The graph holds what the test is about: a pair sampled to the limit, control-only pairs, reordered children.
    assert samples == 2 + 2 * edges_lib.MAX_EDGE_SAMPLES
    assert any(edge[1] for group in expected.values() for edge in (group.edges or {}).values())
    assert [c.name for c in expected["net/late"].children.values()] == ["second", "first"]
    assert max(node.depth for node in columns.all_nodes) > DEEP
    assert columns.edges_filed()


def _with_facts(h) -> None:
    """Module facts set on some blocks as a module record would: alike, of other shapes, of an unknown shape."""
    facts = [{"class_name": "Dense", "variables": [{"shape": [4, 8]}]}, {"class_name": "Dense", "variables": [{"shape": [4, 8]}]},
             {"class_name": "Dense", "variables": [{"shape": [None, 8]}]}, {"class_name": "Dense", "attrs": {"units": 3}}]
    for block, fact in enumerate(facts):
        group = h.find(f"net/block_{block}")
        group.kind, group.facts = "module", fact


def _variables_graph():
    """Blocks alike and not, with variables of known and unknown shapes, and empty-looking groups."""
    def shape(*dims):
        value = attr_value_pb2.AttrValue()
        for d in dims:
            value.shape.dim.add(size=d)
        return value

    nodes = [("x", "Placeholder", [])]
    for block, dims in enumerate([(4, 8), (4, 8), (8, 2), None, None, (4, 8)]):
        attrs = {"shape": shape(*dims)} if dims else {}
        nodes += [(f"net/block_{block}/w", "VarHandleOp", [], attrs),
                  (f"net/block_{block}/read", "ReadVariableOp", [f"net/block_{block}/w"]),
                  (f"net/block_{block}/dense/mm", "MatMul", ["x", f"net/block_{block}/read"])]
        if block == 5:
            nodes.append((f"net/block_{block}/dense/relu", "Relu", [f"net/block_{block}/dense/mm"]))
    return graph_def(nodes, (), types=False)


def _numbered(h) -> list:
    return [(h.structure_of(node), h.shapes_known(node)) for node in h.all_nodes]


def _same_partition(a: list, b: list) -> bool:
    forward, backward = {}, {}
    return all(forward.setdefault(x, y) == y and backward.setdefault(y, x) == x for (x, _), (y, _) in zip(a, b)) and [
        known for _, known in a] == [known for _, known in b]


def _columns_only(m) -> None:
    """Numbering node by node fails: what is numbered meanwhile is numbered column-wise."""
    def node_by_node(self, node):
        raise AssertionError(f"{node.path!r} numbered node by node, not column-wise")
    m.setattr(Hierarchy, "_number_structures", node_by_node)


def test_structures_numbered_column_wise_are_the_ones_numbered_node_by_node(monkeypatch):
    for g in (_graph(deep_levels=20), _variables_graph()):
        trees = [build(g) for _ in range(3)]
        for h in trees:
            _with_facts(h)
        assert not trees[0].structures_numbered()
        with monkeypatch.context() as m:
            _columns_only(m)
            columns = _numbered(trees[0])
            assert trees[0].structures_numbered()
            m.setattr(structure_lib, "_MULTIPLIER", 0)  # every run of one size hashed alike: each key made
            collided = _numbered(trees[1])
        with monkeypatch.context() as m:
            m.setattr(structure_lib, "MAX_LEVELS", -1)  # numbered node by node
            one_by_one = _numbered(trees[2])
        assert _same_partition(columns, one_by_one) and _same_partition(collided, one_by_one)
        assert len(set(columns)) > 3 and any(known for _, known in columns) and not all(known for _, known in columns)


def test_a_tree_deeper_than_the_columns_go_is_numbered_node_by_node():
    h = build(_graph())
    deep = h.find("deep")
    assert h.structure_of(deep) == h.structure_of(deep) is not None
    assert h.structures_numbered() is False  # (only what was asked for, as before)
    h.structure_of(h.root)
    assert h.structures_numbered()


@pytest.mark.parametrize("climb", [0, columns_lib._MAX_CLIMB])
def test_node_columns_are_each_nodes_parent_and_depth(monkeypatch, climb):
    """The node columns (tree.columns.NodeColumns): read from the groups, worked out for the ops from the order finalize numbers the
    nodes in (climbing from the last group before an op, or past `climb` levels read from the op), with an empty
    group among them."""
    limit = columns_lib._MAX_CLIMB
    monkeypatch.setattr(columns_lib, "_MAX_CLIMB", climb)
    tree = build(_graph())
    holder = tree.find("net/block_1")
    holder.children["empty"] = Group("empty", "scope", holder)
    h = Hierarchy(tree.root)  # (numbered again, with the empty group)
    nodes = h.all_nodes
    # How far each op's parent is above the last group with children numbered before it.
    climbs, last = [], None
    for node in nodes:
        if node.children is None:
            climbs.append(last.depth - node.parent.depth)
        elif node.children:
            last = node
    # (ops climbing past the limit, and others climbing less: both ways are taken)
    assert max(climbs) > limit and any(0 < c <= limit for c in climbs)
    columns = h.node_columns()
    assert columns.parent[1:].tolist() == [node.parent.number for node in nodes[1:]]
    assert columns.depth.tolist() == [node.depth for node in nodes]
    assert columns.is_op.tolist() == [node.children is None for node in nodes]
    assert columns.op_index.tolist() == [node.number for node in nodes if node.children is None]


@pytest.mark.parametrize("few_edges", [0, edges_lib._FEW_EDGES])
def test_answers_are_the_same_opened_before_settle_and_after(few_edges, monkeypatch):
    """A group opened before settle has run picks its own edges by its children's runs of node numbers (their
    control flags read from their ops, or from every input's at once) and puts its children in flow order itself,
    and its structure marks number every subtree; settle lifts every edge, aggregates and orders every group at
    once. Whichever groups were opened first, every answer is the same."""
    from tb_module_plugin.serve import answers as answers_lib
    from tb_module_plugin.serve.settle import settle

    monkeypatch.setattr(edges_lib, "_FEW_EDGES", few_edges)
    monkeypatch.setattr(edges_lib, "_OPS_AT_A_TIME", 5)  # (every input's control flags read in pieces)
    g = _graph(deep_levels=20)
    early, late = build(g), build(g)
    for h in (early, late):
        _with_facts(h)
        for group in _groups(h).values():
            if group.parent is not None and group.parent.name.startswith("block_"):  # (their steps: modules alike)
                group.kind = "module"
    paths = list(_groups(early))
    opened = {path: answers_lib.node_json(early, path, 1) for path in paths[1::2]}  # (before settle: half of them)
    assert not early.structures_numbered() or early.edges_filed()
    settle(early)
    settle(late)
    for path in paths:
        want = answers_lib.node_json(late, path, 1)
        assert answers_lib.node_json(early, path, 1) == want, path
        if path in opened:
            assert opened[path] == want, path
    # (what the answers hold: edges between children, repeat marks, a group put in flow order)
    answered = [answers_lib.node_json(late, path, 1) for path in paths]
    assert sum(bool(a["edges"]) for a in opened.values()) > 5 and sum(bool(a["edges"]) for a in answered) > 10
    assert any(c.get("repeat") for a in answered for c in a["children"])
    assert [c["name"] for c in answers_lib.node_json(late, "net/late", 1)["children"]] == ["second", "first"]
