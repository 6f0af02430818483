"""A `module_graph` record (summary.py) as a hierarchy of the real module objects.

Scopes are strings, so two modules built with the same name share one (`twin/dense/MatMul` and
`twin/dense/MatMul_1`), and Keras 3 scopes drift from layer names (`seq_1/dense_1/`). The record says which graph
input is which variable of which module; from the ops that read those variables we find each module's scope in the
graph, and where modules share one, dataflow from their variables decides which ops are whose.
"""

from __future__ import annotations

import json

from . import graph as graph_lib
from .graph import GraphError
from .hierarchy import Hierarchy, build_graph_hierarchy, free_name

SUPPORTED_VERSIONS = (1,)


def parse_manifest(blob: bytes) -> dict:
    """The record's module tree, checked field by field (records come from any version of the plugin)."""
    try:
        manifest = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise GraphError(f"This module record's manifest is not readable JSON ({e}).") from None
    if not isinstance(manifest, dict):
        raise GraphError("This module record's manifest is not a JSON object.")
    version = manifest.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise GraphError(f"This module record has payload version {version!r}; this plugin reads versions "
                         f"{', '.join(map(str, SUPPORTED_VERSIONS))}. Upgrade tb_module_plugin to read it.")
    modules = manifest.get("modules")
    if not isinstance(modules, list) or not modules or not all(isinstance(m, dict) for m in modules):
        raise GraphError("This module record lists no modules.")
    for i, module in enumerate(modules):
        parent = module.get("parent")
        if i == 0 and parent is not None or i > 0 and not (isinstance(parent, int) and 0 <= parent < i):
            raise GraphError(f"This module record is damaged: module {i} has no valid parent.")
        if not isinstance(module.get("variables", []), list):
            raise GraphError(f"This module record is damaged: module {i}'s variables are not a list.")
    return manifest


def build_module_hierarchy(manifest: dict, graph_def, other_graph_defs: list, name: str) -> Hierarchy:
    """The module tree of a record; further functions (a SavedModel's other signatures) go to `other_functions`."""
    modules = [_Module(i, m) for i, m in enumerate(manifest["modules"])]
    for module in modules[1:]:
        modules[module.parent].children.append(module)
    _name_tree(modules[0], "")
    ops = graph_lib.flatten_graph_def(graph_def)
    by_name = {op.op_name: op for op in ops if not op.function}
    variable_of = {}  # capture placeholder op -> (module, variable)
    for module in modules:
        for variable in module.variables:
            op = by_name.get(variable.get("capture"))
            if op is not None:
                variable_of[id(op)] = (module, variable)
    readers = _readers(ops, variable_of)
    op_scopes = {op.placement for op in ops}
    _find_scopes(modules[0], readers, op_scopes)
    _place_ops(ops, modules, variable_of, readers, op_scopes)
    labels = manifest.get("other_functions") if isinstance(manifest.get("other_functions"), list) else []
    others = [(str(labels[i]) if i < len(labels) else f"function_{i}", graph_lib.flatten_graph_def(g))
              for i, g in enumerate(other_graph_defs)]
    flat = graph_lib.FlatGraph(ops=ops, other_functions=others, eager_ops=[])
    return build_graph_hierarchy(flat, name, modules={m.tree_path: m.summary() for m in modules})


class _Module:
    def __init__(self, index: int, record: dict):
        self.index = index
        self.parent = record.get("parent")
        self.name = str(record.get("name") or "module").replace("/", "_") or "module"
        self.class_name = str(record.get("class_name", ""))
        self.attribute_path = str(record.get("path", ""))
        self.variables = [v for v in record.get("variables", []) if isinstance(v, dict)]
        self.children: list = []
        self.tree_path = ""
        self.scope = None  # its scope in the graph, once found

    def own_params(self, trainable_only: bool) -> int:
        return sum(_size(v.get("shape")) for v in self.variables if v.get("trainable") or not trainable_only)

    def summary(self) -> dict:
        params = sum(m.own_params(False) for m in self.subtree())
        trainable = sum(m.own_params(True) for m in self.subtree())
        return {
            "class_name": self.class_name,
            "attribute_path": self.attribute_path,
            "num_params": params,
            "num_trainable_params": trainable,
            "frozen": params > 0 and trainable == 0,
            "variables": [{"name": str(v.get("name", "")), "shape": v.get("shape"), "dtype": str(v.get("dtype", "")),
                           "trainable": bool(v.get("trainable"))} for v in self.variables],
        }

    def subtree(self):
        stack = [self]
        while stack:
            module = stack.pop()
            yield module
            stack.extend(module.children)


def _size(shape) -> int:
    if not isinstance(shape, list):
        return 0
    size = 1
    for d in shape:
        if not isinstance(d, int) or d < 0:
            return 0
        size *= d
    return size


def _name_tree(module: _Module, parent_path: str) -> None:
    taken: dict = {}
    module.tree_path = f"{parent_path}/{module.name}" if parent_path else module.name
    for child in module.children:
        child.name = free_name(taken, child.name)
        taken[child.name] = True
        _name_tree(child, module.tree_path)


def _readers(ops: list, variable_of: dict) -> dict:
    """id(module) -> the ops that read its variables directly."""
    readers: dict = {}
    for op in ops:
        for producer, _, control in op.inputs:
            owner = variable_of.get(id(producer))
            if owner is not None and not control:
                readers.setdefault(id(owner[0]), []).append(op)
    return readers


def _owner_scope(placement: str, op_scopes: set) -> str:
    """The scope an op sits in, skipping scopes named after an op (`dense/MatMul/ReadVariableOp` -> `dense`)."""
    scope = placement.rpartition("/")[0]
    while scope and scope in op_scopes:
        scope = scope.rpartition("/")[0]
    return scope


def _common_scope(scopes: list) -> str | None:
    if not scopes:
        return None
    parts = scopes[0].split("/")
    for scope in scopes[1:]:
        other = scope.split("/")
        i = 0
        while i < min(len(parts), len(other)) and parts[i] == other[i]:
            i += 1
        parts = parts[:i]
    return "/".join(parts)


def _find_scopes(module: _Module, readers: dict, op_scopes: set) -> None:
    """Each module's scope in the graph: where its variables are read, or above its children's scopes."""
    for child in module.children:
        _find_scopes(child, readers, op_scopes)
    own = [_owner_scope(op.placement, op_scopes) for op in readers.get(id(module), [])]
    if own:
        module.scope = _common_scope(own)
        return
    child_scopes = [c.scope for c in module.children if c.scope]
    common = _common_scope(child_scopes)
    if common is not None and common in child_scopes:  # a container sits above its children
        common = common.rpartition("/")[0]
    module.scope = common or None


def _place_ops(ops: list, modules: list, variable_of: dict, readers: dict, op_scopes: set) -> None:
    """Move each op under the module that owns it: its scope's module, or among modules sharing that scope, the
    one whose variables its data comes from."""
    by_scope: dict = {}
    for module in modules:
        if module.scope:
            by_scope.setdefault(module.scope, []).append(module)
    shared_owner = _attribute_shared_scopes(ops, by_scope, readers)
    for op in ops:
        owner = variable_of.get(id(op))
        if owner is not None:
            module, variable = owner
            op.placement = f"{module.tree_path}/{_short_name(variable.get('name', op.op_name))}"
            continue
        scope = op.placement.rpartition("/")[0]
        while scope and scope not in by_scope:
            scope = scope.rpartition("/")[0]
        if not scope:
            continue
        candidates = by_scope[scope]
        module = candidates[0] if len(candidates) == 1 else shared_owner.get(id(op), candidates[0])
        op.placement = f"{module.tree_path}/{op.placement[len(scope) + 1:]}"


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
                    if id(other) not in owner and other.placement.startswith(module.scope + "/"):
                        owner[id(other)] = module
                        following.append(other)
            level = following
        frontier = [op for op in ops if id(op) in owner]
    return owner


def _short_name(variable_name: str) -> str:
    """`twin/dense/kernel:0` -> `kernel`."""
    return str(variable_name).rsplit("/", 1)[-1].split(":", 1)[0] or "variable"
