"""Which ops TensorFlow runs. The function runtime and grappler run an op only when a data or control path leads
from it to what the function returns or must run; the rest they prune before running anything: the gradients a
tape builds for a frozen layer and nobody asks for, the cell step a Keras 3 RNN computes for its shape and drops,
the gradient a called function's backward computes of the data. Those ops count no FLOPs (measures/costs.py).

What the function must run: its stateful ops. TensorFlow's automatic control dependencies tie each of them by
control edges to a NoOp that every returned value waits for, in the traced function and in each function it calls
(a call's control returns, which readers/expand.py resolves a control input on the call to), and list them as the
function's control outputs. So the roots are a trace's `_Retval` ops, or what a module record says its function
returns and must run (recording/summary.py; its GraphDef has no `_Retval`s). Where the graph says neither (a run
graph written with tf.summary.graph, a trace of a function returning nothing, a module record written before
these were recorded), nothing says what is needed: every op runs, as before.
"""

from __future__ import annotations

from ..tree.ops import RETVAL_OPS

_APART = "functions"  # the role of the top-level group of other functions and eager ops a trace holds


def not_run(hierarchy) -> bytearray | None:
    """A mark per node of hierarchy.all_nodes, 1 for an op of the recorded function TensorFlow does not run; None
    where every op runs (or the graph does not say what its function needs). Ops of the other functions a record
    holds are left alone (their own returns are not the recorded function's)."""
    nodes = hierarchy.all_nodes
    roots = hierarchy.returns  # a module record's (build.module_record)
    if roots is None:  # a trace's: its _Retval ops, which the build puts in the root's outputs group
        roots = [op for group in hierarchy.root.children.values() if group.role == "outputs"
                 for op in group.children.values() if op.children is None and op.type in RETVAL_OPS]
    if not roots:  # (nothing returned, nothing that must run: not said, rather than nothing run)
        return None
    size = len(nodes)
    live = bytearray(size)
    stack = list(roots)
    while stack:
        op = stack.pop()
        i = getattr(op, "number", -1)
        if not 0 <= i < size or live[i] or nodes[i] is not op:
            continue
        live[i] = 1
        for producer, _, _ in op.inputs:
            j = getattr(producer, "number", -1)  # (an op outside the tree: none is, but a damaged record)
            if 0 <= j < size and not live[j] and nodes[j] is producer:
                stack.append(producer)
    dead = bytearray(size)
    found = False
    for node in nodes:
        if node.children is None and not live[node.number] and node.top.role != _APART:
            dead[node.number] = found = 1
    return dead if found else None
