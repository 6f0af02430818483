"""`python -m tb_module_plugin diff`: the comparison as text and JSON, its exit statuses, and `--fail-on` budgets
at their thresholds, over real Keras records written here (the truth from the live models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import processes
from tests.helpers.records import write_bad_records
from tb_module_plugin.cli import main as cli

from tests.helpers.compare_models import versioned_model, write_module_record


# (each test writes its records with real TensorFlow: seconds, not `make test-quick`)
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def logdirs(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("cli_versions")
    other = tmp_path_factory.mktemp("cli_other")
    base, changed = versioned_model(), versioned_model(extra_block=True, wide=True, frozen=True)
    write_module_record(logdir, "base", base)
    write_module_record(logdir, "again", versioned_model())
    write_module_record(logdir, "changed", changed)
    write_module_record(other, "elsewhere", changed)
    write_bad_records(logdir)
    return logdir, other, base, changed


def diff(capsys, logdir, *args):
    """(exit status, stdout, stderr) of the command run in this process."""
    status = cli.main(["diff", str(logdir), "--run", "base", "--tag", "model", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_identical_graphs_exit_0(capsys, logdirs):
    status, out, _ = diff(capsys, logdirs[0], "--run2", "again", "--tag2", "model")
    assert status == 0, out
    assert "the graphs match" in out
    status, out, _ = diff(capsys, logdirs[0], "--run2", "again", "--tag2", "model", "--json")
    body = json.loads(out)
    assert status == 0 and body["identical"] is True and body["changed"] == [] and body["node"]["diff"] == "same"
    assert body["not_compared"] == {}


def test_different_graphs_exit_1_and_say_what_changed(capsys, logdirs):
    logdir, _, base, changed = logdirs
    status, out, _ = diff(capsys, logdir, "--run2", "changed", "--tag2", "model")
    assert status == 1, out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["net/head_hidden"].split()[0] in ("added", "changed")
    assert "trainable" in lines["net/encoder"] and "trainable" in lines["net/encoder/enc_a"]
    assert f"params {changed.count_params() - base.count_params():+,}" in lines["net"]
    assert "net/blk_0" not in lines  # (the same: not listed)
    status, out, _ = diff(capsys, logdir, "--run2", "changed", "--tag2", "model", "--json")
    body = json.loads(out)
    assert status == 1 and body["identical"] is False
    rows = {row["path"]: row for row in body["changed"]}
    assert rows["net"]["delta"]["num_params"] == changed.count_params() - base.count_params()
    assert {c["field"] for c in rows["net/encoder"]["changes"]} == {"trainable"}


def test_a_second_logdir(capsys, logdirs):
    logdir, other, _, _ = logdirs
    status, out, _ = diff(capsys, logdir, "--run2", "elsewhere", "--tag2", "model", "--logdir2", str(other))
    assert status == 1 and "net/encoder" in out
    status, out, _ = cli.main(["diff", str(other), "--run", "elsewhere", "--tag", "model", "--run2", "changed",
                               "--tag2", "model", "--logdir2", str(logdir)]), *capsys.readouterr()
    assert status == 0, out  # (the same model written in two logdirs)


@pytest.mark.parametrize("args, says", [
    (("--run2", "nope", "--tag2", "model"), "no run 'nope'"),
    (("--run2", "bad_records", "--tag2", "garbage"), "error:"),
    (("--run2", "changed", "--tag2", "model", "--step2", "5"), "step 5"),
    (("--run2", "changed", "--tag2", "model", "--fail-on", "weights:+1%"), "--fail-on"),
    (("--run2", "changed", "--tag2", "model", "--fail-on", "nothing=params:+1%"), "nothing"),
])
def test_what_cannot_be_read_exits_2(capsys, logdirs, args, says):
    status, out, err = diff(capsys, logdirs[0], *args)
    assert status == 2, (out, err)
    assert says in err and "Traceback" not in err


def test_a_missing_logdir_exits_2(capsys, tmp_path):
    status = cli.main(["diff", str(tmp_path / "none"), "--run", "a", "--tag", "t", "--run2", "b", "--tag2", "t"])
    assert status == 2 and "not a directory" in capsys.readouterr().err


def test_fail_on_passes_and_fails_at_its_thresholds(capsys, logdirs):
    """Budgets on the totals and on a module, just above and just below the growth the live models have."""
    logdir, _, base, changed = logdirs
    growth = (changed.count_params() - base.count_params()) / base.count_params() * 100
    head_a, head_b = base.get_layer("head_out").count_params(), changed.get_layer("head_out").count_params()
    common = ("--run2", "changed", "--tag2", "model")
    status, out, _ = diff(capsys, logdir, *common, "--fail-on", f"params:+{growth + 0.01:.2f}%")
    assert status == 0, out
    status, out, _ = diff(capsys, logdir, *common, "--fail-on", f"params:+{growth - 0.01:.2f}%")
    assert status == 1 and "EXCEEDED" in out, out
    status, out, _ = diff(capsys, logdir, *common, "--fail-on", f"net/head_out=params:+{head_b - head_a}")
    assert status == 0, out
    status, out, _ = diff(capsys, logdir, *common, "--fail-on", f"net/head_out=params:+{head_b - head_a - 1}")
    assert status == 1, out
    # FLOPs: the command's own count of both totals, the budget at it and one below.
    status, out, _ = diff(capsys, logdir, *common, "--json", "--fail-on", "flops:+0")
    check = json.loads(out)["budgets"][0]
    assert status == 1 and check["exceeded"] and check["b"] > check["a"]
    grown = check["b"] - check["a"]
    assert diff(capsys, logdir, *common, "--fail-on", f"flops:+{grown}")[0] == 0
    assert diff(capsys, logdir, *common, "--fail-on", f"params:+100%,flops:+{grown - 1}")[0] == 1
    # Identical graphs pass any budget, and a budget that holds makes differing graphs pass.
    assert diff(capsys, logdir, "--run2", "again", "--tag2", "model", "--fail-on", "params:+0%")[0] == 0


def _env():
    env = dict(os.environ, **processes.QUIET_TF_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(processes.REPO), env.get("PYTHONPATH")]))
    return env


def test_the_command_line_as_a_process(logdirs):
    """`python -m tb_module_plugin diff` in a process of its own: the exit status a CI job sees."""
    logdir = logdirs[0]
    proc = subprocess.run([sys.executable, "-m", "tb_module_plugin", "diff", str(logdir), "--run", "base", "--tag",
                           "model", "--run2", "changed", "--tag2", "model"], capture_output=True, text=True,
                          timeout=300, cwd=str(processes.REPO), env=_env())
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "net/encoder" in proc.stdout


def test_names_reach_the_terminal_escaped(capsys, tmp_path):
    """A run named with terminal control characters (TensorFlow refuses them in scope names, a folder does not) is
    printed escaped."""
    name = "run\x1b]0;x\x07"
    write_module_record(tmp_path, name, versioned_model(wide=True))
    write_module_record(tmp_path, "other", versioned_model())
    status = cli.main(["diff", str(tmp_path), "--run", name, "--tag", "model", "--run2", "other", "--tag2", "model"])
    out = capsys.readouterr().out
    assert status == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b" in out
