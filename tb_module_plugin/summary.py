"""Recording API: write a module and its traced graph as one record the Modules tab reads.

    import tb_module_plugin.summary as module_summary
    with writer.as_default():
        module_summary.module_graph("model", model, tf.ones([1, 10]))

Name scopes are only strings; this record also holds the module objects behind them (class, attribute path,
owned variables, trainable or frozen) and which graph inputs are which variables, so the tab can attribute every
op that reads a variable to the module instance that owns it, even when two modules share a scope.
Needs TensorFlow (imported lazily: the plugin itself runs without it).
"""

from __future__ import annotations

import json

from . import PLUGIN_NAME

PAYLOAD_VERSION = 1


def module_graph(name, module, *args, fn=None, step=None, **kwargs) -> bool:
    """Trace `fn` (default: `module.__call__`) on the example arguments and write the record.

    `fn` may be a `tf.function` or any callable (e.g. `demo.addprint`). Written to the default summary writer at
    `step` (default: `tf.summary.experimental.get_step()`, then 0). Returns whether a record was written (False
    when there is no default writer), like `tf.summary` ops.
    """
    import tensorflow as tf

    if step is None:
        step = tf.summary.experimental.get_step()
    if step is None:
        step = 0
    concrete = _concrete_function(tf, module, fn, args, kwargs)
    return _write(tf, name, build_manifest(tf, module, concrete), [concrete], step)


def savedmodel_record(path: str, logdir: str, name: str = "savedmodel") -> bool:
    """Write the record of a SavedModel directory: its object graph as the module tree (children names are the
    attribute paths), its variables, and the graphs of its signatures (`serving_default` first) and other
    concrete functions. Raises ValueError for a path that is not a SavedModel."""
    import tensorflow as tf

    if not tf.saved_model.contains_saved_model(path):
        raise ValueError(f"{path} is not a SavedModel directory (no saved_model.pb in it).")
    loaded = tf.saved_model.load(path)
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    functions = [signatures.pop("serving_default")] if "serving_default" in signatures else []
    functions += [signatures[key] for key in sorted(signatures)]
    for _, child in _trackable_children(tf, loaded):
        functions += [f for f in getattr(child, "concrete_functions", []) if f not in functions]
    if not functions:
        raise ValueError(f"The SavedModel at {path} has no signature or function to show.")
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        written = _write(tf, name, build_manifest(tf, loaded, functions[0]), functions, 0)
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


def _concrete_function(tf, module, fn, args, kwargs):
    if fn is None:
        fn = module.__call__
    if hasattr(fn, "get_concrete_function"):
        return fn.get_concrete_function(*args, **kwargs)
    return tf.function(fn).get_concrete_function(*args, **kwargs)


def build_manifest(tf, root, concrete, function_name: str | None = None) -> dict:
    """The module tree reachable from `root`, and the capture placeholder of each variable the graph reads."""
    captured = {}  # id(handle tensor) -> placeholder op name in the traced graph
    for external, internal in concrete.graph.captures:
        captured[id(external)] = internal.op.name
    modules = []
    seen = set()

    def visit(obj, path: str, parent: int | None) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        index = len(modules)
        children, variables = _members(tf, obj)
        modules.append({
            "path": path,
            "parent": parent,
            "name": _module_name(obj, variables, path),
            "class_name": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "scope": _scope_of(obj, variables),
            "variables": [_variable_json(v, captured) for v in variables],
        })
        for suffix, child in children:
            visit(child, f"{path}.{suffix}" if path else suffix, index)

    visit(root, "", None)
    return {"version": PAYLOAD_VERSION, "function": function_name or _function_name(concrete), "modules": modules}


def _is_module(tf, obj) -> bool:
    if isinstance(obj, tf.Module):
        return True
    try:
        import keras
    except ImportError:  # pragma: no cover - Keras comes with TensorFlow
        return False
    return isinstance(obj, keras.layers.Layer)


def _members(tf, obj) -> tuple:
    """(attribute path, child module) pairs and the variables `obj` owns directly."""
    children = []
    variables = []
    if _is_keras3_layer(obj):
        sublayers = list(getattr(obj, "layers", None) or getattr(obj, "_layers", []))
        names = {id(v): k for k, v in vars(obj).items() if not k.startswith("_")}
        for i, layer in enumerate(sublayers):
            children.append((names.get(id(layer), f"layers[{i}]"), layer))
        variables = list(getattr(obj, "_trainable_variables", [])) + list(getattr(obj, "_non_trainable_variables", []))
    elif isinstance(obj, tf.Module):
        for path, value in obj._flatten(recursive=False, with_path=True,
                                        predicate=lambda v: _is_module(tf, v) or isinstance(v, tf.Variable)):
            if _is_module(tf, value):
                children.append((_path_text(path), value))
            else:
                variables.append(value)
    else:  # an object of a loaded SavedModel: its object graph's children are its attributes
        for path, child in _trackable_children(tf, obj):
            if isinstance(child, tf.Variable):
                variables.append(child)
            elif type(child).__name__ == "_UserObject" or _is_module(tf, child):
                children.append((path, child))
    return children, variables


def _trackable_children(tf, obj, prefix: str = "", depth: int = 0) -> list:
    """(attribute path, object) of a SavedModel object's children; lists and dicts are walked (`blocks[2]`)."""
    out = []
    try:
        items = tf.train.TrackableView(obj).children(obj).items()
    except (TypeError, ValueError, AttributeError):
        return out
    for key, child in items:
        if key.startswith("_") or key == "signatures":
            continue
        path = f"{prefix}[{key}]" if prefix and key.isdigit() else f"{prefix}.{key}" if prefix else key
        if type(child).__name__ in ("ListWrapper", "_DictWrapper", "_TupleWrapper") and depth < 8:
            out += _trackable_children(tf, child, path, depth + 1)
        else:
            out.append((path, child))
    return out


def _module_name(obj, variables: list, path: str) -> str:
    """`module.name` / the Keras layer name; a loaded SavedModel object has none: the scope of its variables."""
    name = getattr(obj, "name", None)
    if isinstance(name, str) and name:
        return name
    scope = _common_variable_scope(variables)
    return scope.rsplit("/", 1)[-1] if scope else (path.rsplit(".", 1)[-1] if path else type(obj).__name__)


def _common_variable_scope(variables: list) -> str:
    scopes = [str(getattr(v, "name", "")).rsplit("/", 1)[0] for v in variables if "/" in str(getattr(v, "name", ""))]
    return scopes[0] if scopes and all(s == scopes[0] for s in scopes) else ""


def _is_keras3_layer(obj) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, keras.layers.Layer) and not hasattr(obj, "_flatten")


def _path_text(path: tuple) -> str:
    """('blocks', 2, 'up') -> `blocks[2].up`, as a person would write the attribute."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _scope_of(obj, variables: list) -> str:
    scope = getattr(obj, "name_scope", None)
    name = getattr(scope, "name", None)
    if isinstance(name, str):
        return name.rstrip("/")
    path = getattr(obj, "path", None)  # Keras 3 layers: `model/dense`
    return path if isinstance(path, str) else _common_variable_scope(variables)


def _variable_json(variable, captured: dict) -> dict:
    inner = getattr(variable, "value", None)  # a Keras 3 variable wraps the tf.Variable the graph captures
    tf_variable = inner if inner is not None and hasattr(inner, "handle") else variable
    handle = getattr(tf_variable, "handle", None)
    shape = [None if d is None else int(d) for d in getattr(variable, "shape", ())]
    return {
        "name": str(getattr(variable, "path", None) or variable.name),
        "shape": shape,
        "dtype": _dtype_name(getattr(variable, "dtype", "")),
        "trainable": bool(variable.trainable),  # a Keras variable knows its layer is frozen; its tf.Variable not
        "capture": captured.get(id(handle)) if handle is not None else None,
    }


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)
