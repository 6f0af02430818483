"""The Modules tab in Debian's Chromium, through a real `tensorboard --logdir`: inside
TensorBoard's page (its iframe) and directly at /data/plugin_entry.html.

The page's test hooks (issue 2): graph nodes `[data-path]` (`data-expanded="true"` while
expanded; the element drawing the box carries `data-shape`), edges `[data-from][data-to]`,
the tree `[role=tree]` with `[data-tree-path]` items, the search box `input[type=search]`,
the details panel `[data-details-for]`, error messages `[role=alert]`.
"""

import json
import re
import urllib.parse
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import expect

from tests.helpers.answers import find_group, walk
from tests.helpers.browser import (DRAW_TIMEOUT, assert_clean, box, children, click_centre, decode_png, expand,
                                   expand_down_to, in_view, inside, node, open_entry, sel, shape_of, tree_rows,
                                   view_scale, wait_listed)
from tests.helpers.processes import PLUGIN_NAME, TensorBoard, picture, wait_for
from tests.helpers.records import XSS_IMG, XSS_SCRIPT, XSS_SVG, write_trace


# --- inside TensorBoard's own page ----------------------------------------------------------------
def open_in_tensorboard(page, tb, run, tag):
    """TensorBoard's page on the tab, then the graph picked by the frame's own hash; the frame's locator."""
    page.goto(f"{tb.url}/#{PLUGIN_NAME}")
    iframe = page.locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')
    expect(iframe).to_be_attached(timeout=DRAW_TIMEOUT)
    target = tb.entry_url(run, tag).split("#", 1)[1]
    iframe.evaluate(f"(f) => {{ f.contentWindow.location.hash = {json.dumps(target)}; }}")
    return page.frame_locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')


def test_tab_listed_enabled_and_draws(page, tensorboard):
    page.goto(f"{tensorboard.url}/#{PLUGIN_NAME}")
    tab = page.locator(f'[role=tab]:has([data-plugin-id="{PLUGIN_NAME}"])')
    expect(tab).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(tab).to_contain_text("Modules", ignore_case=True)
    expect(tab).to_have_attribute("aria-disabled", "false")
    frame = page.frame_locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')
    expect(frame.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(frame.locator('[role="tree"]')).to_be_visible()
    expect(frame.locator('input[type="search"]')).to_be_visible()
    assert_clean(page)


def background_luminance(frame_locator, selector="body"):
    """The relative luminance (0 black .. 1 white) of an element's computed background colour in the frame."""
    rgb = frame_locator.locator(selector).first.evaluate(
        "(el) => getComputedStyle(el).backgroundColor.match(/[\\d.]+/g).slice(0, 3).map(Number)")

    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_frame_follows_tensorboards_dark_mode(page, tensorboard):
    """Under ?darkMode=true the frame is dark from the start (page, boxes, panels), and follows TensorBoard's theme
    when it changes (TensorBoard toggles the class dark-mode on its body)."""
    page.goto(f"{tensorboard.url}/?darkMode=true#{PLUGIN_NAME}")
    expect(page.locator("body.dark-mode")).to_have_count(1, timeout=DRAW_TIMEOUT)
    frame = page.frame_locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')
    expect(frame.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(frame.locator('html[data-theme="dark"]')).to_have_count(1)
    assert background_luminance(frame) < 0.05
    for selector in (".mg-toolbar", ".mg-details"):
        assert background_luminance(frame, selector) < 0.05 or frame.locator(selector).first.evaluate(
            "(el) => getComputedStyle(el).backgroundColor === 'rgba(0, 0, 0, 0)'"), selector
    fill = frame.locator("[data-shape]").first.evaluate("(el) => getComputedStyle(el).fill")
    text = frame.locator(".mg-name").first.evaluate("(el) => getComputedStyle(el).fill")
    assert fill != "rgb(255, 255, 255)" and text != "rgb(32, 33, 36)", (fill, text)
    page.evaluate("() => document.body.classList.remove('dark-mode')")
    expect(frame.locator('html[data-theme="light"]')).to_have_count(1)
    assert background_luminance(frame) > 0.9
    page.evaluate("() => document.body.classList.add('dark-mode')")
    expect(frame.locator('html[data-theme="dark"]')).to_have_count(1)
    assert background_luminance(frame) < 0.05
    assert_clean(page)


def test_legend_explains_kinds_edges_and_marks(page, tensorboard):
    """Coloured by structure, the legend ([data-legend="structure"], closed until opened) names every kind of box
    in the box's own colours, the edge styles, the repeat badge and frozen."""
    open_entry(page, tensorboard, "nested_model", "model")
    legend = page.locator('[data-legend="structure"]')
    expect(legend).to_be_visible()
    expect(legend.locator(".mg-legend-kinds").first).to_be_hidden()
    legend.locator("summary").click()
    for words in ("Module", "Scope", "Inputs", "Outputs", "Control flow", "Series", "control dependency",
                  "same structure", "Frozen"):
        expect(legend).to_contain_text(words)
    fill = "(el) => getComputedStyle(el).fill"
    for shape in ("module", "inputs", "outputs"):
        drawn = page.locator(f'svg.mg-graph [data-shape="{shape}"]').first
        expect(drawn).to_be_visible()
        assert legend.locator(f'[data-legend-shape="{shape}"]').evaluate(fill) == drawn.evaluate(fill), shape
    expect(legend.locator("[data-shape]")).to_have_count(0)  # (the drawn nodes' hook alone)
    page.locator("svg.mg-graph [data-path]").first.dblclick()  # a redraw keeps the legend open
    expect(legend.locator(".mg-legend-kinds").first).to_be_visible()
    assert_clean(page)


def test_tensorboards_address_holds_the_view(page, tensorboard):
    """Run, tag, the expanded groups and the selection go into TensorBoard's own address
    (#module_graph&run=..&tag=..&expanded=..&selected=..); a reload of it opens the same view."""
    encoder = find_group(tensorboard, "nested_model", "model", "encoder")
    block = f"{encoder}/block_1"
    frame = open_in_tensorboard(page, tensorboard, "nested_model", "model")
    for path in encoder.split("/"):  # (the encoder's ancestors, then the encoder)
        prefix = encoder[:encoder.index(path) + len(path)]
        expect(node(frame, prefix)).to_be_visible(timeout=DRAW_TIMEOUT)
        expand(page, frame, prefix)
    expand(page, frame, blocks_fold(encoder))
    node(frame, block).click()
    expect(frame.locator(sel("data-details-for", block))).to_be_visible(timeout=DRAW_TIMEOUT)
    wait_for(lambda: "selected=" in page.evaluate("() => location.hash"), timeout=10)
    address = page.evaluate("() => location.hash")
    assert address.startswith(f"#{PLUGIN_NAME}&run=nested_model&tag=model&"), address
    assert f"expanded={urllib.parse.quote(encoder, safe='')}" in address, address
    assert address.endswith(f"selected={urllib.parse.quote(block, safe='')}"), address
    page.reload()
    frame = page.frame_locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')
    expect(node(frame, encoder)).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    expect(node(frame, blocks_fold(encoder))).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    expect(frame.locator(sel("data-details-for", block))).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(frame.locator(sel("data-tree-path", block))).to_have_attribute("aria-selected", "true")
    expect(frame.locator(".mg-picker select").first).to_have_value("nested_model")
    assert page.evaluate("() => location.hash") == address
    assert_clean(page)


def test_tab_expands_inside_tensorboard(page, tensorboard):
    """The same through the iframe: pick the DemoModule trace by the frame's hash and expand."""
    frame = open_in_tensorboard(page, tensorboard, "demo_module", "addprint")
    expect(node(frame, "demo_module")).to_be_visible(timeout=DRAW_TIMEOUT)
    expand(page, frame, "demo_module")
    expect(node(frame, "demo_module/PrintV2")).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_clean(page)


# --- directly at plugin_entry.html -----------------------------------------------------------------
def test_demo_module_expand_collapse(page, tensorboard):
    open_entry(page, tensorboard, "demo_module", "addprint")
    expect(node(page, "demo_module")).to_be_visible()
    expect(node(page, "demo_module")).not_to_have_attribute("data-expanded", "true")
    expand(page, page, "demo_module")
    outer = box(page, "demo_module")
    assert in_view(outer, page), f"expanded demo_module is out of view: {outer}"
    kids = children(tensorboard, "demo_module", "addprint", "demo_module")
    assert {"AssignAddVariableOp", "PrintV2"} <= {c.get("op") for c in kids}
    for c in kids:
        expect(node(page, c["path"])).to_be_visible(timeout=DRAW_TIMEOUT)
        assert inside(box(page, c["path"]), box(page, "demo_module")), c["path"]
    # Edges join drawn nodes.
    edges = page.locator("[data-from][data-to]")
    expect(edges.first).to_be_attached()
    drawn = set(page.locator("[data-path]").evaluate_all("els => els.map(e => e.dataset.path)"))
    ends = edges.evaluate_all("els => els.map(e => [e.dataset.from, e.dataset.to])")
    for a, b in ends:
        assert a in drawn and b in drawn, (a, b)
    assert any(a.startswith("demo_module/") and b.startswith("demo_module/") for a, b in ends), ends
    # Double-click again collapses; the children go.
    expand_box = box(page, "demo_module")
    # Its own frame (the top edge, where the title is), not a child.
    page.mouse.dblclick(expand_box["x"] + expand_box["width"] / 2, expand_box["y"] + 4)
    expect(node(page, "demo_module")).not_to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    expect(node(page, "demo_module/PrintV2")).to_have_count(0, timeout=DRAW_TIMEOUT)
    assert_clean(page)


def test_enter_on_focused_node_expands(page, tensorboard):
    open_entry(page, tensorboard, "demo_module", "addprint")
    node(page, "demo_module").focus()
    page.keyboard.press("Enter")
    expect(node(page, "demo_module")).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    expect(node(page, "demo_module/PrintV2")).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_clean(page)


def test_tree_follows_the_graph(page, tensorboard):
    open_entry(page, tensorboard, "demo_module", "addprint")
    tree = page.locator('[role="tree"]')
    expect(tree).to_be_visible()
    expect(tree.locator(sel("data-tree-path", "demo_module"))).to_be_visible()
    # The tree is not the graph: its items never carry data-path.
    assert tree.locator("[data-path]").count() == 0
    expand(page, page, "demo_module")
    expect(tree.locator(sel("data-tree-path", "demo_module/PrintV2"))).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_clean(page)


def test_search_reveals_and_selects(page, tensorboard):
    open_entry(page, tensorboard, "demo_module", "addprint")
    search = page.locator('input[type="search"]')
    search.fill("PrintV2")
    search.press("Enter")
    details = page.locator(sel("data-details-for", "demo_module/PrintV2"))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(details).to_contain_text("PrintV2")
    expect(details).to_contain_text("StringFormat")  # its input
    expect(node(page, "demo_module")).to_have_attribute("data-expanded", "true")
    expect(node(page, "demo_module/PrintV2")).to_be_visible()
    assert_clean(page)


def test_search_reveals_a_deep_module(page, tensorboard):
    run, tag = "nested_model", "model"
    block = find_group(tensorboard, run, tag, "block_2")
    open_entry(page, tensorboard, run, tag)
    search = page.locator('input[type="search"]')
    search.fill("block_2")
    search.press("Enter")
    details = page.locator(sel("data-details-for", block))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(details).to_contain_text("module")
    expect(node(page, block)).to_be_visible(timeout=DRAW_TIMEOUT)
    parts = block.split("/")
    for i in range(1, len(parts)):
        expect(node(page, "/".join(parts[:i]))).to_have_attribute("data-expanded", "true")
    assert_clean(page)


def blocks_fold(encoder):
    """The node the nested model's four blocks of one structure fold into (visible.ts: a fold's path)."""
    return f"{encoder}/[block_0…block_3]"


def open_nested_model_encoder(page, tb):
    """The nested model's page with its encoder expanded and its blocks' fold opened: (encoder's path, its four
    blocks' paths)."""
    encoder = find_group(tb, "nested_model", "model", "encoder")
    open_entry(page, tb, "nested_model", "model")
    expand_down_to(page, encoder)
    expand(page, page, blocks_fold(encoder))
    return encoder, [f"{encoder}/block_{i}" for i in range(4)]


LINE_BREAKS_JS = """(root) => {
    // Each place where the text of a path link goes on to a new line: the character before the break.
    const before = [];
    for (const link of root.querySelectorAll('.mg-link, .mg-path')) {
        let lastTop = null, lastChar = null;
        const walker = document.createTreeWalker(link, NodeFilter.SHOW_TEXT);
        for (let text = walker.nextNode(); text; text = walker.nextNode()) {
            for (let i = 0; i < text.length; i++) {
                const range = document.createRange();
                range.setStart(text, i);
                range.setEnd(text, i + 1);
                const rect = range.getClientRects()[0];
                if (!rect) continue;
                if (lastTop !== null && rect.top > lastTop + 2) before.push(lastChar);
                lastTop = rect.top;
                lastChar = text.data[i];
            }
        }
    }
    return before;
}"""


def test_details_break_paths_only_after_a_slash(page, tensorboard):
    """The details panel's paths (the node's own, its inputs' and outputs') wrap at a "/", never inside a name."""
    encoder, blocks = open_nested_model_encoder(page, tensorboard)
    node(page, blocks[1]).click()
    details = page.locator(sel("data-details-for", blocks[1]))
    expect(details).to_contain_text("Outputs leaving the group")
    breaks = details.evaluate(LINE_BREAKS_JS)
    assert breaks, "no path wrapped: the test shows nothing"
    assert set(breaks) == {"/"}, breaks
    assert_clean(page)


def test_the_view_exports_as_svg_and_png(page, tensorboard):
    """The SVG download holds every drawn node name and the boxes' on-screen colours; the PNG decodes, at twice the
    SVG's size (the whole graph at natural size, not the pane); both are named after run and tag."""
    open_nested_model_encoder(page, tensorboard)
    names = page.eval_on_selector_all("svg.mg-graph .mg-name", "els => els.map(e => e.textContent)")
    module_fill = page.locator('svg.mg-graph [data-shape="module"]').first.evaluate("(el) => getComputedStyle(el).fill")
    with page.expect_download() as info:
        page.click('button[data-export="svg"]')
    assert info.value.suggested_filename == "nested_model-model.svg"
    document = ElementTree.fromstring(Path(info.value.path()).read_bytes())
    assert document.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in document.iter("{http://www.w3.org/2000/svg}text")]
    assert names and all(name in texts for name in names), (names, texts)
    module = next(e for e in document.iter() if e.get("data-shape") == "module")
    assert f"fill:{module_fill}" in module.get("style"), (module_fill, module.get("style"))
    size = (int(document.get("width")), int(document.get("height")))
    with page.expect_download() as info:
        page.click('button[data-export="png"]')
    assert info.value.suggested_filename == "nested_model-model.png"
    width, height = decode_png(Path(info.value.path()).read_bytes())
    assert (width, height) == (size[0] * 2, size[1] * 2), (width, height, size)
    assert_clean(page)


def test_nested_model_blocks_and_screenshot(page, tensorboard):
    encoder, blocks = open_nested_model_encoder(page, tensorboard)
    for b in blocks:
        expect(node(page, b)).to_be_visible(timeout=DRAW_TIMEOUT)
    enc_box = box(page, encoder)
    boxes = [box(page, b) for b in blocks]
    for b, bb in zip(blocks, boxes):
        assert inside(bb, enc_box), f"{b} {bb} is not inside the encoder's box {enc_box}"
    for (a, ba), (b, bb) in zip(zip(blocks, boxes), zip(blocks[1:], boxes[1:])):
        assert ba["y"] + ba["height"] / 2 < bb["y"] + bb["height"] / 2, f"{a} is not above {b}"
    for a, b in zip(blocks, blocks[1:]):
        expect(page.locator(sel("data-from", a) + sel("data-to", b))).to_have_count(1)
    legend = page.locator('[data-legend="structure"]')
    legend.locator("summary").click()  # (the README's picture explains itself)
    expect(legend.locator(".mg-legend-kinds").first).to_be_visible()
    page.wait_for_timeout(500)  # let a transition settle before the picture
    picture("screenshot.png").write_bytes(page.screenshot(full_page=False))
    legend.locator("summary").click()  # (closed again: it covers a corner of the graph)
    # A block opens inside the encoder, with its sub-modules.
    expand(page, page, blocks[0])
    for sub in ("up", "down"):
        expect(node(page, f"{blocks[0]}/{sub}")).to_be_visible(timeout=DRAW_TIMEOUT)
        assert inside(box(page, f"{blocks[0]}/{sub}"), box(page, blocks[0])), sub
    assert inside(box(page, blocks[0]), box(page, encoder))
    assert_clean(page)


def test_markup_names_show_as_text(page, tensorboard):
    open_entry(page, tensorboard, "xss", "markup")
    expect(node(page, XSS_IMG)).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("body")).to_contain_text(XSS_IMG)
    search = page.locator('input[type="search"]')
    search.fill("script>")
    search.press("Enter")
    expect(page.locator("[data-details-for]")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("[data-details-for]")).to_contain_text("script>")
    page.wait_for_timeout(500)
    injected = page.evaluate(
        """() => ({
            img: document.querySelectorAll('img[src="x"], img[onerror]').length,
            scripts: [...document.scripts].filter(s => (s.textContent || '').includes('alert(1)')).length,
        })"""
    )
    assert injected == {"img": 0, "scripts": 0}, injected
    assert not page.dialogs, page.dialogs
    assert_clean(page)


# --- security (issue 5): markup stays text, TensorBoard's CSP holds, nothing from elsewhere ----------
WATCH_CSP = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation',
        (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
INJECTED = """() => ({
    elements: [...document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([src])')]
        .map((e) => e.outerHTML.slice(0, 80)),
    scripts: [...document.scripts].filter((s) => (s.textContent || '').includes('alert(1)')).length,
})"""  # templates: the markup test sees `{{7*7}}` itself on the page (a '49' anywhere was a false alarm)


def watch_page(page, tb):
    """Record CSP violations (as events) and every request the page makes outside `tb`."""
    page.add_init_script(WATCH_CSP)
    elsewhere = []

    def on_request(request):
        url = request.url
        if not (url.startswith(tb.url + "/") or url.startswith(("data:", "blob:"))):
            elsewhere.append(url)

    page.on("request", on_request)
    return elsewhere


def assert_safe(page, elsewhere):
    assert page.evaluate(INJECTED) == {"elements": [], "scripts": 0}
    assert page.evaluate("() => window.__cspViolations") == [], "Content-Security-Policy violations"
    assert not elsewhere, f"requests to other origins: {elsewhere}"
    assert not page.dialogs, page.dialogs


def test_markup_in_run_tag_op_and_attribute_is_text(page, hostile_servers):
    """A run named `<img onerror>` holding a trace tagged `<svg onload>`, an op `<script>...` whose
    type is `<img onerror>` and whose attribute holds `<svg onload>`: all shown as characters."""
    from tests.helpers import hostile

    tb = hostile_servers["python"]
    elsewhere = watch_page(page, tb)
    open_entry(page, tb, hostile.MARKUP_RUN, hostile.MARKUP_TAG)
    expect(page.locator('select[aria-label="Run"]')).to_have_value(hostile.MARKUP_RUN)
    expect(page.locator('select[aria-label="Tag"]')).to_have_value(hostile.MARKUP_TAG)
    assert page.locator('select[aria-label="Tag"] option').all_inner_texts() == [hostile.MARKUP_TAG]
    search = page.locator('input[type="search"]')
    search.fill(XSS_SCRIPT)  # the op's path: its scope `<script>alert(1)<` holds it as `script>`
    search.press("Enter")
    details = page.locator(sel("data-details-for", XSS_SCRIPT))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    for text in (XSS_IMG, "script>", XSS_SVG):  # the op type, its name, its attribute
        expect(details).to_contain_text(text)
    page.wait_for_timeout(300)
    assert_safe(page, elsewhere)
    assert_clean(page)


def test_markup_and_templates_in_every_name_are_text(page, hostile_servers):
    from tests.helpers import hostile

    tb = hostile_servers["python"]
    elsewhere = watch_page(page, tb)
    open_entry(page, tb, hostile.HOSTILE_RUN, "markup")
    for name in (XSS_IMG, XSS_SVG, "{{7*7}}"):
        expect(node(page, name)).to_be_visible(timeout=DRAW_TIMEOUT)
    body = page.locator("body")
    for text in (XSS_IMG, XSS_SVG, "{{7*7}}", "&amp;&lt;x&gt;"):
        expect(body).to_contain_text(text)
    tree = page.locator('[role="tree"]')
    expect(tree.locator(sel("data-tree-path", XSS_IMG))).to_contain_text(XSS_IMG)
    node(page, XSS_IMG).click()
    expect(page.locator(sel("data-details-for", XSS_IMG))).to_contain_text(XSS_SCRIPT)  # an attribute value
    assert_safe(page, elsewhere)
    assert_clean(page)


def test_markup_in_an_error_message_is_text(page, hostile_servers):
    tb = hostile_servers["python"]
    elsewhere = watch_page(page, tb)
    page.goto(tb.entry_url(XSS_SCRIPT, XSS_SVG))
    alert = page.locator('[role="alert"]')
    expect(alert.first).to_contain_text(XSS_SCRIPT, timeout=DRAW_TIMEOUT)
    assert_safe(page, elsewhere)
    assert_clean(page, allow_http_errors=True)


def test_tensorboard_serves_the_page_with_its_csp(tensorboard):
    csp = tensorboard.get(f"/data/plugin_entry.html?name={PLUGIN_NAME}").headers.get("Content-Security-Policy", "")
    assert "script-src" in csp and "default-src 'self'" in csp, csp


@pytest.mark.parametrize("policy", ["tensorboard", "without_unsafe_eval"])
def test_the_page_works_under_the_csp(page, tensorboard, policy):
    """TensorBoard's own policy, and the same without 'unsafe-eval': the page draws, lays out in its
    worker, expands and searches with no violation and no request to another origin."""
    served = []

    def stricter(route):
        response = route.fetch()
        headers = dict(response.headers)
        csp = headers["content-security-policy"]
        served.append(csp)
        if policy == "without_unsafe_eval":
            assert "'unsafe-eval'" in csp, csp
            headers["content-security-policy"] = csp.replace(" 'unsafe-eval'", "")
        route.fulfill(response=response, headers=headers)

    page.route("**/data/plugin_entry.html*", stricter)
    elsewhere = watch_page(page, tensorboard)
    open_entry(page, tensorboard, "nested_model", "model")
    expand(page, page, "model")
    expect(node(page, "model/encoder")).to_be_visible(timeout=DRAW_TIMEOUT)
    search = page.locator('input[type="search"]')
    search.fill("block_2")
    search.press("Enter")
    expect(page.locator("[data-details-for]")).to_be_visible(timeout=DRAW_TIMEOUT)
    assert served, "plugin_entry.html was not served through the route"
    assert_safe(page, elsewhere)
    assert_clean(page)
    # The policy is in force: an image from elsewhere is refused and reported.
    page.evaluate("() => { new Image().src = 'http://127.0.0.2:9/probe.png'; }")
    wait_for(lambda: any("img-src" in v for v in page.evaluate("() => window.__cspViolations")), timeout=10,
             what="the probe reported as a CSP violation")


@pytest.mark.parametrize("run,tag", [("bad_records", "garbage"), ("bad_records", "keras"),
                                     ("bad_records", "profiler_empty"), ("no_such_run", "x")])
def test_errors_are_readable(page, tensorboard, run, tag):
    page.goto(tensorboard.entry_url(run, tag))
    alert = page.locator('[role="alert"]')
    expect(alert.first).to_be_visible(timeout=DRAW_TIMEOUT)
    text = alert.first.inner_text().strip()
    assert len(text) > 10 and "Traceback" not in text and "undefined" not in text, text
    assert_clean(page, allow_http_errors=True)


def test_empty_logdir_explains_how_to_record(page, tensorboard_empty):
    page.goto(tensorboard_empty.entry_url())
    body = page.locator("body")
    expect(body).to_contain_text("trace_export", timeout=DRAW_TIMEOUT)
    assert page.locator("[data-path]").count() == 0
    assert_clean(page)


def test_resnet_opens_readable(page, tensorboard):
    open_entry(page, tensorboard, "resnet50_train_step", "train_step")
    count = page.locator("[data-path]").count()
    assert 1 <= count <= 12, count
    assert_clean(page)


# --- module records (issue 4) and repeated structure (issue 3) ------------------------------------
def test_module_record_shows_classes_parameters_and_frozen(page, tensorboard):
    """Keras Sequential of Dense(4), Dense(2), Dense(1) on 10 inputs with the first frozen (issue 4)."""
    run, tag = "keras_sequential/module_record", "sequential"
    wait_listed(tensorboard, run, tag)
    # The numbers the page must show are the API's (tests/test_module_records.py checks those against the live
    # Keras objects); the op counts depend on the TensorFlow version that wrote the record.
    model = tensorboard.api("hierarchy", run=run, tag=tag, path="sequential", depth=2).json()["node"]
    layers = {c["name"]: c for c in model["children"] if c["kind"] == "module"}
    assert set(layers) == {"dense", "dense_1", "dense_2"}, sorted(layers)
    open_entry(page, tensorboard, run, tag)
    expect(node(page, "sequential")).to_contain_text(f"Sequential · {model['num_params']} params")
    expand(page, page, "sequential")
    for name, layer in layers.items():
        assert layer["num_ops"] > 1 and layer["num_params"] > 1, layer  # (plural words below)
        expect(node(page, f"sequential/{name}")).to_contain_text(
            f"Dense · {layer['num_params']} params · {layer['num_ops']} ops", timeout=DRAW_TIMEOUT)
    kernels = {name: next(v["shape"] for v in layer["variables"] if v["name"].endswith("kernel"))
               for name, layer in layers.items()}
    frozen = node(page, "sequential/dense")
    expect(frozen).to_have_attribute("data-frozen", "true")
    expect(frozen).to_contain_text("frozen")  # the badge
    for name in ("dense_1", "dense_2"):
        expect(node(page, f"sequential/{name}")).not_to_have_attribute("data-frozen", "true")
    # Frozen looks different: another fill, and a hatch over it.
    fills = {name: shape_of(page, f"sequential/{name}").evaluate("e => getComputedStyle(e).fill")
             for name in ("dense", "dense_1")}
    assert fills["dense"] != fills["dense_1"], fills
    item = page.locator(sel("data-tree-path", "sequential/dense"))
    expect(item).to_contain_text("Dense")
    expect(item).to_contain_text(f"{layers['dense']['num_params']} params")
    expect(item).to_contain_text("❄")

    click_centre(page, page, "sequential/dense")
    details = page.locator(sel("data-details-for", "sequential/dense"))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    for text in ("Dense", "keras.src.layers.core.dense.Dense", "layers[0]", "Parameters",
                 str(layers["dense"]["num_params"]), "Trainable parameters", "frozen"):
        expect(details).to_contain_text(text)
    kernel = details.locator("tr", has_text="sequential/dense/kernel").first
    expect(kernel).to_contain_text("[" + ",".join(map(str, kernels["dense"])) + "]")
    expect(kernel).to_contain_text("float32")
    expect(kernel).to_contain_text("frozen")
    click_centre(page, page, "sequential/dense_1")
    details = page.locator(sel("data-details-for", "sequential/dense_1"))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    kernel = details.locator("tr", has_text="sequential/dense_1/kernel").first
    expect(kernel).to_contain_text("[" + ",".join(map(str, kernels["dense_1"])) + "]")
    expect(kernel).to_contain_text("trainable")
    expect(kernel).not_to_contain_text("frozen")
    assert_clean(page)


def test_module_record_of_demo_module(page, tensorboard):
    run, tag = "demo_module_record", "addprint"
    wait_listed(tensorboard, run, tag)
    demo = tensorboard.api("hierarchy", run=run, tag=tag, path="demo_module", depth=1).json()["node"]
    params = f"{demo['num_params']} param" + ("s" if demo["num_params"] != 1 else "")
    open_entry(page, tensorboard, run, tag)
    expect(node(page, "demo_module")).to_contain_text(f"DemoModule · {params} ·")
    expect(page.locator(sel("data-tree-path", "demo_module"))).to_contain_text(params)
    expand(page, page, "demo_module")
    expect(node(page, "demo_module/AssignAddVariableOp")).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_clean(page)


def test_keras_callback_layers_show_class_frozen_and_config(page, tensorboard):
    open_entry(page, tensorboard, "keras_sequential/train", "keras")
    expect(node(page, "dense")).to_have_attribute("data-frozen", "true")
    expect(node(page, "dense")).to_contain_text("Dense")
    expect(node(page, "dense_1")).not_to_have_attribute("data-frozen", "true")
    click_centre(page, page, "dense")
    details = page.locator(sel("data-details-for", "dense"))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    for text in ("Dense", "frozen", "units", "relu"):  # the layer's config, shown like op attributes
        expect(details).to_contain_text(text)
    assert_clean(page)


def test_repeated_blocks_share_a_colour_and_count(page, tensorboard):
    encoder, blocks = open_nested_model_encoder(page, tensorboard)
    marks = {c["path"]: c.get("repeat") for c in children(tensorboard, "nested_model", "model", encoder)}
    key = marks[blocks[0]]["key"]
    assert all(marks[b] == {"key": key, "count": 4, "shapes_compared": False} for b in blocks), marks
    strokes = set()
    for b in blocks:
        expect(node(page, b)).to_have_attribute("data-repeat", key, timeout=DRAW_TIMEOUT)
        expect(node(page, b)).not_to_contain_text("alike")  # (their open fold shows the count)
        strokes.add(shape_of(page, b).evaluate("e => getComputedStyle(e).stroke"))
    assert len(strokes) == 1, strokes
    plain = shape_of(page, encoder).evaluate("e => getComputedStyle(e).stroke")
    assert strokes != {plain}, (strokes, plain)
    fold = blocks_fold(encoder)
    expect(node(page, fold)).to_have_attribute("data-repeat", key)
    expect(page.locator(sel("data-tree-path", fold)).locator(".mg-tree-repeat").first).to_have_text("×4")
    assert page.locator("svg.mg-graph [data-repeat]").count() == len(blocks) + 1  # (and their fold)
    click_centre(page, page, blocks[2])
    details = page.locator(sel("data-details-for", blocks[2]))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(details).to_contain_text(f"one of 4 modules with the same structure as {key}")
    expect(details).to_contain_text("this graph records no parameter shapes")  # (a trace: compared by class and ops)
    assert_clean(page)


TOWER_BLOCKS = 48
TALL_TOWER_BLOCKS = 150  # (more than the graph draws at once: graph-view.ts DRAW_ALL_UP_TO)


@pytest.fixture(scope="module")
def tower_tb(tmp_path_factory):
    """tf.Modules of 48 (run "tower") and 150 ("tall_tower") blocks of one class called in a row, traced with real
    TensorFlow, served by a real tensorboard; with what the live objects said (each tower's blocks' names, in
    order): (tensorboard, {run: names})."""

    logdir = tmp_path_factory.mktemp("tower_logs")
    names = {}
    for run, count in (("tower", TOWER_BLOCKS), ("tall_tower", TALL_TOWER_BLOCKS)):
        listing = logdir / f"{run}.json"
        write_trace(logdir, run, "step", f"""
            import json
            class Block(tf.Module):
                def __init__(self, name):
                    super().__init__(name=name)
                    self.w = tf.Variable(tf.ones([8, 8]))

                @tf.Module.with_name_scope
                def __call__(self, x):
                    return tf.nn.relu(tf.matmul(x, self.w))

            class Tower(tf.Module):
                def __init__(self):
                    super().__init__(name="tower")
                    self.blocks = [Block(f"block_{{i}}") for i in range({count})]
                    self.head = tf.Variable(tf.ones([8, 2]))

                @tf.Module.with_name_scope
                def __call__(self, x):
                    for block in self.blocks:
                        x = block(x)
                    return tf.matmul(x, self.head)

            model = Tower()
            f = tf.function(model)
            ARGS = (tf.ones([2, 8]),)
            open({str(listing)!r}, "w").write(json.dumps([b.name for b in model.blocks]))
        """)
        names[run] = json.loads(listing.read_text())
    tb = TensorBoard(logdir, name="tower").start()
    yield tb, names
    tb.stop()


def test_consecutive_modules_of_one_structure_fold_into_one_node(page, tower_tb):
    """The tower's 48 blocks show as one node `block_0 … block_47` with a count of 48, which unfolds to every
    block in the tower's order; the tree lists the same; search reveals a block through the fold."""
    tb, names = tower_tb[0], tower_tb[1]["tower"]
    first = find_group(tb, "tower", "step", names[0])
    tower = first.rsplit("/", 1)[0] if "/" in first else ""  # (where the trace puts the tower's calls)
    listed = [c for c in children(tb, "tower", "step", tower) if c["kind"] == "module" and c["name"] in names]
    assert [c["name"] for c in listed] == names and len(names) == TOWER_BLOCKS  # every block, in the tower's order
    marks = {c["repeat"]["key"] for c in listed}
    assert marks == {names[0]} and all(c["repeat"]["count"] == TOWER_BLOCKS for c in listed)
    prefix = f"{tower}/" if tower else ""
    fold = f"{prefix}[{names[0]}…{names[-1]}]"
    open_entry(page, tb, "tower", "step")
    if tower:
        expand_down_to(page, tower)
    expect(node(page, fold)).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, fold)).to_contain_text(f"{names[0]} … {names[-1]}")
    expect(node(page, fold)).to_contain_text(f"×{TOWER_BLOCKS}")
    expect(node(page, fold).locator("[data-shape]").first).to_have_attribute("data-shape", "fold")
    expect(page.locator(sel("data-tree-path", fold))).to_be_visible()
    for name in names:  # folded: none of the blocks is drawn on its own
        expect(node(page, f"{prefix}{name}")).to_have_count(0)
    expand(page, page, fold)
    drawn = page.eval_on_selector_all("svg.mg-graph [data-path]", "els => els.map(e => e.dataset.path)")
    shown = [p[len(prefix):] for p in drawn if p[len(prefix):] in names]
    assert shown and set(shown) <= set(names), drawn  # (the nodes far from the view are drawn when near it)
    node(page, fold).dblclick(position={"x": 20, "y": 10})  # folds again
    expect(node(page, fold)).not_to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    search = page.locator('input[type="search"]')
    search.fill(names[30])
    search.press("Enter")
    target = f"{prefix}{names[30]}"
    expect(page.locator(sel("data-details-for", target))).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, target)).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, fold)).to_have_attribute("data-expanded", "true")
    assert_clean(page)


def test_resnet50_layers_show_as_prefix_groups_by_their_names(page, corpus_tb, truth):
    """Keras 3 ResNet50's 176 layers (a trace): the model opens into prefix groups named after the words its live
    layers' names share (conv1, pool1, conv2 … conv5), no numeric chunk; conv2 opens into its blocks, a block into
    its layers; none is styled as a module; search reveals a layer through them."""
    entry = truth["keras3_resnet50_trace"]
    root = next(m for m in entry["modules"] if m["index"] == 0)
    layer_names = [m["name"] for m in entry["modules"] if m["index"] in root["children"]]
    words = [name.split("_")[0] for name in layer_names if "_" in name and not name.split("_", 1)[1].isdigit()]
    shared = sorted({w for w in words if words.count(w) > 1})
    assert {"conv1", "pool1", "conv2", "conv3", "conv4", "conv5"} <= set(shared), shared
    listing = support_tree(corpus_tb, entry)
    model = next(c for c in listing["children"] if c.get("num_children", 0) > 150)
    open_entry(page, corpus_tb, entry["run"], entry["tag"])
    expand(page, page, model["path"])
    for word in shared:
        group = f"{model['path']}/[{word}]"
        expect(node(page, group)).to_be_visible(timeout=DRAW_TIMEOUT)
        expect(node(page, group).locator("[data-shape]").first).to_have_attribute("data-shape", "prefix")
    paths = page.eval_on_selector_all("svg.mg-graph [data-path]", "els => els.map(e => e.dataset.path)")
    assert not [p for p in paths if re.search(r"(^|/)\[\d+-\d+\]", p)], paths  # no [1-100] chunk
    stage = f"{model['path']}/[conv2]"
    module_fill = shape_of(page, model["path"]).evaluate("e => getComputedStyle(e).fill")
    assert shape_of(page, stage).evaluate("e => getComputedStyle(e).fill") != module_fill
    expand(page, page, stage)
    blocks = sorted({n.split("_")[1] for n in layer_names if n.startswith("conv2_")})
    for block in blocks:
        expect(node(page, f"{stage}/[conv2_{block}]")).to_be_visible(timeout=DRAW_TIMEOUT)
    first = f"{stage}/[conv2_{blocks[0]}]"
    expand(page, page, first)
    inside_block = [n for n in layer_names if n.startswith(f"conv2_{blocks[0]}_")]
    drawn = page.eval_on_selector_all("svg.mg-graph [data-path]", "els => els.map(e => e.dataset.path)")
    members = [p for p in drawn if p.startswith(model["path"] + "/") and "[" not in p
               and any(p.rsplit("/", 1)[1].startswith(n) for n in inside_block)]
    assert len(members) == len(inside_block), (members, inside_block)
    marks = {c["path"]: c.get("repeat") for c in children(corpus_tb, entry["run"], entry["tag"], model["path"])}
    marked = [p for p in members if marks.get(p)]
    assert marked, marks  # (a ResNet's conv and batch-norm layers are alike by class and ops in a trace)
    crowd = [p for p in marked if marks[p]["count"] > 8]
    assert crowd, marks
    for path in crowd:  # one colour for the class; a count on each of dozens of boxes would say nothing (issue 23)
        expect(node(page, path)).to_have_attribute("data-repeat", marks[path]["key"])
        expect(node(page, path).locator(".mg-badge-repeat")).to_have_count(0)
    target = next(n for n in layer_names if n.startswith("conv4_") and n.endswith("_bn"))
    search = page.locator('input[type="search"]')
    search.fill(target)
    search.press("Enter")
    expect(page.locator("[data-details-for]")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, f"{model['path']}/[conv4]")).to_have_attribute("data-expanded", "true")
    assert_clean(page)


def test_an_address_with_groups_by_name_opens_them_and_selects_one(page, corpus_tb, truth):
    """An address naming groups by name, nested (`[conv2]/[conv2_block1]`), as expanded and another as selected
    opens that view: the groups open, the selected one in the details; and the page writes the same back."""
    entry = truth["keras3_resnet50_trace"]
    model = next(c for c in support_tree(corpus_tb, entry)["children"] if c.get("num_children", 0) > 150)["path"]
    stage, block, selected = f"{model}/[conv2]", f"{model}/[conv2]/[conv2_block1]", f"{model}/[conv2]/[conv2_block2]"
    params = [("run", entry["run"]), ("tag", entry["tag"]), ("expanded", model), ("expanded", stage),
              ("expanded", block), ("selected", selected)]
    url = f"{corpus_tb.url}/data/plugin_entry.html?name={PLUGIN_NAME}#" + urllib.parse.urlencode(
        params, quote_via=urllib.parse.quote)
    page.goto(url)
    for path in (model, stage, block):
        expect(node(page, path)).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    expect(page.locator(sel("data-details-for", selected))).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator(sel("data-tree-path", selected))).to_have_attribute("aria-selected", "true")
    wait_for(lambda: page.evaluate("() => location.hash") == "#" + urllib.parse.urlencode(
        params, quote_via=urllib.parse.quote), timeout=10, what="the page's address naming the same view")
    assert_clean(page)


def support_tree(tb, entry):
    return tb.api("hierarchy", run=entry["run"], tag=entry["tag"], depth=1).json()["node"]


# --- scale (issue 3) ---------------------------------------------------------------------------------
def test_layout_on_the_page_when_the_worker_cannot_load(page, tensorboard):
    """The layout worker's script fails to load: the same layout runs on the page; the graph is drawn."""
    page.route("**/static/layout-worker.js", lambda route: route.fulfill(status=404, body="missing"))
    warnings = []
    page.on("console", lambda msg: msg.type == "warning" and warnings.append(msg.text))
    open_entry(page, tensorboard, "demo_module", "addprint")
    expand(page, page, "demo_module")
    expect(node(page, "demo_module/PrintV2")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("[data-from][data-to]").first).to_be_attached()
    assert page.locator('[role="alert"]').count() == 0
    assert any("on the page" in w for w in warnings), warnings
    assert_clean(page, allow_http_errors=True)


def test_graph_refits_when_the_window_is_resized(page, tensorboard):
    open_entry(page, tensorboard, "nested_model", "model")
    top = [c["path"] for c in children(tensorboard, "nested_model", "model", "")]

    def all_in_pane():
        pane = page.locator(".mg-graph-pane").bounding_box()
        return all(inside(box(page, path), pane) for path in top)

    assert all_in_pane()
    page.set_viewport_size({"width": 900, "height": 420})
    wait_for(all_in_pane, timeout=10, what="every top-level node inside the smaller pane")
    small = box(page, top[0])["width"]
    page.set_viewport_size({"width": 1400, "height": 900})
    wait_for(lambda: all_in_pane() and box(page, top[0])["width"] > small, timeout=10,
             what="the graph fit again to the larger pane")
    assert_clean(page)


def test_large_expansions_draw_what_is_in_view(page, tower_tb):
    """A tower's 150 blocks unfolded (a column far taller than the view): the nodes near the view are drawn,
    more when the view is panned, and a search result far down is drawn where it is revealed."""
    tb, names = tower_tb[0], tower_tb[1]["tall_tower"]
    members = [c["path"] for c in children(tb, "tall_tower", "step", "") if c["name"] in names]
    assert len(members) == len(names) == TALL_TOWER_BLOCKS
    open_entry(page, tb, "tall_tower", "step")
    fold = page.locator("svg.mg-graph [data-path$=']']").first
    expect(fold).to_be_visible(timeout=DRAW_TIMEOUT)
    expand(page, page, fold.get_attribute("data-path"))
    in_chunk = set(members)

    def drawn_members():
        paths = page.locator("[data-path]").evaluate_all("els => els.map(e => e.dataset.path)")
        return {p for p in paths if p in in_chunk}

    first = drawn_members()
    assert 0 < len(first) < len(members), len(first)
    pane = page.locator(".mg-graph-pane").bounding_box()
    for path in first:  # within half a view of the pane
        b = box(page, path)
        assert b["y"] < pane["y"] + 2 * pane["height"] and b["y"] + b["height"] > pane["y"] - pane["height"], path
    x, y = pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] - 20
    for _ in range(3):
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, y - pane["height"] + 60, steps=4)
        page.mouse.up()
    wait_for(lambda: drawn_members() - first, timeout=10, what="nodes further down drawn after panning")
    last = members[-1]
    search = page.locator('input[type="search"]')
    search.fill(last.rsplit("/", 1)[-1])
    search.press("Enter")
    expect(page.locator(sel("data-details-for", last))).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, last)).to_be_visible(timeout=DRAW_TIMEOUT)
    assert in_view(box(page, last), page)
    # Panned far away, the selected node stays drawn (inside its group's box), still selected.
    for _ in range(12):  # back up the column, until its top is drawn again
        page.mouse.move(x, pane["y"] + 20)
        page.mouse.down()
        page.mouse.move(x, pane["y"] + pane["height"] - 60, steps=4)
        page.mouse.up()
        page.wait_for_timeout(200)
        if first & drawn_members():
            break
    wait_for(lambda: first & drawn_members(), timeout=10, what="the first layers drawn again")
    assert not in_view(box(page, last), page)
    expect(node(page, last)).to_have_class(re.compile(r"\bmg-selected\b"))
    assert_clean(page)


def test_a_shared_variable_and_a_module_reached_twice_are_said(page, corpus_tb, truth):
    """TensorFlow Probability: the flow's variable is also its Shift bijector's (shared, counted once), and the
    bijector is reached through several attributes of the chain (its other paths are listed)."""
    run, tag = "tfp_flow_record", "model"
    shift = next(m for m in truth[run]["modules"] if m["class_name"].endswith(".Shift"))
    path = next(n["path"] for n, _ in walk(corpus_tb.api("hierarchy", run=run, tag=tag, depth=8).json()["node"])
                if n.get("attribute_path") in shift["paths"])
    open_entry(page, corpus_tb, run, tag)
    expand_down_to(page, path.rsplit("/", 1)[0])
    click_centre(page, page, path)
    details = page.locator(sel("data-details-for", path))
    expect(details).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(details).to_contain_text("Also reached as")
    others = [p for p in shift["paths"] if p != shift["paths"][0]]
    expect(details).to_contain_text(others[0])
    variable = shift["own_variables"][0]
    row = details.locator("tr", has_text=variable["name"]).first
    expect(row).to_contain_text("shared")
    expect(row).to_contain_text(f"[{variable['size']}]")
    assert_clean(page)


# --- keys and room for names ------------------------------------------------------------------------
def test_divider_resizes_the_tree_and_a_reload_keeps_it(page, tensorboard):
    open_entry(page, tensorboard, "nested_model", "model")
    tree = page.locator(".mg-tree-pane")
    divider = page.locator('[role="separator"]')
    expect(divider).to_have_attribute("aria-orientation", "vertical")
    expect(divider).to_have_attribute("tabindex", "0")
    start = tree.bounding_box()["width"]
    assert abs(int(divider.get_attribute("aria-valuenow")) - start) <= 1
    graph_start = page.locator(".mg-graph-pane").bounding_box()["width"]
    # Dragged 150 px to the right: the tree widens by as much, the graph gives it up.
    d = divider.bounding_box()
    page.mouse.move(d["x"] + d["width"] / 2, d["y"] + d["height"] / 2)
    page.mouse.down()
    page.mouse.move(d["x"] + d["width"] / 2 + 150, d["y"] + d["height"] / 2, steps=6)
    page.mouse.up()
    wide = tree.bounding_box()["width"]
    assert abs(wide - (start + 150)) <= 2, (start, wide)
    assert abs(int(divider.get_attribute("aria-valuenow")) - wide) <= 1
    assert page.locator(".mg-graph-pane").bounding_box()["width"] < graph_start - 140
    # A reload keeps the width.
    page.reload()
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    assert abs(tree.bounding_box()["width"] - wide) <= 1
    # Keys: arrows step, Home and End go to the bounds; neither bound lets the graph or the tree vanish.
    divider.focus()
    page.keyboard.press("ArrowLeft")
    assert abs(tree.bounding_box()["width"] - (wide - 16)) <= 1
    page.keyboard.press("Home")
    narrowest = tree.bounding_box()["width"]
    assert 150 <= narrowest <= 200, narrowest
    assert int(divider.get_attribute("aria-valuenow")) == int(divider.get_attribute("aria-valuemin"))
    page.keyboard.press("End")
    assert int(divider.get_attribute("aria-valuenow")) == int(divider.get_attribute("aria-valuemax"))
    assert page.locator(".mg-graph-pane").bounding_box()["width"] >= 200
    # Dragged far past the left edge: the narrowest width, no less.
    d = divider.bounding_box()
    page.mouse.move(d["x"] + d["width"] / 2, d["y"] + 100)
    page.mouse.down()
    page.mouse.move(-500, d["y"] + 100, steps=4)
    page.mouse.up()
    assert abs(tree.bounding_box()["width"] - narrowest) <= 1
    page.reload()
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    assert abs(tree.bounding_box()["width"] - narrowest) <= 1
    assert_clean(page)


def focused(page, attribute):
    """The focused element's `attribute` (None when it has none)."""
    return page.evaluate("(a) => document.activeElement && document.activeElement.getAttribute(a)", attribute)


def test_tree_keys_walk_open_close_and_find_rows(page, tensorboard):
    """The WAI-ARIA tree pattern: Up/Down/Home/End move (the selection follows), Right opens then enters, Left
    leaves then closes, typed characters move to the next row whose name starts with them; Tab reaches the graph."""
    run, tag = "nested_model", "model"
    model = next(c["path"] for c in children(tensorboard, run, tag, "") if c["kind"] != "op" and c["name"] == "model")
    open_entry(page, tensorboard, run, tag)
    tree = page.locator('[role="tree"]')
    rows = tree_rows(page)
    paths = [p for p, _ in rows]
    assert len(paths) >= 3, rows
    tree.locator('[role="treeitem"]').first.focus()
    assert focused(page, "data-tree-path") == paths[0]
    page.keyboard.press("ArrowDown")
    assert focused(page, "data-tree-path") == paths[1]
    expect(tree.locator(sel("data-tree-path", paths[1]))).to_have_attribute("aria-selected", "true")
    expect(tree.locator(sel("data-tree-path", paths[1]))).to_have_attribute("tabindex", "0")
    assert tree.locator('[tabindex="0"]').count() == 1  # roving tabindex
    page.keyboard.press("End")
    assert focused(page, "data-tree-path") == paths[-1]
    page.keyboard.press("ArrowUp")
    assert focused(page, "data-tree-path") == paths[-2]
    page.keyboard.press("Home")
    assert focused(page, "data-tree-path") == paths[0]

    # Type-ahead: the last row's first character moves to the first row after the first that starts with it.
    char = rows[-1][1][0].lower()
    first = next(i for i in range(1, len(rows)) if rows[i][1].lower().startswith(char))
    page.keyboard.press(char)
    assert focused(page, "data-tree-path") == paths[first]
    page.wait_for_timeout(800)  # a pause: the next character starts a new query
    page.keyboard.press(char)
    again = next(i for i in list(range(first + 1, len(rows))) + list(range(0, first + 1)) if rows[i][1].lower().startswith(char))
    assert focused(page, "data-tree-path") == paths[again]
    page.wait_for_timeout(800)
    page.keyboard.type(rows[1][1][:3].lower())  # several characters typed quickly make one query
    assert focused(page, "data-tree-path") == next(p for p, n in rows if n.lower().startswith(rows[1][1][:3].lower()))

    # Right opens a closed group, then moves into it; Left moves out, then closes it.
    item = tree.locator(sel("data-tree-path", model))
    item.focus()
    expect(item).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowRight")
    expect(item).to_have_attribute("aria-expanded", "true", timeout=DRAW_TIMEOUT)
    inner = item.locator('[role="group"] > [role="treeitem"]')
    expect(inner.first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(inner.first).to_have_attribute("aria-level", "2")
    expect(node(page, model)).to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)
    wait_for(lambda: focused(page, "data-tree-path") == model, timeout=10, what="focus kept on the opened row")
    page.keyboard.press("ArrowRight")
    assert focused(page, "data-tree-path") == inner.first.get_attribute("data-tree-path")
    page.keyboard.press("ArrowLeft")
    assert focused(page, "data-tree-path") == model
    page.keyboard.press("ArrowLeft")
    expect(item).to_have_attribute("aria-expanded", "false", timeout=DRAW_TIMEOUT)
    expect(item.locator('[role="treeitem"]')).to_have_count(0)
    expect(node(page, model)).not_to_have_attribute("data-expanded", "true", timeout=DRAW_TIMEOUT)

    # Tab leaves the tree for the divider, then the graph's boxes, which answer Enter.
    page.keyboard.press("Tab")
    assert focused(page, "role") == "separator"
    page.keyboard.press("Tab")
    graph_path = focused(page, "data-path")
    assert graph_path is not None, "Tab from the tree did not reach a box of the graph"
    assert_clean(page)


def test_page_keys_search_clear_fit_and_help(page, tensorboard):
    """/ focuses the search, Esc empties it, f fits the graph, ? (or the toolbar's button) opens the keys' help,
    which Esc closes, giving focus back; typed into a field, the same characters are text."""
    open_entry(page, tensorboard, "nested_model", "model")
    search = page.locator('input[type="search"]')
    page.keyboard.press("/")
    assert focused(page, "type") == "search"
    page.keyboard.type("block")
    expect(page.locator('[role="listbox"] [data-match-path]').first).to_be_visible(timeout=DRAW_TIMEOUT)
    page.keyboard.press("Escape")
    expect(search).to_have_value("")
    expect(page.locator('[role="listbox"]')).to_be_hidden()
    # Keys typed into the search box are text, not the page's keys.
    search.focus()
    page.keyboard.type("f?")
    expect(search).to_have_value("f?")
    expect(page.get_by_role("dialog")).to_have_count(0)
    # Esc outside the box empties it too.
    first_row = page.locator('[role="tree"] [role="treeitem"]').first
    first_row.focus()
    page.keyboard.press("Escape")
    expect(search).to_have_value("")

    # f fits again after a zoom.
    fitted = view_scale(page)
    pane = page.locator(".mg-graph-pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2)
    page.mouse.wheel(0, -800)
    wait_for(lambda: abs(view_scale(page) - fitted) > 0.1, timeout=10, what="the wheel zoomed the graph")
    page.locator('button[data-export="svg"]').focus()
    page.keyboard.press("f")
    wait_for(lambda: abs(view_scale(page) - fitted) < 1e-6, timeout=10, what="f fit the graph again")

    # ? opens the help: a dialog named for the keys, listing each page-wide key; Esc closes it, focus returns.
    first_row.focus()
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard keys")
    expect(help_dialog).to_be_visible()
    keys = help_dialog.locator("kbd").all_inner_texts()
    for key in ["/", "Esc", "f", "?", "Home", "End", "Enter"]:
        assert key in keys, (key, keys)
    assert page.evaluate("document.querySelector('dialog[open]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(help_dialog).to_have_count(0)
    assert focused(page, "data-tree-path") == first_row.get_attribute("data-tree-path")
    # The toolbar's ? button opens it too; its close button closes it.
    button = page.locator("button[data-help]")
    button.click()
    expect(help_dialog).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_have_count(0)
    assert page.evaluate("document.activeElement.hasAttribute('data-help')")
    assert_clean(page)


def test_fit_enlarges_a_small_graph_within_its_cap(page, tensorboard):
    """A few boxes are shown larger than natural size, at most 1.5x, and still all in the pane."""
    open_entry(page, tensorboard, "demo_module", "addprint")
    scale = view_scale(page)
    assert 1 < scale <= 1.5 + 1e-9, scale
    pane = page.locator(".mg-graph-pane").bounding_box()
    for c in children(tensorboard, "demo_module", "addprint", ""):
        assert inside(box(page, c["path"]), pane), c["path"]
    # The Fit button gives the same view.
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2)
    page.mouse.wheel(0, 600)
    wait_for(lambda: view_scale(page) < scale - 0.1, timeout=10, what="the wheel zoomed out")
    page.get_by_role("button", name="Fit").click()
    wait_for(lambda: abs(view_scale(page) - scale) < 1e-6, timeout=10, what="Fit enlarged the graph again")
    assert_clean(page)


def test_a_revealed_node_keeps_its_groups_header_in_view(page, tensorboard):
    """In a short window, a search result deep in a tall group is shown with the caption of the group around it."""
    run, tag = "nested_model", "model"
    block = find_group(tensorboard, run, tag, "block_3")
    page.set_viewport_size({"width": 1000, "height": 500})
    open_entry(page, tensorboard, run, tag)
    search = page.locator('input[type="search"]')
    search.fill("block_3")
    search.press("Enter")
    expect(page.locator(sel("data-details-for", block))).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(node(page, block)).to_be_visible(timeout=DRAW_TIMEOUT)

    def header_and_node_in_pane():
        pane = page.locator(".mg-graph-pane").bounding_box()
        group_header = node(page, block).evaluate(
            """(el) => { const r = el.parentElement.closest('[data-path]').querySelector(':scope > .mg-header')
                           .getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; }""")
        return inside(box(page, block), pane) and pane["y"] <= group_header["y"] <= pane["y"] + pane["height"] - group_header["height"]

    wait_for(header_and_node_in_pane, timeout=10, what="the revealed node and its group's header in the pane")
    assert_clean(page)


def test_cut_names_show_in_full_in_tooltips(page, tensorboard):
    """Tree rows and graph boxes whose names are cut short with an ellipsis carry the full name in a tooltip."""
    open_entry(page, tensorboard, "resnet50_train_step", "train_step")
    page.locator('[role="separator"]').focus()
    page.keyboard.press("Home")  # the narrowest tree: long names are cut
    cut = page.evaluate(
        """() => {
          const rows = [...document.querySelectorAll('.mg-tree-name')].filter(n => n.scrollWidth > n.clientWidth + 1)
            .map(n => [n.textContent, n.closest('.mg-tree-row').title]);
          const boxes = [...document.querySelectorAll('[data-path] text.mg-name')].filter(t => t.textContent.endsWith('…'))
            .map(t => { const own = t.closest('[data-path]').querySelector(':scope > title');
                        return [t.textContent.replace(/^▾ /, ''), own ? own.textContent : '']; });
          return {rows, boxes};
        }""")
    assert cut["rows"], "no tree row is cut at the narrowest width"
    assert cut["boxes"], "no box of the ResNet step has a cut name"
    for name, title in cut["rows"]:
        assert name in title.split("\n")[0], (name, title)
    for text, title in cut["boxes"]:
        assert text[:-1] in title and len(title.split("\n")[0]) >= len(text), (text, title)
    assert_clean(page)
