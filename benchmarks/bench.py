"""`make bench`: how fast the Modules tab shows big graphs, beside TensorBoard's own Graphs dashboard.

    python -m benchmarks.bench              (BENCH_RUNS=1 for a quick run; see --help)

1. Writes the benchmark graphs when missing (benchmarks/generate.py, cache .cache/bench/).
2. For every graph, BENCH_RUNS rounds, each on fresh `tensorboard --load_fast=false` processes over a logdir
   holding only that run:
     server A  Modules tab first view through TensorBoard's page (cold: the first one, the server parses the
               graph; then warm ones, each in a fresh browser context), the expansion of the largest top-level
               module (and, for the 200k-op graph, of a 350-op module five levels down), the Graphs dashboard's
               first drawn node (../shared/tools/graphs_dashboard_timing.py), warm `hierarchy?depth=1`
               latency and the Graphs plugin's own /graph response
     server B  one cold `hierarchy` request from Python (the first request: parsing included), its bytes; for
               the million-op graph also the memory before and after, and the first expansions of four groups
               right after it (million_extras)
3. One tensorboard over all the runs but the million-op graph's: every graph's hierarchy and largest expansion through the API, then the
   resident memory of the process and its children.
4. The Keras ModuleGraph callback's cost to the training steps it does not record (benchmarks/keras_overhead.py).
5. Prints a Markdown table of medians, marks each target met or not, writes benchmarks/results.md.

Environment: BENCH_RUNS (rounds, default 3), BENCH_WARM (warm first views per round, default 1),
BENCH_GRAPHS (comma-separated subset; BENCH_GRAPHS=synthetic_1m: the million-op graph alone), BENCH_GRAPHS_TOOL
(the Graphs dashboard timer, default ../shared/tools/graphs_dashboard_timing.py), BENCH_CACHE (default .cache/bench), BENCH_RESULTS (default
benchmarks/results.md; "-" to write none), BENCH_STRICT=1 (exit 1 when a target is not met), BENCH_SNAPSHOT=0
(serve the live tb_module_plugin/ instead of the copy taken when the run starts, .cache/bench/plugin-snapshot/).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback
import urllib.error
from pathlib import Path

from benchmarks import compare_bench, generate, keras_overhead, synthetic
from tests.helpers import processes as support  # (the TensorBoard process helper the tests use)
from tests.helpers.processes import CHROMIUM, CHROMIUM_ARGS  # (the browser the tests drive)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

PLUGIN = "module_graph"
GRAPHS_TOOL = Path(os.environ.get("BENCH_GRAPHS_TOOL", REPO / ".." / "shared" / "tools" / "graphs_dashboard_timing.py"))
VIEWPORT = {"width": 1400, "height": 900}

LABELS = {
    "demo_module": "DemoModule trace (tutorial)",
    "resnet50": "Keras ResNet50 training step",
    "resnet152": "Keras ResNet152 training step",
    "efficientnetb7": "Keras EfficientNetB7 training step",
    "synthetic_200k": "synthetic 48 x 12 x 350",
    "synthetic_1m": "synthetic 48 x 12 x 1,743 (1M ops)",
}
TRAINING_STEPS = ["resnet50", "resnet152", "efficientnetb7"]
BIG_GRAPHS = ["resnet152", "efficientnetb7", "synthetic_200k"]  # the 2x-sooner and +0.5 s targets
BASELINE = "demo_module"
MILLION = "synthetic_1m"  # measured as the others, plus its own targets (million_extras); not in the all-graphs memory
DEEP_GRAPHS = ["synthetic_200k", MILLION]  # the synthetic graphs: a module five levels down is expanded too

# Timeouts (seconds). Generous: the machine is shared and has two cores.
START_TIMEOUT = 300
HTTP_TIMEOUT = 300
PAGE_TIMEOUT = 180
EXPAND_TIMEOUT = 60
GRAPHS_TOOL_TIMEOUT = 420

# The targets.
TARGET_RATIO = 2.0
TARGET_ADDED_S = 0.5
TARGET_COLD_200K_S = 2.0
TARGET_VS_GRAPH = 2.0
TARGET_FIRST_BYTES = 200_000
TARGET_EXPAND_S = 0.5
TARGET_RSS_BYTES = 1.5e9
TARGET_COLD_1M_S = 2.0  # the million-op graph's cold first answer
TARGET_RSS_1M_BYTES = 1.5e9  # TensorBoard's resident memory with the million-op graph loaded (and settled)
# Regular expressions a backtracking engine takes minutes to hours over (and a backreference, which RE2 refuses):
# each is answered, matches or a 400, within TARGET_REGEX_S on the 200,000-op graph.
HOSTILE_REGEXES = ["(a+)+b", ".*.*.*.*.*.*.*=", r"(a*)\1*b"]
TARGET_REGEX_S = 0.1
RESPONSIVE_TASK_MS = 100  # "the page stays responsive": no main-thread task longer than this during an expansion


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --- TensorBoard processes ------------------------------------------------------------------------------------
# A copy of tb_module_plugin/ taken when the benchmark starts, put first on the tensorboards' PYTHONPATH (before the
# editable install's finder): every server of one run serves the same code while others edit the shared checkout.
PLUGIN_PATH: list = []


def TensorBoard(logdir: Path, log_path: Path, expect_graphs: int = 1):
    """support.TensorBoard as the benchmark runs it (`with`: started, then stopped): TensorBoard's own reload
    interval, the plugin snapshot first on the path, ready once the plugin lists `expect_graphs` graph(s)."""
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [*PLUGIN_PATH, os.environ.get("PYTHONPATH")]))} \
        if PLUGIN_PATH else {}
    return support.TensorBoard(logdir, log_path=log_path, env=env, reload_interval=None, min_graphs=expect_graphs,
                               start_timeout=START_TIMEOUT)


def stop_all():
    support.stop_all()


def _on_signal(signum, frame):
    stop_all()
    raise SystemExit(f"interrupted by signal {signum}; every tensorboard started was stopped")


# --- In the browser -------------------------------------------------------------------------------------------
# Polled in TensorBoard's page (polling 100 ms, as graphs_dashboard_timing.py polls the Graphs dashboard): the
# Modules tab's iframe has drawn its first [data-path] node; or it shows an error and nothing else.
MODULES_FIRST_NODE = """() => {
  const find = (root) => {
    const f = root.querySelector('iframe[src*="plugin_entry.html?name=%s"]'); if (f) return f;
    for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) { const r = find(el.shadowRoot); if (r) return r; } }
    return null; };
  const frame = find(document);
  const doc = frame && frame.contentDocument;
  if (!doc) return false;
  if (doc.querySelector('[data-path]')) return {ok: true};
  const alert = doc.querySelector('[role=alert]');
  return alert && alert.textContent.trim() ? {error: alert.textContent.trim()} : false;
}""" % PLUGIN

# Runs inside the Modules iframe: double-clicks the node at `path` (a dblclick event on its [data-path] element,
# which is what the page listens to) and times, with requestAnimationFrame, until the node says it is expanded and
# its children's [data-path] elements are drawn inside it, with edges [data-from] between them (when the API lists
# any). Also the longest main-thread task (PerformanceObserver "longtask") and the longest gap between frames.
EXPAND = """async ({path, needEdges, timeoutMs, graceMs}) => {
  const sel = '[data-path="' + CSS.escape(path) + '"]';
  const first = document.querySelector(sel);
  if (!first) return {error: 'node ' + path + ' is not drawn'};
  if (first.getAttribute('data-expanded') === 'true') return {error: 'node ' + path + ' is already expanded'};
  let longest = 0;
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longest = Math.max(longest, e.duration); });
    observer.observe({type: 'longtask'});
  } catch (e) { observer = null; }
  await new Promise((r) => requestAnimationFrame(() => r()));
  const start = performance.now();
  first.dispatchEvent(new MouseEvent('dblclick', {bubbles: true, cancelable: true, view: window, detail: 2}));
  let childrenAt = null, edgesAt = null, last = start, maxGap = 0, kids = 0, edges = 0;
  const result = await new Promise((resolve) => {
    const tick = () => {
      // performance.now(), not the frame's timestamp: that one can be older than `start` (it marks the frame's
      // beginning), which made a change drawn in the same frame look negative.
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last); last = now;
      const el = document.querySelector(sel);
      if (el && el.getAttribute('data-expanded') === 'true') {
        kids = 0; edges = 0;
        for (const k of el.querySelectorAll('[data-path]')) if (k.parentElement.closest('[data-path]') === el) kids++;
        for (const e of el.querySelectorAll('[data-from]')) if (e.closest('[data-path]') === el) edges++;
        if (kids > 0 && childrenAt === null) childrenAt = now;
        if (kids > 0 && edges > 0 && edgesAt === null) edgesAt = now;
        if (childrenAt !== null && (edgesAt !== null || !needEdges)) return resolve({ok: true});
        if (childrenAt !== null && now - childrenAt > graceMs) return resolve({ok: true, note: 'no edges drawn'});
      }
      if (now - start > timeoutMs) {
        const alert = document.querySelector('[role=alert]');
        return resolve({error: 'not drawn within ' + timeoutMs + ' ms' + (alert ? ': ' + alert.textContent.trim() : '')});
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await new Promise((r) => setTimeout(r, 100));
  if (observer) { for (const e of observer.takeRecords()) longest = Math.max(longest, e.duration); observer.disconnect(); }
  const done = edgesAt !== null ? edgesAt : childrenAt;
  const fetches = performance.getEntriesByType('resource').filter((e) => e.startTime >= start && e.name.includes('/hierarchy?'));
  const fetchMs = fetches.length ? Math.max(...fetches.map((e) => e.responseEnd)) - start : 0;
  return Object.assign(result, {
    fetchMs: fetchMs, fetches: fetches.length,
    ms: done === null ? null : done - start,
    childrenMs: childrenAt === null ? null : childrenAt - start,
    edgesMs: edgesAt === null ? null : edgesAt - start,
    children: kids, edges: edges, maxFrameGapMs: maxGap, longestTaskMs: observer ? longest : null,
  });
}"""


# Runs inside the Modules iframe after its first drawn node: when the frame started loading (relative to the
# TensorBoard page's navigation) and when its first hierarchy request went out and came back (relative to the frame).
FIRST_VIEW_TIMING = """() => {
  const res = performance.getEntriesByType('resource');
  const hier = res.filter((e) => e.name.includes('/hierarchy?')).sort((a, b) => a.startTime - b.startTime)[0];
  const graphs = res.find((e) => /[/]graphs([?]|$)/.test(e.name));
  let top = null;
  try { top = window.top.performance.timeOrigin; } catch (e) { top = null; }
  return {
    frameStartMs: top === null ? null : performance.timeOrigin - top,
    graphsEndMs: graphs ? graphs.responseEnd : null,
    hierStartMs: hier ? hier.startTime : null,
    hierEndMs: hier ? hier.responseEnd : null,
  };
}"""


def first_view_breakdown(elapsed: float, t: dict) -> dict:
    """Seconds spent: TensorBoard's page until it creates the tab's iframe; the iframe until it asks for the
    hierarchy (its script, /graphs); the hierarchy request; the rest (layout and drawing, and up to 0.1 s of
    polling)."""
    if t.get("frameStartMs") is None or t.get("hierStartMs") is None:
        return {}
    frame = t["frameStartMs"] / 1000
    return {
        "tb_page": frame,
        "plugin_boot": t["hierStartMs"] / 1000,
        "hierarchy": (t["hierEndMs"] - t["hierStartMs"]) / 1000,
        "draw": elapsed - frame - t["hierEndMs"] / 1000,
    }


def fmt_breakdown(b: dict) -> str:
    if not b:
        return "(no breakdown)"
    return (f"TensorBoard page {b['tb_page']:.2f} + tab boot {b['plugin_boot']:.2f} + hierarchy request "
            f"{b['hierarchy']:.2f} + draw {b['draw']:.2f} s")


class Browser:
    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception:
            self._pw.stop()
            raise

    def close(self):
        try:
            self.browser.close()
        finally:
            self._pw.stop()

    def modules_first_view(self, tb: TensorBoard):
        """(seconds from navigation to the first drawn [data-path] in the tab's iframe, where they went, context,
        page)."""
        context = self.browser.new_context(viewport=VIEWPORT)
        try:
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{tb.url}/?darkMode=false#{PLUGIN}", timeout=PAGE_TIMEOUT * 1000)
            handle = page.wait_for_function(MODULES_FIRST_NODE, timeout=PAGE_TIMEOUT * 1000, polling=100)
            elapsed = time.perf_counter() - start
            state = handle.json_value()
            if "error" in state:
                raise RuntimeError(f"the Modules tab shows an error instead of a graph: {state['error']}")
            breakdown = first_view_breakdown(elapsed, self.module_frame(page).evaluate(FIRST_VIEW_TIMING))
            return elapsed, breakdown, context, page
        except BaseException:
            context.close()
            raise

    @staticmethod
    def module_frame(page):
        """The Modules tab's frame: the child frame that draws [data-path] nodes. (Its address is not a reliable
        mark: the page rewrites its hash, which resolves against <base href>.)"""
        for frame in page.frames:
            if frame is page.main_frame:
                continue
            try:
                if frame.evaluate("() => !!document.querySelector('[data-path]')"):
                    return frame
            except Exception:  # a frame that went away meanwhile
                continue
        raise RuntimeError("the Modules tab's iframe is not in the page: " + ", ".join(f.url for f in page.frames))

    @staticmethod
    def expand(frame, path: str, need_edges: bool) -> dict:
        result = frame.evaluate(EXPAND, {"path": path, "needEdges": need_edges, "timeoutMs": EXPAND_TIMEOUT * 1000,
                                         "graceMs": 5000})
        if "error" in result:
            raise RuntimeError(f"expanding {path!r}: {result['error']}")
        return result


def graphs_dashboard_first_node(tb: TensorBoard) -> float:
    """Seconds to the Graphs dashboard's first drawn node, by ../shared/tools/graphs_dashboard_timing.py."""
    tool = GRAPHS_TOOL.resolve()
    if not tool.is_file():
        raise FileNotFoundError(f"{GRAPHS_TOOL} is missing (CI finds shared/ beside the repository)")
    proc = subprocess.run([sys.executable, str(tool), tb.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=GRAPHS_TOOL_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"graphs_dashboard_timing.py failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


# --- What to expand ---------------------------------------------------------------------------------------------
def largest_top_level_module(root: dict) -> dict:
    """The root child to expand: the module (kind "module") with the most ops; else the largest group without a
    synthetic role."""
    groups = [c for c in root.get("children", []) if c["kind"] != "op" and c.get("has_children", True)]
    modules = [c for c in groups if c["kind"] == "module"] or [c for c in groups if not c.get("role")] or groups
    if not modules:
        raise RuntimeError("the graph has no top-level group to expand")
    return max(modules, key=lambda c: c["num_ops"])


def deep_module(tb: TensorBoard, run: str, tag: str) -> dict:
    """The ~350-op module five levels down of the synthetic graph, and its ancestors' paths."""
    path = synthetic.deep_module_path()
    node = tb.get_json(f"/data/plugin/{PLUGIN}/node", run=run, tag=tag, path=path)["node"]
    segments = path.split("/")
    ancestors = ["/".join(segments[:i]) for i in range(1, len(segments))]
    return {"path": path, "ancestors": ancestors, "num_ops": node["num_ops"]}


def has_edges(tb: TensorBoard, run: str, tag: str, path: str) -> bool:
    listing = tb.get_json(f"/data/plugin/{PLUGIN}/hierarchy", run=run, tag=tag, path=path, depth=1)["node"]
    return bool(listing.get("edges"))


def graphs_plugin_query(run: str, tag: str, source: str) -> dict:
    """What the Graphs dashboard asks /data/plugin/graphs/graph for (graphs_plugin.py: a run graph has no tag; an
    op graph of a trace names its tag and conceptual=false)."""
    query = {"run": run, "limit_attr_size": 1024, "large_attrs_key": "_too_large_attrs"}
    if source != "run_graph":
        query.update(tag=tag, conceptual="false")
    return query


# --- One graph --------------------------------------------------------------------------------------------------
DECOY_RUN = "0_prefetch_decoy"


def cold_logdir(cache: Path, name: str) -> Path:
    """A logdir for the cold request, holding at first the 10-op demo run alone, as a decoy (add_measured_run adds
    the graph's run once TensorBoard serves it). The plugin starts parsing the first graph it lists at start-up (a
    head start while TensorBoard's page loads); the decoy takes that, so the graph measured is parsed by the request
    itself ("parsing included"). (With both runs there from the start, TensorBoard sometimes listed the big one
    first, still loading the decoy, and the head start parsed it.)"""
    folder = cache / "cold" / name
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_symlink():
            entry.unlink()
    (folder / DECOY_RUN).symlink_to(os.path.relpath(cache / BASELINE / BASELINE, folder))
    return folder


def add_measured_run(tb, folder: Path, cache: Path, name: str, timeout_s: float = 600.0) -> None:
    """Once the plugin has made its head start's choice (`graphs?first=1` answers with it: the decoy), add the
    measured graph's run to the cold logdir and wait for the plugin to list it (TensorBoard's next reload)."""
    first = tb.get_json(f"/data/plugin/{PLUGIN}/graphs", first=1).get("first", {})
    if first.get("run") != DECOY_RUN:
        raise RuntimeError(f"the plugin's head start chose {first}, not the decoy {DECOY_RUN}")
    (folder / name).symlink_to(os.path.relpath(cache / name / name, folder))
    deadline = time.monotonic() + timeout_s
    while not any(g["run"] == name for g in tb.get_json(f"/data/plugin/{PLUGIN}/graphs")["graphs"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"TensorBoard did not list run {name} within {timeout_s:g} s")
        time.sleep(0.5)


def measure_graph(name: str, logdir: Path, rounds: int, warm_views: int, browser: Browser, logs: Path) -> dict:
    samples = {k: [] for k in ("modules_cold", "modules_warm", "graphs_dashboard", "expand_first", "expand_warm",
                               "deep_first", "deep_warm", "hier_cold", "hier_warm", "graph_latency",
                               "startup", "tab_cold", "tab_warm", "regex_slowest",
                               "rss_before", "rss_first", "rss_settled", "rss_peak", "x_top", "x_block", "x_deep", "x_widest")}
    info: dict = {"name": name, "load": os.getloadavg()[0]}
    for r in range(rounds):
        log(f"[{name}] round {r + 1}/{rounds}")
        # Server B: the first hierarchy request from Python, parsing included.
        cold = cold_logdir(logdir.parent, name)
        with TensorBoard(cold, logs / f"{name}-r{r + 1}-cold-http.log", expect_graphs=1) as tb:
            if PLUGIN_PATH and r == 0:
                check_snapshot_served(tb, Path(PLUGIN_PATH[0]))
            samples["startup"].append(tb.startup_s)
            add_measured_run(tb, cold, logdir.parent, name)
            listed = [g for g in tb.get_json(f"/data/plugin/{PLUGIN}/graphs")["graphs"] if g["run"] == name]
            if len(listed) != 1:
                raise RuntimeError(f"run {name} should hold one graph; the plugin lists {listed}")
            entry = listed[0]
            run, tag = entry["run"], entry["tag"]
            info.update(run=run, tag=tag, source=entry["source"])
            if name == MILLION:  # (TensorBoard with the record loaded, before the plugin builds it)
                samples["rss_before"].append(tb.rss_bytes()[0] / 1e9)
            seconds, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/hierarchy", run=run, tag=tag)
            if status != 200:
                raise RuntimeError(f"cold hierarchy answered {status}: {body[:300]!r}")
            samples["hier_cold"].append(seconds)
            info["first_bytes"] = len(body)
            info["first_bytes_gzip"] = len(gzip.compress(body, 6))
            root = json.loads(body)["node"]
            info["ops"] = root["num_ops"]
            info["top_level"] = len(root.get("children", []))
            log(f"  cold hierarchy {seconds:.2f} s, {len(body):,} B; tensorboard ready in {tb.startup_s:.1f} s")
            if name == MILLION:
                million_extras(tb, run, tag, root, samples, info)

        # Server A: the page, the Graphs dashboard, warm latencies.
        with TensorBoard(logdir, logs / f"{name}-r{r + 1}.log") as tb:
            largest = largest_top_level_module(root)
            info["largest"] = {k: largest.get(k) for k in ("path", "num_ops", "num_children")}
            seconds, breakdown, context, page = browser.modules_first_view(tb)
            samples["modules_cold"].append(seconds)
            if breakdown:
                samples["tab_cold"].append(seconds - breakdown["tb_page"])
            info.setdefault("cold_breakdowns", []).append(breakdown)
            log(f"  Modules first view (cold) {seconds:.2f} s: {fmt_breakdown(breakdown)}")
            try:
                frame = Browser.module_frame(page)
                page.wait_for_timeout(300)
                need = has_edges(tb, run, tag, largest["path"])
                first = Browser.expand(frame, largest["path"], need)
                samples["expand_first"].append(first["ms"] / 1000)
                info["expand_detail"] = first
                log(f"  expand {largest['path']} ({largest.get('num_children')} children): {first['ms']:.0f} ms, "
                    f"{first['children']} drawn, {first['edges']} edges, hierarchy fetch {first['fetchMs']:.0f} ms, "
                    f"longest task {first['longestTaskMs']} ms")
                if name in DEEP_GRAPHS:
                    deep = deep_module(tb, run, tag)
                    info["deep"] = {"path": deep["path"], "num_ops": deep["num_ops"]}
                    samples["deep_first"].append(reveal_and_expand(tb, frame, run, tag, deep, largest["path"]) / 1000)
            finally:
                context.close()
            for _ in range(warm_views):
                seconds, breakdown, context, page = browser.modules_first_view(tb)
                samples["modules_warm"].append(seconds)
                if breakdown:
                    samples["tab_warm"].append(seconds - breakdown["tb_page"])
                info.setdefault("warm_breakdowns", []).append(breakdown)
                log(f"  Modules first view (warm) {seconds:.2f} s: {fmt_breakdown(breakdown)}")
                try:
                    frame = Browser.module_frame(page)
                    page.wait_for_timeout(300)
                    warm = Browser.expand(frame, largest["path"], need)
                    samples["expand_warm"].append(warm["ms"] / 1000)
                    if name in DEEP_GRAPHS:
                        samples["deep_warm"].append(reveal_and_expand(tb, frame, run, tag, deep, largest["path"]) / 1000)
                finally:
                    context.close()

            try:
                seconds = graphs_dashboard_first_node(tb)
                samples["graphs_dashboard"].append(seconds)
                log(f"  Graphs dashboard first node {seconds:.2f} s")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                if name != MILLION:
                    raise
                # (a million nodes may be more than the Graphs dashboard draws at all: said, not fatal)
                info["graphs_dashboard_error"] = f"{type(e).__name__}: {str(e).splitlines()[-1][:200] if str(e) else ''}"
                log(f"  Graphs dashboard: {info['graphs_dashboard_error']}")

            for _ in range(5):
                seconds, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/hierarchy", run=run, tag=tag, depth=1)
                samples["hier_warm"].append(seconds)
            seconds, body, status = tb.timed_get("/data/plugin/graphs/graph", **graphs_plugin_query(run, tag, entry["source"]))
            if status != 200:
                raise RuntimeError(f"the Graphs plugin's /graph answered {status}: {body[:300]!r}")
            samples["graph_latency"].append(seconds)
            info["graph_bytes"] = len(body)
            log(f"  warm hierarchy {statistics.median(samples['hier_warm'][-5:]) * 1000:.0f} ms; "
                f"Graphs /graph {seconds:.2f} s, {len(body):,} B")
            times = {}
            for query in HOSTILE_REGEXES:
                seconds, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/search", run=run, tag=tag, q=query, regex=1)
                if status not in (200, 400):
                    raise RuntimeError(f"search {query!r} answered {status}: {body[:300]!r}")
                times[query] = seconds
            samples["regex_slowest"].append(max(times.values()))
            log("  regular-expression search " + ", ".join(f"{q} {t * 1000:.0f} ms" for q, t in times.items()))
    info["samples"] = samples
    info["median"] = {k: statistics.median(v) if v else None for k, v in samples.items()}
    for kind in ("cold", "warm"):
        parts = [b for b in info.get(f"{kind}_breakdowns", []) if b]
        if parts:
            info[f"{kind}_breakdown"] = {k: statistics.median(b[k] for b in parts) for k in parts[0]}
    return info


def million_extras(tb, run: str, tag: str, root: dict, samples: dict, info: dict) -> None:
    """On the tensorboard that has just given the million-op graph's cold first answer: its resident memory;
    the first expansion (a `hierarchy?depth=1` from Python, the server's whole answer) of the largest top-level
    module, a block, the layer five levels down and the group with the most children inside that layer, each
    right after the first answer (the background work that follows it still running); then, once a search has
    waited for that work (wait_until_settled), the memory with the graph loaded and settled."""
    samples["rss_first"].append(tb.rss_bytes()[0] / 1e9)  # (GB)
    top = largest_top_level_module(root)["path"]
    deep = synthetic.deep_module_path()
    block = deep.rsplit("/", 3)[0]  # model/block_07
    timed = {}
    for key, path in (("x_top", top), ("x_block", block), ("x_deep", deep)):
        seconds, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/hierarchy", run=run, tag=tag, path=path, depth=1)
        if status != 200:
            raise RuntimeError(f"hierarchy of {path} answered {status}: {body[:300]!r}")
        samples[key].append(seconds)
        timed[key] = (path, seconds, json.loads(body)["node"])
    widest = max(timed["x_deep"][2]["children"], key=lambda c: c.get("num_children", 0))
    seconds, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/hierarchy", run=run, tag=tag, path=widest["path"],
                                         depth=1)
    if status != 200:
        raise RuntimeError(f"hierarchy of {widest['path']} answered {status}: {body[:300]!r}")
    samples["x_widest"].append(seconds)
    timed["x_widest"] = (widest["path"], seconds, json.loads(body)["node"])
    info["million_paths"] = {k: {"path": p, "num_children": len(n.get("children", []))} for k, (p, _, n) in timed.items()}
    log("  first expansions (API): " + ", ".join(f"{p} ({len(n.get('children', []))} children) {s * 1000:.0f} ms"
                                                 for p, s, n in timed.values()))
    wait_until_settled(tb, run, tag)
    tb.timed_get(f"/data/plugin/{PLUGIN}/search", run=run, tag=tag, q="step_100", regex=0)
    rss, peak = steady_rss(tb)
    samples["rss_settled"].append(rss / 1e9)
    samples["rss_peak"].append(peak / 1e9)
    log(f"  resident memory: {samples['rss_first'][-1]:.2f} GB after the first answer, {rss / 1e9:.2f} GB settled "
        f"(peak {peak / 1e9:.2f} GB)")


def steady_rss(tb, within: float = 10e6, over_s: float = 2.0, timeout_s: float = 60.0) -> tuple:
    """TensorBoard's (resident, peak) memory once it holds still (moved less than `within` bytes over `over_s`): the
    work after a first answer ends with the memory it freed handed back, a few seconds after the FLOPs are known."""
    readings = [tb.rss_bytes()]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        readings.append(tb.rss_bytes())
        recent = [rss for rss, _ in readings[-int(over_s / 0.5) - 1:]]
        if len(recent) > over_s / 0.5 and max(recent) - min(recent) < within:
            break
    return readings[-1]


def wait_until_settled(tb, run: str, tag: str, timeout_s: float = 300.0) -> None:
    """Until the work after a graph's first answer is done, as a person sees it: its FLOPs known (the `values`
    answer no longer pending; the search index, made last, is then made by the next search or already there). A
    search alone does not wait for it: asked while the FLOPs are counted, it makes the index itself, and the memory
    read then holds both steps' temporaries (about 0.14 GB more for the million-op graph)."""
    deadline = time.monotonic() + timeout_s
    while True:
        _, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/values", run=run, tag=tag, measure="flops")
        if status != 200:
            raise RuntimeError(f"values answered {status}: {body[:300]!r}")
        if not json.loads(body)["pending"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the FLOPs of {run}/{tag} were still pending after {timeout_s:g} s")
        time.sleep(0.2)


# The drawn, closed child groups (folds of repeats, groups by name, parts: visible.ts) directly under a group.
CLOSED_CHILD_GROUPS = """(parent) => [...document.querySelectorAll('svg.mg-graph [data-path]')]
  .map((e) => e.getAttribute('data-path'))
  .filter((p) => p.startsWith(parent ? parent + '/[' : '[') && p.endsWith(']') && !p.slice(parent.length + 1).includes('/')
    && document.querySelector('[data-path="' + CSS.escape(p) + '"]').getAttribute('data-expanded') !== 'true')"""


def open_child_groups_holding(frame, path: str) -> None:
    """Opens the page's child groups under `path`'s parent (the fold of the synthetic graph's 48 blocks) until
    `path` itself is drawn: setting up a measure, not part of it."""
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    drawn = lambda: frame.query_selector(f'[data-path="{path}"]') is not None  # noqa: E731
    for candidate in [] if drawn() else frame.evaluate(CLOSED_CHILD_GROUPS, parent):
        Browser.expand(frame, candidate, False)
        if drawn():
            return


def reveal_and_expand(tb, frame, run, tag, deep, already_expanded) -> float:
    """Expands the deep module's ancestors one by one (double-clicks), then times its own expansion (ms)."""
    for ancestor in deep["ancestors"]:
        if ancestor == already_expanded:
            continue
        open_child_groups_holding(frame, ancestor)
        Browser.expand(frame, ancestor, has_edges(tb, run, tag, ancestor))
    result = Browser.expand(frame, deep["path"], has_edges(tb, run, tag, deep["path"]))
    log(f"  expand {deep['path']} ({deep['num_ops']} ops, five levels down): {result['ms']:.0f} ms, "
        f"{result['children']} drawn, {result['edges']} edges, hierarchy fetch {result['fetchMs']:.0f} ms, "
        f"longest task {result['longestTaskMs']} ms")
    return result["ms"]


# --- Memory over all graphs -------------------------------------------------------------------------------------
def measure_memory(logdirs: dict, cache: Path, logs: Path) -> dict:
    """One tensorboard over a logdir of all benchmark runs (symlinks); open each graph's hierarchy and the
    largest top-level expansion (and the deep module of the 200k graph) through the API; then its RSS."""
    combined = cache / "all"
    combined.mkdir(exist_ok=True)
    for entry in combined.iterdir():
        if entry.is_symlink():
            entry.unlink()
    logdirs = {name: logdir for name, logdir in logdirs.items() if name != MILLION}  # (measured on its own)
    if not logdirs:
        return None
    for name, logdir in logdirs.items():
        (combined / name).symlink_to(os.path.relpath(logdir / name, combined))
    with TensorBoard(combined, logs / "all-runs.log") as tb:
        graphs = tb.get_json(f"/data/plugin/{PLUGIN}/graphs")["graphs"]
        deadline = time.perf_counter() + START_TIMEOUT
        while len(graphs) < len(logdirs) and time.perf_counter() < deadline:
            time.sleep(1)
            graphs = tb.get_json(f"/data/plugin/{PLUGIN}/graphs")["graphs"]
        before = tb.rss_bytes()[0]
        steps = []
        for g in graphs:
            root = tb.get_json(f"/data/plugin/{PLUGIN}/hierarchy", run=g["run"], tag=g["tag"])["node"]
            largest = largest_top_level_module(root)
            tb.get_json(f"/data/plugin/{PLUGIN}/hierarchy", run=g["run"], tag=g["tag"], path=largest["path"], depth=1)
            if g["run"] in DEEP_GRAPHS:
                path = synthetic.deep_module_path()
                for i in range(1, path.count("/") + 2):
                    tb.get_json(f"/data/plugin/{PLUGIN}/hierarchy", run=g["run"], tag=g["tag"],
                            path="/".join(path.split("/")[:i]), depth=1)
            steps.append((g["run"], tb.rss_bytes()[0]))
            log(f"  opened {g['run']}: RSS {fmt_bytes(steps[-1][1])}")
        rss, peak = tb.rss_bytes()
        return {"graphs": len(graphs), "rss": rss, "peak": peak, "rss_before": before, "steps": steps}


# --- Report -----------------------------------------------------------------------------------------------------
def fmt_s(x):
    return "n/a" if x is None else f"{x:.2f} s"


def fmt_ms(x):
    return "n/a" if x is None else f"{x * 1000:.0f} ms"


def fmt_bytes(n):
    if n is None:
        return "n/a"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n} B"


def mark(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**NOT met**")


def evaluate_targets(results: dict, memory) -> list:
    """[(target, details, ok)] for every target the benchmark measures."""
    med = {n: r["median"] for n, r in results.items() if "median" in r}
    rows = []
    for n in BIG_GRAPHS:
        if n in med and med[n]["modules_cold"] and med[n]["graphs_dashboard"]:
            m = med[n]
            ratio = m["graphs_dashboard"] / m["modules_cold"]
            rows.append((f"{n}: Modules first view >= {TARGET_RATIO:g}x sooner than the Graphs dashboard",
                         f"cold {m['modules_cold']:.2f} s vs {m['graphs_dashboard']:.2f} s = {ratio:.2f}x "
                         f"(warm {m['graphs_dashboard'] / m['modules_warm']:.2f}x)" if m["modules_warm"] else "",
                         ratio >= TARGET_RATIO))
    if BASELINE in med:
        # TensorBoard's own page (until it creates the tab's iframe) does not depend on the graph but varies by a
        # second or more from one load to the next on a busy machine: the size's cost is read on the rest (the
        # iframe's start to the first drawn node); the difference of the whole first views is shown beside it.
        base = med[BASELINE]
        for n in BIG_GRAPHS:
            m = med.get(n)
            if m and m["tab_cold"] is not None and base["tab_cold"] is not None:
                added = m["tab_cold"] - base["tab_cold"]
                detail = (f"cold {added:+.2f} s (tab {m['tab_cold']:.2f} vs {base['tab_cold']:.2f} s; whole view "
                          f"{m['modules_cold'] - base['modules_cold']:+.2f} s)")
                if m["tab_warm"] is not None and base["tab_warm"] is not None:
                    detail += (f", warm {m['tab_warm'] - base['tab_warm']:+.2f} s (whole view "
                               f"{m['modules_warm'] - base['modules_warm']:+.2f} s)")
                rows.append((f"{n}: size adds <= {TARGET_ADDED_S} s to the first view over the 10-op graph",
                             detail, added <= TARGET_ADDED_S))
    if "synthetic_200k" in med:
        c = med["synthetic_200k"]["hier_cold"]
        rows.append((f"synthetic_200k: cold hierarchy?depth=1 < {TARGET_COLD_200K_S:g} s", f"{c:.2f} s",
                     c < TARGET_COLD_200K_S))
    if "synthetic_200k" in med and med["synthetic_200k"]["graph_latency"]:
        c, g = med["synthetic_200k"]["hier_cold"], med["synthetic_200k"]["graph_latency"]
        rows.append(("synthetic_200k: cold hierarchy no slower than the Graphs plugin's /graph (same run)",
                     f"{c:.2f} s vs {g:.2f} s = {c / g:.2f}x", c <= g))
    if MILLION in med:
        m, r = med[MILLION], results[MILLION]
        rows.append((f"{MILLION}: cold first answer (hierarchy, fresh tensorboard) <= {TARGET_COLD_1M_S:g} s",
                     f"{m['hier_cold']:.2f} s", m["hier_cold"] <= TARGET_COLD_1M_S))
        if m["rss_settled"] is not None:
            rows.append((f"{MILLION}: TensorBoard resident memory with it loaded <= {TARGET_RSS_1M_BYTES / 1e9:g} GB",
                         f"{m['rss_settled']:.2f} GB settled ({m['rss_first']:.2f} GB after the first answer, peak "
                         f"{m['rss_peak']:.2f} GB; {m['rss_before']:.2f} GB before it was opened)", m["rss_settled"] <= TARGET_RSS_1M_BYTES / 1e9))
        for key, what in (("x_top", "the largest top-level module"), ("x_block", "a block"),
                          ("x_deep", "the layer five levels down"), ("x_widest", "the group with the most children")):
            if m[key] is not None:
                p = r["million_paths"][key]
                rows.append((f"{MILLION}: first expansion of {what} (`{p['path']}`, {p['num_children']} children; "
                             f"API, right after the first answer) <= {TARGET_EXPAND_S} s", f"{m[key]:.2f} s",
                             m[key] <= TARGET_EXPAND_S))
    for n in TRAINING_STEPS:
        if n in med:
            c, g = med[n]["hier_cold"], med[n]["graph_latency"]
            rows.append((f"{n}: cold hierarchy <= {TARGET_VS_GRAPH:g}x the Graphs plugin's /graph",
                         f"{c:.2f} s vs {g:.2f} s = {c / g:.2f}x", c <= TARGET_VS_GRAPH * g))
    for n, r in results.items():
        if "first_bytes" in r:
            rows.append((f"{n}: first hierarchy response <= 200 kB", fmt_bytes(r["first_bytes"]),
                         r["first_bytes"] <= TARGET_FIRST_BYTES))
    for n, r in results.items():
        m = r.get("median")
        if m and m["expand_first"] is not None:
            d = r.get("expand_detail", {})
            rows.append((f"{n}: expanding the largest top-level module ({r['largest']['path']}, "
                         f"{r['largest']['num_children']} children) < {TARGET_EXPAND_S} s",
                         f"{m['expand_first']:.2f} s (warm {fmt_s(m['expand_warm'])}); longest main-thread task "
                         f"{fmt_task(d.get('longestTaskMs'))}",
                         m["expand_first"] < TARGET_EXPAND_S))
        if m and m.get("deep_first") is not None:
            rows.append((f"{n}: expanding a {r['deep']['num_ops']}-op module five levels down < {TARGET_EXPAND_S} s",
                         f"{m['deep_first']:.2f} s (warm {fmt_s(m['deep_warm'])})", m["deep_first"] < TARGET_EXPAND_S))
    for n, r in results.items():
        d = r.get("expand_detail")
        if d and d.get("longestTaskMs") is not None:
            rows.append((f"{n}: page responsive while the largest expansion is laid out (no task > "
                         f"{RESPONSIVE_TASK_MS} ms)", f"longest task {fmt_task(d['longestTaskMs'])}, longest frame gap "
                         f"{d['maxFrameGapMs']:.0f} ms", d["longestTaskMs"] <= RESPONSIVE_TASK_MS))
    if "synthetic_200k" in med and med["synthetic_200k"].get("regex_slowest") is not None:
        slowest = med["synthetic_200k"]["regex_slowest"]
        rows.append((f"synthetic_200k: each of {', '.join(f'`{q}`' for q in HOSTILE_REGEXES)} searched (regex=1) "
                     f"< {TARGET_REGEX_S:g} s", f"slowest {slowest * 1000:.0f} ms", slowest < TARGET_REGEX_S))
    if memory and "rss" in memory:
        rows.append((f"TensorBoard resident memory after opening every graph < 1.5 GB",
                     f"{memory['rss'] / 1e9:.2f} GB = {memory['rss'] / 2**30:.2f} GiB (peak {memory['peak'] / 1e9:.2f} GB)",
                     memory["rss"] < TARGET_RSS_BYTES))
    return rows


def fmt_task(ms):
    return "n/a" if ms is None else f"{ms:.0f} ms"


def render_table(results: dict, memory, targets, meta) -> str:
    lines = [
        "| graph | ops | Modules first view cold / warm | Graphs dashboard first node | ratio cold / warm "
        "| expand largest module | first `hierarchy` bytes | `hierarchy` cold / warm | Graphs plugin `/graph` |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results.items():
        if "error" in r and "median" not in r:
            lines.append(f"| {LABELS.get(n, n)} | | error: {r['error'].splitlines()[0][:120]} | | | | | | |")
            continue
        m = r["median"]
        ratio_cold = m["graphs_dashboard"] / m["modules_cold"] if m["graphs_dashboard"] and m["modules_cold"] else None
        ratio_warm = m["graphs_dashboard"] / m["modules_warm"] if m["graphs_dashboard"] and m["modules_warm"] else None
        expand = fmt_s(m["expand_first"])
        if r.get("largest"):
            expand += f" (`{r['largest']['path']}`, {r['largest']['num_children']} children)"
        if m.get("deep_first") is not None:
            expand += f"; 5 levels down ({r['deep']['num_ops']} ops): {fmt_s(m['deep_first'])}"
        lines.append(
            f"| {LABELS.get(n, n)} | {r['ops']:,} | {fmt_s(m['modules_cold'])} / {fmt_s(m['modules_warm'])} "
            f"| {fmt_s(m['graphs_dashboard'])} | "
            f"{'n/a' if ratio_cold is None else f'{ratio_cold:.2f}x'} / {'n/a' if ratio_warm is None else f'{ratio_warm:.2f}x'} "
            f"| {expand} | {fmt_bytes(r['first_bytes'])} ({fmt_bytes(r['first_bytes_gzip'])} gzip) "
            f"| {fmt_s(m['hier_cold'])} / {fmt_ms(m['hier_warm'])} "
            f"| {fmt_s(m['graph_latency'])}, {fmt_bytes(r.get('graph_bytes'))} |"
        )
    out = "\n".join(lines) + "\n"
    if memory:
        if "rss" in memory:
            out += (f"\nTensorBoard resident memory (tensorboard and its children, from /proc) after opening all "
                    f"{memory['graphs']} graphs in one tensorboard (the million-op graph has its own row): **{fmt_bytes(memory['rss'])}** "
                    f"(peak {fmt_bytes(memory['peak'])}; {fmt_bytes(memory['rss_before'])} before any graph was opened).\n")
        else:
            out += f"\nTensorBoard resident memory: error: {memory.get('error', '').splitlines()[0][:200]}\n"
    out += ("\nWhere the Modules tab's first view goes (medians, cold / warm): TensorBoard's page until it creates the "
            "tab's iframe; the iframe until its first `hierarchy` request (its script, `/graphs`); that request; "
            "layout and drawing (with up to 0.1 s of polling).\n\n"
            "| graph | TensorBoard page | tab boot | `hierarchy` request | layout + draw | tab total |\n"
            "|---|---:|---:|---:|---:|---:|\n")
    for n, r in results.items():
        c, w = r.get("cold_breakdown"), r.get("warm_breakdown")
        if not c:
            continue
        w = w or {k: None for k in c}
        cell = lambda k: f"{c[k]:.2f} / {'n/a' if w[k] is None else f'{w[k]:.2f}'} s"
        m = r["median"]
        out += (f"| {LABELS.get(n, n)} | {cell('tb_page')} | {cell('plugin_boot')} | {cell('hierarchy')} | "
                f"{cell('draw')} | {fmt_s(m['tab_cold'])} / {fmt_s(m['tab_warm'])} |\n")
    if memory and memory.get("steps"):
        out += ("\nResident memory as the graphs are opened one after the other: "
                + ", ".join(f"{run} {fmt_bytes(rss)}" for run, rss in memory["steps"]) + ".\n")
    out += "\n| target | measured | |\n|---|---|---|\n"
    for target, detail, ok in targets:
        out += f"| {target} | {detail} | {mark(ok)} |\n"
    return out


def machine_line() -> str:
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or "?"
    try:
        mem = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))) / 1e6
    except (OSError, StopIteration):
        mem = 0
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, Linux {platform.release()}"


def snapshot_plugin(cache: Path) -> Path:
    """Copies tb_module_plugin/ (Python and the built front end) to CACHE/plugin-snapshot/; returns that folder."""
    import shutil

    target = cache / "plugin-snapshot"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(REPO / "tb_module_plugin", target / "tb_module_plugin",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def check_snapshot_served(tb: TensorBoard, snapshot: Path) -> None:
    """The tensorboard really serves the snapshot (its index.js is the snapshot's)."""
    _, body, status = tb.timed_get(f"/data/plugin/{PLUGIN}/index.js")
    if status != 200 or body != (snapshot / "tb_module_plugin" / "static" / "index.js").read_bytes():
        raise RuntimeError("tensorboard does not serve the plugin snapshot of this run (index.js differs); "
                           "run with BENCH_SNAPSHOT=0 to measure the working tree as it changes")


def plugin_fingerprint(root: Path = REPO / "tb_module_plugin") -> str:
    """The commit and a hash of the plugin's files as served (tb_module_plugin/, static bundle included): the
    checkout is shared, so the code measured can change while the benchmark runs."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "tb_module_plugin"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head, dirty = "?", ""
    return f"{head}{' + uncommitted changes' if dirty else ''} (plugin files {digest.hexdigest()[:12]})"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("tensorboard", "tensorflow-cpu", "keras", "playwright"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            pass
    try:
        chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
        parts.append(chromium)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return ", ".join(parts)


# --- Main ---------------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    parser.add_argument("--warm", type=int, default=int(os.environ.get("BENCH_WARM", "1")))
    parser.add_argument("--graphs", default=os.environ.get("BENCH_GRAPHS", ",".join(generate.GRAPHS)))
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("BENCH_CACHE", generate.DEFAULT_CACHE)))
    parser.add_argument("--results", default=os.environ.get("BENCH_RESULTS", str(HERE / "results.md")))
    parser.add_argument("--strict", action="store_true", default=os.environ.get("BENCH_STRICT") == "1")
    parser.add_argument("--no-snapshot", dest="snapshot", action="store_false",
                        default=os.environ.get("BENCH_SNAPSHOT", "1") != "0",
                        help="serve the live working tree instead of a copy of tb_module_plugin/ taken at the start")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.graphs.split(",") if n.strip()]
    cache = args.cache.resolve()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    started = time.perf_counter()
    load_before = os.getloadavg()
    plugin_before = plugin_fingerprint()
    if args.snapshot:
        PLUGIN_PATH[:] = [str(snapshot_plugin(cache))]
        log(f"measuring a snapshot of the plugin taken now: {plugin_before} (BENCH_SNAPSHOT=0: the live tree)")
    logdirs = generate.ensure(cache, names, log=log)
    generate.ensure(cache, [BASELINE], log=log)  # the decoy of the cold requests
    generated = time.perf_counter()
    logs = cache / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log(f"benchmark data in {cache}; tensorboard logs in {logs}")

    results: dict = {}
    memory = None
    failures = 0
    try:
        browser = Browser()
        try:
            for name in names:
                try:
                    results[name] = measure_graph(name, logdirs[name], args.runs, args.warm, browser, logs)
                except Exception as e:  # keep going: one graph's failure still leaves the others' figures
                    failures += 1
                    results[name] = {"name": name, "error": f"{type(e).__name__}: {e}"}
                    log(f"[{name}] FAILED: {type(e).__name__}: {e}")
                    traceback.print_exc(file=sys.stderr)
        finally:
            browser.close()
        try:
            log("[memory] one tensorboard over every benchmark run")
            memory = measure_memory(logdirs, cache, logs)
        except Exception as e:
            failures += 1
            memory = {"error": f"{type(e).__name__}: {e}"}
            log(f"[memory] FAILED: {type(e).__name__}: {e}")
    finally:
        stop_all()
    try:
        keras_callback = keras_overhead.describe(keras_overhead.measure(log=log))
    except Exception as e:  # (figures of the tab above stand without it)
        keras_callback = f"ModuleGraph callback: not measured ({type(e).__name__}: {e})"
    log(keras_callback)
    try:
        log("[compare] two ~30,000-op graphs, one block widened: the diff route's first view, cold")
        comparison = compare_bench.measure()
        log(compare_bench.describe(comparison))
    except Exception as e:  # (the other figures stand without it)
        comparison = {"error": f"{type(e).__name__}: {e}"}
        log(f"[compare] FAILED: {comparison['error']}")

    targets = evaluate_targets(results, memory)
    if "error" in comparison:
        targets.append(("compare: the diff route's first view < 2 s cold", comparison["error"], False))
    else:
        targets.append((f"compare two {comparison['num_ops']}-op graphs: the diff route's first view < "
                        f"{compare_bench.TARGET_S:g} s cold", f"{comparison['seconds']:.2f} s (next view "
                        f"{comparison['warm']:.2f} s)", comparison["status"] == 200
                        and comparison["seconds"] < compare_bench.TARGET_S))
    meta = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "command": "make bench" + (f"  (BENCH_RUNS={args.runs})" if args.runs != 3 else ""),
        "machine": machine_line(),
        "versions": versions(),
        "load": f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after (1-minute load average)",
        "measure_s": time.perf_counter() - generated,
        "plugin": plugin_before,
        "keras_callback": keras_callback,
    }
    plugin_after = plugin_fingerprint(Path(PLUGIN_PATH[0]) / "tb_module_plugin") if PLUGIN_PATH else plugin_fingerprint()
    if plugin_after.split("(plugin files")[1] != plugin_before.split("(plugin files")[1]:
        meta["plugin"] = (f"{plugin_before} at the start, {plugin_after} at the end: THE PLUGIN CHANGED DURING THE RUN, "
                          "the figures mix versions")
        log(f"warning: the plugin changed during the run ({plugin_before} -> {plugin_after})")
    table = render_table(results, memory, targets, meta)
    print()
    print(table)
    unmet = [t for t in targets if t[2] is False]
    print(f"{len(targets) - len(unmet)} of {len(targets)} targets met; measured in "
          f"{meta['measure_s'] / 60:.1f} min (medians of {args.runs} round(s)); load {meta['load']}")
    print(f"plugin measured: {meta['plugin']}")
    if args.results != "-":
        write_results(Path(args.results), table, results, memory, meta, args)
        print(f"wrote {args.results}")
    with open(cache / "last-results.json", "w") as f:
        json.dump({"meta": meta, "results": results, "memory": memory}, f, indent=1, default=str)
    if failures:
        return 2
    return 1 if (args.strict and unmet) else 0


def write_results(path: Path, table: str, results: dict, memory, meta: dict, args) -> None:
    samples = []
    for n, r in results.items():
        if "samples" not in r:
            continue
        s = r["samples"]
        parts = [f"{k} " + ", ".join(f"{x:.3f}" for x in v) for k, v in s.items() if v]
        samples.append(f"- {n} ({r['run']}/{r['tag']}, {r['source']}, {r['top_level']} top-level nodes; load "
                       f"{r['load']:.1f} when it started): " + "; ".join(parts))
    body = f"""# Benchmark: the Modules tab on big graphs

Last run: {meta['date']}, `{meta['command']}` (medians of {args.runs} round(s); {args.warm} warm first view(s) per
round), measured in {meta['measure_s'] / 60:.1f} min.
Plugin measured: {meta['plugin']}.
Machine: {meta['machine']}; load {meta['load']}. {meta['versions']}.
Data: generated by `benchmarks/generate.py` into `.cache/bench/` (git-ignored, written once).

{table}
How it is measured (`benchmarks/bench.py`): one `tensorboard --load_fast=false` per graph over a logdir holding only
that run. *Modules first view*: navigation to `/#module_graph` in TensorBoard's page until the tab's iframe has a
`[data-path]` element, polled every 100 ms as `../shared/tools/graphs_dashboard_timing.py` polls the Graphs
dashboard; *cold* is the first view on a fresh tensorboard (the server parses the graph), *warm* the next ones,
each in a fresh browser context; the targets are read on the cold view. *Graphs dashboard first node*: that tool,
same tensorboard, same round. *Ratio*: Graphs dashboard / Modules. *Size adds*: the difference to the 10-op graph
of the tab's own share of the first view (from the iframe's start to the drawn node; TensorBoard's page before it is
the same for every graph and only adds noise). *Expand largest module*: a double-click on the top-level module with the most ops in
the page right after the cold first view, until its children's `[data-path]` elements and edges `[data-from]` are
drawn inside it (timed in the page with requestAnimationFrame). *hierarchy cold*: the first request of a fresh
tensorboard from Python (`hierarchy?run&tag`, default depth; its bytes are the first-response bytes, without
compression), over a logdir where a 10-op run comes first, so that the plugin's start-up head start (it parses the
logdir's first graph while TensorBoard's page loads) does not take the parse out of the measure; the page's cold
view, on a logdir of the graph alone, does get that head start (its `hierarchy` request column below); *warm*: `hierarchy?depth=1` afterwards. *Graphs plugin /graph*: the request the Graphs dashboard
makes (`limit_attr_size=1024&large_attrs_key=_too_large_attrs`; traces add `tag` and `conceptual=false`).
*Regular-expression search* (`regex_slowest`): the slowest of `search?regex=1` for each of the patterns
backtracking engines take minutes to hours over, and a backreference (a 400), on the graph already open.

The Keras callback's cost to training (`benchmarks/keras_overhead.py`): {meta['keras_callback']}.

Samples in seconds, `rss_*` in GB (rounds in order):

{chr(10).join(samples)}
"""
    path.write_text(body)


if __name__ == "__main__":
    sys.exit(main())
