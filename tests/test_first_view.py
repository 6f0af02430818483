"""Which graph the tab opens first (tb_module_plugin/serve/first_view.py): the plain choice, and the `graphs` route asked
with first=1 over logdirs of real records, whose graphs that do not read are entries that say why (never a 422)."""

from __future__ import annotations

import itertools

import pytest
from tensorboard.compat.proto import config_pb2, graph_pb2

from tests.helpers.answers import make_client, parsed_graphs
from tests.helpers.answers import client_get as get
from tb_module_plugin.serve import first_view
from tb_module_plugin.build import sources
from tb_module_plugin.serve.first_view import Readability

from tests.helpers import traces

READS_WITH_MODULE = Readability(True, has_module=True)
READS_NO_MODULE = Readability(True, has_module=False)
BROKEN = Readability(False, error="This trace holds no graph.")


def choose(outcomes: dict, parsed=(), **kw):
    """choose_first_graph over records named by `outcomes` (name -> Readability, in order); which it read."""
    read = []

    def reader(name):
        read.append(name)
        return outcomes[name]

    choice = first_view.choose_first_graph(list(outcomes), reader, lambda name: name in parsed, **kw)
    return choice, read


def test_the_first_graph_that_reads_and_has_a_module_is_chosen_and_nothing_after_it_is_read():
    choice, read = choose({"a": BROKEN, "b": READS_NO_MODULE, "c": READS_WITH_MODULE, "d": READS_WITH_MODULE})
    assert choice.record == "c" and read == ["a", "b", "c"]
    assert choice.readability == {"a": BROKEN, "b": READS_NO_MODULE, "c": READS_WITH_MODULE}


def test_without_a_module_the_first_that_reads_is_chosen_and_without_one_nothing():
    assert choose({"a": BROKEN, "b": READS_NO_MODULE, "c": READS_NO_MODULE})[0].record == "b"
    choice, read = choose({"a": BROKEN, "b": BROKEN})
    assert choice.record is None and read == ["a", "b"] and choice.readability == {"a": BROKEN, "b": BROKEN}


def test_a_record_gone_meanwhile_is_neither_chosen_nor_said_to_read():
    choice, _ = choose({"a": None, "b": READS_WITH_MODULE})
    assert choice.record == "b" and "a" not in choice.readability


def test_parses_are_capped_and_graphs_parsed_before_are_not_counted():
    outcomes = {f"empty_{i}": BROKEN for i in range(10)} | {"good": READS_WITH_MODULE}
    choice, read = choose(outcomes, max_parses=8)
    assert choice.record is None and len(read) == 8  # a first view does not parse a whole logdir
    choice, read = choose(outcomes, parsed={f"empty_{i}" for i in range(10)}, max_parses=1)
    assert choice.record == "good" and len(read) == 11  # the failures were known: only "good" is parsed


def test_no_parse_starts_once_the_time_is_spent():
    ticks = itertools.count()  # each look at the clock: one second later
    choice, read = choose({"a": BROKEN, "b": BROKEN, "c": BROKEN, "d": READS_WITH_MODULE}, seconds=2.5,
                          clock=lambda: float(next(ticks)))
    assert choice.record is None and read == ["a", "b"]


def test_the_answer_carries_readability_where_known_and_the_choice():
    from tb_module_plugin.build.sources import GraphRecord

    a, b = GraphRecord("a", "t", "trace", "graph_run_metadata_graph"), GraphRecord("b", "t", "run_graph", "graphs")
    answer = first_view.graphs_answer([a, b], {"b"}, {a: BROKEN}, first=b)
    assert answer == {"graphs": [
        {"run": "a", "tag": "t", "source": "trace", "profiled": False, "reads": False,
         "error": "This trace holds no graph."},
        {"run": "b", "tag": "t", "source": "run_graph", "profiled": True}],
        "first": {"run": "b", "tag": "t"}}


# --- the route, over real records -------------------------------------------------------------------------------
def _run_graph(with_variable: bool):
    graph_def = graph_pb2.GraphDef()
    graph_def.node.add(name="x", op="Placeholder")
    if with_variable:  # a scope that owns a variable is a module
        graph_def.node.add(name="dense/kernel", op="VariableV2")
        graph_def.node.add(name="dense/MatMul", op="MatMul", input=["x", "dense/kernel"])
    else:
        graph_def.node.add(name="double/mul", op="Mul", input=["x", "x"])
    return graph_def


def _empty_trace(logdir, run):
    """What trace_export writes when nothing was traced: an empty RunMetadata."""
    traces.write_raw(str(logdir / run), "graph_run_metadata_graph", "empty_trace",
                     config_pb2.RunMetadata().SerializeToString())


def _client(logdir):
    client, plugin = make_client(logdir)
    # Let the start-up head start finish (it makes the same choice).
    assert plugin.store.prepared.wait(60), "the start-up head start is not over after 60 s"
    return client, plugin


@pytest.fixture(scope="module")
def mixed_logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_view")
    _empty_trace(root, "a_empty")
    traces.write_raw(str(root / "b_garbage"), "graph_run_metadata_graph", "garbage", b"\xff\x00 not a proto")
    traces.write_run_graph(str(root / "c_flat"), _run_graph(with_variable=False))
    traces.write_run_graph(str(root / "d_module"), _run_graph(with_variable=True))
    traces.write_run_graph(str(root / "e_module"), _run_graph(with_variable=True))
    return root


def test_first_is_the_first_graph_that_reads_and_has_a_module(mixed_logdir):
    client, plugin = _client(mixed_logdir)
    status, body = get(client, "/graphs", first="1")
    assert status == 200
    assert body["first"] == {"run": "d_module", "tag": "__run_graph__"}
    entries = {g["run"]: g for g in body["graphs"]}
    assert entries["a_empty"]["reads"] is False and "trace_on(graph=True)" in entries["a_empty"]["error"]
    assert entries["b_garbage"]["reads"] is False and "not a readable RunMetadata" in entries["b_garbage"]["error"]
    assert entries["c_flat"]["reads"] is True and entries["c_flat"]["has_module"] is False
    assert entries["d_module"]["reads"] is True and entries["d_module"]["has_module"] is True
    assert "reads" not in entries["e_module"]  # after the choice: not parsed (the store's own record says so)
    assert parsed_graphs(plugin.store) == {("a_empty", "empty_trace"), ("b_garbage", "garbage"),
                                           ("c_flat", "__run_graph__"), ("d_module", "__run_graph__")}
    # The chosen graph was parsed for the choice: opening it parses nothing more.
    cached = len(plugin.store.cache)
    assert get(client, "/hierarchy", run="d_module", tag="__run_graph__")[0] == 200
    assert len(plugin.store.cache) == cached


def test_graphs_opened_before_carry_their_readability_and_the_plain_listing_depends_on_the_logdir_alone(
        mixed_logdir):
    client, _ = _client(mixed_logdir)
    plain = get(client, "/graphs")
    assert get(client, "/hierarchy", run="e_module", tag="__run_graph__")[0] == 200
    status, body = get(client, "/graphs", first="1")
    assert status == 200 and body["first"] == {"run": "d_module", "tag": "__run_graph__"}
    assert {g["run"]: g.get("reads") for g in body["graphs"]} == {
        "a_empty": False, "b_garbage": False, "c_flat": True, "d_module": True, "e_module": True}
    assert get(client, "/graphs") == plain and "first" not in plain[1]
    assert not any("reads" in g for g in plain[1]["graphs"])


def test_without_a_module_the_first_graph_that_reads(tmp_path):
    _empty_trace(tmp_path, "a_empty")
    traces.write_run_graph(str(tmp_path / "b_flat"), _run_graph(with_variable=False))
    status, body = get(_client(tmp_path)[0], "/graphs", first="1")
    assert status == 200 and body["first"] == {"run": "b_flat", "tag": "__run_graph__"}


def test_when_nothing_reads_there_is_no_first_and_every_entry_says_why(tmp_path):
    for run in ("a_empty", "b_empty"):
        _empty_trace(tmp_path, run)
    client, _ = make_client(tmp_path)
    status, body = get(client, "/graphs", first="1")
    assert status == 200 and "first" not in body
    assert all(g["reads"] is False and "holds no graph" in g["error"] for g in body["graphs"])


def test_the_head_start_makes_the_choice_before_the_page_asks(mixed_logdir):
    _, plugin = make_client(mixed_logdir)
    assert plugin.store.prepared.wait(60), "the start-up head start is not over after 60 s"
    # The three before it, then the choice; not e_module: what the store parsed, by its own record.
    assert parsed_graphs(plugin.store) == {("a_empty", "empty_trace"), ("b_garbage", "garbage"),
                                           ("c_flat", "__run_graph__"), ("d_module", "__run_graph__")}


def test_a_graph_the_engine_fails_on_is_marked_and_the_listing_still_answers(tmp_path, monkeypatch):
    """An unexpected failure building one graph (not a GraphError) is that graph's "does not read", never a 5xx
    of the whole listing; the next graph is chosen."""
    traces.write_run_graph(str(tmp_path / "a_module"), _run_graph(with_variable=True))
    traces.write_run_graph(str(tmp_path / "b_module"), _run_graph(with_variable=True))
    real_build = sources.build_hierarchy

    def failing_build(record, blobs, **options):
        if record.run == "a_module":
            raise RuntimeError("a bug in the engine")
        return real_build(record, blobs, **options)

    monkeypatch.setattr(sources, "build_hierarchy", failing_build)
    client, _ = make_client(tmp_path)
    status, body = get(client, "/graphs", first="1")
    assert status == 200, body
    assert body["first"] == {"run": "b_module", "tag": "__run_graph__"}
    entry = next(g for g in body["graphs"] if g["run"] == "a_module")
    assert entry["reads"] is False and "could not be read" in entry["error"]
