"""Issue 5, part 6: TensorBoard's Rust data server (`--load_fast=true`) and its Python loader
give the plugin the same records, so every route answers byte for byte the same: for every
graph of the demo logdir (live_logdir) and of the hostile one, at the root and at the nodes a
person opens next, for search, errors and the bundle."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.answers import walk
from tests.helpers.processes import wait_for

# (its servers are fixtures asked for by name, which conftest's NEEDS cannot see)
pytestmark = pytest.mark.live

FULL_DEPTH_MAX_OPS = 3000


@pytest.fixture(params=["live", "hostile"])
def servers(request):
    """(Python loader, Rust data server, paths to open per graph) over the same logdir."""
    if request.param == "live":
        return request.getfixturevalue("tensorboard"), request.getfixturevalue("tensorboard_fast"), 8
    hostile = request.getfixturevalue("hostile_servers")
    return hostile["python"], hostile["rust"], 3  # the hostile graphs are many and small


def same(slow, fast, route, **params):
    """Both servers' answers to one request, required identical; the Python loader's answer."""
    a, b = slow.api(route, **params), fast.api(route, **params)
    assert a.status < 500, (route, params, a)
    assert (a.status, a.headers.get("Content-Type"), a.body) == (b.status, b.headers.get("Content-Type"), b.body), (
        f"{route} {params}: load_fast=false gave {a!r}, load_fast=true gave {b!r}")
    return a


def requests_for(slow, run, tag, paths):
    """The requests a person's page makes for one graph: the root, what it opens, details, search."""
    root = slow.api("hierarchy", run=run, tag=tag, depth=2)
    yield "hierarchy", {"run": run, "tag": tag, "depth": 2}
    if root.status != 200:  # an error: the same on every route (tests/test_hostile_inputs.py)
        return
    yield "node", {"run": run, "tag": tag}
    for q, regex in (("block", 0), ("^[a-m].*_[0-9]+$", 1)):
        yield "search", {"run": run, "tag": tag, "q": q, "regex": regex, "limit": 100}
    node = root.json()["node"]
    if node["num_ops"] <= FULL_DEPTH_MAX_OPS:
        yield "hierarchy", {"run": run, "tag": tag, "depth": 8}
    for child, _ in list(walk(node))[1:paths + 1]:
        yield "node", {"run": run, "tag": tag, "path": child["path"]}
        if child["kind"] != "op":
            yield "hierarchy", {"run": run, "tag": tag, "path": child["path"], "depth": 1}


def test_every_route_answers_the_same(servers):
    slow, fast, paths = servers
    # Other tests add and delete runs in the hostile logdir: let both loaders catch up first.
    wait_for(lambda: slow.api("graphs").body == fast.api("graphs").body, timeout=30,
             what="both loaders listing the same graphs")
    graphs = same(slow, fast, "graphs").json()["graphs"]
    assert graphs
    requests = [request for g in graphs for request in requests_for(slow, g["run"], g["tag"], paths)]
    with ThreadPoolExecutor(max_workers=8) as pool:  # the Rust data server's answers take latency, not work
        for future in [pool.submit(same, slow, fast, route, **params) for route, params in requests]:
            future.result(timeout=120)
    compared = len(requests)
    for route, params in [("hierarchy", {"run": "no_such_run", "tag": "x"}), ("hierarchy", {"tag": "x"}),
                          ("search", {"run": graphs[0]["run"], "tag": graphs[0]["tag"], "q": "(", "regex": 1}),
                          ("node", {"run": graphs[0]["run"], "tag": graphs[0]["tag"], "path": "no/such/path"}),
                          ("hierarchy", {"run": graphs[0]["run"], "tag": graphs[0]["tag"], "depth": "x"})]:
        assert same(slow, fast, route, **params).status in (400, 404)
    for static in ("index.js", "static/style.css", "static/layout-worker.js", "static/../plugin.py"):
        same(slow, fast, static)
    assert compared >= 2 * len(graphs), compared


def test_the_tab_is_listed_the_same(servers):
    slow, fast, _ = servers
    assert slow.get("/data/plugins_listing").json()["module_graph"] == \
        fast.get("/data/plugins_listing").json()["module_graph"]
