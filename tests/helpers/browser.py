"""The browser tests' page: Playwright's, recording what must not happen on it, and what the tests do on it (find a
node's box, click and expand it, read the tree and the zoom, decode an exported PNG)."""

import json
import re
import struct
import zlib

from playwright.sync_api import expect

from tests.helpers.processes import wait_for

class BrowserPage:
    """A Playwright page that records what must not happen: console errors, uncaught
    page errors and dialogs (alert/confirm/prompt; dismissed at once)."""

    def __init__(self, page):
        self.page = page
        self.console_errors = []
        self.page_errors = []
        self.dialogs = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", self._on_dialog)

    def _on_console(self, msg):
        if msg.type == "error":
            loc = msg.location or {}
            self.console_errors.append(f"{msg.text} @ {loc.get('url', '')}:{loc.get('lineNumber', '')}")

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        try:
            dialog.dismiss()
        except Exception:
            pass

    def problems(self, allow_http_errors=False):
        """Console errors, page errors and dialogs so far. With allow_http_errors,
        Chromium's own "Failed to load resource: ... status of 4xx" lines (which it
        logs for any fetch answered with an error status) are left out."""
        # Chromium asks for /favicon.ico by itself when a page is opened directly;
        # TensorBoard has none at that address. Not the page's doing.
        errors = [e for e in self.console_errors if "/favicon.ico" not in e]
        if allow_http_errors:
            errors = [
                e for e in errors
                if not ("Failed to load resource" in e and "status of 4" in e)
            ]
        return errors + [f"pageerror: {e}" for e in self.page_errors] + [
            f"dialog: {d}" for d in self.dialogs
        ]

    def __getattr__(self, name):
        return getattr(self.page, name)


DRAW_TIMEOUT = 30_000


def sel(attr, value):
    """A CSS attribute selector matching `value` exactly (any characters)."""
    return f"[{attr}={json.dumps(value, ensure_ascii=False)}]"


def node(scope, path):
    return scope.locator(sel("data-path", path))


def shape_of(scope, path):
    """The element drawing the node's box: the [data-path] element itself when it
    carries data-shape, else its own [data-shape] descendant (not a child node's)."""
    own = node(scope, path)
    index = own.evaluate(
        """(el) => {
            const shape = el.hasAttribute('data-shape') ? el :
                [...el.querySelectorAll('[data-shape]')].find(s => s.closest('[data-path]') === el);
            return shape ? [...document.querySelectorAll('[data-shape]')].indexOf(shape) : -1;
        }"""
    )
    assert index >= 0, f"node {path!r} has no [data-shape] box"
    return scope.locator("[data-shape]").nth(index)


def box(scope, path):
    b = shape_of(scope, path).bounding_box()
    assert b and b["width"] > 0 and b["height"] > 0, f"node {path!r} has no visible box: {b}"
    return b


def dblclick_centre(page, scope, path):
    """Double-click the centre of a node's box, as a person would (labels and edges
    must let the click through)."""
    b = box(scope, path)
    page.mouse.dblclick(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)


def inside(inner, outer, slack=1.0):
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


def in_view(b, page):
    vp = page.viewport_size
    return b["x"] < vp["width"] and b["y"] < vp["height"] and b["x"] + b["width"] > 0 and b["y"] + b["height"] > 0


def children(tb, run, tag, path):
    r = tb.api("hierarchy", run=run, tag=tag, path=path, depth=1)
    assert r.status == 200, r
    return r.json()["node"]["children"]


def expand(page, scope, path):
    """Expand a drawn group by double-clicking its centre; returns once it says so."""
    dblclick_centre(page, scope, path)
    expect(node(scope, path)).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)


def expand_down_to(page, path):
    """Expand `path` and every group above it, outermost first, each once it is drawn."""
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        expect(node(page, "/".join(parts[:i]))).to_be_visible(timeout=DRAW_TIMEOUT)
        expand(page, page, "/".join(parts[:i]))


def open_entry(page, tb, run, tag):
    page.goto(tb.entry_url(run, tag))
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    return page


def assert_clean(page, **kw):
    problems = page.problems(**kw)
    assert not problems, "\n".join(problems)


def decode_png(data):
    """(width, height) of a PNG, after inflating its pixel rows (a PNG that does not decode fails here)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.setdefault(kind, []).append(data[at + 8:at + 8 + length])
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    rows = zlib.decompress(b"".join(chunks[b"IDAT"]))
    assert depth == 8 and len(rows) == height * (1 + width * channels), (depth, colour, len(rows))
    assert b"IEND" in chunks
    return width, height


def wait_listed(tb, run, tag):
    """The demo's module records load with, but are not among, the graphs the fixture waits for."""
    wait_for(lambda: any(g["run"] == run and g["tag"] == tag for g in tb.api("graphs").json()["graphs"]),
             timeout=60, what=f"{run}/{tag} listed")


def click_centre(page, scope, path):
    b = box(scope, path)
    page.mouse.click(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)


def view_scale(page):
    """The zoom the graph is drawn at, from the viewport <g>'s transform."""
    transform = page.locator(".mg-viewport").get_attribute("transform") or ""
    match = re.search(r"scale\(([-\d.e]+)\)", transform)
    return float(match.group(1)) if match else 1.0


def tree_rows(page):
    """The visible tree rows, in order: (path, name)."""
    return page.locator('[role="tree"] [role="treeitem"]').evaluate_all(
        "els => els.map(e => [e.dataset.treePath, e.querySelector(':scope > .mg-tree-row > .mg-tree-name').textContent])")
