"""A module called more than once in a trace: its later calls' scopes, which the graph shows to be calls of it (the
same variables read, the same ops made), moved into it, as a module record shows them (build.builder runs this
once the modules are marked, before the backward pass)."""

from __future__ import annotations

from ..tree.hierarchy import free_name, ops_under
from ..tree.scopes import owner_group
from .passes import PASS_THROUGH_OPS, is_variable_update


def place_later_calls(builder, consumers: dict, captured: list, types) -> dict:
    """A module called more than once in a trace (a layer shared by two branches, applied in a Python loop) made a
    scope per call, and its variables sit in the first call's (place_captured_variables). A later call's scope
    moves into the module, as a module record shows it (`shared_1/shared_3`), where the graph says it is one: a
    plain scope whose ops take every variable the module holds and no other, and make the same ops as the
    module's own (by type, counted), beside the module or in a scope that is itself a later call of the module
    holding it (a shared sub-model's: `enc_3/d1_1` goes into `enc_1/d1_1` as `enc_3/d1_1`, and what `enc_3` holds
    besides into `enc_1`; deeper, under the outermost call's name only). A scope reading one variable of another layer (a tied embedding's logits), or doing
    other work with it, stays where it is. Runs once modules are marked. Returns {(id(parent), name): the moved
    scope} for the backward pass, whose gradient ops still name the scope where it was."""
    held: dict = {}  # id(module) -> (module, {id(variable)}) of the modules holding captured variables
    for var in captured:
        module = var.parent
        if module is not None and module.kind == "module" and module.parent is not None:
            held.setdefault(id(module), (module, set()))[1].add(id(var))
    evidence = _CallEvidence()
    helpers: dict = {}
    accepted = []  # (later call's scope, module)
    for module, variables in held.values():
        scopes: dict = {}  # id(scope) -> (scope, {id(variable) its own ops read})
        for var_id in variables:
            for reader in consumers.get(var_id, ()):
                if reader.type in PASS_THROUGH_OPS or is_variable_update(reader.type):
                    continue
                scope = owner_group(reader, types, helpers)
                if scope is not module:
                    scopes.setdefault(id(scope), (scope, set()))[1].add(var_id)
        accepted += [(scope, module) for scope, read in scopes.values()
                     if read == variables and evidence.later_call(scope, module)]
    if not accepted:
        return {}
    # The scopes of shared sub-models the accepted calls sit in: their leftovers (what no module below took) too.
    pairs = {id(scope): (scope, module) for scope, module in accepted}
    for scope, module in accepted:
        while scope.parent is not module.parent:
            scope, module = scope.parent, module.parent
            pairs.setdefault(id(scope), (scope, module))
    depth = {}
    for key, (scope, _) in pairs.items():
        node, d = scope, 0
        while node.parent is not None:
            node, d = node.parent, d + 1
        depth[key] = d
    moved: dict = {}
    for key in sorted(pairs, key=depth.get, reverse=True):  # (the deepest first: a sub-model's scope empties)
        scope, module = pairs[key]
        parent, name = scope.parent, scope.name
        top, outer, outer_module = None, parent, module.parent
        while outer is not outer_module:  # (in a sub-model's later call: the outermost call's scope names it)
            top, outer, outer_module = outer, outer.parent, outer_module.parent
        del parent.children[name]
        moved[(id(parent), name)] = scope
        if not _holds_ops(scope):
            scope.parent = module  # (emptied: out of the tree, its module still found from its gradients' names)
            continue
        target = module if top is None else builder.group(module, top.name)
        scope.name, scope.parent = free_name(target.children, name), target
        target.children[scope.name] = scope
        stack = [scope]
        while stack:  # (paths made before the move name the old place)
            group = stack.pop()
            group._path = None
            stack.extend(c for c in group.children.values() if c.children is not None)
    return moved


class _CallEvidence:
    """Whether a scope is a later call of a module (place_later_calls), each pair judged once."""

    def __init__(self):
        self._known: dict = {}
        self._counts: dict = {}

    def later_call(self, scope, module) -> bool:
        """Whether `scope` is a later call of `module`: it does the same work, beside it or in a later call of the
        module holding it (judged up to their common parent, without recursion: scopes may nest deep)."""
        chain = []  # the pairs from (scope, module) up, not judged yet
        while True:
            known = self._known.get((id(scope), id(module)))
            if known is not None:
                break
            if not (scope.kind != "module" and not scope.role and scope.children is not None
                    and not scope.is_op_scope() and module.kind == "module" and scope.parent is not None
                    and module.parent is not None):
                known = self._known[(id(scope), id(module))] = False
                break
            chain.append((scope, module))
            if scope.parent is module.parent:
                known = True  # (nothing above to judge)
                break
            scope, module = scope.parent, module.parent
        for scope, module in reversed(chain):
            known = known and self._op_types(scope) == self._op_types(module) and _variables_taken(scope) == {
                id(op) for op in ops_under(module) if op.role == "variable"}
            self._known[(id(scope), id(module))] = known
        return known

    def _op_types(self, group) -> dict:
        """{op type: how many} of the ops below `group` but its variables, inputs and outputs."""
        counts = self._counts.get(id(group))
        if counts is None:
            counts = self._counts[id(group)] = {}
            for op in ops_under(group):
                if not op.role:
                    counts[op.type] = counts.get(op.type, 0) + 1
        return counts


def _variables_taken(group) -> set:
    return {id(producer) for op in ops_under(group) for producer, _, control in op.inputs
            if not control and producer.role == "variable"}


def _holds_ops(group) -> bool:
    return next(ops_under(group), None) is not None
