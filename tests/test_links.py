"""Every op's consumers and what crosses a group's edge (tree/links.py), read from one table of every input, against
what the live tree's ops say: each op's inputs walked one by one, and each group's ops walked with their ancestors.
On real traces (the demo's graphs and a ResNet50 training step, written by TensorFlow)."""

import pytest
from tensorboard import context

from tb_module_plugin.build import sources
from tb_module_plugin.cli.main import logdir_data_provider
from tb_module_plugin.serve.settle import settle
from tb_module_plugin.tree.hierarchy import ops_under
from tb_module_plugin.tree.links import last_number


def hierarchies(logdir):
    provider, ctx = logdir_data_provider(str(logdir)), context.RequestContext()
    for record in sources.list_graphs(provider, ctx, ""):
        blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
        h = sources.build_hierarchy(record, blobs)
        if h.op_graph:
            settle(h)  # (children put in flow order: the subtrees' numbers must still be one run each)
            yield h


def walked_consumers(h) -> dict:
    consumers = {}
    for node in h.all_nodes:
        if node.children is None:
            for producer, port, control in node.inputs:
                consumers.setdefault(id(producer), []).append((node, port, control))
    return consumers


def is_under(node, group) -> bool:
    while node is not None and node is not group:
        node = node.parent
    return node is group


@pytest.mark.parametrize("which", ["demo", "resnet"])
def test_consumers_and_crossings_are_what_the_ops_say(which, demo_logdir, resnet_logdir):
    checked = 0
    for h in hierarchies(demo_logdir if which == "demo" else resnet_logdir):
        links = h.links()
        consumers = walked_consumers(h)
        for node in h.all_nodes:
            if node.children is None:
                assert links.consumers_of(node) == consumers.get(id(node), []), node.path
                continue
            numbers = [n.number for n in ops_under(node)] + [node.number]
            assert last_number(node) == max(numbers) and max(numbers) - node.number + 1 == len(
                [n for n in h.all_nodes if is_under(n, node)])  # (a subtree's numbers: one run, itself first)
            entering, leaving = links.crossing(node)
            want_in = [(p, op, port, control) for op in ops_under(node) for p, port, control in op.inputs
                       if not is_under(p, node)]
            want_out = [(op, c, port, control) for op in ops_under(node)
                        for c, port, control in consumers.get(id(op), []) if not is_under(c, node)]
            key = lambda rows: sorted((a.number, b.number, port, control) for a, b, port, control in rows)
            assert key(entering) == key(want_in) and key(leaving) == key(want_out), node.path
            # In the order of the ops inside: consumers (then their inputs), producers (then their consumers).
            assert [b.number for _, b, _, _ in entering] == sorted(b.number for _, b, _, _ in entering)
            assert [a.number for a, _, _, _ in leaving] == sorted(a.number for a, _, _, _ in leaving)
            checked += 1
    assert checked > (1000 if which == "resnet" else 50)
