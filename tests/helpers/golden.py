"""Golden answers: every answer the API gives for a set of graphs, stored readably, to hold them exactly.

    python -m tests.helpers.golden --write    # record the answers of every graph available into tests/golden.json
    python -m tests.helpers.golden            # compare with tests/golden.json (what tests/test_golden.py does)

The graphs: the demo's (written here with real TensorFlow), the ResNet50 training step the tests cache, every
record of tests/helpers/hostile.py (and the event files cut mid-record), and, where `make bench` has written them
(`.cache/bench/`), the benchmark's big graphs. For each: the `hierarchy` answer of every group at depth 1 and of
the root at every depth, the `node` answer of every node, and searches (plain and regular expressions).

Each answer is taken apart into the tree nodes it describes: one entry per node path, one field per value
(`hierarchy.num_ops`, `node.inputs`, `hierarchy.repeat.count`), and one per search. A small graph's entries are
stored in full; a big graph's (more than SMALL_NODES nodes) as a summary: for each node at most SUMMARY_DEPTH deep,
each field's digest over that node and every node below it. Either way a difference names the graph, the path and
the field (differences()). A change to the engine meant to leave answers alone must leave this file alone; one
that changes answers on purpose rewrites it (`--write`) in the same commit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from tests.helpers import hostile
from tests.helpers.processes import CACHE_DIR, REPO
from tests.helpers.records import cached_resnet_logdir, write_demo
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.serve import search as search_lib
from tb_module_plugin.serve.settle import settle

GOLDEN = REPO / "tests" / "golden.json"
QUERIES = [("a", False), ("dense", False), ("Cast", False), ("MatMul", False), ("block", False), ("x", False),
           ("/", False), ("é", False), ("^res.*conv", True), (r"_\d+$", True), ("[Aa]dd", True), ("(x|y)z?", True)]
# Graphs with more nodes than this answer `node` for a sample of them and `hierarchy` for groups this shallow.
BIG = 20_000
BIG_DEPTH = 3
SMALL_NODES = 120  # graphs with at most this many nodes and SMALL_BYTES of answers are stored in full
SMALL_BYTES = 60_000  # (a few nodes named with 5,000 characters make a big graph too)
SUMMARY_DEPTH = 2  # a big graph's summary: entries of nodes this deep, each covering the nodes below it
WHOLE = {"attrs", "op_types"}  # dicts of an answer kept as one value (keyed by attribute names, op types)
SEARCH = "search "  # entries of searches: "search 'a'", "search /[Aa]dd/" (not node paths: those hold no space first)


def graph_record(hierarchy, small_nodes: int = SMALL_NODES) -> dict:
    """The golden record of one built graph (settled, as the plugin serves it): {"answers": {path: {field:
    value}}} in full, or for a big graph {"nodes": count, "summary": {path: {field: digest}}}."""
    entries = answer_entries(hierarchy)
    if len(hierarchy.all_nodes) <= small_nodes and len(json.dumps(entries, ensure_ascii=False)) <= SMALL_BYTES:
        return {"answers": entries}
    return {"nodes": len(hierarchy.all_nodes), "summary": summarize(entries)}


def answer_entries(hierarchy) -> dict:
    """{node path or search: {field: value}} from every answer of the graph, each value once."""
    settle(hierarchy)
    nodes = hierarchy.all_nodes
    big = len(nodes) > BIG
    groups = [n for n in nodes if n.children is not None and (not big or n.depth <= BIG_DEPTH)]
    detailed = nodes[::max(1, len(nodes) // 2000)] if big else nodes
    entries: dict = {}
    for depth in range(0, 4 if big else 9):
        _take(entries, "hierarchy", f"depth={depth}", answers_lib.node_json(hierarchy, "", depth))
    for group in groups:
        _take(entries, "hierarchy", f"path={group.path}", answers_lib.node_json(hierarchy, group.path, 1))
    for node in detailed:
        _take(entries, "node", f"path={node.path}", answers_lib.details_json(hierarchy, node.path))
    for query, regex in QUERIES:
        found = search_lib.search(hierarchy, query, regex, 500)
        entries[SEARCH + (f"/{query}/" if regex else repr(query))] = {"matches": found["matches"],
                                                                       "truncated": found["truncated"]}
    return entries


def _take(entries: dict, route: str, asked: str, answer: dict) -> None:
    """Each tree node an answer describes (itself, its children...) into its path's entry, field by field."""
    stack = [answer]
    while stack:
        node = stack.pop()
        fields = {}
        _flatten(node, route, fields, stack)
        entry = entries.setdefault(node["path"], {})
        for field, value in fields.items():
            if field in entry and entry[field] != value:  # two answers disagree on one node: keep both
                field = f"{field} (as {route} {asked} says)"
            entry[field] = value


def _flatten(value: dict, prefix: str, fields: dict, nodes: list) -> None:
    for key, item in value.items():
        if key == "path" and prefix in ("hierarchy", "node"):
            continue
        if key == "children" and isinstance(item, list):
            fields[f"{prefix}.children"] = [child["name"] for child in item]
            nodes.extend(item)
        elif isinstance(item, dict) and key not in WHOLE:
            _flatten(item, f"{prefix}.{key}", fields, nodes)
        else:
            fields[f"{prefix}.{key}"] = item


def summarize(entries: dict) -> dict:
    """{path at most SUMMARY_DEPTH deep (or search): {field: digest of its values there and below}}."""
    folded: dict = {}
    for path, fields in entries.items():
        top = path if path.startswith(SEARCH) else "/".join(path.split("/")[:SUMMARY_DEPTH])
        for field, value in fields.items():
            folded.setdefault(top, {}).setdefault(field, []).append((path, value))
    return {top: {field: _digest(sorted(values, key=lambda pv: pv[0])) for field, values in fields.items()}
            for top, fields in folded.items()}


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:12]


def differences(found: dict, golden: dict) -> list:
    """One line per graph, path and field whose answer differs from the golden one."""
    lines = []
    for graph in sorted(set(found) | set(golden)):
        if graph not in golden or graph not in found:
            lines.append(f"{graph}: {'not in golden.json' if graph not in golden else 'in golden.json, not found now'}")
            continue
        old, new = golden[graph], found[graph]
        if old == new:
            continue
        kinds = (sorted(old), sorted(new))
        if kinds[0] != kinds[1]:
            lines.append(f"{graph}: golden.json holds {kinds[0]}, the answers now {kinds[1]}: "
                         f"{_short(old)} -> {_short(new)}")
            continue
        if "error" in old:
            lines.append(f"{graph}: error was {old['error']!r}, now {new['error']!r}")
            continue
        key = "answers" if "answers" in old else "summary"
        if old.get("nodes") != new.get("nodes"):
            lines.append(f"{graph}: {old.get('nodes')} nodes, now {new.get('nodes')}")
        before, after = old[key], new[key]
        for path in sorted(set(before) | set(after)):
            if path not in before or path not in after:
                lines.append(f"{graph} | path {path!r}: {'new' if path not in before else 'gone'}")
                continue
            for field in sorted(set(before[path]) | set(after[path])):
                was, now = before[path].get(field, "(none)"), after[path].get(field, "(none)")
                if was != now:
                    where = "path" if key == "answers" else "at or below path"
                    lines.append(f"{graph} | {where} {path!r} | field {field}: {_short(was)} -> {_short(now)}")
    return lines


def _short(value, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def _hierarchies(logdir: Path, prefix: str) -> dict:
    """{"<prefix>:<run>/<tag>": its graph_record, or {"error": message}} for every graph of a logdir, read as the
    plugin reads it."""
    from tensorboard import context

    from tb_module_plugin.cli import main as cli
    from tb_module_plugin.build import sources
    from tb_module_plugin.errors import GraphError

    provider = cli.logdir_data_provider(str(logdir))
    ctx = context.RequestContext()
    out = {}
    for record in sources.list_graphs(provider, ctx, ""):
        key = f"{prefix}:{record.run}/{record.tag}"
        try:
            blobs = sources.read_blobs(provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record))
            out[key] = graph_record(sources.build_hierarchy(record, blobs))
        except (GraphError, sources.RecordNotFound) as e:
            out[key] = {"error": str(e)}
    return out


def collect(demo_logdir=None, resnet_logdir=None, bench: bool = True) -> dict:
    """The records of every graph available (the demo written into a temporary folder when none is given)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if demo_logdir is None:
            demo_logdir = tmp / "demo"
            write_demo(demo_logdir, skip_resnet=True)
        out.update(_hierarchies(Path(demo_logdir), "demo"))
        if resnet_logdir is not None:
            out.update(_hierarchies(Path(resnet_logdir), "resnet"))
        hostile_logdir = tmp / "hostile"
        hostile.write_hostile_logdir(hostile_logdir)
        hostile.write_cut_runs(hostile_logdir)
        hostile.write_synthetic_runs(hostile_logdir)
        out.update(_hierarchies(hostile_logdir, "hostile"))
    bench_dir = CACHE_DIR / "bench"
    if bench and bench_dir.is_dir():
        for done in sorted(bench_dir.glob("*/.complete")):
            out.update(_hierarchies(done.parent / done.parent.name, f"bench-{done.parent.name}"))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write tests/golden.json from the answers now")
    args = parser.parse_args(argv)
    found = collect(resnet_logdir=cached_resnet_logdir())
    if args.write:
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {len(found)} graphs' answers to {GOLDEN}")
        return 0
    golden = json.loads(GOLDEN.read_text())
    lines = differences(found, {k: v for k, v in golden.items() if k in found})
    missing = sorted(set(golden) - set(found))
    print(f"{len(found)} graphs compared; {len(lines)} differences; not here: {missing[:20]}")
    print("\n".join(lines[:200]))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
