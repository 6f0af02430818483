"""Issue 5, part 4: parsed graphs live in a cache bounded in bytes, set by the flag
`--module_graph_cache_mb` (the plugin is its own TBLoader, which is how a plugin named by an
entry point gets a flag); opening more graphs than fit keeps memory under the bound."""

import argparse
import gc
import os
import random
import weakref
from importlib import metadata

import pytest
from tensorboard import program
from tensorboard.backend import application
from tensorboard.compat.proto import graph_pb2, types_pb2
from tensorboard.plugins import base_plugin

from tests.helpers.answers import InProcess, ok_json
from tb_module_plugin.build import sources
from tb_module_plugin.serve.cache import DEFAULT_MAX_BYTES, HierarchyCache
from tb_module_plugin.serve.plugin import ModuleGraphPlugin
from tb_module_plugin.tree.node import TreeNode

MB = 2**20


# --- the cache ----------------------------------------------------------------------------------
def sized(cache, key, nbytes, built=None):
    """cache.get of a value that says its size; `built` collects the keys actually built."""
    def build():
        if built is not None:
            built.append(key)
        return {"key": key, "bytes": nbytes}

    return cache.get(key, build, lambda value: value["bytes"])


def test_least_recently_used_goes_first():
    cache = HierarchyCache(max_bytes=100, on_evict=lambda values: None)  # (a full collection per eviction: seconds here)
    for key in "abc":
        sized(cache, key, 30)
    sized(cache, "a", 30)  # a is used again: b is now the oldest
    sized(cache, "d", 30)
    assert list(cache._entries) == ["c", "a", "d"] and cache.total_bytes == 90
    sized(cache, "e", 50)
    assert list(cache._entries) == ["d", "e"] and cache.total_bytes == 80
    built = []
    sized(cache, "b", 30, built)  # evicted: built again
    sized(cache, "e", 50, built)  # kept: not built
    assert built == ["b"]


def test_total_stays_under_the_bound_whatever_the_order():
    rng = random.Random(3)
    cache = HierarchyCache(max_bytes=1000, on_evict=lambda values: None)  # no collection after each of 2,000 evictions
    sizes = {key: rng.randint(1, 400) for key in range(40)}
    for _ in range(2000):
        key = rng.randrange(40)
        assert sized(cache, key, sizes[key])["key"] == key
        assert cache.total_bytes <= cache.max_bytes
        assert cache.total_bytes == sum(sizes[k] for k in cache._entries)


def test_a_graph_larger_than_the_bound_is_kept_alone():
    """It must be served; everything else makes room, and it goes at the next graph."""
    cache = HierarchyCache(max_bytes=100, on_evict=lambda values: None)
    sized(cache, "small", 10)
    sized(cache, "huge", 500)
    assert list(cache._entries) == ["huge"] and cache.total_bytes == 500
    sized(cache, "small", 10)
    assert list(cache._entries) == ["small"] and cache.total_bytes == 10


def test_an_evicted_graph_is_freed_at_once():
    """Hierarchies are reference cycles: without a collection when the cache drops one, it stayed in
    memory until Python's next full collection, which in TensorBoard's process is rare."""
    class Tree:
        def __init__(self):
            self.parent = self  # a cycle, as node.parent / parent.children make

    cache = HierarchyCache(max_bytes=10)
    first = Tree()
    alive = weakref.ref(first)
    cache.get("first", lambda: first, lambda value: 10)
    del first
    gc.freeze()  # as sources.build_hierarchy leaves every tree it built: out of the collector's sight
    gc.disable()  # as far as the cache can tell, the collector may not run for hours
    try:
        cache.get("second", Tree, lambda value: 10)
    finally:
        gc.enable()
    assert alive() is None, "the evicted graph is still in memory"


def looping_graph(ops):
    """A run graph of `ops` ops in scopes, whose last op feeds the first (a TF1 loop's NextIteration does so):
    cycles through the ops' inputs as well as through the tree's parents."""
    g = graph_pb2.GraphDef()
    for i in range(ops):
        g.node.add(name=f"model/block_{i % 7}/op_{i}", op="Identity",
                   input=[f"model/block_{(i - 1) % 7}/op_{(i - 1) % ops}"])
    return g


def test_an_evicted_hierarchy_is_freed_without_the_cycle_collector():
    """The cache used to free a dropped graph by a full collection, which walks every live object of the process:
    1.1 s on the request that opened a million-op graph after a small one. A hierarchy now breaks its own cycles
    once no one holds it; the collector, asked afterwards, finds nothing of it. One still in use (a request
    answering from it) stays whole until it is let go."""
    from tb_module_plugin.serve import answers, search
    from tb_module_plugin.serve.settle import settle

    record = sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs")
    blob = looping_graph(3000).SerializeToString()
    gc.collect()
    gc.disable()
    try:
        held = sources.build_hierarchy(record, [blob])  # (frozen by the build, as in TensorBoard)
        settle(held)  # every later stage's state on it too: edges, structures, costs, search index
        search.search(held, "op_1", regex=False, limit=10)
        nodes = len(held.all_nodes)
        cache = HierarchyCache(max_bytes=10)
        cache.get("held", lambda: held, lambda value: 10)
        alive = weakref.ref(held)
        cache.get("next", lambda: sources.build_hierarchy(record, [looping_graph(5).SerializeToString()]),
                  lambda value: 10)  # drops `held`, which this test still holds
        block = held.find("model/block_3")
        assert block.parent.parent is held.root and answers.node_json(held, "model/block_3", 1)["path"] == "model/block_3"
        del held, block
        assert alive() is None, "the evicted graph is still in memory"
        gc.unfreeze()
        gc.set_debug(gc.DEBUG_SAVEALL)  # (what the collector finds is kept in gc.garbage to be looked at)
        gc.collect()
        left = sum(isinstance(o, TreeNode) for o in gc.garbage)
        assert not left, f"the collector found {left} of the {nodes} nodes left in cycles"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.freeze()
        gc.enable()


def test_the_work_after_a_first_answer_stops_when_the_cache_drops_the_graph():
    """The background work waits for the graph's first answer (at most ANSWERS_FIRST_SECONDS): a graph the first view
    parsed, or one dropped before anyone asked, kept its tree for those seconds, and then worked for nothing. Dropped,
    it stops at once."""
    import threading
    import time

    from tb_module_plugin.serve.settle import settle
    from tb_module_plugin.tree.turns import ANSWERS_FIRST_SECONDS

    record = sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs")
    h = sources.build_hierarchy(record, [looping_graph(300).SerializeToString()])
    worker = threading.Thread(target=settle, args=(h,), kwargs={"after_an_answer": True})
    started = time.monotonic()
    worker.start()
    h.free_when_dropped()
    worker.join(ANSWERS_FIRST_SECONDS * 2)
    assert not worker.is_alive() and time.monotonic() - started < ANSWERS_FIRST_SECONDS / 2
    assert h.costs is None and not h.edges_filed()  # (nothing done for a graph no one will read)


def test_a_remembered_error_keeps_no_frames_and_is_dropped_without_a_collection(monkeypatch):
    """A record that does not read is remembered as its error: the error as raised kept the frames of the parse (and
    the record's bytes in them), and each raise of it added a traceback, and a reference cycle, to it."""
    from tb_module_plugin.errors import GraphError
    from tb_module_plugin.serve import cache as cache_lib

    record = sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs")
    with pytest.raises(GraphError) as raised:
        sources.build_hierarchy(record, [b"\xff not a GraphDef"])
    assert raised.value.__traceback__ is not None
    kept = cache_lib.remembered_error(raised.value)
    assert type(kept) is GraphError and str(kept) == str(raised.value)
    assert kept.__traceback__ is None and kept.__context__ is None
    for _ in range(2):
        with pytest.raises(GraphError):
            raise cache_lib.remembered_error(kept)
    assert kept.__traceback__ is None
    monkeypatch.setattr(cache_lib.gc, "collect", lambda: pytest.fail("a full collection for an error"))
    cache_lib.free_evicted([kept])


def test_the_estimate_counts_the_parsed_record():
    """A graph's ops keep their NodeDefs and so the whole parsed record: a run graph holding 8 MB
    of constants weighs at least 8 MB (it was counted as 5 kB, so the bound held thousands)."""
    blob = big_graph("model", megabytes=8).SerializeToString()
    record = sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs")
    hierarchy = sources.build_hierarchy(record, [blob])
    assert hierarchy.estimated_bytes() >= len(blob) >= 8 * MB


def test_a_consumed_run_graph_blob_is_let_go_once_parsed():
    """The store hands its blobs over (consume): the run graph's goes once parsed, before its ops are made (the
    million-op graph's 179 MB copy was kept to the build's end); a caller keeping its blobs keeps them whole. Both
    count the record alike and answer alike."""
    blob = big_graph("model", megabytes=1).SerializeToString()
    record = sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs")
    kept = [blob]
    held = sources.build_hierarchy(record, kept)
    handed = [bytes(bytearray(blob))]  # (a copy of its own, as TensorBoard's read_blob hands one)
    consumed = sources.build_hierarchy(record, handed, consume=True)
    assert kept == [blob] and handed == []
    assert consumed.record_bytes == held.record_bytes == len(blob)
    assert [n.path for n in consumed.all_nodes] == [n.path for n in held.all_nodes]


# --- the flag -------------------------------------------------------------------------------------
def test_the_entry_point_names_the_plugin_which_is_its_own_loader():
    entry = {e.name: e for e in metadata.entry_points(group="tensorboard_plugins")}["module_graph"]
    assert entry.value == "tb_module_plugin.serve.plugin:ModuleGraphPlugin"
    loader = application.make_plugin_loader(entry.load())
    assert isinstance(loader, ModuleGraphPlugin) and isinstance(loader, base_plugin.TBLoader)
    context = base_plugin.TBContext(data_provider=None, flags=argparse.Namespace(module_graph_cache_mb=3))
    plugin = loader.load(context)
    assert isinstance(plugin, ModuleGraphPlugin) and plugin.store.cache.max_bytes == 3 * MB


@pytest.mark.parametrize("argv,expected", [([], DEFAULT_MAX_BYTES), (["--module_graph_cache_mb", "5"], 5 * MB),
                                           (["--module_graph_cache_mb=0.5"], MB // 2)])
def test_the_flag_sets_the_bound(tmp_path, argv, expected):
    tb = program.TensorBoard(plugins=[ModuleGraphPlugin])
    tb.configure(argv=["", *argv])
    [loader] = tb.plugin_loaders
    plugin = loader.load(base_plugin.TBContext(data_provider=None, flags=tb.flags, logdir=str(tmp_path)))
    assert plugin.store.cache.max_bytes == expected


@pytest.mark.parametrize("value", ["0", "-3", "nan"])
def test_the_flag_refuses_what_is_not_a_size(tmp_path, value):
    tb = program.TensorBoard(plugins=[ModuleGraphPlugin])
    with pytest.raises(base_plugin.FlagsError, match="module_graph_cache_mb"):
        tb.configure(argv=["", "--module_graph_cache_mb", value])


def test_a_plugin_without_flags_gets_the_default(tmp_path):
    """Made by TensorBoard's BasicLoader or by hand (context.flags is None)."""
    plugin = ModuleGraphPlugin(base_plugin.TBContext(data_provider=None))
    assert plugin.store.cache.max_bytes == DEFAULT_MAX_BYTES


# --- memory ---------------------------------------------------------------------------------------
GRAPHS = 8
GRAPH_MB = 8
BOUND_MB = 12
MARGIN_MB = 20


def big_graph(scope, megabytes):
    """A run graph whose two Consts hold `megabytes` of (incompressible) weights, as frozen graphs do."""
    g = graph_pb2.GraphDef()
    rng = random.Random(scope)
    for i in range(2):
        node = g.node.add(name=f"{scope}/weights_{i}", op="Const")
        node.attr["dtype"].type = types_pb2.DT_FLOAT
        tensor = node.attr["value"].tensor
        tensor.dtype = types_pb2.DT_FLOAT
        tensor.tensor_shape.dim.add(size=megabytes * MB // 8)
        tensor.tensor_content = rng.randbytes(megabytes * MB // 2)
    g.node.add(name=f"{scope}/MatMul", op="MatMul", input=[f"{scope}/weights_0", f"{scope}/weights_1"])
    return g


def resident_bytes():
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"/proc/{os.getpid()}/status has no VmRSS line")


# Resident memory is read from /proc: where there is none, the test cannot measure, decided before it starts.
@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/status"), reason="no /proc/<pid>/status here")
@pytest.mark.live  # (seconds of writing and opening graphs to measure a process)
def test_opening_more_graphs_than_fit_keeps_memory_under_the_bound(tmp_path):
    # (TensorFlow's writer: RawWriter's pure-Python CRC takes 0.4 s a megabyte; imported here, not at collection)
    from tests.helpers.processes import run_python
    from tests.helpers.traces import write_run_graph

    for i in range(GRAPHS):
        write_run_graph(str(tmp_path / f"frozen_{i}"), big_graph(f"model_{i}", GRAPH_MB))
    # Measured in a process of its own, as TensorBoard's is: what the tests before this one left in this process
    # (TensorFlow's objects, the allocator's pools) would move its resident memory by more than the margin.
    out = run_python(f"from tests.test_memory import resident_growth; print(resident_growth({str(tmp_path)!r}))")
    grown = int(out.strip().splitlines()[-1])
    assert grown < (BOUND_MB + MARGIN_MB) * MB, (
        f"{GRAPHS} graphs of {GRAPH_MB} MB opened with a {BOUND_MB} MB bound: resident memory grew by "
        f"{grown / MB:.0f} MB")


def resident_growth(logdir) -> int:
    """How much the resident memory of this process grows while GRAPHS graphs are opened under a BOUND_MB cache,
    after the first two (what one open graph and the allocator's pools take)."""
    from tensorflow import summary  # noqa: F401  (TensorFlow imported, as in TensorBoard's process)

    plugin = InProcess(logdir, flags=argparse.Namespace(module_graph_cache_mb=BOUND_MB))
    cache = plugin.plugin.store.cache

    def open_graph(i):  # no gc.collect() here: freeing what the cache drops is the plugin's business
        root = ok_json(plugin.api("hierarchy", run=f"frozen_{i}", tag=sources.RUN_GRAPH_TAG))["node"]
        assert root["num_ops"] == 3
        assert cache.total_bytes <= cache.max_bytes or len(cache) == 1

    # In TensorBoard's process (TensorFlow imported: millions of objects) Python's full collections are
    # rare; here they would run by chance. Without them, only what the plugin frees is freed.
    gc.disable()
    try:
        for i in range(2):
            open_graph(i)
        before = resident_bytes()
        for i in range(GRAPHS):
            open_graph(i)
        return resident_bytes() - before
    finally:
        gc.enable()
