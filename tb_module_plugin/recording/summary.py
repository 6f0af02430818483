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

from ..schema import PLUGIN_NAME
from .calls import CallRecorder, class_attribute
from .module_tree import PAYLOAD_VERSION, ModuleTree, concrete_function_name, is_module


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
    manifest, concrete = trace_record(tf, module, fn, args, kwargs)
    return write_record(tf, name, manifest, [concrete], step)


def trace_record(tf, module, fn, args: tuple, kwargs: dict) -> tuple:
    """(the record's manifest, the traced ConcreteFunction) of `fn` (see module_graph) on the example arguments."""
    _refuse_unless_module(tf, module)
    before = ModuleTree(tf, module)
    traced, own = _fresh_function(tf, module, fn)
    with CallRecorder(before.objects, running=0 if own else None) as calls:
        concrete = traced.get_concrete_function(*args, **kwargs)
    # A first call may make the variables (an unbuilt Keras model's, a Sonnet module's; TensorFlow then traces
    # once more without making them and keeps that graph): the walk before it saw none of them.
    tree = ModuleTree(tf, module)
    if [id(obj) for obj in tree.objects] != [id(obj) for obj in before.objects]:
        # It also made modules (a layer's `build` making its sublayers), whose calls were not watched: trace
        # afresh now that they exist.
        traced, own = _fresh_function(tf, module, fn)
        with CallRecorder(tree.objects, running=0 if own else None) as calls:
            concrete = traced.get_concrete_function(*args, **kwargs)
    return tree.manifest(concrete, calls.by_function(concrete)), concrete


def _refuse_unless_module(tf, module) -> None:
    """A record describes a tf.Module or a Keras layer; anything else would read as a module holding nothing
    ("0 parameters"). An object `tf.saved_model.load` returns is neither: the classes and layers it was saved
    from are not in memory, its SavedModel directory's object graph says them."""
    if is_module(tf, module):
        return
    raise ValueError(
        f"module_graph records a tf.Module or a Keras layer or model, not a {type(module).__name__}. For an "
        "object loaded with tf.saved_model.load, record its SavedModel directory instead: "
        "`python -m tb_module_plugin savedmodel PATH --logdir LOGDIR/RUN` "
        "(or tb_module_plugin.summary.savedmodel_record(PATH, LOGDIR/RUN)).")


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
        written = write_record(tf, name, tree.manifest(functions[0], {}), functions, 0)
    writer.close()
    return written


def write_record(tf, name: str, manifest: dict, functions: list, step) -> bool:
    """Blobs: the manifest, the traced graph, then the graphs of further functions (`other_functions`)."""
    manifest["other_functions"] = [concrete_function_name(f) for f in functions[1:]]
    # What the traced function returns and must run (its stateful ops, as TensorFlow's automatic control dependencies
    # list them): what it computes for nothing else, TensorFlow never runs (measures/liveness.py). Its GraphDef
    # does not say: a FuncGraph's has no _Retval nodes.
    graph = functions[0].graph
    manifest["returns"] = [t.name for t in graph.outputs] + ["^" + op.name for op in graph.control_outputs]
    # (add_shapes: every op's output shapes, which FLOPs are counted from)
    blobs = [json.dumps(manifest).encode("utf-8")] + [f.graph.as_graph_def(add_shapes=True).SerializeToString()
                                                       for f in functions]
    return bool(tf.summary.write(name, tf.constant(blobs), step=step, metadata=summary_metadata(tf)))



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
        fn = class_attribute(type(module), "__call__")
        fn = fn.__get__(module, type(module)) if getattr(fn, "python_function", None) is None else fn
    python_function = getattr(fn, "python_function", None)
    if python_function is None:
        own = getattr(fn, "__self__", None) is module
        return (fn if hasattr(fn, "get_concrete_function") else tf.function(fn)), own
    signature = getattr(fn, "input_signature", None)
    own = getattr(python_function, "__self__", None) is module
    method = getattr(python_function, "__name__", None)
    declared = class_attribute(type(module), method) if isinstance(method, str) else None
    if not own and getattr(declared, "python_function", None) is python_function:
        python_function, own = functools.partial(python_function, module), True  # a tf.function method
    traced = tf.function(python_function, input_signature=signature) if signature else tf.function(python_function)
    return traced, own


