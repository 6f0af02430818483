"""A training step's backward pass, placed with the modules it differentiates.

TensorFlow names a gradient op after the forward op it differentiates, under the tape's scope:
`gradient_tape/resnet50_1/conv2_block1_1_conv_1/convolution/Conv2DBackpropInput` (`gradients/` for
`tf.gradients`). Each such op moves into a `backward` group (role "backward") of the module of its forward scope,
found by looking the rest of its name up in the tree (`resnet50_1/conv2_block1_1_conv_1/convolution` is a scope of
the module `conv2_block1_1_conv_1`), where the graph confirms it: the name leads to a forward op of the module
(the `convolution` op), or some of the module's gradient ops consume what its forward ops produce. What cannot be
placed so stays in the tape's scope. A module's time and FLOPs are then its forward and backward parts together;
`backward_sums` gives the backward part of each node.
"""

from __future__ import annotations

import re
import weakref
from array import array

BACKWARD = "backward"  # the name (and role) of the group holding a module's backward ops
# The scopes TensorFlow puts gradient ops in (a second tape in the same function gets `gradient_tape_1`).
GRADIENT_SCOPE = re.compile(r"(?:gradient_tape|gradients)(?:_\d+)?")


def place_backward_ops(builder, root) -> None:
    """Move each gradient op whose forward scope is inside a module into that module's `backward` group (keeping
    the rest of its scope below it); prune the tape's scopes left empty. Runs once modules are marked."""
    from .tree import ops_under  # (tree.py imports the ops that answers.py, which imports this, imports first)

    tops = [c for name, c in root.children.items()
            if c.children is not None and not c.role and c.kind != "module" and GRADIENT_SCOPE.fullmatch(name)]
    # A module record's tree is named after its layers (`functional/block/dense`) while its ops keep TensorFlow's
    # scopes (`functional_1/block_1/dense_1_2/MatMul`): there the forward op a gradient's name leads to is found
    # by its own name.
    forward = {op.op_name: op for op in ops_under(root) if not op.function and not op.role} if tops else {}
    for top in tops:
        by_module: dict = {}  # id(module) -> [module, [(op, its scope segments below the module)], names an op]
        for op in list(ops_under(top)):
            if op.role or not op.placement.startswith(top.name + "/"):
                continue  # (a captured variable, an output: the build placed it by other rules)
            segments = op.placement[len(top.name) + 1:].split("/")
            # The gradient of a function call runs the call's backward function, expanded in place, whose ops
            # sit in a tape scope of their own (`…/StatefulPartitionedCall_grad/PartitionedCall/gradients/
            # model/encoder/block_0/…`): the innermost tape scope names the forward op, else the outer one does.
            inner = [i for i, segment in enumerate(segments[:-1]) if GRADIENT_SCOPE.fullmatch(segment)]
            module, rest, names_op = _forward_module(root, segments[inner[-1] + 1:]) if inner else (None, None, False)
            if module is None:
                module, rest, names_op = _forward_module(root, segments)
            if module is None and not op.function and op.op_name.startswith(top.name + "/"):
                module, rest, names_op = _forward_op_module(forward, op.op_name[len(top.name) + 1:].split("/"))
            if module is not None:
                entry = by_module.setdefault(id(module), [module, [], False])
                entry[1].append((op, rest))
                entry[2] = entry[2] or names_op
        # Judged before any op moves: the name leads to a forward op, or an op reads the module's forward ops;
        # then again for the rest, whose ops may read the backward ops just moved into the module's parts (the
        # sums and plumbing of a call's backward function). Modules never confirmed leave theirs where they are.
        waiting = list(by_module.values())
        confirmed = [entry for entry in waiting if entry[2] or _reads_module(entry)]
        while confirmed:
            for module, moving, _ in confirmed:
                group = _backward_group(builder, module)
                for op, rest in moving:
                    del op.parent.children[op.name]
                    builder.insert(group, "/".join(rest), op)
            moved = {id(entry[0]) for entry in confirmed}
            waiting = [entry for entry in waiting if id(entry[0]) not in moved]
            confirmed = [entry for entry in waiting if _reads_module(entry)]
        _prune(top)
        if not top.children:
            del root.children[top.name]


def _forward_module(root, segments: list) -> tuple:
    """The deepest module on the path the scope `segments` (a gradient op's name past the tape's scope) take
    down the tree from the root, the segments below it, and whether the path names a forward op inside it (an op,
    or a scope holding the op of its name: `stem/MatMul` for `gradient_tape/stem/MatMul/MatMul`); (None, None,
    False) where the path meets no module."""
    node, module, depth, names_op = root, None, 0, False
    for i, segment in enumerate(segments[:-1]):  # (the last is the gradient op's own name)
        child = node.children.get(segment)
        if child is not None and child.children is None:
            names_op = module is not None and not child.role  # (the forward op itself)
            break
        if child is None or child.role:
            break  # (a group of the plugin's own: not a forward scope)
        node = child
        if node.kind == "module":
            module, depth, names_op = node, i + 1, False
        elif module is not None and node.is_op_scope():
            names_op = True
    return (module, segments[depth:], names_op) if module is not None else (None, None, False)


def _forward_op_module(forward: dict, parts: list) -> tuple:
    """The module holding the forward op named by the longest leading part of `parts` (a gradient op's own name
    past the tape's scope), the forward op's name and what follows it; (None, None, False) where none is named."""
    for k in range(len(parts) - 1, 0, -1):
        op = forward.get("/".join(parts[:k]))
        if op is None:
            continue
        group = op.parent
        while group is not None and group.kind != "module":
            group = group.parent
        return (group, parts[k - 1:], True) if group is not None else (None, None, False)
    return None, None, False


def _reads_module(entry) -> bool:
    module, moving, _ = entry
    return any(_consumes_from(op, module) for op, _ in moving)


def _consumes_from(op, module) -> bool:
    """Whether `op` takes an input from an op inside `module`."""
    for producer, _, _ in op.inputs:
        group = producer.parent
        while group is not None:
            if group is module:
                return True
            group = group.parent
    return False


def _backward_group(builder, module):
    from .tree import free_name

    existing = module.children.get(BACKWARD)
    if existing is not None and existing.children is not None and existing.role == BACKWARD:
        return existing
    return builder.group(module, free_name(module.children, BACKWARD), role=BACKWARD)


def _prune(group) -> None:
    """Remove the groups below `group` that hold nothing any more (children before their parents)."""
    order, stack = [], [group]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for c in node.children.values() if c.children is not None)
    for node in reversed(order):
        if node is not group and not node.children and node.parent.children.get(node.name) is node:
            del node.parent.children[node.name]


def backward_sums(hierarchy, index: dict, values, partial: bool):
    """Each node's backward part of `values` (per node, in the order of hierarchy.all_nodes, NaN where not
    known): the sum over the `backward` groups below it (a backward group's is its whole value). `partial`:
    a sum of what is known (measured time); else a part is not known when any of it is not (FLOPs). NaN where
    a node holds no backward group; None where the tree holds none."""
    nodes = hierarchy.all_nodes
    if not any(node.role == BACKWARD for node in nodes):
        return None
    nan = float("nan")
    sums = array("d", [nan]) * len(nodes)
    has = bytearray(len(nodes))
    unknown = bytearray(len(nodes))
    for i in range(len(nodes) - 1, 0, -1):  # children after their parents
        node = nodes[i]
        if node.role == BACKWARD:
            has[i], sums[i] = 1, values[i]
            unknown[i] = values[i] != values[i] and not partial
        if not has[i]:
            continue
        parent = index[id(node.parent)]
        has[parent] = 1
        unknown[parent] |= unknown[i]
        if sums[i] == sums[i]:
            sums[parent] = sums[i] if sums[parent] != sums[parent] else sums[parent] + sums[i]
    for i in range(len(nodes)):
        if unknown[i]:
            sums[i] = nan
    return sums


_FLOPS = weakref.WeakKeyDictionary()  # costs.Costs -> its backward_sums (made when first asked for)


def flops_of(hierarchy, node) -> int | None:
    """The FLOPs of the node's backward ops: None where it holds none, or some are not known."""
    from .costs import UNKNOWN

    counted = hierarchy.costs
    sums = _FLOPS.get(counted, False)
    if sums is False:
        nan = float("nan")
        values = array("d", (nan if f == UNKNOWN else f for f in counted.flops))
        sums = _FLOPS[counted] = backward_sums(hierarchy, counted._index, values, partial=False)
    if sums is None:
        return None
    value = sums[counted._index[id(node)]]
    return None if value != value else int(value)
