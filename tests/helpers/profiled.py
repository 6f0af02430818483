"""The truth about a profiled step, read with TensorFlow's own messages: the profile's op events and the traced
step's graph."""

from __future__ import annotations

import collections


def op_events(run_dir) -> tuple:
    """({op name: (kernel type, picoseconds over all runs)}, profiled steps) of the host's op events in the run's
    profiles (`run_dir` a pathlib.Path)."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    events: dict = {}
    runs: collections.Counter = collections.Counter()
    for path in run_dir.glob("plugins/profile/*/*.xplane.pb"):
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
        for plane in space.planes:
            if not plane.name.startswith("/host:"):
                continue
            for line in plane.lines:
                if not line.name.startswith("tf_"):
                    continue
                for event in line.events:
                    name, _, kernel = plane.event_metadata[event.metadata_id].name.rpartition(":")
                    if name and kernel and not name.endswith(":"):
                        ps = events.get(name, (kernel, 0))[1]
                        events[name] = (kernel, ps + event.duration_ps)
                        runs[name] += 1
    steps = collections.Counter(runs.values()).most_common(1)[0][0]
    return events, steps


def traced_graph(run_dir, tag: str) -> dict:
    """The step traced under `tag` (tf.summary.trace_export): {op name: NodeDef} of its largest function graph."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.proto import config_pb2

    for path in run_dir.glob("events*"):
        for event in event_file_loader.EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == tag and value.metadata.plugin_data.plugin_name == "graph_run_metadata_graph":
                    metadata = config_pb2.RunMetadata.FromString(value.tensor.string_val[0])
                    graph = max((f.pre_optimization_graph for f in metadata.function_graphs), key=lambda g: len(g.node))
                    return {node.name: node for node in graph.node}
    raise AssertionError(f"no trace of {tag} in {run_dir}")
