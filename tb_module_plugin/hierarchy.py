"""The module tree: ops grouped by name scope, with the rules that make a traced tf.Module readable.

Built once per graph from `graph.FlatGraph` (or by `keras_model` from a Keras model's JSON) and then only
read: every API answer (`hierarchy`, `node`, `search`) is a walk over this tree.
"""

from __future__ import annotations

import itertools
import re
import threading
from operator import attrgetter

from . import graph as graph_lib
from . import search as search_lib
from .attrs import format_attrs
from .tree import TreeNode

# Sibling ops of one type with numbered names fold into a series from this many on (as the Graphs dashboard does).
SERIES_MIN = 5
# A top level with more children than this gathers its ops that are in no scope into one group.
TOP_LEVEL_MAX = 12
MAX_DEPTH = 8
# Inputs/outputs listed in a `node` answer; the rest is counted.
MAX_DETAIL_ENDS = 200
# Groups whose `node` answer a hierarchy keeps (each is at most 2 x MAX_DETAIL_ENDS rows).
MAX_REMEMBERED_DETAILS = 256



class NotFound(Exception):
    """No node at that path; the message is meant for the user."""


class Node(TreeNode):
    """A group of the tree: a module, scope or synthetic group (its ops are graph.Op leaves)."""

    __slots__ = ("kind", "role", "children", "num_ops", "edges", "extra")

    def __init__(self, name: str, kind: str, parent: "Node | None", role: str = ""):
        self.name = name
        self.kind = kind
        self.role = role
        self.parent = parent
        self.children = {}
        self._path = None if parent is not None else ""  # see `path`
        self.depth = 0
        self.num_ops = 0
        self.edges = None  # between children: {(child, child): [count, control, ...]} (_distribute_edges), then JSON
        self.extra = None  # more JSON fields (Keras layer config, module records)
        self.structure = None  # see Hierarchy._structure
        self.top = None  # its ancestor (or itself) among the root's children, set by _finalize

    def is_op_scope(self) -> bool:
        """A scope named after an op of the same name (`dense/MatMul` holding `(MatMul)`)."""
        return f"({self.name})" in self.children


def _clean_segment(segment: str) -> str:
    return segment if segment else "(empty)"


class Hierarchy:
    """A built tree and the answers the API gives from it."""

    def __init__(self, root: Node, op_graph: bool = True):
        self.root = root
        self.op_graph = op_graph  # ops with dataflow (else: a Keras layer tree, its edges set by its builder)
        self._consumers = None
        self._interned: dict = {}  # structure key -> number (see _structure)
        self._numbers = itertools.count()  # (next() is atomic: requests may number structures at once)
        self._group_details: dict = {}  # group -> its `node` answer
        self.all_nodes: list = []
        self.record_bytes = 0  # size of the record it was built from: its parsed protobuf lives on in the ops
        self.search_index = None  # search.SearchIndex, made by settle (or by the first regular-expression search)
        self.search_lock = threading.Lock()
        ops = _finalize(root, self.all_nodes)
        # The first answer draws the root's edges: those are filed now, the edges inside groups when first needed
        # (file_edges; settle does it in the background). Only op graphs have edges to file (a Keras layer tree's
        # are set by its builder).
        self._unfiled = ops if op_graph else None
        self._filing = threading.Lock()
        if op_graph:
            _distribute_edges(self._unfiled, at_root=True)

    def settle(self) -> None:
        """After the first answer, in the background: file the edges inside groups and number the structure of
        every subtree, which the first expansion of a module with many same-sized children (48 blocks of 4,200
        ops) would otherwise do while the person waits (first: that expansion may come soon), make the search
        index, then let the parsed protobuf go (see graph.Op.compact; answers stay the same)."""
        self.file_edges()
        self._structure(self.root)
        search_lib.index_of(self)
        for node in self.all_nodes:
            if node.children is None:
                node.compact()

    def estimated_bytes(self) -> int:
        """Rough memory of the tree and the protobufs its ops keep, for the cache's bound."""
        return 4096 + 1200 * len(self.all_nodes) + self.record_bytes

    # -- lookups --
    def find(self, path: str) -> Node:
        node = self.root
        if path == "":
            return node
        for segment in path.split("/"):
            children = node.children
            if not children or segment not in children:
                raise NotFound(f"There is no node {path!r} in this graph.")
            node = children[segment]
        return node

    def file_edges(self) -> None:
        """File every op edge into the group whose two children it joins (once; requests wait for it)."""
        with self._filing:
            if self._unfiled is not None:
                _distribute_edges(self._unfiled, at_root=False)
                self._unfiled = None

    def group_edges(self, group: Node) -> list:
        """The group's edges as JSON; dtypes and shapes are looked up only now, for the groups people open."""
        if group is not self.root:
            self.file_edges()
        if group.edges is None:
            group.edges = []
        elif isinstance(group.edges, dict):
            group.edges = [_edge_json(a, b, edge) for (a, b), edge in group.edges.items()]
        return group.edges

    # -- answers --
    def node_json(self, path: str, depth: int) -> dict:
        return self._json(self.find(path), depth)

    def _json(self, node: Node, depth: int) -> dict:
        out = {"path": node.path, "name": node.name, "kind": node.kind}
        if node.children is None:
            if node.role == "variable":  # (an op's other roles say which group it is in)
                out["role"] = node.role
            out["op"] = node.type
            out["num_ops"] = 1
            node_def = node.node_def
            out["device"] = node_def.device
            out["inputs"] = [{"path": p.path, "port": port, "control": control}
                             for p, port, control in node.inputs]
            out["attrs"] = format_attrs(node_def.attr)
        else:
            if node.role:
                out["role"] = node.role
            out["num_ops"] = node.num_ops
            out["num_children"] = len(node.children)
        if node.extra:
            out.update(node.extra)
        if node.children is not None:
            if depth > 0:
                out["children"] = [self._json(c, depth - 1) for c in node.children.values()]
                out["edges"] = self.group_edges(node)
                for child_json, repeat in zip(out["children"], self._repeats(node)):
                    if repeat:
                        child_json["repeat"] = repeat
            else:
                out["has_children"] = bool(node.children)
        return out

    def _repeats(self, group: Node) -> list:
        """For each child: `{"key", "count"}` when it is one of several sibling modules of the same structure
        (`block_0`..`block_47`; every Conv2D layer of a ResNet), keyed by the first such sibling's name."""
        children = list(group.children.values())
        sizes: dict = {}  # only siblings of equal size can have the same structure: compare those alone
        for child in children:
            if child.kind == "module":
                size = (child.num_ops, len(child.children))
                sizes[size] = sizes.get(size, 0) + 1
        keys = [self._structure(c) if c.kind == "module" and sizes[(c.num_ops, len(c.children))] > 1
                and (c.children or (c.extra or {}).get("class_name")) else None for c in children]
        counts: dict = {}
        first: dict = {}
        for key, child in zip(keys, children):
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
                first.setdefault(key, child.name)
        return [{"key": first[k], "count": counts[k]} if k is not None and counts[k] > 1 else None for k in keys]

    def _structure(self, node: Node) -> int:
        """A number equal for subtrees of the same shape (op types and nesting, names aside); memoized, computed
        without recursion (scopes may nest thousands deep)."""
        stack = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if current.structure is not None:
                continue
            if current.children is None:
                key = ("op", current.type)
            elif not ready:
                stack.append((current, True))
                stack.extend((c, False) for c in current.children.values() if c.structure is None)
                continue
            else:  # a module record's or Keras layer's class belongs to its shape
                class_name = (current.extra or {}).get("class_name")
                key = (class_name, tuple(sorted(c.structure for c in current.children.values())))
            current.structure = self._interned.setdefault(key, next(self._numbers))
        return node.structure

    def details_json(self, path: str) -> dict:
        """The `node` answer; a group's is remembered (what enters and leaves it is a walk over all its ops)."""
        node = self.find(path)
        out = self._group_details.get(node)
        if out is None:
            out = self._details(node)
            if node.children is not None:
                if len(self._group_details) >= MAX_REMEMBERED_DETAILS:
                    self._group_details.clear()
                self._group_details[node] = out
        return out

    def _details(self, node: Node) -> dict:
        out = self._json(node, 0)
        out.pop("has_children", None)
        out["ancestors"] = _ancestor_paths(node)
        if node.children is None:
            out["op_name"] = node.op_name
            if node.function:
                out["function"] = node.function
            out["inputs"] = [self._end(p, port, control) for p, port, control in node.inputs[:MAX_DETAIL_ENDS]]
            consumers = self.consumers().get(id(node), [])
            out["outputs"] = [dict(self._end(node, port, control), path=c.path)
                              for c, port, control in consumers[:MAX_DETAIL_ENDS]]
            out["num_inputs"], out["num_outputs"] = len(node.inputs), len(consumers)
        elif node.num_ops and self.op_graph:
            incoming, outgoing = self._boundary(node)
            out["inputs"], out["outputs"] = incoming[:MAX_DETAIL_ENDS], outgoing[:MAX_DETAIL_ENDS]
            out["num_inputs"], out["num_outputs"] = len(incoming), len(outgoing)
            out["op_types"] = _op_types(node)
            out.setdefault("variables", [{"path": c.path, "name": c.op_name,
                                 "dtype": graph_lib.output_dtype(c.node_def, "0") or "resource",
                                 "shape": graph_lib.output_shape(c.node_def, "0")}
                                for c in node.children.values() if c.children is None and c.is_variable])
        return out

    def _end(self, op, port: str, control: bool) -> dict:
        node_def = None if control else op.node_def
        return {"path": op.path, "port": port, "control": control,
                "dtype": "" if control else graph_lib.output_dtype(node_def, port),
                "shape": "" if control else graph_lib.output_shape(node_def, port)}

    def _boundary(self, group: Node) -> tuple:
        """What enters and leaves a group: one row per outside op and port, with how many inside ops it joins."""
        incoming: dict = {}
        outgoing: dict = {}
        consumers = self.consumers()
        for op in _ops_under(group):
            for producer, port, control in op.inputs:
                if not _is_under(producer, group):
                    _count_row(incoming, (id(producer), port, control), lambda: self._end(producer, port, control))
            for consumer, port, control in consumers.get(id(op), []):
                if not _is_under(consumer, group):
                    key = (id(consumer), None if control else (id(op), port))  # control rows: one per op
                    _count_row(outgoing, key,
                               lambda: dict(self._end(op, port, control), path=consumer.path))
        return list(incoming.values()), list(outgoing.values())

    def consumers(self) -> dict:
        if self._consumers is None:
            consumers: dict = {}
            for node in self.all_nodes:
                if node.children is None:
                    for producer, port, control in node.inputs:
                        consumers.setdefault(id(producer), []).append((node, port, control))
            self._consumers = consumers
        return self._consumers

    def search(self, query: str, regex: bool, limit: int) -> dict:
        return search_lib.search(self, query, regex, limit)


def _count_row(rows: dict, key, make) -> None:
    row = rows.get(key)
    if row is None:
        row = rows[key] = dict(make(), count=0)
    row["count"] += 1


def _ancestor_paths(node: Node) -> list:
    paths = []
    parent = node.parent
    while parent is not None and parent.parent is not None:
        paths.append(parent.path)
        parent = parent.parent
    return paths[::-1]


def _ops_under(group: Node):
    stack = [group]
    while stack:
        node = stack.pop()
        if node.children is None:
            yield node
        else:
            stack.extend(node.children.values())


def _is_under(node: TreeNode, group: Node) -> bool:
    while node.depth > group.depth:
        node = node.parent
    return node is group


def _op_types(group: Node) -> dict:
    counts: dict = {}
    for node in _ops_under(group):
        counts[node.type] = counts.get(node.type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _finalize(root: Node, all_nodes: list) -> list:
    """Parents, depths, top-level ancestors and op counts, in one pass (iterative: scopes may nest thousands
    deep); returns the ops (the leaves), in the order of `all_nodes`."""
    order = []
    ops = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        children = node.children
        if children:
            node.num_ops = 0
            depth = node.depth + 1
            if depth == 1:
                for child in children.values():
                    child.parent, child.depth, child.top = node, 1, child
            else:
                top = node.top
                for child in children.values():
                    child.parent, child.depth, child.top = node, depth, top
            stack.extend(children.values())
        elif children is not None:
            node.num_ops = 0
        else:
            ops.append(node)
    for node in reversed(order):  # children before their parents: add each node's count to its parent's
        if node.parent is not None:
            node.parent.num_ops += node.num_ops
    all_nodes.extend(order)
    return ops


# -- Building from a flattened graph ---------------------------------------------------------------


class _TreeBuilder:
    def __init__(self, root: Node):
        self.root = root
        self._scopes: dict = {}  # id(parent) -> {"a/b": group}: most ops share their scope with a sibling
        self.groups = [root]  # every group, each after its parent

    def group(self, parent: Node, name: str, role: str = "") -> Node:
        """The child group `name` of `parent`, created if needed; an op already there moves into it."""
        existing = parent.children.get(name)
        if existing is not None and existing.children is not None:
            return existing
        group = Node(name, "scope", parent, role=role)
        self.groups.append(group)
        if existing is not None:  # an op whose name is also a scope prefix keeps its own node inside
            del parent.children[name]
            existing.name = free_name(group.children, f"({name})")
            existing.parent = group
            group.children[existing.name] = existing
        parent.children[name] = group
        return group

    def _scope_group(self, parent: Node, scope: str) -> Node:
        """The group of a '/'-separated scope below `parent`, found from its parent scope's group (cached)."""
        scopes = self._scopes.setdefault(id(parent), {})
        group = scopes.get(scope)
        if group is not None:
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
            group = self.group(group, _clean_segment(name.rpartition("/")[2]))
            scopes[name] = group
        return group

    def insert(self, parent: Node, placement: str, op) -> None:
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

    def insert_all(self, parent: Node, ops, divert=None) -> None:
        """`insert` for many ops (the hot loop of a build: 200,000 ops take a few hundred ms). Ops with a role
        are offered to `divert` first, which returns True for those it placed elsewhere."""
        scopes = self._scopes.setdefault(id(parent), {})
        for op in ops:
            if op.role and divert is not None and divert(op):
                continue
            scope, _, leaf = op.placement.rpartition("/")
            group = scopes.get(scope) if scope else parent
            if group is None:
                group = self._scope_group(parent, scope)  # a new scope
            if not leaf or leaf in group.children:
                self.insert(parent, op.placement, op)  # clashes and empty names
                continue
            op.name, op.parent = leaf, group
            group.children[leaf] = op


def free_name(children: dict, name: str) -> str:
    """`name`, or `name (2)`, `name (3)`... if a sibling has it."""
    if name not in children:
        return name
    i = 2
    while f"{name} ({i})" in children:
        i += 1
    return f"{name} ({i})"


def build_graph_hierarchy(flat: graph_lib.FlatGraph, name: str, modules: dict | None = None) -> Hierarchy:
    """The module tree of a traced function (see docs/api.md for the rules a person sees).

    `modules` ({path: JSON fields}) names groups known to be modules from a module record; they exist even
    without ops, and carry their class, parameters and variables. The ops of `flat` become this tree's leaves
    (a flattened graph builds one tree)."""
    ops = flat.ops
    if ops and ops[0].parent is not None:
        raise ValueError("These ops are the leaves of another tree already: flatten the graph again.")
    root = Node(name, "scope", None)
    builder = _TreeBuilder(root)
    _assign_io_roles(ops)
    _collapse_empty_runs(ops + [op for _, function_ops in flat.other_functions for op in function_ops])
    # The names the top level will hold (a leading "/" makes no scope: `/a/b` sits in `a`): the groups made here
    # take others.
    taken = {op.placement.partition("/")[0] or op.placement.lstrip("/").partition("/")[0] for op in ops}
    io_names = {}
    for role, wanted in (("input", "inputs"), ("output", "outputs")):
        io_names[role] = _reserve(taken, root, wanted)
    captured = []

    def divert(op) -> bool:
        if op.role in io_names:
            group = builder.group(root, io_names[op.role], role=op.role + "s")
            builder.insert(group, op.op_name.replace("/", "_"), op)
            return True
        if op.role == "variable" and op.type in graph_lib.ARG_OPS and not modules:
            captured.append(op)
            return True
        return False

    builder.insert_all(root, ops, divert)
    op_types = frozenset(map(_OP_TYPE, ops))
    _place_captured_variables(builder, ops, captured, io_names, op_types)
    if flat.other_functions or flat.eager_ops:
        # Graphs of earlier work and of eager ops, recorded by the same trace: kept, out of the way.
        functions = builder.group(root, _reserve(taken, root, "other_functions"), role="functions")
        for label, function_ops in flat.other_functions:
            holder = builder.group(functions, free_name(functions.children, label), role="function")
            builder.insert_all(holder, function_ops)
        if flat.eager_ops:
            eager = builder.group(functions, free_name(functions.children, "eager_ops"), role="eager_ops")
            builder.insert_all(eager, flat.eager_ops)
    for path, extra in (modules or {}).items():
        group = root
        for segment in path.split("/"):
            group = builder.group(group, segment)
        group.kind, group.extra = "module", extra
    placed = ops + [op for _, function_ops in flat.other_functions for op in function_ops] + flat.eager_ops
    _mark_roles_of_bodies(placed)
    _mark_modules(placed, estimate_params=not modules, op_types=op_types)
    _fold_series(builder.groups)
    _gather_loose_top_level_ops(root, taken)
    return Hierarchy(root)


# A run of more empty scopes than this in a name (`a//////////b`) is one scope, `(empty ×9)`: a name of n slashes
# would otherwise be n nested scopes, whose paths (and a node answer's ancestors) grow with n squared.
MAX_EMPTY_RUN = 8
_EMPTY_RUN = "/" * (MAX_EMPTY_RUN + 2)


def _collapse_empty_runs(ops: list) -> None:
    """Long runs of empty scopes in placements become one scope (MAX_EMPTY_RUN); the op keeps its own name."""
    for op in ops:
        if _EMPTY_RUN in op.placement:
            op.placement = _EMPTY_RUNS.sub(lambda m: f"/(empty ×{len(m.group()) - 1})/", op.placement)


_EMPTY_RUNS = re.compile("/{%d,}" % (MAX_EMPTY_RUN + 2))


def _gather_loose_top_level_ops(root: Node, taken: set) -> None:
    """A crowded top level (a training step's iteration counter, loss scaling...) keeps its scopes and gathers
    the ops that are in no scope into one group."""
    loose = [name for name, child in root.children.items()
             if (child.role != "variable" if child.children is None else not child.role and child.is_op_scope())]
    if len(root.children) <= TOP_LEVEL_MAX or len(loose) < 2:
        return
    group = Node(_reserve(taken, root, "ops_outside_scopes"), "scope", root, role="loose_ops")
    for name in loose:
        group.children[name] = root.children.pop(name)
    root.children[group.name] = group


def _reserve(taken: set, root: Node, wanted: str) -> str:
    """A name for a group the plugin adds at the top: not one the top level holds or will hold (`taken`)."""
    name, i = wanted, 1
    while name in taken or name in root.children:
        name, i = f"{wanted}_{i}", i + 1
    taken.add(name)
    return name


def _assign_io_roles(ops: list) -> None:
    """Inputs, outputs and variables of the traced function itself (not of the bodies expanded into it)."""
    candidates = {}  # top-level Identity/NoOp ops that may only feed the return values
    for op in itertools.compress(ops, map(_IO_OPS.__contains__, map(_OP_TYPE, ops))):
        if op.function:
            continue
        op_type = op.type
        if op_type in graph_lib.ARG_OPS or op_type == "Placeholder":
            op.role = "variable" if graph_lib.is_resource_input(op.node_def) else "input"
        elif op_type in graph_lib.VARIABLE_OPS:
            op.role = "variable"
        elif op_type in graph_lib.RETVAL_OPS:
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


_IO_OPS = graph_lib.ARG_OPS | graph_lib.VARIABLE_OPS | graph_lib.RETVAL_OPS | {"Placeholder", "Identity", "IdentityN",
                                                                               "NoOp"}
_OP_TYPE = attrgetter("type")


# Scopes that TensorFlow's and the libraries' op helpers open, read variables in, and do not own them by: Keras 3
# reads a kernel under `<layer>/Cast/ReadVariableOp` (with no Cast op) and a BatchNormalization's four variables
# under `Cast`..`Cast_3`; tf.nn.batch_normalization reads gamma and beta under `batchnorm`; TensorFlow
# Probability's bijectors read theirs in the scope of the method called (`shift/inverse`). A scope named after an
# op type of the graph is one too. Numbered copies (`Cast_3`) count as the name. Names that layers commonly get
# (`dropout`, `mean`, `sample`) are not here: a module so named would be taken for a helper.
HELPER_SCOPES = frozenset({
    "Cast", "batchnorm", "moments", "Tensordot", "einsum", "convolution", "embedding_lookup", "stateless_dropout",
    "clip_by_value", "l2_normalize", "truediv", "AssignMovingAvg", "ReadVariableOp",
    "forward", "inverse", "forward_log_det_jacobian", "inverse_log_det_jacobian", "log_prob",
})
# Ops that pass a variable's handle on to the bodies they run: the op that reads it is in the body.
_PASS_THROUGH_OPS = frozenset(graph_lib.CONTROL_FLOW) | graph_lib.CASE_OPS | graph_lib.CALL_OPS


def is_helper_scope(name: str, op_types) -> bool:
    """Whether a scope named `name` is one an op helper opened (HELPER_SCOPES, or an op type of the graph)."""
    base = name
    while True:
        stem, _, number = base.rpartition("_")
        if not (stem and number.isdecimal()):
            break
        base = stem
    return base in HELPER_SCOPES or base in op_types


def _owner_scope(node: TreeNode, op_types=()) -> Node:
    """The scope an op belongs to, skipping the scope of an op named like it (`dense/MatMul/ReadVariableOp`) and
    those op helpers open (`dense/Cast/ReadVariableOp`: see HELPER_SCOPES)."""
    group = node.parent
    while group.parent is not None and (group.is_op_scope() or is_helper_scope(group.name, op_types)):
        group = group.parent
    return group


def _place_captured_variables(builder: _TreeBuilder, ops: list, captured: list, io_names: dict,
                              op_types) -> None:
    """Nest each captured variable into the module of the op that reads it, not at the top: the op that really
    reads it, past the loops, branches and calls that hand it on to their bodies."""
    if not captured:
        return  # (a run graph's variables are ops of their scopes: nothing to look for among 200,000 ops)
    consumers: dict = {}
    for op in ops:
        for producer, _, control in op.inputs:
            if not control and producer.role == "variable" and op.parent is not None:
                consumers.setdefault(id(producer), []).append(op)
    for var in captured:
        readers = [r for r in consumers.get(id(var), []) if r.type not in _PASS_THROUGH_OPS]
        owner = None
        for reader in readers:  # the capture's name is the reader's: demo_module_assignaddvariableop_resource
            if reader.op_name.lower().replace("/", "_") + "_resource" == var.op_name:
                owner = _owner_scope(reader, op_types)
                break
        if owner is None:
            scoped = [_owner_scope(r, op_types) for r in readers if r.parent is not builder.root]
            owner = _common_ancestor(scoped) if scoped else None
        if owner is None or owner is builder.root:
            owner = builder.group(builder.root, io_names["input"], role="inputs")
        builder.insert(owner, var.op_name.replace("/", "_"), var)


def _common_ancestor(nodes: list) -> Node:
    def chain(n):
        out = []
        while n is not None:
            out.append(n)
            n = n.parent
        return out[::-1]

    common = chain(nodes[0])
    for node in nodes[1:]:
        other = chain(node)
        i = 0
        while i < min(len(common), len(other)) and common[i] is other[i]:
            i += 1
        common = common[:i]
    return common[-1]


def _mark_roles_of_bodies(ops: list) -> None:
    """Groups that hold a control-flow op and its branch bodies say so."""
    for op in ops:
        if op.type in _CONTROL_FLOW_OPS:
            group = op.parent
            if group.parent is not None and op.name == f"({group.name})":
                group.role = group.role or "control_flow"
                for child in group.children.values():
                    if child.children is not None and child.name in _BRANCH_LABELS:
                        child.role = "branch"


_CONTROL_FLOW_OPS = frozenset(graph_lib.CONTROL_FLOW) | graph_lib.CASE_OPS
_BRANCH_LABELS = {"then", "else", "cond", "body"} | {f"branch_{i}" for i in range(64)}


def _fold_series(groups: list) -> None:
    """`AddN`, `AddN_1`, ... `AddN_121` under one parent become the series `AddN[0-121]`: ops of one type, or
    groups holding the same names (`Cast`, `Cast_1`, ... each reading the learning rate). `groups` lists each
    group before its children: a group's children are compared by the names they hold before those fold."""
    for group in groups:
        children = group.children
        if len(children) < SERIES_MIN:
            continue
        # A series holds at most one name without a number (`AddN` beside `AddN_1`...): most groups of a big
        # graph have too few numbered names to hold one, and are passed over here.
        if sum(1 for name in children if name[-1].isdecimal()) < SERIES_MIN - 1:
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
            if len(members) < SERIES_MIN:
                continue
            members.sort()
            series = Node(free_name(children, f"{base}[{members[0][0]}-{members[-1][0]}]"), "scope", group,
                          role="series")
            for _, name in members:
                node = children.pop(name)
                node.parent = series
                series.children[name] = node
            children[series.name] = series


def _mark_modules(ops, estimate_params: bool, op_types) -> None:
    """A scope that owns a variable (where its captured handle or VarHandleOp sits) is a module, and so is every
    scope above it but those op helpers open. Scopes that only read a variable owned elsewhere (an optimizer's
    `Cast_7` reading the learning rate, a layer's `Cast` reading its kernel) are not. Where the graph records
    variable shapes, parameter counts are estimated from them."""
    for op in ops:
        if op.role != "variable":
            continue
        owner = _owner_scope(op, op_types)
        size = graph_lib.variable_size(op) if estimate_params else None
        group = owner
        while group is not None and group.parent is not None and not group.role:
            if group is not owner and (group.is_op_scope() or is_helper_scope(group.name, op_types)):
                group = group.parent
                continue
            marked, group.kind = group.kind == "module", "module"
            if size is not None:
                group.extra = group.extra or {"num_params": 0, "params_estimated": True}
                group.extra["num_params"] += size
            elif marked and group is not owner:
                break  # the scopes above were marked by an earlier variable
            group = group.parent


def _distribute_edges(ops: list, at_root: bool) -> None:
    """Every op edge belongs to one group: the one whose two children hold its ends. One pass files the root's
    (`at_root`: the edges between top-level groups), another all the others, in the same order of ops; each
    group's are aggregated per pair of children in one flat list: [count, all-control, then up to
    MAX_EDGE_SAMPLES producers and ports to read dtypes and shapes from] (a 200,000-op graph has as many edges:
    the list keeps them small)."""
    for consumer in ops:
        for producer, port, control in consumer.inputs:
            if producer is consumer:
                continue
            a, b = producer, consumer
            if at_root:
                a, b = a.top, b.top
                if a is b:
                    continue
            elif a.top is not b.top:
                continue
            elif a.parent is not b.parent:
                while a.depth > b.depth:
                    a = a.parent
                while b.depth > a.depth:
                    b = b.parent
                while a.parent is not b.parent:
                    a, b = a.parent, b.parent
            edges = a.parent.edges
            if edges is None:
                edges = a.parent.edges = {}
            edge = edges.get((a, b))
            if edge is None:
                edges[(a, b)] = [1, control] if control else [1, False, producer, port]
            else:
                edge[0] += 1
                if not control:
                    edge[1] = False
                    if len(edge) < 2 + 2 * MAX_EDGE_SAMPLES:
                        edge += (producer, port)


MAX_EDGE_SAMPLES = 8


def _edge_json(source: Node, target: Node, edge: list) -> dict:
    dtypes, shapes = [], []
    for i in range(2, len(edge), 2):
        producer, port = edge[i], edge[i + 1]
        node_def = producer.node_def
        dtype = graph_lib.output_dtype(node_def, port)
        if dtype and dtype not in dtypes:
            dtypes.append(dtype)
        shape = graph_lib.output_shape(node_def, port)
        if shape and shape not in shapes:
            shapes.append(shape)
    return {"from": source.path, "to": target.path, "count": edge[0], "dtypes": dtypes, "shapes": shapes,
            "control": edge[1]}
