"""Children listed in the order data flows between them (issue 23): graphs built directly, no server."""

from __future__ import annotations

from tests.helpers import trees
from tests.helpers.answers import InProcess, ok_json, walk
from tests.helpers.records import graph_def
from tb_module_plugin.tree.edges import data_flow_order
from tb_module_plugin.serve import answers as answers_lib


def build(*nodes):
    return trees.build(graph_def(nodes, (), types=False))


def names_and_edges(h, path):
    answer = answers_lib.node_json(h, path, 1)
    names = [c["name"] for c in answer["children"]]
    edges = [(e["from"].rsplit("/", 1)[-1], e["to"].rsplit("/", 1)[-1]) for e in answer["edges"] if not e["control"]]
    return names, edges


def test_a_module_listed_after_the_modules_it_takes_tensors_from():
    # The GraphDef lists the head's ops first (as a trace does when the head's variables are read first), but
    # the head takes the encoder's output.
    h = build(("x", "Placeholder", []),
              ("model/head/w", "Placeholder", []),
              ("model/head/mul", "Mul", ["model/encoder/relu", "model/head/w"]),
              ("model/encoder/mul", "Mul", ["x", "x"]),
              ("model/encoder/relu", "Relu", ["model/encoder/mul"]),
              ("model/side/neg", "Neg", ["x"]),
              ("out", "Identity", ["model/head/mul"]))
    names, edges = names_and_edges(h, "model")
    given = ["head", "encoder", "side"]  # the graph's own order, for what no edge orders
    assert sorted(names) == sorted(given)
    assert edges, "the test holds no edge to order by"
    for a, b in edges:
        assert names.index(a) < names.index(b), (a, b, names)
    # `side` takes nothing from its siblings: it keeps its place after them in the graph's order.
    assert names == ["encoder", "head", "side"], names
    # The other answers walk the same order.
    assert [c["name"] for c in answers_lib.node_json(h, "model", 1)["children"]] == names


def test_data_flow_order_keeps_the_given_order_where_nothing_orders_and_breaks_cycles():
    assert data_flow_order(4, []) == [0, 1, 2, 3]
    assert data_flow_order(3, [(2, 0), (1, 0)]) == [1, 2, 0]
    # A cycle 0 -> 1 -> 0 (a loop's body and its state) fed by 2: every child is listed once.
    order = data_flow_order(3, [(0, 1), (1, 0), (2, 0)])
    assert sorted(order) == [0, 1, 2] and order.index(2) < order.index(0) < order.index(1), order


def test_a_modules_backward_pass_is_listed_after_its_forward_children(resnet_logdir):
    """Keras ResNet50's training step (a real trace): every module holding a backward group lists it last, after
    the layers whose gradients it holds (the gradients take the forward outputs)."""
    tb = InProcess(resnet_logdir)
    root = ok_json(tb.api("hierarchy", run="resnet50_train_step", tag="train_step", depth=8))["node"]
    holders = [node for node, _ in walk(root)
               if any(child.get("role") == "backward" for child in node.get("children", ()))]
    assert holders, "the step's modules hold no backward group"
    for node in holders:
        roles = [child.get("role") for child in node["children"]]
        assert roles.index("backward") == len(roles) - 1, (node["path"], [c["name"] for c in node["children"]])
