"""The page reads at every size (issue 23), in Debian's Chromium through a real `tensorboard`: labels never drawn
below a readable size, values never cut, expanded groups as light frames, opaque panels, the whole graph exported,
children in the order data flows; and the README's pictures of ResNet50 and the demo, light and dark."""

import re
import urllib.parse
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import expect

from tests.helpers.answers import find_group
from tests.helpers.browser import (DRAW_TIMEOUT, assert_clean, box, children, decode_png, expand, node, open_entry, sel,
                                   tree_rows, view_scale, wait_listed)
from tests.helpers.processes import picture, wait_for

RESNET = ("resnet50_train_step", "train_step")
RECORD = ("keras_sequential/module_record", "sequential")  # a module record: every FLOP counted
# The smallest a visible label may be drawn (px): the page draws names at 10 px at least, hides the rest.
SMALLEST_LABEL_PX = 9

# Each visible label of a box: its text, its class, and its size on screen (font size times the zoom it is drawn at).
LABELS_JS = """() => [...document.querySelectorAll('svg.mg-graph [data-path] text')]
    .filter(t => t.textContent.trim() !== '' && t.checkVisibility({visibilityProperty: true}))
    .map(t => [t.textContent, t.getAttribute('class') || t.parentElement.getAttribute('class'),
               parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a])"""


def open_resnet_expanded(page, tb, dark=False):
    """ResNet50's training step with its model expanded (its layers in groups by name) and `conv4` open too."""
    open_entry(page, tb, *RESNET)
    if dark:
        page.goto(tb.entry_url(*RESNET).replace("?", "?darkMode=true&", 1))
        expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    model = next(c["path"] for c in children(tb, *RESNET, "") if c.get("num_ops", 0) > 1000 and c["kind"] == "module")
    expand(page, page, model)
    conv4 = f"{model}/[conv4]"
    expect(node(page, conv4)).to_be_visible(timeout=DRAW_TIMEOUT)
    expand(page, page, conv4)
    return model


def fit(page):
    page.get_by_role("button", name="Fit").click()
    page.wait_for_timeout(300)


def fit_whole(page):
    """Fit until the whole graph is in view (a first Fit may frame the selected expanded group: the overview shows)."""
    for _ in range(2):
        fit(page)
        if page.locator("[data-minimap]").is_hidden():
            return
    raise AssertionError("two Fits did not show the whole graph")


def test_fit_on_the_expanded_resnet_draws_no_label_too_small_to_read(page, tensorboard):
    """Fit with the expanded conv4 selected frames it at a readable zoom (names at their 12 px), the overview showing
    where it is; Fit again shows the whole graph, where every visible box label is 9 px or more on screen: names too
    small at that zoom are drawn at 10 px shortened to their box or left out, second lines hidden; zoomed in, the
    names and second lines come back whole."""
    model = open_resnet_expanded(page, tensorboard)
    conv4 = f"{model}/[conv4]"
    expect(node(page, conv4)).to_have_class(re.compile(r"\bmg-selected\b"))  # (expanding it selected it)
    fit(page)
    assert 12 * view_scale(page) >= 10, view_scale(page)
    pane = page.locator(".mg-graph-pane").bounding_box()
    framed = node(page, conv4).locator(":scope > .mg-outline").bounding_box()
    assert framed["x"] >= pane["x"] and framed["x"] + framed["width"] <= pane["x"] + pane["width"], (framed, pane)
    assert framed["y"] >= pane["y"] - 1 and framed["y"] < pane["y"] + pane["height"] / 2, (framed, pane)
    expect(page.locator("[data-minimap]")).to_be_visible()
    assert all(label[2] >= 12 * view_scale(page) - 0.01 for label in page.evaluate(LABELS_JS) if "mg-name" in label[1])
    fit(page)  # again: the whole graph
    expect(page.locator("[data-minimap]")).to_be_hidden()
    scale = view_scale(page)
    assert 12 * scale < 10, f"the fitted zoom {scale} draws 12 px names readable: the test shows nothing"
    labels = page.evaluate(LABELS_JS)
    assert labels, "no label is visible at all"
    small = [label for label in labels if label[2] < SMALLEST_LABEL_PX - 0.01]
    assert not small, small
    assert not [label for label in labels if "mg-detail" in label[1]], "second lines drawn at the fitted zoom"
    # Zoomed in past natural size, names and second lines are back, at their own sizes.
    pane = page.locator(".mg-graph-pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 3)
    for _ in range(6):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    wait_for(lambda: view_scale(page) >= 1, timeout=10, what="the wheel zoomed in")
    labels = page.evaluate(LABELS_JS)
    assert [label for label in labels if "mg-detail" in label[1]], "no second line came back on zoom"
    assert all(label[2] >= SMALLEST_LABEL_PX for label in labels), labels
    # A box's full name is in its tooltip at any zoom.
    assert page.locator("svg.mg-graph [data-path] > title").count() == page.locator("svg.mg-graph [data-path]").count()
    assert_clean(page)


def colour_by(page, measure):
    page.select_option('select[name="colour-by"]', measure)
    expect(page.locator(f'[data-legend="{measure}"]')).to_be_visible(timeout=DRAW_TIMEOUT)


def test_every_value_in_the_tree_shows_whole(page, tensorboard):
    """Coloured by FLOPs in the narrowest tree, each row's value is whole (its scroll width is its client width,
    it lies inside the pane) and says the server's count; the parts after a name show whole or not at all."""
    wait_listed(tensorboard, *RECORD)
    listing = children(tensorboard, *RECORD, "")
    model = next(c for c in listing if c["kind"] == "module")
    open_entry(page, tensorboard, *RECORD)
    expand(page, page, model["path"])
    colour_by(page, "flops")
    page.locator('[role="separator"]').focus()
    page.keyboard.press("Home")  # the narrowest tree
    expected = {c["path"]: c["flops"] for c in listing + children(tensorboard, *RECORD, model["path"])}
    found = page.evaluate("""() => {
        const pane = document.querySelector('.mg-tree-pane').getBoundingClientRect();
        return [...document.querySelectorAll('[data-tree-path]')].map(item => {
            const value = item.querySelector(':scope > .mg-tree-row > .mg-tree-cost');
            const r = value.getBoundingClientRect();
            const info = item.querySelector(':scope > .mg-tree-row > .mg-tree-info');
            const box = info.getBoundingClientRect();
            const cut = [...info.children].filter(part => {
                const p = part.getBoundingClientRect();
                const inside = p.left >= box.left - 0.5 && p.right <= box.right + 0.5 && p.top >= box.top - 0.5 && p.bottom <= box.bottom + 0.5;
                const outside = p.right <= box.left || p.left >= box.right || p.bottom <= box.top || p.top >= box.bottom;
                return p.width > 0 && !inside && !outside;
            }).map(part => part.textContent);
            return {path: item.dataset.treePath, text: value.textContent, scroll: value.scrollWidth, client: value.clientWidth,
                    inPane: r.left >= pane.left && r.right <= pane.right + 0.5, cut};
        });
    }""")
    assert len(found) == len(expected), (found, expected)
    for row in found:
        assert row["text"] == f"{expected[row['path']]} FLOPs", row  # (all under 1,000 here: a whole number)
        assert row["scroll"] == row["client"] and row["client"] > 0, row
        assert row["inPane"], row
        assert not row["cut"], row
    assert_clean(page)


def alpha_of(colour):
    match = re.fullmatch(r"rgba?\(([^)]*)\)", colour.strip())
    assert match, colour
    parts = [p for p in re.split(r"[,\s/]+", match.group(1)) if p]
    return float(parts[3]) if len(parts) > 3 else 1.0


def test_panels_are_opaque_in_dark_mode(page, tensorboard):
    """In dark mode the legend (the scale and the structure legend), the tree, the details and the toolbar have
    opaque backgrounds: nothing of the graph shows through."""
    wait_listed(tensorboard, *RECORD)
    page.goto(tensorboard.entry_url(*RECORD).replace("?", "?darkMode=true&", 1))
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.locator("svg.mg-graph [data-path]").first.click()  # (a node selected: the details panel shows it)
    backgrounds = {}
    for selector in (".mg-legend", ".mg-tree-pane", ".mg-details", ".mg-toolbar"):
        expect(page.locator(selector).first).to_be_visible()
        backgrounds[selector] = page.locator(selector).first.evaluate("e => getComputedStyle(e).backgroundColor")
    colour_by(page, "flops")
    backgrounds["scale legend"] = page.locator(".mg-legend").evaluate("e => getComputedStyle(e).backgroundColor")
    assert all(alpha_of(colour) == 1 for colour in backgrounds.values()), backgrounds
    assert_clean(page)


def luminance(colour):
    match = re.fullmatch(r"rgba?\(([^)]*)\)", colour.strip())
    assert match, colour
    rgb = [float(p) / 255 for p in re.split(r"[,\s/]+", match.group(1)) if p][:3]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_an_expanded_group_is_a_light_frame_its_children_read_against(page, tensorboard, dark):
    """Coloured by FLOPs, the expanded model is not filled with its own (the deepest) colour: its fill is a tint
    whose lightness differs from its heaviest child's by 3:1 or more (WCAG's contrast for graphics), and its header
    says its own count."""
    wait_listed(tensorboard, *RECORD)
    listing = children(tensorboard, *RECORD, "")
    model = next(c for c in listing if c["kind"] == "module")
    heaviest = max(children(tensorboard, *RECORD, model["path"]), key=lambda c: c.get("flops") or 0)
    assert heaviest["flops"] > 0, heaviest
    url = tensorboard.entry_url(*RECORD)
    page.goto(url.replace("?", "?darkMode=true&", 1) if dark else url)
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expand(page, page, model["path"])
    colour_by(page, "flops")
    frame = node(page, model["path"]).locator(":scope > .mg-outline")
    own = node(page, model["path"]).evaluate("e => getComputedStyle(e).getPropertyValue('--paint')")
    expect(node(page, heaviest["path"])).to_have_class(re.compile(r"\bmg-painted\b"))
    fill = frame.evaluate("e => getComputedStyle(e).fill")
    child_fill = node(page, heaviest["path"]).locator(":scope > .mg-outline").evaluate("e => getComputedStyle(e).fill")
    assert frame.evaluate("e => getComputedStyle(e).fillOpacity") == "1"
    assert contrast(fill, child_fill) >= 3, (fill, child_fill, contrast(fill, child_fill))
    assert own.strip() and fill != own.strip() and fill != child_fill, (fill, own, child_fill)  # (a tint, not its colour)
    expect(node(page, model["path"]).locator(":scope > .mg-detail")).to_contain_text(f"{model['flops']} FLOPs")
    assert_clean(page)


def test_png_export_holds_the_whole_expanded_resnet_at_1x_or_more(page, tensorboard):
    """Zoomed in on a corner of the expanded ResNet50, the exports still hold the whole graph: the SVG every drawn
    node, at natural size, with a title line and the legend; the PNG that drawing at 1x or more."""
    model = open_resnet_expanded(page, tensorboard)
    fit(page)
    paths = set(page.eval_on_selector_all("svg.mg-graph [data-path]", "els => els.map(e => e.dataset.path)"))
    natural = page.evaluate("() => { const b = document.querySelector('.mg-viewport').getBBox(); return [b.width, b.height]; }")
    pane = page.locator(".mg-graph-pane").bounding_box()
    assert natural[0] > pane["width"] or natural[1] > pane["height"], "the graph fits the pane at 1x: the test shows nothing"
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 3)
    for _ in range(5):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    # With the expanded conv4 selected (expanding it selected it), the export is that group.
    expect(node(page, f"{model}/[conv4]")).to_have_class(re.compile(r"\bmg-selected\b"))
    with page.expect_download() as info:
        page.click('button[data-export="svg"]')
    group = ElementTree.fromstring(Path(info.value.path()).read_bytes())
    inside = {e.get("data-path") for e in group.iter() if e.get("data-path")}
    conv4 = {p for p in paths if p.startswith(f"{model}/[conv4]")}
    assert len(conv4) > 1 and conv4 <= inside, (conv4, inside)
    # With a collapsed box selected, the whole graph.
    inputs = next(c["path"] for c in children(tensorboard, *RESNET, "") if c.get("role") == "inputs")
    page.locator('input[type="search"]').fill("")
    page.locator(sel("data-tree-path", inputs)).locator(".mg-tree-name").click()
    expect(page.locator(sel("data-details-for", inputs))).to_be_visible(timeout=DRAW_TIMEOUT)
    with page.expect_download() as info:
        page.click('button[data-export="svg"]')
    document = ElementTree.fromstring(Path(info.value.path()).read_bytes())
    assert float(document.get("height")) > float(group.get("height")), (document.get("height"), group.get("height"))
    width, height = float(document.get("width")), float(document.get("height"))
    assert width >= natural[0] and height >= natural[1], (width, height, natural)
    exported = {e.get("data-path") for e in document.iter() if e.get("data-path")}
    assert paths <= exported, sorted(paths - exported)
    texts = [t.text or "" for t in document.iter("{http://www.w3.org/2000/svg}text")]
    assert any(RESNET[0] in t and RESNET[1] in t for t in texts), texts[:5]  # the title line
    assert "Legend" in texts
    with page.expect_download() as info:
        page.click('button[data-export="png"]')
    png_width, png_height = decode_png(Path(info.value.path()).read_bytes())
    assert png_width >= width and png_height >= height, (png_width, png_height, width, height)
    assert node(page, model).is_visible()  # (the view is drawn again as it was)
    assert_clean(page)


def test_the_nested_models_tree_lists_encoder_before_head(page, tensorboard):
    """The tree lists children in the order data flows: the encoder feeds the head (an edge in the answer), so
    `encoder` comes before `head`, although the trace records the head's ops first."""
    run, tag = "nested_model", "model"
    model = find_group(tensorboard, run, tag, "model")
    listing = tensorboard.api("hierarchy", run=run, tag=tag, path=model, depth=1).json()["node"]
    encoder, head = f"{model}/encoder", f"{model}/head"
    assert any(e["from"] == encoder and e["to"] == head and not e["control"] for e in listing["edges"]), listing["edges"]
    open_entry(page, tensorboard, run, tag)
    page.locator(sel("data-tree-path", model)).locator(".mg-twisty").click()
    expect(page.locator(sel("data-tree-path", head))).to_be_visible(timeout=DRAW_TIMEOUT)
    rows = [path for path, _ in tree_rows(page)]
    assert rows.index(encoder) < rows.index(head), rows
    assert_clean(page)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_readme_pictures(page, tensorboard, dark):
    """The README's pictures: the expanded ResNet50 step fitted (light and dark), the demo's nested model (dark;
    test_browser.py writes the light one). Each holds visible names, none too small."""
    suffix = "-dark" if dark else ""
    open_resnet_expanded(page, tensorboard, dark=dark)
    fit_whole(page)
    labels = page.evaluate(LABELS_JS)
    assert labels and all(label[2] >= SMALLEST_LABEL_PX - 0.01 for label in labels), labels
    page.wait_for_timeout(300)
    picture(f"resnet50{suffix}.png").write_bytes(page.screenshot(full_page=False))
    if dark:
        encoder = find_group(tensorboard, "nested_model", "model", "encoder")
        page.goto(tensorboard.entry_url("nested_model", "model").replace("?", "?darkMode=true&", 1))
        expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
        for path in (encoder.rsplit("/", 1)[0], encoder):
            expect(node(page, path)).to_be_visible(timeout=DRAW_TIMEOUT)
            expand(page, page, path)
        fit(page)  # (the whole model in the picture)
        page.wait_for_timeout(300)
        picture("screenshot-dark.png").write_bytes(page.screenshot(full_page=False))
    assert_clean(page)


def test_an_overview_shows_where_the_view_is_and_moves_it(page, tensorboard):
    """Zoomed in on the expanded ResNet50, an overview in the pane's corner shows the graph and the view's rectangle
    inside it; a click on it moves the view there; once Fit shows the whole graph, it is hidden."""
    open_resnet_expanded(page, tensorboard)
    fit_whole(page)
    minimap = page.locator("[data-minimap]")
    expect(minimap).to_be_hidden()
    pane = page.locator(".mg-graph-pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 3)
    for _ in range(4):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    expect(minimap).to_be_visible()
    overview = minimap.bounding_box()
    view = page.locator("[data-minimap-view]").bounding_box()
    assert view["width"] < overview["width"] or view["height"] < overview["height"], (view, overview)
    assert (overview["x"] - 1 <= view["x"] and view["x"] + view["width"] <= overview["x"] + overview["width"] + 1
            and overview["y"] - 1 <= view["y"] and view["y"] + view["height"] <= overview["y"] + overview["height"] + 1)
    before = page.locator(".mg-viewport").get_attribute("transform")
    page.mouse.click(overview["x"] + overview["width"] / 2, overview["y"] + overview["height"] - 3)  # the graph's foot
    wait_for(lambda: page.locator(".mg-viewport").get_attribute("transform") != before, timeout=10, what="the view moved")
    moved = page.locator("[data-minimap-view]").bounding_box()
    assert moved["y"] > view["y"], (view, moved)
    fit_whole(page)
    expect(minimap).to_be_hidden()
    assert_clean(page)


def open_at(page, tb, run, tag, selected, dark=False):
    """The page at an address that expands the groups above `selected` and selects it (light or dark)."""
    parts = selected.split("/")
    params = [("run", run), ("tag", tag)] + [("expanded", "/".join(parts[:i])) for i in range(1, len(parts))]
    params.append(("selected", selected))
    url = tb.entry_url().replace("?", "?darkMode=true&", 1) if dark else tb.entry_url()
    page.goto(f"{url}#" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
    expect(page.locator(sel("data-details-for", selected))).to_be_visible(timeout=DRAW_TIMEOUT)


def longest_captured_names(tb, run, tag):
    """The child of the graph's model whose captured variables have the longest names (node path and name), and
    them."""
    model = max((c for c in children(tb, run, tag, "") if c["kind"] == "module"), key=lambda c: c.get("num_ops", 0))
    found = {}
    for child in children(tb, run, tag, model["path"]):
        if child.get("num_children", 0) > 0:
            answer = tb.api("node", run=run, tag=tag, path=child["path"]).json()["node"]
            if answer.get("captured_variables"):
                found[child["path"]] = answer["captured_variables"]
    assert found, f"no group of {model['path']} lists captured variables: the test shows nothing"
    return max(found.items(), key=lambda item: max(len(v["name"]) + len(v["path"]) for v in item[1]))


# Long names of captured variables: Keras placeholders with no "/" (ResNet50's step), and names with "/" (a module
# record of a Keras model).
LONG_NAMES = {"placeholders": RESNET, "paths": RECORD}


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("graph", list(LONG_NAMES))
def test_long_variable_names_stay_whole_inside_the_details_panel(page, tensorboard, graph, dark):
    """The Variables table of the group whose captured variables have the longest names: every cell's text is inside
    the panel (nothing scrolls sideways, no cell cuts its text), each node and name is whole in its cell's text and
    its tooltip."""
    run, tag = LONG_NAMES[graph]
    wait_listed(tensorboard, run, tag)
    group, variables = longest_captured_names(tensorboard, run, tag)
    assert max(len(v["name"]) for v in variables) > 40, variables  # (more than a 340 px panel's column holds)
    open_at(page, tensorboard, run, tag, group, dark)
    details = page.locator(sel("data-details-for", group))
    section = details.locator("section").filter(has=page.locator("h3", has_text=re.compile("ariables")))
    rows = section.last.locator("tbody tr")
    assert rows.count() == len(variables), (rows.count(), variables)
    found = page.locator(".mg-details").evaluate("""panel => {
        const cells = [...panel.querySelectorAll('section table td')];
        const box = panel.getBoundingClientRect();
        return {sideways: panel.scrollWidth - panel.clientWidth, width: box.width,
                cut: cells.filter(c => c.scrollWidth > c.clientWidth + 0.5).map(c => c.textContent),
                outside: cells.filter(c => c.getBoundingClientRect().right > box.right + 0.5).map(c => c.textContent)};
    }""")
    assert found["sideways"] <= 0 and not found["cut"] and not found["outside"], found
    for i, variable in enumerate(variables):
        node_cell, name_cell = rows.nth(i).locator("td").nth(0), rows.nth(i).locator("td").nth(1)
        assert node_cell.text_content() == variable["path"], (node_cell.text_content(), variable)
        assert name_cell.text_content() == variable["name"], (name_cell.text_content(), variable)
        assert node_cell.locator("[title]").first.get_attribute("title").endswith(variable["path"])
        assert name_cell.locator("[title]").first.get_attribute("title") == variable["name"]
    section.last.scroll_into_view_if_needed()
    picture(f"details-long-names-{graph}{'-dark' if dark else ''}.png").write_bytes(
        page.locator(".mg-details").screenshot())
    assert_clean(page)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_selected_expanded_group_shows_the_selection_over_its_paint(page, tensorboard, dark):
    """Coloured by FLOPs, the selected expanded model's frame is outlined in the selection colour (the one a selected
    collapsed box has), not in its paint; selecting another box gives it back its paint's outline."""
    wait_listed(tensorboard, *RECORD)
    listing = children(tensorboard, *RECORD, "")
    model = next(c for c in listing if c["kind"] == "module")
    url = tensorboard.entry_url(*RECORD)
    page.goto(url.replace("?", "?darkMode=true&", 1) if dark else url)
    expect(page.locator("[data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expand(page, page, model["path"])
    colour_by(page, "flops")
    group = node(page, model["path"])
    expect(group).to_have_class(re.compile(r"\bmg-painted\b"))
    page.locator(sel("data-tree-path", model["path"])).locator(":scope > .mg-tree-row > .mg-tree-name").click()
    expect(group).to_have_class(re.compile(r"\bmg-selected\b"))
    selection = page.evaluate("""() => { const probe = document.createElement('div');
        probe.style.color = 'var(--mg-action)'; document.body.append(probe);
        const colour = getComputedStyle(probe).color; probe.remove(); return colour; }""")
    paint = group.evaluate("e => getComputedStyle(e).getPropertyValue('--paint')").strip()
    frame = group.locator(":scope > .mg-outline")
    stroke = frame.evaluate("e => getComputedStyle(e).stroke")
    assert stroke == selection, (stroke, selection, paint)
    assert float(frame.evaluate("e => getComputedStyle(e).strokeWidth").replace("px", "")) >= 2.5
    picture(f"selected-painted-group{'-dark' if dark else ''}.png").write_bytes(page.screenshot(full_page=False))
    # Another box selected, the frame is outlined in its paint again.
    other = next(c for c in children(tensorboard, *RECORD, model["path"]))
    page.locator(sel("data-tree-path", other["path"])).locator(":scope > .mg-tree-row > .mg-tree-name").click()
    expect(group).not_to_have_class(re.compile(r"\bmg-selected\b"))
    stroke = frame.evaluate("e => getComputedStyle(e).stroke")
    assert stroke != selection and stroke == page.evaluate("""p => { const probe = document.createElement('div');
        probe.style.color = p; document.body.append(probe); const c = getComputedStyle(probe).color; probe.remove();
        return c; }""", paint), (stroke, paint)
    assert_clean(page)


def downstream(edges, start):
    """The children an edge path leads to from `start` (itself included)."""
    found, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path not in found:
            found.add(path)
            todo += [e["to"] for e in edges if e["from"] == path]
    return found


def ranks(paths, edges):
    """Each child's rank by the longest edge path reaching it (what a layered layout gives it at least)."""
    rank = {path: 0 for path in paths}
    for _ in paths:
        for e in edges:
            if e["from"] in rank and e["to"] in rank and e["from"] != e["to"]:
                rank[e["to"]] = max(rank[e["to"]], rank[e["from"]] + 1)
    return rank


def backward_among_forward(tb, run, tag):
    """The module of the graph whose backward group (role "backward") its edges alone would place highest among
    its forward children: (how many ranks of forward children are at or below it, module, backward, forward)."""
    found, todo = [], [""]
    while todo:
        listing = tb.api("hierarchy", run=run, tag=tag, path=todo.pop(), depth=1).json()["node"]
        kids, edges = listing["children"], listing["edges"]
        for backward in (c["path"] for c in kids if c.get("role") == "backward"):
            after = downstream(edges, backward)
            forward = [c["path"] for c in kids if c["path"] not in after]
            rank = ranks(forward + [backward], [e for e in edges if e["to"] == backward or e["to"] in forward])
            found.append((max(rank[p] for p in forward) - rank[backward] + 1, listing["path"], backward, forward))
        todo += [c["path"] for c in kids if c["kind"] == "module"]
    assert found, f"no module of {run} holds a backward group: the test shows nothing"
    return max(found, key=lambda entry: (entry[0], -len(entry[3])))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_backward_group_is_drawn_below_its_modules_forward_children(page, tensorboard, dark):
    """In ResNet50's training step, the module whose backward group (role "backward") its edges alone would place
    highest among its forward children (fed by the first of them) draws that group below each of them."""
    among, module, backward, forward = backward_among_forward(tensorboard, *RESNET)
    assert among >= 1 and len(forward) >= 2, (among, module, backward, forward)  # (else the test shows nothing)
    open_at(page, tensorboard, *RESNET, module, dark)
    if node(page, module).get_attribute("data-expanded") != "true":
        expand(page, page, module)
    boxes = {path: box(page, path) for path in forward + [backward]}
    low = boxes[backward]
    above = [path for path in forward if boxes[path]["y"] + boxes[path]["height"] > low["y"]]
    assert not above, (backward, low, {path: boxes[path] for path in above})
    node(page, backward).scroll_into_view_if_needed()
    picture(f"backward-last{'-dark' if dark else ''}.png").write_bytes(page.screenshot(full_page=False))
    assert_clean(page)


def test_loading_moves_nothing_on_the_page(page, tensorboard):
    """While a request is under way the status says "loading…" without moving the graph: a full toolbar wrapped
    onto a second line for it, so the second click of a double-click on a node just selected landed beside it."""
    run, tag = "nested_model", "model"
    model = find_group(tensorboard, run, tag, "model")
    open_entry(page, tensorboard, run, tag)
    expect(node(page, model)).to_be_visible(timeout=DRAW_TIMEOUT)

    def placed():  # the graph pane's place and the node's centre (its outline thickens once selected)
        pane, b = page.locator("svg.mg-graph").bounding_box(), box(page, model)
        return pane, (round(b["x"] + b["width"] / 2, 1), round(b["y"] + b["height"] / 2, 1))

    # The page just wide enough for the toolbar's controls on one line (the status's words would not fit too).
    needed = page.evaluate("""() => { const bar = document.querySelector('.mg-toolbar'); const style = getComputedStyle(bar);
        const items = [...bar.children].filter((c) => !c.classList.contains('mg-status') && c.offsetWidth > 0);
        return items.reduce((sum, c) => sum + c.getBoundingClientRect().width, 0) + parseFloat(style.columnGap) * (items.length - 1)
            + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight); }""")
    page.set_viewport_size({"width": int(needed) + 30, "height": 900})
    page.wait_for_timeout(300)
    expect(node(page, model)).to_be_visible(timeout=DRAW_TIMEOUT)
    before = placed()
    held = []
    page.route("**/node?*", lambda route: held.append(route))  # (the details' answer held back)
    node(page, model).click()
    expect(page.locator(".mg-status")).to_have_text("loading…", timeout=DRAW_TIMEOUT)
    assert placed() == before
    for route in held:
        route.continue_()
    page.unroute("**/node?*")
    expect(page.locator(".mg-status")).to_have_text("", timeout=DRAW_TIMEOUT)
    assert placed() == before
    assert_clean(page)
