"""Structure signatures: one number per node of a built tree, equal across two graphs for subtrees of the same
structure (class, op types, parameter shapes, the children's signatures; names and values aside).

tree.Hierarchy.structure_of numbers structures per graph (its numbers mean nothing in another graph); these are
hashes of the same kind of key, so two trees built in one process compare. Computed once per graph, bottom-up
and without recursion (scopes nest thousands deep), kept on the hierarchy (`signatures`, made by Hierarchy.kept
under that graph's own lock: signing one big graph holds up no comparison of other graphs)."""

from __future__ import annotations

from ..tree import ops as ops_lib
from ..tree.hierarchy import ops_under

INPUT_OPS = ops_lib.ARG_OPS | {"Placeholder"}


def signatures(h) -> tuple:
    """({id(node): structure signature}, {id(node): exact signature}, {id(node): loose signature}) of every node
    of hierarchy `h` (made once). The exact signature adds names, recorded facts and each op's NodeDef: two
    subtrees with equal exact signatures hold the same thing (a comparison need not walk them). The loose one
    keeps only op types and nesting, for records that say different things of one model (a trace records no
    classes and no variable shapes, a module record both)."""
    return h.kept("signatures", lambda: _compute(h))


def _compute(h) -> tuple:
    structure: dict = {}
    exact: dict = {}
    loose: dict = {}
    op_keys: dict = {}  # op type -> (its structure signature, its loose one); a variable's adds its shape
    # all_nodes lists each group before its children: reversed, every child is signed before its parent.
    for node in reversed(h.all_nodes):
        key = id(node)
        children = node.children
        if children is None:
            keys = op_keys.get(node.type)
            if keys is None:
                kind = op_kind(node)
                keys = op_keys[node.type] = (hash(("op", kind, ())), hash(kind))
            structure[key] = hash(("op", op_kind(node), variable_dims(node, h))) if node.role == "variable" else keys[0]
            loose[key] = keys[1]
            exact[key] = hash((node.name, node.role, node.serialized_node_def()))
        else:
            facts = node.facts
            ids = [id(c) for c in children.values()]
            structure[key] = hash((node.kind, node.role, facts.get("class_name") if facts else None,
                                   tuple(sorted([structure[i] for i in ids])),
                                   tuple(str(v.get("shape")) for v in facts.get("variables", ())) if facts else ()))
            # (a node's values, its parameters, follow from the variables its facts and ops hold)
            exact[key] = hash((node.name, structure[key], repr(facts) if facts else "",
                               tuple(sorted([exact[i] for i in ids]))))
            loose[key] = hash((node.role, tuple(sorted([loose[i] for i in ids]))))
    return structure, exact, loose


def op_kind(op) -> str:
    """An op's type as two graphs compare it: a graph's input is an `_Arg` in a function (a trace) and a
    `Placeholder` in a graph (a module record, a run graph)."""
    return "_Arg" if op.type in INPUT_OPS else op.type


def variable_dims(op, h=None):
    """A variable op's dimensions as its graph (`h`: its Hierarchy) records them (None: not recorded)."""
    try:
        return ops_lib.variable_dims(op, h.read_shapes if h is not None else None)
    except (AttributeError, ValueError):  # (a damaged NodeDef: no shape to compare)
        return None


def op_types(group) -> dict:
    """How many ops of each kind a group holds (an input is one kind, whichever op type the record gives it)."""
    counts: dict = {}
    for op in ops_under(group):
        kind = op_kind(op)  # (an input: _Arg in a trace, Placeholder in a graph; no change)
        counts[kind] = counts.get(kind, 0) + 1
    return counts
