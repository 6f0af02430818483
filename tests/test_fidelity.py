"""What the tab says about models from real libraries, compared with what their live objects said.

tests/helpers/corpus.py builds Keras 3 (ResNet50, a functional model with a nested Sequential), keras-hub (a BERT
backbone from a config), tf_keras, Sonnet, TensorFlow Probability and a tf.Module RNN (a nested tf.function in
tf.while_loop and tf.cond), records each as a user would (a traced step, a `module_graph` record, for some a
SavedModel imported), and writes down what the objects said while they were recorded (truth.json). Here that
is compared with the answers of a real `tensorboard` (`hierarchy`), of `summary --json`, and, op by op, of the
engine itself: nothing below is a number typed in by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers.answers import check_record, full_tree, nodes, record_modules, walk
from tests.helpers.processes import QUIET_TF_ENV
from tb_module_plugin.cli import main as cli
from tb_module_plugin.build import sources

# Names of op helpers' scopes: a module named so would be invented (the check also takes every op type of the graph).
HELPER_NAMES = {"Cast", "batchnorm", "moments", "convolution", "einsum", "Tensordot", "embedding_lookup",
                "ReadVariableOp", "BiasAdd", "MatMul", "inverse", "forward", "log_prob", "forward_log_det_jacobian"}


@pytest.fixture(scope="session")
def cli_json(corpus_logdir):
    """`summary LOGDIR --json --depth 8`, once for every record."""
    result = subprocess.run([sys.executable, "-m", "tb_module_plugin", "summary", str(corpus_logdir), "--json",
                             "--depth", "8"], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, **QUIET_TF_ENV))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def engine(corpus_logdir):
    """(run, tag) -> (the engine's Hierarchy, the record's blobs), built in this process."""
    from tensorboard import context

    provider = cli.logdir_data_provider(str(corpus_logdir))
    ctx = context.RequestContext()
    out = {}
    for record in sources.list_graphs(provider, ctx, ""):
        blobs = [provider.read_blob(ctx, blob_key=k) for k in sources.latest_blob_keys(provider, ctx, "", record)]
        out[(record.run, record.tag)] = (sources.build_hierarchy(record, blobs), blobs)
    return out


def entries(truth, source):
    return sorted((e for e in truth.values() if e["source"] == source and "modules" in e), key=lambda e: e["run"])


# -- Traces: the tree from the graph alone ----------------------------------------------------------------------


def arg_name(capture: str) -> str:
    """The `_Arg` a trace holds for a captured variable: the placeholder's name, lower case, `/` as `_`."""
    return capture.lower().replace("/", "_")


def trace_nodes(tree, entry):
    """({truth module index: the tree node of that module}, nodes by path, parent paths), found from where the
    captured variables sit. A variable several modules hold (a flow's, its bijector's) belongs to the deepest of
    them, which reads it. A module that holds no such variable (a container, a Keras model) is the deepest module
    node above all of its descendants' nodes."""
    parent_of, by_path = {}, {}
    for node, ancestors in walk(tree):
        by_path[node["path"]] = node
        if ancestors:
            parent_of[node["path"]] = ancestors[-1]["path"]
    arg_parent = {n["name"]: parent_of[n["path"]] for n in nodes(tree) if n.get("role") == "variable"}
    modules = {m["index"]: m for m in entry["modules"]}
    depth, frontier = {0: 0}, [0]
    while frontier:  # the depth of each module in the framework's tree
        following = []
        for index in frontier:
            for child in modules[index]["children"]:
                if child in modules and child not in depth:
                    depth[child] = depth[index] + 1
                    following.append(child)
        frontier = following
    holders: dict = {}
    for index, module in modules.items():
        for v in module["own_state"]:
            if v["capture"]:
                holders.setdefault(v["capture"], []).append(index)
    homes: dict = {}  # module index -> the nodes its captured variables sit in
    for capture, held in holders.items():
        owner = max(held, key=lambda i: depth.get(i, -1))
        homes.setdefault(owner, set()).add(arg_parent.get(arg_name(capture)))
    found = {}
    for index, places in homes.items():
        assert len(places) == 1 and None not in places, (entry["run"], modules[index]["paths"][0], places)
        found[index] = places.pop()

    def below(index, seen=()):
        out = []
        for child in modules[index]["children"]:
            if child in modules and child not in seen:
                out += ([found[child]] if child in homes else []) + below(child, seen + (index,))
        return out

    for index in sorted(modules, key=lambda i: -depth.get(i, 0)):  # deepest first
        nodes_below = below(index)
        if index in found or not nodes_below:
            continue
        common = os.path.commonpath(["/" + p for p in nodes_below])[1:]
        if common in nodes_below:
            common = parent_of.get(common)
        while common and by_path[common]["kind"] != "module":
            common = parent_of.get(common)
        if common:
            found[index] = common
    return found, by_path, parent_of


def test_every_library_is_in_the_corpus(truth):
    models = {e["model"] for e in truth.values()}
    assert models == {"keras3_resnet50", "keras3_functional", "keras_hub_bert", "tf_keras_functional",
                      "sonnet_convnet", "tfp_flow", "rnn"}
    assert {e["source"] for e in truth.values()} == {"trace", "module"}
    assert len(entries(truth, "trace")) == len(models) and len(entries(truth, "module")) == len(models)


def test_traces_modules_are_the_objects_that_own_variables(corpus_tb, truth):
    """Every module that owns a captured variable is one module node holding all its variables; a container is
    a module above them; no other scope is a module; and no module is named after an op helper."""
    for entry in entries(truth, "trace"):
        tree = full_tree(corpus_tb, entry["run"], entry["tag"])
        found, by_path, parent_of = trace_nodes(tree, entry)
        modules = {m["index"]: m for m in entry["modules"]}
        for index, path in found.items():
            assert by_path[path]["kind"] == "module", (entry["run"], modules[index]["paths"][0], path)
        root_path = found.get(0)
        assert root_path is not None, entry["run"]
        under_root = {n["path"] for n in nodes(by_path[root_path]) if n["kind"] == "module"}
        expected = {p for p in found.values() if p == root_path or p.startswith(root_path + "/")}
        assert under_root == expected, (entry["run"], sorted(under_root ^ expected)[:20])
        op_types = {n["op"] for n in nodes(tree) if n["kind"] == "op"}
        real_names = {_base(m["name"]) for m in entry["modules"]}
        for node in nodes(tree):
            if node["kind"] == "module":
                base = _base(node["name"])
                assert base in real_names or base not in HELPER_NAMES | op_types, (entry["run"], node["path"])


def _base(name: str) -> str:
    return re.sub(r"(?:_\d+)+$", "", name)


def test_resnet50_training_step_has_one_module_per_layer_with_weights(corpus_tb, truth):
    entry = truth["keras3_resnet50_trace"]
    tree = full_tree(corpus_tb, entry["run"], entry["tag"])
    found, by_path, _ = trace_nodes(tree, entry)
    weighted = [m for m in entry["modules"] if m["own_state"]]
    expected = 1 + len([m for m in weighted if m["index"] != 0])  # the model and its layers with weights
    model = by_path[found[0]]
    modules = [n for n in nodes(model) if n["kind"] == "module"]
    assert len(modules) == expected, (len(modules), expected)
    # Keras's own account, apart from the variables a trace reads: the modules whose count_params() is not 0.
    assert expected == len([m for m in entry["modules"] if m["num_params"] > 0])


def located_modules(entry) -> set:
    """The modules a trace can place: those that hold a captured variable, and those above one (the graph says
    nothing of where a parameter-free module that holds none sits)."""
    modules = {m["index"]: m for m in entry["modules"]}
    located = {i for i, m in modules.items() if any(v["capture"] for v in m["own_state"])}
    grew = True
    while grew:
        above = {i for i, m in modules.items() if i not in located and located & set(m["children"])}
        grew = bool(above)
        located |= above
    return located


def test_traces_ops_belong_to_the_module_whose_call_made_them(corpus_tb, truth, engine):
    """Op by op (the engine's own tree): each op a module's call made is inside that module's node. (A called
    function's unscoped return plumbing, `Identity`/`NoOp`, stays with its call.) Every module the trace can
    place is found first: a module lost is a failure, not a check fewer."""
    for entry in entries(truth, "trace"):
        tree = full_tree(corpus_tb, entry["run"], entry["tag"])
        found, _, _ = trace_nodes(tree, entry)
        modules = {m["index"]: m for m in entry["modules"]}
        located = located_modules(entry)
        assert located and located <= set(found), (
            entry["run"], sorted(modules[i]["paths"][0] for i in located - set(found))[:10])
        hierarchy, _ = engine[(entry["run"], entry["tag"])]
        where = _op_paths(hierarchy)
        misplaced, checked = [], 0
        recorded = any(modules[i]["calls"] for i in located)  # (a TFP flow's bijectors are not called: none)
        for index in sorted(located):
            module, home = modules[index], found[index]
            for function, names in module["calls"].items():
                for name in names:
                    if function and "/" not in name:
                        continue
                    paths = where.get((function, name), ())
                    checked += len(paths)
                    misplaced += [(module["paths"][0], function, name, path) for path in paths
                                  if not (path == home or path.startswith(home + "/"))]
        assert checked or not recorded, (entry["run"], "no op made by a placed module was found in the tree")
        assert not misplaced, (entry["run"], len(misplaced), misplaced[:10])


def _op_paths(hierarchy) -> dict:
    """(function, op name) -> the paths of the tree's ops made from it (a function called twice: two). The
    traced function's own inputs and outputs are left out: they are grouped as such, whoever made them."""
    out: dict = {}
    for node in hierarchy.all_nodes:
        if node.children is None and node.role not in ("input", "output"):
            out.setdefault((node.function, node.op_name), []).append(node.path)
    return out


def test_rnn_cell_called_in_a_loop_sits_in_its_own_scope(corpus_tb, truth):
    entry = truth["rnn_trace"]
    tree = full_tree(corpus_tb, entry["run"], entry["tag"])
    found, by_path, _ = trace_nodes(tree, entry)
    cell = next(m for m in entry["modules"] if m["paths"][0] == "cell")
    assert found[cell["index"]] == f"{found[0]}/cell"
    assert "/while/" not in found[cell["index"]]
    groups = [n["path"] for n in nodes(tree) if n["kind"] != "op"]
    assert not any(p.endswith("/cell") and "/while/" in p for p in groups), groups
    functions = [n for n in nodes(tree) if n.get("role") == "function"]  # whole graphs of other functions
    assert not any("/cell/" in n["path"] for f in functions for n in nodes(f)), [f["name"] for f in functions]


# -- Records: the module objects ---------------------------------------------------------------------------------


def _root_node(tree, entry):
    return next(n for n in tree["children"] if n["kind"] == "module" and n.get("attribute_path") == "")


def test_records_match_the_objects_through_tensorboard(corpus_tb, truth):
    for entry in entries(truth, "module"):
        tree = full_tree(corpus_tb, entry["run"], entry["tag"])
        check_record(tree, entry, f"{entry['run']} via tensorboard")


def test_records_match_the_objects_through_the_command_line(cli_json, truth):
    for entry in entries(truth, "module"):
        check_record(cli_json[f"{entry['run']}/{entry['tag']}"], entry, f"{entry['run']} via summary --json")


def test_records_ops_belong_to_the_module_whose_call_made_them(engine, truth):
    """The record says which module's call made each op; each such op is in that module's node or in one of its
    descendants' (a module whose method, not `__call__`, ran); every module whose call made ops shows some, the
    parameter-free layers (Add, Softmax, Dropout) included."""
    for entry in entries(truth, "module"):
        hierarchy, blobs = engine[(entry["run"], entry["tag"])]
        manifest = json.loads(blobs[0])
        where = _op_paths(hierarchy)
        node_of = {n.facts["attribute_path"]: n.path for n in hierarchy.all_nodes
                   if n.children is not None and n.facts and "attribute_path" in n.facts}
        misplaced, empty = [], []
        for module in manifest["modules"]:
            home = node_of[module["path"]]
            made = [p for function, names in module.get("calls", {}).items() for name in names
                    for p in where.get((function, name), ()) if not (function and "/" not in name)]
            misplaced += [(module["path"], p) for p in made if not (p == home or p.startswith(home + "/"))]
            if made and not hierarchy.find(home).num_ops:
                empty.append(module["path"])
        assert not misplaced and not empty, (entry["run"], misplaced[:10], empty)


def test_parameter_free_keras_layers_own_their_ops(engine, truth):
    for run in ("keras3_functional_record", "tf_keras_functional_record"):
        entry = truth[run]
        hierarchy, _ = engine[(run, entry["tag"])]
        layers = {n.facts["attribute_path"]: n for n in hierarchy.all_nodes
                  if n.children is not None and n.facts and "attribute_path" in n.facts}
        free = [m for m in entry["modules"] if m["name"] in ("add", "softmax")]
        assert {m["name"] for m in free} == {"add", "softmax"} and not any(m["num_params"] for m in free), run
        for module in free:
            node = layers[next(p for p in module["paths"] if p in layers)]
            assert node.num_ops > 0, (run, module["name"])
            assert any(n.children is None and n.type in ("AddV2", "Add", "Softmax") for n in node.children.values())


def test_records_list_keras_layers_in_the_models_own_order(engine, truth):
    """A functional model's layers (`model.layers`, what `model.summary()` lists: the input layer and a Dropout
    at inference, which make no ops, included), and a nested Sequential's, in the model's own order."""
    checked = 0
    for run in ("keras3_functional_record", "tf_keras_functional_record"):
        entry = truth[run]
        hierarchy, _ = engine[(run, entry["tag"])]
        nodes_by_path = {n.facts["attribute_path"]: n for n in hierarchy.all_nodes
                         if n.children is not None and n.facts and "attribute_path" in n.facts}
        index_of = {path: m["index"] for m in entry["modules"] for path in m["paths"]}
        for module in entry["modules"]:
            if len(module["children"]) < 2:
                continue
            node = nodes_by_path[next(p for p in module["paths"] if p in nodes_by_path)]
            listed = [index_of[c.facts["attribute_path"]] for c in hierarchy.in_flow_order(node)
                      if c.children is not None and c.kind == "module" and c.facts]
            assert listed == module["children"], (run, module["name"], listed, module["children"])
            checked += 1
    assert checked >= 4, checked


def _signature(module) -> tuple:
    """What makes two sibling modules alike by the objects' own account: class, the sizes of the variables they
    hold (own and reached: the framework's counts), and their sub-modules' classes."""
    return (module["class_name"], sorted(v["size"] for v in module["own_variables"]), module["num_params"],
            module["num_trainable_params"], len(module["children"]))


def test_repeat_marks_of_records_join_only_modules_alike(corpus_tb, truth):
    """Siblings a record marks as one structure are alike by their objects (class, parameter sizes and counts,
    sub-modules), and the record compared their parameter shapes. Every record of the corpus (a ResNet's 64-channel
    BatchNorm layers are one structure, its 128-channel ones another; a BERT's identical transformer layers)."""
    marked_total = 0
    for entry in entries(truth, "module"):
        by_path = {path: module for module in entry["modules"] for path in module["paths"]}
        tree = full_tree(corpus_tb, entry["run"], entry["tag"])
        for group, _ in walk(tree):
            alike: dict = {}
            for child in group.get("children", []):
                if "repeat" in child:
                    alike.setdefault(child["repeat"]["key"], []).append(child)
            for key, members in alike.items():
                assert all(m["repeat"]["count"] == len(members) for m in members), (entry["run"], key)
                assert all(m["repeat"]["shapes_compared"] for m in members), (entry["run"], key)
                signatures = {json.dumps(_signature(by_path[m["attribute_path"]])) for m in members}
                assert len(signatures) == 1, (entry["run"], group["path"], key, signatures)
                marked_total += len(members)
    assert marked_total > 50  # (ResNet50's layers alone hold more)


def test_repeat_marks_of_traces_say_the_shapes_were_not_compared(corpus_tb, truth):
    """A trace records no parameter shapes: its marks say so (the page's sentence says what was compared)."""
    entry = truth["keras3_resnet50_trace"]
    tree = full_tree(corpus_tb, entry["run"], entry["tag"])
    marks = [n["repeat"] for n in nodes(tree) if "repeat" in n]
    with_params = [n["repeat"] for n in nodes(tree) if "repeat" in n and any(
        c.get("role") == "variable" for c in n.get("children", []))]
    assert marks and with_params and not any(m["shapes_compared"] for m in with_params)


def test_shared_variables_are_counted_once(corpus_tb, truth):
    """The flow's variables are also its bijectors': counted once in the flow, marked shared in each holder."""
    entry = truth["tfp_flow_record"]
    tree = full_tree(corpus_tb, entry["run"], entry["tag"])
    flow = _root_node(tree, entry)
    root_truth = next(m for m in entry["modules"] if m["index"] == 0)
    assert flow["num_params"] == root_truth["num_params"] == sum(v["size"] for v in root_truth["own_variables"])
    shared = [v for n in record_modules(tree) for v in n["variables"] if v["shared"]]
    assert len(shared) >= 4  # each of the two variables, in the flow and in its bijector


# -- SavedModels --------------------------------------------------------------------------------------------------


def test_savedmodel_import_counts_each_variable_once(corpus_tb, truth):
    for entry in (e for e in truth.values() if e["run"].endswith("_savedmodel")):
        tree = full_tree(corpus_tb, entry["run"], entry["tag"])
        root = _root_node(tree, entry)
        assert (root["num_params"], root["num_trainable_params"]) == (
            entry["num_params"], entry["num_trainable_params"]), entry["run"]
        assert "_UserObject" not in json.dumps(tree)
        by_name = {n["name"]: n for n in record_modules(tree)}
        named = set(entry["layers"]) & set(by_name)  # (layers a SavedModel keeps without their names are not)
        if entry["run"] == "tf_keras_functional_savedmodel":  # model.save keeps Keras's metadata: every name
            assert named == set(entry["layers"]), (entry["run"], sorted(set(entry["layers"]) - named))
        for layer in sorted(named):
            assert by_name[layer]["num_params"] == entry["layers"][layer]["num_params"], (entry["run"], layer)
        if entry["model"] == "tf_keras_functional":  # its layers are in the SavedModel: every one is shown
            assert len(record_modules(tree)) == 1 + len(entry["layers"]) + 3  # the Sequential's three layers
        if entry["run"] == "tf_keras_functional_savedmodel":  # model.save keeps Keras's metadata: names, classes
            for layer, facts in entry["layers"].items():
                assert by_name[layer]["class_name"] == facts["class_name"], (entry["run"], layer)
            assert root["name"] == "functional" and root["class_name"] == "Functional"
