"""The plugin's tree of a GraphDef built in-process, as the engine's tests look at it (no record, no profile)."""

from __future__ import annotations

from tb_module_plugin.build import builder as build_lib
from tb_module_plugin.readers import graph as graph_lib


def ops_and_tree(graph_def, name: str = "test") -> tuple:
    """(the ops the plugin parses of `graph_def`, the tree it builds of them)."""
    ops = graph_lib.flatten_graph_def(graph_def)
    return ops, build_lib.build_graph_hierarchy(graph_lib.FlatGraph(ops, [], []), name)


def build(graph_def, name: str = "test"):
    """The tree the plugin builds of `graph_def`."""
    return ops_and_tree(graph_def, name)[1]
