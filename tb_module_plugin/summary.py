"""Recording API: write a module and its traced graph as one record the Modules tab reads.

    import tb_module_plugin.summary as module_summary
    with writer.as_default():
        module_summary.module_graph("model", model, tf.ones([1, 10]))

Name scopes are only strings; this record also holds the module objects behind them: each module's class and
attribute path, the variables it holds (each variable once, however many attributes or modules hold it), which
are trainable as its framework says, which graph input is which variable, and which ops each module's call
created while the function was traced. The tab then shows every op in the module whose call made it, even when
two modules share a scope or Keras names a layer's scope `dense_1_2`. Needs TensorFlow (imported lazily: the
plugin itself runs without it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

from . import PLUGIN_NAME

PAYLOAD_VERSION = 2


def module_graph(name, module, *args, fn=None, step=None, **kwargs) -> bool:
    """Trace `fn` (default: `module.__call__`) on the example arguments and write the record.

    `fn` may be a `tf.function` or any callable (e.g. `demo.addprint`); it is traced afresh, so that the record can
    say which module's call created each op (while it is traced, the `__call__` of each module class is wrapped to
    note whose call is running). Written to the default summary writer at `step` (default:
    `tf.summary.experimental.get_step()`, then 0). Returns whether a record was written (False when there is no
    default writer), like `tf.summary` ops.
    """
    import tensorflow as tf

    if step is None:
        step = tf.summary.experimental.get_step()
    if step is None:
        step = 0
    tree = ModuleTree(tf, module)
    traced, own = _fresh_function(tf, module, fn)
    with CallRecorder(tree.objects, running=0 if own else None) as calls:
        concrete = traced.get_concrete_function(*args, **kwargs)
    return _write(tf, name, tree.manifest(concrete, calls.by_function(concrete)), [concrete], step)


def savedmodel_record(path: str, logdir: str, name: str = "savedmodel") -> bool:
    """Write the record of a SavedModel directory: its object graph as the module tree (children names are the
    attribute paths, class names from the SavedModel's own metadata), its variables (each once), and the graphs of
    its signatures (`serving_default` first) and other concrete functions. Raises ValueError for a path that is
    not a SavedModel."""
    import tensorflow as tf

    from . import savedmodel

    if not tf.saved_model.contains_saved_model(path):
        raise ValueError(f"{path} is not a SavedModel directory (no saved_model.pb in it).")
    loaded = tf.saved_model.load(path)
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    functions = [signatures.pop("serving_default")] if "serving_default" in signatures else []
    functions += [signatures[key] for key in sorted(signatures)]
    for child in savedmodel.objects(tf, loaded):
        functions += [f for f in getattr(child, "concrete_functions", []) if f not in functions]
    if not functions:
        raise ValueError(f"The SavedModel at {path} has no signature or function to show.")
    tree = savedmodel.SavedModelTree(tf, path, loaded)
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        written = _write(tf, name, tree.manifest(functions[0], {}), functions, 0)
    writer.close()
    return written


def _write(tf, name: str, manifest: dict, functions: list, step) -> bool:
    """Blobs: the manifest, the traced graph, then the graphs of further functions (`other_functions`)."""
    manifest["other_functions"] = [_function_name(f) for f in functions[1:]]
    blobs = [json.dumps(manifest).encode("utf-8")] + [f.graph.as_graph_def().SerializeToString() for f in functions]
    return bool(tf.summary.write(name, tf.constant(blobs), step=step, metadata=summary_metadata(tf)))


def _function_name(concrete) -> str:
    name = concrete.name
    return name.decode() if isinstance(name, bytes) else str(name)


def summary_metadata(tf):
    """A blob sequence under the plugin's own data-plugin name, versioned."""
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = PLUGIN_NAME
    metadata.plugin_data.content = json.dumps({"version": PAYLOAD_VERSION}).encode("utf-8")
    metadata.data_class = 3  # DATA_CLASS_BLOB_SEQUENCE
    return metadata


def _fresh_function(tf, module, fn) -> tuple:
    """(a tf.function not traced yet that runs `fn`, whether it is a call of `module` itself). `fn` defaults to
    `module.__call__`; a tf.function is traced afresh from its Python function (one traced before would hand
    back its cached graph, and no call would be seen making its ops), a method of `module` bound to it."""
    import functools

    if fn is None:
        fn = _class_attribute(type(module), "__call__")
        fn = fn.__get__(module, type(module)) if getattr(fn, "python_function", None) is None else fn
    python_function = getattr(fn, "python_function", None)
    if python_function is None:
        own = getattr(fn, "__self__", None) is module
        return (fn if hasattr(fn, "get_concrete_function") else tf.function(fn)), own
    signature = getattr(fn, "input_signature", None)
    own = getattr(python_function, "__self__", None) is module
    method = getattr(python_function, "__name__", None)
    declared = _class_attribute(type(module), method) if isinstance(method, str) else None
    if not own and getattr(declared, "python_function", None) is python_function:
        python_function, own = functools.partial(python_function, module), True  # a tf.function method
    traced = tf.function(python_function, input_signature=signature) if signature else tf.function(python_function)
    return traced, own


# -- The module tree ---------------------------------------------------------------------------------------------


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
        self.modules: list = []  # manifest entries, parents before children
        self.objects: list = []  # the module objects, in the order of `modules`
        self.variables: list = []  # the variable objects, each once
        self._module_index: dict = {}  # id(module object) -> index
        self._variable_index: dict = {}  # id(variable) -> index
        self._trainable: dict = {}  # variable index -> trainable, as the framework of a holder says
        self._visit(root, "", None)

    def _visit(self, root, root_path: str, root_parent) -> None:
        stack = [(root, root_path, root_parent)]
        while stack:
            node, path, parent = stack.pop()
            key = self._key(node)
            index = self._module_index.get(key)
            if index is not None:  # reached again through another attribute path
                self.modules[index]["aliases"].append({"path": path, "parent": parent})
                continue
            index = len(self.modules)
            self._module_index[key] = index
            children, variables = self.members(node)
            self.objects.append(self._object(node))
            self.modules.append({"path": path, "parent": parent, **self.describe(node, path, variables),
                                 "variables": [self._variable(v, trainable) for v, trainable in variables],
                                 "aliases": []})
            for suffix, child in reversed(children):  # (a stack: the first child is visited first)
                stack.append((child, _join_path(path, suffix), index))

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
        return {"version": PAYLOAD_VERSION, "function": function_name or _function_name(concrete),
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


def _is_module(tf, obj) -> bool:
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
    """A tf.Module's child modules and variables, each once, in `tf.Module._flatten`'s order."""
    children, variables, seen = [], [], set()
    if not isinstance(obj, tf.Module):
        return children, variables
    for path, value in obj._flatten(recursive=False, with_path=True,
                                    predicate=lambda v: _is_module(tf, v) or isinstance(v, tf.Variable)):
        if _is_module(tf, value):
            children.append((_path_text(obj, path), value))
        elif id(value) not in seen:
            seen.add(id(value))
            variables.append((value, bool(value.trainable)))
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


def _path_text(obj, path: tuple) -> str:
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
    handle = getattr(tf_variable, "handle", None)
    shape = [None if d is None else int(d) for d in getattr(variable, "shape", ())]
    return {
        "name": str(getattr(variable, "path", None) or variable.name),
        "shape": shape,
        "dtype": _dtype_name(getattr(variable, "dtype", "")),
        "capture": captured.get(id(handle)) if handle is not None else None,
    }


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


# -- Which module's call made each op -----------------------------------------------------------------------------


class CallRecorder:
    """While a function is traced: which ops each module's call created, the innermost call running when
    TensorFlow made the op. The `__call__` of each module class is wrapped for the time of the trace (every class
    first, then each one's original: a subclass and its base both wrapped would count a call twice), and
    TensorFlow's op callbacks (the hook its debugger uses) report each op made. A method other than `__call__`
    is not seen: its ops belong to the call it runs in. Without op callbacks (another TensorFlow) nothing is
    recorded, and the tab places ops by their scopes."""

    def __init__(self, objects: list, running: int | None = None):
        self._index = {id(obj): i for i, obj in enumerate(objects)}
        self._classes = list({type(obj): None for obj in objects})
        self._stack: list = [] if running is None else [running]  # the module whose function is traced, if any
        self._thread = threading.get_ident()
        self._made: dict = {}  # module index -> [(graph, op name)]
        self._graphs: dict = {}  # id(graph) -> graph (kept so that an id is not reused)
        self._restore: list = []
        self._callbacks = None

    def __enter__(self):
        try:
            from tensorflow.python.framework import op_callbacks
        except ImportError:  # pragma: no cover - a TensorFlow without them
            return self
        originals = [(cls, _class_attribute(cls, "__call__")) for cls in self._classes]
        for cls, original in originals:
            if original is None:
                continue
            self._restore.append((cls, cls.__dict__.get("__call__"), "__call__" in cls.__dict__))
            setattr(cls, "__call__", self._wrap(original))
        op_callbacks.add_op_callback(self._on_op)
        self._callbacks = op_callbacks
        return self

    def __exit__(self, *exc) -> None:
        if self._callbacks is not None:
            self._callbacks.remove_op_callback(self._on_op)
        for cls, original, own in reversed(self._restore):
            if own:
                setattr(cls, "__call__", original)
            else:
                delattr(cls, "__call__")

    def _wrap(self, original):
        recorder = self

        def __call__(obj, *args, **kwargs):
            index = recorder._index.get(id(obj))
            bound = original.__get__(obj, type(obj))
            if index is None or threading.get_ident() != recorder._thread:
                return bound(*args, **kwargs)
            recorder._stack.append(index)
            try:
                return bound(*args, **kwargs)
            finally:
                recorder._stack.pop()

        return __call__

    def _on_op(self, op_type, inputs, attrs, outputs, op_name=None, graph=None):
        if graph is not None and self._stack:
            name = outputs[0].op.name if outputs else op_name  # (Const and Placeholder report the name asked for)
            self._graphs[id(graph)] = graph
            self._made.setdefault(self._stack[-1], []).append((id(graph), name))
        return None

    def by_function(self, concrete) -> dict:
        """module index -> {function name: [op names]}: "" for the traced graph itself, else each FunctionDef of
        its library that holds every op of the graph the op was made in but its argument placeholders (a function
        and the forward variant a gradient tape makes of it hold the same ops)."""
        main = concrete.graph
        library = {f.signature.name: {n.name for n in f.node_def} for f in main.as_graph_def().library.function}
        functions: dict = {}
        for key, graph in self._graphs.items():
            if graph is main:
                functions[key] = [""]
            else:
                names = {op.name for op in graph.get_operations() if op.type != "Placeholder"}
                functions[key] = [f for f, nodes in library.items() if names and names <= nodes]
        out: dict = {}
        for index, made in self._made.items():
            calls: dict = {}
            for key, name in made:
                for function in functions.get(key, ()):
                    calls.setdefault(function, []).append(name)
            if calls:
                out[index] = calls
        return out


def _class_attribute(cls, name: str):
    """`name` as `cls` resolves it (the first class of its MRO that defines it), unbound; None if only `object`
    or `type` has it."""
    for klass in cls.__mro__:
        if klass is object:
            return None
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None
