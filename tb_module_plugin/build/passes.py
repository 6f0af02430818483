"""The build passes: each a named function over the tree (or the ops about to be placed in it), run in order by
builder.py, with the parameters a person could tune in one place (Parameters)."""

from __future__ import annotations

import dataclasses
import itertools
import re
from operator import attrgetter, itemgetter

from ..tree import ops as ops_lib
from .. import schema
from ..tree.scopes import forget_helper_group, is_helper_group, owner_group
from ..tree.hierarchy import Group, free_name


@dataclasses.dataclass(frozen=True)
class Parameters:
    """What the passes take from outside the graph."""

    series_min: int = 5  # numbered sibling ops of one type fold into a series from this many on (as the Graphs
    # dashboard does)
    top_level_max: int = 12  # a top level with more children than this gathers its ops that are in no scope
    max_empty_run: int = 8  # a run of more empty scopes than this in a name (`a//////////b`) is one scope


DEFAULT = Parameters()

_OP_TYPE = attrgetter("type")
_ON_DEVICES = attrgetter("on_devices")
_LAST_CHARACTER = itemgetter(-1)
_IO_OPS = ops_lib.ARG_OPS | ops_lib.VARIABLE_OPS | ops_lib.RETVAL_OPS | {"Placeholder", "Identity", "IdentityN",
                                                                               "NoOp"}
# Ops that pass a variable's handle on to the bodies they run: the op that reads it is in the body.
PASS_THROUGH_OPS = frozenset(ops_lib.CONTROL_FLOW) | ops_lib.CASE_OPS | ops_lib.CALL_OPS
_CONTROL_FLOW_OPS = frozenset(ops_lib.CONTROL_FLOW) | ops_lib.CASE_OPS
_BRANCH_LABELS = {"then", "else", "cond", "body"} | {f"branch_{i}" for i in range(64)}


def op_types(ops: list) -> frozenset:
    return frozenset(map(_OP_TYPE, ops))


def assign_io_roles(ops: list) -> None:
    """Inputs, outputs and variables of the traced function itself (not of the bodies expanded into it)."""
    candidates = {}  # top-level Identity/NoOp ops that may only feed the return values
    for op in itertools.compress(ops, map(_IO_OPS.__contains__, map(_OP_TYPE, ops))):
        if op.function:
            continue
        op_type = op.type
        if op_type in ops_lib.ARG_OPS or op_type == "Placeholder":
            op.role = "variable" if ops_lib.is_resource_input(op.node_def) else "input"
        elif op_type in ops_lib.VARIABLE_OPS:
            op.role = "variable"
        elif op_type in ops_lib.RETVAL_OPS:
            op.role = "output"
        elif op_type in ("Identity", "IdentityN", "NoOp") and "/" not in op.placement:
            candidates[id(op)] = op
    if not candidates:
        return
    has_retvals = any(op.role == "output" for op in ops)
    users: dict = {}
    for op in ops:
        for producer, _, _ in op.inputs:
            if id(producer) in candidates:
                users.setdefault(id(producer), []).append(op)
    changed = True
    while changed:
        changed = False
        for key, op in candidates.items():
            # A function graph without _Retval nodes (a module record's) returns its unused top-level Identity ops.
            if not op.role and (all(u.role == "output" for u in users[key]) if users.get(key) else not has_retvals
                                and op.type != "NoOp"):
                op.role = "output"
                changed = True


def collapse_empty_runs(ops: list, params: Parameters = DEFAULT) -> None:
    """A long run of empty scopes in a placement (more than `max_empty_run`) becomes one scope, `(empty ×9)`: a
    name of n slashes would otherwise be n nested scopes, whose paths (and a node answer's ancestors) grow with n
    squared. The op keeps its own name."""
    run = "/" * (params.max_empty_run + 2)
    runs = re.compile("/{%d,}" % (params.max_empty_run + 2))
    for op in ops:
        if run in op.placement:
            op.placement = runs.sub(lambda m: f"/(empty ×{len(m.group()) - 1})/", op.placement)


def merge_replicas(ops: list) -> None:
    """A distribution strategy's replicas are one model: MirroredStrategy runs replica 0 in the model's own scopes
    and replica 1 in `replica_1/<the same scopes>`, on another device. A scope is a replica's when every op in it
    runs on one device and it holds a scope that is also its sibling (at the top, or in a top-level scope such as
    `gradient_tape`) whose ops run on other devices only. Its ops join the scopes they replicate, their names
    marked with the replica's (`MatMul (replica_1)`); each keeps its device."""
    if not any(map(_ON_DEVICES, set(map(type, ops)))):
        return  # (no op names a device: no scope runs on one of its own)
    placed = {op.placement.rpartition("/")[0] for op in ops}  # (a few hundred scopes for 200,000 ops)
    scopes: set = set()
    for scope in placed:
        while scope and scope not in scopes:
            scopes.add(scope)
            scope = scope.rpartition("/")[0]
    candidates: dict = {}  # (parent scope, replica scope) -> the scopes it holds
    # (from the scopes of up to three levels: a deeper scope adds what its three-level ancestor, also a scope,
    # adds; a million-op graph has a few hundred of those among its 290,000 scopes)
    for scope in [scope for scope in scopes if scope.count("/") < 3]:
        parts = scope.split("/", 3)
        if len(parts) >= 2:
            candidates.setdefault(("", parts[0]), set()).add(parts[1])
        if len(parts) >= 3:
            candidates.setdefault((parts[0], parts[1]), set()).add(parts[2])
    pairs = {}
    for (parent, replica), held in candidates.items():
        prefix = f"{parent}/" if parent else ""
        twins = {prefix + x for x in held if prefix + x in scopes and x != replica}
        if twins:
            pairs[prefix + replica] = twins
    if not pairs:
        return
    devices: dict = {}  # scope -> the devices of its ops
    watched = set(pairs) | {t for twins in pairs.values() for t in twins}
    for op in ops:
        parts = op.placement.split("/", 3)
        for i in (1, 2, 3):
            scope = "/".join(parts[:i])
            if i < len(parts) and scope in watched:
                device = op.node_def.device
                if device:
                    devices.setdefault(scope, set()).add(device)
    apart = {}  # replica scope -> its twins on other devices
    for scope, twins in pairs.items():
        own = devices.get(scope, set())
        if len(own) == 1:
            apart[scope] = [t for t in twins if devices.get(t) and not devices[t] & own]
    # ...and what it holds there mirrors the twin, op for op (not just a name in common, like a layer's `Cast` on
    # another device beside its model's `Cast`).
    held: dict = {}  # scope -> the placements of its ops below it
    wanted = {t for twins in apart.values() for t in twins}
    wanted |= {f"{scope}/{t.rpartition('/')[2]}" for scope, twins in apart.items() for t in twins}
    if wanted:
        for op in ops:
            scope = op.placement
            while "/" in scope:
                scope = scope.rpartition("/")[0]
                if scope in wanted:
                    held.setdefault(scope, set()).add(op.placement[len(scope) + 1:])
    replicas = {}
    for scope, twins in apart.items():
        for twin in twins:
            copy = held.get(f"{scope}/{twin.rpartition('/')[2]}", set())
            if len(copy) > 1 and copy == held.get(twin):
                replicas[scope] = scope.rpartition("/")
                break
    if not replicas:
        return
    for op in ops:
        parts = op.placement.split("/", 2)
        for scope in ("/".join(parts[:2]), parts[0]):
            found = replicas.get(scope) if len(parts) > scope.count("/") + 1 else None
            if found is not None:
                parent, _, name = found
                rest = op.placement[len(scope) + 1:]
                op.placement = f"{parent}/{rest} ({name})" if parent else f"{rest} ({name})"
                break


def is_variable_update(op_type: str) -> bool:
    """An op that writes a variable (an optimizer's `AssignSubVariableOp`, `ResourceApplyAdam`...) rather than
    reads it as a layer does."""
    return op_type.startswith(("Assign", "ResourceApply", "ResourceSparseApply", "ResourceScatter"))


def place_captured_variables(builder, ops: list, captured: list, inputs_name: str, types) -> dict:
    """Nest each captured variable into the module of the op that reads it, not at the top: the op that really
    reads it, past the loops, branches and calls that hand it on to their bodies (the flattened ops' inputs lead
    from a body's reader to the traced function's argument). Its name says nothing: a FunctionDef rewrites every
    character of a scope that is not a letter, digit or `_`. Where several ops read it (a layer reads its kernel,
    an optimizer writes it, a tied layer reads it too), reads count before updates, and the first read in the
    graph's order is the owner's: TensorFlow captures a variable as the first op that uses it is made. Returns
    {id(variable): the ops that take it} (for later_calls.place_later_calls)."""
    if not captured:
        return {}  # (a run graph's variables are ops of their scopes: nothing to look for among 200,000 ops)
    consumers: dict = {}
    for op in ops:
        for producer, _, control in op.inputs:
            if not control and producer.role == "variable" and op.parent is not None:
                consumers.setdefault(id(producer), []).append(op)
    root = builder.root
    helpers: dict = {}  # is_helper_group's answers, forgotten for a group a variable goes into
    for var in captured:
        readers = [r for r in consumers.get(id(var), []) if r.type not in PASS_THROUGH_OPS and r.parent is not root]
        reads = [r for r in readers if not is_variable_update(r.type)] or readers
        owner = next((g for g in (owner_group(r, types, helpers) for r in reads) if g is not root), root)
        if owner is root:
            owner = builder.group(root, inputs_name, role="inputs")
        builder.insert(owner, var.op_name.replace("/", "_"), var)
        forget_helper_group(helpers, var.parent)  # (in `owner`, or in a scope of its named like the variable)
    return consumers


def mark_roles_of_bodies(ops: list) -> None:
    """Groups that hold a control-flow op and its branch bodies say so."""
    for op in itertools.compress(ops, map(_CONTROL_FLOW_OPS.__contains__, map(_OP_TYPE, ops))):  # (read in C)
        group = op.parent
        if group.parent is not None and op.name == f"({group.name})":
            group.role = group.role or "control_flow"
            for child in group.children.values():
                if child.children is not None and child.name in _BRANCH_LABELS:
                    child.role = "branch"


def mark_modules(ops, estimate_params: bool, types, read_shapes: dict | None = None) -> dict:
    """A scope that owns a variable (where its captured handle or VarHandleOp sits) is a module, and so is every
    scope above it but those op helpers open. Scopes that only read a variable owned elsewhere (an optimizer's
    `Cast_7` reading the learning rate, a layer's `Cast` reading its kernel) are not. Where the graph records
    variable shapes, parameter counts are estimated from them (`read_shapes`: ops.read_handle_shapes):
    {group: schema.NodeValues}."""
    estimates: dict = {}
    helpers: dict = {}  # is_helper_group's answers (the tree does not change here)
    for op in ops:
        if op.role != "variable":
            continue
        owner = owner_group(op, types, helpers)
        size = ops_lib.variable_size(op, read_shapes) if estimate_params else None
        group = owner
        while group is not None and group.parent is not None and not group.role:
            if group is not owner and (group.is_op_scope() or is_helper_group(group, types, helpers)):
                group = group.parent
                continue
            marked, group.kind = group.kind == "module", "module"
            if size is not None:
                estimate = estimates.setdefault(group, schema.NodeValues(num_params=0, params_estimated=True))
                estimate["num_params"] += size
            elif marked and group is not owner:
                break  # the scopes above were marked by an earlier variable
            group = group.parent
    return estimates


def fold_series(groups: list, params: Parameters = DEFAULT) -> None:
    """`AddN`, `AddN_1`, ... `AddN_121` under one parent become the series `AddN[0-121]`: ops of one type, or
    groups holding the same names (`Cast`, `Cast_1`, ... each reading the learning rate). `groups` lists each
    group before its children: a group's children are compared by the names they hold before those fold."""
    series_min = params.series_min
    for group in groups:
        children = group.children
        if len(children) < series_min:
            continue
        # A series holds at most one name without a number (`AddN` beside `AddN_1`...): most groups of a big
        # graph have too few numbered names to hold one, and are passed over here.
        if sum(map(str.isdecimal, map(_LAST_CHARACTER, children))) < series_min - 1:  # (read in C)
            continue
        buckets: dict = {}
        for name, child in children.items():
            if child.kind == "module" or name.startswith("("):
                continue  # sibling modules stay visible (repeated structure is marked, not folded)
            base, _, number = name.rpartition("_")
            if not (base and number.isdecimal()):  # int() refuses some isdigit() characters ("²")
                base, number = name, "0"
            shape = child.type if child.children is None else tuple(child.children)
            members = buckets.get((base, shape))
            if members is None:
                buckets[(base, shape)] = [(int(number), name)]
            else:
                members.append((int(number), name))
        for (base, _shape), members in buckets.items():
            if len(members) < series_min:
                continue
            members.sort()
            series = Group(free_name(children, f"{base}[{members[0][0]}-{members[-1][0]}]"), "scope", group,
                           role="series")
            for _, name in members:
                node = children.pop(name)
                node.parent = series
                series.children[name] = node
            children[series.name] = series


def gather_loose_top_level_ops(root: Group, taken: set, params: Parameters = DEFAULT) -> None:
    """A crowded top level (a training step's iteration counter, loss scaling...) keeps its scopes and gathers
    the ops that are in no scope into one group."""
    loose = [name for name, child in root.children.items()
             if (child.role != "variable" if child.children is None else not child.role and child.is_op_scope())]
    if len(root.children) <= params.top_level_max or len(loose) < 2:
        return
    group = Group(reserve(taken, root, "ops_outside_scopes"), "scope", root, role="loose_ops")
    for name in loose:
        group.children[name] = root.children.pop(name)
    root.children[group.name] = group


def reserve(taken: set, root: Group, wanted: str) -> str:
    """A name for a group the plugin adds at the top: not one the top level holds or will hold (`taken`)."""
    name, i = wanted, 1
    while name in taken or name in root.children:
        name, i = f"{wanted}_{i}", i + 1
    taken.add(name)
    return name
