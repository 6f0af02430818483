"""Module records (summary.module_graph): the module objects behind the scopes, written by real TensorFlow."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.helpers.truth import counts
from tests.helpers.answers import make_client, walk
from tests.helpers.answers import client_get as get
from tb_module_plugin.recording import demo as demo_lib
from tb_module_plugin import summary as module_summary

from tests.helpers.traces import tf
from tb_module_plugin.build.module_record import build_module_hierarchy


class Dense(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
            self.b = tf.Variable(tf.zeros([n_out]), name="b")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


class Twin(tf.Module):
    """Two Dense children built under one name, so they share the scope `twin/dense/`."""

    def __init__(self):
        super().__init__(name="twin")
        with self.name_scope:
            self.first = Dense(3, 4, name="dense")
            self.second = Dense(4, 2, name="dense")
            self.frozen = tf.Variable(tf.zeros([5]), trainable=False, name="frozen")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return self.second(self.first(x)) + tf.reduce_sum(self.frozen)


class Unshaped(tf.Module):
    """A module whose variable is made without a static shape (the record says shape null)."""

    def __init__(self, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.v = tf.Variable(tf.ones([2]), shape=tf.TensorShape(None), name="v")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return x * tf.reduce_sum(self.v)


class Stack(tf.Module):
    def __init__(self):
        super().__init__(name="stack")
        with self.name_scope:
            self.parts = [Unshaped(name=f"part_{i}") for i in range(3)]

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            for part in self.parts:
                x = part(x)
            return x


LIVE_KERNEL_SHAPES = {}  # run -> the live Keras layers' kernel shapes, by layer name (set by the fixture)
LIVE_VALUE_SHAPES = {}  # run -> the shapes of the live modules' variables' values, in order (set by the fixture)
LIVE = {}  # run -> {the module's path in the tab: the live module object} (set by the fixture)
BATCH = 2  # the Keras Sequential's example batch


def live_counts(run, path) -> tuple:
    """(parameters, trainable parameters) as the live object of `run` at `path` counts them (corpus.counts:
    Keras's count_params() and trainable_weights, tf.Module's variables and trainable_variables)."""
    return counts(LIVE[run][path])


def write(logdir, run, tag, module, *args, **kwargs):
    writer = tf.summary.create_file_writer(str(logdir / run))
    with writer.as_default():
        assert module_summary.module_graph(tag, module, *args, **kwargs) is True
    writer.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("records")
    twin = Twin()
    write(logdir, "twin", "twin", twin, tf.ones([1, 3]))
    LIVE["twin"] = {"twin": twin, "twin/dense": twin.first, "twin/dense (2)": twin.second}
    model = tf.keras.Sequential([tf.keras.Input((10,)), tf.keras.layers.Dense(4), tf.keras.layers.Dense(2),
                                 tf.keras.layers.Dense(1)], name="seq")
    model.layers[0].trainable = False
    write(logdir, "keras", "seq", model, tf.ones([BATCH, 10]))
    LIVE_KERNEL_SHAPES["keras"] = {layer.name: tuple(layer.kernel.shape) for layer in model.layers}
    LIVE["keras"] = {"seq": model, **{f"seq/{layer.name}": layer for layer in model.layers}}
    stack = Stack()
    write(logdir, "unshaped", "stack", stack, tf.ones([2]))
    LIVE_VALUE_SHAPES["unshaped"] = [tuple(part.v.numpy().shape) for part in stack.parts]
    inner = tf.keras.Sequential([tf.keras.layers.Dense(3, name="a"), tf.keras.layers.Dense(2, name="b")],
                                name="inner")
    inputs = tf.keras.Input((4,))
    nested = tf.keras.Model(inputs, tf.keras.layers.Dense(1, name="head")(inner(inputs)), name="outer")
    write(logdir, "keras_nested", "outer", nested, tf.ones([1, 4]))
    LIVE["keras_nested"] = {"outer": nested, "outer/inner": inner, "outer/inner/a": inner.layers[0],
                            "outer/inner/b": inner.layers[1]}
    demo = demo_lib.demo_module_class(tf)()
    write(logdir, "demo", "addprint", demo, tf.constant(1.0), fn=demo.addprint)
    LIVE["demo"] = {"demo_module": demo}
    return logdir


def module_children(node):
    return {c["name"]: c for c in node["children"] if c["kind"] == "module"}


def test_modules_sharing_a_scope_are_two_nodes_with_their_own_ops(client):
    _, body = get(client, "/graphs")
    assert {"run": "twin", "tag": "twin", "source": "module", "profiled": False} in body["graphs"]
    status, body = get(client, "/hierarchy", run="twin", tag="twin", path="twin", depth=2)
    assert status == 200
    twin = body["node"]
    assert twin["class_name"].endswith("Twin")
    assert (twin["num_params"], twin["num_trainable_params"]) == live_counts("twin", "twin")
    frozen = LIVE["twin"]["twin"].frozen
    assert twin["variables"] == [{"name": frozen.name, "shape": list(frozen.shape), "dtype": "float32",
                                  "trainable": False, "shared": False}]
    dense = module_children(twin)
    assert set(dense) == {"dense", "dense (2)"}
    for name in dense:
        assert (dense[name]["num_params"], dense[name]["num_trainable_params"]) == live_counts("twin", f"twin/{name}")
    assert dense["dense"]["attribute_path"] == "first" and dense["dense (2)"]["attribute_path"] == "second"
    first, second = _leaf_names(client, "twin/dense"), _leaf_names(client, "twin/dense (2)")
    assert "MatMul" in first and "MatMul_1" not in first
    assert "MatMul_1" in second and "MatMul" not in second
    assert {"w", "b"} <= set(first) and {"w", "b"} <= set(second)


def _leaf_names(client, path):
    _, body = get(client, "/hierarchy", run="twin", tag="twin", path=path, depth=3)
    names, stack = [], [body["node"]]
    while stack:
        node = stack.pop()
        names.append(node["name"].strip("()"))
        stack.extend(node.get("children", []))
    return names


def test_keras_sequential_with_a_frozen_layer(client):
    _, body = get(client, "/hierarchy", run="keras", tag="seq", path="seq", depth=1)
    seq = body["node"]
    assert (seq["num_params"], seq["num_trainable_params"]) == live_counts("keras", "seq")
    layers = module_children(seq)
    assert {f"seq/{n}" for n in layers} == set(LIVE["keras"]) - {"seq"}
    for name, layer in layers.items():
        assert (layer["num_params"], layer["num_trainable_params"]) == live_counts("keras", f"seq/{name}"), name
    assert layers["dense"]["frozen"] is True and layers["dense_1"]["frozen"] is False
    assert layers["dense"]["num_ops"] > 0  # the ops reading its kernel found it, though Keras scoped them dense_1


def test_repeat_marks_follow_the_live_layers_kernel_shapes(client):
    """Three Dense layers of one Sequential, kernels (10,4), (4,2), (2,1): none is alike another (they were once
    marked alike). Modules whose variable was made without a static shape record the shape of its value (the
    record once failed on them): counted by it, and alike by it."""
    root = get(client, "/hierarchy", run="keras", tag="seq", depth=3)[1]["node"]
    layers = {n["name"]: n for n, _ in walk(root) if n.get("class_name", "").endswith("Dense")}
    shapes = LIVE_KERNEL_SHAPES["keras"]
    assert set(layers) == set(shapes)
    for name, node in layers.items():
        alike = [other for other in shapes if other != name and shapes[other] == shapes[name]]
        assert ("repeat" in node) == bool(alike), (name, node.get("repeat"), shapes)
    stack = get(client, "/hierarchy", run="unshaped", tag="stack", depth=3)[1]["node"]
    parts = [n for n, _ in walk(stack) if n["name"].startswith("part_")]
    live = LIVE_VALUE_SHAPES["unshaped"]
    assert [(n["variables"][0]["shape"], n["num_params"]) for n in parts] == [
        (list(shape), math.prod(shape)) for shape in live], (parts, live)
    assert [n["repeat"] for n in parts] == [{"key": "part_0", "count": 3, "shapes_compared": True}] * 3


def test_nested_keras_models_keep_their_layers(client):
    _, body = get(client, "/hierarchy", run="keras_nested", tag="outer", path="outer", depth=2)
    outer = body["node"]
    assert (outer["num_params"], outer["num_trainable_params"]) == live_counts("keras_nested", "outer")
    inner = module_children(outer)["inner"]
    assert inner["class_name"].endswith("Sequential")
    assert (inner["num_params"], inner["num_trainable_params"]) == live_counts("keras_nested", "outer/inner")
    assert {n: c["num_params"] for n, c in module_children(inner).items()} == {
        n: live_counts("keras_nested", f"outer/inner/{n}")[0] for n in ("a", "b")}
    assert module_children(inner)["a"]["num_ops"] > 0


def test_demo_module_recorded_with_its_method(client):
    _, body = get(client, "/hierarchy", run="demo", tag="addprint", depth=2)
    demo = next(c for c in body["node"]["children"] if c["name"] == "demo_module")
    assert demo["num_params"] == live_counts("demo", "demo_module")[0] and demo["kind"] == "module"
    assert {"AssignAddVariableOp", "PrintV2"} <= {c["name"] for c in demo["children"]}


def test_damaged_records_are_422(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "bad"))
    metadata = module_summary.summary_metadata(tf)
    with writer.as_default():
        tf.summary.write("future", tf.constant([json.dumps({"version": 99, "modules": []}).encode(), b""]), step=0,
                         metadata=metadata)
        tf.summary.write("truncated", tf.constant([b'{"version": 1, "modules": [{"na', b"\x0a\x03abc"]), step=0,
                         metadata=metadata)
        tf.summary.write("one_blob", tf.constant([b"{}"]), step=0, metadata=metadata)
    writer.close()
    client = make_client(tmp_path)[0]
    for tag, words in (("future", "version 99"), ("truncated", "not readable JSON"), ("one_blob", "damaged")):
        status, body = get(client, "/hierarchy", run="bad", tag=tag)
        assert status == 422 and words in body["error"], (tag, body)


def cli(*args):
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", *map(str, args)], capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def table_rows(out: str) -> dict:
    """The `summary` table's rows: module -> {column: cell}, the columns told apart by two spaces."""
    import re

    lines = [line for line in out.splitlines() if line.strip() and not set(line) <= {"-"}]
    header_line = next(line for line in lines if line.startswith("module"))
    rows = {}
    for line in lines[lines.index(header_line) + 1:]:
        if ":" in line:  # the footer
            continue
        cells = re.split(r"\s{2,}", line.strip())
        name, numbers = cells[0], cells[-3:]
        rows[name] = dict(zip(["params", "trainable", "FLOPs"], numbers), cells=cells)
    return rows


@pytest.mark.live
def test_cli_summary_prints_the_module_table(logdir):
    """Keras-style columns (class, output shape, parameters, trainable, FLOPs) and the footer model.summary()
    users expect; the numbers are the objects' (a Sequential of Dense(4), Dense(2), Dense(1) on 10 inputs, the
    first frozen)."""
    code, out, _ = cli("summary", logdir, "--run", "keras")
    assert code == 0
    rows = table_rows(out)
    for path in LIVE["keras"]:
        name = path.rpartition("/")[2]
        assert (rows[name]["params"], rows[name]["trainable"]) == tuple(map(str, live_counts("keras", path))), name
    n_in, n_out = LIVE_KERNEL_SHAPES["keras"]["dense"]
    assert f"[{BATCH},{n_out}]" in rows["dense"]["cells"]  # its output's shape
    assert rows["dense"]["FLOPs"] == str(2 * BATCH * n_in * n_out + BATCH * n_out)  # MatMul, bias; no activation
    params, trainable = live_counts("keras", "seq")
    for line in (f"Total params: {params}", f"Trainable params: {trainable}",
                 f"Non-trainable params: {params - trainable}", "Total FLOPs: "):
        assert line in out, line
    assert "inputs" not in rows and "inputs" in table_rows(cli("summary", logdir, "--run", "keras", "--all")[1])
    code, out, _ = cli("summary", logdir, "--run", "keras", "--sort", "params")
    assert [name for name in table_rows(out)] == ["seq", "seq/dense", "seq/dense_1", "seq/dense_2"]
    code, out, _ = cli("summary", logdir, "--run", "twin", "--json", "--depth", "2")
    assert code == 0
    twin = next(c for c in json.loads(out)["twin/twin"]["children"] if c["name"] == "twin")
    assert twin["num_params"] == live_counts("twin", "twin")[0]


@pytest.mark.live
def test_cli_errors_are_one_line(tmp_path, logdir):
    code, _, err = cli("summary", tmp_path)
    assert code == 1 and err.startswith("error: no graph in") and len(err.strip().splitlines()) == 1
    code, _, err = cli("savedmodel", tmp_path, "--logdir", tmp_path / "out")
    assert code == 1 and "is not a SavedModel" in err and len(err.strip().splitlines()) == 1


@pytest.mark.live
def test_cli_explains_the_empty_profiler_trace(tmp_path):
    from tensorboard.compat.proto import config_pb2

    from tests.helpers.traces import write_raw

    write_raw(str(tmp_path / "profiled"), "graph_run_metadata", "step", config_pb2.RunMetadata().SerializeToString())
    code, _, err = cli("summary", tmp_path)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "profiler=True" in err and "trace_on(graph=True) alone" in err and "module_graph(" in err


@pytest.mark.live
def test_savedmodel_import_shows_the_tutorial_module(tmp_path):
    demo = demo_lib.demo_module_class(tf)(name="demo_module")
    tf.saved_model.save(demo, str(tmp_path / "saved"), signatures={"serving_default": demo.addprint})
    code, out, err = cli("savedmodel", tmp_path / "saved", "--logdir", tmp_path / "logs" / "imported")
    assert code == 0, err
    status, body = get(make_client(tmp_path / "logs")[0], "/hierarchy", run="imported", tag="savedmodel", depth=3)
    assert status == 200
    module = next(c for c in body["node"]["children"] if c["kind"] == "module")
    assert module["name"] == "demo_module" and module["num_params"] == counts(demo)[0]
    names = json.dumps(module)
    assert "AssignAddVariableOp" in names


@pytest.mark.live
def test_cli_prints_every_readable_record_and_names_each_unreadable_one(tmp_path, logdir):
    """One record that does not read among good ones: the good ones are printed, the bad one's reason is one line
    on stderr, and the exit status says that something failed."""
    import shutil

    from tensorboard.compat.proto import config_pb2

    from tests.helpers.traces import write_raw

    shutil.copytree(logdir, tmp_path / "logs")
    write_raw(str(tmp_path / "logs" / "empty"), "graph_run_metadata_graph", "step",
              config_pb2.RunMetadata().SerializeToString())
    code, out, err = cli("summary", tmp_path / "logs")
    assert code == 1
    assert [line for line in err.splitlines() if line.strip()] == [
        line for line in err.splitlines() if line.startswith("error: empty / step: This trace holds no graph.")]
    assert len(err.strip().splitlines()) == 1 and "profiler" not in err
    for run, tag in (("twin", "twin"), ("keras", "seq"), ("keras_nested", "outer"), ("demo", "addprint")):
        assert f"{run} / {tag} (module)" in out
    code, out, err = cli("summary", tmp_path / "logs", "--json")
    assert code == 1 and set(json.loads(out)) == {"twin/twin", "keras/seq", "keras_nested/outer", "demo/addprint",
                                                  "unshaped/stack"}


def test_records_of_payload_version_1_still_read(logdir):
    """Version 1 listed each module's variables in the module, once per attribute that held them (a tf_keras
    layer's twice), and no calls: each variable still counts once, and ops go by scope."""
    from tensorboard import context

    from tb_module_plugin.cli import main as cli_lib
    from tb_module_plugin.readers import graph as graph_lib
    from tb_module_plugin.readers import manifest as manifest_lib
    from tb_module_plugin.build import sources

    provider = cli_lib.logdir_data_provider(str(logdir))
    ctx = context.RequestContext()
    record = sources.find_record(sources.list_graphs(provider, ctx, ""), "keras", "seq")
    blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
    current = json.loads(blobs[0])
    old = {"version": 1, "function": current["function"], "modules": [
        {key: module[key] for key in ("path", "parent", "name", "class_name", "scope")} | {
            "variables": [current["variables"][i] for i in module["variables"]] * 2}
        for module in current["modules"]]}
    hierarchy = build_module_hierarchy(
        manifest_lib.parse_manifest(json.dumps(old).encode()), graph_lib.parse_graph_def(blobs[1]), [], "seq")
    new = sources.build_hierarchy(record, blobs)
    for path in ("seq", "seq/dense", "seq/dense_1", "seq/dense_2"):
        assert hierarchy.values[path] == new.values[path], path  # parameters, trainable, frozen
        assert hierarchy.find(path).num_ops > 0
    assert len(hierarchy.find("seq/dense").facts["variables"]) == len(LIVE["keras"]["seq/dense"].weights)
