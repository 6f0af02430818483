"""Building the module tree of a flattened graph: the build passes (passes.py) in the order they run, and the
placing of ops at their '/'-separated placements (TreeBuilder)."""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from operator import attrgetter, itemgetter
from sys import intern

from . import backward
from ..readers import graph as graph_lib
from ..tree import ops as ops_lib
from . import later_calls, passes
from ..tree.hierarchy import Group, Hierarchy, free_name

_PLACEMENT, _FIRST = attrgetter("placement"), itemgetter(0)


def build_graph_hierarchy(flat: graph_lib.FlatGraph, name: str, modules: dict | None = None, values: dict | None = None,
                          params: passes.Parameters = passes.DEFAULT) -> Hierarchy:
    """The module tree of a traced function (see docs/api.md for the rules a person sees).

    `modules` ({path: schema.ModuleFacts}) names groups known to be modules from a module record; they exist even
    without ops, and carry their class, attribute path and variables; `values` ({path: schema.NodeValues}) their
    parameters. The ops of `flat` become this tree's leaves (a flattened graph builds one tree)."""
    ops = flat.ops
    if ops and ops[0].parent is not None:
        raise ValueError("These ops are the leaves of another tree already: flatten the graph again.")
    others = [op for _, function_ops in flat.other_functions for op in function_ops]
    root = Group(name, "scope", None)
    builder = TreeBuilder(root)
    if not modules:  # (a module record's ops were merged before they went to their modules)
        passes.merge_replicas(ops)
    passes.assign_io_roles(ops)
    passes.collapse_empty_runs(ops + others, params)
    # The names the top level will hold (a leading "/" makes no scope: `/a/b` sits in `a`): the groups made here
    # take others.
    taken = set(map(_FIRST, map(str.partition, map(_PLACEMENT, ops), repeat("/"))))  # (in C: a million ops)
    if "" in taken:
        taken.discard("")
        taken.update(op.placement.lstrip("/").partition("/")[0] for op in ops if not op.placement.partition("/")[0])
    io_names = {role: passes.reserve(taken, root, wanted) for role, wanted in (("input", "inputs"),
                                                                             ("output", "outputs"))}
    captured = []

    def divert(op) -> bool:
        if op.role in io_names:
            group = builder.group(root, io_names[op.role], role=op.role + "s")
            builder.insert(group, op.op_name.replace("/", "_"), op)
            return True
        if op.role == "variable" and op.type in ops_lib.ARG_OPS and not modules:
            captured.append(op)
            return True
        return False

    builder.insert_all(root, ops, divert)
    types = passes.op_types(ops)
    consumers = passes.place_captured_variables(builder, ops, captured, io_names["input"], types)
    if flat.other_functions or flat.eager_ops:
        # Graphs of earlier work and of eager ops, recorded by the same trace: kept, out of the way.
        functions = builder.group(root, passes.reserve(taken, root, "other_functions"), role="functions")
        for label, function_ops in flat.other_functions:
            holder = builder.group(functions, free_name(functions.children, label), role="function")
            builder.insert_all(holder, function_ops)
        if flat.eager_ops:
            eager = builder.group(functions, free_name(functions.children, "eager_ops"), role="eager_ops")
            builder.insert_all(eager, flat.eager_ops)
    listed = []  # the module groups, in the record's order
    for path, facts in (modules or {}).items():
        group = root
        for segment in path.split("/"):
            group = builder.group(group, segment)
        group.kind, group.facts = "module", facts
        listed.append(group)
    _list_modules_in_record_order(listed)
    placed = ops + others + flat.eager_ops
    passes.mark_roles_of_bodies(placed)
    read_shapes = ops_lib.read_handle_shapes(ops) if not modules else None  # (a run graph's captured variables)
    estimates = passes.mark_modules(placed, estimate_params=not modules, types=types, read_shapes=read_shapes)
    moved = later_calls.place_later_calls(builder, consumers, captured, types)
    backward_groups = backward.place_backward_ops(builder, root, moved)
    passes.fold_series(builder.groups, params)
    passes.gather_loose_top_level_ops(root, taken, params)
    hierarchy = Hierarchy(root)
    hierarchy.backward_holders = backward.holder_ids(backward_groups)  # (after the passes, which may fold above one)
    # (counted by class, which says it: a million ops' attribute read one by one took 0.1 s)
    hierarchy.unexpanded_ops = sum(n for cls, n in Counter(map(type, placed)).items() if cls.not_expanded)
    hierarchy.values = dict(values or {}) if modules else {group.path: v for group, v in estimates.items()}
    hierarchy.traced_ops = len(ops)
    hierarchy.read_shapes = read_shapes or {}
    return hierarchy


def _list_modules_in_record_order(listed: list) -> None:
    """Lists a group's module children in the record's order (`listed`: a Keras model's own order of layers, a
    tf.Module's attributes as assigned), before its other children (in the graph's order): the order the tree
    keeps where data flow between them does not decide (edges.data_flow_order). A layer without ops (a Dropout
    at inference) would otherwise come last, after every layer the graph placed ops in."""
    rank = {id(group): i for i, group in enumerate(listed)}
    parents = {id(group.parent): group.parent for group in listed if group.parent is not None}
    for group in parents.values():
        children = group.children
        modules = sorted((c for c in children.values() if id(c) in rank), key=lambda c: rank[id(c)])
        group.children = {c.name: c for c in modules}
        group.children.update((name, c) for name, c in children.items() if id(c) not in rank)


class TreeBuilder:
    """Places ops at their '/'-separated placements, making the scopes' groups on the way."""

    def __init__(self, root: Group):
        self.root = root
        self._scopes: dict = {}  # id(parent) -> {"a/b": group}: most ops share their scope with a sibling
        self.groups = [root]  # every group, each after its parent

    def group(self, parent: Group, name: str, role: str = "") -> Group:
        """The child group `name` of `parent`, created if needed; an op already there moves into it."""
        existing = parent.children.get(name)
        if existing is not None and existing.children is not None:
            return existing
        group = Group(name, "scope", parent, role=role)
        self.groups.append(group)
        if existing is not None:  # an op whose name is also a scope prefix keeps its own node inside
            del parent.children[name]
            existing.name = free_name(group.children, f"({name})")
            existing.parent = group
            group.children[existing.name] = existing
        parent.children[name] = group
        return group

    def _scope_group(self, parent: Group, scope: str) -> Group:
        """The group of a '/'-separated scope below `parent`, found from its parent scope's group (cached)."""
        scopes = self._scopes.setdefault(id(parent), {})
        group = scopes.get(scope)
        if group is not None:
            return group
        outer, _, last = scope.rpartition("/")
        group = scopes.get(outer) if outer else parent
        if group is not None:  # (the common case: a new scope in a known one)
            group = scopes[scope] = self.group(group, intern(last) or "(empty)")
            return group
        missing = [scope]  # this scope and its outer scopes up to the first one already known (no recursion:
        outer = scope  # scopes may nest a thousand deep)
        while True:
            outer = outer.rpartition("/")[0]
            group = scopes.get(outer) if outer else parent
            if group is not None:
                break
            missing.append(outer)
        for name in reversed(missing):
            group = self.group(group, intern(name.rpartition("/")[2]) or "(empty)")
            scopes[name] = group
        return group

    def insert(self, parent: Group, placement: str, op) -> None:
        """Put an op at its '/'-separated placement below `parent`."""
        scope, _, leaf = placement.rpartition("/")
        if scope:
            parent = self._scope_group(parent, scope)
        name = leaf or "(empty)"
        existing = parent.children.get(name)
        if existing is not None:
            if existing.children is not None:  # the op of a scope named like it
                parent, name = existing, f"({name})"
            name = free_name(parent.children, name)
        op.name, op.parent = name, parent
        parent.children[name] = op

    def insert_all(self, parent: Group, ops, divert=None) -> None:
        """`insert` for many ops (the hot loop of a build: a million ops take most of a second). Ops with a role
        are offered to `divert` first, which returns True for those it placed elsewhere."""
        scopes = self._scopes.setdefault(id(parent), {})
        heads = {}  # scope -> the scope and "/", one string for its ops' names (see ops.PlacedTableOp)
        # The ops of a scope mostly come one after another: the last scope's group, head and children are kept,
        # not looked up again for each of its ops.
        last = group = head = children = None
        for op, (scope, slash, leaf) in zip(ops, map(str.rpartition, map(_PLACEMENT, ops), repeat("/"))):
            if op.role and divert is not None and divert(op):
                continue
            if scope != last or not scope:  # (no scope: "a" and "/a" differ in their head)
                group = scopes.get(scope) if scope else parent
                if group is None:
                    group = self._scope_group(parent, scope)  # a new scope
                head = heads.get(scope) if slash else ""
                if head is None:
                    head = heads[scope] = scope + slash
                children, last = group.children, scope
            leaf = intern(leaf)  # (one string for the thousands of ops named `MatMul`, `add`...: 50 MB of a million)
            placed = op.placed
            if placed is not None and op.placement is op.op_name:  # (an op of a lean table, where its name says)
                op.placement, op.op_name, op.__class__ = head, leaf, placed
            if leaf and children.setdefault(leaf, op) is op:  # (the common case: a new name in its scope)
                op.name, op.parent = leaf, group
                continue
            existing = children.get(leaf)
            if existing is not None and existing.children is not None and leaf:
                # The op of a scope named like it (`mul` beside `mul/y`: one in every step of a big graph) goes
                # inside it as `(mul)`, as insert puts it.
                name = intern(f"({leaf})")
                if name in existing.children:
                    name = free_name(existing.children, name)
                op.name, op.parent = name, existing
                existing.children[name] = op
                continue
            self.insert(parent, op.placement, op)  # clashes and empty names
