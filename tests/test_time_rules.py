"""The rules that place measured time and the backward pass, on graphs built here (in process, fast): what they
must refuse (time of ops another function ran, a scope named like a tape but holding no gradient) and the work they
must stay linear in (deep names, deep nesting, wide scopes). The truth is the graph and the profile built here."""

from __future__ import annotations

import time

import pytest

from tests.helpers.records import graph_def

from tb_module_plugin.build import builder as build
from tb_module_plugin.readers import graph as graph_lib, profiles
from tb_module_plugin.measures import time as time_lib


def hierarchy_of(nodes):
    flat = graph_lib.FlatGraph(graph_lib.flatten_graph_def(graph_def(nodes)), [], [])
    return build.build_graph_hierarchy(flat, "t")


def times_of(hierarchy, total_ps: dict, kernels: dict | None = None):
    op_times = profiles.OpTimes(files=[], total_ps=total_ps, runs={k: 1 for k in total_ps}, steps=1,
                                all_ops_ps=sum(total_ps.values()), kernels=kernels or {})
    return time_lib.Times(hierarchy, op_times)


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


def test_an_op_named_after_a_graph_op_is_that_ops_time():
    """An op grappler made from a chain starting at a graph op, named after it (`m/dense/MatMul/
    unary_ops_composition`, a `_UnaryOpsComposition` kernel), is that op's time (and the op counts as timed); a
    name one segment below a scope that is no op of the graph (`m/dense/Softmax_1/x`) is another function's, in no
    group, and so is one below a graph op whose kernel runs no chain (a body op of a call left one op)."""
    hierarchy = hierarchy_of(DENSE)
    first, other = "m/dense/MatMul", "m/dense/Softmax_1/unary_ops_composition"
    below = first + "/add"
    held = {n.op_name for n in hierarchy.all_nodes if n.children is None}
    assert first in held and other.rpartition("/")[0] not in held
    total = {first + "/unary_ops_composition": 3 * 10**6, other: 9 * 10**6, below: 5 * 10**6}
    kernels = {first + "/unary_ops_composition": "_UnaryOpsComposition", other: "_UnaryOpsComposition",
               below: "AddV2"}
    dense = hierarchy.root.children["m"].children["dense"]
    times = times_of(hierarchy, total, kernels)
    assert times.time_of(dense.children["MatMul"]) == total[first + "/unary_ops_composition"] / 1e6
    assert times.coverage_of(dense) == 1.0
    assert times.time_of(hierarchy.root) == total[first + "/unary_ops_composition"] / 1e6


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


def group_at(hierarchy, path: str):
    node = hierarchy.root
    for name in path.split("/"):
        node = node.children[name]
    return node


def op_paths(group) -> set:
    from tb_module_plugin.tree.hierarchy import ops_under

    out = set()
    for op in ops_under(group):
        names, node = [], op
        while node is not group:
            names.append(node.name)
            node = node.parent
        out.add("/".join(reversed(names)))
    return out


def test_a_scope_named_like_a_tape_moves_only_what_the_graph_confirms():
    """Ops under `gradients/` named after a layer's forward op move into the layer's backward group only where
    the graph says they differentiate it: a MatMul reading the forward op's input does; an op reading something
    else does not (even under the forward op's name), and a scope named `gradients` that holds no op only a
    gradient computes is no tape at all."""
    fake = DENSE + [("z", "Placeholder", []), ("gradients/m/dense/MatMul/foo", "Relu", ["z"])]
    hierarchy = hierarchy_of(fake)
    dense = group_at(hierarchy, "m/dense")
    assert "backward" not in dense.children
    assert op_paths(hierarchy.root.children["gradients"]) == {"m/dense/MatMul/foo"}

    tape = fake + [("gradients/loss/ReluGrad", "ReluGrad", ["z", "z"])]  # (now a tape: an op only a gradient computes)
    hierarchy = hierarchy_of(tape)
    assert "backward" not in group_at(hierarchy, "m/dense").children
    assert op_paths(hierarchy.root.children["gradients"]) == {"m/dense/MatMul/foo", "loss/ReluGrad"}

    hierarchy = hierarchy_of(tape + [("gradients/m/dense/MatMul/MatMul", "MatMul", ["x", "z"])])
    # The weight's gradient reads the layer's input x: the layer's backward pass (its module's named ops with it).
    assert "MatMul/MatMul" in op_paths(group_at(hierarchy, "m/dense").children["backward"])
    assert op_paths(hierarchy.root.children["gradients"]) == {"loss/ReluGrad"}


def nested(depth: int, per_module: int) -> list:
    """Modules m0 > m1 > ... each reading its own variable; module k's gradient ops read module k+1's (the
    deepest reads its forward op), as a backward pass runs from the output back."""
    nodes = [("x", "Placeholder", [])]
    for k in range(depth):
        p = "/".join(f"m{i}" for i in range(k + 1))
        nodes += [(f"{p}/kernel", "VarHandleOp", []), (f"{p}/r", "ReadVariableOp", [f"{p}/kernel"]),
                  (f"{p}/mul", "Mul", ["x", f"{p}/r"])]
    for k in range(depth):
        p = "/".join(f"m{i}" for i in range(k + 1))
        source = f"gradient_tape/{p}/m{k + 1}/g0" if k + 1 < depth else f"{p}/mul"
        nodes += [(f"gradient_tape/{p}/g{j}", "ReluGrad", [source, source]) for j in range(per_module)]
    return nodes


def placement_seconds(monkeypatch, nodes):
    """The hierarchy of `nodes` and the seconds its backward placement took (the rest of the build aside)."""
    from tb_module_plugin.build import backward

    spent = []
    place = backward.place_backward_ops

    def timed(builder, root, *moved):
        start = time.perf_counter()
        groups = place(builder, root, *moved)
        spent.append(time.perf_counter() - start)
        return groups

    monkeypatch.setattr(backward, "place_backward_ops", timed)
    hierarchy = hierarchy_of(nodes)
    assert len(spent) == 1
    return hierarchy, spent[0]


def test_backward_ops_of_deeply_nested_modules_are_placed_in_linear_work(monkeypatch):
    """400 nested modules, each module's gradient confirmed only by reading the backward ops just placed in the
    module below it: every module gets its own gradient ops, quickly."""
    depth, per_module = 400, 5
    hierarchy, seconds = placement_seconds(monkeypatch, nested(depth, per_module))
    assert seconds < 1.0
    group = hierarchy.root
    for k in range(depth):
        group = group.children[f"m{k}"]
        assert group.kind == "module"
        assert op_paths(group.children["backward"]) == {f"g{j}" for j in range(per_module)}, k
    assert "gradient_tape" not in hierarchy.root.children


def test_gradient_names_deep_past_any_module_take_linear_work(monkeypatch):
    """Gradient ops named after forward ops 3,000 scopes deep (in no module) are looked up once each."""
    deep = "/".join(f"q{i % 7}" for i in range(3000))
    nodes = DENSE + [(f"gradient_tape/{deep}/g{k}", "ReluGrad", ["x", "x"]) for k in range(100)]
    nodes += [(f"{deep}/h{k}", "Relu", ["x"]) for k in range(100)]
    hierarchy, seconds = placement_seconds(monkeypatch, nodes)
    assert seconds < 1.5
    assert len(op_paths(hierarchy.root.children["gradient_tape"])) == 100  # (in no module: they stay)


def test_a_wide_scope_of_variables_is_judged_once(monkeypatch):
    """A scope of 8,000 variables beside 8,000 other ops: whether it is an op helper's scope is decided once, not
    once per variable under it (the build stays fast), and it is the variables' module."""
    from tb_module_plugin.tree import scopes

    width = 8000
    nodes = [("x", "Placeholder", [])] + [(f"s/id{i}", "Identity", ["x"]) for i in range(width)]
    nodes += [(f"s/v{i}", "VarHandleOp", []) for i in range(width)]
    scanned = []
    only_reads = scopes._only_reads
    monkeypatch.setattr(scopes, "_only_reads", lambda group: scanned.append(group.name) or only_reads(group))
    start = time.perf_counter()
    hierarchy = hierarchy_of(nodes)
    assert time.perf_counter() - start < 3.0
    assert scanned.count("s") == 1
    assert hierarchy.root.children["s"].kind == "module"


def test_backward_parts_are_said_of_modules_and_backward_groups_only():
    """A training step's answer gives backward_time_us and backward_flops to each module (its forward pass is
    the rest) and each backward group (all of it), and to no other node: the root's rest holds the loss's
    gradient and the optimizer's work, not a forward pass."""
    from tests.helpers.answers import walk

    from tb_module_plugin.serve import answers

    nodes = DENSE + [("gradients/m/dense/MatMul/MatMul", "MatMul", ["x", "x"]),
                     ("gradients/loss/ReluGrad", "ReluGrad", ["x", "x"]), ("opt/update", "Mul", ["x", "x"])]
    hierarchy = hierarchy_of(nodes)
    total = {name: 10**6 for name, *_ in nodes}
    answer = answers.hierarchy_node(hierarchy, hierarchy.root, 8, times_of(hierarchy, total))
    timed, counted = {}, set()  # (the FLOPs of ops without shapes are not known: backward_flops only where given)
    for node, _ in walk(answer):
        if node["kind"] != "op":
            timed[node["path"]] = "backward_time_us" in node
            if "backward_flops" in node:
                counted.add(node["path"])
    split = {node.path for node in hierarchy.all_nodes
             if node.children is not None and (node.kind == "module" or node.role == "backward")}
    assert any(node.role == "backward" for node in hierarchy.all_nodes)
    assert timed == {path: path in split for path in timed}
    assert counted <= split
    assert timed[hierarchy.root.path] is False


def test_a_backward_pass_not_timed_reads_apart_from_no_backward_pass():
    """Of a training step's modules, one with backward ops the profile did not time says `backward_untimed` (the
    summary's backward time: "not timed"), one without backward ops says neither (the summary: "none"); once the
    profile times the gradient ops, the first has its backward_time_us instead."""
    from tests.helpers.answers import walk

    from tb_module_plugin.cli import table
    from tb_module_plugin.serve import answers
    from tb_module_plugin.tree.hierarchy import ops_under

    other = [("m/other/kernel", "VarHandleOp", []), ("m/other/r", "ReadVariableOp", ["m/other/kernel"]),
             ("m/other/Mul", "Mul", ["x", "m/other/r"])]
    nodes = DENSE + other + [("gradients/m/dense/MatMul/MatMul", "MatMul", ["x", "x"]),
                             ("gradients/loss/ReluGrad", "ReluGrad", ["x", "x"])]
    hierarchy = hierarchy_of(nodes)
    modules = [n for n in hierarchy.all_nodes if n.kind == "module"]
    backward_ops = {op.op_name for n in hierarchy.all_nodes if n.role == "backward" for op in ops_under(n)}
    with_backward = {m.path for m in modules if any(op.op_name in backward_ops for op in ops_under(m))}
    assert backward_ops and with_backward and set(m.path for m in modules) - with_backward  # (both kinds here)
    forward_only = {op.op_name: 10**6 for op in ops_under(hierarchy.root) if op.op_name not in backward_ops}

    def said(total):
        times = times_of(hierarchy, total)
        answer = answers.hierarchy_node(hierarchy, hierarchy.root, 8, times)
        found = {n["path"]: n for n, _ in walk(answer) if n["kind"] == "module"}
        lines = table.format_table(hierarchy, 3, times).splitlines()
        cells = {m.path: next(line for line in lines if line.strip().split()[0] == m.name).rstrip() for m in modules}
        return found, cells

    found, cells = said(forward_only)
    for path, node in found.items():
        assert "backward_time_us" not in node and node.get("backward_untimed", False) == (path in with_backward), node
        assert cells[path].endswith(table.NOT_TIMED if path in with_backward else table.NO_BACKWARD), cells[path]
    found, cells = said({**forward_only, **{name: 10**6 for name in backward_ops}})
    for path, node in found.items():
        assert "backward_untimed" not in node
        assert ("backward_time_us" in node) == (path in with_backward), node
        assert cells[path].endswith("%)" if path in with_backward else table.NO_BACKWARD), cells[path]


def test_the_build_keeps_which_nodes_hold_a_backward_pass_on_the_hierarchy():
    """The build keeps on the Hierarchy the nodes that are or hold a backward group (what the backward time and
    FLOPs read), as the finished tree holds them; the backward FLOPs, once asked for, are kept there too (no
    module-level table outlives or leaks the graph)."""
    from tb_module_plugin.measures import backward, costs

    other = [("m/other/kernel", "VarHandleOp", []), ("m/other/r", "ReadVariableOp", ["m/other/kernel"]),
             ("m/other/Mul", "Mul", ["x", "m/other/r"])]
    hierarchy = hierarchy_of(DENSE + other + [("gradients/m/dense/MatMul/MatMul", "MatMul", ["x", "x"]),
                                              ("gradients/loss/ReluGrad", "ReluGrad", ["x", "x"])])

    truth = {id(node) for node in hierarchy.all_nodes if holds_backward_group(node)}
    assert truth and len(truth) < len(hierarchy.all_nodes)  # (both kinds here)
    assert hierarchy.backward_holders == truth
    assert not hierarchy_of(DENSE).backward_holders  # (no training step: none)
    costs.count_costs(hierarchy)
    assert hierarchy.backward_flops is None
    for node in hierarchy.all_nodes:
        flops = backward.flops_of(hierarchy, node)
        assert flops is None or id(node) in truth
    assert hierarchy.backward_flops is not None  # (made once, kept with the graph)
    assert not [name for name, value in vars(backward).items() if type(value).__name__.startswith("WeakKey")]


def test_a_node_s_backward_time_is_looked_up_once(monkeypatch):
    """The time measure asks each node's backward time once and whether it splits once (an untimed backward
    pass is then told from none by the nodes the build found holding one), and says the same as before."""
    from tests.helpers.answers import walk

    from tb_module_plugin.measures import time_values
    from tb_module_plugin.serve import answers

    nodes = DENSE + [("gradients/m/dense/MatMul/MatMul", "MatMul", ["x", "x"]),
                     ("gradients/loss/ReluGrad", "ReluGrad", ["x", "x"])]
    hierarchy = hierarchy_of(nodes)
    times = times_of(hierarchy, {name: 10**6 for name, *_ in DENSE})  # (the backward ops not timed)
    asked, split = [], []
    backward_of, splits = time_lib.Times.backward_of, time_values.splits
    monkeypatch.setattr(time_lib.Times, "backward_of",
                        lambda self, node: asked.append(id(node)) or backward_of(self, node))
    monkeypatch.setattr(time_values, "splits", lambda node: split.append(id(node)) or splits(node))
    answer = answers.hierarchy_node(hierarchy, hierarchy.root, 8, times)
    assert asked and len(asked) == len(set(asked)) and len(split) == len(set(split))
    said = {n["path"]: n for n, _ in walk(answer)}
    untimed = {path for path, n in said.items() if n.get("backward_untimed")}
    assert untimed == {node.path for node in hierarchy.all_nodes if node.children is not None and splits(node)
                       and holds_backward_group(node) and "time_us" in said[node.path]}


def holds_backward_group(node) -> bool:
    """From the tree itself: a backward group at or below the node."""
    return node.role == "backward" or any(holds_backward_group(c) for c in (node.children or {}).values())


def test_time_comes_from_the_runs_of_the_function_that_ran_the_graph():
    """A profile holding two functions' runs of the layer's op (a training step and an evaluation of the same
    layer): the graph's time is that of the function running the most of its ops; a function traced again (the
    same ops) counts with it; a profile without function runs is taken whole."""
    nodes = DENSE + [("m/dense/grad", "MatMul", ["x", "m/dense/r"])]
    hierarchy = hierarchy_of(nodes)
    dense = hierarchy.root.children["m"].children["dense"]
    own, grad = "m/dense/MatMul", "m/dense/grad"
    functions = {"train": ({own: 4 * 10**6, grad: 2 * 10**6}, {own: 2, grad: 2}),
                 "train_again": ({own: 10**6, grad: 10**6}, {own: 1, grad: 1}),
                 "eval": ({own: 50 * 10**6}, {own: 5})}
    total = {name: sum(f[0].get(name, 0) for f in functions.values()) for name in (own, grad)}
    runs = {name: sum(f[1].get(name, 0) for f in functions.values()) for name in (own, grad)}
    kept = [f for name, f in functions.items() if name != "eval"]
    steps = sum(f[1][own] for f in kept)
    expected = sum(sum(f[0].values()) for f in kept) / steps / 1e6
    op_times = profiles.OpTimes(files=[], total_ps=total, runs=runs, steps=8, all_ops_ps=sum(total.values()),
                                functions=functions)
    times = time_lib.Times(hierarchy, op_times)
    assert (times.steps, times.functions) == (steps, ("train", "train_again"))
    assert times.time_of(dense) == pytest.approx(expected)
    whole = time_lib.Times(hierarchy, profiles.OpTimes(files=[], total_ps=total, runs=runs, steps=8,
                                                       all_ops_ps=sum(total.values())))
    assert (whole.steps, whole.functions) == (8, ())
    assert whole.time_of(dense) == pytest.approx(sum(total.values()) / 8 / 1e6)


def test_a_function_running_ops_of_the_graph_no_other_kept_function_runs_is_kept():
    """A step whose optimizer update runs in a function of its own (its op in the graph, run by no other function):
    that function's time counts with the step's; an evaluation running only ops the step runs too does not."""
    nodes = DENSE + [("m/dense/grad", "MatMul", ["x", "m/dense/r"]), ("opt/update", "AssignSubVariableOp",
                                                                       ["m/dense/kernel", "m/dense/grad"])]
    hierarchy = hierarchy_of(nodes)
    own, grad, update = "m/dense/MatMul", "m/dense/grad", "opt/update"
    functions = {"fwd_bwd": ({own: 4 * 10**6, grad: 2 * 10**6}, {own: 2, grad: 2}),
                 "apply": ({update: 10 * 10**6}, {update: 2}),
                 "eval": ({own: 50 * 10**6}, {own: 5})}
    total = {name: sum(f[0].get(name, 0) for f in functions.values()) for name in (own, grad, update)}
    runs = {name: sum(f[1].get(name, 0) for f in functions.values()) for name in (own, grad, update)}
    op_times = profiles.OpTimes(files=[], total_ps=total, runs=runs, steps=2, all_ops_ps=sum(total.values()),
                                functions=functions)
    times = time_lib.Times(hierarchy, op_times)
    assert times.functions == ("apply", "fwd_bwd")
    assert times.time_of(hierarchy.root) == pytest.approx((4 + 2 + 10) * 10**6 / 2 / 1e6)


def test_op_events_go_to_the_function_run_holding_them_whatever_other_threads_run(tmp_path):
    """A training step's run on the host's Python line, and on another thread nine single eager ops (a data
    pipeline's) starting inside it: an op event inside the step's span is the step's (single ops' spans are no
    function runs). Written with TensorFlow's own XSpace message."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    for key, name in enumerate(["EagerLocalExecute: __inference_train_7", "EagerLocalExecute: ReadVariableOp",
                                "m/dense/MatMul:MatMul"], start=1):
        plane.event_metadata[key].name = name
    step_line = plane.lines.add(name="python", timestamp_ns=0)
    step_line.events.add(metadata_id=1, offset_ps=0, duration_ps=100 * 10**6)
    other = plane.lines.add(name="python", timestamp_ns=0)
    for k in range(9):
        other.events.add(metadata_id=2, offset_ps=(10 + k) * 10**6, duration_ps=10**6 // 2)
    ops = plane.lines.add(name="tf_Compute", timestamp_ns=0)
    ops.events.add(metadata_id=3, offset_ps=50 * 10**6, duration_ps=7 * 10**6)
    path = tmp_path / "host.xplane.pb"
    path.write_bytes(space.SerializeToString())
    op_times = profiles.read_op_times([str(path)])
    assert set(op_times.functions) == {"__inference_train_7"}
    assert op_times.functions["__inference_train_7"][0] == {"m/dense/MatMul": 7 * 10**6}
