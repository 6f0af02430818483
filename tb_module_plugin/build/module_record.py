"""The hierarchy of a `module_graph` record: the real module objects its manifest describes (readers/manifest.py),
each op placed in the module whose call made it (record_ops.py), then the build passes (builder.py)."""

from __future__ import annotations

from ..readers import graph as graph_lib
from ..readers import manifest as manifest_lib
from ..readers.budget import Budget
from ..tree import ops as ops_lib
from ..tree.hierarchy import Hierarchy
from . import passes, record_ops
from .builder import build_graph_hierarchy


def build_module_hierarchy(manifest: dict, graph_def, other_graph_defs: list, name: str) -> Hierarchy:
    """The module tree of a record; further functions (a SavedModel's other signatures) go to `other_functions`."""
    variables = manifest["variables"]
    modules = manifest_lib.modules_of(manifest)
    budget = Budget()  # one for the record's graphs together
    returns = manifest.get("returns")
    ops, returned = graph_lib.flatten_returning(graph_def, returns or [], budget)
    if manifest.get("call_prefix"):
        ops_lib.prefix_calls(ops, manifest["call_prefix"])
    passes.merge_replicas(ops)  # (before the ops go to modules by their scopes)
    holders = record_ops.place_ops(ops, modules, variables)
    labels = manifest.get("other_functions") if isinstance(manifest.get("other_functions"), list) else []
    others = [(str(labels[i]) if i < len(labels) else f"function_{i}", graph_lib.flatten_graph_def(g, budget))
              for i, g in enumerate(other_graph_defs)]
    flat = graph_lib.FlatGraph(ops=ops, other_functions=others, eager_ops=[])
    shared = {v for v, held in holders.items() if len(held) > 1}
    listed = list(modules[0].subtree())  # (in the order of each module's children: build.py lists them so)
    hierarchy = build_graph_hierarchy(flat, name, modules={m.tree_path: m.facts(variables, shared) for m in listed},
                                      values={m.tree_path: m.values(variables) for m in modules})
    hierarchy.returns = returned if returns is not None else None  # (measures.liveness)
    return hierarchy
