"""Issue 20: no logdir can exhaust the server or escape into a terminal. Hostile logdirs written at test time,
served by real tensorboard processes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tb_module_plugin.cache import HierarchyCache

from support import REPO, InProcess, RawWriter, TensorBoard, error, graph_def, ok_json

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


# --- item 3: names never reach a terminal raw ----------------------------------------------------------------
TITLE, CLEAR = "\x1b]0;pwned\x07", "\x1b[2J"  # retitles the terminal; clears it
CONTROL_RUN = f"run{TITLE}"
# A terminal obeys these rather than showing them (C0, DEL, C1; the bidirectional overrides).
TERMINAL_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def control_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("control_logs")
    w = RawWriter(logdir, CONTROL_RUN)
    w.run_metadata(f"tag{CLEAR}", [graph_def([
        (f"model{CLEAR}/dense\x07\u202e/MatMul", "MatMul", []), ("head\x9b\u202e/Relu", "Relu", [])])])
    w.blob("graph_run_metadata_graph", f"broken{TITLE}", b"\x0f\xff not a RunMetadata")
    w.close()
    session = logdir / CONTROL_RUN / "plugins" / "profile" / "2026_01_01_00_00_00"
    session.mkdir(parents=True)
    (session / f"host{CLEAR}.xplane.pb").write_bytes(b"\x0f\xff not an XSpace")  # a `note:` line naming it
    return logdir


@pytest.mark.parametrize("options", [[], ["--sort", "params", "--all"], ["--json"]])
def test_the_cli_prints_no_control_character(control_logdir, options):
    proc = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(control_logdir), *options],
                          capture_output=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 1, (out, err)  # the broken record is reported, and the status says so
    for stream in (out, err):
        assert not TERMINAL_CONTROLS.search(stream), repr(TERMINAL_CONTROLS.search(stream)[0])
    assert "error: run\\x1b]0;pwned\\x07 / broken\\x1b]0;pwned\\x07" in err, err
    if "--json" in options:
        answer = json.loads(out)
        assert [*answer] == [f"{CONTROL_RUN}/tag{CLEAR}"]  # the names themselves, in escapes JSON undoes
        assert {c["name"] for c in answer[f"{CONTROL_RUN}/tag{CLEAR}"]["children"]} >= {f"model{CLEAR}"}
    else:
        assert "run\\x1b]0;pwned\\x07 / tag\\x1b[2J (trace)" in out, out
        if not options:  # (--sort lists modules only: these scopes read no variable)
            assert "model\\x1b[2J" in out and "head\\x9b\\u202e" in out, out
        assert "note: run\\x1b]0;pwned\\x07: The profile" in err and "host\\x1b[2J.xplane.pb" in err, err


@pytest.fixture(scope="module")
def control_tb(control_logdir):
    tb = TensorBoard(control_logdir, load_fast=False, name="bounded-control")
    tb.start(wait_graphs=[(CONTROL_RUN, f"tag{CLEAR}")], timeout=120)
    yield tb
    tb.stop()


def test_exports_of_control_character_names_parse(page, control_tb):
    """The SVG download parses as XML (ESC and BEL made it invalid) and still names the groups; the PNG, drawn
    from it, is made."""
    from playwright.sync_api import expect

    page.goto(control_tb.entry_url(CONTROL_RUN, f"tag{CLEAR}"))
    drawn = page.locator("svg.mg-graph .mg-name")
    expect(drawn.first).to_be_visible(timeout=60_000)
    names = drawn.evaluate_all("els => els.map(e => e.textContent)")
    assert any(CLEAR in name for name in names), names  # the page shows the names as they are
    with page.expect_download() as info:
        page.click('button[data-export="svg"]')
    document = ElementTree.fromstring(Path(info.value.path()).read_bytes())
    texts = [t.text or "" for t in document.iter("{http://www.w3.org/2000/svg}text")]
    assert "model\ufffd[2J" in texts and "head\ufffd\ufffd" in texts, texts
    with page.expect_download() as info:
        page.click('button[data-export="png"]')
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not page.problems(), page.problems()
