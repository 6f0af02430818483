"""A profile whose window also ran another function over the same layers: `fit`'s validation pass (the callback
must stop the profile before it), README's custom loop with an `eval_step` (the time must come from the training
step's own runs). The truth is the real profile's op events, read with TensorFlow's XSpace message, and the calls
the helper made (tests/helpers/profile_windows.py)."""

from __future__ import annotations

import json

import pytest

from tests.helpers.answers import InProcess, ok_json, walk
from tests.helpers.processes import REPO, TensorBoard, helper_logdir, run_python

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def written():
    """(logdir, what profile_windows.py printed), cached by the code that writes it."""
    return helper_logdir("profile_windows", "profile_windows", [REPO / "tb_module_plugin" / "recording" / "keras.py"])


def forward_events(run_dir, layer: str, session: str = "*") -> list:
    """[(start ps, duration ps)] of the layer's fused forward product (`.../<layer>[_n]/Relu:_FusedMatMul`, its
    backward ops being under `gradient_tape/`) in the run's profiles (of one session), by start."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    found = []
    for path in run_dir.glob(f"plugins/profile/{session}/*.xplane.pb"):
        for plane in xplane_pb2.XSpace.FromString(path.read_bytes()).planes:
            for line in plane.lines:
                if not (plane.name.startswith("/host:") and line.name.startswith("tf_")):
                    continue
                for event in line.events:
                    name, _, kernel = plane.event_metadata[event.metadata_id].name.rpartition(":")
                    scopes = name.split("/")
                    if (kernel == "_FusedMatMul" and "gradient_tape" not in scopes
                            and any(s == layer or s.startswith(layer + "_") for s in scopes)):
                        found.append((line.timestamp_ns * 1000 + event.offset_ps, event.duration_ps))
    return sorted(found)


def layer_answer(logdir, run: str, tag: str, layer: str, tb=None) -> tuple:
    """(the layer's module, the tab's time per step of its forward product: the MatMul the fused kernel's time goes
    to), asked of `tb` (default: the plugin in-process)."""
    tb = tb or InProcess(logdir)
    root = ok_json(tb.api("hierarchy", run=run, tag=tag, path="", depth=8, time=1))["node"]
    modules = [n for n, _ in walk(root) if n.get("kind") == "module" and n["name"].split("_")[0] == layer]
    assert len(modules) == 1, [n["path"] for n in modules]
    products = [c for c in modules[0]["children"] if c.get("kind") == "op" and c["name"] == "MatMul"]
    assert len(products) == 1, modules[0]["children"]
    return modules[0], products[0]["time_us"]


def layer_product_us(logdir, run: str, tag: str, layer: str) -> float:
    return layer_answer(logdir, run, tag, layer)[1]


def test_fit_profile_stops_before_the_validation_pass(written):
    """profile_batch reaching past the epoch's end: the profile holds the layer's forward once per profiled
    training step (not the validation batches'), and the tab's time per step is those events' over the steps."""
    logdir, result = written
    fit = result["fit"]
    events = forward_events(logdir / fit["run"], fit["layer"])
    assert len(events) == fit["profiled_steps"], events
    expected = sum(duration for _, duration in events) / fit["profiled_steps"] / 1e6
    assert layer_product_us(logdir, fit["run"], fit["tag"], fit["layer"]) == pytest.approx(expected, abs=1e-3)


def test_eval_step_in_the_profile_is_left_out_of_the_training_step(written):
    """train_step ran before every eval_step in one profile: the layer's forward events are the training calls'
    first, the evaluation's after; the tab's time per step is the training calls' alone."""
    logdir, result = written
    loop = result["loop"]
    events = forward_events(logdir / loop["run"], loop["layer"])
    assert len(events) == loop["train_calls"] + loop["eval_calls"], events
    train = events[:loop["train_calls"]]
    expected = sum(duration for _, duration in train) / loop["train_calls"] / 1e6
    pooled = sum(duration for _, duration in events) / loop["train_calls"] / 1e6
    shown = layer_product_us(logdir, loop["run"], loop["tag"], loop["layer"])
    assert shown == pytest.approx(expected, abs=1e-3)
    assert shown < pooled  # (what pooling by name gave)


def test_a_run_recorded_again_shows_the_new_record_with_its_own_profile(written):
    """A notebook cell run twice into one log_dir (the model changed): TensorBoard (--load_fast=false) shows the
    second model, timed from its own profiling session only."""
    logdir, result = written
    rerun = result["rerun"]
    first, second = rerun["sessions"]
    assert len(first) == len(second) == 1, rerun["sessions"]
    own = forward_events(logdir / rerun["run"], rerun["layer"], second[0])
    assert len(own) == rerun["profiled_steps"], own
    expected = sum(duration for _, duration in own) / rerun["profiled_steps"] / 1e6
    both = forward_events(logdir / rerun["run"], rerun["layer"])
    pooled = sum(duration for _, duration in both) / len(both) / 1e6  # (both sessions' steps: what was shown)
    tb = TensorBoard(logdir, load_fast=False, name="profile_windows")
    try:
        tb.start(wait_graphs={(rerun["run"], rerun["tag"])})
        module, shown = layer_answer(logdir, rerun["run"], rerun["tag"], rerun["layer"], tb)
    finally:
        tb.stop()
    assert module["num_params"] == rerun["d1_params"][1] != rerun["d1_params"][0]
    assert shown == pytest.approx(expected, abs=1e-3)
    assert shown != pytest.approx(pooled, abs=1e-3)
    # `summary` reads the record and the profiles itself: the same record, the same session.
    out = run_python(["-m", "tb_module_plugin", "summary", str(logdir), "--run", rerun["run"], "--json",
                      "--depth", "8"])
    tree = json.loads(out[out.index("{"):])[f"{rerun['run']}/{rerun['tag']}"]
    layer = next(n for n, _ in walk(tree) if n.get("kind") == "module" and n["name"].split("_")[0] == rerun["layer"])
    product = next(c for c in layer["children"] if c.get("kind") == "op" and c["name"] == "MatMul")
    assert (layer["num_params"], product["time_us"]) == (rerun["d1_params"][1], pytest.approx(expected, abs=1e-3))
