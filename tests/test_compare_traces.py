"""A comparison says what it could not compare: two traces of one model whose middle layer was made wider, each
written in a process of its own (README's advice), have the same structure but a trace records no parameter shapes,
so `diff` must not say they match; the same models as module records still show the width change, their parameter
and FLOPs deltas computed here from the live layers (tests/helpers/diff_traces.py)."""

from __future__ import annotations

import json

import pytest

from tb_module_plugin.cli import main as cli
from tb_module_plugin.compare import diff as diff_lib
from tb_module_plugin.serve import diff_answer as answer

from tests.helpers.compare_models import load
from tests.helpers.diff_traces import RECORD_TAG, TRACE_TAG
from tests.helpers.processes import REPO, cache_key, cached_logdir, printed_result, run_python

pytestmark = pytest.mark.live

WIDTHS = {"A": 32, "A_again": 32, "wider": 64}


def _write(folder):
    truth = {}
    for run, width in WIDTHS.items():  # (each in a process of its own: a fresh process names the layers alike)
        truth[run] = printed_result(run_python(["-m", "tests.helpers.diff_traces", str(folder), run, str(width)]))
    (folder / "truth.json").write_text(json.dumps(truth))


@pytest.fixture(scope="module")
def traces():
    """(logdir, {run: what its live layers said}), cached in .cache/ by the code that writes them."""
    recording = REPO / "tb_module_plugin" / "recording"
    key = cache_key([REPO / "tests" / "helpers" / "diff_traces.py", recording / "summary.py",
                     recording / "module_tree.py", recording / "calls.py"], ("tensorflow-cpu", "tensorflow", "keras"))
    logdir = cached_logdir("diff_traces", key, _write)
    return logdir, json.loads((logdir / "truth.json").read_text())


def diff(capsys, logdir, kind, a, b, *args):
    """(exit status, stdout, stderr) of `diff` of two runs of one kind (trace / record), run in this process."""
    tag = TRACE_TAG if kind == "trace" else RECORD_TAG
    status = cli.main(["diff", str(logdir), "--run", f"{kind}/{a}", "--tag", tag, "--run2", f"{kind}/{b}",
                       "--tag2", tag, *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def live_params(truth, run) -> int:
    return sum(layer["params"] for layer in truth[run]["layers"])


def live_flops(truth, run) -> int:
    """The forward FLOPs of the recorded call from the live layers: each Dense's MatMul (2 per multiply-add), its
    bias (one add per output) and its ReLU (one per output)."""
    b = truth[run]["batch"]
    return sum(2 * b * layer["kernel"][0] * layer["kernel"][1] + b * layer["kernel"][1]
               + (b * layer["kernel"][1] if layer["activation"] == "relu" else 0) for layer in truth[run]["layers"])


@pytest.mark.parametrize("b", ["wider", "A_again"])
def test_two_traces_are_never_said_to_match(capsys, traces, b):
    """A against its wider version (and against itself written again): the same structure, but parameters and FLOPs
    not compared, said in the text and the JSON; the exit a match's (nothing the graphs hold differs: the
    command's contract), while a budget on what they do not hold exits 2 (below)."""
    logdir, truth = traces
    if b == "wider":  # (the live models do differ: the comparison could not see it)
        assert live_params(truth, "wider") != live_params(truth, "A")
    status, out, _ = diff(capsys, logdir, "trace", "A", b)
    assert status == 0, out
    assert "the graphs match" not in out
    assert "the structure is the same" in out and "not compared:" in out
    assert "parameters: A and B record no parameter shapes" in out and "module_graph" in out
    status, out, _ = diff(capsys, logdir, "trace", "A", b, "--json")
    body = json.loads(out)
    assert status == 0 and body["identical"] is None and body["changed"] == []
    assert body["node"]["diff"] == "same"  # (the structure)
    assert set(body["not_compared"]) == {"num_params", "flops"}
    assert body["node"]["not_compared"] == body["not_compared"]
    assert "num_params" not in body["node"]["delta"] and "flops" not in body["node"]["delta"]


def test_a_budget_on_what_traces_cannot_give_does_not_pass(capsys, traces):
    status, out, err = diff(capsys, traces[0], "trace", "A", "wider", "--fail-on", "params:+1%,flops:+5%")
    assert status == 2 and "not known" in err, (out, err)


def test_records_of_the_width_change_give_the_live_deltas(capsys, traces):
    """The same models as module records: the change found, with the parameters and FLOPs the live layers give;
    nothing left uncompared."""
    logdir, truth = traces
    status, out, _ = diff(capsys, logdir, "record", "A", "wider", "--json")
    body = json.loads(out)
    assert status == 1 and body["identical"] is False and body["not_compared"] == {}
    assert "not_compared" not in body["node"]
    rows = {row["path"]: row["delta"] for row in body["changed"]}
    assert rows["mlp"]["num_params"] == live_params(truth, "wider") - live_params(truth, "A")
    assert rows["mlp"]["flops"] == body["node"]["delta"]["flops"] == live_flops(truth, "wider") - live_flops(truth, "A")
    for a, b in zip(truth["A"]["layers"], truth["wider"]["layers"]):  # each layer's own
        if a["params"] != b["params"]:
            one = {run: dict(truth[run], layers=[layer]) for run, layer in (("A", a), ("wider", b))}
            assert rows[f"mlp/{a['name']}"] == {"num_params": b["params"] - a["params"],
                                                 "flops": live_flops(one, "wider") - live_flops(one, "A")}
    status, out, _ = diff(capsys, logdir, "record", "A", "wider")
    assert status == 1 and "not compared" not in out
    assert f"params {live_params(truth, 'wider') - live_params(truth, 'A'):+,}" in out
    status, out, _ = diff(capsys, logdir, "record", "A", "A_again", "--json")
    body = json.loads(out)
    assert status == 0 and body["identical"] is True and body["not_compared"] == {}


def test_a_record_against_a_trace_names_the_side_that_lacks_shapes(traces):
    """A record (shapes recorded) against a trace (none): only B is named as lacking them."""
    logdir = traces[0]
    d = diff_lib.Diff(load(logdir, "record/A", RECORD_TAG), load(logdir, "trace/wider", TRACE_TAG))
    missing = diff_lib.not_compared(d)
    assert missing["num_params"].startswith("B records no parameter shapes"), missing
    assert d.identical is not True
    assert answer.diff_node(d, "", 0)["not_compared"] == missing
