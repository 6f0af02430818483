"""A training step's backward pass, placed with the modules it differentiates.

TensorFlow names a gradient op after the forward op it differentiates, under the tape's scope:
`gradient_tape/resnet50_1/conv2_block1_1_conv_1/convolution/Conv2DBackpropInput` (`gradients/` for
`tf.gradients`). Each such op moves into a `backward` group (role "backward") of the module of its forward scope,
found by looking the rest of its name up in the tree (`resnet50_1/conv2_block1_1_conv_1/convolution` is a scope of
the module `conv2_block1_1_conv_1`), where the graph confirms it: some of the module's gradient ops consume what
its forward ops produce, or the name leads to a forward op of the module (the `convolution` op) and the gradient op
is of a type only a gradient computes or takes that op's output or one of its inputs. Some are named after a scope of
the layer instead (`gradient_tape/net_1/bn_1/moments/sub`, `…/relu_1/ReluGrad`): in a `module_graph` record, whose
tree is named after the objects (`net/bn`), such a name goes to the module the tree placed all that scope's forward
ops in, confirmed by the edges alike. A tape's scope is one so named that holds ops of such types. What cannot be
placed so stays in the tape's scope. A module's time and FLOPs are then its forward and backward parts together;
`backward_sums` gives the backward part of each node.
"""

from __future__ import annotations

import re

from ..tree.hierarchy import free_name, ops_under

_UNSET = object()  # (a scope of the forward ops' trie whose module is not worked out yet)
BACKWARD = "backward"  # the name (and role) of the group holding a module's backward ops
# The scopes TensorFlow puts gradient ops in (a second tape in the same function gets `gradient_tape_1`).
GRADIENT_SCOPE = re.compile(r"(?:gradient_tape|gradients)(?:_\d+)?")


# Op types that only a gradient computes (`ReluGrad`, `FusedBatchNormGradV3`, `Conv2DBackpropInput`,
# `BroadcastGradientArgs`): a tape's scope holds some, and a gradient op of such a type differentiates what it names.
GRADIENT_TYPE = re.compile(r"\w*(?:Grad(?:V\d+)?|Backprop\w*|BroadcastGradientArgs)")


def place_backward_ops(builder, root, moved: dict | None = None) -> list:
    """Move each gradient op whose forward scope is inside a module into that module's `backward` group (keeping
    the rest of its scope below it); prune the tape's scopes left empty. Runs once modules are marked. Returns the
    backward groups (for `holder_ids`, once the later passes have placed them for good). `moved` ({(id(parent),
    name): scope}, later_calls.place_later_calls) finds a module's later call where its gradient ops' names put it."""
    moved = moved or {}
    # A tape's scope is named so and holds ops only a gradient computes: a scope a user named `gradients` is not one.
    # It is a top-level scope, or one inside a top-level scope: where a tf.Module's `__call__` is a tf.function
    # called from a plain Python call, TensorFlow expands that call's backward function in place, its gradient ops
    # in `PartitionedCall_1/gradients/net/stem/MatMul_grad/...`.
    tops = [c for name, c in root.children.items() if _is_tape_scope(name, c)]
    tops += [inner for outer in root.children.values()
             if outer.children and not outer.role and outer.kind != "module" and outer not in tops
             for name, inner in outer.children.items() if _is_tape_scope(name, inner)]
    if not tops:
        return []
    modules = _Modules(root)
    # A module record's tree is named after its layers (`functional/block/dense`) while its ops keep TensorFlow's
    # scopes (`functional_1/block_1/dense_1_2/MatMul`): there the forward op or scope a gradient's name leads to is
    # found by its own name, in a trie of the forward ops' names (walked once per gradient op). A scope of it is
    # asked for the module the tree placed all its ops in only where a gradient's name leads to no op (_scope_module).
    forward: list = [{}, None, _UNSET]  # [{segment: entry}, the forward op of this name, its ops' module]
    for op in ops_under(root):
        if not op.function and not op.role and op.op_name:
            entry = forward
            for segment in op.op_name.split("/"):
                entry = entry[0].setdefault(segment, [{}, None, _UNSET])
            entry[1] = op
    groups: dict = {}  # id(group) -> a backward group (a module's one, whichever tape's ops it holds)
    for top in tops:
        by_module: dict = {}  # id(module) -> [module, [(op, its scope segments below the module)], confirmed]
        prefix = top.path + "/"
        for op in list(ops_under(top)):
            if op.role or not op.placement.startswith(prefix):
                continue  # (a captured variable, an output: the build placed it by other rules)
            segments = op.placement[len(prefix):].split("/")
            # The gradient of a function call runs the call's backward function, expanded in place, whose ops
            # sit in a tape scope of their own (`…/StatefulPartitionedCall_grad/PartitionedCall/gradients/
            # model/encoder/block_0/…`): the innermost tape scope names the forward op, else the outer one does.
            inner = [i for i, segment in enumerate(segments[:-1]) if GRADIENT_SCOPE.fullmatch(segment)]
            module, rest, named = (_forward_module(root, segments[inner[-1] + 1:], moved) if inner
                                   else (None, None, None))
            if module is None:
                module, rest, named = _forward_module(root, segments, moved)
            if module is None and not op.function and op.op_name.startswith(prefix):
                module, rest, named = _forward_op_module(forward, modules,
                                                         op.op_name[len(prefix):].split("/"))
            if module is not None:
                entry = by_module.setdefault(id(module), [module, [], False])
                entry[1].append((op, rest))
                # The name leads to a forward op: the graph confirms it where the op is of a type only a gradient
                # computes, or takes the forward op's output or one of its inputs (a weight's gradient reads the
                # layer's input).
                entry[2] = entry[2] or (named is not None and _differentiates(op, named))
        for group in _move_confirmed(builder, modules, list(by_module.values())):
            groups[id(group)] = group
        _prune(top)
        while top is not root and not top.children:  # (a tape's scope left empty, and the call's holding it)
            del top.parent.children[top.name]
            top = top.parent
    return list(groups.values())


def _is_tape_scope(name: str, group) -> bool:
    return (group.children is not None and not group.role and group.kind != "module" and GRADIENT_SCOPE.fullmatch(name)
            is not None and any(GRADIENT_TYPE.fullmatch(op.type) for op in ops_under(group)))


def holder_ids(groups: list) -> frozenset:
    """The ids of the backward `groups` and of every node above one (Hierarchy.backward_holders): the nodes with a
    backward pass, timed or not, counted or not."""
    holders = set()
    for group in groups:
        while group is not None and id(group) not in holders:  # (each ancestor added once)
            holders.add(id(group))
            group = group.parent
    return frozenset(holders)


def _differentiates(op, forward) -> bool:
    if GRADIENT_TYPE.fullmatch(op.type):
        return True
    sources = {id(producer) for producer, _, control in forward.inputs if not control}
    return any(not control and (producer is forward or id(producer) in sources) for producer, _, control in op.inputs)


def _move_confirmed(builder, modules, entries: list) -> list:
    """Move the ops of each confirmed entry into its module's backward group: confirmed by name (entry[2]), or
    because an op reads what an op inside the module produces; judged first before any op moves, then again for the
    rest, whose ops may read backward ops just moved into the module's parts (the sums and plumbing of a call's
    backward function). Modules never confirmed leave theirs where they are. A worklist: each edge is looked at
    once, and each producer's module is known without walking up the tree. Returns the backward groups moved into."""
    entry_of = {}  # id(op) -> index of its entry
    for k, (_, moving, _) in enumerate(entries):
        for op, _ in moving:
            entry_of[id(op)] = k
    rounds = [None] * len(entries)
    waiting_on: dict = {}  # index of an entry -> indexes of the entries whose ops read its ops
    for k, (module, moving, named) in enumerate(entries):
        if named:
            rounds[k] = 0
        for op, _ in moving:
            for producer, _, _ in op.inputs:
                j = entry_of.get(id(producer))
                if j is not None and j != k:
                    waiting_on.setdefault(j, []).append(k)
                elif rounds[k] is None and modules.inside(modules.of(producer), module):
                    rounds[k] = 0
    queue = [k for k in range(len(entries)) if rounds[k] == 0]
    for k in queue:  # (breadth first: an entry's round is the first after one whose moved ops it reads)
        for j in waiting_on.get(k, ()):
            if rounds[j] is None and modules.inside(entries[k][0], entries[j][0]):
                rounds[j] = rounds[k] + 1
                queue.append(j)
    groups = []
    for k in sorted((k for k in range(len(entries)) if rounds[k] is not None), key=lambda k: (rounds[k], k)):
        module, moving, _ = entries[k]
        group = _backward_group(builder, module)
        groups.append(group)
        for op, rest in moving:
            del op.parent.children[op.name]
            builder.insert(group, "/".join(rest), op)
            modules.moved(op, module)
    return groups


class _Modules:
    """Each op's nearest module and each module's span in one depth-first walk of the tree, taken before any
    backward op moves (modules do not move): whether one module is inside another is then two comparisons."""

    def __init__(self, root):
        self._of: dict = {}  # id(op) -> its nearest module (None: in none)
        self._span: dict = {}  # id(module) -> (first, last) number of the walk
        count = 0
        stack = [(root, None, False)]
        while stack:
            node, module, leaving = stack.pop()
            if leaving:
                self._span[id(node)] = (self._span[id(node)][0], count)
                continue
            count += 1
            if node.children is None:
                self._of[id(node)] = module
                continue
            if node.kind == "module" and node is not root:
                module = node
                self._span[id(node)] = (count, None)
                stack.append((node, module, True))
            stack.extend((child, module, False) for child in node.children.values())

    def of(self, op):
        return self._of.get(id(op))

    def moved(self, op, module) -> None:
        self._of[id(op)] = module

    def common(self, one, other):
        """The innermost module holding modules `one` and `other` (None: no module holds both)."""
        while one is not None and not self.inside(other, one):
            one = one.parent
            while one is not None and id(one) not in self._span:  # (up to the next module; the root is none)
                one = one.parent
        return one

    def inside(self, inner, outer) -> bool:
        """Whether module `inner` is `outer` or inside it."""
        if inner is None:
            return False
        first, last = self._span[id(outer)]
        inner_first, inner_last = self._span[id(inner)]
        return first <= inner_first and inner_last <= last


def _forward_module(root, segments: list, moved: dict) -> tuple:
    """The deepest module on the path the scope `segments` (a gradient op's name past the tape's scope) take
    down the tree from the root (or to where `moved` took a scope), the segments below it, and the forward op
    inside it the path names (an op, or a scope holding the op of its name: `stem/MatMul` for
    `gradient_tape/stem/MatMul/MatMul`), else None; (None, None, None) where the path meets no module."""
    node, module, depth, named = root, None, 0, None
    for i, segment in enumerate(segments[:-1]):  # (the last is the gradient op's own name)
        child = node.children.get(segment)
        if child is None and moved:
            child = moved.get((id(node), segment))
            if child is not None:  # a module's later call, moved into it: the module's, below it as named
                module, depth, named, node = child.parent, i, None, child
                while module.kind != "module":  # (moved into a scope of the module: `enc_1/d1_1/enc_3/d1_1`)
                    module = module.parent
                continue
        if child is not None and child.children is None:
            named = child if module is not None and not child.role else None  # (the forward op itself)
            break
        if child is None or child.role:
            break  # (a group of the plugin's own: not a forward scope)
        node = child
        if node.kind == "module":
            module, depth, named = node, i + 1, None
        elif module is not None and node.is_op_scope():
            named = node.children[f"({node.name})"]
    return (module, segments[depth:], named) if module is not None else (None, None, None)


def _forward_op_module(forward: list, modules, parts: list) -> tuple:
    """The module holding the forward op named by the longest leading part of `parts` (a gradient op's own name
    past the tape's scope), the forward op's name and what follows it, and the forward op; where no op is named,
    the module holding every forward op of the deepest scope named (`…/bn_1/moments` for `…/bn_1/moments/sub`, a
    layer's `…/c1_1` for its `…/c1_1/ReluGrad`), the name below that module's own scope, and None; (None, None,
    None) where neither is."""
    entry, found, k, path = forward, None, 0, []
    for i, segment in enumerate(parts[:-1]):
        entry = entry[0].get(segment)
        if entry is None:
            break
        path.append(entry)
        if entry[1] is not None:
            found, k = entry[1], i + 1
    if found is not None:
        module = modules.of(found)
        return (module, parts[k - 1:], found) if module is not None else (None, None, None)
    module = _scope_module(path[-1], modules) if path else None
    if module is None:
        return None, None, None
    # (below the module's own scope: the shallowest named whose ops are all the module's, as `_forward_module` keeps
    # a trace's segments below the module)
    k = next(i for i, entry in enumerate(path) if _scope_module(entry, modules) is module)
    return module, parts[k + 1:], None


def _scope_module(entry: list, modules):
    """The innermost module holding every op named under the trie's `entry` (None: no module holds them all),
    worked out once for each entry below it not yet asked, children before parents."""
    stack = [(entry, False)]
    while stack:
        node, children_done = stack.pop()
        if node[2] is not _UNSET:
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in node[0].values() if child[2] is _UNSET)
            continue
        module = modules.of(node[1]) if node[1] is not None else _UNSET
        for child in node[0].values():
            module = child[2] if module is _UNSET else modules.common(module, child[2])
        node[2] = module
    return entry[2]


def _backward_group(builder, module):
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
