"""Issue 20: no logdir can exhaust the server or escape into a terminal. Hostile logdirs written at test time,
served by real tensorboard processes."""

import pytest

from tb_module_plugin.cache import HierarchyCache

from support import InProcess, RawWriter, TensorBoard, error, graph_def, ok_json

QUOTED_RUNS = {'q"uote': 't"ag', "back\\slash": "trace"}  # run -> tag: names TensorBoard's Rust server cannot read
PLAIN_RUN = "plain"


@pytest.fixture(scope="module")
def bounded_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("bounded_logs")
    for run, tag in {**QUOTED_RUNS, PLAIN_RUN: "trace"}.items():
        RawWriter(logdir, run).run_metadata(tag, [graph_def([("s/x", "Const", []), ("s/y", "Relu", ["s/x"])])]).close()
    return logdir


@pytest.fixture(scope="module")
def fast_tb(bounded_logdir):
    tb = TensorBoard(bounded_logdir, load_fast=True, name="bounded-fast")
    try:
        tb.start(wait_graphs=[(run, tag) for run, tag in QUOTED_RUNS.items()], timeout=120)
    except RuntimeError as e:
        tb.stop()
        pytest.fail(f"tensorboard --load_fast=true did not start: {str(e)[:500]}")
    yield tb
    tb.stop()


# --- item 4: every error is JSON with a 4xx, whatever the data provider raises ---------------------------------
@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_a_quoted_run_under_load_fast_gets_a_json_4xx(fast_tb, route):
    """The Rust data server lists these runs but fails to read their blobs (it cannot parse its own blob key):
    the answer says so, and how to see the graph, as JSON."""
    for run, tag in QUOTED_RUNS.items():
        message = error(fast_tb.api(route, run=run, tag=tag, q="x"), 422)
        assert "--load_fast=false" in message and run in message.replace("\\\\", "\\"), message
    assert ok_json(fast_tb.api("hierarchy", run=PLAIN_RUN, tag="trace"))["node"]["num_ops"] == 2
    listed = {(g["run"], g["tag"]) for g in ok_json(fast_tb.api("graphs", first=1))["graphs"]}
    assert set(QUOTED_RUNS.items()) <= listed


class _Failing(Exception):
    pass


@pytest.mark.parametrize("method", ["list_blob_sequences", "read_blob_sequences", "read_blob"])
def test_whatever_the_data_provider_raises_is_a_json_4xx(bounded_logdir, monkeypatch, method):
    plugin = InProcess(bounded_logdir)
    assert plugin.plugin.store.prepared.wait(60)
    plugin.plugin.store._recent.forget()  # nothing remembered from the head start: every request asks
    plugin.plugin.store.cache = HierarchyCache()

    def fail(*args, **kwargs):
        raise _Failing("the provider broke")

    monkeypatch.setattr(plugin.plugin.store._data_provider, method, fail)
    routes = ["hierarchy", "node", "search"] + (["graphs"] if method == "list_blob_sequences" else [])
    for route in routes:
        message = error(plugin.api(route, run=PLAIN_RUN, tag="trace", q="x", first=1), 422)
        assert "_Failing" in message and "the provider broke" not in message, message
