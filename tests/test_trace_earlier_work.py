"""Traces written after earlier work in the same process. TensorFlow 2.21 leaves graph collection on after
trace_export, so a later trace also holds the graph of every eager op first run since; on oneDNN builds one such
GraphDef holds the op twice (`Einsum` beside `_MklEinsum`), which the reader once took for the user's function.
The tab must show the traced call's graph, and a trace of an XLA call (no graph of it) must stay the 422 that says why.
Each case is written here in this process (after the other tests' work, on purpose) and in a fresh process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import config_pb2

from tests.helpers.answers import client_get as get, make_client
from tests.helpers.processes import run_python
from tests.helpers.traces import tf
from tests.test_cost_fidelity import _Cell, _write_xla_trace
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.tree.ops import ARG_OPS, RETVAL_OPS

# (each test writes real TensorFlow traces, some in a process of their own: seconds)
pytestmark = pytest.mark.live

_EQUATIONS = iter(f"{a}q,{b}q->{a}{b}" for a, b in zip("cdefghijklmnop", "rstuvwxyzCDEFG"))


def _fresh_einsum():
    """An eager Einsum of an equation not run before in this process: TensorFlow makes (and, graph collection left
    on, records) a new kernel for it: on oneDNN builds, a GraphDef of the op and its `_MklEinsum` twin."""
    a = tf.ones([3, 5])
    tf.einsum(next(_EQUATIONS), a, a)


def _earlier_work(logdir: Path):
    """What a script does before the trace it means: a trace written (graph collection stays on after it), then an
    eager op run."""
    writer = tf.summary.create_file_writer(str(logdir / "earlier"))
    first = tf.function(lambda x: x + 1.0)
    tf.summary.trace_on(graph=True)
    first(tf.ones([1]))
    with writer.as_default():
        tf.summary.trace_export("earlier", step=0)
    writer.close()
    _fresh_einsum()


def write_xla_after_earlier_work(logdir):
    _earlier_work(Path(logdir))
    _write_xla_trace(Path(logdir))


def write_traced_after_earlier_work(logdir) -> list:
    """A tf.function call traced after earlier work, an eager op run between the call and trace_export; the
    (name, type) of each op of the traced function's graph, its placeholders left out (the trace's `_Arg`s)."""
    _earlier_work(Path(logdir))
    cell = _Cell(4)
    step = tf.function(lambda x: cell(x))
    x = tf.ones([2, 4])
    writer = tf.summary.create_file_writer(str(Path(logdir) / "traced"))
    tf.summary.trace_on(graph=True)
    step(x)
    _fresh_einsum()
    with writer.as_default():
        tf.summary.trace_export("step", step=0)
    writer.close()
    return sorted((op.name, op.type) for op in step.get_concrete_function(x).graph.get_operations()
                  if op.type != "Placeholder")


def _trace_record(logdir: Path, run: str, tag: str) -> bytes:
    """The serialized RunMetadata of the run's trace record."""
    for path in sorted((logdir / run).glob("events.out.tfevents.*")):
        for event in event_file_loader.EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == tag:
                    return value.tensor.string_val[0]
    raise AssertionError(f"no record {run}/{tag} in {logdir}")


def _twin_graphs(logdir: Path, run: str, tag: str) -> list:
    """The op types of each of the trace's GraphDefs that holds two ops or more, none feeding another (an eager op
    and its rewritten twin), read from the record's protobuf itself."""
    twins = []
    for function_graph in config_pb2.RunMetadata.FromString(_trace_record(logdir, run, tag)).function_graphs:
        ops = [n for n in function_graph.pre_optimization_graph.node
               if n.op not in ARG_OPS and n.op not in RETVAL_OPS and n.op != "NoOp"]
        names = {n.name for n in ops}
        if len(ops) > 1 and not any(i.lstrip("^").split(":")[0] in names for n in ops for i in n.input):
            twins.append(sorted(n.op for n in ops))
    return twins


def _assert_xla_answer(logdir: Path):
    client = make_client(logdir)[0]
    status, body = get(client, "/hierarchy", run="xla", tag="xla_step", depth=1)
    assert status == 422, body
    assert "jit_compile=True" in body["error"] and "module_graph(" in body["error"], body


def _assert_traced_graph(logdir: Path, truth: list):
    flat = graph_lib.flatten_trace(graph_lib.parse_run_metadata(_trace_record(logdir, "traced", "step")))
    shown = sorted((op.op_name, op.type) for op in flat.ops if op.type not in ARG_OPS and op.type not in RETVAL_OPS)
    assert shown == truth
    status, body = get(make_client(logdir)[0], "/hierarchy", run="traced", tag="step", depth=1)
    assert status == 200, body


# A fresh process as a user's script runs it: with TensorFlow's default oneDNN rewrites (run_python turns them off).
_USERS_PROCESS = "import os; os.environ['TF_ENABLE_ONEDNN_OPTS'] = '1'; "


def test_an_xla_trace_after_earlier_work_in_this_process_says_why_it_holds_no_graph(tmp_path):
    write_xla_after_earlier_work(tmp_path)
    # The case in point: the trace holds an eager op's twin graph (Einsum and its oneDNN rewrite).
    assert ["Einsum", "_MklEinsum"] in _twin_graphs(tmp_path, "xla", "xla_step")
    _assert_xla_answer(tmp_path)


def test_an_xla_trace_after_earlier_work_in_a_fresh_process_says_why(tmp_path):
    run_python(_USERS_PROCESS + "from tests.test_trace_earlier_work import write_xla_after_earlier_work as w; "
               f"w({str(tmp_path)!r})")
    assert ["Einsum", "_MklEinsum"] in _twin_graphs(tmp_path, "xla", "xla_step")
    _assert_xla_answer(tmp_path)


def test_a_trace_after_earlier_work_in_this_process_shows_the_traced_functions_graph(tmp_path):
    truth = write_traced_after_earlier_work(tmp_path)
    assert ["Einsum", "_MklEinsum"] in _twin_graphs(tmp_path, "traced", "step")  # (recorded after the call)
    _assert_traced_graph(tmp_path, truth)


def test_a_trace_after_earlier_work_in_a_fresh_process_shows_the_traced_functions_graph(tmp_path):
    out = run_python(_USERS_PROCESS + "import json; "
                     "from tests.test_trace_earlier_work import write_traced_after_earlier_work as w; "
                     f"print('TRUTH', json.dumps(w({str(tmp_path)!r})))")
    truth = [tuple(pair) for pair in json.loads(out.split("TRUTH ", 1)[1].splitlines()[0])]
    assert ["Einsum", "_MklEinsum"] in _twin_graphs(tmp_path, "traced", "step")
    _assert_traced_graph(tmp_path, truth)
