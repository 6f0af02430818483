"""The rules that place measured time and the backward pass, on graphs built here (in process, fast): what they
must refuse (time of ops another function ran, a scope named like a tape but holding no gradient) and the work they
must stay linear in (deep names, deep nesting, wide scopes). The truth is the graph and the profile built here."""

from __future__ import annotations

import time

from support import graph_def

from tb_module_plugin import build, graph as graph_lib, profiles


def hierarchy_of(nodes):
    flat = graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(nodes)), [], [])
    return build.build_graph_hierarchy(flat, "t")


def times_of(hierarchy, total_ps: dict):
    op_times = profiles.OpTimes(files=[], total_ps=total_ps, runs={k: 1 for k in total_ps}, steps=1,
                                all_ops_ps=sum(total_ps.values()))
    return profiles.Times(hierarchy, op_times)


DENSE = [("x", "Placeholder", []), ("m/dense/kernel", "VarHandleOp", []),
         ("m/dense/r", "ReadVariableOp", ["m/dense/kernel"]), ("m/dense/MatMul", "MatMul", ["x", "m/dense/r"])]


def test_time_of_ops_the_graph_does_not_hold_goes_only_to_grappler_rewrites():
    """A profile that also ran another function's op of a name in the layer's scope (`m/dense/Softmax_1`) leaves
    it out of the layer; an op grappler made in the layer's place (`m/dense/ArithmeticOptimizer/...`) is the
    layer's time."""
    hierarchy = hierarchy_of(DENSE)
    own, rewrite, other = "m/dense/MatMul", "m/dense/ArithmeticOptimizer/AddOpsRewrite_Add", "m/dense/Softmax_1"
    held = {n.op_name for n in hierarchy.all_nodes if n.children is None}
    assert own in held and rewrite not in held and other not in held
    total = {own: 10**6, rewrite: 3 * 10**6, other: 9 * 10**6}
    dense = hierarchy.root.children["m"].children["dense"]
    times = times_of(hierarchy, total)
    assert times.time_of(dense) == (total[own] + total[rewrite]) / 1e6
    assert times.coverage_of(dense) == 1.0
    assert times.time_of(hierarchy.root) == (total[own] + total[rewrite]) / 1e6  # (the other op is nowhere)


def test_grappler_rewrites_of_deep_names_take_linear_work():
    """Rewritten ops under a scope 3,000 levels deep are placed without walking every prefix of every name."""
    deep = "/".join(f"s{i % 10}" for i in range(3000))
    nodes = [("x", "Placeholder", [])] + [(f"{deep}/op{k}", "Relu", ["x"]) for k in range(20)]
    hierarchy = hierarchy_of(nodes)
    total = {f"{deep}/ArithmeticOptimizer/AddOpsRewrite_{k}": 10**6 for k in range(20)}
    total[f"{deep}/op0"] = 10**6
    start = time.perf_counter()
    times = times_of(hierarchy, total)
    assert time.perf_counter() - start < 2.0
    assert times.time_of(hierarchy.root) == sum(total.values()) / 1e6
