"""The plugin's routes over a MultiplexerDataProvider: no TensorBoard process, real TensorFlow traces."""

from __future__ import annotations

import pytest
from tensorboard.compat.proto import config_pb2, graph_pb2

from tests.helpers.answers import make_client, parsed_graphs
from tests.helpers.answers import client_get as get
from tb_module_plugin.recording import demo
from tb_module_plugin.build import sources

from tests.helpers import traces


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logdir")
    demo.write_nested_model(str(root))
    graph_def = graph_pb2.GraphDef()
    for name, op in (("x", "Placeholder"), ("dense/kernel", "VariableV2"), ("dense/MatMul", "MatMul")):
        graph_def.node.add(name=name, op=op)
    graph_def.node[2].input.extend(["x", "dense/kernel"])
    for i in range(7):
        graph_def.node.add(name="AddN" if i == 0 else f"AddN_{i}", op="AddN", input=["dense/MatMul"])
    traces.write_run_graph(str(root / "handmade"), graph_def)
    traces.write_raw(str(root / "bad"), "graph_run_metadata_graph", "garbage", b"\xff\x00 not a proto \x13")
    traces.write_raw(str(root / "bad"), "graph_run_metadata_graph", "empty",
                     config_pb2.RunMetadata().SerializeToString())
    traces.write_raw(str(root / "bad"), "graph_keras_model", "keras", b"{not json")
    return root


def test_graphs_lists_every_record_with_its_source(client):
    status, body = get(client, "/graphs")
    assert status == 200
    assert {(g["run"], g["tag"], g["source"]) for g in body["graphs"]} == {
        ("nested_model", "model", "trace"), ("nested_model/train", "train_step", "trace"),
        ("handmade", "__run_graph__", "run_graph"),
        ("bad", "garbage", "trace"), ("bad", "empty", "trace"), ("bad", "keras", "keras")}


def test_nested_model_top_level_is_the_model_with_inputs_and_outputs(client):
    status, body = get(client, "/hierarchy", run="nested_model", tag="model")
    assert status == 200
    names = [c["name"] for c in body["node"]["children"]]
    assert names[:2] == ["inputs", "model"] and "outputs" in names
    assert not any(c.get("op") == "_Arg" for c in body["node"]["children"])
    model = body["node"]["children"][1]
    assert model["kind"] == "module" and model["has_children"] is True and "children" not in model
    assert {"from": "inputs", "to": "model"}.items() <= body["node"]["edges"][-1].items() or any(
        e["from"] == "inputs" and e["to"] == "model" for e in body["node"]["edges"])


def test_nested_call_joins_its_module_and_blocks_are_chained(client):
    _, body = get(client, "/hierarchy", run="nested_model", tag="model", path="model/encoder", depth=1)
    node = body["node"]
    assert node["kind"] == "module"
    assert [c["name"] for c in node["children"]][:4] == ["block_0", "block_1", "block_2", "block_3"]
    edge = next(e for e in node["edges"] if e["from"].endswith("block_0") and e["to"].endswith("block_1"))
    assert edge["dtypes"] == ["float32"] and edge["control"] is False


def test_cond_branches_sit_inside_their_block(client):
    _, body = get(client, "/hierarchy", run="nested_model", tag="model", path="model/encoder/block_0/gate", depth=3)
    node = body["node"]
    assert node["role"] == "control_flow"
    kids = {c["name"]: c for c in node["children"]}
    assert kids["(gate)"]["op"] == "StatelessIf"
    assert kids["then"]["role"] == "branch" and kids["else"]["role"] == "branch"
    mul = next(c for c in kids["then"]["children"] if c["name"] == "mul")
    assert {c["op"] for c in mul["children"]} == {"Const", "Mul"}


def test_captured_variables_nest_into_the_module_that_reads_them(client):
    _, body = get(client, "/hierarchy", run="nested_model", tag="model", path="model/head")
    variables = [c for c in body["node"]["children"] if c.get("role") == "variable"]
    assert len(variables) == 2 and all(v["op"] == "_Arg" for v in variables)
    _, details = get(client, "/node", run="nested_model", tag="model", path="model/head")
    assert len(details["node"]["captured_variables"]) == 2


def test_op_named_like_a_scope_keeps_its_node(client):
    _, body = get(client, "/hierarchy", run="nested_model", tag="model", path="model/head/MatMul")
    kids = {c["name"]: c for c in body["node"]["children"]}
    assert kids["(MatMul)"]["op"] == "MatMul" and kids["ReadVariableOp"]["op"] == "ReadVariableOp"
    assert kids["(MatMul)"]["path"] == "model/head/MatMul/(MatMul)"
    assert kids["(MatMul)"]["attrs"]["T"] == "float32"


def test_op_details_have_inputs_and_outputs_with_dtypes(client):
    status, body = get(client, "/node", run="nested_model", tag="model", path="model/head/MatMul/(MatMul)")
    assert status == 200
    node = body["node"]
    assert node["op_name"] == "model/head/MatMul" and node["ancestors"] == ["model", "head", "MatMul"]
    assert {i["path"] for i in node["inputs"]} == {"model/encoder/Identity", "model/head/MatMul/ReadVariableOp"}
    assert node["outputs"][0]["path"] == "model/head/add/(add)" and node["outputs"][0]["dtype"] == "float32"


def test_run_graph_folds_numbered_ops_into_a_series(client):
    _, body = get(client, "/hierarchy", run="handmade", tag="__run_graph__")
    kids = {c["name"]: c for c in body["node"]["children"]}
    assert kids["AddN[0-6]"]["role"] == "series" and kids["AddN[0-6]"]["num_ops"] == 7
    assert kids["dense"]["kind"] == "module"  # it owns a variable


def test_search_finds_and_regex_errors_are_400(client):
    _, body = get(client, "/search", run="nested_model", tag="model", q="block_1/up")
    assert body["matches"][0]["path"] == "model/encoder/block_1/up"
    _, body = get(client, "/search", run="nested_model", tag="model", q=r"block_\d/down$", regex="1")
    assert [m["path"] for m in body["matches"]] == [f"model/encoder/block_{i}/down" for i in range(4)]
    status, body = get(client, "/search", run="nested_model", tag="model", q="(", regex="1")
    assert status == 400 and "regular expression" in body["error"]
    status, body = get(client, "/search", run="nested_model", tag="model", q="(block_+)+1", regex="1")
    assert status == 200 and [m["path"] for m in body["matches"]][0] == "model/encoder/block_1"  # RE2: no refusal
    status, body = get(client, "/search", run="nested_model", tag="model", q=r"(block)_\1", regex="1")
    assert status == 400 and "backreference" in body["error"]


@pytest.mark.parametrize("params,status,words", [
    ({"tag": "model"}, 400, "'run'"),
    ({"run": "nested_model", "tag": "model", "depth": "x"}, 400, "depth"),
    ({"run": "nested_model", "tag": "model", "depth": "99"}, 400, "depth"),
    ({"run": "nope", "tag": "model"}, 404, "no run"),
    ({"run": "nested_model", "tag": "nope"}, 404, "no graph tagged"),
    ({"run": "nested_model", "tag": "model", "path": "model/nope"}, 404, "no node"),
    ({"run": "bad", "tag": "garbage"}, 422, "not a readable RunMetadata"),
    ({"run": "bad", "tag": "empty"}, 422, "trace_on(graph=True)"),
    ({"run": "bad", "tag": "keras"}, 422, "not readable JSON"),
])
def test_bad_requests_get_json_errors(client, params, status, words):
    got, body = get(client, "/hierarchy", **params)
    assert got == status and words in body["error"]


def test_the_first_graph_is_prepared_and_each_graph_parsed_once(logdir):
    client, plugin = make_client(logdir)
    # Unasked: the graph the tab opens first (handmade's, which has a module) and the three of run "bad" before it,
    # which do not read.
    assert plugin.store.prepared.wait(60), "the start-up head start is not over after 60 s"
    assert parsed_graphs(plugin.store) == {("handmade", "__run_graph__"), ("bad", "garbage"), ("bad", "empty"),
                                           ("bad", "keras")}
    assert get(client, "/graphs", first="1")[1]["first"] == {"run": "handmade", "tag": "__run_graph__"}
    assert len(plugin.store.cache) == 4
    for _ in range(3):
        assert get(client, "/hierarchy", run="nested_model", tag="model")[0] == 200
    assert len(plugin.store.cache) == 5 and ("nested_model", "model") in parsed_graphs(plugin.store)


def test_static_files_refuse_traversal(client):
    for path in ("/static/../plugin.py", "/static/%2e%2e/plugin.py", "/static/nope.js", "/static/"):
        assert client.get(path).status_code == 404


def test_requests_reuse_the_listing_the_page_asked_for(tmp_path):
    """One listing per page load, not one per request (each is six data-provider calls); a graph written since
    is still found, by asking again."""
    logdir = tmp_path
    for run, op in (("first", "VariableV2"), ("second", "Const")):  # the first has a module: the head start's choice
        traces.write_run_graph(str(logdir / run), graph_pb2.GraphDef(node=[{"name": f"{run}/x", "op": op}]))
    client, plugin = make_client(logdir)
    assert plugin.store.prepared.wait(30), "the start-up head start is not over after 30 s"
    provider = plugin.store._data_provider
    calls = []
    for method in ("list_blob_sequences", "read_blob_sequences"):
        real = getattr(provider, method)
        setattr(provider, method, lambda *a, _real=real, _name=method, **k: calls.append(_name) or _real(*a, **k))
    status, listing = get(client, "/graphs")
    assert status == 200 and calls == ["list_blob_sequences"] * len(sources.GRAPH_PLUGINS)
    run, tag = listing["graphs"][-1]["run"], listing["graphs"][-1]["tag"]
    calls.clear()
    for _ in range(3):
        assert get(client, "/hierarchy", run=run, tag=tag)[0] == 200
    assert calls == ["read_blob_sequences"], calls  # the listing reused; the newest blobs looked up once
    traces.write_run_graph(str(logdir / "written_later"), graph_pb2.GraphDef(node=[{"name": "late", "op": "Const"}]))
    provider._multiplexer.AddRunsFromDirectory(str(logdir))
    provider._multiplexer.Reload()
    status, body = get(client, "/hierarchy", run="written_later", tag="__run_graph__")
    assert status == 200 and body["node"]["num_ops"] == 1
