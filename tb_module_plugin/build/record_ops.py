"""Which module of a module record each op of its graph belongs to.

The record says which graph input is which variable, and which ops each module's call created while the function
was traced. Each op goes to the module whose call made it, or to a module below that one whose scope holds it (a
method other than `__call__`, such as a TensorFlow Probability bijector's `inverse`, is not seen being called).
Ops no call claims (records of earlier versions, a SavedModel's functions) go by scope: scopes are strings, so two
modules built with the same name share one (`twin/dense/MatMul` and `twin/dense/MatMul_1`), and Keras 3 scopes
drift from layer names (`seq_1/dense_1_2/`); the ops that read a module's variables find its scope, and where
modules share one, dataflow from their variables decides which ops are whose.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..tree import ops as ops_lib
from ..tree.scopes import common_scope, owner_scope

if TYPE_CHECKING:  # (the annotations only)
    from ..readers import manifest


def place_ops(ops: list, modules: list, variables: list) -> dict:
    """Set each op's placement to its module's tree path (manifest._Module.tree_path); returns {variable index:
    the modules holding it, shallowest first}."""
    holders: dict = {}
    for module in modules:
        for v in module.variables:
            holders.setdefault(v, []).append(module)
    for held in holders.values():
        held.sort(key=lambda m: m.depth)
    op_types = frozenset(op.type for op in ops)
    by_name = {op.op_name: op for op in ops if not op.function}
    variable_of = {}  # id(capture placeholder op) -> variable index
    for i, variable in enumerate(variables):
        op = by_name.get(variable.get("capture"))
        if op is not None and i in holders:
            variable_of[id(op)] = i
    made_by = _calls(ops, modules)
    readers, homes = _readers(ops, variable_of, holders, made_by)
    op_scopes = {op.placement for op in ops}
    _find_scopes(modules, ops, readers, made_by, op_scopes, op_types)
    _find_parameter_free_scopes(modules, op_scopes)
    _place(ops, modules, variables, variable_of, homes, readers, made_by)
    return holders


def _calls(ops: list, modules: list) -> dict:
    """id(op) -> the module whose call made it (the record's `calls`, by function and op name)."""
    owner = {}
    for module in modules:
        for function, names in module.calls.items():
            for op_name in names:
                owner[(function, op_name)] = module
    if not owner:
        return {}
    return {id(op): owner[(op.function, op.op_name)] for op in ops if (op.function, op.op_name) in owner}


def _readers(ops: list, variable_of: dict, holders: dict, made_by: dict) -> tuple:
    """({id(module): the ops that read its variables directly}, {variable index: the module its graph input sits
    in}); see _home for a variable several modules hold."""
    readers: dict = {}
    homes: dict = {}
    for op in ops:
        for producer, _, control in op.inputs:
            variable = variable_of.get(id(producer))
            if variable is not None and not control and op.type not in ops_lib.CALL_OPS:
                home = _home(holders[variable], made_by.get(id(op)))
                readers.setdefault(id(home), []).append(op)
                homes.setdefault(variable, home)
    for variable in variable_of.values():
        homes.setdefault(variable, holders[variable][-1])
    return readers, homes


def _home(held: list, maker) -> "manifest._Module":
    """Which of the modules holding a variable (shallowest first) an op reading it belongs to, when `maker`'s call
    made the op: the deepest holder below `maker` whose own call was not seen (it read the variable in a method,
    like a TensorFlow Probability bijector whose flow holds the same variable); else the deepest holder that is
    `maker` or above it (tied embeddings: each layer's call reads the one variable); else the deepest holder."""
    if maker is None:
        return held[-1]
    ancestors = {}
    module = maker
    while module is not None:
        ancestors[id(module)] = module
        module = module.parent_module
    for module in reversed(held):
        if not module.calls and id(maker) in _ancestor_ids(module) and module is not maker:
            return module
    for module in reversed(held):
        if id(module) in ancestors:
            return module
    return held[-1]


def _ancestor_ids(module) -> set:
    out = set()
    while module is not None:
        out.add(id(module))
        module = module.parent_module
    return out


def _find_scopes(modules: list, ops: list, readers: dict, made_by: dict, op_scopes: set, op_types) -> None:
    """Each module's scope in the graph: where most ops its call made sit, else where its variables are read,
    else above its children's scopes (a container)."""
    made: dict = {}
    for op in ops:
        maker = made_by.get(id(op))
        if maker is not None:
            made.setdefault(id(maker), []).append(op)
    for module in reversed(list(modules[0].subtree())):  # children before their parents
        own = made.get(id(module)) or readers.get(id(module))
        if own:
            scopes = [owner_scope(op.placement, op_scopes, op_types) for op in own]
            module.scope = _most_common(scopes) or None
            if id(module) not in made:  # each outermost scope its variables are read in
                module.scopes = [s for s in dict.fromkeys(scopes) if s and not any(
                    s.startswith(t + "/") for t in scopes if t)]
            continue
        child_scopes = [c.scope for c in module.children if c.scope]
        common = common_scope(child_scopes)
        if common is not None and common in child_scopes:  # a container sits above its children
            common = common.rpartition("/")[0]
        module.scope = common or None
    for module in modules:
        if module.scope and not module.scopes:
            module.scopes = [module.scope]


def _most_common(scopes: list) -> str | None:
    counts: dict = {}
    for scope in scopes:
        counts[scope] = counts.get(scope, 0) + 1
    return min(counts, key=lambda s: (-counts[s], s.count("/"), s)) if counts else None


_NUMBERED = re.compile(r"(?:_\d+)+")


def _find_parameter_free_scopes(modules: list, op_scopes: set) -> None:
    """A module no call, variable or child placed (a parameter-free layer of a record without calls) takes the
    unclaimed scope below its parent's that bears its name, with the numbers Keras and TensorFlow add
    (`add` -> `add_1`; `dense_1` -> `dense_1_2`)."""
    claimed = {scope for m in modules for scope in m.scopes}
    segments: dict = {}  # scope -> its child scopes, in graph order
    for placement in op_scopes:
        parts = placement.split("/")
        for i in range(1, len(parts)):
            segments.setdefault("/".join(parts[:i - 1]), {}).setdefault(parts[i - 1], None)
    for module in modules:  # (parents before children: a parent's scope is found first)
        parent = module.parent_module
        if module.scope or parent is None or parent.scope is None:
            continue
        candidates = [s for s in segments.get(parent.scope, {}) if s == module.name or (
            s.startswith(module.name) and _NUMBERED.fullmatch(s[len(module.name):]))]
        for segment in sorted(candidates, key=lambda s: (s != module.name, len(s), s)):
            scope = f"{parent.scope}/{segment}" if parent.scope else segment
            if scope not in claimed:
                module.scope, module.scopes = scope, [scope]
                claimed.add(scope)
                break


def _place(ops: list, modules: list, variables: list, variable_of: dict, homes: dict, readers: dict,
               made_by: dict) -> None:
    """Move each op under the module that owns it: the one whose call made it (or a module below it whose scope
    holds it), else its scope's module, or among modules sharing that scope, the one whose variables its data
    comes from. A variable's graph input goes to the module it belongs to (_readers)."""
    by_scope: dict = {}
    for module in modules:
        for scope in module.scopes:
            by_scope.setdefault(scope, []).append(module)
    shared_owner = _attribute_shared_scopes(ops, by_scope, readers)
    for op in ops:
        variable = variable_of.get(id(op))
        if variable is not None:
            op.placement = f"{homes[variable].tree_path}/{_short_name(variables[variable].get('name', op.op_name))}"
            continue
        maker = made_by.get(id(op))
        if maker is not None:
            module = _deepest_scope_holder(maker, op.placement)
            scope = next((s for s in module.scopes if op.placement.startswith(s + "/")), module.scope)
            op.placement = f"{module.tree_path}/{_relative_to(op.placement, scope)}"
            continue
        scope = op.placement.rpartition("/")[0]
        while scope and scope not in by_scope:
            scope = scope.rpartition("/")[0]
        if not scope:
            continue
        candidates = by_scope[scope]
        module = candidates[0] if len(candidates) == 1 else shared_owner.get(id(op), candidates[0])
        op.placement = f"{module.tree_path}/{op.placement[len(scope) + 1:]}"


def _deepest_scope_holder(maker: "manifest._Module", placement: str) -> "manifest._Module":
    """`maker`, or the deepest module below it that no call of its own was seen for and whose scope holds
    `placement` (its method ran inside `maker`'s call)."""
    best = maker
    stack = list(maker.children)
    while stack:
        module = stack.pop()
        if not module.calls and _holds(module, placement) and (best is maker or module.depth > best.depth):
            best = module
        stack.extend(module.children)
    return best


def _holds(module: "manifest._Module", placement: str) -> bool:
    return any(placement.startswith(scope + "/") for scope in module.scopes)


def _relative_to(placement: str, scope: str | None) -> str:
    """`placement` below `scope`; outside it, what follows the scopes the two share."""
    if scope and placement.startswith(scope + "/"):
        return placement[len(scope) + 1:]
    parts, other = placement.split("/"), (scope or "").split("/")
    i = 0
    while i < min(len(parts) - 1, len(other)) and parts[i] == other[i]:
        i += 1
    return "/".join(parts[i:]) if scope else parts[-1]


def _attribute_shared_scopes(ops: list, by_scope: dict, readers: dict) -> dict:
    """id(op) -> module, for ops in a scope that several modules share: each op goes to the module whose variable
    reads reach it first along the dataflow (breadth first from all modules at once, forward, then backward for
    what only feeds them, like constants)."""
    shared = {scope: mods for scope, mods in by_scope.items() if len(mods) > 1}
    if not shared:
        return {}
    owner: dict = {}
    frontier = []
    for mods in shared.values():
        for module in mods:
            for op in readers.get(id(module), []):
                if id(op) not in owner:
                    owner[id(op)] = module
                    frontier.append(op)
    consumers: dict = {}
    for op in ops:
        for producer, _, _ in op.inputs:
            consumers.setdefault(id(producer), []).append(op)
    for neighbours in (lambda op: consumers.get(id(op), []), lambda op: [p for p, _, _ in op.inputs]):
        level = list(frontier)
        while level:
            following = []
            for op in level:
                module = owner[id(op)]
                for other in neighbours(op):
                    if id(other) not in owner and _holds(module, other.placement):
                        owner[id(other)] = module
                        following.append(other)
            level = following
        frontier = [op for op in ops if id(op) in owner]
    return owner


def _short_name(variable_name: str) -> str:
    """`twin/dense/kernel:0` -> `kernel`."""
    return str(variable_name).rsplit("/", 1)[-1].split(":", 1)[0] or "variable"

