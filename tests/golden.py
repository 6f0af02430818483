"""Golden answers: a hash of every answer the API gives for a set of graphs, to hold them byte for byte.

    python tests/golden.py --write    # hash the answers of every graph available and write tests/golden.json
    python tests/golden.py            # compare with tests/golden.json (what tests/test_golden.py does)

The graphs: the demo's (written here with real TensorFlow), the ResNet50 training step the tests cache, every
record of tests/hostile.py (and the event files cut mid-record), and, where `make bench` has written them
(`.cache/bench/`), the benchmark's big graphs. For each: the `hierarchy` answer of every group at depth 1 and of
the root at every depth, the `node` answer of every node, and searches (plain and regular expressions), each
serialized as the plugin serializes it. A change to the engine that is meant to leave answers alone must leave
these hashes alone; one that changes answers on purpose rewrites the file (`--write`) in the same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import support  # noqa: E402

GOLDEN = HERE / "golden.json"
QUERIES = [("a", False), ("dense", False), ("Cast", False), ("MatMul", False), ("block", False), ("x", False),
           ("/", False), ("é", False), ("^res.*conv", True), (r"_\d+$", True), ("[Aa]dd", True), ("(x|y)z?", True)]
# Graphs with more nodes than this answer `node` for a sample of them and `hierarchy` for groups this shallow.
BIG = 20_000
BIG_DEPTH = 3


def answer_hashes(hierarchy) -> dict:
    """{route: sha256 of its answers, in order} for one built graph (settled, as the plugin serves it)."""
    hierarchy.settle()
    nodes = hierarchy.all_nodes
    big = len(nodes) > BIG
    groups = [n for n in nodes if n.children is not None and (not big or n.depth <= BIG_DEPTH)]
    detailed = nodes[::max(1, len(nodes) // 2000)] if big else nodes
    digests = {}
    h = hashlib.sha256()
    for depth in range(0, 4 if big else 9):
        h.update(_serialize({"node": hierarchy.node_json("", depth)}))
    for group in groups:
        h.update(_serialize({"node": hierarchy.node_json(group.path, 1)}))
    digests["hierarchy"] = h.hexdigest()
    h = hashlib.sha256()
    for node in detailed:
        h.update(_serialize({"node": hierarchy.details_json(node.path)}))
    digests["node"] = h.hexdigest()
    h = hashlib.sha256()
    for query, regex in QUERIES:
        h.update(_serialize(hierarchy.search(query, regex, 500)))
    digests["search"] = h.hexdigest()
    return digests


def _serialize(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")  # as plugin._json does


def _hierarchies(logdir: Path, prefix: str) -> dict:
    """{"<prefix>:<run>/<tag>": hashes or the error} for every graph of a logdir, read as the plugin reads it."""
    from tensorboard import context

    from tb_module_plugin import cli, sources
    from tb_module_plugin.graph import GraphError

    provider = cli.logdir_data_provider(str(logdir))
    ctx = context.RequestContext()
    out = {}
    for record in sources.list_graphs(provider, ctx, ""):
        key = f"{prefix}:{record.run}/{record.tag}"
        try:
            blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
            out[key] = answer_hashes(sources.build_hierarchy(record, blobs))
        except (GraphError, sources.RecordNotFound) as e:
            out[key] = {"error": hashlib.sha256(str(e).encode()).hexdigest()}
    return out


def collect(demo_logdir=None, resnet_logdir=None, bench: bool = True) -> dict:
    """The hashes of every graph available (the demo written into a temporary folder when none is given)."""
    import hostile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if demo_logdir is None:
            demo_logdir = tmp / "demo"
            support.write_demo(demo_logdir, skip_resnet=True)
        out.update(_hierarchies(Path(demo_logdir), "demo"))
        if resnet_logdir is not None:
            out.update(_hierarchies(Path(resnet_logdir), "resnet"))
        hostile_logdir = tmp / "hostile"
        hostile.write_hostile_logdir(hostile_logdir)
        hostile.write_cut_runs(hostile_logdir)
        hostile.write_synthetic_runs(hostile_logdir)
        out.update(_hierarchies(hostile_logdir, "hostile"))
    bench_dir = support.CACHE_DIR / "bench"
    if bench and bench_dir.is_dir():
        for done in sorted(bench_dir.glob("*/.complete")):
            out.update(_hierarchies(done.parent / done.parent.name, f"bench-{done.parent.name}"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write tests/golden.json from the answers now")
    args = parser.parse_args(argv)
    from conftest import RESNET_RUN, _resnet_cache_key

    resnet = support.cached_logdir("resnet50", _resnet_cache_key(),
                                   lambda tmp: support.write_demo(tmp, skip_resnet=False, only=[RESNET_RUN]))
    found = collect(resnet_logdir=resnet)
    if args.write:
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {len(found)} graphs' hashes to {GOLDEN}")
        return 0
    golden = json.loads(GOLDEN.read_text())
    differ = sorted(k for k in found if k in golden and found[k] != golden[k])
    missing = sorted(set(golden) - set(found))
    print(f"{len(found)} graphs compared; {len(differ)} differ: {differ[:20]}; not here: {missing[:20]}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
