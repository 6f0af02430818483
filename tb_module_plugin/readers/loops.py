"""A While loop's trip count, where its cond and body (FunctionDefs) say it: the count a loop's ops are multiplied
by (measures/costs.py), found while expand.py expands the loop."""

from __future__ import annotations

from typing import NamedTuple


_COMPARISONS = {"Less": "Less", "LessEqual": "LessEqual", "Greater": "Less", "GreaterEqual": "LessEqual"}


class Trips(NamedTuple):
    """A While op's trip count (ops.Op.trips)."""
    count: int
    # True: a condition joined to the bounded one(s) is data-dependent (`maximum_iterations` beside `sum(x) < 10`),
    # so `count` is the most the loop runs, not what it runs.
    at_most: bool


def loop_trips(cond, body, outer_value) -> Trips | None:
    """How many times a While op runs its body, where the graph says: its cond (FunctionDefs) compares a loop
    variable that the body steps by a constant (`i + 1`, or autograph's `for i in tf.range(5)`: by a loop
    variable the body keeps) with a constant or a loop variable the body keeps (the
    `maximum_iterations` TensorFlow adds as the second), starting from a constant (`outer_value(k)`: the While's
    k-th input as an int, or None). Conditions joined by LogicalAnd: the smallest bound; where one of them bounds
    nothing so (data-dependent beside a `maximum_iterations`), that is the most the loop runs (`at_most`). None
    where nothing bounds it so."""
    cond_nodes = {n.name: n for n in cond.node_def}
    body_nodes = {n.name: n for n in body.node_def}
    cond_args = {a.name: k for k, a in enumerate(cond.signature.input_arg)}
    body_args = {a.name: k for k, a in enumerate(body.signature.input_arg)}
    body_rets = [body.ret.get(a.name, "") for a in body.signature.output_arg]

    def follow(nodes, ref):
        """The node (or argument name) a FunctionDef input names, through Identity ops."""
        for _ in range(64):
            name = ref.split(":", 1)[0]
            node = nodes.get(name)
            if node is None or node.op not in ("Identity", "Snapshot"):
                return node if node is not None else name
            data = [i for i in node.input if not i.startswith("^")]
            if not data:
                return node
            ref = data[0]
        return None

    def step(k):
        ret = follow(body_nodes, body_rets[k]) if k < len(body_rets) and body_rets[k] else None
        if isinstance(ret, str) or ret is None or ret.op not in ("AddV2", "Add", "Sub"):
            return None
        a, b = (follow(body_nodes, i) for i in ret.input[:2])
        if ret.op != "Sub" and b == _name_of(body_args, k):
            a, b = b, a
        if a != _name_of(body_args, k) or b is None:
            return None
        if isinstance(b, str):  # a loop variable the body keeps (autograph's `range` delta), else a constant
            j = body_args.get(b)
            value = outer_value(j) if j is not None and invariant(j) else None
        else:
            value = _int_constant_node(b)
        return None if value is None else (-value if ret.op == "Sub" else value)

    def invariant(k):
        ret = follow(body_nodes, body_rets[k]) if k < len(body_rets) and body_rets[k] else None
        return isinstance(ret, str) and body_args.get(ret) == k

    def value(item):
        if isinstance(item, str):
            k = cond_args.get(item)
            return outer_value(k) if k is not None and invariant(k) else None
        return _int_constant_node(item) if item is not None else None

    def bound(node):
        a, b = (follow(cond_nodes, i) for i in [i for i in node.input if not i.startswith("^")][:2])
        kind = _COMPARISONS[node.op]
        if node.op.startswith("Greater"):
            a, b = b, a  # (b > a is a < b)
        for counter, limit, rising in ((a, b, True), (b, a, False)):
            if isinstance(counter, str) and counter in cond_args:
                k = cond_args[counter]
                start, by, end = outer_value(k), step(k), value(limit)
                if None in (start, by, end) or by == 0 or (by > 0) != rising:
                    continue
                span = (end - start) if rising else (start - end)
                by = abs(by)
                trips = -(-span // by) if kind == "Less" else span // by + 1
                return max(0, trips)
        return None

    out = cond.signature.output_arg
    top = follow(cond_nodes, cond.ret.get(out[0].name, "")) if out else None
    # Each node once (a damaged cond may name a LogicalAnd twice at every level, or make one its own input).
    bounds, unbounded, stack, seen = [], False, [top], set()
    while stack:
        node = stack.pop()
        if isinstance(node, str) or node is None:
            unbounded = True  # (a bool loop variable, a name the cond does not hold)
            continue
        if node.name in seen:
            continue
        seen.add(node.name)
        if node.op == "LogicalAnd":
            stack.extend(follow(cond_nodes, i) for i in node.input if not i.startswith("^"))
            continue
        trips = bound(node) if node.op in _COMPARISONS else None
        if trips is None:
            unbounded = True
        else:
            bounds.append(trips)
    return Trips(min(bounds), unbounded) if bounds else None


def _name_of(args: dict, k: int):
    return next((name for name, i in args.items() if i == k), None)


def _int_constant_node(node) -> int | None:
    """The value of a scalar integer Const NodeDef, else None."""
    if node.op != "Const" or "value" not in node.attr:
        return None
    tensor = node.attr["value"].tensor
    if tensor.tensor_shape.dim and any(d.size != 1 for d in tensor.tensor_shape.dim):
        return None
    if tensor.int_val:
        return int(tensor.int_val[0])
    if tensor.int64_val:
        return int(tensor.int64_val[0])
    if tensor.tensor_content and tensor.dtype in (3, 9):  # DT_INT32, DT_INT64
        return int.from_bytes(tensor.tensor_content[:4 if tensor.dtype == 3 else 8], "little", signed=True)
    return None


def int_constant(op) -> int | None:
    """The value of a scalar integer Const op, else None."""
    return _int_constant_node(op.node_def) if op.type == "Const" else None
