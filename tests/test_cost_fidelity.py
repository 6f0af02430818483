"""Counts that must not drift on everyday code: SavedModels whose variables share names, loops, op types without a
FLOPs rule, and XLA steps. Real TensorFlow, expected values worked out here from the live objects."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.helpers.answers import make_client, walk
from tests.helpers.answers import client_get as get
from tests.helpers.processes import TensorBoard, run_python
from tb_module_plugin import summary as module_summary

from tests.helpers.traces import tf
from tb_module_plugin.measures.costs import count_costs
from tb_module_plugin.serve import answers as answers_lib


@pytest.fixture(autouse=True)
def fresh_keras_names():
    """Keras numbers its layers' names per process (`dense`, `dense_1`...): the layers made here must not rename
    those of the tests that run after them."""
    yield
    import keras

    keras.backend.clear_session()


def hierarchy(logdir, run, tag, depth=8):
    status, body = get(make_client(logdir)[0], "/hierarchy", run=run, tag=tag, depth=depth)
    assert status == 200, body
    return body["node"]


def cli(*args):
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", *map(str, args)], capture_output=True,
                            text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def modules(tree):
    return [n for n, _ in walk(tree) if n["kind"] == "module"]


# -- SavedModels ---------------------------------------------------------------------------------------------------

def test_keras3_export_of_a_subclassed_model_counts_each_variable_once(tmp_path):
    """Layers built on their first call name their variables alike (the attention layer's query, key and value
    kernels are all `<model>/kernel [32,4,8]`): each is its own variable all the same."""
    import keras

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.attention = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
            self.out = keras.layers.Dense(16)

        def call(self, x):
            return self.out(self.attention(x, x))

    model = Net()
    model(tf.ones([2, 5, 32]))
    model.export(str(tmp_path / "saved"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    keys = [(v.name, tuple(v.shape)) for v in loaded.variables]
    assert len(set(keys)) < len(keys)  # (the case in point: variables that share a name and a shape)
    assert module_summary.savedmodel_record(str(tmp_path / "saved"), str(tmp_path / "logs" / "net"))
    tree = hierarchy(tmp_path / "logs", "net", "savedmodel")
    top = [c for c in tree["children"] if c["kind"] == "module"]
    assert sum(c["num_params"] for c in top) == model.count_params()
    assert sum(c["num_trainable_params"] for c in top) == sum(math.prod(w.shape) for w in model.trainable_weights)


class _Dense(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.ones([n_in, n_out]))
        self.b = tf.Variable(tf.zeros([n_out]))

    def __call__(self, x):
        return tf.nn.relu(x @ self.w + self.b)


def test_a_tf_module_savedmodels_total_flops_are_its_functions_once(tmp_path):
    """The signature and the function it calls are one computation: the footer counts it once."""
    class MLP(tf.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = _Dense(10, 20), _Dense(20, 3)

        @tf.function(input_signature=[tf.TensorSpec([4, 10])])
        def __call__(self, x):
            return self.second(self.first(x))

    mlp = MLP()
    tf.saved_model.save(mlp, str(tmp_path / "saved"))
    batch = 4
    expected = sum(2 * batch * d.w.shape[0] * d.w.shape[1] + 2 * batch * d.w.shape[1]  # matmul; bias add, relu
                   for d in (mlp.first, mlp.second))
    code, out, err = cli("savedmodel", tmp_path / "saved", "--logdir", tmp_path / "logs" / "mlp")
    assert code == 0, err
    assert hierarchy(tmp_path / "logs", "mlp", "savedmodel", depth=1)["flops"] == expected
    code, out, err = cli("summary", tmp_path / "logs")
    assert code == 0, err
    assert f"Total FLOPs: {expected / 1e3:.3g}k ({expected:,}) for one call" in out, out


# -- loops ---------------------------------------------------------------------------------------------------------

class _Cell(tf.Module):
    def __init__(self, size):
        super().__init__(name="cell")
        with self.name_scope:
            self.w = tf.Variable(tf.ones([size, size]) * 0.01, name="w")

    @tf.Module.with_name_scope
    def __call__(self, h):
        return tf.tanh(h @ self.w)


class _Loop(tf.Module):
    def __init__(self, size, trips=None):
        super().__init__(name="loop")
        self.trips = trips
        with self.name_scope:
            self.cell = _Cell(size)

    def run(self, h, n=None):
        bound = self.trips if n is None else n
        return tf.while_loop(lambda i, h: i < bound, lambda i, h: (i + 1, self.cell(h)), (tf.constant(0), h))[1]

    def ranged(self, h):
        for _ in tf.range(self.trips):  # (autograph makes it a tf.while_loop stepping by range's delta)
            h = self.cell(h)
        return h

    def capped(self, h):
        """A data-dependent condition beside maximum_iterations: trips is the most it runs."""
        return tf.while_loop(lambda i, h: tf.reduce_sum(h) < 1e9, lambda i, h: (i + 1, self.cell(h)),
                             (tf.constant(0), h), maximum_iterations=self.trips)[1]

    def limited(self, h):
        """A counter's bound beside a larger maximum_iterations: the counter's is what it runs."""
        return tf.while_loop(lambda i, h: i < self.trips, lambda i, h: (i + 1, self.cell(h)),
                             (tf.constant(0), h), maximum_iterations=self.trips + 3)[1]

    inner_trips = 2

    def nested(self, h):
        def outer(i, h):
            inner = tf.while_loop(lambda j, h: j < self.inner_trips, lambda j, h: (j + 1, self.cell(h)),
                                  (tf.constant(0), h))[1]
            return i + 1, inner
        return tf.while_loop(lambda i, h: i < self.trips, outer, (tf.constant(0), h))[1]


def _cell_flops(cell, batch):
    size_in, size_out = cell.w.shape
    return 2 * batch * size_in * size_out + batch * size_out  # matmul, tanh


def _cell_node(tree):
    return next(n for n in modules(tree) if n["name"] == "cell")


def test_a_loop_of_known_trip_count_counts_its_body_that_many_times(tmp_path):
    batch, size, trips = 2, 8, 5
    writer = tf.summary.create_file_writer(str(tmp_path / "logs" / "loops"))
    with writer.as_default():
        bounded = _Loop(size, trips)
        assert module_summary.module_graph("bound", bounded, tf.ones([batch, size]), fn=bounded.run)
        limited = _Loop(size, trips + 2)
        assert module_summary.module_graph("limited", limited, tf.ones([batch, size]), fn=limited.limited)
        ranged = _Loop(size, trips + 1)
        assert module_summary.module_graph("ranged", ranged, tf.ones([batch, size]), fn=tf.function(ranged.ranged))
        nested = _Loop(size, trips - 2)
        assert module_summary.module_graph("nested", nested, tf.ones([batch, size]), fn=nested.nested)
    writer.close()
    for tag, loop, times in (("bound", bounded, bounded.trips), ("limited", limited, limited.trips),
                             ("ranged", ranged, ranged.trips), ("nested", nested, nested.trips * nested.inner_trips)):
        tree = hierarchy(tmp_path / "logs", "loops", tag)
        cell = _cell_node(tree)
        assert cell["flops"] == times * _cell_flops(loop.cell, batch), (tag, cell)
        assert "flops" not in cell.get("cost_unknown", []), (tag, cell)
        assert "flops_per_iteration" not in cell and "flops_loop_bound" not in cell, (tag, cell)
        assert tree["flops"] >= cell["flops"] and "flops_per_iteration" not in tree and "flops_loop_bound" not in tree


def test_a_loop_counted_at_its_maximum_iterations_says_at_most(tmp_path):
    """A data-dependent condition beside maximum_iterations may end the loop sooner: its maximum is a bound, said so
    in the API and on the command line, never shown as exact."""
    batch, size, trips = 2, 8, 7
    loop = _Loop(size, trips)
    writer = tf.summary.create_file_writer(str(tmp_path / "logs" / "loops"))
    with writer.as_default():
        assert module_summary.module_graph("capped", loop, tf.ones([batch, size]), fn=loop.capped)
    writer.close()
    tree = hierarchy(tmp_path / "logs", "loops", "capped")
    cell = _cell_node(tree)
    assert cell["flops"] == trips * _cell_flops(loop.cell, batch)  # the most it runs
    for node in (cell, tree):
        assert node["flops_loop_bound"] is True and "flops" in node["cost_unknown"], node
        assert "flops_per_iteration" not in node and "flops_uncounted" not in node, node
    code, out, err = cli("summary", tmp_path / "logs")
    assert code == 0, err
    assert "Total FLOPs: at most" in out and "maximum_iterations" in out, out
    assert any(line.split()[-1].startswith("<=") for line in out.splitlines() if line.strip().startswith("cell"))


def test_a_loop_of_unknown_trip_count_says_per_iteration(tmp_path):
    batch, size = 2, 8
    loop = _Loop(size)
    writer = tf.summary.create_file_writer(str(tmp_path / "logs" / "loops"))
    with writer.as_default():
        assert module_summary.module_graph("open", loop, tf.ones([batch, size]), tf.constant(3), fn=loop.run)
    writer.close()
    tree = hierarchy(tmp_path / "logs", "loops", "open")
    cell = _cell_node(tree)
    assert cell["flops"] == _cell_flops(loop.cell, batch)  # one iteration, and it says so
    assert cell["flops_per_iteration"] is True and "flops" in cell["cost_unknown"]
    assert tree["flops_per_iteration"] is True and "flops" in tree["cost_unknown"]
    code, out, err = cli("summary", tmp_path / "logs")
    assert code == 0, err
    assert "Total FLOPs: at least" in out and "per iteration" in out, out
    assert any(line.split()[-1].startswith(">=") for line in out.splitlines() if line.strip().startswith("cell"))


def _int_const(value):
    from tensorboard.compat.proto import attr_value_pb2, types_pb2

    attr = attr_value_pb2.AttrValue()
    attr.tensor.dtype = types_pb2.DT_INT32
    attr.tensor.int_val.append(value)
    return {"value": attr}


def _counting_loop(cond_nodes, cond_out, limit):
    """A cond of `cond_nodes` (args i, maxit, x; `lim` a Const `limit`) and a body stepping i by 1 and keeping maxit."""
    from tests.helpers.records import function_def

    cond = function_def("cond", [("lim", "Const", [], _int_const(limit))] + cond_nodes, {"out": cond_out},
                        args=("i", "maxit", "x"))
    body = function_def("body", [("one", "Const", [], _int_const(1)), ("add", "AddV2", ["i", "one:output:0"]),
                                 ("r", "Relu", ["x"])], {"i2": "add:z:0", "m2": "maxit", "y": "r:activations:0"},
                        args=("i", "maxit", "x"))
    return cond, body


def test_a_data_dependent_condition_beside_a_bound_makes_the_trip_count_a_most():
    from tb_module_plugin.readers.loops import loop_trips

    starts = {0: 0, 1: 1000}.get  # the While's inputs: i from 0, maximum_iterations 1000
    capped = [("c1", "Less", ["i", "maxit"]), ("s", "Sum", ["x"]), ("c2", "Less", ["s:output:0", "lim:output:0"]),
              ("and", "LogicalAnd", ["c1:z:0", "c2:z:0"])]
    trips = loop_trips(*_counting_loop(capped, "and:z:0", 10), starts)
    assert (trips.count, trips.at_most) == (1000, True)
    both = [("c1", "Less", ["i", "maxit"]), ("c2", "Less", ["i", "lim:output:0"]),
            ("and", "LogicalAnd", ["c1:z:0", "c2:z:0"])]
    trips = loop_trips(*_counting_loop(both, "and:z:0", 10), starts)
    assert (trips.count, trips.at_most) == (10, False)


def test_a_damaged_loop_condition_is_read_once_per_node():
    """LogicalAnds that each name the one before twice (2**60 paths to walk without memory), and one that is its own
    input (a walk that never ends): each node is read once."""
    import signal
    import time

    from tb_module_plugin.readers.loops import loop_trips

    levels = 60
    nodes, previous = [("c", "Less", ["i", "lim:output:0"])], "c"
    for k in range(levels):
        nodes.append((f"and{k}", "LogicalAnd", [f"{previous}:z:0", f"{previous}:z:0"]))
        previous = f"and{k}"
    nodes += [("self", "LogicalAnd", ["self:z:0", "self:z:0"]), ("top", "LogicalAnd", [f"{previous}:z:0", "self:z:0"])]

    def hung(signum, frame):
        raise AssertionError("the walk over the cond's LogicalAnds did not end")

    previous_handler = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)  # (without memory the walk would not end: fail, not hang)
    start = time.monotonic()
    try:
        diamond = loop_trips(*_counting_loop(nodes[:-2], f"{previous}:z:0", 5), {0: 0}.get)
        looped = loop_trips(*_counting_loop(nodes, "top:z:0", 5), {0: 0}.get)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_handler)
    assert time.monotonic() - start < 5
    assert (diamond.count, diamond.at_most) == (5, False)
    assert looped.count == 5  # (the cycle adds no bound)


def _in_process(graph):
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.readers import graph as graph_lib

    flat = graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph), [], [])
    return build.build_graph_hierarchy(flat, "t")


def _shaped(dims):
    from tensorboard.compat.proto import attr_value_pb2

    attr = attr_value_pb2.AttrValue()
    shape = attr.list.shape.add()
    for d in dims:
        shape.dim.add(size=d)
    return {"_output_shapes": attr}


def test_a_loop_under_a_deep_name_is_counted_in_time():
    """The loops around an op are found from its call prefix once per prefix, not by cutting a 3000-scope-deep
    prefix at every '/' (quadratic)."""
    import time

    from tests.helpers.records import function_def, graph_def

    ops = 100
    body = function_def("body", [(f"r{k}", "Relu", ["x"], _shaped([4])) for k in range(ops)], {"y": "r0:activations:0"})
    cond = function_def("cond", [("c", "Identity", ["x"])], {"out": "c:output:0"})
    deep = "/".join(f"q{i % 7}" for i in range(8000))
    h = _in_process(graph_def([("x", "Placeholder", [], _shaped([4])),
                               (f"{deep}/w", "While", ["x"], {"cond": "cond", "body": "body"})], [cond, body]))
    h.costs = None
    start = time.monotonic()
    count_costs(h)
    assert time.monotonic() - start < 3
    assert h.costs.flops_of(h.root) == ops * 4 and h.costs.flops_per_iteration(h.root)  # (no trip count: once)


def test_the_command_line_marks_a_most_and_a_mix_of_bounds():
    """A loop counted at its maximum_iterations (`<=`) beside an op no rule counts (`>=`): the total is neither."""
    from tests.helpers.records import function_def, graph_def
    from tb_module_plugin.cli import table

    scalar = _shaped([])
    cond = function_def("cond", [("lim", "Const", [], {**_int_const(10), **scalar}),
                                 ("c1", "Less", ["i", "maxit"], scalar), ("s", "Sum", ["x"], scalar),
                                 ("c2", "Less", ["s:output:0", "lim:output:0"], scalar),
                                 ("and", "LogicalAnd", ["c1:z:0", "c2:z:0"], scalar)], {"out": "and:z:0"},
                        args=("i", "maxit", "x"))
    body = function_def("body", [("one", "Const", [], {**_int_const(1), **scalar}),
                                 ("add", "AddV2", ["i", "one:output:0"], scalar), ("r", "Relu", ["x"], _shaped([4]))],
                        {"i2": "add:z:0", "m2": "maxit", "y": "r:activations:0"}, args=("i", "maxit", "x"))
    h = _in_process(graph_def([("i0", "Const", [], {**_int_const(0), **scalar}),
                               ("maxit", "Const", [], {**_int_const(5), **scalar}),
                               ("x", "Placeholder", [], _shaped([4])),
                               ("m/w", "While", ["i0", "maxit", "x"], {"cond": "cond", "body": "body"}),
                               ("n/custom", "MyOp", ["x"], _shaped([4]))], [cond, body]))
    out = table.format_table(h, 2)
    rows = {line.split()[0]: line.split()[-1] for line in out.splitlines() if line[:2] in ("m ", "n ")}
    assert rows["m"].startswith("<=") and rows["n"].startswith(">="), out
    assert "Total FLOPs: about" in out and "MyOp" in out and "maximum_iterations" in out, out


def test_a_call_left_unexpanded_makes_flops_a_lower_bound(monkeypatch):
    """A function calling itself, and a call past the expansion budget, stay single ops: what they run is not
    counted, and the FLOPs above them say so."""
    from tests.helpers.records import function_def, graph_def
    from tb_module_plugin.readers import budget as budget_lib

    relu = ("r", "Relu", ["x"], _shaped([4, 4]))
    again = function_def("f", [relu, ("again", "PartitionedCall", ["r:activations:0"], {"f": "f"})],
                         {"y": "again:output:0"})
    once = function_def("f", [relu], {"y": "r:activations:0"})

    def graph(function):
        return graph_def([("x", "Placeholder", [], _shaped([4, 4])), ("m/relu", "Relu", ["x"], _shaped([4, 4])),
                          ("m/call", "PartitionedCall", ["m/relu"], {"f": "f", **_shaped([4, 4])})], [function])

    recursive = answers_lib.node_json(_in_process(graph(again)), "", 3)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_OPS", 0)
    monkeypatch.setattr(budget_lib, "MAX_EXPANDED_BODIES", 0)
    monkeypatch.setattr(budget_lib, "BUDGET_PER_LIBRARY_OP", 0)
    budget = answers_lib.node_json(_in_process(graph(once)), "", 3)
    assert budget["unexpanded_ops"] == 1
    for root, relus in ((recursive, 2), (budget, 1)):
        assert root["flops"] == relus * 4 * 4  # the Relus it expanded
        assert root["flops_uncounted"] == ["PartitionedCall (not expanded)"] and "flops" in root["cost_unknown"]
        call = next(n for n, _ in walk(root) if n["kind"] == "op" and n["op"] == "PartitionedCall")
        assert call["flops"] == 0 and call["flops_uncounted"] == ["PartitionedCall (not expanded)"], call


# -- op types without a rule ---------------------------------------------------------------------------------------

class _Scan(tf.Module):
    """A matmul, then a Cumsum: an op type no FLOPs rule counts."""

    def __init__(self):
        super().__init__(name="scan")
        with self.name_scope:
            self.w = tf.Variable(tf.ones([6, 4]), name="w")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return tf.math.cumsum(x @ self.w, axis=1)


def _write_scan(logdir, batch):
    scan = _Scan()
    writer = tf.summary.create_file_writer(str(logdir / "scan"))
    with writer.as_default():
        assert module_summary.module_graph("scan", scan, tf.ones([batch, 6]))
    writer.close()
    return scan


def test_an_op_type_without_a_rule_makes_flops_a_lower_bound_that_names_it(tmp_path):
    from tb_module_plugin.measures import costs

    batch = 3
    scan = _write_scan(tmp_path / "logs", batch)
    concrete = tf.function(scan.__call__).get_concrete_function(tf.ones([batch, 6]))
    uncounted = sorted({op.type for op in concrete.graph.get_operations() if not costs.counted(op.type)})
    assert uncounted == ["Cumsum"]  # (what the graph holds that no rule counts: the case in point)
    tree = hierarchy(tmp_path / "logs", "scan", "scan")
    module = next(n for n in modules(tree) if n["name"] == "scan")
    assert module["flops"] == 2 * batch * 6 * 4  # the matmul's are counted still
    assert module["flops_uncounted"] == uncounted and "flops" in module["cost_unknown"]
    assert tree["flops_uncounted"] == uncounted and "flops" in tree["cost_unknown"]
    cumsum = next(n for n, _ in walk(module) if n["kind"] == "op" and n["op"] == "Cumsum")
    assert cumsum["flops"] == 0 and cumsum["flops_uncounted"] == ["Cumsum"]
    matmul = next(n for n, _ in walk(module) if n["kind"] == "op" and n["op"] == "MatMul")
    assert "flops_uncounted" not in matmul and "cost_unknown" not in matmul


def test_the_page_says_a_lower_bound_and_why(page, tmp_path):
    from playwright.sync_api import expect

    from tests.helpers.browser import assert_clean, click_centre, node, sel

    batch = 3
    scan = _write_scan(tmp_path, batch)
    expected = 2 * batch * scan.w.shape[0] * scan.w.shape[1]
    with TensorBoard(tmp_path, name="lower-bound", min_graphs=1) as tb:
        page.goto(tb.entry_url("scan", "scan"))
        expect(node(page, "scan")).to_be_visible(timeout=60_000)
        click_centre(page, page, "scan")
        details = page.locator(sel("data-details-for", "scan"))
        expect(details).to_contain_text(f"at least {expected} FLOPs: Cumsum not counted", timeout=30_000)
        assert_clean(page)


# -- XLA steps -----------------------------------------------------------------------------------------------------

def _write_xla_trace(logdir):
    """A trace of a tf.function(jit_compile=True) call: TensorFlow records only the eager ops' one-op graphs; and
    the module_graph record of the same function, which the message points to."""
    cell = _Cell(4)
    step = tf.function(lambda x: cell(x), jit_compile=True)
    writer = tf.summary.create_file_writer(str(logdir / "xla"))
    tf.summary.trace_on(graph=True)
    step(tf.ones([2, 4]))
    with writer.as_default():
        tf.summary.trace_export("xla_step", step=0)
        assert module_summary.module_graph("recorded", cell, tf.ones([2, 4]), fn=step)
    writer.close()
    return cell


def _write_xla_trace_alone(logdir):
    """_write_xla_trace in a process of its own, as a user's script runs: in a process that ran other functions
    before (the tests before this one), TensorFlow's trace of the XLA call also holds some of their graphs."""
    run_python(f"from pathlib import Path; from tests.test_cost_fidelity import _write_xla_trace; "
               f"_write_xla_trace(Path({str(logdir)!r}))")
    return _Cell(4)  # (the same cell as the one written: its variables' shapes are what the truth needs)


@pytest.mark.live  # (a process of its own writes the trace)
def test_an_xla_trace_says_why_it_holds_no_graph_and_how_to_record_one(tmp_path):
    cell = _write_xla_trace_alone(tmp_path)
    client = make_client(tmp_path)[0]
    status, body = get(client, "/hierarchy", run="xla", tag="xla_step", depth=1)
    assert status == 422
    assert "jit_compile=True" in body["error"] and "module_graph(" in body["error"], body
    status, body = get(client, "/graphs", first=1)
    listed = next(g for g in body["graphs"] if g["tag"] == "xla_step")
    assert listed["reads"] is False and "jit_compile=True" in listed["error"]
    # What it advises works: the record holds the function's graph, the cell as its module.
    tree = hierarchy(tmp_path, "xla", "recorded")
    assert _cell_node(tree)["flops"] == _cell_flops(cell, 2)


def test_the_page_shows_the_xla_explanation(page, tmp_path):
    from playwright.sync_api import expect


    _write_xla_trace_alone(tmp_path)
    with TensorBoard(tmp_path, name="xla", min_graphs=2) as tb:
        page.goto(tb.entry_url("xla", "xla_step"))
        alert = page.locator('[role="alert"]')
        expect(alert.first).to_contain_text("jit_compile=True", timeout=60_000)
        expect(alert.first).to_contain_text("module_graph(")


def test_a_trace_of_eager_ops_alone_names_them_and_the_xla_cause():
    """What TensorFlow 2.21 records around an XLA call when eager ops ran too (the tab showed a stray VarHandleOp)."""
    from tensorboard.compat.proto import config_pb2

    from tests.helpers.records import graph_def
    from tb_module_plugin.readers import graph as graph_lib

    run_metadata = config_pb2.RunMetadata()
    for op_type in ("VarHandleOp", "_EagerConst", "VarHandleOp"):
        run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(
            graph_def([("input", "_Arg", []), (op_type, op_type, []), ("out", "_Retval", [op_type])]))
    graphs = graph_lib.parse_run_metadata(run_metadata.SerializeToString())
    message = str(pytest.raises(graph_lib.GraphError, graph_lib.flatten_trace, graphs).value)
    assert "(VarHandleOp, _EagerConst)" in message or "(_EagerConst, VarHandleOp)" in message
    assert "jit_compile=True" in message and "module_graph(" in message and "before its first call" in message


# -- the Keras callback's model JSON -------------------------------------------------------------------------------

def test_the_keras_callbacks_graph_shows_sublayers_and_zero_for_weightless_layers(tmp_path):
    import keras
    import numpy as np

    inner = keras.Sequential([keras.layers.Dense(3), keras.layers.Dropout(0.2)], name="inner")
    model = keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.TimeDistributed(keras.layers.Dense(3)),
        keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dropout(0.1),
        inner,
        keras.layers.Activation("relu"),
    ], name="seq")
    model.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "fit"), write_graph=True)
    model.fit(np.ones([4, 5, 3]), np.ones([4, 3]), epochs=1, verbose=0, callbacks=[callback])
    client = make_client(tmp_path)[0]
    status, body = get(client, "/graphs")
    keras_graph = next(g for g in body["graphs"] if g["source"] == "keras")
    tree = hierarchy(tmp_path, keras_graph["run"], keras_graph["tag"])
    by_name = {n["name"]: n for n, _ in walk(tree) if n["kind"] == "module"}

    live = list(model.layers) + list(inner.layers)
    for layer in live:
        node = by_name[layer.name]
        if layer.count_params() == 0:
            assert node["num_params"] == 0 and node["num_trainable_params"] == 0, node
            assert "params" not in node.get("cost_unknown", [])
        else:  # (the JSON holds no weights: unknown, never a wrong number)
            assert "num_params" not in node and "params" in node["cost_unknown"], node
    wrappers = [layer for layer in model.layers if hasattr(layer, "forward_layer") or hasattr(layer, "layer")]
    assert len(wrappers) == 2
    for wrapper in wrappers:
        inside = [getattr(wrapper, a) for a in ("layer", "forward_layer", "backward_layer") if hasattr(wrapper, a)]
        kids = by_name[wrapper.name]["children"]
        assert {k["name"] for k in kids} >= {layer.name for layer in inside if layer.name != wrapper.name}, kids
        assert all(k["kind"] == "module" for k in kids)
    inputs = [n for n in by_name.values() if n.get("class_name") == "InputLayer"]
    assert inputs and all(n["num_params"] == 0 for n in inputs)


def test_a_variable_updated_in_place_counts_one_flop_per_element(tmp_path):
    """assign_add / assign_sub (a batch norm's moving averages): counted, not a lower bound."""

    class Tally(tf.Module):
        def __init__(self):
            super().__init__(name="tally")
            with self.name_scope:
                self.total = tf.Variable(tf.zeros([5, 7]), name="total")
                self.spent = tf.Variable(tf.zeros([7]), name="spent")

        @tf.Module.with_name_scope
        def __call__(self, x):
            self.total.assign_add(x)
            self.spent.assign_sub(x[0])
            return x

    tally = Tally()
    writer = tf.summary.create_file_writer(str(tmp_path / "tally"))
    with writer.as_default():
        assert module_summary.module_graph("tally", tally, tf.ones([5, 7]))
    writer.close()
    tree = hierarchy(tmp_path, "tally", "tally")
    assert tree["flops"] == math.prod(tally.total.shape) + math.prod(tally.spent.shape)
    assert "cost_unknown" not in tree and "flops_uncounted" not in tree
