"""Comparing two ~30,000-op graphs: the first view of the `diff` route, cold (both graphs parsed, signed, matched).

    python -m benchmarks.compare_bench   (make bench runs it too) [--blocks 7] [--target 2.0]

Two synthetic graphs (benchmarks/synthetic.py with 7 blocks: 7 x 12 x 350 + 2 = 29,402 ops), the second with one
block's query widened (its kernel and the ops reading it), as `tf.summary.graph` writes them, in a logdir of their
own; then the `diff` route through the plugin's WSGI app over TensorBoard's Python loader, as a page's first
request would be answered: parse both, compare, answer depth 1. Prints the seconds and exits 1 above the target.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import synthetic

TARGET_S = 2.0  # seconds the cold first view of the comparison may take


def write_logdir(logdir: Path, blocks: int) -> None:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    synthetic.N_BLOCKS = blocks  # (module constants the generator reads)
    synthetic.EXPECTED_OPS = blocks * len(synthetic.SUBMODULES) * synthetic.OPS_PER_SUBMODULE + 2
    for run, widen in (("a", False), ("b", True)):
        graph = synthetic.build_graph_def()
        if widen:  # block 1's query kernel twice as wide: one module changed, its ancestors with it
            kernel = next(n for n in graph.node if n.name == "model/block_01/attention/query/dense/kernel")
            kernel.attr["shape"].shape.dim[-1].size *= 2
        writer = EventFileWriter(str(logdir / run))
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, graph_def=graph.SerializeToString()))
        writer.close()


def plugin_client(logdir: str):
    """A werkzeug test client of the plugin's routes over TensorBoard's Python loader of `logdir`."""
    from tensorboard.plugins import base_plugin
    from werkzeug import test as werkzeug_test

    from tb_module_plugin.cli.main import logdir_data_provider
    from tb_module_plugin.serve.plugin import ModuleGraphPlugin

    plugin = ModuleGraphPlugin(base_plugin.TBContext(logdir=logdir, data_provider=logdir_data_provider(logdir)))
    apps = plugin.get_plugin_apps()
    return werkzeug_test.Client(lambda environ, start_response: apps[environ["PATH_INFO"]](environ, start_response))


def measure(blocks: int = 7) -> dict:
    """The `diff` route's first view (depth 1) of two synthetic graphs of `blocks` blocks, cold, then the next one."""
    with tempfile.TemporaryDirectory() as tmp:
        logdir = Path(tmp)
        write_logdir(logdir, blocks)
        client = plugin_client(str(logdir))
        query = {"run": "a", "tag": "__run_graph__", "run2": "b", "tag2": "__run_graph__"}
        t0 = time.perf_counter()
        response = client.get("/diff", query_string=dict(query, depth=1))
        seconds = time.perf_counter() - t0
        body = json.loads(response.get_data())
        t1 = time.perf_counter()
        client.get("/diff", query_string=dict(query, depth=2, path="model"))
        warm = time.perf_counter() - t1
    node = body.get("node", {})
    return {"seconds": seconds, "warm": warm, "status": response.status_code, "num_ops": node.get("num_ops"),
            "diff": node.get("diff"), "counts": node.get("counts")}


def describe(m: dict, target: float = TARGET_S) -> str:
    return (f"compare two {m['num_ops']}-op graphs: first view cold {m['seconds']:.2f} s (target < {target} s), "
            f"next view {m['warm']:.2f} s; status {m['status']}, root {m['diff']}, counts {m['counts']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--target", type=float, default=TARGET_S, help="seconds the cold first view may take")
    args = parser.parse_args(argv)
    m = measure(args.blocks)
    print(describe(m, args.target))
    return 0 if m["status"] == 200 and m["seconds"] < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
