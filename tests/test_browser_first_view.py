"""The first view in Debian's Chromium through a real `tensorboard`: a logdir whose first run is an empty trace opens
on a readable graph, without a single failed request; the picker marks the graph that does not read and, with many
runs, filters the run list as one types."""

from __future__ import annotations

import shutil
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.helpers.processes import ARTIFACTS_DIR, PLUGIN_NAME, TensorBoard, run_python
from tests.helpers.records import write_trace

DRAW_TIMEOUT = 30_000
FRAME = f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]'
COPIES = [f"c_model_{i:02}" for i in range(1, 11)]  # with a_empty and b_model: 12 runs, enough for the filter

# A real empty trace: trace_on, then trace_export with nothing run in between (the step made beforehand, so that
# not even its constant is recorded).
EMPTY_TRACE = """
import tensorflow as tf
writer = tf.summary.create_file_writer({run_dir!r})
step = tf.constant(0, tf.int64)
with writer.as_default(step=step):
    tf.summary.trace_on(graph=True)
    tf.summary.trace_export(name="empty_trace", step=step)
writer.flush()
"""

MODULE = """
class Dense(tf.Module):
    def __init__(self):
        super().__init__(name="dense")
        with self.name_scope:
            self.w = tf.Variable(tf.ones([3, 2]), name="w")

    @tf.function
    def __call__(self, x):
        with self.name_scope:
            return tf.nn.relu(tf.matmul(x, self.w))

f = Dense()
ARGS = (tf.ones([1, 3]),)
"""


@pytest.fixture(scope="module")
def first_view_tb(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("first_view_logs")
    run_python(EMPTY_TRACE.format(run_dir=str(logdir / "a_empty")))
    write_trace(logdir, "b_model", "model", MODULE)
    for run in COPIES:
        shutil.copytree(logdir / "b_model", logdir / run)
    graphs = {("a_empty", "empty_trace"), ("b_model", "model")} | {(run, "model") for run in COPIES}
    tb = TensorBoard(logdir, load_fast=False, name="first-view")
    tb.start(wait_graphs=graphs)
    yield tb
    tb.stop()


def open_tab(page, tb):
    """TensorBoard's page on the tab, no graph named: the frame's locator once it draws."""
    page.goto(f"{tb.url}/#{PLUGIN_NAME}")
    frame = page.frame_locator(FRAME)
    expect(frame.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    return frame


def test_a_logdir_whose_first_run_is_an_empty_trace_opens_on_a_readable_graph(page, first_view_tb):
    requests = []
    page.on("request", lambda r: requests.append(r.url) if f"/plugin/{PLUGIN_NAME}/" in r.url else None)
    frame = open_tab(page, first_view_tb)
    run, tag = frame.locator('select[aria-label="Run"]'), frame.locator('select[aria-label="Tag"]')
    expect(run).to_have_value("b_model")
    expect(tag).to_have_value("model")
    expect(frame.locator('[data-path="dense"]')).to_be_visible()
    expect(frame.locator('[role="alert"]')).to_have_count(0)
    # The empty trace is marked in the picker, and says why in its title.
    empty = run.locator('option[value="a_empty"]')
    expect(empty).to_have_text("a_empty — does not read")
    assert "holds no graph" in empty.get_attribute("title")
    # It was never asked for: no request answered with an error, no console error (strict: not even Chromium's
    # "Failed to load resource").
    asked = [urllib.parse.parse_qs(urllib.parse.urlsplit(url).query) for url in requests if "/hierarchy" in url]
    assert asked and all(q["run"] == ["b_model"] for q in asked), asked
    assert not page.problems(), "\n".join(page.problems())
    # TensorBoard's address now names what is shown, so a reload opens it again.
    assert "run=b_model" in page.evaluate("() => location.hash")


def test_picking_the_empty_trace_says_why_and_the_picker_keeps_it_marked(page, first_view_tb):
    frame = open_tab(page, first_view_tb)
    frame.locator('select[aria-label="Run"]').select_option("a_empty")
    alert = frame.locator('[role="alert"]')
    expect(alert).to_contain_text("holds no graph", timeout=DRAW_TIMEOUT)
    expect(frame.locator('select[aria-label="Tag"] option')).to_have_text(["empty_trace — does not read"])
    assert not page.problems(allow_http_errors=True), "\n".join(page.problems(allow_http_errors=True))


def test_many_runs_get_a_filter_that_narrows_the_run_list(page, first_view_tb):
    frame = open_tab(page, first_view_tb)
    run = frame.locator('select[aria-label="Run"]')
    expect(run.locator("option")).to_have_count(12)
    box = frame.get_by_label("Filter runs")
    expect(box).to_be_visible()
    box.fill("MODEL_0")  # any case
    # The matches, and the run shown (b_model) kept first: the list tells the truth about what is shown.
    expect(run.locator("option")).to_have_count(10)
    expect(run.locator("option").first).to_have_attribute("value", "b_model")
    expect(frame.locator(".mg-run-filter-count")).to_have_text("9 of 12 runs")
    box.fill("model_07")
    box.press("Enter")  # opens the first match
    expect(run).to_have_value("c_model_07", timeout=DRAW_TIMEOUT)
    expect(frame.locator('[data-path="dense"]')).to_be_visible(timeout=DRAW_TIMEOUT)
    box.press("Escape")  # clears the filter
    expect(box).to_have_value("")
    expect(run.locator("option")).to_have_count(12)
    box.fill("zzz")
    expect(frame.locator(".mg-run-filter-count")).to_have_text("no run matches")
    box.press("ArrowDown")  # to the run list
    expect(run).to_be_focused()
    assert not page.problems(), "\n".join(page.problems())


@pytest.mark.parametrize("dark", [False, True])
def test_picker_screenshot(page, first_view_tb, dark):
    """The picker with its filter and a marked run, light and dark, for a person to look at."""
    page.goto(f"{first_view_tb.url}/{'?darkMode=true' if dark else ''}#{PLUGIN_NAME}")
    frame = page.frame_locator(FRAME)
    expect(frame.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    frame.get_by_label("Filter runs").fill("a")
    toolbar = frame.locator(".mg-toolbar")
    # What the picture shows: the filter's count of the runs it matches (from the listing), the marked run, and
    # the theme asked for (text lighter than what is behind it in dark mode, darker in light mode).
    runs = {g["run"] for g in first_view_tb.api("graphs").json()["graphs"]}
    matching = [run for run in runs if "a" in run.lower()]
    assert matching, runs
    expect(frame.locator(".mg-run-filter-count")).to_have_text(f"{len(matching)} of {len(runs)} runs")
    expect(frame.locator('select[aria-label="Run"] option[value="a_empty"]')).to_have_text("a_empty — does not read")
    text, behind = toolbar.evaluate(LUMINANCES_JS)
    assert (text > behind) == dark, (dark, text, behind)
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    toolbar.screenshot(path=str(ARTIFACTS_DIR / f"first-view-picker{'-dark' if dark else ''}.png"))
    assert not page.problems(), "\n".join(page.problems())


# The relative luminance of an element's text colour and of the first opaque background behind it.
LUMINANCES_JS = """(el) => {
    const lum = (colour) => {
        const [r, g, b] = colour.match(/[\\d.]+/g).map(Number);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    let at = el, behind = getComputedStyle(at).backgroundColor;
    while (at && (behind === "transparent" || /^rgba\\(.*,\\s*0\\)$/.test(behind))) {
        at = at.parentElement;
        behind = at ? getComputedStyle(at).backgroundColor : "rgb(255, 255, 255)";
    }
    return [lum(getComputedStyle(el).color), lum(behind)];
}"""
