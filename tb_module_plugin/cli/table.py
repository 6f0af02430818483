"""The command line's `summary` table: a graph's modules with Keras-style columns and the totals footer that
`model.summary()` users expect."""

from __future__ import annotations

import re

from ..serve import answers
from ..build.backward import BACKWARD
from ..measures.backward import flops_of as backward_flops_of, runs_backward
from ..measures.flops_values import splits
from ..measures.costs import count_costs
from ..tree.ops import ARG_OPS, is_resource_input, output_shape

OWN_ROLES = {"inputs", "outputs", "functions", "function", "eager_ops", "series"}  # the plugin's groups (`--all`)
SORT_KEYS = ("params", "flops", "time")
COLUMNS = ("module", "class", "output shape", "params", "trainable", "FLOPs")
UNKNOWN = "?"
NO_BACKWARD = "none"  # a backward column's cell of a module without backward ops
NOT_TIMED = "not timed"  # the backward time of a module with backward ops the profile timed none of
# What a terminal obeys rather than shows: C0 and C1 controls and DEL (ESC ] 0 ; ... BEL retitles it, ESC [ 2 J
# clears it), the bidirectional overrides that make a line read other than it is, and lone surrogates (a name
# decoded with surrogateescape holds them; no encoding can write them, so printing one stopped the output).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` with every control character written as its escape (`\\x1b`), so it reaches a terminal as text."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def format_table(hierarchy, depth: int, times=None, sort: str | None = None, show_all: bool = False) -> str:
    """The top-level groups and the modules below them, to `depth` levels (or, with `sort`, every module, the
    heaviest first); `times` (measures.time.Times) adds the measured time per step."""
    count_costs(hierarchy, small_only=True)  # (as before the page's first answer)
    rows = []
    backward = hierarchy.op_graph and any(n.role == BACKWARD for n in hierarchy.all_nodes)  # (a training step)
    if sort:
        modules = [n for n in hierarchy.all_nodes if n.children is not None and n.kind == "module"]
        measure = {"params": lambda n: _values(hierarchy, n).get("num_params"),
                   "flops": lambda n: _flops(hierarchy, n),
                   "time": lambda n: times.time_of(n) if times is not None else None}[sort]
        modules.sort(key=lambda n: (measure(n) is None, -(measure(n) or 0), n.path))
        rows = [_row(hierarchy, n, n.path, times, backward) for n in modules]
    else:
        holding = set()  # the groups some module sits below
        for node in hierarchy.all_nodes:
            if node.children is not None and node.kind == "module":
                parent = node.parent
                while parent is not None and parent not in holding:
                    holding.add(parent)
                    parent = parent.parent

        def visit(node, level):
            for child in hierarchy.in_flow_order(node):
                if child.children is None or not show_all and child.role in OWN_ROLES:
                    continue
                if not level or child.kind == "module":
                    add(child, child.name, level)
                elif child in holding:
                    modules_below(node, child, level)

        def add(node, label, level):
            rows.append(_row(hierarchy, node, "  " * level + label, times, backward))
            if level + 1 < depth and node in holding:
                visit(node, level + 1)

        def modules_below(row, scope, level):
            """A plain scope between modules (a tf.map_fn's `map/while/body`) is no row, but the modules below
            it are, named by their path from the row above them (walked with a stack: scopes nest thousands
            deep)."""
            stack = [iter(hierarchy.in_flow_order(scope))]
            while stack:
                child = next(stack[-1], None)
                if child is None:
                    stack.pop()
                elif child.children is None or not show_all and child.role in OWN_ROLES:
                    continue
                elif child.kind == "module":
                    add(child, child.path[len(row.path) + 1:], level)
                elif child in holding:
                    stack.append(iter(hierarchy.in_flow_order(child)))

        visit(hierarchy.root, 0)
    header = COLUMNS + (("backward FLOPs",) if backward else ()) + (("time / step",) if times is not None else ()) + (
        ("backward time",) if backward and times is not None else ())
    table = [header] + [tuple(printable(cell) for cell in row) for row in rows]  # widths of what is printed
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in table]
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([lines[0], rule, *lines[1:], rule, *_footer(hierarchy, times)])


def _open_batch(hierarchy) -> bool:
    """Some input of the graph (a Placeholder or _Arg that is no variable handle) records its first dimension
    open (a Keras `fit` on batches of any size)."""
    for node in hierarchy.all_nodes:
        if node.children is None and (node.type in ARG_OPS or node.type == "Placeholder"):
            node_def = node.node_def
            if is_resource_input(node_def) or "_output_shapes" not in node_def.attr:
                continue
            shapes = node_def.attr["_output_shapes"].list.shape
            if shapes and not shapes[0].unknown_rank and shapes[0].dim and shapes[0].dim[0].size < 0:
                return True
    return False


def _values(hierarchy, node) -> dict:
    return hierarchy.values.get(node.path, {})


def _flops(hierarchy, node):
    return hierarchy.costs.flops_of(node) if hierarchy.costs is not None else None


def _row(hierarchy, node, label: str, times, backward: bool) -> tuple:
    """A module's columns; `backward`: with the part of its FLOPs and time its backward pass takes."""
    facts, values = node.facts or {}, _values(hierarchy, node)
    params, trainable = values.get("num_params"), values.get("num_trainable_params")
    estimated = "~" if values.get("params_estimated") else ""
    is_module = node.kind == "module"
    row = (
        label,
        facts.get("class_name", "").rsplit(".", 1)[-1] or node.role or node.kind,
        _output_shape(hierarchy, node),
        f"{estimated}{params:,}" if params is not None else (UNKNOWN if is_module else ""),
        f"{trainable:,}" if trainable is not None else "",
        _flops_cell(hierarchy, node),
    )
    if backward:
        row += (_backward_cell(hierarchy, node, human, _backward_flops(hierarchy, node), _flops(hierarchy, node),
                               UNKNOWN),)
    if times is not None:
        row += (duration(times.time_of(node)),)
        if backward:
            row += (_backward_cell(hierarchy, node, duration, times.backward_of(node), times.time_of(node),
                                   NOT_TIMED),)
    return row


def _backward_flops(hierarchy, node):
    return backward_flops_of(hierarchy, node) if hierarchy.costs is not None else None


def _backward_cell(hierarchy, node, text, part, whole, missing: str) -> str:
    """The backward part of a module's measure and its share of the whole: "891 ms (89%)"; NO_BACKWARD where it
    has no backward ops, `missing` where it has some and their part is not known (not timed); "" where no part is
    said (a scope: its rest is no forward pass)."""
    if not splits(node):
        return ""
    if part is None:
        return missing if runs_backward(hierarchy, node) else NO_BACKWARD
    return f"{text(part)} ({part / whole:.0%})" if whole else text(part)


def _flops_cell(hierarchy, node) -> str:
    """FLOPs, with ">=" where they are a lower bound (op types not counted, a loop counted per iteration), "<="
    where an upper one (a loop counted at its maximum_iterations), "~" where some of both."""
    flops = _flops(hierarchy, node)
    return (_BOUND_MARKS[_bound(hierarchy, node)] if flops is not None else "") + human(flops)


_BOUND_MARKS = {"": "", "at least": ">=", "at most": "<=", "about": "~"}


def _bound(hierarchy, node) -> str:
    """What a node's FLOPs are, in words: "at least", "at most" or (some of both) "about"; "" where exact."""
    costs = hierarchy.costs
    if costs is None:
        return ""
    lower = costs.flops_uncounted(node) or costs.flops_per_iteration(node)
    upper = costs.flops_loop_bound(node)
    return ("about" if upper else "at least") if lower else ("at most" if upper else "")


def _why_not_exact(hierarchy, node) -> str:
    """Why a node's FLOPs are not exact, in words ("" where they are)."""
    costs = hierarchy.costs
    if costs is None:
        return ""
    reasons = []
    uncounted = costs.flops_uncounted(node)
    if uncounted:
        shown = ", ".join(uncounted[:5]) + (f" and {len(uncounted) - 5} more" if len(uncounted) > 5 else "")
        reasons.append(f"ops of type {shown} are not counted")
    if costs.flops_per_iteration(node):
        reasons.append("a loop whose trip count the graph does not say is counted per iteration, once")
    if costs.flops_loop_bound(node):
        reasons.append("a loop is counted at its maximum_iterations, though a data-dependent condition may end it "
                       "sooner")
    return "; ".join(reasons)


def _output_shape(hierarchy, node) -> str:
    """The shapes of what leaves the group (at most two; where the graph records them): its forward ops' first (as
    Keras's `model.summary()` says a layer's output), then its backward groups' (a training step's gradients)."""
    if not hierarchy.op_graph or not node.num_ops or node.children is None:
        return ""
    hierarchy.file_edges()  # (the ops in data-flow order first, as the `node` answer lists them)
    forward, backward = [], []
    for op, _, port, control in hierarchy.links().crossing(node)[1]:
        shape = "" if control else output_shape(op.node_def, port)
        shapes = backward if _in_backward(op, node) else forward
        if shape and shape not in shapes:
            shapes.append(shape)
    shapes = forward + [shape for shape in backward if shape not in forward]
    return ", ".join(shapes[:2]) + (" ..." if len(shapes) > 2 else "")


def _in_backward(op, group) -> bool:
    """Whether `op` is in a backward group inside `group` (or `group` is one)."""
    node = op.parent
    while node is not None:
        if node.role == BACKWARD:
            return True
        if node is group:
            return False
        node = node.parent
    return False


def _footer(hierarchy, times) -> list:
    top = [n for n in hierarchy.root.children.values() if n.children is not None and n.kind == "module"]
    # A module_graph record describes the object it was given (its modules say their `attribute_path`). A module
    # of its graph the record does not describe is the build's, from variables the function reads that this
    # object does not hold (an optimizer's `sgd`, Keras 3's `compile_loss` loss trackers): state beside the
    # model, not its parameters, which model.summary() leaves out too. The totals are the object's; those
    # modules are named below them.
    recorded = any("attribute_path" in (n.facts or {}) for n in top)
    beside = [n for n in top if recorded and "num_params" not in _values(hierarchy, n)]
    top = [n for n in top if n not in beside]
    counts = [_values(hierarchy, n) for n in top]
    lines = []
    if top and all("num_params" in c for c in counts):
        total = sum(c["num_params"] for c in counts)
        trainable = sum(c.get("num_trainable_params", 0) for c in counts)
        estimated = " (estimated from the variable shapes the graph records)" if any(
            c.get("params_estimated") for c in counts) else ""
        if any("num_trainable_params" in c for c in counts):
            lines += [f"Total params: {total:,}{estimated}", f"Trainable params: {trainable:,}",
                      f"Non-trainable params: {total - trainable:,}"]
        else:
            lines.append(f"Total params: {total:,}{estimated}")
        if beside:
            names = ", ".join(printable(n.name) for n in beside)
            lines.append(f"Not counted: {names} (variables the recorded function reads that the recorded object "
                         "does not hold, an optimizer's or a loss tracker's: not its parameters)")
    else:
        lines.append("Total params: unknown (this record holds no variable shapes: write it with "
                     "tb_module_plugin.summary.module_graph for parameters and FLOPs)")
    flops = _flops(hierarchy, hierarchy.root)
    if flops is not None:
        exact = f" ({flops:,})" if human(flops) != f"{flops:,}" else ""
        why = _why_not_exact(hierarchy, hierarchy.root)
        if why:
            lines.append(f"Total FLOPs: {_bound(hierarchy, hierarchy.root)} {human(flops)}{exact} for one call ({why})")
        else:
            lines.append(f"Total FLOPs: {human(flops)}{exact} for one call")
    elif _open_batch(hierarchy):
        lines.append("Total FLOPs: unknown (the graph's inputs leave their batch dimension open, None: how much a "
                     "step computes depends on the batch each step gets)")
    elif hierarchy.costs is not None and hierarchy.costs.records_shapes:
        names = ", ".join(f"{printable(op.path)} ({op.type})" for op in hierarchy.costs.ops_not_known(hierarchy.root))
        lines.append(f"Total FLOPs: unknown (the graph records no shape for what some ops' FLOPs depend on: {names})")
    else:
        lines.append("Total FLOPs: unknown (the graph records no shapes for its ops, as a trace: write it with "
                     "tb_module_plugin.summary.module_graph, or tf.summary.graph of a concrete function)")
    if times is not None:
        root = times.time_of(hierarchy.root)
        lines.append(f"Total time: {duration(root)} per step ({times.steps} profiled steps; every op of the "
                     f"profile: {duration(times.profile_us)})")
        if times.profile_us:
            outside = max(0.0, times.profile_us - times.module_us)
            lines.append(f"Outside any module: {duration(outside)} per step ({outside / times.profile_us:.0%})")
    return lines


def human(count) -> str:
    """7764381168 -> "7.76G"; None -> "?"."""
    if count is None:
        return UNKNOWN
    for size, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            return f"{count / size:.3g}{unit}"
    return str(count)


def duration(us) -> str:
    if us is None:
        return UNKNOWN
    if us >= 1e6:
        return f"{us / 1e6:.3g} s"
    if us >= 1e3:
        return f"{us / 1e3:.3g} ms"
    return f"{us:.3g} µs"
