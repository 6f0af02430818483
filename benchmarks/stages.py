"""Where a big graph's time and memory go, stage by stage, in one process (the figures of docs/architecture.md,
"Where the time goes"; `make bench` reports only the totals a person waits for).

    python -m benchmarks.stages [synthetic_1m]   (a graph `make bench` generated into .cache/bench/)

Reads the graph's record from its event file as TensorBoard would hand it over, builds it as the server does
(build/sources.py), answers the root, then runs the work `serve/settle.py` does after a first answer one step at a
time, printing each step's CPU seconds and the process's resident memory after it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench"


def read_record(name: str):
    """(sources.GraphRecord, its blob) of the first graph in the bench graph's event files."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.util import tensor_util

    from tb_module_plugin.build import sources

    files = sorted((CACHE / name / name).rglob("events.out.tfevents*"))
    if not files:
        raise SystemExit(f"No event file under {CACHE / name / name}: run `make bench` (or benchmarks/generate.py) first.")
    for path in files:
        for raw in event_file_loader.RawEventFileLoader(str(path)).Load():
            event = event_pb2.Event.FromString(raw)
            if event.graph_def:
                return sources.GraphRecord("run", sources.RUN_GRAPH_TAG, "run_graph", "graphs"), event.graph_def
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                if sources.GRAPH_PLUGINS.get(plugin) == "trace":
                    blob = tensor_util.make_ndarray(value.tensor)
                    return sources.GraphRecord("run", value.tag, "trace", plugin), blob.item() if blob.ndim == 0 \
                        else blob[0]
    raise SystemExit(f"{name}: no run graph or trace in {files}.")


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def main(argv: list) -> None:
    name = argv[0] if argv else "synthetic_1m"
    from tb_module_plugin.build import sources
    from tb_module_plugin.measures.costs import count_costs
    from tb_module_plugin.serve import answers, search
    from tb_module_plugin.serve.cache import release_freed_memory
    from tb_module_plugin.tree.ops import pack_node_defs

    record, blob = read_record(name)
    print(f"{name}: {len(blob) / 1e6:.0f} MB record; resident {resident_mb():.0f} MB before the build")

    def step(label: str, work):
        start = time.process_time()
        result = work()
        print(f"  {label:<34} {time.process_time() - start:6.2f} s CPU   resident {resident_mb():6.0f} MB")
        return result

    h = step("build (parse, ops, tree, root edges)", lambda: sources.build_hierarchy(record, [blob]))
    del blob
    release_freed_memory()
    step("first answer (the root)", lambda: answers.node_json(h, "", 1))
    step("edges inside groups", h.file_inner_edges)
    step("structure marks", lambda: h.structure_of(h.root))
    step("every group's flow order", h.file_edges)
    step("FLOPs", lambda: count_costs(h))
    step("NodeDefs compressed", lambda: pack_node_defs(h.all_nodes))
    step("search index", lambda: search.index_of(h))
    release_freed_memory()
    print(f"  settled: resident {resident_mb():.0f} MB, {len(h.all_nodes):,} nodes")


if __name__ == "__main__":
    main(sys.argv[1:])
