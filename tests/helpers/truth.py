"""What live Keras and tf.Module objects say about themselves: the truth the corpus records beside each model
(tests/helpers/corpus.py), computed from the objects, never typed in.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf  # noqa: E402

from tb_module_plugin.recording import calls as calls_lib  # noqa: E402
from tb_module_plugin.recording import module_tree  # noqa: E402

tf.get_logger().setLevel("ERROR")

MAX_PATHS = 64  # attribute paths kept per object (a TensorFlow Probability bijector is reached through dozens)
MAX_PATH_DEPTH = 10


# -- What the objects say ------------------------------------------------------------------------------------------


def is_keras_layer(obj) -> bool:
    return hasattr(obj, "_flatten_layers") and (hasattr(obj, "_trainable_weights") if isinstance(obj, tf.Module)
                                                else hasattr(obj, "_trainable_variables"))


def is_module(obj) -> bool:
    return isinstance(obj, tf.Module) or is_keras_layer(obj)


def keras_sublayers(layer) -> list:
    """What Keras itself lists: a model's `layers` (as `model.summary()` shows), another layer's sublayers."""
    if hasattr(layer, "summary") and isinstance(getattr(layer, "layers", None), list):
        return list(layer.layers)
    return list(layer._flatten_layers(include_self=False, recursive=False))


def edges(obj) -> list:
    """(attribute path, child module) for everything of `obj` that holds a module: Keras's own lists and every
    attribute (public or private, in lists and dicts); a tf.Module's `_flatten` paths, rendered as Python."""
    out = []
    if is_keras_layer(obj):
        if hasattr(obj, "summary") and isinstance(getattr(obj, "layers", None), list):
            out += [(f"layers[{i}]", layer) for i, layer in enumerate(obj.layers)]
        out += [(f"_layers[{i}]", layer) for i, layer in enumerate(getattr(obj, "_layers", []) or [])]
        for key, value in sorted(vars(obj).items()):
            if isinstance(value, (list, tuple)):
                out += [(f"{key}[{i}]", v) for i, v in enumerate(value) if is_module(v)]
            elif isinstance(value, dict):
                out += [(f"{key}[{k!r}]", v) for k, v in value.items() if is_module(v)]
            elif is_module(value):
                out.append((key, value))
    elif isinstance(obj, tf.Module):
        for path, value in obj._flatten(recursive=False, with_path=True, predicate=is_module):
            out.append((module_tree.path_text(obj, path), value))
    return out


def framework_children(obj) -> list:
    """The child modules the framework itself counts (Keras: keras_sublayers; tf.Module: `_flatten`)."""
    if is_keras_layer(obj):
        return keras_sublayers(obj)
    if isinstance(obj, tf.Module):
        return [v for _, v in obj._flatten(recursive=False, with_path=True, predicate=is_module)]
    return []


def join(path: str, suffix: str) -> str:
    return suffix if not path else (path + suffix if suffix.startswith("[") else f"{path}.{suffix}")


def own_variables(obj, state=False) -> list:
    """The variables `obj` holds itself (not through a child module), each once: for a Keras layer its weights,
    or with `state` all its variables (a Keras 3 Dropout's random-seed state is one, not a weight)."""
    if is_keras_layer(obj):
        held = (lambda layer: layer.variables) if state else (lambda layer: layer.weights)
        mine = {id(w): w for w in held(obj)}
        for sub in keras_sublayers(obj):
            for w in held(sub):
                mine.pop(id(w), None)
        return list(mine.values())
    if isinstance(obj, tf.Module):
        return list({id(v): v for v in obj._flatten(recursive=False, predicate=lambda v: isinstance(v, tf.Variable))
                     }.values())
    return []


def size(variable) -> int:
    return int(tf.TensorShape(variable.shape).num_elements() or 0)


def counts(obj) -> tuple:
    """(parameters, trainable parameters) as the framework counts them."""
    if is_keras_layer(obj):
        params = obj.count_params()
        trainable = sum(size(w) for w in {id(w): w for w in obj.trainable_weights}.values())
        return int(params), int(trainable)
    # (tf.Module's own properties: Sonnet's refuse a module none of whose variables is trainable)
    unique = {id(v): v for v in tf.Module.variables.fget(obj)}
    trainable = {id(v): v for v in tf.Module.trainable_variables.fget(obj)}
    return sum(map(size, unique.values())), sum(map(size, trainable.values()))


def handle_of(variable):
    inner = getattr(variable, "value", None)
    tf_variable = inner if inner is not None and hasattr(inner, "handle") else variable
    return getattr(tf_variable, "handle", None)


class Truth:
    """Every module object reachable from `root`, and what it says about itself."""

    def __init__(self, root):
        self.objects: list = []
        self.index: dict = {}
        self.paths: dict = {}  # index -> attribute paths reaching it
        frontier = [(root, "", 0)]
        while frontier:  # every path (up to MAX_PATHS an object), breadth first
            following = []
            for obj, path, depth in frontier:
                i = self.index.get(id(obj))
                if i is None:
                    i = self.index[id(obj)] = len(self.objects)
                    self.objects.append(obj)
                    self.paths[i] = []
                if len(self.paths[i]) >= MAX_PATHS or path in self.paths[i]:
                    continue
                self.paths[i].append(path)
                if depth < MAX_PATH_DEPTH:
                    following += [(child, join(path, suffix), depth + 1) for suffix, child in edges(obj)]
            frontier = following
        counted = {0}  # the modules the framework counts, from the root down
        self.children: dict = {}  # index -> the indices of the child modules the framework counts
        stack = [root]
        while stack:
            obj = stack.pop()
            kids = self.children.setdefault(self.index[id(obj)], [])
            for child in framework_children(obj):
                kids.append(self.index[id(child)])
                if self.index[id(child)] not in counted:
                    counted.add(self.index[id(child)])
                    stack.append(child)
        self.counted = counted
        holders: dict = {}
        for i, obj in enumerate(self.objects):
            for v in own_variables(obj, state=True):
                holders.setdefault(id(v), set()).add(i)
        self.holders = holders

    def json(self, concrete=None, calls=None) -> dict:
        captured = {}
        if concrete is not None:
            captured = {id(external): internal.op.name for external, internal in concrete.graph.captures}
        def variable(v) -> dict:
            return {"name": str(getattr(v, "path", None) or v.name), "size": size(v),
                    "shared": len(self.holders[id(v)]) > 1, "capture": captured.get(id(handle_of(v)))}

        modules = []
        for i, obj in enumerate(self.objects):
            if i not in self.counted:
                continue
            params, trainable = counts(obj)
            own = own_variables(obj)
            modules.append({
                "index": i,
                "class_name": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "name": str(getattr(obj, "name", "") or ""),
                "paths": self.paths[i],
                "children": list(dict.fromkeys(self.children.get(i, []))),
                "num_params": params,
                "num_trainable_params": trainable,
                "own_variables": [variable(v) for v in own],
                # with the variables that are state, not weights (what a trace reads, and where)
                "own_state": [variable(v) for v in own_variables(obj, state=True)],
                "calls": (calls or {}).get(i, {}),
            })
        return {"modules": modules}


class Recorder:
    """calls.CallRecorder over a Truth's objects, for a trace (the plugin reads no such thing from a
    trace: what it shows comes from the graph alone)."""

    def __init__(self, truth: Truth):
        self.truth = truth
        self.calls = calls_lib.CallRecorder(truth.objects)

    def __enter__(self):
        self.calls.__enter__()
        return self

    def __exit__(self, *exc):
        self.calls.__exit__(*exc)

    def by_module(self, concrete) -> dict:
        return self.calls.by_function(concrete)
