"""A Keras model's JSON (the `TensorBoard` callback's `graph_keras_model` record) as a tree of layers.

Handles Keras 3 (`{"module": "keras", "class_name": ..., "config": {"layers": [...]}}` with `keras_history` in
`inbound_nodes`), tf_keras / Keras 2 (nested-list `inbound_nodes`) and old `Sequential` JSON whose `config` is the
list of layers itself. A layer's config can hold further layers (a `Bidirectional`'s `layer` and
`backward_layer`, a `TimeDistributed`'s `layer`, an RNN's `cell`): they are its children. The JSON holds no
weights: only Keras's own layers that never have any (`InputLayer`, `Dropout`, pooling, merging...) are known to
hold 0 parameters, and a model whose layers are all known holds their sum.
"""

from __future__ import annotations

import json

from .. import schema
from ..errors import GraphError
from ..tree.edges import add_unique, edge_answer
from ..tree.hierarchy import Group, Hierarchy, free_name

MAX_NESTING = 64
_CONFIG_SKIP = {"name", "layers", "input_layers", "output_layers", "dtype", "build_input_shape"}
# Keras's own layers that create no weights whatever their config (Keras 3 writes their module, `keras.layers`).
_WEIGHTLESS = {
    "InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Activation", "ReLU", "Softmax", "LeakyReLU", "ELU", "ThresholdedReLU",
    "Flatten", "Reshape", "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D",
    "AvgPool2D", "AvgPool3D", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "Masking", "Identity", "Rescaling", "Resizing", "CenterCrop", "ActivityRegularization", "UnitNormalization",
}
_MODELS = {"Sequential", "Functional", "Model"}  # containers without weights of their own
_WRAPPERS = {"Bidirectional", "TimeDistributed", "RNN"}  # their weights are their sublayers' (or cell's)


def build_keras_hierarchy(blob: bytes, name: str) -> Hierarchy:
    try:
        model = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise GraphError(f"This Keras model record is not readable JSON ({e}).") from None
    if not isinstance(model, dict) or "class_name" not in model or "config" not in model:
        raise GraphError("This Keras model record is JSON but not a Keras model (no class_name and config).")
    root = Group(_model_name(model) or name, "module", None)
    own: dict = {}  # id(group) -> parameters of its own, where the JSON tells (see _known_params)
    _fill(root, model, 0, own)
    root.facts = _layer_facts(model)
    _note_own_params(root, model, own)
    hierarchy = Hierarchy(root, op_graph=False)
    for group in hierarchy.all_nodes:  # edges were written with child names; the API speaks paths
        for edge in group.edges or []:
            edge["from"], edge["to"] = group.children[edge["from"]].path, group.children[edge["to"]].path
    hierarchy.values = _known_params(root, own)
    return hierarchy


def _known_params(root: Group, own: dict) -> dict:
    """{path: NodeValues} of the layers whose parameter count the JSON tells: Keras's weightless layers hold 0;
    a model or wrapper (`own`: id(group) -> 0, weights of its own) whose children are all known, their sum."""
    values: dict = {}

    def visit(group) -> int | None:
        counts = [visit(child) for child in group.children.values()]
        mine = own.get(id(group))
        total = mine + sum(counts) if mine is not None and None not in counts else None
        if total is not None:
            values[group.path] = schema.NodeValues(num_params=total, **({"num_trainable_params": 0} if not total
                                                                         else {}))
        return total

    visit(root)
    return values


def _model_name(model: dict) -> str:
    config = model.get("config")
    return str(config.get("name", "")) if isinstance(config, dict) else ""


def _layers(model: dict) -> list | None:
    config = model.get("config")
    if isinstance(config, list):  # old Sequential JSON
        return config
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"]
    return None


def _fill(group: Group, model: dict, depth: int, own: dict) -> None:
    """Add a model's layers under `group` and the edges between them."""
    layers = [layer for layer in (_layers(model) or []) if isinstance(layer, dict)]
    by_layer_name = {}
    for layer in layers:
        child = _layer_group(group, layer, own)
        by_layer_name[_layer_name(layer)] = child
        if _layers(layer) is not None and depth < MAX_NESTING:
            _fill(child, layer, depth + 1, own)
        else:
            _fill_sublayers(child, layer, depth + 1, own)
    group.edges = _edges(layers, by_layer_name, model.get("class_name") == "Sequential" or
                         isinstance(model.get("config"), list))


def _layer_name(layer: dict) -> str:
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    return str(layer.get("name") or config.get("name") or layer.get("class_name") or "layer")


def _layer_group(group: Group, layer: dict, own: dict) -> Group:
    child = Group(free_name(group.children, _layer_name(layer).replace("/", "_") or "(empty)"), "module", group)
    child.facts = _layer_facts(layer)
    group.children[child.name] = child
    _note_own_params(child, layer, own)
    return child


def _fill_sublayers(group: Group, layer: dict, depth: int, own: dict) -> None:
    """The layers a layer's config holds (a Bidirectional's `layer` and `backward_layer`), as its children, in
    the config's order; no edges between them (the JSON does not say how the layer calls them)."""
    group.edges = []
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    if depth > MAX_NESTING:
        return
    for value in config.values():
        for item in (value if isinstance(value, list) else [value]):
            if _is_layer_config(item):
                child = _layer_group(group, item, own)
                if _layers(item) is not None:
                    _fill(child, item, depth + 1, own)
                else:
                    _fill_sublayers(child, item, depth + 1, own)


def _is_layer_config(value) -> bool:
    """A serialized layer: a class and a config with the `name` and `trainable` every Keras layer writes (an
    initializer, a regularizer or a dtype policy has neither `trainable`)."""
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        return False
    config = value.get("config")
    return isinstance(config, dict) and "name" in config and isinstance(config.get("trainable"), bool)


def _note_own_params(group: Group, layer: dict, own: dict) -> None:
    """A layer of Keras's own that holds no weights of its own: a weightless one, a model, a wrapper."""
    module = layer.get("module")
    if module is not None and module not in ("keras.layers", "keras", "keras.models"):
        return  # (a class of the user's or another library's: its weights are not known)
    class_name = layer.get("class_name")
    if class_name in _WEIGHTLESS or class_name in _MODELS or class_name in _WRAPPERS:
        own[id(group)] = 0


def _edges(layers: list, by_layer_name: dict, sequential: bool) -> list:
    edges = {}

    def add(source: Group, target: Group, dtype: str, shape: str) -> None:
        edge = edges.setdefault((source.name, target.name), edge_answer(source.name, target.name, 0, [], [], False))
        edge["count"] += 1
        add_unique(edge["dtypes"], dtype)
        add_unique(edge["shapes"], shape)

    children = list(by_layer_name.values())
    has_inbound = any(isinstance(layer.get("inbound_nodes"), list) and layer["inbound_nodes"] for layer in layers)
    if sequential and not has_inbound:
        for source, target in zip(children, children[1:]):
            add(source, target, "", "")
    else:
        for layer, target in zip(layers, children):
            for history, tensor in _inbound(layer.get("inbound_nodes")):
                source = by_layer_name.get(history)
                if source is not None and source is not target:
                    add(source, target, str(tensor.get("dtype", "")), _shape(tensor.get("shape")))
    return list(edges.values())


def _inbound(value, depth: int = 0):
    """(source layer name, tensor config) for every tensor a layer was called on, in either JSON form."""
    if depth > MAX_NESTING:
        return
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, dict) and isinstance(config.get("keras_history"), list) and config["keras_history"]:
            yield str(config["keras_history"][0]), config
            return
        for item in value.values():
            yield from _inbound(item, depth + 1)
    elif isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            yield value[0], {}  # tf_keras: [layer_name, node_index, tensor_index, kwargs]
            return
        for item in value:
            yield from _inbound(item, depth + 1)


def _shape(shape) -> str:
    if not isinstance(shape, list):
        return ""
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"


def _layer_facts(layer: dict) -> schema.ModuleFacts:
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    facts = schema.ModuleFacts(class_name=str(layer.get("class_name", "")))
    if isinstance(config.get("trainable"), bool):
        facts["trainable"] = config["trainable"]
    attrs = {}
    for key, value in config.items():
        if key in _CONFIG_SKIP:
            continue
        if isinstance(value, dict) and "class_name" in value:
            value = value["class_name"]
        text = value if isinstance(value, str) else json.dumps(value)
        attrs[str(key)] = text if len(text) <= 200 else text[:200] + "…"
    facts["attrs"] = attrs
    return facts
