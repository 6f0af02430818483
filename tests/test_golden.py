"""Every answer for the demo's graphs, the cached ResNet50 training step and every hostile record is the golden
one (tests/golden.py; the benchmark's big graphs are compared by `python tests/golden.py` where `make bench` has
written them)."""

import json

import golden


def test_answers_are_the_golden_ones(demo_logdir, resnet_logdir):
    found = golden.collect(demo_logdir=demo_logdir, resnet_logdir=resnet_logdir, bench=False)
    expected = {k: v for k, v in json.loads(golden.GOLDEN.read_text()).items() if not k.startswith("bench-")}
    assert set(found) == set(expected), sorted(set(found) ^ set(expected))
    differ = {key: sorted(route for route in found[key] if found[key][route] != expected[key].get(route))
              for key in found if found[key] != expected[key]}
    assert not differ, f"answers changed (rewrite tests/golden.json with `python tests/golden.py --write` if meant): {differ}"
