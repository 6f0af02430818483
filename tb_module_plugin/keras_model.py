"""A Keras model's JSON (the `TensorBoard` callback's `graph_keras_model` record) as a tree of layers.

Handles Keras 3 (`{"module": "keras", "class_name": ..., "config": {"layers": [...]}}` with `keras_history` in
`inbound_nodes`), tf_keras / Keras 2 (nested-list `inbound_nodes`) and old `Sequential` JSON whose `config` is the
list of layers itself.
"""

from __future__ import annotations

import json

from . import schema
from .graph import GraphError
from .edges import add_unique, edge_answer
from .tree import Group, Hierarchy, free_name

MAX_NESTING = 64
_CONFIG_SKIP = {"name", "layers", "input_layers", "output_layers", "dtype", "build_input_shape"}


def build_keras_hierarchy(blob: bytes, name: str) -> Hierarchy:
    try:
        model = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise GraphError(f"This Keras model record is not readable JSON ({e}).") from None
    if not isinstance(model, dict) or "class_name" not in model or "config" not in model:
        raise GraphError("This Keras model record is JSON but not a Keras model (no class_name and config).")
    root = Group(_model_name(model) or name, "module", None)
    _fill(root, model, 0)
    root.facts = _layer_facts(model)
    hierarchy = Hierarchy(root, op_graph=False)
    for group in hierarchy.all_nodes:  # edges were written with child names; the API speaks paths
        for edge in group.edges or []:
            edge["from"], edge["to"] = group.children[edge["from"]].path, group.children[edge["to"]].path
    return hierarchy


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


def _fill(group: Group, model: dict, depth: int) -> None:
    """Add a model's layers under `group` and the edges between them."""
    layers = [layer for layer in (_layers(model) or []) if isinstance(layer, dict)]
    by_layer_name = {}
    for layer in layers:
        config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        layer_name = str(layer.get("name") or config.get("name") or layer.get("class_name") or "layer")
        child = Group(free_name(group.children, layer_name.replace("/", "_") or "(empty)"), "module", group)
        child.facts = _layer_facts(layer)
        group.children[child.name] = child
        by_layer_name[layer_name] = child
        if _layers(layer) is not None and depth < MAX_NESTING:
            _fill(child, layer, depth + 1)
        else:
            child.edges = []
    group.edges = _edges(layers, by_layer_name, model.get("class_name") == "Sequential" or
                         isinstance(model.get("config"), list))


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
