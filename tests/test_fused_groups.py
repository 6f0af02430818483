"""Ops grappler made in place of the graph's, named after the graph op they start from, timed in that op's group;
and `summary`'s output shape of a training step's layers. A tiny GELU network's profiled training step (README's
custom loop, traced; and `fit` with the ModuleGraph callback: tests/helpers/gelu_step.py). The truth is the real
profile's op events and the traced graph (read with TensorFlow's messages), and the live layers."""

from __future__ import annotations

import pytest

from tests.helpers.answers import InProcess, ok_json, walk
from tests.helpers.processes import REPO, helper_logdir, run_python
from tests.helpers.profiled import op_events, traced_graph

pytestmark = pytest.mark.live

COMPOSITION = "_UnaryOpsComposition"


@pytest.fixture(scope="module")
def written():
    """(logdir, what gelu_step.py printed), cached by the code that writes it."""
    return helper_logdir("gelu_step", "gelu_step", [REPO / "tb_module_plugin" / "recording" / "keras.py",
                                                    REPO / "tests" / "helpers" / "profile_windows.py"])


def per_step_us(events, steps, names) -> float:
    return sum(events[name][1] for name in names) / steps / 1e6


def test_unary_ops_composition_is_timed_in_the_gelu_layers_backward(written):
    """Grappler runs GELU's gradient's chain of unary ops as one `_UnaryOpsComposition` op named
    `<the graph's last op of the chain>/unary_ops_composition`: its time is that op's, so the layer's backward
    time is every event of its gradient ops' scope, the composition's included, and the step's time outside any
    module holds none of it (every event of the profile is in a group)."""
    logdir, result = written
    loop = result["loop"]
    run_dir = logdir / loop["run"]
    events, steps = op_events(run_dir)
    graph = traced_graph(run_dir, loop["tag"])
    compositions = [name for name, (kernel, _) in events.items() if kernel == COMPOSITION]
    assert compositions, sorted(events)  # (what this test is about: grappler made one)
    for name in compositions:
        assert name not in graph and name.rpartition("/")[0] in graph, name  # (named after an op of the graph)

    root = ok_json(InProcess(logdir).api("hierarchy", run=loop["run"], tag=loop["tag"], path="", depth=8,
                                         time=1))["node"]
    model = next(c for c in root["children"] if c["kind"] == "module" and c["name"].startswith("mlp"))
    layer = next(c for c in model["children"] if c["kind"] == "module" and c["name"].split("_")[0] == loop["layer"])
    scope = f"{model['name']}/{layer['name']}/"
    backward_names = [n for n in events if n.startswith("gradient_tape/" + scope)]
    mine = [n for n in compositions if n in backward_names]
    assert mine, (compositions, scope)
    backward = per_step_us(events, steps, backward_names)
    forward = per_step_us(events, steps, [n for n in events if n.startswith(scope)])
    assert layer["backward_time_us"] == pytest.approx(backward, abs=0.01)
    assert layer["time_us"] == pytest.approx(forward + backward, abs=0.01)
    # The graph op the composition is named after holds its time, in the layer's backward group.
    by_op = {n["path"]: n for n, parents in walk(layer) if n["kind"] == "op"}
    for name in mine:
        first = name.rpartition("/")[0]
        (node,) = [n for n in by_op.values() if n["path"].endswith("/" + first.rpartition("/")[2])
                   and ok_json(InProcess(logdir).api("node", run=loop["run"], tag=loop["tag"],
                                                     path=n["path"]))["node"]["op_name"] == first]
        assert node["time_us"] == pytest.approx(per_step_us(events, steps, [name, first] if first in events
                                                            else [name]), abs=0.001)
    # Every event is in some group; what is outside the modules is the events outside their scopes.
    everything = per_step_us(events, steps, list(events))
    assert root["time_us"] == pytest.approx(everything, abs=0.01)
    modules = [c for c in root["children"] if c["kind"] == "module"]
    in_modules = [n for n in events if any(n.startswith((m["name"] + "/", "gradient_tape/" + m["name"] + "/"))
                                           for m in modules)]
    outside = root["step_time_us"] - root["module_time_us"]
    assert outside == pytest.approx(everything - per_step_us(events, steps, in_modules), abs=0.01)
    assert not set(compositions) - set(in_modules)


def test_summary_output_shape_of_a_training_step_is_the_layers_output(written):
    """`summary` of the callback's training-step record: each weighted layer's output shape column starts with the
    live layer's output shape for the recorded batch (its forward output, not the gradients its backward group
    sends on)."""
    logdir, result = written
    fit = result["fit"]
    lines = run_python(["-m", "tb_module_plugin", "summary", str(logdir), "--run", fit["run"]]).splitlines()
    assert fit["weighted"], result
    for name in fit["weighted"]:
        row = next(line for line in lines if line.split()[:1] == [name])
        shapes = row.split("  ")  # (columns are 2+ spaces apart)
        cells = [cell.strip() for cell in shapes if cell.strip()]
        expected = "[" + ",".join(str(d) for d in fit["shapes"][name]) + "]"
        assert cells[2].split(", ")[0] == expected, row
