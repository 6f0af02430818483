"""What a served graph does after its first answer, in the background."""

from __future__ import annotations

from ..measures.costs import count_costs
from ..tree.ops import pack_node_defs
from . import search


def settle(hierarchy, after_an_answer: bool = False) -> None:
    """File the edges inside groups and number the structure of every subtree, which the first expansion of a
    module with many same-sized children (48 blocks of 4,200 ops) needs and would otherwise wait for (first: that
    expansion may come soon), put every group's children in flow order (an expansion orders its own group), count
    the costs, keep lean GraphDefs' NodeDefs compressed (tree.ops.pack_node_defs), make the search index, then let
    the parsed protobuf go (see tree.ops.Op.compact; answers stay the same). Before each step, the answers being
    made go first (`after_an_answer`: once one has been made: the first); an answer needing a step not done yet
    does it."""
    hierarchy.turns.let_answers_go_first(first=after_an_answer)
    if hierarchy.turns.dropped:
        return
    hierarchy.file_inner_edges()
    for step in (lambda: hierarchy.structure_of(hierarchy.root), hierarchy.file_edges, lambda: count_costs(hierarchy),
                 # (after the costs: they read every NodeDef, and would decompress them all)
                 lambda: pack_node_defs(hierarchy.all_nodes),
                 lambda: search.index_of(hierarchy)):
        hierarchy.turns.let_answers_go_first()
        if hierarchy.turns.dropped:  # (the cache let it go: nothing will read what is left to do)
            return
        step()
    for node in hierarchy.all_nodes:
        if node.children is None:
            node.compact()
