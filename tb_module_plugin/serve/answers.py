"""The `hierarchy` and `node` answers (docs/api.md): walks over a built tree (tree.Hierarchy)."""

from __future__ import annotations

from ..measures import overlays
from ..measures.costs import count_costs
from ..tree import ops as ops_lib
from .. import schema
from ..tree.attrs import format_attrs
from ..tree.hierarchy import ancestor_names, ops_under

MAX_DEPTH = 8  # levels a `hierarchy` answer may list
MAX_DETAIL_ENDS = 200  # inputs/outputs listed in a `node` answer; the rest is counted
MAX_REMEMBERED_DETAILS = 256  # groups whose `node` answer a hierarchy keeps (each at most 2 x MAX_DETAIL_ENDS rows)


# The answers by path, for the routes, the command line and the tests; `times`: a measures.time.Times of this
# graph, to answer with measured time. A small graph's FLOPs are counted before its first answer.
def node_json(h, path: str, depth: int, times=None) -> schema.HierarchyNode:
    with h.turns.answering():  # (ahead of serve.settle's work)
        count_costs(h, small_only=True)
        return hierarchy_node(h, h.find(path), depth, times)


def details_json(h, path: str, times=None) -> schema.NodeDetails:
    with h.turns.answering():
        count_costs(h, small_only=True)
        return node_details(h, h.find(path), times)


def hierarchy_node(h, node, depth: int, times=None) -> schema.HierarchyNode:
    """A node and, `depth` levels down, its children and the edges between them (with measured `times`)."""
    path = node.path
    out = schema.HierarchyNode(path=path, name=node.name, kind=node.kind)
    if node.children is None:
        if node.role == "variable":  # (an op's other roles say which group it is in)
            out["role"] = node.role
        out["op"] = node.type
        if node.not_expanded:
            out["not_expanded"] = node.not_expanded
        out["num_ops"] = 1
        node_def = node.node_def
        out["device"] = node_def.device
        out["inputs"] = [schema.OpInput(path=p.path, port=port, control=control) for p, port, control in node.inputs]
        out["attrs"] = format_attrs(node_def.attr)
        _overlays(h, node, out, times, {})
    else:
        if node.role:
            out["role"] = node.role
        out["num_ops"] = node.num_ops
        out["num_children"] = len(node.children)
        if node.parent is None and h.unexpanded_ops:
            out["unexpanded_ops"] = h.unexpanded_ops
        _overlays(h, node, out, times, node.facts or {})
    if node.children is not None:
        if depth > 0:
            out["children"] = [hierarchy_node(h, c, depth - 1, times) for c in h.in_flow_order(node)]
            out["edges"] = h.group_edges(node)
            for child_json, repeat in zip(out["children"], repeats(h, node)):
                if repeat:
                    child_json["repeat"] = repeat
        else:
            out["has_children"] = bool(node.children)
    return out


def repeats(h, group) -> list:
    """For each child: a schema.RepeatMark when it is one of several sibling modules of the same structure
    (tree.Hierarchy.structure_of: `block_0`..`block_47`; the 64-channel BatchNorm layers of a ResNet), keyed by
    the first such sibling's name; the page folds three or more of them in a row into one node."""
    children = list(group.children.values())
    sizes: dict = {}  # only siblings of equal size can have the same structure: compare those alone
    for child in children:
        if child.kind == "module":
            size = (child.num_ops, len(child.children))
            sizes[size] = sizes.get(size, 0) + 1
    keys = [h.structure_of(c) if c.kind == "module" and sizes[(c.num_ops, len(c.children))] > 1
            and (c.children or (c.facts or {}).get("class_name")) else None for c in children]
    counts: dict = {}
    first: dict = {}
    for key, child in zip(keys, children):
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, child.name)
    return [schema.RepeatMark(key=first[k], count=counts[k], shapes_compared=h.shapes_known(c))
            if k is not None and counts[k] > 1 else None for k, c in zip(keys, children)]


def _overlays(h, node, out: dict, times, facts: dict) -> None:
    """The node's module `facts` and its measures (parameters, FLOPs, measured time when asked for) joined into
    its answer through measures.overlays, with which of those are not known for it."""
    out.update(overlays.joined(overlays.ServedGraph(h, times), node, overlays.measures_of(times), facts))


def node_details(h, node, times=None) -> schema.NodeDetails:
    """The `node` answer; a group's is remembered (what enters and leaves it is a walk over all its ops)."""
    key = (node, id(times))
    out = h.group_details.get(key)
    if out is None:
        out = _details(h, node, times)
        if node.children is not None:
            if len(h.group_details) >= MAX_REMEMBERED_DETAILS:
                h.group_details.clear()
            h.group_details[key] = out
    return out


def _details(h, node, times) -> dict:
    if node.children is not None:
        h.file_edges()  # (the groups' children in data-flow order first: what enters and leaves is listed in it)
    out = hierarchy_node(h, node, 0, times)
    out.pop("has_children", None)
    out["ancestors"] = ancestor_names(node)
    if node.children is None:
        out["op_name"] = node.op_name
        if node.function:
            out["function"] = node.function
        out["inputs"] = [_end(p, port, control) for p, port, control in node.inputs[:MAX_DETAIL_ENDS]]
        consumers = h.links().consumers_of(node)
        out["outputs"] = [dict(_end(node, port, control), path=c.path) for c, port, control in consumers[:MAX_DETAIL_ENDS]]
        out["num_inputs"], out["num_outputs"] = len(node.inputs), len(consumers)
    elif node.num_ops and h.op_graph:
        incoming, outgoing = _boundary(h, node)
        out["inputs"], out["outputs"] = incoming[:MAX_DETAIL_ENDS], outgoing[:MAX_DETAIL_ENDS]
        out["num_inputs"], out["num_outputs"] = len(incoming), len(outgoing)
        out["op_types"] = _op_types(node)
        out["captured_variables"] = [schema.CapturedVariable(
            path=c.path, name=c.op_name, dtype=ops_lib.output_dtype(c.node_def, "0") or "resource",
            shape=ops_lib.output_shape(c.node_def, "0"))
            for c in node.children.values() if c.children is None and c.is_variable]
    return out


def _end(op, port: str, control: bool) -> schema.Endpoint:
    node_def = None if control else op.node_def
    return schema.Endpoint(path=op.path, port=port, control=control,
                           dtype="" if control else ops_lib.output_dtype(node_def, port),
                           shape="" if control else ops_lib.output_shape(node_def, port))


def _boundary(h, group) -> tuple:
    """What enters and leaves a group: one row per outside op and port, with how many inside ops it joins."""
    incoming: dict = {}
    outgoing: dict = {}
    entering, leaving = h.links().crossing(group)
    for producer, _, port, control in entering:
        _count_row(incoming, (id(producer), port, control), lambda: _end(producer, port, control))
    for op, consumer, port, control in leaving:
        key = (id(consumer), None if control else (id(op), port))  # control rows: one per op
        _count_row(outgoing, key, lambda: dict(_end(op, port, control), path=consumer.path))
    return list(incoming.values()), list(outgoing.values())


def _count_row(rows: dict, key, make) -> None:
    row = rows.get(key)
    if row is None:
        row = rows[key] = dict(make(), count=0)
    row["count"] += 1


def _op_types(group) -> dict:
    counts: dict = {}
    for node in ops_under(group):
        counts[node.type] = counts.get(node.type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
