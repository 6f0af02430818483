"""A SavedModel's object graph as a module tree, for `summary.savedmodel_record` (needs TensorFlow).

Objects of a loaded SavedModel are `_UserObject`s, not the classes that were saved; the SavedModel's own object
graph (`saved_model.pb`) says what each was: Keras metadata (tf_keras and Keras 2 write a layer's `class_name`
and `name`), each variable once (one node, however many lists and attributes hold it), and whether Keras counted
it as trainable (the holder's `trainable_variables` list). Its children names are the attribute paths. A Keras 3
`model.export()` keeps no layers (the root holds every variable), and a second copy of each variable under
another node (`_all_variables`, skipped with the other private attributes), which the functions do not use.
A variable is its object-graph node: two variables may share a name and a shape (the query, key and value
kernels of a subclassed model's attention layer are all `.../kernel [32,4,8]`), so nothing is merged by name.
"""

from __future__ import annotations

import json
import os

from .module_tree import ModuleTree
from ..readers.protos import message_class

# Object-graph nodes that hold other objects without being a module.
_CONTAINERS = {"trackable_list_wrapper", "trackable_dict_wrapper", "trackable_tuple_wrapper"}
# Children that are serialization plumbing, not attributes a person wrote: tf_keras's `keras_api` (its layers
# again, for Keras's loader), the signatures, and Keras's variable lists (their variables are the holder's).
_SKIPPED = {"keras_api", "signatures"}
_VARIABLE_LISTS = {"variables", "trainable_variables", "non_trainable_variables", "trainable_weights",
                   "non_trainable_weights", "weights", "regularization_losses"}


def objects(tf, loaded) -> list:
    """The loaded SavedModel's objects below its root (their concrete functions are graphs to record too)."""
    out, stack, seen = [], [loaded], {id(loaded)}
    while stack:
        obj = stack.pop()
        for _, child in _children(tf, obj):
            if id(child) not in seen:
                seen.add(id(child))
                out.append(child)
                stack.append(child)
    return out


def _children(tf, obj) -> list:
    try:
        return list(tf.train.TrackableView(obj).children(obj).items())
    except (TypeError, ValueError, AttributeError):
        return []


class SavedModelTree(ModuleTree):
    """ModuleTree of a loaded SavedModel: the tree from its object graph, the variables as loaded objects (their
    handles are what the functions capture)."""

    def __init__(self, tf, path: str, loaded):
        from tensorflow.core.protobuf import saved_model_pb2

        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            saved_model = saved_model_pb2.SavedModel.FromString(f.read())
        self._nodes = saved_model.meta_graphs[0].object_graph_def.nodes
        self._keras = keras_metadata(path)
        self._loaded = {0: loaded}  # node id -> loaded object
        super().__init__(tf, 0)

    def _key(self, node_id):
        return node_id

    def _object(self, node_id):
        return self._loaded.get(node_id)

    def members(self, node_id) -> tuple:
        """([(attribute path, child node id)], [(variable, trainable)]) of one object-graph node."""
        obj = self._loaded.get(node_id)
        loaded_children = dict(_children(self.tf, obj)) if obj is not None else {}
        children, variables, trainable_lists = [], [], []
        stack = [(child.local_name, child.node_id, loaded_children.get(child.local_name), True)
                 for child in self._nodes[node_id].children]
        stack.reverse()
        while stack:
            name, child_id, child_obj, direct = stack.pop()
            if direct and (name.startswith("_") or name in _SKIPPED):
                continue
            if child_obj is not None:
                self._loaded.setdefault(child_id, child_obj)
            node = self._nodes[child_id]
            kind = node.WhichOneof("kind")
            if kind == "variable":
                variables.append(child_id)
            elif kind == "user_object" and node.user_object.identifier in _CONTAINERS:
                items = dict(_children(self.tf, child_obj)) if child_obj is not None else {}
                inner = [(f"{name}[{c.local_name}]" if c.local_name.isdigit() else f"{name}[{c.local_name!r}]",
                          c.node_id, items.get(c.local_name), False) for c in node.children]
                if direct and name == "trainable_variables":
                    trainable_lists.append({c.node_id for c in node.children})
                if direct and name in _VARIABLE_LISTS:
                    inner = [item for item in inner if self._nodes[item[1]].WhichOneof("kind") == "variable"]
                stack.extend(reversed(inner))
            elif kind == "user_object" and node.user_object.identifier != "signature_map":
                children.append((name, child_id))
        # tf_keras names each layer `layer-<i>` (its place in the model) and, if it has weights, also
        # `layer_with_weights-<j>`: the first reads better and keeps the model's order.
        children.sort(key=lambda child: child[0].startswith("layer_with_weights-"))
        unique, seen = [], set()
        for child_id in variables:
            if child_id in seen or _is_random_state(self._nodes[child_id].variable):
                continue  # one node held by several lists
            seen.add(child_id)
            obj = self._loaded.get(child_id)
            if obj is None:
                continue
            listed = [child_id in ids for ids in trainable_lists]
            unique.append((obj, any(listed) if listed else bool(self._nodes[child_id].variable.trainable)))
        return children, unique

    def describe(self, node_id, path: str, variables: list) -> dict:
        """name and class_name of a node: from its Keras metadata where the SavedModel has some (tf_keras's
        `model.save` writes it), else what the object graph says it was saved as (`Keras layer`)."""
        user_object = self._nodes[node_id].user_object
        metadata = self._keras.get(node_id) or user_object.metadata
        try:
            metadata = json.loads(metadata) if metadata else {}
        except ValueError:
            metadata = {}
        metadata = metadata if isinstance(metadata, dict) else {}
        name = metadata.get("name") if isinstance(metadata.get("name"), str) else ""
        if not name:
            name = _common_prefix([str(getattr(v, "name", "")) for v, _ in variables]) or (
                path.rsplit(".", 1)[-1] if path else "model")
        class_name = metadata.get("class_name") if isinstance(metadata.get("class_name"), str) else ""
        return {"name": name, "class_name": class_name or _SAVED_AS.get(user_object.identifier, ""), "scope": ""}


# What an object of a SavedModel without Keras metadata was saved as (`tf.saved_model.save` of a tf_keras model).
_SAVED_AS = {"_tf_keras_layer": "Keras layer", "_tf_keras_input_layer": "Keras InputLayer",
             "_tf_keras_network": "Keras model", "_tf_keras_model": "Keras model",
             "_tf_keras_sequential": "Keras Sequential", "_tf_keras_rnn_layer": "Keras RNN layer",
             "_tf_keras_metric": "Keras metric"}


def keras_metadata(path: str) -> dict:
    """node id -> the JSON tf_keras's `model.save` keeps in `keras_metadata.pb` (a `SavedMetadata` message:
    repeated SavedObject nodes = 1, each with node_id = 2 and metadata = 5), or {} where there is none."""
    try:
        with open(os.path.join(path, "keras_metadata.pb"), "rb") as f:
            data = f.read()
    except OSError:
        return {}
    message = message_class("tb_module_plugin_keras_metadata", "SavedMetadata", (
        ("SavedObject", (("node_id", 2, "int32", False), ("metadata", 5, "string", False))),
        ("SavedMetadata", (("nodes", 1, "SavedObject", True),)),
    ))
    try:
        return {node.node_id: node.metadata for node in message.FromString(data).nodes}
    except Exception:  # noqa: BLE001 - a damaged file: the object graph alone still says what it can
        return {}


def _is_random_state(variable) -> bool:
    """A Keras 3 SeedGenerator's state (a Dropout's): a variable Keras does not count among the layer's weights,
    which its export lists with them."""
    return variable.name.rsplit("/", 1)[-1] == "seed_generator_state"


def _common_prefix(names: list) -> str:
    """The scopes all `names` share (`seq/d1/kernel:0`, `seq/d2/bias:0` -> `seq`)."""
    parts = [n.split("/")[:-1] for n in names if "/" in n]
    if not parts:
        return ""
    common = parts[0]
    for other in parts[1:]:
        i = 0
        while i < min(len(common), len(other)) and common[i] == other[i]:
            i += 1
        common = common[:i]
    return common[-1] if common else ""

