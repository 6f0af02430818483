"""Every answer for the demo's graphs, the cached ResNet50 training step and every hostile record is the golden
one (tests/helpers/golden.py; the benchmark's big graphs are compared by `python -m tests.helpers.golden` where
`make bench` has written them); and a changed answer is reported by its graph, path and field."""

import copy
import json

import pytest

from tests.helpers import golden
from tests.helpers.records import graph_def
from tb_module_plugin.build import builder as build_lib
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.serve import answers as answers_lib


def test_answers_are_the_golden_ones(demo_logdir, resnet_logdir):
    found = golden.collect(demo_logdir=demo_logdir, resnet_logdir=resnet_logdir, bench=False)
    expected = {k: v for k, v in json.loads(golden.GOLDEN.read_text()).items() if not k.startswith("bench-")}
    lines = golden.differences(found, expected)
    assert not lines, (f"{len(lines)} answers changed (if meant, rewrite tests/golden.json with "
                       "`python -m tests.helpers.golden --write`):\n" + "\n".join(lines[:60]))


# A small graph: a module `dense` (a variable, MatMul, Relu) between the inputs and outputs, and a scope
# `head/block` two levels down (so that a big graph's summary folds `head/block/Neg` into `head/block`).
NODES = [("x", "Placeholder", []), ("dense/w", "VarHandleOp", []), ("dense/MatMul", "MatMul", ["x", "dense/w"]),
         ("dense/Relu", "Relu", ["dense/MatMul"]), ("head/block/Neg", "Neg", ["dense/Relu"]),
         ("out", "Identity", ["head/block/Neg"])]


def _built():
    return build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(NODES)), [], []),
                                           "golden")


@pytest.mark.parametrize("small_nodes,where", [(golden.SMALL_NODES, "path 'head/block/Neg'"),
                                               (0, "at or below path 'head/block'")])
def test_a_changed_answer_is_named_by_path_and_field(monkeypatch, small_nodes, where):
    """One field of one node's `node` answer changed (as an engine change would): the comparison prints the
    graph, the path (in a big graph's summary: the node it is folded into) and the field, and nothing else."""
    sound = golden.graph_record(_built(), small_nodes=small_nodes)
    assert ("answers" in sound) == (small_nodes > 0)
    hierarchy = _built()
    real = answers_lib.details_json

    def changed(h, path, times=None):
        answer = copy.deepcopy(real(h, path, times))
        if h is hierarchy and path == "head/block/Neg":
            answer["op"] = "Abs"
        return answer

    monkeypatch.setattr(answers_lib, "details_json", changed)
    lines = golden.differences({"g": golden.graph_record(hierarchy, small_nodes=small_nodes)}, {"g": sound})
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"g | {where} | field node.op: "), lines
    if small_nodes:
        assert lines[0].endswith('"Neg" -> "Abs"'), lines


def test_graphs_gone_new_or_failing_differently_are_named():
    record = golden.graph_record(_built())
    lines = golden.differences({"new": record, "broken": {"error": "This trace holds no graph."}},
                               {"gone": record, "broken": record})
    assert lines[0].startswith("broken: golden.json holds ['answers'], the answers now ['error']"), lines
    assert lines[1:] == ["gone: in golden.json, not found now", "new: not in golden.json"], lines
