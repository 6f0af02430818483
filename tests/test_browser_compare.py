"""Comparing two graphs on the page (issue 22), in Debian's Chromium through a real `tensorboard` over the demo's
`nested_versions` run (v1; v2: a block added, the head widened, block_0 frozen): the "Compare with" picker, the union
tree's statuses on graph nodes and tree rows (`data-diff`), as the `diff` route gives them."""

import io
import re
import json
import shutil
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import DRAW_TIMEOUT, assert_clean, expand, node, sel
from tb_module_plugin.recording.demo import write_demo
from tests.helpers.processes import ARTIFACTS_DIR, PLUGIN_NAME, TensorBoard, picture, wait_for

A = ("nested_versions/v1", "model")
B = ("nested_versions/v2", "model")
STATUSES = {"same", "changed", "added", "removed", "renamed"}


@pytest.fixture(scope="module")
def compare_tb(tmp_path_factory):
    """A tensorboard over the demo's nested_versions run alone (what `make demo` writes of it)."""
    logdir = tmp_path_factory.mktemp("compare_logs")
    write_demo(logdir, only=["nested_versions"], out=io.StringIO())
    tb = TensorBoard(logdir, load_fast=False, name="compare")
    tb.start(wait_graphs={A: "module_record", B: "module_record"})
    yield tb
    tb.stop()


def diff_listing(tb, path, depth=1, a=A, b=B):
    r = tb.api("diff", run=a[0], tag=a[1], run2=b[0], tag2=b[1], path=path, depth=depth)
    assert r.status == 200, r
    return r.json()["node"]


def diff_statuses(tb, depth=8):
    """Path -> status of every node of the union tree down to `depth`, from the API."""
    found = {}

    def walk(entry):
        for child in entry.get("children", []):
            found[child["path"]] = child["diff"]
            walk(child)

    walk(diff_listing(tb, "", depth))
    return found


def compare_url(tb, a=A, b=B, dark=False, **view):
    params = {"run": a[0], "tag": a[1], "compare_run": b[0], "compare_tag": b[1], **view}
    url = tb.entry_url() + "#" + urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)
    return url.replace("?", "?darkMode=true&", 1) if dark else url


def drawn_statuses(page, selector, attr):
    """(path, data-diff) of the drawn elements matching `selector`, real nodes only (not the page's child groups)."""
    pairs = page.locator(selector).evaluate_all(
        f"els => els.map(e => [e.getAttribute('{attr}'), e.getAttribute('data-diff')])")
    return {path: status for path, status in pairs if "[" not in path}


def assert_statuses_match(page, truth):
    graph = drawn_statuses(page, "svg.mg-graph [data-path]", "data-path")
    tree = drawn_statuses(page, "[data-tree-path]", "data-tree-path")
    assert graph and tree
    assert graph == {path: truth[path] for path in graph}, "graph nodes' data-diff differ from the diff route's"
    assert tree == {path: truth[path] for path in tree}, "tree rows' data-diff differ from the diff route's"
    return graph


def choose_comparison(page, b=B):
    page.get_by_label("Compare with run").select_option(b[0])
    page.get_by_label("Compare with tag").select_option(b[1])


def test_choosing_v2_shows_each_node_of_the_union_tree_with_the_status_the_diff_route_gives(page, compare_tb):
    truth = diff_statuses(compare_tb)
    assert set(truth.values()) - {"same"}, "the demo's versions differ in nothing: the test shows nothing"
    page.goto(compare_tb.entry_url(*A))
    expect(page.locator("svg.mg-graph [data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("[data-diff]")).to_have_count(0)
    choose_comparison(page)
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_statuses_match(page, truth)
    root = diff_listing(compare_tb, "", 1)
    assert_legend_counts(page, root)
    # The address says what is compared; "—" ends the comparison.
    assert "compare_run=" + urllib.parse.quote(B[0], safe="") in page.evaluate("location.hash")
    page.get_by_label("Compare with run").select_option("")
    expect(page.locator("svg.mg-graph [data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator("[data-diff]")).to_have_count(0, timeout=DRAW_TIMEOUT)
    expect(page.locator(".mg-diff-legend")).to_be_hidden()
    assert "compare_run" not in page.evaluate("location.hash")
    assert_clean(page)


def test_every_status_shows_on_the_groups_opened_as_the_diff_route_gives_it(page, compare_tb):
    """Opened from an address naming the comparison, with every group that holds a change expanded: each drawn node
    and tree row carries its status, and together they show every status the comparison has."""
    truth = diff_statuses(compare_tb)
    with_changes = sorted(changed_groups(diff_listing(compare_tb, "", 8)), key=lambda p: p.count("/"))
    page.goto(compare_url(compare_tb, expanded=with_changes))
    for path in with_changes:
        expect(node(page, path).or_(page.locator(sel("data-tree-path", path)))).not_to_have_count(0, timeout=DRAW_TIMEOUT)
    expect(page.locator(sel("data-tree-path", with_changes[-1]))).to_have_attribute("aria-expanded", "true",
                                                                                    timeout=DRAW_TIMEOUT)
    seen = assert_statuses_match(page, truth)
    seen.update(drawn_statuses(page, "[data-tree-path]", "data-tree-path"))
    assert set(seen.values()) == set(truth.values()), (set(seen.values()), set(truth.values()))
    assert_clean(page)


def ancestors(path):
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def changed_groups(entry):
    """Paths of the groups below `entry` (a diff listing) that hold a change (what "next change" walks into)."""
    found = []
    for child in entry.get("children", []):
        counts = child.get("counts") or {}
        if child["diff"] not in ("added", "removed") and any(counts.get(s) for s in STATUSES - {"same"}):
            found.append(child["path"])
            found.extend(changed_groups(child))
    return found


def assert_legend_counts(page, root):
    """The legend names each status with the root's count of it."""
    for status in STATUSES:
        row = page.locator(f".mg-diff-legend {sel('data-diff-legend', status)}")
        expect(row.locator(".mg-diff-legend-count")).to_have_text(str(root["counts"].get(status, 0)))


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_pictures_of_the_comparison_light_and_dark(page, compare_tb, dark):
    """The README's pictures (docs/compare.png and compare-dark.png under README_PICTURES=1): v1 against v2 with the
    group whose children compare in the most ways open and selected, its details beside; then coloured by the parameters'
    difference (test-artifacts/pictures/ only)."""
    union = diff_listing(compare_tb, "", 8)
    # (the group whose children have the most statuses: the encoder, its block_0 frozen and block_4 added; open
    # with the groups above it and the tree's rows of everything changed)
    shown = max(union_nodes(union), key=lambda entry: (len({c["diff"] for c in entry.get("children", [])}), -entry["path"].count("/")))
    page.set_viewport_size({"width": 1600, "height": 900})  # (the encoder's blocks side by side, none under the overview)
    page.goto(compare_url(compare_tb, dark=dark, expanded=[*ancestors(shown["path"]), shown["path"]], selected=shown["path"]))
    expect(page.locator("[data-diff-details]")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator(".mg-diff-legend")).to_be_visible()
    page.wait_for_timeout(400)  # (as the address opens it: the selection in view, at a readable zoom)
    picture(f"compare{'-dark' if dark else ''}.png").write_bytes(page.screenshot(full_page=False))
    page.select_option('select[name="colour-by"]', "params")  # (the differences, blue less, red more)
    expect(page.locator("[data-legend]")).to_contain_text("B − A", timeout=DRAW_TIMEOUT)
    page.wait_for_timeout(300)
    # (not a README picture: beside the others in test-artifacts/pictures/ whatever README_PICTURES says)
    folder = ARTIFACTS_DIR / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"compare-params{'-dark' if dark else ''}.png").write_bytes(page.screenshot(full_page=False))
    assert_clean(page)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_two_traces_show_what_was_not_compared(page, compare_tb, dark):
    """The demo's v1 as a trace against its retrace: the same structure, but a trace records no parameter shapes, so
    the legend says which measures were not compared and why, in the `diff` route's words; v1 against v2 (records)
    says nothing of it. Pictures in test-artifacts/pictures/."""
    a, b = ("nested_versions/v1_trace", "model"), ("nested_versions/retrace", "model")
    root = diff_listing(compare_tb, "", 0, a=a, b=b)
    assert root["diff"] == "same" and set(root["not_compared"]) >= {"num_params"}, root
    page.goto(compare_url(compare_tb, a=a, b=b, dark=dark))
    note = page.locator(".mg-diff-legend [data-not-compared]")
    expect(note).to_be_visible(timeout=DRAW_TIMEOUT)
    assert note.get_attribute("data-not-compared").split() == list(root["not_compared"])
    for key, why in root["not_compared"].items():
        expect(note.locator(f'[data-not-compared-measure="{key}"]')).to_contain_text(why)
    expect(note).to_contain_text("not compared")
    page.wait_for_timeout(300)
    folder = ARTIFACTS_DIR / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"compare-traces{'-dark' if dark else ''}.png").write_bytes(page.screenshot(full_page=False))
    assert_clean(page)
    assert "not_compared" not in diff_listing(compare_tb, "", 0)
    page.goto(compare_url(compare_tb, dark=dark))
    expect(page.locator(".mg-diff-legend")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator(".mg-diff-legend [data-not-compared]")).to_have_count(0)


def shown_value(value):
    """A change's value as the panel writes it: a map as "key: value" parts, a list as JSON (JavaScript's)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {entry if isinstance(entry, str) else shown_json(entry)}" for key, entry in value.items())
    if isinstance(value, list):
        return shown_json(value)
    return str(value)


def shown_json(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def union_nodes(entry):
    for child in entry.get("children", []):
        yield child
        yield from union_nodes(child)


def test_the_details_panel_lists_each_change_the_diff_route_gives(page, compare_tb):
    """Each node with changes, selected through the address (a reload of a shared link): the panel's comparison
    section lists exactly its changes (field, A, B) and its parameter delta with its sign; an added node's details
    come from B."""
    nodes = list(union_nodes(diff_listing(compare_tb, "", 8)))
    with_changes = [entry for entry in nodes if entry.get("changes")]
    added = [entry for entry in nodes if entry["diff"] == "added"]
    assert with_changes and added, "the demo's versions show no change: the test shows nothing"
    for entry in with_changes[:4] + added[:1]:
        path = entry["path"]
        page.goto(compare_url(compare_tb, selected=path))
        page.reload()  # (the address alone restores the comparison and the selection)
        panel = page.locator(f"[data-details-for]{sel('data-details-for', path)}")
        section = panel.locator(f"[data-diff-details={json.dumps(entry['diff'])}]")
        expect(section).to_be_visible(timeout=DRAW_TIMEOUT)
        rows = section.locator("[data-change]").evaluate_all(
            "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))")
        assert rows == [[c["field"], shown_value(c["a"]), shown_value(c["b"])] for c in entry.get("changes", [])], path
        params = (entry.get("delta") or {}).get("num_params")
        if params is not None:
            text = section.locator('[data-delta="num_params"] td').text_content()
            assert text.startswith("+" if params > 0 else "−" if params < 0 else "±"), (path, params, text)
        expect(page.locator(sel("data-tree-path", path))).to_have_attribute("aria-selected", "true")
        if entry["diff"] == "added":
            expect(panel.locator(".mg-facts").first).to_contain_text(entry.get("path_b", path).split("/")[-1])
    assert_clean(page)


def change_order(entry):
    """The changed nodes (status not same) in tree order, as "next change" walks them: parents first, children in
    their listing's order, nothing inside an added or removed node (it is one change)."""
    order = []
    for child in entry.get("children", []):
        if child["diff"] != "same":
            order.append(child["path"])
        if child["diff"] not in ("added", "removed"):
            order.extend(change_order(child))
    return order


def assert_selected(page, path):
    row = page.locator(sel("data-tree-path", path))
    expect(row).to_have_attribute("aria-selected", "true", timeout=DRAW_TIMEOUT)
    expect(row).to_be_in_viewport()
    expect(page.locator(f"[data-details-for]{sel('data-details-for', path)}")).to_be_visible(timeout=DRAW_TIMEOUT)


def test_n_reveals_and_selects_each_change_in_tree_order_and_shift_n_goes_back(page, compare_tb):
    order = change_order(diff_listing(compare_tb, "", 8))
    assert len(order) >= 3, order
    page.goto(compare_url(compare_tb))
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    for path in order:
        page.keyboard.press("n")
        assert_selected(page, path)
        drawn = node(page, path)
        if drawn.count():  # (drawn when near the view: the selection is brought into it)
            expect(drawn).to_have_class(re.compile(r"\bmg-selected\b"))
    page.keyboard.press("n")
    assert_selected(page, order[0])  # (after the last, the first again)
    page.keyboard.press("Shift+N")
    assert_selected(page, order[-1])
    page.keyboard.press("Shift+N")
    assert_selected(page, order[-2])
    # The legend's buttons do the same.
    page.locator(".mg-diff-legend").get_by_role("button", name="Next change").click()
    assert_selected(page, order[-1])
    assert f"selected={urllib.parse.quote(order[-1], safe='')}" in page.evaluate("location.hash")
    assert_clean(page)


@pytest.mark.parametrize("measure,field", [("params", "num_params"), ("flops", "flops")])
def test_colour_by_a_measure_while_comparing_paints_its_difference(page, compare_tb, measure, field):
    """Each drawn node's value (data-cost) is its difference B − A as the diff route gives it, on a diverging scale
    whose legend says so; a node whose difference is not known is drawn as not known."""
    union = diff_listing(compare_tb, "", 8)
    deltas = {entry["path"]: (entry.get("delta") or {}).get(field) for entry in union_nodes(union)}
    assert any(deltas.values()), f"no {field} difference in the demo: the test shows nothing"
    with_changes = sorted(changed_groups(union), key=lambda p: p.count("/"))
    page.goto(compare_url(compare_tb, expanded=with_changes))
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    page.select_option('select[name="colour-by"]', measure)
    expect(page.locator("[data-legend]")).to_contain_text("B − A", timeout=DRAW_TIMEOUT)
    expect(page.locator("[data-legend]")).to_contain_text("blue: less in B, red: more in B")
    assert_drawn_deltas(page, deltas, lambda cost: cost > 0)
    assert_clean(page)


def assert_drawn_deltas(page, deltas, differs):
    """Each drawn node's value (data-cost) is its delta as the route gives it (`deltas`: path -> delta or None, drawn
    as not known); some is checked, and some satisfies `differs`."""
    drawn = page.locator("svg.mg-graph [data-path]").evaluate_all(
        "els => els.map(e => [e.dataset.path, e.getAttribute('data-cost'), e.classList.contains('mg-cost-unknown')])")
    checked = 0
    for path, cost, unknown in drawn:
        if "[" in path:
            continue
        if deltas[path] is None:
            assert unknown and cost is None, (path, cost)
        else:
            assert cost is not None and float(cost) == deltas[path], (path, cost, deltas[path])
            checked += 1
    assert checked and any(differs(float(cost)) for _, cost, _ in drawn if cost), drawn


TIMED_A = ("first/train", "train_step")
TIMED_B = ("second/train", "train_step")


@pytest.fixture(scope="module")
def timed_tb(tmp_path_factory):
    """The demo's nested model written twice (`first`, `second`): its training step profiled in each, so the two
    runs' measured times differ as two real profiles do; `first`'s forward graph (tag `model`) has no profile."""
    logdir = tmp_path_factory.mktemp("timed_logs")
    for name in ("first", "second"):
        source = tmp_path_factory.mktemp(f"timed_{name}")
        write_demo(source, only=["nested_model"], out=io.StringIO())
        shutil.copytree(source / "nested_model", logdir / name)
    tb = TensorBoard(logdir, load_fast=False, name="compare_time")
    tb.start(wait_graphs={TIMED_A: "trace", TIMED_B: "trace", ("first", "model"): "trace"})
    yield tb
    tb.stop()


def test_colour_by_time_while_comparing_paints_the_time_difference(page, timed_tb):
    """Two profiled training steps: each drawn node's value (data-cost) is its `delta.time_us` as the diff route
    gives it with time=1, on the diverging scale; against a graph whose run has no profile the legend says why."""
    r = timed_tb.api("diff", run=TIMED_A[0], tag=TIMED_A[1], run2=TIMED_B[0], tag2=TIMED_B[1], path="", depth=8, time=1)
    assert r.status == 200, r
    union = r.json()["node"]
    deltas = {entry["path"]: (entry.get("delta") or {}).get("time_us") for entry in union_nodes(union)}
    assert any(deltas.values()), "the two profiles time nothing differently: the test shows nothing"
    top_groups = [c["path"] for c in union.get("children", []) if c.get("children")]
    page.goto(compare_url(timed_tb, TIMED_A, TIMED_B, expanded=top_groups))
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    page.select_option('select[name="colour-by"]', "time")
    expect(page.locator("[data-legend]")).to_contain_text("B − A", timeout=DRAW_TIMEOUT)
    expect(page.locator("svg.mg-graph [data-path][data-cost]").first).to_be_attached(timeout=DRAW_TIMEOUT)
    assert_drawn_deltas(page, deltas, lambda cost: cost != 0)
    assert_clean(page)
    # B's run without a profile: no difference of time is known, and the legend says the route's why.
    why = timed_tb.api("diff", run=TIMED_A[0], tag=TIMED_A[1], run2="first", tag2="model", time=1).json()["node"]
    choose_comparison(page, ("first", "model"))
    expect(page.locator("[data-legend]")).to_contain_text(why["time_missing"], timeout=DRAW_TIMEOUT)
    assert page.locator("svg.mg-graph [data-cost]").count() == 0


def test_a_reload_restores_the_comparison_its_folds_and_selection_from_the_address(page, compare_tb):
    """Chosen with the picker, a group opened and a change selected: the address names all of it, and a reload (or
    the link opened afresh) shows the same comparison, open and selected as it was."""
    order = change_order(diff_listing(compare_tb, "", 8))
    page.goto(compare_tb.entry_url(*A))
    expect(page.locator("svg.mg-graph [data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    choose_comparison(page)
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    deepest = max(order, key=lambda p: p.count("/"))
    page.locator(".mg-diff-legend").get_by_role("button", name="Next change").click()
    assert_selected(page, order[0])
    for _ in order[1:order.index(deepest) + 1]:  # (pressed quickly, each press moves on by one change)
        page.keyboard.press("n")
    assert_selected(page, deepest)
    address = page.evaluate("location.hash")
    params = urllib.parse.parse_qs(address.lstrip("#"))
    assert params["compare_run"] == [B[0]] and params["compare_tag"] == [B[1]] and params["selected"] == [deepest]
    for url in (None, page.url):
        if url:
            page.goto("about:blank")
            page.goto(url)
        else:
            page.reload()
        assert_selected(page, deepest)
        expect(page.get_by_label("Compare with run")).to_have_value(B[0])
        expect(page.get_by_label("Compare with tag")).to_have_value(B[1])
        expect(page.locator(".mg-diff-legend")).to_be_visible()
        expect(page.locator(sel("data-tree-path", deepest))).to_have_attribute("data-diff", re.compile(r"^(?!same$)"))
    assert_clean(page)


def test_an_address_comparing_with_a_graph_the_logdir_lacks_says_so_and_shows_the_graph_alone(page, compare_tb):
    page.goto(compare_url(compare_tb, b=("no_such_run", "model")))
    expect(page.locator("svg.mg-graph [data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.get_by_role("alert")).to_contain_text('no graph for run "no_such_run"', timeout=DRAW_TIMEOUT)
    expect(page.get_by_label("Compare with run")).to_have_value("")
    expect(page.locator("[data-diff]")).to_have_count(0)
    assert "compare_run" not in page.evaluate("location.hash")
    assert_clean(page)


def test_inside_tensorboard_its_own_address_restores_the_comparison(page, compare_tb):
    """TensorBoard's address (`#module_graph&run=...&compare_run=...`), as a shared link of its page: the tab opens
    comparing, and what the tab then shows is written back into it."""
    truth = diff_statuses(compare_tb)
    params = {"run": A[0], "tag": A[1], "compare_run": B[0], "compare_tag": B[1]}
    page.goto(f"{compare_tb.url}/#{PLUGIN_NAME}&" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
    frame = page.frame_locator(f'iframe[src*="plugin_entry.html?name={PLUGIN_NAME}"]')
    expect(frame.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    drawn = frame.locator("svg.mg-graph [data-path]").evaluate_all(
        "els => els.map(e => [e.getAttribute('data-path'), e.getAttribute('data-diff')])")
    assert drawn and all(truth[path] == status for path, status in drawn if "[" not in path), drawn
    frame.locator(".mg-diff-legend").get_by_role("button", name="Next change").click()
    first = change_order(diff_listing(compare_tb, "", 8))[0]
    expect(frame.locator(sel("data-tree-path", first))).to_have_attribute("aria-selected", "true", timeout=DRAW_TIMEOUT)
    wait_for(lambda: "selected=" in page.evaluate("location.hash"), timeout=10, what="the selection in TensorBoard's address")
    theirs = urllib.parse.parse_qs(page.evaluate("location.hash").split("&", 1)[1])
    assert theirs["compare_run"] == [B[0]] and theirs["selected"] == [first], theirs
    assert_clean(page)


def test_run_and_tag_chosen_before_the_graph_comes_open_it_once_cleanly(page, compare_tb):
    """The compare picker's run and tag changed while the union tree's first answer is held back (a slow server):
    the second change does not read the tree not come yet (a page error), and the comparison opens."""
    page.goto(compare_tb.entry_url(*A))
    expect(page.locator("svg.mg-graph [data-path]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    held = []
    page.route("**/diff?*", lambda route: held.append(route))
    choose_comparison(page)
    for _ in range(300):  # (Playwright hands over the held requests only while it is asked something)
        if held:
            break
        page.wait_for_timeout(100)
    assert held
    page.get_by_label("Compare with run").select_option("")  # (and back before anything came)
    choose_comparison(page)
    for route in held:
        route.continue_()
    page.unroute("**/diff?*")
    expect(page.locator("svg.mg-graph [data-path][data-diff]").first).to_be_visible(timeout=DRAW_TIMEOUT)
    assert_clean(page)


def box_of(page, selector):
    """The element's box on the page as (left, top, right, bottom), or None while it is not shown."""
    box = page.locator(selector).first.bounding_box()
    return None if box is None or not box["width"] else (box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"])


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size", [(1600, 900), (1280, 720), (1024, 600), (900, 420)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_overview_keeps_apart_from_the_comparison_legend_the_toolbar_and_the_framed_group(page, compare_tb, size):
    """Comparing, with a group opened and selected at a readable zoom (the overview then shows: the graph is larger
    than the view): the overview, the comparison's legend and the toolbar do not overlap, and the overview covers
    no part of the group the view was placed to show."""
    union = diff_listing(compare_tb, "", 8)
    shown = max(union_nodes(union), key=lambda entry: (len({c["diff"] for c in entry.get("children", [])}), -entry["path"].count("/")))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(compare_url(compare_tb, expanded=[*ancestors(shown["path"]), shown["path"]], selected=shown["path"]))
    expect(page.locator("[data-diff-details]")).to_be_visible(timeout=DRAW_TIMEOUT)
    expect(page.locator(".mg-diff-legend")).to_be_visible()
    expect(page.locator("[data-minimap]")).to_be_visible()
    page.wait_for_timeout(400)  # (as the address opens it)
    boxes = {name: box_of(page, selector) for name, selector in
             (("overview", "[data-minimap]"), ("legend", ".mg-diff-legend"), ("toolbar", ".mg-toolbar"),
              ("group", f"svg.mg-graph {sel('data-path', shown['path'])} > .mg-outline"))}
    pane = box_of(page, ".mg-graph-pane")
    assert all(boxes.values()), boxes
    for a, b in (("overview", "legend"), ("overview", "toolbar"), ("legend", "toolbar")):
        assert not overlap(boxes[a], boxes[b]), (a, b, boxes)
    group, overview = boxes["group"], boxes["overview"]
    room = overview[0] - pane[0]
    caption = (group[0], group[1], group[0] + min(200, group[2] - group[0]), group[1] + 28)  # (its header's start)
    if group[2] - group[0] < room:  # (room for it beside the overview: it is placed there)
        assert not overlap(overview, group), boxes
    elif room > 200 + 2 * 24:  # (too wide at a readable zoom: shown from its top left, its caption clear)
        assert not overlap(overview, caption), (caption, boxes)
    assert_clean(page)
