"""Models from real libraries, recorded with real TensorFlow, and what their live objects say about themselves.

    python tests/corpus.py LOGDIR [--only NAME ...]

For each model of MODELS this writes, into LOGDIR/<name>_trace and LOGDIR/<name>_record (and for a few, a
SavedModel imported into LOGDIR/<name>_savedmodel), the records a user would write, and into LOGDIR/truth.json
what the live objects said while they were recorded, computed here, never typed in:

- every module object reachable from the model, by the framework's own account (Keras: the model's `layers`,
  each other layer's tracked sublayers; tf.Module: `_flatten`), with every attribute path that reaches it, its
  class, the unique variables it holds and reaches, their parameter counts (Keras: `count_params()`), trainable
  parameters as the framework counts them (Keras: `trainable_weights`; tf.Module: `trainable_variables`);
- for traces and records, which ops each module's call made while the function was traced (the plugin's own
  calls.CallRecorder: `__call__` of each class wrapped, TensorFlow's op callbacks), and which graph input each
  captured variable is.

Nothing is downloaded: applications are built with weights=None, keras-hub backbones from explicit configs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from tb_module_plugin.recording import calls as calls_lib  # noqa: E402
from tb_module_plugin.recording import module_tree  # noqa: E402
from tb_module_plugin import summary as module_summary  # noqa: E402

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


# -- Writing ------------------------------------------------------------------------------------------------------


def fresh(logdir: Path, run: str) -> Path:
    path = logdir / run
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write_trace(logdir: Path, name: str, root, fn, args, tag="step", extra_roots=()) -> dict:
    """trace_on, the first call of `fn` (its trace), trace_export: what a user does. The truth of `root`'s
    modules (and of `extra_roots`, an optimizer, whose variables the step reads too)."""
    truth = Truth(root)
    writer = tf.summary.create_file_writer(str(fresh(logdir, f"{name}_trace")))
    tf.summary.trace_on(graph=True)
    with Recorder(truth) as recorder:
        fn(*args)
    with writer.as_default():
        tf.summary.trace_export(tag, step=0)
    writer.close()
    concrete = fn.get_concrete_function(*args)
    out = {"run": f"{name}_trace", "tag": tag, "source": "trace", "root_name": str(getattr(root, "name", "")),
           **truth.json(concrete, recorder.by_module(concrete))}
    out["other_owners"] = []
    captured = {id(external): internal.op.name for external, internal in concrete.graph.captures}
    for extra in extra_roots:
        variables = list({id(v): v for v in extra.variables}.values())
        out["other_owners"].append({"name": str(getattr(extra, "name", "")), "captures": [
            captured[id(handle_of(v))] for v in variables if id(handle_of(v)) in captured]})
    return out


def write_record(logdir: Path, name: str, root, args, kwargs=None, fn=None, tag="model") -> dict:
    """module_summary.module_graph, as a user calls it; the truth of the modules, and the calls the record
    says each module made (read back from the record itself)."""
    truth = Truth(root)
    writer = tf.summary.create_file_writer(str(fresh(logdir, f"{name}_record")))
    with writer.as_default():
        assert module_summary.module_graph(tag, root, *args, fn=fn, **(kwargs or {}))
    writer.close()
    return {"run": f"{name}_record", "tag": tag, "source": "module", "root_name": str(getattr(root, "name", "")),
            **truth.json()}


def write_savedmodel(logdir: Path, name: str, model, save) -> dict:
    """`save(model, directory)`, then the plugin's own import (`python -m tb_module_plugin savedmodel`)."""
    directory = logdir / ".savedmodels" / name
    shutil.rmtree(directory, ignore_errors=True)
    save(model, str(directory))
    run = fresh(logdir, f"{name}_savedmodel")
    assert module_summary.savedmodel_record(str(directory), str(run), name="savedmodel")
    params, trainable = counts(model)
    return {"run": f"{name}_savedmodel", "tag": "savedmodel", "source": "module", "num_params": params,
            "num_trainable_params": trainable, "layers": {
                layer.name: {"num_params": counts(layer)[0], "class_name": type(layer).__name__}
                for layer in keras_sublayers(model)}}


# -- The models -----------------------------------------------------------------------------------------------------


def train_step(model, loss_fn, optimizer):
    """A training step as users write one for Keras 3 and tf_keras alike: forward, loss, tape, apply."""
    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss
    return step


def keras3_resnet50(logdir: Path) -> list:
    import keras

    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(model.trainable_variables)
    step = train_step(model, keras.losses.SparseCategoricalCrossentropy(), optimizer)
    images, labels = tf.random.uniform([2, 64, 64, 3], seed=2), tf.constant([1, 2], tf.int64)
    trace = write_trace(logdir, "keras3_resnet50", model, step, (images, labels), extra_roots=[optimizer])
    record = write_record(logdir, "keras3_resnet50", keras.applications.ResNet50(
        weights=None, input_shape=(32, 32, 3), classes=10), (tf.ones([1, 32, 32, 3]),))
    return [trace, record]


def _functional(keras):
    """A functional model with a nested Sequential, a frozen layer, batch norm and parameter-free layers, in Keras 3
    (`keras`) or tf_keras (`tf_keras`): the same code builds both."""
    inner = keras.Sequential([keras.layers.Dense(8, activation="relu", name="dense"),
                              keras.layers.BatchNormalization(name="norm"),
                              keras.layers.Dense(4, name="dense_1")], name="inner")
    inputs = keras.Input((6,), name="features")
    x = keras.layers.Dense(6, name="stem")(inputs)
    x = inner(x)
    x = keras.layers.Dropout(0.25, name="dropout")(x)
    y = keras.layers.Dense(3, name="head")(x)
    y = keras.layers.Add(name="add")([y, keras.layers.Dense(3, name="skip")(inputs)])
    y = keras.layers.Softmax(name="softmax")(y)
    model = keras.Model(inputs, y, name="functional")
    model.get_layer("stem").trainable = False
    return model


def keras3_functional(logdir: Path) -> list:
    import keras

    model = _functional(keras)
    optimizer = keras.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    step = train_step(model, keras.losses.MeanSquaredError(), optimizer)
    trace = write_trace(logdir, "keras3_functional", model, step, (tf.ones([4, 6]), tf.ones([4, 3])),
                        extra_roots=[optimizer])
    record = write_record(logdir, "keras3_functional", _functional(keras), (tf.ones([2, 6]),))
    saved = write_savedmodel(logdir, "keras3_functional", _functional(keras),
                             lambda m, d: m.export(d, verbose=False))
    return [trace, record, saved]


def _bert(keras_hub):
    return keras_hub.models.BertBackbone(vocabulary_size=64, num_layers=2, num_heads=2, hidden_dim=16,
                                         intermediate_dim=32, max_sequence_length=12, name="bert")


def keras_hub_bert(logdir: Path) -> list:
    import keras_hub

    backbone = _bert(keras_hub)
    inputs = {"token_ids": tf.ones([2, 12], tf.int32), "segment_ids": tf.zeros([2, 12], tf.int32),
              "padding_mask": tf.ones([2, 12], tf.int32)}
    forward = tf.function(lambda x: backbone(x))
    trace = write_trace(logdir, "keras_hub_bert", backbone, forward, (inputs,), tag="forward")
    record = write_record(logdir, "keras_hub_bert", _bert(keras_hub), (inputs,))
    return [trace, record]


def tf_keras_functional(logdir: Path) -> list:
    import tf_keras

    model = _functional(tf_keras)
    optimizer = tf_keras.optimizers.SGD(0.01, momentum=0.9)
    step = train_step(model, tf_keras.losses.MeanSquaredError(), optimizer)
    trace = write_trace(logdir, "tf_keras_functional", model, step, (tf.ones([4, 6]), tf.ones([4, 3])),
                        extra_roots=[optimizer])
    record = write_record(logdir, "tf_keras_functional", _functional(tf_keras), (tf.ones([2, 6]),))
    saved = write_savedmodel(logdir, "tf_keras_functional", _functional(tf_keras),
                             lambda m, d: m.save(d, save_format="tf"))
    plain = write_savedmodel(logdir, "tf_keras_functional_plain", _functional(tf_keras), tf.saved_model.save)
    return [trace, record, saved, plain]


def _sonnet_net():
    import sonnet as snt

    class ConvNet(snt.Module):
        """An MLP, a conv + batch-norm stack, and two Linear modules built with one name."""

        def __init__(self):
            super().__init__(name="convnet")
            self.stack = [snt.Conv2D(4, 3, name="conv_0"), snt.BatchNorm(True, True, name="bn_0"),
                          snt.Conv2D(4, 3, name="conv_1"), snt.BatchNorm(True, True, name="bn_1")]
            self.mlp = snt.nets.MLP([8, 4], name="mlp")
            self.first = snt.Linear(3, name="twin")
            self.second = snt.Linear(3, name="twin")

        def __call__(self, images, features):
            h = images
            for i in range(0, len(self.stack), 2):
                h = tf.nn.relu(self.stack[i + 1](self.stack[i](h), is_training=True))
            return self.second(self.first(self.mlp(features))) + tf.reduce_mean(h)

    return ConvNet()


def sonnet_convnet(logdir: Path) -> list:
    args = (tf.ones([2, 6, 6, 3]), tf.ones([2, 5]))
    net = _sonnet_net()
    net(*args)  # Sonnet creates its variables on the first call
    trace = write_trace(logdir, "sonnet_convnet", net, tf.function(lambda a, b: net(a, b)), args)
    net = _sonnet_net()
    net(*args)
    record = write_record(logdir, "sonnet_convnet", net, args)
    return [trace, record]


def _flow():
    import tensorflow_probability as tfp

    tfb = tfp.bijectors

    class Flow(tf.Module):
        """A trainable bijector chain: the flow holds its variables, and so do the bijectors."""

        def __init__(self):
            super().__init__(name="flow")
            with self.name_scope:
                self.shift = tf.Variable(tf.zeros([3]), name="shift")
                self.log_scale = tf.Variable(tf.zeros([3]), name="log_scale")
                self.chain = tfb.Chain([tfb.Shift(self.shift), tfb.Scale(log_scale=self.log_scale)])
                self.base = tfp.distributions.Normal(tf.zeros([3]), 1.0)
                self.dist = tfp.distributions.TransformedDistribution(self.base, self.chain)

        @tf.function
        def __call__(self, x):
            return self.dist.log_prob(x)

    return Flow()


def tfp_flow(logdir: Path) -> list:
    flow = _flow()
    trace = write_trace(logdir, "tfp_flow", flow, flow.__call__, (tf.ones([2, 3]),))
    record = write_record(logdir, "tfp_flow", _flow(), (tf.ones([2, 3]),))
    return [trace, record]


def _rnn():
    class Cell(tf.Module):
        def __init__(self, width, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = tf.Variable(tf.fill([width, width], 0.1), name="w")
                self.u = tf.Variable(tf.fill([width, width], 0.2), name="u")
                self.b = tf.Variable(tf.zeros([width]), name="b")

        @tf.function
        def __call__(self, x, h):
            with self.name_scope:
                return tf.tanh(tf.matmul(x, self.w) + tf.matmul(h, self.u) + self.b)

    class RNN(tf.Module):
        """A cell (a nested tf.function) called inside tf.while_loop and tf.cond, and a readout."""

        def __init__(self, width=4, name="rnn"):
            super().__init__(name=name)
            with self.name_scope:
                self.cell = Cell(width, name="cell")
                self.readout = tf.Variable(tf.ones([width, 1]), name="readout")

        @tf.function
        def __call__(self, xs):
            with self.name_scope:
                h = tf.zeros([2, 4])

                def body(i, h):
                    h = tf.cond(tf.reduce_sum(h) > 100.0, lambda: h, lambda: self.cell(xs[i], h))
                    return i + 1, h

                _, h = tf.while_loop(lambda i, h: i < 3, body, (tf.constant(0), h))
                return tf.matmul(h, self.readout)

    return RNN()


def rnn(logdir: Path) -> list:
    model = _rnn()
    trace = write_trace(logdir, "rnn", model, model.__call__, (tf.ones([3, 2, 4]),))
    record = write_record(logdir, "rnn", _rnn(), (tf.ones([3, 2, 4]),))
    return [trace, record]


MODELS = {
    "keras3_resnet50": keras3_resnet50,
    "keras3_functional": keras3_functional,
    "keras_hub_bert": keras_hub_bert,
    "tf_keras_functional": tf_keras_functional,
    "sonnet_convnet": sonnet_convnet,
    "tfp_flow": tfp_flow,
    "rnn": rnn,
}


def main(argv=None, models=None) -> int:
    """Write `models` (default MODELS: {name: writer(logdir) -> truth entries}) as the command line asks."""
    models = MODELS if models is None else models
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logdir")
    parser.add_argument("--only", nargs="+", choices=sorted(models))
    args = parser.parse_args(argv)
    logdir = Path(args.logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    truth_path = logdir / "truth.json"
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
    for name in args.only or models:
        print(f"writing {name} ...", flush=True)
        for entry in models[name](logdir):
            entry["model"] = name
            truth[entry["run"]] = entry
    truth_path.write_text(json.dumps(truth, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
