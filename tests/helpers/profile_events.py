"""A profile's op events as TensorFlow's own XSpace message holds them (the truth the time tests compare with)."""

import collections
from pathlib import Path


def op_events(run_dir: Path) -> tuple:
    """({op name: (kernel type, picoseconds over all runs)}, the profiled steps: how many times most ops ran) of
    every profile of the run (`plugins/profile/*/*.xplane.pb`), host planes' `tf_` lines."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    events: dict = {}
    runs: collections.Counter = collections.Counter()
    for path in Path(run_dir).glob("plugins/profile/*/*.xplane.pb"):
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


def per_step_us(events, steps, names) -> float:
    return sum(events[name][1] for name in names) / steps / 1e6
