"""Structure signatures: one number per node of a built tree, equal across two graphs for subtrees of the same
structure (class, op types, parameter shapes, the children's signatures; names and values aside).

tree.Hierarchy.structure_of numbers structures per graph (its numbers mean nothing in another graph); these are
hashes of the same kind of key, so two trees built in one process compare. Computed once per graph, bottom-up
and without recursion (scopes nest thousands deep), kept beside the hierarchy (a weak map: dropped with it)."""

from __future__ import annotations

import threading
import weakref

from .. import ops as ops_lib

_SIGNATURES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # hierarchy -> {id(node): signature}
_LOCK = threading.Lock()


def signatures(h) -> tuple:
    """({id(node): structure signature}, {id(node): exact signature}) of every node of hierarchy `h` (made once).
    The exact signature adds names, recorded facts and each op's NodeDef: two subtrees with equal exact signatures
    hold the same thing (a comparison need not walk them)."""
    with _LOCK:
        found = _SIGNATURES.get(h)
        if found is None:
            found = _SIGNATURES[h] = _compute(h)
    return found


def _compute(h) -> tuple:
    structure: dict = {}
    exact: dict = {}
    op_keys: dict = {}  # op type -> its signature (a variable's adds its shape)
    values = h.values or {}
    # all_nodes lists each group before its children: reversed, every child is signed before its parent.
    for node in reversed(h.all_nodes):
        key = id(node)
        if node.children is None:
            if node.role == "variable":
                structure[key] = hash(("op", node.type, variable_dims(node)))
            else:
                sig = op_keys.get(node.type)
                if sig is None:
                    sig = op_keys[node.type] = hash(("op", node.type, ()))
                structure[key] = sig
            exact[key] = hash((node.name, node.role, raw_node_def(node)))
        else:
            facts = node.facts or {}
            children = node.children.values()
            structure[key] = hash((node.kind, node.role, facts.get("class_name"),
                                   tuple(sorted([structure[id(c)] for c in children])),
                                   tuple(str(v.get("shape")) for v in facts.get("variables", ()))))
            exact[key] = hash((node.name, structure[key], repr(facts) if facts else "",
                               repr(values.get(node.path)) if values else "",
                               tuple(sorted([exact[id(c)] for c in children]))))
    return structure, exact


def raw_node_def(op) -> bytes:
    """The op's NodeDef as bytes (as kept: a lean GraphDef's or compacted; a parsed one serialized)."""
    node_def = op._node_def
    if node_def.__class__ is bytes:
        return node_def
    if node_def.__class__ is tuple:
        nodes, index = node_def
        return bytes(nodes[index])
    return node_def.SerializeToString(deterministic=True)


def variable_dims(op):
    """A variable op's dimensions as its graph records them (None: not recorded)."""
    try:
        return ops_lib.variable_dims(op)
    except (AttributeError, ValueError):  # (a damaged NodeDef: no shape to compare)
        return None
