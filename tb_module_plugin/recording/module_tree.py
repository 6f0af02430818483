"""The module tree a `module_graph` record holds: every module reachable from a root object once, the variables
they hold once, trainable as their framework says, and the manifest (payload version 2) that says so."""

from __future__ import annotations

from collections.abc import Mapping

PAYLOAD_VERSION = 2


class ModuleTree:
    """The modules reachable from a root object, each once, and the variables they hold, each once.

    A module reached through several attribute paths keeps its subtree under the first (in the framework's own
    order of its children) and notes the others as aliases. Keras layers (Keras 3, which are not `tf.Module`s,
    and tf_keras) are walked as Keras shows them (`model.layers`, a layer's tracked sublayers, each layer's own
    weights); other `tf.Module`s through `tf.Module._flatten`, whose attribute paths name a variable once per
    attribute that holds it (a tf_keras layer's `kernel` and `_trainable_weights[0]`; a TensorFlow Probability
    bijector's `_shift` and `_parameters['shift']`).
    """

    def __init__(self, tf, root):
        self.tf = tf
        # Manifest entries, parents before children, each module's children in its object's own order (a Keras
        # model's `layers`, a layer's tracked sublayers, a tf.Module's attributes as they were assigned); each
        # entry's `order` is its place among its parent's children in that order (the tab lists them so where
        # data flow does not decide).
        self.modules: list = []
        self.objects: list = []  # the module objects, in the order of `modules`
        self.variables: list = []  # the variable objects, each once
        self._module_index: dict = {}  # id(module object) -> index
        self._variable_index: dict = {}  # id(variable) -> index
        self._trainable: dict = {}  # variable index -> trainable, as the framework of a holder says
        self._visit(root, "", None)

    def _visit(self, root, root_path: str, root_parent) -> None:
        stack = [(root, root_path, root_parent, 0)]
        while stack:
            node, path, parent, order = stack.pop()
            key = self._key(node)
            index = self._module_index.get(key)
            if index is not None:  # reached again through another attribute path
                self.modules[index]["aliases"].append({"path": path, "parent": parent})
                continue
            index = len(self.modules)
            self._module_index[key] = index
            children, variables = self.members(node)
            self.objects.append(self._object(node))
            self.modules.append({"path": path, "parent": parent, "order": order, **self.describe(node, path, variables),
                                 "variables": [self._variable(v, trainable) for v, trainable in variables],
                                 "aliases": []})
            for order, (suffix, child) in reversed(list(enumerate(children))):  # (a stack: the first child first)
                stack.append((child, _join_path(path, suffix), index, order))

    # How a node of the walk is told apart, which object it is, and its name, class and scope (a SavedModel's
    # walk goes over its object graph's node ids instead: savedmodel.SavedModelTree).
    def _key(self, node):
        return id(node)

    def _object(self, node):
        return node

    def describe(self, obj, path: str, variables: list) -> dict:
        return {"name": _module_name(obj, variables, path),
                "class_name": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "scope": _scope_of(obj, variables)}

    def _variable(self, variable, trainable: bool) -> int:
        index = self._variable_index.get(id(variable))
        if index is None:
            index = self._variable_index[id(variable)] = len(self.variables)
            self.variables.append(variable)
            self._trainable[index] = trainable
        else:  # held by several modules: trainable if a framework that holds it says so
            self._trainable[index] = self._trainable[index] or trainable
        return index

    def members(self, obj) -> tuple:
        """([(attribute path, child module)], [(variable, trainable)]) of one object."""
        if _is_keras_layer(self.tf, obj):
            return _keras_members(obj)
        return _module_members(self.tf, obj)

    def manifest(self, concrete, calls: dict, function_name: str | None = None) -> dict:
        """The record's manifest: the module tree, the variables with the graph input (capture) of each, and the
        ops each module's call created (`calls`: module index -> {function name: [op names]})."""
        captured = {}  # id(handle tensor) -> placeholder op name in the traced graph
        for external, internal in concrete.graph.captures:
            captured[id(external)] = internal.op.name
        variables = [dict(_variable_json(v, captured), trainable=self._trainable[i])
                     for i, v in enumerate(self.variables)]
        modules = [dict(m, calls=calls[i]) if calls.get(i) else m for i, m in enumerate(self.modules)]
        return {"version": PAYLOAD_VERSION, "function": function_name or concrete_function_name(concrete),
                "modules": modules, "variables": variables}


def _join_path(path: str, suffix: str) -> str:
    if not path:
        return suffix
    return f"{path}{suffix}" if suffix.startswith("[") else f"{path}.{suffix}"


def _is_keras_layer(tf, obj) -> bool:
    """A Keras 3 layer (not a tf.Module) or a tf_keras / Keras 2 layer (a tf.Module with Keras's layer
    tracking)."""
    if not hasattr(obj, "_flatten_layers"):
        return False
    return hasattr(obj, "_trainable_weights") if isinstance(obj, tf.Module) else hasattr(obj, "_trainable_variables")


def is_module(tf, obj) -> bool:
    return isinstance(obj, tf.Module) or _is_keras_layer(tf, obj)


def _keras_members(layer) -> tuple:
    """A Keras layer's sublayers (a model's `layers`, what `model.summary()` lists; another layer's tracked
    sublayers) and its own weights. Keras 3 asks its variables whether they are trainable (a frozen layer's
    `keras.Variable` says no while the `tf.Variable` inside it still says yes); tf_keras asks the layer."""
    if hasattr(layer, "summary") and isinstance(getattr(layer, "layers", None), list):
        sublayers = list(layer.layers)
        listed = "layers"
    else:
        sublayers = list(layer._flatten_layers(include_self=False, recursive=False))
        listed = None
    names = _attribute_names(layer)
    children = []
    for i, sublayer in enumerate(sublayers):
        ranked = names.get(id(sublayer), {})
        if listed:
            ranked.setdefault(2, f"{listed}[{i}]")
        children.append((ranked[min(ranked)] if ranked else f"_layers[{i}]", sublayer))
    if not hasattr(layer, "_trainable_weights"):  # Keras 3
        own = list(layer._trainable_variables) + list(layer._non_trainable_variables)
        variables = [(v, bool(v.trainable)) for v in own]
    else:  # tf_keras
        trainable = {id(w) for w in layer._trainable_weights} if layer.trainable else set()
        own = list(layer._trainable_weights) + list(layer._non_trainable_weights)
        variables = [(v, id(v) in trainable) for v in own]
    return children, _unique_variables(variables)


def _attribute_names(obj) -> dict:
    """id(value) -> {rank: the first attribute path of that rank} for what `obj`'s attributes hold, lists and
    dicts included (`blocks[2]`, `heads['a']`). Ranks, best first: 0 a public attribute, 1 an item of a public
    list or dict, (2: a model's `layers[i]`, added by the caller), 3 a private attribute (keras-hub's
    `_self_attention_layer`), 4 an item of a private list (Keras's own `_layers`)."""
    names: dict = {}
    for key, value in sorted(vars(obj).items()):
        private = key.startswith("_")
        if isinstance(value, (list, tuple)):
            items = [(f"{key}[{i}]", item) for i, item in enumerate(value)]
            rank = 4 if private else 1
        elif isinstance(value, dict):
            items = [(f"{key}[{k!r}]", item) for k, item in value.items() if isinstance(k, (str, int))]
            rank = 4 if private else 1
        else:
            items, rank = [(key, value)], 3 if private else 0
        for path, item in items:
            names.setdefault(id(item), {}).setdefault(rank, path)
    return names


def _module_members(tf, obj) -> tuple:
    """A tf.Module's child modules, in the order the attributes holding them were assigned (`tf.Module._flatten`
    sorts attributes by name: a `zeta` assigned first came last), and its variables, each once, in
    `_flatten`'s order. A child several attributes hold is placed by the first assigned of them, and keeps the
    path `_flatten` gives first."""
    children, variables, seen = [], [], set()
    if not isinstance(obj, tf.Module):
        return children, variables
    assigned = {key: i for i, key in enumerate(vars(obj))}
    place: dict = {}  # id(child) -> the place of the first assigned attribute holding it
    for path, value in obj._flatten(recursive=False, with_path=True,
                                    predicate=lambda v: is_module(tf, v) or isinstance(v, tf.Variable)):
        if is_module(tf, value):
            children.append((path_text(obj, path), value))
            at = assigned.get(path[0], len(assigned)) if path else len(assigned)
            place[id(value)] = min(place.get(id(value), at), at)
        elif id(value) not in seen:
            seen.add(id(value))
            variables.append((value, bool(value.trainable)))
    children.sort(key=lambda item: place[id(item[1])])  # (stable: a child's paths stay in `_flatten`'s order)
    return children, variables


def _unique_variables(variables: list) -> list:
    seen, out = set(), []
    for variable, trainable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append((variable, trainable))
    return out


def _module_name(obj, variables: list, path: str) -> str:
    """`module.name` / the Keras layer name; a loaded SavedModel object has none: the scope of its variables."""
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    scope = _common_variable_scope([v for v, _ in variables])
    return scope.rsplit("/", 1)[-1] if scope else (path.rsplit(".", 1)[-1] if path else type(obj).__name__)


def _common_variable_scope(variables: list) -> str:
    scopes = [str(getattr(v, "name", "")).rsplit("/", 1)[0] for v in variables if "/" in str(getattr(v, "name", ""))]
    return scopes[0] if scopes and all(s == scopes[0] for s in scopes) else ""


def path_text(obj, path: tuple) -> str:
    """('blocks', 2, 'up') -> `blocks[2].up`, as a person would write it: attributes after a dot, list items and
    dict keys in brackets (`_parameters['bijectors'][0]`), told apart by walking the objects."""
    text, current = "", obj
    for part in path:
        if isinstance(current, Mapping):
            text += f"[{part!r}]"
        elif isinstance(part, int) and not isinstance(current, Mapping):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        try:
            current = current[part] if isinstance(current, Mapping) or isinstance(part, int) else getattr(
                current, part)
        except (KeyError, IndexError, TypeError, AttributeError):
            current = None
    return text


def _scope_of(obj, variables: list) -> str:
    scope = getattr(obj, "name_scope", None)
    name = getattr(scope, "name", None)
    if isinstance(name, str):
        return name.rstrip("/")
    path = getattr(obj, "path", None)  # Keras 3 layers: `model/dense`
    return path if isinstance(path, str) else _common_variable_scope([v for v, _ in variables])


def _variable_json(variable, captured: dict) -> dict:
    inner = getattr(variable, "value", None)  # a Keras 3 variable wraps the tf.Variable the graph captures
    tf_variable = inner if inner is not None and hasattr(inner, "handle") else variable
    # A distributed variable (tf_keras's under MirroredStrategy) has one copy per device and no handle of its own
    # outside a replica: replica 0's copy is the one the graph's first replica reads.
    copies = getattr(tf_variable, "values", None)
    handle = getattr(copies[0] if isinstance(copies, (list, tuple)) and copies else tf_variable, "handle", None)
    static = getattr(variable, "shape", None)
    if static is not None and getattr(static, "rank", 0) is None:  # made with shape=TensorShape(None)
        try:
            static = tf_variable.read_value().shape  # (its value now: an eager tensor's shape is known)
        except Exception:  # noqa: BLE001 - not readable here (graph mode, uninitialized): the shape is not known
            static = None
    shape = None if static is None or getattr(static, "rank", 0) is None else [
        None if d is None else int(d) for d in static]
    return {
        "name": str(getattr(variable, "path", None) or variable.name),
        "shape": shape,
        "dtype": _dtype_name(getattr(variable, "dtype", "")),
        "capture": captured.get(id(handle)) if handle is not None else None,
    }


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)




def concrete_function_name(concrete) -> str:
    name = concrete.name
    return name.decode() if isinstance(name, bytes) else str(name)


