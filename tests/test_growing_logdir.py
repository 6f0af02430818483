"""Issue 5, part 7: a logdir a training job is still writing, served with `--reload_interval 1`
by both loaders: a run added or a trace appended appears without a restart, a newer trace at a
later step replaces the one shown, and graphs already open keep answering throughout."""

from tests.helpers import hostile
from tests.helpers.answers import error, ok_json
from tests.helpers.processes import wait_for
from tests.helpers.records import RawWriter, graph_def

RELOAD_WAIT = 30  # seconds: a reload every second, a few for the Rust data server to hand it over


def listed(tb):
    return {(g["run"], g["tag"]) for g in ok_json(tb.api("graphs"))["graphs"]}


def top_names(tb, run, tag):
    return {c["name"] for c in ok_json(tb.api("hierarchy", run=run, tag=tag))["node"]["children"]}


def steady(tb):
    """A graph open all along: its answer, to compare before and after."""
    return ok_json(tb.api("hierarchy", run="synthetic_small", tag=hostile.SYNTHETIC_TAG, depth=2))


def test_a_run_added_while_serving_appears(hostile_tb, hostile_logdir):
    run = f"grown_{hostile_tb.loader}"
    open_before = steady(hostile_tb)
    assert (run, "trace") not in listed(hostile_tb)
    assert "no run" in error(hostile_tb.api("hierarchy", run=run, tag="trace"), 404)
    RawWriter(hostile_logdir, run).run_metadata("trace", [graph_def([("grown/x", "Const", []),
                                                                     ("grown/y", "Relu", ["grown/x"])])]).close()
    wait_for(lambda: (run, "trace") in listed(hostile_tb), timeout=RELOAD_WAIT, what=f"{run} listed")
    assert top_names(hostile_tb, run, "trace") == {"grown"}
    assert steady(hostile_tb) == open_before


def test_a_trace_appended_replaces_the_one_shown(hostile_tb, growing_writers):
    """The writer stays open, as a training job's does: the trace written again at step 1 replaces
    step 0's; while the reload happens every answer is the old graph or the new one, never an error."""
    run, writer = f"growing_{hostile_tb.loader}", growing_writers[hostile_tb.loader]
    open_before = steady(hostile_tb)
    assert top_names(hostile_tb, run, "trace") == {"first"}
    assert ok_json(hostile_tb.api("node", run=run, tag="trace", path="first/y"))["node"]["op"] == "Relu"
    writer.run_metadata("trace", [graph_def([("second/x", "Const", []), ("second/y", "Tanh", ["second/x"]),
                                             ("second/z", "Relu", ["second/y"])])], step=1).flush()
    seen = []

    def replaced():
        names = top_names(hostile_tb, run, "trace")
        seen.append(names)
        return names == {"second"}

    wait_for(replaced, timeout=RELOAD_WAIT, what="the trace of step 1 shown", interval=0.1)
    assert all(names in ({"first"}, {"second"}) for names in seen), seen
    assert ok_json(hostile_tb.api("hierarchy", run=run, tag="trace"))["node"]["num_ops"] == 3
    assert "no node" in error(hostile_tb.api("node", run=run, tag="trace", path="first/y"), 404)
    assert steady(hostile_tb) == open_before


def test_a_trace_with_a_new_tag_appears_in_an_open_run(hostile_tb, growing_writers):
    run, writer = f"growing_{hostile_tb.loader}", growing_writers[hostile_tb.loader]
    writer.run_metadata("later", [graph_def([("later/x", "Const", [])])], step=2).flush()
    wait_for(lambda: (run, "later") in listed(hostile_tb), timeout=RELOAD_WAIT, what="the new tag listed")
    assert top_names(hostile_tb, run, "later") == {"later"}
    assert (run, "trace") in listed(hostile_tb)
