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
    manifest = build_manifest(tf, module, concrete)
    graph_def = concrete.graph.as_graph_def()
    payload = tf.constant([json.dumps(manifest).encode("utf-8"), graph_def.SerializeToString()])
    return bool(tf.summary.write(name, payload, step=step, metadata=summary_metadata(tf)))


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
            "name": str(getattr(obj, "name", "") or type(obj).__name__),
            "class_name": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "scope": _scope_of(obj),
            "variables": [_variable_json(v, captured) for v in variables],
        })
        for suffix, child in children:
            visit(child, f"{path}.{suffix}" if path else suffix, index)

    visit(root, "", None)
    name = function_name or concrete.name
    return {"version": PAYLOAD_VERSION, "function": name.decode() if isinstance(name, bytes) else str(name),
            "modules": modules}


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
        return children, variables
    if isinstance(obj, tf.Module):
        for path, value in obj._flatten(recursive=False, with_path=True,
                                        predicate=lambda v: _is_module(tf, v) or isinstance(v, tf.Variable)):
            if _is_module(tf, value):
                children.append((_path_text(path), value))
            else:
                variables.append(value)
    return children, variables


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


def _scope_of(obj) -> str:
    scope = getattr(obj, "name_scope", None)
    name = getattr(scope, "name", None)
    if isinstance(name, str):
        return name.rstrip("/")
    path = getattr(obj, "path", None)  # Keras 3 layers: `model/dense`
    return path if isinstance(path, str) else str(getattr(obj, "name", ""))


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
