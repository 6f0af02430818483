"""One overlay mechanism (measures/overlays.py): each measure says its fields of a node; the `hierarchy` and `node`
answers join them to the structure, the `values` route gives one apart. Checked in process on graphs built here
(their truth: the built tree and the times given to it), then through a real tensorboard on the demo's profiled
ResNet50 step, and on the page: colouring by time asks `values`, never a listing again."""

from __future__ import annotations

import shutil
import typing
from urllib.parse import parse_qs, urlparse

import pytest

from tests.helpers.answers import InProcess, check_against, error, ok_json, walk
from tests.helpers.processes import TensorBoard
from tests.helpers.records import RawWriter, graph_def

from tb_module_plugin import schema
from tb_module_plugin.build import builder as build
from tb_module_plugin.measures import costs as costs_lib
from tb_module_plugin.measures import overlays
from tb_module_plugin.measures import time as time_lib
from tb_module_plugin.readers import graph as graph_lib, profiles
from tb_module_plugin.serve import answers
from tb_module_plugin.serve.values import values_json

RUN, TAG = "resnet50_train_step", "train_step"  # the demo's profiled training step (resnet_logdir)
HANDMADE = "handmade"  # a run graph without a profile (its tag: the run graph's)
HANDMADE_TAG = "__run_graph__"


def _shapes(*shapes):
    from tensorboard.compat.proto import attr_value_pb2, tensor_shape_pb2

    value = attr_value_pb2.AttrValue()
    for dims in shapes:
        value.list.shape.add().CopyFrom(tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]))
    return {"_output_shapes": value}


# A dense layer, its gradient and an optimizer's update, with recorded shapes (so its FLOPs are counted).
NODES = [("x", "Placeholder", [], _shapes([4, 8])),
         ("m/dense/kernel", "VarHandleOp", [], _shapes([])),
         ("m/dense/r", "ReadVariableOp", ["m/dense/kernel"], _shapes([8, 2])),
         ("m/dense/MatMul", "MatMul", ["x", "m/dense/r"], _shapes([4, 2])),
         ("gradients/m/dense/MatMul/MatMul", "MatMul", ["m/dense/MatMul", "m/dense/r"], _shapes([4, 8])),
         ("opt/update", "Mul", ["m/dense/r", "m/dense/r"], _shapes([8, 2]))]


def built():
    flat = graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(NODES)), [], [])
    return build.build_graph_hierarchy(flat, "t")


def times_of(hierarchy, timed: list):
    """Times where each op of `timed` took 1 ms in one step."""
    total_ps = {name: 10**9 for name in timed}
    op_times = profiles.OpTimes(files=[], total_ps=total_ps, runs={k: 1 for k in total_ps}, steps=1,
                                all_ops_ps=sum(total_ps.values()))
    return time_lib.Times(hierarchy, op_times)


def _measured(entry: dict) -> dict:
    return {key: value for key, value in entry.items() if key != "unknown"}


# --- the registry, in process -----------------------------------------------------------------------------------
def test_each_measure_field_belongs_to_exactly_one_registered_measure():
    """The registry names every measure the API speaks of, each by its own name, and the measures' fields share
    out the measured fields of a node's answer: none unowned, none owned twice."""
    assert list(overlays.MEASURES) == list(typing.get_args(schema.CostMeasure))
    owners: dict = {}
    for name, measure in overlays.MEASURES.items():
        assert measure.NAME == name
        for field in measure.FIELDS:
            owners.setdefault(field, []).append(name)
    assert all(len(names) == 1 for names in owners.values()), owners
    assert set(owners) == set(typing.get_type_hints(schema.MeasureValues)), owners


def test_the_answers_join_exactly_the_overlays_the_values_answer_gives():
    """Every node of a hierarchy answer with time holds, of each measure, the fields the `values` answer gives it,
    and names the measure in cost_unknown exactly where `values` says it is not known; both cover the same
    nodes (every node of the built tree, at depth 8)."""
    h = built()
    costs_lib.count_costs(h)
    timed = [n.op_name for n in h.all_nodes if n.children is None and n.type in ("MatMul", "Mul")]
    times = times_of(h, timed)
    tree = answers.hierarchy_node(h, h.root, 8, times)
    listed = {node["path"]: node for node, _ in walk(tree)}
    assert set(listed) == {n.path for n in h.all_nodes}
    for name, measure in overlays.MEASURES.items():
        answer = values_json(h, name, [""], 8, times)
        check_against(answer, schema.ValuesAnswer)
        assert answer["pending"] is False and set(answer["values"]) == set(listed), name
        for path, entry in answer["values"].items():
            node = listed[path]
            assert _measured(entry) == {k: node[k] for k in measure.FIELDS if k in node}, (name, path)
            assert ("unknown" in entry) == (name in node.get("cost_unknown", [])), (name, path)
    # (the graph is measured at all: the comparison above is not between empty dicts)
    dense = listed["m/dense"]
    assert dense["flops"] == h.costs.flops_of(h.find("m/dense")) > 0
    assert dense["time_us"] == pytest.approx(times.time_of(h.find("m/dense")))
    placeholder = next(n for n in h.all_nodes if n.children is None and n.op_name == "x")
    assert "time" in listed[placeholder.path]["cost_unknown"]  # (not timed)


def test_paths_asked_again_or_inside_each_other_are_walked_once(monkeypatch):
    """A `values` request may name 500 paths: the same one 500 times, or a group and its children, costs what the
    union of their subtrees holds, each node's value made once; the answer is the same as for the paths once."""
    h = built()
    costs_lib.count_costs(h)
    made = []
    overlay_of = overlays.overlay_of
    monkeypatch.setattr(overlays, "overlay_of", lambda graph, node, measure: made.append(node) or overlay_of(
        graph, node, measure))
    once = values_json(h, "flops", [""], 8)
    assert len(made) == len(h.all_nodes) and len(once["values"]) == len(h.all_nodes)
    made.clear()
    groups = [n.path for n in h.all_nodes if n.children]
    again = values_json(h, "flops", [""] * 250 + groups * 2 + ["m"], 8)
    assert again == once and len(made) == len(h.all_nodes)
    # (a path asked deeper than where it was met first is walked down to the deeper level)
    made.clear()
    deeper = values_json(h, "flops", ["", "m"], 1)
    assert set(deeper["values"]) == {n.path for n in h.all_nodes if n.depth <= 1 or n.parent.path == "m"}


def test_values_of_a_measure_still_counted_are_pending_then_given(monkeypatch):
    """A graph whose FLOPs are counted after its first answer says `pending` with no values (and no `unknown`),
    then, once counted, the values every node's answer holds."""
    h = built()
    monkeypatch.setattr(costs_lib, "SYNC_COST_OPS", 0)  # (as a graph over the limit: counted in the background)
    answer = values_json(h, "flops", [""], 1)
    assert answer == {"measure": "flops", "values": {}, "pending": True}
    assert "flops" not in answers.node_json(h, "", 1)
    costs_lib.count_costs(h)
    answer = values_json(h, "flops", [""], 1)
    assert answer["pending"] is False
    assert set(answer["values"]) == {""} | {c.path for c in h.root.children.values()}
    assert answer["values"][""]["flops"] == h.costs.flops_of(h.root) > 0


# --- the route ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def logdir(resnet_logdir, tmp_path_factory):
    root = tmp_path_factory.mktemp("overlays")
    shutil.copytree(resnet_logdir / RUN, root / RUN)
    writer = RawWriter(root, HANDMADE)
    writer.graph_def(graph_def(NODES))
    writer.close()
    return root


@pytest.fixture(scope="module")
def in_process(logdir):
    return InProcess(logdir)


@pytest.fixture(scope="module")
def served(logdir):
    tb = TensorBoard(logdir, load_fast=False, name="overlays")
    tb.start(wait_graphs={(RUN, TAG), (HANDMADE, HANDMADE_TAG)}, timeout=180)
    yield tb
    tb.stop()


def _paths_listed(tb, run, tag, paths, time=False):
    """{path: node} of every node the `hierarchy` answers of `paths` (depth 1) list."""
    out = {}
    for path in paths:
        params = dict(run=run, tag=tag, path=path, depth=1, **({"time": 1} if time else {}))
        for node, _ in walk(ok_json(tb.api("hierarchy", **params))["node"]):
            out[node["path"]] = node
    return out


def _check_values_route(tb, run, tag, measure):
    root = ok_json(tb.api("hierarchy", run=run, tag=tag, depth=1))["node"]
    paths = [""] + [c["path"] for c in root["children"] if c["kind"] != "op"][:3]
    assert len(paths) > 1
    answer = ok_json(tb.api("values", run=run, tag=tag, measure=measure, path=paths, depth=1))
    check_against(answer, schema.ValuesAnswer)
    listed = _paths_listed(tb, run, tag, paths, time=measure == "time")
    assert answer["measure"] == measure and answer["pending"] is False
    assert set(answer["values"]) == set(listed)
    fields = overlays.MEASURES[measure].FIELDS
    for path, entry in answer["values"].items():
        node = listed[path]
        assert _measured(entry) == {k: node[k] for k in fields if k in node}, path
        assert ("unknown" in entry) == (measure in node.get("cost_unknown", [])), path
    return answer


@pytest.fixture(params=["in_process", "served"])
def api(request, logdir):
    """The plugin in process, then behind a real tensorboard: the same checks for both (`logdir` named here so
    that the tests using it are marked as needing the demo's ResNet step: see conftest.NEEDS)."""
    return request.getfixturevalue(request.param)


def test_values_route_in_process_gives_each_listed_nodes_measure(in_process):
    answer = _check_values_route(in_process, HANDMADE, HANDMADE_TAG, "flops")
    assert answer["values"][""]["flops"] > 0


def test_values_route_live_gives_time_and_flops_as_the_listings_do(served):
    answer = _check_values_route(served, RUN, TAG, "time")
    root = answer["values"][""]
    assert 0 < root["time_us"] <= root["step_time_us"] + 0.001
    _check_values_route(served, RUN, TAG, "flops")


BAD_REQUESTS = [  # (parameters, status): run and tag given unless the parameters say them
    ({"measure": "bogus"}, 400), ({}, 400), ({"measure": "flops", "depth": 9}, 400),
    ({"measure": "flops", "path": "no/such/node"}, 404), ({"measure": "flops", "run": "no_such_run"}, 404),
    ({"measure": "flops", "path": [str(i) for i in range(501)]}, 400),
]


@pytest.mark.parametrize("params,status", BAD_REQUESTS)
def test_values_route_errors(api, params, status):
    error(api.api("values", **{"run": RUN, "tag": TAG, **params}), status)


def test_values_of_time_without_a_profile_is_a_profile_error(api):
    response = api.api("values", run=HANDMADE, tag=HANDMADE_TAG, measure="time")
    error(response, 422)
    assert response.json()["kind"] == "profile"


# --- the page -----------------------------------------------------------------------------------------------------
def test_page_colours_by_time_from_the_values_overlay_without_listing_again(page, served):
    """Turning on colour by time asks `values?measure=time` for the loaded listings and no `hierarchy`; the drawn
    times are the API's; a group expanded afterwards brings its listing and its time overlay."""
    from playwright.sync_api import expect
    from tests.helpers.browser import assert_clean, expand, node, open_entry

    listing = ok_json(served.api("hierarchy", run=RUN, tag=TAG, depth=1, time=1))["node"]
    model = next(c for c in listing["children"] if c["name"].startswith("resnet50"))
    open_entry(page, served, RUN, TAG)
    page.wait_for_load_state("networkidle")
    asked = []
    page.on("request", lambda request: asked.append(urlparse(request.url)))

    def routes():
        return [(url.path.rsplit("/", 1)[-1], parse_qs(url.query, keep_blank_values=True))
                for url in asked if "/data/plugin/module_graph/" in url.path]

    page.select_option('select[name="colour-by"]', "time")
    expect(page.locator('[data-legend="time"]')).to_be_visible()
    page.wait_for_function("p => document.querySelector(`svg [data-path='${p}'][data-cost]`)", arg=model["path"])
    assert float(node(page, model["path"]).get_attribute("data-cost")) == pytest.approx(model["time_us"], rel=1e-9)
    asked_first = routes()
    assert [route for route, _ in asked_first] == ["values"], asked_first
    assert asked_first[0][1]["measure"] == ["time"] and "" in asked_first[0][1]["path"], asked_first

    asked.clear()
    expand(page, page, model["path"])
    page.wait_for_load_state("networkidle")
    later = routes()
    assert ("hierarchy", model["path"]) in [(route, query.get("path", [""])[0]) for route, query in later], later
    assert any(route == "values" and query["measure"] == ["time"] and model["path"] in query["path"]
               for route, query in later), later
    assert_clean(page)
