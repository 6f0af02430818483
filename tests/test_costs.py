"""What modules cost (FLOPs, parameters, measured time), compared with what TensorFlow itself says, through a real
`tensorboard`: tests/helpers/costs_corpus.py writes the graphs and TensorFlow's own counts (truth.json)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.answers import error, full_tree, ok_json, walk
from tests.helpers.browser import assert_clean, expand, node, open_entry, sel
from tests.helpers.processes import picture
from tests.helpers.records import graph_def
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve.settle import settle

PUBLISHED_RESNET50_GFLOPS = (7.7, 8.2)  # forward, 224x224, batch 1, a multiply-add as 2


def module_named(tree, name):
    return next(n for n, _ in walk(tree) if n["kind"] == "module" and n["name"] == name)


def test_resnet50_forward_flops_are_tensorflows_own(costs_tb, costs_truth):
    """The model's FLOPs are within 5% of TensorFlow's profiler on the same graph and within the published range;
    every Conv2D (and the Dense) layer's convolution is 2 * H_out * W_out * K_h * K_w * C_in * C_out exactly, and
    the layer adds its bias's H_out * W_out * C_out."""
    truth = costs_truth["resnet50_forward"]
    tree = full_tree(costs_tb, truth["run"], truth["tag"])
    model = module_named(tree, truth["model_name"])
    flops = model["flops"]
    assert abs(flops - truth["tf_profiler_flops"]) <= 0.05 * truth["tf_profiler_flops"], (flops, truth)
    assert PUBLISHED_RESNET50_GFLOPS[0] <= flops / 1e9 <= PUBLISHED_RESNET50_GFLOPS[1], flops
    layers = {c["name"]: c for c in model["children"] if c["kind"] == "module"}
    assert set(truth["layer_flops"]) <= set(layers)
    for name, expected in truth["layer_flops"].items():
        layer = layers[name]
        ops = [n for n, _ in walk(layer) if n["kind"] == "op" and n["op"] == expected["op"]]
        assert [op["flops"] for op in ops] == [expected["flops"]], (name, ops)
        if expected["op"] == "Conv2D":  # (the Dense layer's softmax adds its own)
            assert layer["flops"] == expected["flops"] + expected["bias"], (name, layer["flops"], expected)
        assert "flops" not in layer.get("cost_unknown", [])
    assert model["num_params"] > 25_000_000 and "params" not in model.get("cost_unknown", [])


def test_a_trace_says_its_flops_are_unknown_never_zero(costs_tb, costs_truth):
    """A trace records no shapes: every op that does arithmetic, and every group above one, says "flops" is
    unknown; the ops that do none (a Const) cost a known 0, and so do those TensorFlow does not run (its
    `_Retval`s say what the step needs): the frozen stem's kernel gradient and the gradient of the data of the
    layer after it, which only that one would read."""
    truth = costs_truth["profiled_step"]
    tree = full_tree(costs_tb, truth["run"], truth["tag"])
    not_run = []
    for each in (n for n, _ in walk(tree)):
        if each["kind"] == "op" and each.get("flops_not_run"):
            assert each["flops"] == 0 and each["flops_not_run"] == 1, each
            not_run += [each["path"]] if each["op"] == "MatMul" else []
        elif each["kind"] == "op" and each["op"] in ("MatMul", "AddV2", "Mul", "Relu", "BiasAdd"):
            assert "flops" not in each and "flops" in each["cost_unknown"], each["path"]
        if each["kind"] == "op" and each["op"] in ("Const", "Identity", "ReadVariableOp"):
            assert each["flops"] == 0, each["path"]
    assert "flops" in tree["cost_unknown"] and "flops" not in tree
    assert len(not_run) == 2 and any("/stem" in p for p in not_run) and any("/inner" in p for p in not_run), not_run


PROFILED_STEPS = ["profiled_step", "nested_profiled_step"]


@pytest.mark.parametrize("name", PROFILED_STEPS)
def test_profiled_training_step_times_every_module(costs_tb, costs_truth, name):
    """With time=1: every module has its measured time, no group's children add up to more than it, and the
    whole graph's time is within 10% of every op event of the profiled step (the nested model's ops run inlined
    from its calls and loop bodies: matched all the same)."""
    truth = costs_truth[name]
    graphs = ok_json(costs_tb.api("graphs"))["graphs"]
    assert {"run": truth["run"], "tag": truth["tag"], "source": "trace", "profiled": True} in graphs
    root = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=8, time=1))["node"]
    modules = [n for n, _ in walk(root) if n["kind"] == "module"]
    assert modules and all(isinstance(m.get("time_us"), float) and m["time_us"] > 0 for m in modules), [
        m["path"] for m in modules if "time_us" not in m]
    for group, _ in walk(root):
        timed = [c["time_us"] for c in group.get("children", []) if "time_us" in c]
        if timed:
            assert sum(timed) <= group["time_us"] + 0.001 * len(timed), group["path"]
    assert abs(root["time_us"] - truth["op_events_us"]) <= 0.1 * truth["op_events_us"], (root["time_us"], truth)
    details = ok_json(costs_tb.api("node", run=truth["run"], tag=truth["tag"], path=modules[0]["path"], time=1))["node"]
    assert details["time_us"] == modules[0]["time_us"]
    without = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=1))["node"]
    assert "time_us" not in without and "time" not in without.get("cost_unknown", [])  # only when asked for


@pytest.mark.parametrize("run,words", [
    ("profile_of_another_function", "time none of this graph's ops"),
    ("damaged_profile", "is not a readable XSpace"),
    ("resnet50_forward", "holds no profile"),
])
def test_a_profile_that_cannot_time_the_graph_is_said_so(costs_tb, costs_truth, run, words):
    message = error(costs_tb.api("hierarchy", run=run, tag=costs_truth[run]["tag"], time=1), 422)
    assert words in message, message
    if run != "damaged_profile":
        assert "tf.profiler.experimental.start" in message, message  # how to profile so that it works
    # the same graph without time answers as always
    ok_json(costs_tb.api("hierarchy", run=run, tag=costs_truth[run]["tag"]))


def test_costs_of_a_big_graph_come_after_its_first_answer():
    """Over SYNC_COST_OPS ops, the first answer has no cost fields (neither known nor unknown: not counted yet);
    once settled, every node has them."""
    from tb_module_plugin.build import builder as build
    from tb_module_plugin.measures import costs
    from tb_module_plugin.readers import graph

    g = graph_def([("x", "Placeholder", [])] + [(f"m/op_{i}", "Relu", ["x"]) for i in range(costs.SYNC_COST_OPS)])
    h = build.build_graph_hierarchy(graph.FlatGraph(graph.flatten_graph_def(graph.parse_graph_def(
        g.SerializeToString())), [], []), "big")
    first = answers_lib.node_json(h, "", 1)
    assert "flops" not in first and "cost_unknown" not in first
    settle(h)
    settled = answers_lib.node_json(h, "", 1)
    assert "flops" in settled["cost_unknown"]  # (no shapes recorded: unknown, never 0)


@pytest.mark.parametrize("name", PROFILED_STEPS)
def test_profiled_step_says_what_the_step_takes_outside_its_modules(costs_tb, costs_truth, name):
    """The root, with time=1, names the whole profiled step (every op event of it) and the part the modules take:
    the sum of the top-most modules' times."""
    truth = costs_truth[name]
    root = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=8, time=1))["node"]
    assert abs(root["step_time_us"] - truth["op_events_us"]) <= 0.1 * truth["op_events_us"], (root, truth)
    top_modules = []
    stack = [root]
    while stack:
        current = stack.pop()
        for child in current.get("children", []):
            (top_modules if child["kind"] == "module" else stack).append(child)
    assert top_modules
    assert abs(root["module_time_us"] - sum(m["time_us"] for m in top_modules)) <= 0.001 * len(top_modules)
    assert root["module_time_us"] <= root["time_us"] <= root["step_time_us"] + 0.001


def test_devices_are_those_the_graph_places_ops_on(costs_tb, costs_truth):
    """Each top-level scope counts its ops per device as the traced function's graph places them; a scope whose ops
    name no device has none, and an op names its own."""
    from tb_module_plugin.measures.costs import canonical_device

    truth = costs_truth["placed_ops"]
    tree = full_tree(costs_tb, truth["run"], truth["tag"])
    top = {child["name"]: child for child in tree["children"]}
    expected = {scope: {canonical_device(d): n for d, n in counts.items()} for scope, counts in truth["devices"].items()}
    assert expected, truth
    for scope, counts in expected.items():
        assert top[scope]["devices"] == counts, (scope, top[scope])
        placed = [n for n, _ in walk(top[scope]) if n["kind"] == "op" and n.get("device")]
        assert len(placed) == sum(counts.values())
        assert all(op["devices"] == {canonical_device(op["device"]): 1} for op in placed)
    for name, child in top.items():
        if name not in expected and name in ("free", "inputs", "outputs"):
            assert "devices" not in child, child


@pytest.mark.parametrize("device,canonical", [
    ("/job:localhost/replica:0/task:0/device:CPU:0", "/device:CPU:0"),
    ("/device:GPU:1", "/device:GPU:1"),
    ("/cpu:0", "/device:CPU:0"),
    ("/job:worker/replica:0/task:1/device:GPU:0", "/job:worker/replica:0/task:1/device:GPU:0"),
])
def test_one_name_per_device(device, canonical):
    from tb_module_plugin.measures.costs import canonical_device

    assert canonical_device(device) == canonical


# --- the page: Colour by, in Chromium through a real tensorboard ------------------------------------------------
COLOUR_BY = 'select[name="colour-by"]'


def drawn_costs(page):
    """Every drawn graph node's data-cost, by path."""
    return page.eval_on_selector_all(
        "svg [data-path][data-cost]", "els => Object.fromEntries(els.map(e => [e.dataset.path, Number(e.dataset.cost)]))")


def test_page_colours_by_flops_and_params(page, costs_tb, costs_truth):
    """FLOPs and parameters on one scale with a legend; every drawn node's data-cost is the API's value (a prefix
    group: the sum of its members'); the details give shares and the heaviest children."""
    truth = costs_truth["resnet50_forward"]
    listing = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=2))["node"]
    model = next(c for c in listing["children"] if c["name"] == truth["model_name"])
    open_entry(page, costs_tb, truth["run"], truth["tag"])
    page.select_option(COLOUR_BY, "flops")
    legend = page.locator('[data-legend="flops"]')
    expect(legend).to_be_visible()
    expect(legend).to_contain_text(f"{model['flops'] / 1e9:.3g} GFLOPs")
    expect(node(page, model["path"])).to_have_attribute("data-cost", str(model["flops"]))
    expect(page.locator(sel("data-tree-path", model["path"])).locator(".mg-tree-cost").first).to_have_text(
        f"{model['flops'] / 1e9:.3g} GFLOPs")
    expand(page, page, model["path"])
    page.wait_for_function("n => document.querySelectorAll('svg [data-path][data-cost]').length > n", arg=2)
    costs = drawn_costs(page)
    by_path = {c["path"]: c for c in model["children"]}
    checked = 0
    for path, value in costs.items():
        if path in by_path:
            assert value == by_path[path]["flops"], path
        elif path.startswith(model["path"] + "/[") and path.endswith("]"):  # a prefix group: children named so
            word = path.rsplit("[", 1)[1][:-1]
            members = [c for c in model["children"] if c["name"].startswith(word + "_")]
            assert members and value == sum(c["flops"] for c in members), path
        else:
            continue
        checked += 1
    assert checked >= 2, costs
    node(page, model["path"]).click(position={"x": 20, "y": 10})  # (its header: its children fill the rest)
    details = page.locator(sel("data-details-for", model["path"]))
    expect(details).to_contain_text("Most expensive children (by FLOPs)")
    heaviest = sorted((c for c in model["children"] if "flops" in c), key=lambda c: (-c["flops"], c["name"]))[0]
    expect(details.locator("section").filter(has_text="Most expensive").locator("tbody tr").first).to_contain_text(
        heaviest["name"])
    page.select_option(COLOUR_BY, "params")
    expect(page.locator('[data-legend="params"]')).to_be_visible()
    expect(node(page, model["path"])).not_to_have_attribute("data-cost", str(model["flops"]))
    assert drawn_costs(page).get(model["path"]) == model["num_params"]
    page.select_option(COLOUR_BY, "time")
    expect(page.locator('[data-legend="time"]')).to_contain_text("holds no profile")
    assert drawn_costs(page) == {}
    page.select_option(COLOUR_BY, "structure")
    expect(page.locator('[data-legend="structure"]')).to_be_visible()
    assert drawn_costs(page) == {}
    assert_clean(page)


def test_page_colours_by_measured_time(page, costs_tb, costs_truth):
    """Time per step from the run's profile: the API's time_us on every drawn module, the step's time in and outside
    the modules in the legend, not-known boxes marked as such; the screenshot for the README."""
    truth = costs_truth["profiled_step"]
    listing = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=1, time=1))["node"]
    open_entry(page, costs_tb, truth["run"], truth["tag"])
    page.select_option(COLOUR_BY, "time")
    legend = page.locator('[data-legend="time"]')
    for words in ("Profiled step", "In modules", "Outside any module", "not known"):
        expect(legend).to_contain_text(words)
    timed = {c["path"]: c["time_us"] for c in listing["children"] if "time_us" in c}
    assert timed
    page.wait_for_function("n => document.querySelectorAll('svg [data-path][data-cost]').length >= n", arg=len(timed))
    assert drawn_costs(page) == pytest.approx(timed, abs=0.0005)
    unknown = [c["path"] for c in listing["children"] if "time" in c.get("cost_unknown", [])]
    assert unknown
    for path in unknown:
        expect(node(page, path)).to_have_class(re.compile(r"\bmg-cost-unknown\b"))
    model = next(c["path"] for c in listing["children"] if c["kind"] == "module")  # the Keras model
    expand(page, page, model)
    node(page, model).click()
    expect(page.locator(sel("data-details-for", model))).to_contain_text("Most expensive children (by time per step)")
    page.wait_for_timeout(300)
    picture("colour-by-time.png").write_bytes(page.screenshot(full_page=False))
    page.select_option(COLOUR_BY, "flops")
    expect(page.locator('[data-legend="flops"]')).to_contain_text("records no shapes")
    assert_clean(page)


@pytest.mark.parametrize("run,words", [
    ("damaged_profile", "is not a readable XSpace"),
    ("profile_of_another_function", "time none of this graph's ops"),
])
def test_page_says_why_a_profile_cannot_time_the_graph(page, costs_tb, costs_truth, run, words):
    open_entry(page, costs_tb, run, costs_truth[run]["tag"])
    page.select_option(COLOUR_BY, "time")
    expect(page.locator('[data-legend="time"]')).to_contain_text(words)
    assert drawn_costs(page) == {}
    page.select_option(COLOUR_BY, "structure")
    expect(page.locator("[data-path]").first).to_be_visible()
    assert_clean(page, allow_http_errors=True)  # (the 422 answer itself)


def test_page_colours_by_device(page, costs_tb, costs_truth):
    truth = costs_truth["placed_ops"]
    tree = ok_json(costs_tb.api("hierarchy", run=truth["run"], tag=truth["tag"], depth=1))["node"]
    open_entry(page, costs_tb, truth["run"], truth["tag"])
    page.select_option(COLOUR_BY, "device")
    legend = page.locator('[data-legend="device"]')
    expect(legend).to_contain_text("no device recorded")
    for child in tree["children"]:
        if child.get("devices"):
            most = next(iter(child["devices"]))
            expect(node(page, child["path"])).to_have_attribute("data-device", most)
            expect(legend).to_contain_text(most.rsplit("device:", 1)[1])
        else:
            expect(node(page, child["path"])).to_have_class(re.compile(r"\bmg-unpainted\b"))
    assert_clean(page)
