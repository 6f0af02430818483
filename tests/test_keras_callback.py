"""The Keras callback (tb_module_plugin.recording.keras.ModuleGraph): models trained with `fit` on tf.data, read back through
a real tensorboard. What each layer should be is what the live layers said (tests/helpers/keras_fit.py prints it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.answers import walk
from tests.helpers.processes import QUIET_TF_ENV, REPO, TensorBoard, free_port, http_get, run_python, venv_bin, wait_for

RUNS = ("keras3_functional", "keras3_subclassed", "keras3_sequential", "tf_keras")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(logdir, what keras_fit.py printed) after training every model of tests/helpers/keras_fit.py."""
    logdir = tmp_path_factory.mktemp("keras_fit")
    out = run_python(["-m", "tests.helpers.keras_fit", str(logdir)])
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return logdir, dict(json.loads(line[len("RESULT "):]), output=out)


@pytest.fixture(scope="module")
def keras_tb(trained):
    """A real tensorboard over the trained models' logdir."""
    logdir, results = trained
    tb = TensorBoard(logdir, name="keras_callback")
    try:
        tb.start(wait_graphs=[(results[run]["run"], results[run]["tag"]) for run in RUNS])
        yield tb
    finally:
        tb.stop()


@pytest.fixture(scope="module")
def answers(trained, keras_tb):
    """run -> (the live layers, {module names from the root: the hierarchy's node}, the model's `node` details)
    through a real tensorboard."""
    logdir, results = trained
    # Every model keras_fit.py trains is tested here (a model added there and not to RUNS would go untested).
    assert set(results) - {"untraceable", "output"} == set(RUNS)
    found = {}
    tb = keras_tb
    for run in RUNS:
        result = results[run]
        root = tb.get_json("/data/plugin/module_graph/hierarchy", run=result["run"], tag=result["tag"],
                           path="", depth=8, time=1)["node"]
        modules = {}
        for node, parents in walk(root):
            if node.get("kind") == "module":
                names = tuple(p["name"] for p in parents if p.get("kind") == "module") + (node["name"],)
                modules[names] = node
        model = modules[(result["layers"][0]["names"][0],)]
        details = tb.get_json("/data/plugin/module_graph/node", run=result["run"], tag=result["tag"],
                              path=model["path"])["node"]
        found[run] = (result["layers"], modules, details)
    return found


@pytest.mark.live
@pytest.mark.parametrize("run", RUNS)
def test_every_layer_is_a_module_as_the_live_layer_says(answers, trained, run):
    """Each live layer is a module with its class and parameters; its FLOPs are counted where the data's batch is
    known, and not known (never counted for a made-up batch) where the live model leaves its batch open."""
    layers, modules, _ = answers[run]
    open_batch = trained[1][run]["input_shape"][0] is None
    assert any(len(layer["names"]) > 2 for layer in layers) or run in ("keras3_sequential", "tf_keras")
    for layer in layers:
        node = modules.get(tuple(layer["names"]))
        assert node is not None, f"{run}: layer {'/'.join(layer['names'])} is no module; modules: {sorted(modules)}"
        where = f"{run}: {'/'.join(layer['names'])}"
        assert node["class_name"] == layer["class_name"], where
        assert node["num_params"] == layer["params"], where
        assert node["num_trainable_params"] == layer["trainable"], where
        if not open_batch:
            assert isinstance(node.get("flops"), int) and "flops" not in node.get("cost_unknown", ()), where
        if layer["weighted"]:
            if open_batch:  # (a weighted layer's products scale with the batch)
                assert "flops" not in node and "flops" in node.get("cost_unknown", ()), where
            else:
                assert node["flops"] > 0, where
            assert node.get("time_us", 0) > 0, f"{where}: no time ({node.get('cost_unknown')})"


@pytest.mark.live
@pytest.mark.parametrize("run", RUNS)
def test_an_open_batch_is_recorded_open(answers, trained, run):
    """The record's input has the live model's input shape, its open batch dimension open (`?`), not 1."""
    shape = trained[1][run]["input_shape"]
    assert shape[0] is None, "the models are fit on batches left open: the test shows nothing"
    expected = "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"
    _, _, details = answers[run]
    shapes = [end["shape"] for end in details["inputs"] if not end["control"]]
    assert expected in shapes, (expected, shapes)
    assert not any(s.startswith("[1,") for s in shapes), shapes


@pytest.mark.live
def test_page_details_show_a_frozen_layers_backward_as_none(page, answers, trained, keras_tb):
    """Coloured by time, the frozen stem, whose gradient ops the tape builds and TensorFlow never runs (nothing needs
    them), says no backward pass: the API neither times it nor says it untimed, and its details hold no backward row,
    as a layer without backward ops; a trained layer's details give its backward time."""
    from playwright.sync_api import expect
    from tests.helpers.browser import assert_clean, expand, node, open_entry, sel

    layers, modules, _ = answers["keras3_functional"]
    result = trained[1]["keras3_functional"]
    model = modules[(layers[0]["names"][0],)]
    frozen = [modules[tuple(layer["names"])] for layer in layers
              if layer["weighted"] and not layer["trainable_weighted"] and tuple(layer["names"]) in modules]
    trained_layers = [modules[tuple(layer["names"])] for layer in layers
                      if layer["trainable_weighted"] and tuple(layer["names"]) in modules]
    assert frozen and trained_layers, layers
    for layer in frozen:
        assert "backward_time_us" not in layer and not layer.get("backward_untimed"), layer
        assert "backward_flops" not in layer, layer  # (its FLOPs: not known, the batch is open)
    open_entry(page, keras_tb, result["run"], result["tag"])
    page.select_option('select[name="colour-by"]', "time")
    expand(page, page, model["path"])
    for layer, has_backward in ((frozen[0], False), (trained_layers[0], True)):
        node(page, layer["path"]).click()
        details = page.locator(sel("data-details-for", layer["path"]))
        expect(details.locator('[data-cost-row="time"]')).to_be_visible(timeout=30_000)
        backward = details.locator('[data-cost-row="backward-time"]')
        if has_backward:
            expect(backward).to_be_visible()
            expect(backward).not_to_have_text("not timed")
        else:
            expect(backward).to_have_count(0)
    assert_clean(page)


@pytest.mark.live
def test_the_summary_of_an_open_batch_says_why_its_flops_are_not_known(trained):
    """`summary` of a callback's record on open batches: output shapes with `?` for the batch, FLOPs "?" and the
    footer saying the batch is open (not to record it another way)."""
    logdir, results = trained
    result = results["keras3_functional"]
    out = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(logdir), "--run", result["run"]],
                         capture_output=True, text=True, timeout=600, env=dict(os.environ, **QUIET_TF_ENV))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    head = next(line for line in lines if line.strip().startswith("head "))
    assert "[?," in head and " ? " in head, head
    assert any(line.startswith("Total FLOPs: unknown (the graph's inputs leave their batch dimension open")
               for line in lines), out.stdout


@pytest.mark.live
@pytest.mark.parametrize("run", RUNS)
def test_weighted_layers_have_backward_time(answers, run):
    """The backward pass of each layer with trainable weights is timed (`backward_time_us`, the part of `time_us`
    its gradient ops took). A frozen first layer has no backward pass: nothing needs its gradient."""
    layers, modules, _ = answers[run]
    for layer in layers:
        if layer["trainable_weighted"]:
            node = modules[tuple(layer["names"])]
            assert 0 < node.get("backward_time_us", 0) < node["time_us"], f"{run}: {'/'.join(layer['names'])}"


@pytest.mark.live
def test_the_frozen_layer_is_frozen(answers):
    layers, modules, _ = answers["keras3_functional"]
    frozen = [layer for layer in layers if layer["weighted"] and not layer["trainable_weighted"]]
    assert frozen, "the functional model has a frozen layer"
    for layer in frozen:
        node = modules[tuple(layer["names"])]
        assert node["frozen"] is True and node["num_trainable_params"] == 0 < node["num_params"]


@pytest.mark.live
def test_a_model_that_cannot_be_recorded_warns_once_and_trains_on(trained):
    logdir, results = trained
    result = results["untraceable"]
    assert result["epochs_trained"] == 2
    assert len(result["warnings"]) == 1, result["warnings"]
    assert "Picky runs inside Keras's own functions only" in result["warnings"][0]
    events = list((logdir / "untraceable" / "train").glob("events.out.tfevents.*"))
    assert not events, "nothing recorded for it"
    for run in RUNS:
        assert results[run]["warnings"] == [] and results[run]["epochs_trained"] == 2
    # tf_keras times its callbacks' batch hooks over the first batches: the record and the profile come after them.
    assert "slow compared to the batch time" not in results["output"]


@pytest.mark.live
def test_the_notebook_magic_shows_the_tab(trained):
    """`%tensorboard --logdir LOGDIR` as a notebook runs it (tensorboard.notebook._start_magic, the magic's own
    body: a tensorboard started in the background): its page lists the Modules tab and the callback's graphs."""
    logdir, results = trained
    port = free_port()
    # The magic waits 60 s for tensorboard to start; on a loaded machine it may say it timed out and start later:
    # the pid of the process it launched is taken from manager.start's answer (launched or timed out) either way.
    code = ("import json\nfrom tensorboard import manager, notebook\n"
            "answers, start = [], manager.start\n"
            "manager.start = lambda *args, **kwargs: answers.append(start(*args, **kwargs)) or answers[-1]\n"
            f"notebook._start_magic({f'--logdir {logdir} --port {port} --reload_interval 2'!r})\n"
            "pids = [a.pid if isinstance(a, manager.StartTimedOut) else a.info.pid for a in answers\n"
            "        if isinstance(a, (manager.StartTimedOut, manager.StartLaunched))]\n"
            "print('RESULT', json.dumps(pids))\n")
    env = dict(os.environ, **QUIET_TF_ENV, PATH=os.pathsep.join([str(Path(venv_bin("tensorboard")).parent),
                                                                  os.environ.get("PATH", "")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    pids = []
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(REPO), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=300).stdout
        pids = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT ")).split(" ", 1)[1])
        assert len(pids) == 1, out[-3000:]
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: "module_graph" in http_get(url + "/data/plugins_listing").json(), timeout=120,
                 what="the Modules tab in the notebook's tensorboard")
        expected = {(results[run]["run"], results[run]["tag"]) for run in RUNS}

        def listed():
            answer = http_get(url + "/data/plugin/module_graph/graphs")
            return answer.status == 200 and expected <= {(g["run"], g["tag"]) for g in answer.json()["graphs"]}

        wait_for(listed, timeout=60, what="the callback's graphs in the notebook's tensorboard")
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("value, read", [("StatefulPartitionedCall/", "StatefulPartitionedCall/"),
                                         ("while/cond/", "while/cond/"), ("no_slash", ""), (7, ""), (None, "")])
def test_a_records_call_prefix_is_read_only_as_call_names(value, read):
    """The callback's `call_prefix` (the calls its step runs inside when profiled) is taken only as names of calls
    each ending in `/`; anything else is no prefix (records come from any version and any writer)."""
    from tb_module_plugin.readers.manifest import parse_manifest

    record = {"version": 2, "modules": [{"name": "m", "parent": None, "variables": []}], "variables": [],
              "call_prefix": value}
    assert parse_manifest(json.dumps(record).encode())["call_prefix"] == read


@pytest.mark.parametrize("given, taken", [(None, (7, 9)), (3, (3, 3)), ((2, 4), (2, 4)), ([5, 6], (5, 6)),
                                          ("10,20", (10, 20)), ("3, 5", (3, 5)), (0, (0, 0))])
def test_profile_batch_is_read_as_keras_reads_it(given, taken):
    from tb_module_plugin.recording.keras import ModuleGraph

    callback = ModuleGraph("logs") if given is None else ModuleGraph("logs", profile_batch=given)
    assert callback.profile_batch == taken


@pytest.mark.parametrize("given", [(3, 1), (0, 2), -1, True, "a", "1,2,3", (1.5, 2), "1,²"])
def test_a_profile_batch_keras_would_refuse_is_refused_with_what_it_accepts(given):
    from tb_module_plugin.recording.keras import ModuleGraph

    with pytest.raises(ValueError, match="profile_batch must be"):
        ModuleGraph("logs", profile_batch=given)
