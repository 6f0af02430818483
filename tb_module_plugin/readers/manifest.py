"""A `module_graph` record (recording/summary.py): its manifest read field by field, and the real module objects
it describes (their tree is built by build/module_record.py; which module each op belongs to: build/record_ops.py).

The record says which modules there are (class, attribute path, aliases) and which variables each holds (each
variable once in the record, so a variable two modules hold is one variable); a module's parameters are the unique
variables it holds or reaches.
"""

from __future__ import annotations

import json

from .. import schema
from .expand import MAX_CALL_DEPTH
from ..errors import GraphError
from ..tree.hierarchy import free_name

SUPPORTED_VERSIONS = (1, 2)
MAX_CALL_PREFIX = 1000  # characters of a record's call_prefix


def parse_manifest(blob: bytes) -> dict:
    """The record's module tree, checked field by field (records come from any version of the plugin), in the
    form of the current version."""
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
    if version == 1:
        manifest = _from_version_1(manifest)
        modules = manifest["modules"]
    variables = manifest.get("variables")
    if not isinstance(variables, list) or not all(isinstance(v, dict) for v in variables):
        raise GraphError("This module record is damaged: its variables are not a list of objects.")
    manifest["variables"] = variables = [_variable(v) for v in variables]
    for i, module in enumerate(modules):
        held = module.get("variables", [])
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(variables) for v in held):
            raise GraphError(f"This module record is damaged: module {i} holds a variable it does not list.")
        aliases = module.get("aliases")
        module["aliases"] = [a for a in aliases if isinstance(a, dict) and isinstance(a.get("path"), str) and
                             isinstance(a.get("parent"), int) and 0 <= a["parent"] < len(modules)] \
            if isinstance(aliases, list) else []
        # Its place among its parent's children in its object's own order (module_tree.ModuleTree); records
        # without it list children in that order already.
        order = module.get("order")
        module["order"] = order if isinstance(order, int) and not isinstance(order, bool) else i
        calls = module.get("calls")
        module["calls"] = {str(f): [str(n) for n in names] for f, names in calls.items() if isinstance(names, list)} \
            if isinstance(calls, dict) else {}
    # What the function returns and must run (input strings of its graph's nodes); records before it say nothing.
    returns = manifest.get("returns")
    manifest["returns"] = returns if isinstance(returns, list) and all(isinstance(r, str) for r in returns) else None
    # The calls the recorded function runs inside where it was profiled (Keras 3's training function calls its
    # step as `StatefulPartitionedCall/`): profiles name its ops so (the Keras callback, keras.py, finds it).
    # Call names are short and nested at most MAX_CALL_DEPTH deep: a longer prefix is no prefix (every op's run name
    # carries it).
    prefix = manifest.get("call_prefix")
    manifest["call_prefix"] = prefix if isinstance(prefix, str) and prefix.endswith("/") and len(
        prefix) <= MAX_CALL_PREFIX and prefix.count("/") <= MAX_CALL_DEPTH else ""
    return manifest


def _variable(record: dict) -> dict:
    """A variable's fields as this module reads them, whatever the record held."""
    shape = record.get("shape")
    capture = record.get("capture")
    return {"name": str(record.get("name", "")),
            "shape": [d if isinstance(d, int) and not isinstance(d, bool) else None for d in shape]
            if isinstance(shape, list) else None,
            "dtype": str(record.get("dtype", "")),
            "trainable": record.get("trainable") is True,
            "capture": capture if isinstance(capture, str) else None}


def _from_version_1(manifest: dict) -> dict:
    """Version 1 listed each module's variables in the module, as often as attributes held them: one variable per
    graph input (or per name and shape within a module, for those the graph does not read)."""
    variables: list = []
    index: dict = {}
    modules = []
    for i, module in enumerate(manifest["modules"]):
        held = []
        for v in module.get("variables", []):
            if not isinstance(v, dict):
                continue
            shape = tuple(v["shape"]) if isinstance(v.get("shape"), list) else None
            key = ("capture", v["capture"]) if isinstance(v.get("capture"), str) else (
                "module", i, str(v.get("name", "")), shape)
            if key not in index:
                index[key] = len(variables)
                variables.append({k: v.get(k) for k in ("name", "shape", "dtype", "trainable", "capture")})
            if index[key] not in held:
                held.append(index[key])
        modules.append(dict(module, variables=held))
    return dict(manifest, version=2, modules=modules, variables=variables)



def modules_of(manifest: dict) -> list:
    """The record's modules (the root first), each linked to its parent, children (in their record order) and the
    modules it reaches through an alias, and named with its path in the tree."""
    modules = [_Module(i, m) for i, m in enumerate(manifest["modules"])]
    for module in modules[1:]:
        module.parent_module = modules[module.parent]
        module.parent_module.children.append(module)
    for module in modules:  # (the order the tree lists them in where data flow does not decide: build/builder.py)
        module.children.sort(key=lambda child: (child.order, child.index))
    for module in modules:
        for alias in module.aliases:
            modules[alias["parent"]].alias_children.append(module)
    _name_tree(modules[0], "")
    return modules


class _Module:
    def __init__(self, index: int, record: dict):
        self.index = index
        self.parent = record.get("parent")
        self.order = record["order"]
        self.name = str(record.get("name") or "module").replace("/", "_") or "module"
        self.class_name = str(record.get("class_name", ""))
        self.attribute_path = str(record.get("path", ""))
        self.aliases = record["aliases"]
        self.variables = list(dict.fromkeys(record.get("variables", [])))
        self.calls = record["calls"]
        self.children: list = []
        self.alias_children: list = []  # modules this one reaches through an attribute that is an alias
        self.tree_path = ""
        self.depth = 0
        self.parent_module = None
        self.scope = None  # its scope in the graph, once found (where most of its ops are)
        self.scopes: list = []  # every scope it is found in (a bijector's is inside each method of its chain)

    def reachable_variables(self) -> set:
        """The variables held by this module and every module it reaches (aliases included), each once."""
        out, stack, seen = set(), [self], set()
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            out.update(module.variables)
            stack.extend(module.children + module.alias_children)
        return out

    def facts(self, variables: list, shared: set) -> schema.ModuleFacts:
        out = schema.ModuleFacts(class_name=self.class_name, attribute_path=self.attribute_path, variables=[
            schema.RecordedVariable(name=variables[v]["name"], shape=variables[v]["shape"], dtype=variables[v]["dtype"],
                                    trainable=variables[v]["trainable"], shared=v in shared) for v in self.variables])
        if self.aliases:
            out["aliases"] = [a["path"] for a in self.aliases]
        return out

    def values(self, variables: list) -> schema.NodeValues:
        """Its parameters: the unique variables it holds or reaches, each once."""
        reachable = self.reachable_variables()
        params = sum(_size(variables[v]["shape"]) for v in reachable)
        trainable = sum(_size(variables[v]["shape"]) for v in reachable if variables[v]["trainable"])
        return schema.NodeValues(num_params=params, num_trainable_params=trainable, frozen=params > 0 and trainable == 0)

    def subtree(self):
        """This module and those below it, each parent before its children, siblings in their order."""
        stack = [self]
        while stack:
            module = stack.pop()
            yield module
            stack.extend(reversed(module.children))


def _size(shape) -> int:
    if not isinstance(shape, list):
        return 0
    size = 1
    for d in shape:
        if not isinstance(d, int) or d < 0:
            return 0
        size *= d
    return size


def _name_tree(module: _Module, parent_path: str, depth: int = 0) -> None:
    stack = [(module, parent_path, depth)]
    while stack:
        module, parent_path, depth = stack.pop()
        module.tree_path = f"{parent_path}/{module.name}" if parent_path else module.name
        module.depth = depth
        taken: dict = {}
        for child in module.children:
            child.name = free_name(taken, child.name)
            taken[child.name] = True
            stack.append((child, module.tree_path, depth + 1))


