"""A trace of a Keras 3 layer with weights called more than once (a siamese branch, a Python loop): each call made a
scope of its own (`shared_1`, `shared_3`...), and the layer must hold every call's forward ops and gradients, as a
module record shows it. A tied embedding (a layer reading another's variable) is not a call and stays as it was.

Truth from the live objects of the process that wrote the traces: the ops each call of the layer made (its
`__call__` notes the graph's ops before and after), the gradient ops TensorFlow made under each call's scope, the
captured variables of the layer (matched by handle), and count_params()."""

import hashlib
import json
import time

import pytest

from tests.helpers.compare_models import load
from tests.helpers.processes import cache_key, cached_logdir, run_python
from tb_module_plugin.build import later_calls
from tb_module_plugin.measures import backward
from tb_module_plugin.measures.time import times_for
from tb_module_plugin.readers import profiles
from tb_module_plugin.tree.hierarchy import ops_under

WRITER = r'''
import json, os, sys
import tensorflow as tf
import keras
tf.get_logger().setLevel("ERROR")
LOGDIR = sys.argv[1]
TRUTH = {}


class NotesCalls:
    """A layer that notes the names of the ops each of its calls makes in a traced function."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def __call__(self, *args, **kwargs):
        if not tf.inside_function():
            return super().__call__(*args, **kwargs)
        graph = tf.compat.v1.get_default_graph()
        before = {op.name for op in graph.get_operations()}
        out = super().__call__(*args, **kwargs)
        self.calls.append([op.name for op in graph.get_operations() if op.name not in before])
        return out


class Noted(NotesCalls, keras.layers.Dense):
    pass


def captured_args(fn, args, variables):
    """The names of the `_Arg`s a trace holds for `variables` (the placeholders the traced function captures them
    by, lower case, `/` as `_`)."""
    graph = fn.get_concrete_function(*args).graph
    handles = {id(v.value.handle if hasattr(v, "value") else v.handle) for v in variables}
    return graph, sorted(internal.op.name.lower().replace("/", "_") for external, internal in graph.captures
                         if id(external) in handles)


def trace(run, fn, args, *layers):
    """Trace `fn`; the truth of each layer under `run` (the first) and `run:name` (the others)."""
    writer = tf.summary.create_file_writer(os.path.join(LOGDIR, run))
    tf.summary.trace_on(graph=True)
    fn(*args)
    with writer.as_default():
        tf.summary.trace_export(name="step", step=0)
    writer.close()
    for i, layer in enumerate(layers):
        graph, variables = captured_args(fn, args, layer.weights)
        names = [op.name for op in graph.get_operations()]
        captures = {internal.op.name for _, internal in graph.captures}  # (a trace's `_Arg`s: variables, not ops)
        truth = {"variables": variables, "count_params": layer.count_params(),
                 "sizes": sum(int(tf.size(w)) for w in layer.weights),
                 "calls": [[n for n in call if n not in captures] for call in layer.calls]}
        # The gradient ops TensorFlow made for each call: under the tape's scope, named after the call's scope.
        scopes = [os.path.commonprefix([n + "/" for n in call]).rpartition("/")[0] for call in layer.calls]
        truth["gradients"] = [[n for n in names if n.startswith(f"gradient_tape/{scope}/")] for scope in scopes]
        TRUTH[run if i == 0 else f"{run}:{layer.name}"] = truth


def siamese(branch):
    """A siamese model: `branch` on two inputs, concatenated, a head; its SGD step (a tf.function)."""
    a, b = keras.Input((12,), name="a"), keras.Input((12,), name="b")
    x = keras.layers.Concatenate(name="cat")([branch(a), branch(b)])
    model = keras.Model([a, b], keras.layers.Dense(2, name="head")(x), name="siamese")
    opt = keras.optimizers.SGD(0.01)
    opt.build(model.trainable_variables)
    lossf = keras.losses.MeanSquaredError()
    for layer in [branch] + list(getattr(branch, "layers", [])):
        if isinstance(layer, NotesCalls):
            layer.calls.clear()  # (the functional model's own tracing, outside the step)

    @tf.function
    def step(xa, xb, y):
        with tf.GradientTape() as tape:
            loss = lossf(y, model([xa, xb], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return step


# One Dense shared by the two inputs: traced, then later steps profiled, as README's custom loop does.
shared = Noted(8, activation="relu", name="shared")
siamese_step = siamese(shared)
batch = (tf.ones([4, 12]), tf.ones([4, 12]), tf.ones([4, 2]))
trace("siamese", siamese_step, batch, shared)
siamese_step(*batch)
tf.profiler.experimental.start(os.path.join(LOGDIR, "siamese"))
for _ in range(3):
    siamese_step(*batch)
tf.profiler.experimental.stop()

# A shared sub-model: a Sequential encoder of two Dense layers on both inputs.
encoder = keras.Sequential([Noted(8, activation="relu", name="d1"), Noted(4, name="d2")], name="enc")
trace("encoder", siamese(encoder), batch, *encoder.layers)


# A layer applied three times in a Python loop.
class Loop(keras.Model):
    def __init__(self):
        super().__init__(name="loop")
        self.enc = keras.layers.Dense(6, name="enc")
        self.step_layer = Noted(6, activation="tanh", name="step_layer")

    def call(self, x):
        h = self.enc(x)
        for _ in range(3):
            h = self.step_layer(h)
        return h


loop = Loop()
loop(tf.ones([2, 5]))
loop.step_layer.calls.clear()
trace("loop", tf.function(lambda x: loop(x)), (tf.ones([2, 5]),), loop.step_layer)


# Tied embeddings: keras_hub's ReversibleEmbedding (its `reverse=True` call multiplies by the transposed table),
# and a hand-written output layer reading another layer's kernel transposed.
import keras_hub


class NotedEmbedding(NotesCalls, keras_hub.layers.ReversibleEmbedding):
    pass


class Tied(keras.Model):
    def __init__(self):
        super().__init__(name="tied")
        self.emb = NotedEmbedding(40, 8, name="emb")
        self.mix = keras.layers.Dense(8, activation="relu", name="mix")

    def call(self, tokens):
        return self.emb(self.mix(self.emb(tokens)), reverse=True)


tied = Tied()
tokens = tf.constant([[1, 2, 3], [4, 5, 6]])
tied(tokens)
tied.emb.calls.clear()
trace("tied_embedding", tf.function(lambda t: tied(t)), (tokens,), tied.emb)


class TiedOut(keras.layers.Layer):
    """Logits from the input projection's kernel, transposed (no weights of its own)."""

    def __init__(self, source, **kwargs):
        super().__init__(**kwargs)
        self.source = source

    def call(self, x):
        return keras.ops.matmul(x, keras.ops.transpose(self.source.kernel))


class TiedDense(keras.Model):
    def __init__(self):
        super().__init__(name="tied_dense")
        self.proj = Noted(8, use_bias=False, name="proj")
        self.mid = keras.layers.Dense(8, activation="relu", name="mid")
        self.out = TiedOut(self.proj, name="out")

    def call(self, x):
        return self.out(self.mid(self.proj(x)))


tied_dense = TiedDense()
tied_dense(tf.ones([2, 6]))
tied_dense.proj.calls.clear()
trace("tied_dense", tf.function(lambda x: tied_dense(x)), (tf.ones([2, 6]),), tied_dense.proj)

with open(os.path.join(LOGDIR, "truth.json"), "w") as f:
    json.dump(TRUTH, f)
'''


@pytest.fixture(scope="module")
def traced():
    # (keyed by the writer's code and the versions it runs with, not by the tests below it)
    versions = cache_key([], ("tensorflow-cpu", "tensorflow", "keras", "keras-hub"))
    key = hashlib.sha256(f"{WRITER}\n{versions}".encode()).hexdigest()[:16]
    logdir = cached_logdir("shared_calls", key, lambda tmp: run_python(["-c", WRITER, str(tmp)]))
    return logdir, json.loads((logdir / "truth.json").read_text())


def _module_of(hierarchy, variables: list):
    """The tree's group holding the layer's captured variables (where the trace puts the layer)."""
    holders = {op.parent for op in ops_under(hierarchy.root) if op.role == "variable" and op.op_name in variables}
    assert len(holders) == 1, holders
    (module,) = holders
    return module


def _forward_and_backward(module) -> tuple:
    forward, backward_ops = set(), set()
    for child in module.children.values():
        into = backward_ops if child.role == "backward" else forward
        into.update(op.op_name for op in ([child] if child.children is None else ops_under(child)) if not op.role)
    return forward, backward_ops


@pytest.mark.parametrize("key", ["siamese", "loop", "encoder", "encoder:d2"])
def test_a_layer_called_again_holds_every_calls_ops(traced, key):
    """Each call's forward ops are in the layer, the layer's own or a shared sub-model's (`encoder`)."""
    logdir, truth = traced
    want = truth[key]
    assert len(want["calls"]) == (3 if key == "loop" else 2) and all(want["calls"])
    hierarchy = load(logdir, key.partition(":")[0], "step")
    module = _module_of(hierarchy, want["variables"])
    assert module.kind == "module"
    forward, _ = _forward_and_backward(module)
    made = {name for call in want["calls"] for name in call}
    assert forward == made, (sorted(made - forward), sorted(forward - made))
    # Its parameters once: it holds the layer's variables, and no call's scope holds another copy.
    assert len(want["variables"]) == 2 and want["sizes"] == want["count_params"]
    held = sorted(op.op_name for op in ops_under(module) if op.role == "variable")
    assert held == want["variables"]


@pytest.mark.parametrize("key", ["siamese", "encoder", "encoder:d2"])
def test_a_shared_layers_backward_holds_both_calls_gradients(traced, key):
    logdir, truth = traced
    want = truth[key]
    hierarchy = load(logdir, key.partition(":")[0], "step")
    module = _module_of(hierarchy, want["variables"])
    _, placed = _forward_and_backward(module)
    assert backward.holds_backward(hierarchy, module)
    for gradients in want["gradients"]:
        assert gradients and set(gradients) <= placed, sorted(set(gradients) - placed)
    # No gradient of the layer is left with the backward pass of a model above it.
    gradients = {name for names in want["gradients"] for name in names}
    model = module.parent
    while model is not hierarchy.root:
        assert not gradients & {op.op_name for child in model.children.values() if child.role == "backward"
                                for op in ops_under(child)}, model.name
        model = model.parent


def test_a_shared_layers_time_holds_both_calls(traced):
    """The profiled time of every op both calls made, forward and backward, is the layer's (before, a later call's
    share was the model's)."""
    logdir, truth = traced
    want = truth["siamese"]
    hierarchy = load(logdir, "siamese", "step")
    op_times = profiles.read_op_times(profiles.profile_files(str(logdir), "siamese"))
    names = {name for ops in want["calls"] + want["gradients"] for name in ops}
    later = {name for ops in want["calls"][1:] + want["gradients"][1:] for name in ops}
    per_step = lambda chosen: sum(ps for name, ps in op_times.total_ps.items() if name in chosen) / op_times.steps / 1e6
    assert per_step(later) > 0
    module = _module_of(hierarchy, want["variables"])
    # (a kernel fused across a call's edge, `MatMul+BiasAdd`, keeps the time on one op of the chain: within it)
    assert times_for(hierarchy, op_times).time_of(module) == pytest.approx(per_step(names), rel=0.05)


@pytest.mark.parametrize("run", ["tied_embedding", "tied_dense"])
def test_tied_weights_are_not_taken_for_a_call(traced, run, monkeypatch):
    """A layer reading another's variable (a tied embedding's logits) is not a second call: the tree is the one the
    build makes without the rule, and the reading ops are outside the variable's module."""
    logdir, truth = traced
    want = truth[run]
    assert len(want["calls"]) == (2 if run == "tied_embedding" else 1) and all(want["calls"])
    hierarchy = load(logdir, run, "step")
    paths = {op.op_name: op.path for op in ops_under(hierarchy.root)}
    module = _module_of(hierarchy, want["variables"])
    forward, _ = _forward_and_backward(module)
    assert set(want["calls"][0]) <= forward  # (the first call: the layer's)
    readers = {op.op_name for op in ops_under(hierarchy.root) if not op.role and op.parent is not module
               and any(p.role == "variable" and p.op_name in want["variables"] for p, _, _ in op.inputs)}
    assert readers - forward  # (the tied read: elsewhere)
    for call in want["calls"][1:]:  # (the embedding's `reverse=True` call: a tied read too, not moved)
        assert not set(call) & forward
    monkeypatch.setattr(later_calls, "place_later_calls", lambda *args: {})
    unchanged = load(logdir, run, "step")
    assert paths == {op.op_name: op.path for op in ops_under(unchanged.root)}


def test_the_rule_moves_later_calls_only(traced, monkeypatch):
    """Without the rule the later calls are plain scopes beside the layer (what traces showed before); the rule
    moves their ops and nothing else."""
    logdir, truth = traced
    want = truth["loop"]
    after = {op.op_name: op.path for op in ops_under(load(logdir, "loop", "step").root)}
    monkeypatch.setattr(later_calls, "place_later_calls", lambda *args: {})
    before_tree = load(logdir, "loop", "step")
    before = {op.op_name: op.path for op in ops_under(before_tree.root)}
    later = {name for call in want["calls"][1:] for name in call}
    assert {name for name, path in after.items() if before[name] != path} == later
    module = _module_of(before_tree, want["variables"])
    assert not later & {op.op_name for op in ops_under(module)}


def test_a_deeply_nested_later_call_is_judged_without_recursion():
    """A later call of a chain of modules nested deeper than Python's recursion limit (built here: each module
    reads its own captured variable, the later call's scopes read the same ones with the same ops): each level goes
    into its module, every op is placed, the build stays quick."""
    from tensorboard.compat.proto import attr_value_pb2, types_pb2

    from tests.helpers.records import graph_def
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.readers import graph as graph_lib

    depth = 1100
    resource = {"T": attr_value_pb2.AttrValue(type=types_pb2.DT_RESOURCE)}
    # (the deepest module's variable first: judged first, its chain of calls is judged from the bottom up)
    nodes = [("x", "_Arg", [])] + [(f"v{k}", "_Arg", [], resource) for k in reversed(range(depth))]
    for call in ("m", "c"):  # (the first call's scopes, then the later call's)
        scope, previous = "net", "x"
        for k in range(depth):
            scope += f"/{call}{k}"
            nodes += [(f"{scope}/ReadVariableOp", "ReadVariableOp", [f"v{k}"]),
                      (f"{scope}/MatMul", "MatMul", [previous, f"{scope}/ReadVariableOp"])]
            previous = f"{scope}/MatMul"
    start = time.process_time()
    hierarchy = build.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(nodes)),
                                                                [], []), "t")
    seconds = time.process_time() - start
    assert "c0" not in hierarchy.root.children["net"].children  # (no later call left beside the modules)
    for op in ops_under(hierarchy.root):
        if not op.role:
            k = int(op.op_name.rsplit("/", 2)[-2][1:])  # (the level whose scope made it)
            module = op.parent
            while module.kind != "module":
                module = module.parent
            assert module.name == f"m{k}", (op.op_name, module.path[-40:])
    assert seconds < 20, seconds
