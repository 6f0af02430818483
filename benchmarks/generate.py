"""Write the benchmark graphs with real TensorFlow into a cache folder, each graph in its own logdir.

    python benchmarks/generate.py [--cache .cache/bench] [--only NAME ...] [--force]

Layout: CACHE/<name>/<name>/events.out.tfevents.*  (logdir CACHE/<name> holds the one run <name>).
A graph is written only when CACHE/<name>/.complete is missing (or with --force); each one in its own
Python subprocess, so that its memory is returned and trace_on records nothing but its own work.

    demo_module    the tutorial DemoModule trace (python -m tb_module_plugin.recording.demo --only demo_module), 10 ops
    resnet50       Keras ResNet50 training step (weights=None, 64x64x3, 10 classes), tag train_step
    resnet152      Keras ResNet152 training step, the same
    efficientnetb7 Keras EfficientNetB7 training step, the same
    synthetic_200k tf.summary.graph of benchmarks/synthetic.py's GraphDef (201,602 ops), tag __run_graph__
    synthetic_1m   the same encoder with 248 steps per sub-module instead of 49 (1,003,970 ops, 179 MB), the same
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from tb_module_plugin.recording import demo_keras

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_CACHE = REPO / ".cache" / "bench"
# Bump when what a generator writes changes: cached graphs of another version are written again.
VERSION = "1"

IMAGE_SIZE = 64
CLASSES = 10
BATCH = 2

KERAS_MODELS = {"resnet50": "ResNet50", "resnet152": "ResNet152", "efficientnetb7": "EfficientNetB7"}
GRAPHS = ["demo_module", "resnet50", "resnet152", "efficientnetb7", "synthetic_200k", "synthetic_1m"]
SYNTHETIC_STEPS = {"synthetic_200k": None, "synthetic_1m": "STEPS_1M"}  # (a synthetic.py constant: None = STEPS)
QUIET_TF_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""}


def stamp_path(cache: Path, name: str) -> Path:
    return cache / name / ".complete"


def is_complete(cache: Path, name: str) -> bool:
    stamp = stamp_path(cache, name)
    return stamp.is_file() and stamp.read_text().strip() == VERSION


# --- the writers (run inside the subprocess) -------------------------------------------------------
def _tf():
    os.environ.update(QUIET_TF_ENV)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def write_keras_train_step(name: str, run_dir: Path) -> None:
    """One tf.function: forward, loss, GradientTape gradients and apply_gradients, traced once (the demo's)."""
    _tf()  # TensorFlow quiet before the demo imports it
    from tb_module_plugin.recording import demo

    demo_keras.write_keras_train_step(str(run_dir.parent), run_dir.name, KERAS_MODELS[name], IMAGE_SIZE, CLASSES, BATCH,
                                profile=False)


def write_synthetic(run_dir: Path, steps_name=None) -> None:
    tf = _tf()
    from benchmarks import synthetic

    steps = getattr(synthetic, steps_name) if steps_name else synthetic.STEPS
    graph_def = tf.compat.v1.GraphDef.FromString(synthetic.build_graph_def(steps=steps).SerializeToString())
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        tf.summary.graph(graph_def)
    writer.flush()
    writer.close()


def _write_one(name: str, cache: Path) -> None:
    """In the subprocess: write graph `name` into CACHE/<name>/<name>."""
    if name == "demo_module":
        # The demo may write more runs beside it (demo_module_record): keep only the trace's run.
        os.environ.update(QUIET_TF_ENV)
        from tb_module_plugin.recording import demo

        scratch = cache / f"{name}.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        demo.main(["--logdir", str(scratch), "--only", "demo_module"])
        (cache / name).mkdir(parents=True, exist_ok=True)
        (scratch / "demo_module").rename(cache / name / name)
        shutil.rmtree(scratch, ignore_errors=True)
        return
    run_dir = cache / name / name
    run_dir.mkdir(parents=True, exist_ok=True)
    if name in KERAS_MODELS:
        write_keras_train_step(name, run_dir)
    elif name in SYNTHETIC_STEPS:
        write_synthetic(run_dir, SYNTHETIC_STEPS[name])
    else:
        raise SystemExit(f"unknown benchmark graph {name!r}; known: {', '.join(GRAPHS)}")


# --- the driver -------------------------------------------------------------------------------------
def ensure(cache: Path = DEFAULT_CACHE, names=None, force=False, timeout=1800, log=print) -> dict:
    """Write the graphs that are missing; returns {name: logdir}."""
    names = list(names or GRAPHS)
    cache.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name not in GRAPHS:
            raise SystemExit(f"unknown benchmark graph {name!r}; known: {', '.join(GRAPHS)}")
        if is_complete(cache, name) and not force:
            continue
        shutil.rmtree(cache / name, ignore_errors=True)
        log(f"generating {name} into {cache / name} ...")
        start = time.time()
        env = dict(os.environ, **QUIET_TF_ENV)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--one", name, "--cache", str(cache)],
            env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"generating {name} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}")
        events = list((cache / name / name).glob("events.out.tfevents.*"))
        if not events:
            raise RuntimeError(f"generating {name} wrote no event file under {cache / name / name}:\n{proc.stdout[-2000:]}")
        size = sum(e.stat().st_size for e in events)
        stamp_path(cache, name).write_text(VERSION + "\n")
        log(f"  {name}: {size / 1e6:.1f} MB of events in {time.time() - start:.0f} s")
    return {name: cache / name for name in names}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache folder (default %(default)s)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"only these graphs ({', '.join(GRAPHS)})")
    parser.add_argument("--force", action="store_true", help="write the graphs again even when cached")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: write one graph in this process
    args = parser.parse_args(argv)
    if args.one:
        _write_one(args.one, args.cache.resolve())
        return 0
    ensure(args.cache.resolve(), args.only, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
