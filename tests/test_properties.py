"""Issue 5, part 2: properties of the graph-to-hierarchy engine (graph.flatten_graph_def,
graph.flatten_trace, build.build_graph_hierarchy) on generated GraphDefs: without a
library, and with a small library of functions calling each other (or themselves, or
functions that do not exist) through calls and control-flow ops.

Whatever the graph: a tree whose root counts every op, unique paths, every op in exactly
one place, edges only between children of the group that lists them; and parsing bytes
raises nothing but graph.GraphError.
"""

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import config_pb2, function_pb2, graph_pb2, node_def_pb2, types_pb2

from tests.helpers.trees import ops_and_tree
from tb_module_plugin.readers import graph as graph_lib
from tb_module_plugin.serve import answers as answers_lib
from tb_module_plugin.build import builder as build_lib
from tb_module_plugin.build.module_record import build_module_hierarchy
from tb_module_plugin.serve import search as search_lib

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])
FEWER = settings(SETTINGS, max_examples=100)  # for the bigger inputs

# Name pieces that make the engine's rules fire: scopes shared and clashing with op names, numbered
# names that fold into series, the names it makes itself, empty segments, odd characters.
SEGMENTS = ["a", "b", "dense", "MatMul", "AddN", "AddN_1", "AddN_2", "AddN_3", "AddN_4", "x_7", "inputs", "outputs",
            "(a)", "a (2)", "AddN[0-4]", "", "then", "body", "é", "²", "AddN_²", "<b>", "other_functions"]
OPS = ["Const", "Relu", "AddN", "MatMul", "Identity", "NoOp", "_Arg", "_Retval", "VarHandleOp", "ReadVariableOp",
       "Placeholder"]
CALL_OPS = ["StatefulPartitionedCall", "PartitionedCall"]
FLOW_OPS = ["If", "StatelessIf", "While", "StatelessWhile", "Case"]
FUNCTIONS = ["f0", "f1", "f2"]  # the library draws from these; some calls name one that is not there

# Names of one to four segments (drawn as one choice: Hypothesis spends its time per draw).
NAMES = sorted({"/".join(SEGMENTS[(i * 7 + j * 3) % len(SEGMENTS)] for j in range(1 + i % 4)) for i in range(120)}
               | set(SEGMENTS) | {"a/b", "a/b/c", "b/a", "dense/MatMul", "dense/MatMul/ReadVariableOp", "/a", "a/"})


@st.composite
def node_defs(draw, in_function=False, calls=False, max_nodes=10):
    """NodeDefs whose inputs name each other (by `name`, `name:port`, `^name`, or `name:out:port`
    in functions), names that exist nowhere, and themselves. Names and op types are drawn (and
    shrink); the wiring and attributes come from a drawn seed."""
    ops = OPS + (CALL_OPS + FLOW_OPS + FUNCTIONS if calls else [])
    nodes = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(ops), st.integers(0, 2**16)),
                          min_size=0 if in_function else 1, max_size=max_nodes))
    pool = [n for n, _, _ in nodes] + ["ghost", "x"]
    functions = FUNCTIONS + ["missing"]
    out = []
    for name, op, seed in nodes:
        rng = random.Random(seed)
        node = node_def_pb2.NodeDef(name=name, op=op)
        for _ in range(rng.randrange(4)):
            target = rng.choice(pool)
            node.input.append(rng.choice([target, f"{target}:{rng.randrange(3)}", f"^{target}",
                                          f"{target}:output:{rng.randrange(3)}"]))
        if op in ("_Arg", "Placeholder") and rng.random() < 0.5:
            node.attr["T" if op == "_Arg" else "dtype"].type = types_pb2.DT_RESOURCE
        elif rng.random() < 0.5:
            node.attr["T"].type = types_pb2.DT_FLOAT
        if op in CALL_OPS and rng.random() < 0.8:
            node.attr["f"].func.name = rng.choice(functions)
        for attr in {"If": ("then_branch", "else_branch"), "StatelessIf": ("then_branch", "else_branch"),
                     "While": ("cond", "body"), "StatelessWhile": ("cond", "body")}.get(op, ()):
            node.attr[attr].func.name = rng.choice(functions)
        if op == "Case":
            for _ in range(rng.randrange(4)):
                node.attr["branches"].list.func.add(name=rng.choice(functions))
        out.append(node)
    return out


@st.composite
def function_defs(draw):
    f = function_pb2.FunctionDef()
    f.signature.name = draw(st.sampled_from(FUNCTIONS))
    for i in range(draw(st.integers(0, 2))):
        f.signature.input_arg.add(name=["x", "y"][i], type=types_pb2.DT_FLOAT)
    f.node_def.extend(draw(node_defs(in_function=True, calls=True, max_nodes=5)))
    targets = [n.name for n in f.node_def] + ["x", "ghost"]
    for i in range(draw(st.integers(0, 2))):
        f.signature.output_arg.add(name=f"out{i}", type=types_pb2.DT_FLOAT)
        if draw(st.booleans()):
            f.ret[f"out{i}"] = f"{draw(st.sampled_from(targets))}:output:{draw(st.integers(0, 1))}"
    return f


@st.composite
def graph_defs(draw, library=False):
    g = graph_pb2.GraphDef()
    g.node.extend(draw(node_defs(calls=library)))
    if library:
        g.library.function.extend(draw(st.lists(function_defs(), max_size=3)))
    return g


def op_key(op) -> tuple:
    """What tells an op of the parsed graph apart, whatever tree it ends up in: the function it comes from, the
    calls it runs inside, its name there and its type."""
    return (op.function, op.call_prefix, op.op_name, op.type)


def check_tree(h, ops):
    """The properties every built hierarchy has. `ops`: the op list of the graph as parsed (flattened apart from
    the tree, or the very list the build was given), never the tree's own leaves: against those, a build that
    drops or duplicates an op would agree with itself."""
    nodes = h.all_nodes
    root = h.root
    placed = [n for n in nodes if n.children is None]
    assert len({id(n) for n in placed}) == len(placed), "an op object is placed twice"
    in_tree, parsed = Counter(map(op_key, placed)), Counter(map(op_key, ops))
    assert in_tree == parsed, (f"ops missing from the tree: {sorted((parsed - in_tree).elements())[:5]}; "
                               f"ops placed more often than parsed: {sorted((in_tree - parsed).elements())[:5]}")
    assert root.num_ops == len(ops)
    paths = [n.path for n in nodes]
    assert len(paths) == len(set(paths)), "two nodes share a path"
    for node in nodes:
        if node is root:
            continue
        assert node.name and "/" not in node.name, node.name
        assert node.path == (f"{node.parent.path}/{node.name}" if node.parent is not root else node.name)
        assert node.parent.children[node.name] is node
        assert h.find(node.path) is node
        if node.children is not None:
            assert node.num_ops == sum(c.num_ops for c in node.children.values())
    for group in nodes:
        if group.children is None:
            continue
        answer = answers_lib.node_json(h, group.path, 1)
        children = {c["path"] for c in answer["children"]}
        assert children == {c.path for c in group.children.values()}
        for edge in answer["edges"]:
            assert edge["from"] in children and edge["to"] in children and edge["from"] != edge["to"], edge
            assert edge["count"] >= 1
    for node in nodes[:60]:  # every answer can be given
        details = answers_lib.details_json(h, node.path)
        for end in details.get("inputs", []) + details.get("outputs", []):
            assert h.find(end["path"]).children is None or node.children is not None, end
    search_lib.search(h, "a", False, 50)
    search_lib.search(h, "a|b", True, 50)


@SETTINGS
@given(graph_defs(library=False))
def test_graphs_without_functions(graph_def):
    ops, h = ops_and_tree(graph_def)
    check_tree(h, ops)
    # Without a library the graph's own NodeDefs are the op list: the leaves are exactly those.
    leaves = [n for n in h.all_nodes if n.children is None]
    assert Counter((n.op_name, n.type) for n in leaves) == Counter((n.name, n.op) for n in graph_def.node)


@SETTINGS
@given(graph_defs(library=False))
def test_the_lean_parse_answers_as_the_full_one(graph_def):
    """The server parses records with lite_proto's messages; every answer equals the one from a full GraphDef."""
    lean = graph_lib.parse_graph_def(graph_def.SerializeToString()) if graph_def.node else graph_def
    (_, full), (_, lean) = ops_and_tree(graph_def), ops_and_tree(lean)
    assert answers_lib.node_json(lean, "", answers_lib.MAX_DEPTH) == answers_lib.node_json(full, "", answers_lib.MAX_DEPTH)
    for node in full.all_nodes[:40]:
        assert answers_lib.details_json(lean, node.path) == answers_lib.details_json(full, node.path)


@FEWER
@given(graph_defs(library=True))
def test_graphs_with_a_library_of_functions(graph_def):
    ops, h = ops_and_tree(graph_def)
    check_tree(h, ops)


@FEWER
@given(st.lists(graph_defs(library=True), min_size=1, max_size=3))
def test_traces_of_several_graphs(graph_defs_):
    """A trace_export record: the last real graph is the user's, the others are tucked away."""
    run_metadata = config_pb2.RunMetadata()
    for g in graph_defs_:
        run_metadata.function_graphs.add().pre_optimization_graph.CopyFrom(g)
    graphs = graph_lib.parse_run_metadata(run_metadata.SerializeToString())
    try:
        flat = graph_lib.flatten_trace(graphs)
    except graph_lib.GraphError as e:  # (only eager ops' graphs: no function to show, and a message that says so)
        assert all(graph_lib.is_eager_op_graph(g) for g in graphs) and "jit_compile" in str(e)
        return
    h = build_lib.build_graph_hierarchy(flat, "trace")
    every_op = flat.ops + [op for _, ops in flat.other_functions for op in ops] + flat.eager_ops
    check_tree(h, every_op)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from(["graph_def", "run_metadata"]))
def test_any_bytes_are_a_graph_or_a_graph_error(blob, kind):
    try:
        if kind == "graph_def":
            ops, h = ops_and_tree(graph_lib.parse_graph_def(blob))
        else:
            flat = graph_lib.flatten_trace(graph_lib.parse_run_metadata(blob))
            ops = flat.ops + [op for _, o in flat.other_functions for op in o] + flat.eager_ops
            h = build_lib.build_graph_hierarchy(flat, "trace")
    except graph_lib.GraphError as e:
        assert str(e)
        return
    check_tree(h, ops)


@FEWER
@given(graph_defs(library=True), st.data())
def test_corrupted_records_are_a_graph_or_a_graph_error(graph_def, data):
    """A real record with bytes flipped, cut or inserted (a disk or a copy gone wrong)."""
    blob = bytearray(graph_def.SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(blob)))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip" and at < len(blob):
            blob[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    try:
        graph = graph_lib.parse_graph_def(bytes(blob))
    except graph_lib.GraphError:
        return
    ops, h = ops_and_tree(graph)
    check_tree(h, ops)


@pytest.mark.parametrize("error,status", [("GraphError", 422), ("NotFound", 404), ("BadQuery", 400),
                                          ("BadRequest", 400), ("RecordNotFound", 404)])
@pytest.mark.parametrize("route", ["hierarchy", "node", "search"])
def test_the_plugin_error_types_are_what_the_routes_answer(tmp_path, monkeypatch, error, status, route):
    """The error types these properties allow (and the other ones the engine raises) become a JSON 4xx answer
    with their message, on every route: raised where the graph is fetched, as a real failure would be."""
    from tests.helpers.answers import InProcess
    from tests.helpers.answers import error as error_message
    from tb_module_plugin.serve import query, search
    from tb_module_plugin.build import sources
    from tb_module_plugin.tree import hierarchy as tree

    kind = {"GraphError": graph_lib.GraphError, "NotFound": tree.NotFound, "BadQuery": search.BadQuery,
            "BadRequest": query.BadRequest, "RecordNotFound": sources.RecordNotFound}[error]
    plugin = InProcess(tmp_path)
    message = f"what the user reads about a {error}"

    def fail(*args, **kwargs):
        raise kind(message)

    monkeypatch.setattr(plugin.plugin.store, "hierarchy", fail)
    assert error_message(plugin.api(route, run="r", tag="t", q="x"), status) == message


@pytest.mark.parametrize("depth", [1, 1200])
def test_deep_names_build_without_recursion(depth):
    """Scopes nest as deep as names say (past Python's recursion limit)."""
    g = graph_pb2.GraphDef()
    g.node.add(name="/".join(["s"] * depth) + "/op", op="Relu")
    ops, h = ops_and_tree(g)
    check_tree(h, ops)
    assert max(n.depth for n in h.all_nodes) == depth + 1


# Manifests of module records: every field of the format, each drawn as what it should be or as anything JSON.
JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 40) | st.sampled_from(NAMES),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(NAMES), inner,
                                                                                 max_size=4), max_leaves=12)


def _field(good):
    return st.one_of(good, JSON)


@st.composite
def manifests(draw, graph_def):
    names = [n.name for n in graph_def.node] or ["x"]
    variables = draw(st.lists(st.fixed_dictionaries({
        "name": _field(st.sampled_from(NAMES)), "shape": _field(st.lists(st.integers(-1, 5), max_size=3)),
        "dtype": st.just("float32"), "trainable": st.booleans(), "capture": _field(st.sampled_from(names))}),
        max_size=4))
    modules = []
    for i in range(draw(st.integers(1, 5))):
        modules.append(draw(st.fixed_dictionaries({
            "path": _field(st.sampled_from(["", "a", "b[0]", "c.d"])),
            "parent": st.none() if i == 0 else _field(st.integers(0, i - 1)),
            "name": _field(st.sampled_from(NAMES)),
            "class_name": st.just("m.M"),
            "variables": _field(st.lists(st.integers(0, max(len(variables) - 1, 0)), max_size=3)),
            "aliases": _field(st.lists(st.fixed_dictionaries({"path": st.sampled_from(["x", "y"]),
                                                               "parent": st.integers(0, 5)}), max_size=2)),
            "calls": _field(st.dictionaries(st.sampled_from(["", "f0", "f1"]),
                                            st.lists(st.sampled_from(names), max_size=4), max_size=2)),
        })))
    return {"version": draw(st.sampled_from([1, 2, 2, 2, 3])), "function": "f", "modules": modules,
            "variables": variables}


@FEWER
@given(graph_defs(library=True), st.data())
def test_any_module_record_is_a_tree_or_a_graph_error(graph_def, data):
    """A module record whose manifest holds anything (fields missing, of the wrong type, indexes out of range,
    aliases and calls naming what is not there): a tree with every op in one place, or a GraphError."""
    import json

    from tb_module_plugin.readers import manifest as manifest_lib

    manifest = data.draw(manifests(graph_def))
    try:
        parsed = manifest_lib.parse_manifest(json.dumps(manifest).encode())
        graph = graph_lib.parse_graph_def(graph_def.SerializeToString())
    except graph_lib.GraphError as e:
        assert str(e)
        return
    h = build_module_hierarchy(parsed, graph, [], "record")
    check_tree(h, graph_lib.flatten_graph_def(graph))  # the graph's ops, flattened apart from the build


def _drop_one_op(h) -> tuple:
    """What a build that loses an op leaves: the tree without one leaf, its counts summed again so that the tree
    agrees with itself. Returns the dropped op's key."""
    from tb_module_plugin.tree import hierarchy as tree_lib

    leaf = next(n for n in reversed(h.all_nodes) if n.children is None)
    del leaf.parent.children[leaf.name]
    h.all_nodes.clear()
    tree_lib.finalize(h.root, h.all_nodes)
    h.group_details.clear()
    return op_key(leaf)


@pytest.mark.parametrize("kind", ["graph", "module record"])
def test_a_build_that_drops_an_op_is_caught(kind):
    """The check above fails on a tree one op short, which a check against the tree's own leaves lets pass."""
    import json

    from tb_module_plugin.readers import manifest as manifest_lib

    g = graph_pb2.GraphDef()
    for name, op, inputs in [("x", "Placeholder", []), ("dense/w", "Const", []),
                             ("dense/MatMul", "MatMul", ["x", "dense/w"]), ("dense/Relu", "Relu", ["dense/MatMul"]),
                             ("out", "Identity", ["dense/Relu"])]:
        g.node.add(name=name, op=op, input=inputs)
    if kind == "graph":
        ops, h = ops_and_tree(g)
    else:
        manifest = {"version": 2, "function": "f", "variables": [], "modules": [
            {"path": "", "parent": None, "name": "net", "class_name": "m.Net", "variables": [], "aliases": [],
             "calls": {}},
            {"path": "dense", "parent": 0, "name": "dense", "class_name": "m.Dense", "variables": [], "aliases": [],
             "calls": {"": ["dense/MatMul", "dense/Relu"]}}]}
        h = build_module_hierarchy(manifest_lib.parse_manifest(json.dumps(manifest).encode()), g, [],
                                                "record")
        ops = graph_lib.flatten_graph_def(g)
    check_tree(h, ops)  # the sound build passes
    dropped = _drop_one_op(h)
    leaves = [n for n in h.all_nodes if n.children is None]
    assert h.root.num_ops == len(leaves) == len(ops) - 1  # the broken tree agrees with itself
    with pytest.raises(AssertionError) as caught:
        check_tree(h, ops)
    assert f"ops missing from the tree: [{dropped!r}]" in str(caught.value), caught.value
