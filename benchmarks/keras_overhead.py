"""What the ModuleGraph callback costs the training steps it does not record or profile.

    python benchmarks/keras_overhead.py [--rounds N] [--batches N]

A Keras 3 MLP is trained with `fit` for one epoch per round, rounds alternating without and with the callback (its
record and profile in a temporary folder); a timing callback notes when each batch begins. The steps compared are
those after the callback's record and profile (batch RECORD_BATCH and the default profile_batch, plus a margin):
the median step time with the callback against without, and the spread of the medians of the rounds without it
(the noise), and the same for each kind's best round. `make bench` runs it too (benchmarks/bench.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_TRAIN = r"""
import json, os, sys, tempfile, time
import numpy as np, tensorflow as tf, keras
from tb_module_plugin.recording.keras import ModuleGraph, DEFAULT_PROFILE_BATCH, RECORD_BATCH

rounds, batches = int(sys.argv[1]), int(sys.argv[2])
first_untouched = max(RECORD_BATCH, DEFAULT_PROFILE_BATCH[1]) + 3  # (1-based) after the record, the profile, a margin

class Clock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.starts = []
    def on_train_batch_begin(self, batch, logs=None):
        self.starts.append(time.perf_counter())
    def on_train_end(self, logs=None):
        self.starts.append(time.perf_counter())

model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(512, activation="relu"),
                          keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
rng = np.random.default_rng(0)
data = tf.data.Dataset.from_tensor_slices((rng.normal(size=(batches * 64, 256)).astype("float32"),
                                           rng.integers(0, 10, size=(batches * 64,)))).batch(64)
model.fit(data.take(4), epochs=1, verbose=0)  # traced and warm before any round
out = {"without": [], "with": []}
for r in range(2 * rounds):
    kind = "with" if r % 2 else "without"
    clock = Clock()
    callbacks = [clock]
    if kind == "with":
        callbacks.append(ModuleGraph(tempfile.mkdtemp(prefix="keras_overhead_")))
    model.fit(data, epochs=1, verbose=0, callbacks=callbacks)
    steps = [b - a for a, b in zip(clock.starts, clock.starts[1:])]
    out[kind].append(steps[first_untouched - 1:])
print("RESULT " + json.dumps(out))
"""


def measure(rounds: int = 5, batches: int = 80, log=print) -> dict:
    """{'without_ms', 'with_ms': median step times of the untouched steps, 'overhead_pct', 'noise_pct': the spread
    (max - min) of the rounds' medians without the callback, in % of their median, 'steps': steps per round}."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    log(f"[keras callback] {rounds} rounds without and with ModuleGraph, {batches} batches each")
    proc = subprocess.run([sys.executable, "-c", _TRAIN, str(rounds), str(batches)], env=env, cwd=str(REPO),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        raise RuntimeError(f"the training failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    out = json.loads(line[len("RESULT "):])
    medians = {kind: [statistics.median(steps) for steps in rounds_] for kind, rounds_ in out.items()}
    without, with_ = statistics.median(medians["without"]), statistics.median(medians["with"])
    best_without, best_with = min(medians["without"]), min(medians["with"])
    return {"without_ms": without * 1e3, "with_ms": with_ * 1e3, "overhead_pct": (with_ / without - 1) * 100,
            "best_overhead_pct": (best_with / best_without - 1) * 100,
            "noise_pct": (max(medians["without"]) - min(medians["without"])) / without * 100,
            "round_medians_ms": {k: [round(m * 1e3, 3) for m in v] for k, v in medians.items()},
            "steps": len(out["without"][0])}


def describe(r: dict) -> str:
    return (f"ModuleGraph callback, steps it neither records nor profiles ({r['steps']} per round, Keras 3 MLP "
            f"256-512-512-10, batch 64): {r['with_ms']:.2f} ms with it, {r['without_ms']:.2f} ms without "
            f"({r['overhead_pct']:+.1f}%; best rounds {r['best_overhead_pct']:+.1f}%; the rounds without it spread "
            f"over {r['noise_pct']:.1f}%; round medians in ms: {r['round_medians_ms']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=80)
    args = parser.parse_args(argv)
    print(describe(measure(args.rounds, args.batches)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
