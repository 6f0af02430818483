"""Issue 5, part 3: many requests at once get exactly the answers they get one at a time, and a
graph is parsed once even when many requests ask for it at the same moment.

The cache (`HierarchyCache`) and the plugin's routes are counted in-process (a slow build and
many threads); the answers are compared through real tensorboard processes (both loaders).
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from werkzeug import test as werkzeug_test

from tests.helpers import hostile
from tests.helpers.answers import InProcess, ok_json, parsed_graphs, walk
from tests.helpers.processes import wait_for
from tests.helpers.records import graph_def
from tb_module_plugin.build import sources
from tb_module_plugin.serve.cache import HierarchyCache

THREADS = 48


def run_together(count, target):
    """`target(i)` in `count` threads released at the same moment; their results, in order."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def body(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors.append(e)
            results[i] = e

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "threads still waiting after 60 s: a deadlock"
    return results, errors


# --- the cache ---------------------------------------------------------------------------------
def slow_builds(delay=0.2, fail=False, overlaps=None):
    """(the keys built, in order; build_for(key)). With `overlaps` (a list), each build appends how many builds of
    its key were running when it started, itself included."""
    builds = []
    running: dict = {}
    lock = threading.Lock()

    def build_for(key):
        def build():
            with lock:
                running[key] = running.get(key, 0) + 1
                if overlaps is not None:
                    overlaps.append(running[key])
            builds.append(key)
            try:
                time.sleep(delay)
                if fail:
                    raise RuntimeError(f"build of {key} failed")
                return {"key": key}
            finally:
                with lock:
                    running[key] -= 1
        return build

    return builds, build_for


def test_one_build_for_many_requests_at_once():
    cache = HierarchyCache()
    builds, build_for = slow_builds()
    results, errors = run_together(THREADS, lambda i: cache.get("graph", build_for("graph"), lambda v: 100))
    assert not errors and builds == ["graph"]
    assert all(r is results[0] for r in results)


def test_different_graphs_build_side_by_side_each_once():
    cache = HierarchyCache()
    builds, build_for = slow_builds(delay=0.4)
    keys = [f"graph_{i % 6}" for i in range(THREADS)]
    started = time.monotonic()
    results, errors = run_together(THREADS, lambda i: cache.get(keys[i], build_for(keys[i]), lambda v: 100))
    elapsed = time.monotonic() - started
    assert not errors and sorted(builds) == sorted(set(keys))
    assert [r["key"] for r in results] == keys
    assert elapsed < 6 * 0.4, f"six builds took {elapsed:.1f}s: one graph's build held up the others"


def test_a_failing_build_fails_every_waiter_without_hanging():
    cache = HierarchyCache()
    overlaps = []
    builds, build_for = slow_builds(delay=0.05, fail=True, overlaps=overlaps)
    results, errors = run_together(16, lambda i: cache.get("bad", build_for("bad"), lambda v: 1))
    assert len(errors) == 16 and all(isinstance(e, RuntimeError) and str(e) == "build of bad failed" for e in errors)
    # A failure is not kept (an unexpected error may not last): each waiter, woken by the failure, builds in its
    # turn and gets its own error; never two builds of one graph at once.
    assert len(cache) == 0 and len(builds) == 16
    assert overlaps == [1] * 16, overlaps


def test_a_tiny_cache_under_many_threads_stays_consistent():
    cache = HierarchyCache(max_bytes=250, on_evict=lambda values: None)
    builds, build_for = slow_builds(delay=0.001)
    keys = [f"g{i % 10}" for i in range(200)]

    def ask(i):
        value = cache.get(keys[i], build_for(keys[i]), lambda v: 100)
        assert value["key"] == keys[i]
        assert cache.total_bytes <= cache.max_bytes
        return value

    results, errors = run_together(len(keys), ask)
    assert not errors, errors[:3]
    assert cache.total_bytes == 100 * len(cache) <= 250


# --- the plugin's routes: many requests for one graph parse it once ------------------------------
def test_the_plugin_parses_a_graph_once_for_many_requests(hostile_logdir, monkeypatch):
    plugin = InProcess(hostile_logdir)
    # The start-up head start parses a few graphs of the logdir: over before counting, and what it parsed known.
    assert plugin.plugin.store.prepared.wait(60), "the start-up head start is not over after 60 s"
    already = parsed_graphs(plugin.plugin.store)
    builds = []
    real_build = sources.build_hierarchy

    def counted_build(record, blobs, **options):
        builds.append((record.run, record.tag))
        time.sleep(0.3)  # long enough for every request to arrive while it runs
        return real_build(record, blobs, **options)

    monkeypatch.setattr(sources, "build_hierarchy", counted_build)
    runs = list(hostile.SYNTHETIC)
    app = plugin.client.application

    def ask(i):
        client = werkzeug_test.Client(app)
        route = ["/hierarchy", "/node", "/search"][i % 3]
        response = client.get(route, query_string={"run": runs[i % len(runs)], "tag": hostile.SYNTHETIC_TAG,
                                                    "q": "block_1", "depth": 2})
        return route, runs[i % len(runs)], response.status_code, response.get_data()

    results, errors = run_together(THREADS, ask)
    assert not errors, errors[:3]
    asked = sorted((run, hostile.SYNTHETIC_TAG) for run in runs if (run, hostile.SYNTHETIC_TAG) not in already)
    assert asked and sorted(builds) == asked, (builds, asked)
    answers = {}
    for route, run, status, body in results:
        assert status == 200, body[:300]
        answers.setdefault((route, run), set()).add(body)
    assert all(len(bodies) == 1 for bodies in answers.values())


# --- through tensorboard: concurrent answers are the serial answers ------------------------------
GRAPHS = [(run, hostile.SYNTHETIC_TAG) for run in hostile.SYNTHETIC] + [
    (hostile.HOSTILE_RUN, "recursion"), (hostile.HOSTILE_RUN, "deep_scopes"), (hostile.MARKUP_RUN, hostile.MARKUP_TAG),
    (hostile.HOSTILE_RUN, "random_bytes"), (hostile.HOSTILE_RUN, "keras_odd_layers"), ("no_such_run", "x")]
QUERIES = ["block_1", "MatMul", "layer_2/block", "a"]


def first_requests():
    """What a page asks first for every graph (no path known yet): the graphs are built during these."""
    requests = [("graphs", {})]
    for run, tag in GRAPHS:
        for depth in range(4):
            requests.append(("hierarchy", {"run": run, "tag": tag, "depth": depth}))
        requests.append(("node", {"run": run, "tag": tag}))
        for q in QUERIES:
            requests.append(("search", {"run": run, "tag": tag, "q": q, "limit": 20}))
        requests.append(("search", {"run": run, "tag": tag, "q": "block_[13]$", "regex": 1}))
    return requests


def deeper_requests(tb):
    """Requests for the nodes a person would open next, found by asking (one at a time)."""
    requests = []
    for run, tag in GRAPHS:
        response = tb.api("hierarchy", run=run, tag=tag, depth=2)
        if response.status != 200:
            continue
        for node, _ in list(walk(response.json()["node"]))[:12]:
            requests.append(("node", {"run": run, "tag": tag, "path": node["path"]}))
            if node["kind"] != "op":
                requests.append(("hierarchy", {"run": run, "tag": tag, "path": node["path"], "depth": 1}))
    return requests


def answer(tb, request):
    route, params = request
    response = tb.api(route, **params)
    assert response.status < 500, (request, response)
    return response.status, response.headers.get("Content-Type"), response.body


def storm(tb, requests, repeat):
    """Every request `repeat` times, in an interleaved order, from a pool of THREADS threads."""
    order = [requests[(i * 7919) % len(requests)] for i in range(len(requests))] * repeat
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(answer, tb, request) for request in order]
        return order, [f.result(timeout=120) for f in futures]


def test_concurrent_answers_are_the_serial_answers(hostile_tb, hostile_servers):
    """The serial answers come from the Python loader's server: for it, the same server; for the Rust
    data server, a server tests/test_load_fast.py shows answers byte for byte the same (asking the Rust
    one request at a time takes 100 ms each, latency rather than work)."""
    reference = hostile_servers["python"]
    started = time.monotonic()
    listed_alike = lambda: reference.api("graphs").body == hostile_tb.api("graphs").body  # noqa: E731
    wait_for(listed_alike, timeout=30, what="both servers listing the same graphs")  # other tests change runs
    first = first_requests()
    order, answers = storm(hostile_tb, first, repeat=2)  # cold: graphs are parsed while these run
    deeper = deeper_requests(hostile_tb)
    order2, answers2 = storm(hostile_tb, first + deeper, repeat=1)
    assert listed_alike()
    serial = {json.dumps(r, sort_keys=True): answer(reference, r) for r in first + deeper}
    total = len(order) + len(order2)
    assert total >= 300, total
    mismatches = [(request, got[0], serial[json.dumps(request, sort_keys=True)][0])
                  for request, got in zip(order + order2, answers + answers2)
                  if got != serial[json.dumps(request, sort_keys=True)]]
    assert not mismatches, f"{len(mismatches)} of {total} concurrent answers differ from the serial ones: " \
                           f"{mismatches[:5]}"
    statuses = {status for status, _, _ in serial.values()}
    assert {200, 404, 422} <= statuses, statuses
    assert ok_json(hostile_tb.api("graphs"))  # still up
    assert time.monotonic() - started < 120


def test_an_expansion_does_not_wait_for_the_costs_once_the_edges_are_filed():
    """Counting a big graph's FLOPs in the background holds the lock that filing the edges takes (seconds on a
    200,000-op graph): a group's answer asked meanwhile, once the edges are filed, does not wait for it."""
    from tb_module_plugin.serve import answers
    from tb_module_plugin.build import builder as build_lib
    from tb_module_plugin.readers import graph as graph_lib

    g = graph_def([("x", "Placeholder", []), ("m/a/mul", "Mul", ["x", "x"]), ("m/b/neg", "Neg", ["m/a/mul"])],
                          (), types=False)
    h = build_lib.build_graph_hierarchy(graph_lib.FlatGraph(graph_lib.flatten_graph_def(g), [], []), "t")
    h.file_edges()
    group = h.root.children["m"]
    counting, done = threading.Event(), threading.Event()

    def count_costs():  # (as Hierarchy.count_costs holds it while Costs are made)
        with h.lock:
            counting.set()
            done.wait(30)

    worker = threading.Thread(target=count_costs)
    worker.start()
    try:
        assert counting.wait(10)
        answered = []
        asking = threading.Thread(target=lambda: answered.append(answers.hierarchy_node(h, group, 1)))
        asking.start()
        asking.join(5)
        assert answered and [c["name"] for c in answered[0]["children"]] == ["a", "b"], answered
    finally:
        done.set()
        worker.join()
