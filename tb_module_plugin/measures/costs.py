"""What groups cost: every node's FLOPs for one call of the recorded function (each op's by flops.py's rules),
summed up the tree, with what they leave out (op types not counted, loops counted per iteration or at their most)
and how many of each group's ops each device holds. A loop body's ops count once per iteration: times the trip
count where the graph says it (readers/loops.py), else once, and every group above them says so; where that count
is only the most the loop runs (`maximum_iterations` beside a data-dependent condition), they say that.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate, compress
from operator import not_

from google.protobuf.message import DecodeError
from tensorboard.compat.proto.attr_value_pb2 import AttrValue

from ..readers import lite_proto
from ..tree.ops import CALL_OPS, WHILE_OPS
from .flops import NO_OUTPUT, RULES, counted, op_flops, output_shapes, shapes_in
from .liveness import not_run

UNKNOWN = -1  # a cost that is not known (in the arrays below)
# A graph with more ops than this gets its costs in the background (serve.settle), after its first answer: the
# NodeDefs of every op have to be read, about half a second for 200,000 ops.
SYNC_COST_OPS = 40_000

# Rules by op type: flops from (node_def, input shapes, output shapes); a shape is a list of dimensions.
# Ops with no output whose rule reads their inputs alone (a variable updated in place: one per element of the value).


def count_costs(hierarchy, small_only: bool = False) -> None:
    """Every node's FLOPs, once, kept as hierarchy.costs (an op graph's only). `small_only`: only where the
    recorded function has at most SYNC_COST_OPS ops (counted before its first answer; a bigger graph's are counted
    by serve.settle, after it)."""
    if hierarchy.costs is not None or not hierarchy.op_graph:
        return
    if small_only and hierarchy.traced_ops > SYNC_COST_OPS:
        return
    with hierarchy.lock:
        if hierarchy.costs is None:
            hierarchy.costs = Costs(hierarchy)
            hierarchy.group_details.clear()  # (answers remembered before the costs were counted)


class Costs:
    """Every node's FLOPs, in the order of Hierarchy.all_nodes (UNKNOWN where not known), what they leave out
    (op types not counted, loops counted per iteration), and how many of each group's ops each device holds
    (where the graph records placement).

    The root's FLOPs are the recorded function's: the plugin's group of other functions and eager ops a trace (or
    a SavedModel's further signatures, often the same graph again) holds is counted on its own, not into the root."""

    def __init__(self, hierarchy):
        nodes = hierarchy.all_nodes  # (each node's place among them: node.number, set by tree.hierarchy.finalize)
        flops = array("q", [0]) * len(nodes)
        known = _records_shapes(nodes)
        uncounted: dict = {}  # node index -> {op types it holds that are not counted}
        per_iteration: set = set()  # node indexes holding ops of a loop whose trip count is not known
        loop_bound: set = set()  # node indexes holding ops of a loop counted at the most it runs
        loops = _loops(nodes)
        prefixes = _prefix_iterations(nodes, loops) if loops else None
        ops = [node for node in nodes if node.children is None]
        dead = not_run(hierarchy)  # ops TensorFlow never runs: no FLOPs (liveness.py)
        not_run_below: dict = {}  # node index -> how many of its ops TensorFlow does not run
        # Each op's NodeDef read once, for its shapes and device, a few thousand at a time (see _recorded).
        recorded, devices = _recorded(ops, len(nodes))

        def shapes_of(op):
            number = getattr(op, "number", -1)
            if 0 <= number < len(nodes) and nodes[number] is op:
                return recorded[number]
            return output_shapes(op.node_def)  # (an op outside the tree)

        for op in ops:
            i = op.number
            if dead is not None and dead[i]:
                not_run_below[i] = 1
                continue  # (flops[i] stays 0; what it would leave out, it does not: it does not run)
            value = (op_flops(op, shapes_of) if known else None) if op.type in RULES else 0
            if not counted(op.type):
                uncounted[i] = {op.type}
            elif op.not_expanded or op.type in CALL_OPS:  # (an expanded call leaves no op of its own)
                uncounted[i] = {f"{op.type} (not expanded)"}
            if prefixes is not None and op.call_prefix and value:
                times, at_most = _iterations(op, prefixes)
                if times is None:
                    per_iteration.add(i)
                else:
                    value *= times
                    if at_most:
                        loop_bound.add(i)
            flops[i] = UNKNOWN if value is None else value
        del recorded, ops
        for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each to its parent
            node = nodes[i]
            parent = node.parent.number
            if node.role in _APART and parent == 0:
                continue  # (not the recorded function's work)
            if flops[i] == UNKNOWN or flops[parent] == UNKNOWN:
                flops[parent] = UNKNOWN  # (a group is known when every op below it is)
            else:
                flops[parent] += flops[i]
            if i in uncounted:
                uncounted.setdefault(parent, set()).update(uncounted[i])
            if i in per_iteration:
                per_iteration.add(parent)
            if i in loop_bound:
                loop_bound.add(parent)
            if i in not_run_below:
                not_run_below[parent] = not_run_below.get(parent, 0) + not_run_below[i]
        self.flops = flops
        self.records_shapes = known  # (false: a trace, whose graphs record only their inputs' shapes)
        self._not_run = not_run_below
        self._uncounted = uncounted
        self._per_iteration = per_iteration
        self._loop_bound = loop_bound
        self._device_names, self._devices = _placement(nodes, devices)

    def flops_of(self, node) -> int | None:
        value = self.flops[node.number]
        return None if value == UNKNOWN else value

    def ops_not_known(self, node, limit: int = 3) -> list:
        """A few of the ops below the node whose FLOPs are not known (a shape their rule reads not recorded), in the
        tree's order. Only groups not known are walked (a known one holds none), and only until `limit` are found."""
        found = []
        stack = [node]
        while stack and len(found) < limit:
            current = stack.pop()
            if self.flops[current.number] != UNKNOWN:
                continue
            if current.children is None:
                found.append(current)
                continue
            below = [c for c in current.children.values() if not (current.parent is None and c.role in _APART)]
            stack.extend(reversed(below))
        return found

    def flops_uncounted(self, node) -> list:
        """The op types below the node whose FLOPs are not counted (its FLOPs are a lower bound), sorted."""
        return sorted(self._uncounted.get(node.number, ()))

    def flops_per_iteration(self, node) -> bool:
        """Whether some of the node's FLOPs are a loop body's, counted once where the trip count is not known."""
        return node.number in self._per_iteration

    def flops_loop_bound(self, node) -> bool:
        """Whether some of the node's FLOPs are a loop body's, counted at the most the loop runs (its
        `maximum_iterations`) where a data-dependent condition may end it sooner."""
        return node.number in self._loop_bound

    def ops_not_run(self, node) -> int:
        """How many of the node's ops TensorFlow does not run (nothing the function returns or must run needs
        them: liveness.py); they count no FLOPs."""
        return self._not_run.get(node.number, 0)

    def devices_of(self, node) -> dict | None:
        """Device -> how many of the node's ops it holds, most first (an op: its own, once); None where no op
        records one."""
        if node.children is None:
            device = node.node_def.device
            return {canonical_device(device): 1} if device else None
        counts = self._devices.get(node.number)
        if not counts:
            return None
        return {self._device_names[d]: n for d, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))}


_APART = {"functions", "eager_ops"}  # the roles of groups whose ops are not the recorded function's


def _loops(nodes) -> dict:
    """The loops of the graph: the call prefix of each While op's bodies (see ops.Op.run_name) -> (its trip
    count, loops.Trips or None, and its cond function's name)."""
    loops = {}
    for node in nodes:
        if node.children is None and node.type in WHILE_OPS:
            cond = node.node_def.attr["cond"].func.name if "cond" in node.node_def.attr else ""
            loops[f"{node.call_prefix}{node.op_name}/"] = (node.trips, cond)
    return loops


def _prefix_iterations(nodes, loops) -> dict:
    """Each call prefix the ops (and loops) have -> (how many times the loops around it run its body's ops before
    its own loop counts, None where one's trip count is not known; whether one of those counts is a most; its own
    loop, loops' entry, or None). The loops around a prefix are those whose prefix starts it: sorted, each prefix
    finds the longest such among those before it with a stack, so a deep prefix is not cut at each of its '/'."""
    prefixes = set(loops)
    for node in nodes:
        if node.children is None and node.call_prefix:
            prefixes.add(node.call_prefix)
    table: dict = {}
    stack: list = []
    for prefix in sorted(prefixes):
        while stack and not prefix.startswith(stack[-1]):
            stack.pop()
        times, at_most = 1, False
        if stack:
            times, at_most, loop = table[stack[-1]]
            if loop is not None and times is not None:
                trips = loop[0]
                times, at_most = (None, at_most) if trips is None else (times * trips.count, at_most or trips.at_most)
        table[prefix] = (times, at_most, loops.get(prefix))
        stack.append(prefix)
    return table


def _iterations(op, prefixes) -> tuple:
    """How many times the op runs in one call: the product of the trip counts of the loops it is in (a cond's ops
    once more than its body's), None where one of them is not known; and whether one of them is a most."""
    times, at_most, loop = prefixes[op.call_prefix]
    if times is None or loop is None:
        return times, at_most
    trips, cond = loop
    if trips is None:
        return None, at_most
    return times * (trips.count + 1 if op.function == cond else trips.count), at_most or trips.at_most


_LOCAL_TASK = "/job:localhost/replica:0/task:0"  # the default task of a one-process program
_LEGACY_DEVICE = re.compile(r"/(cpu|gpu|tpu):(\d+)$", re.IGNORECASE)


def canonical_device(device: str) -> str:
    """One name per device: a one-process program's ops name theirs `/device:CPU:0` or, once placed, with the
    local task in front (`/job:localhost/replica:0/task:0/device:CPU:0`), or the old way (`/cpu:0`)."""
    if device.startswith(_LOCAL_TASK + "/"):
        device = device[len(_LOCAL_TASK):]
    return _LEGACY_DEVICE.sub(lambda m: f"/device:{m.group(1).upper()}:{m.group(2)}", device)


def _placement(nodes, devices: dict) -> tuple:
    """The devices ops record (`devices`: node index -> device; their names, numbered) and each group's count of
    ops per device number (groups without placed ops left out: most graphs record none)."""
    numbers: dict = {}
    counts: dict = {}
    for i in range(len(nodes) - 1, 0, -1):  # children after their parents: add each to its parent
        node = nodes[i]
        if node.children is None:
            device = devices.get(i)
            if not device:
                continue
            own = {numbers.setdefault(canonical_device(device), len(numbers)): 1}
        else:
            own = counts.get(i)
            if not own:
                continue
        parent = counts.setdefault(node.parent.number, {})
        for number, n in own.items():
            parent[number] = parent.get(number, 0) + n
    return list(numbers), counts


# Read joined (_recorded): before each NodeDef, a device and an attr entry that are the mark; before each attr
# entry, a key and a value that are the mark (protobuf appends a repeated field's values in the order it reads them).
_MARK = b"\0"
_NODE_MARKS = b"\x22\x01\x00\x2a\x01\x00"
_ENTRY_MARKS = b"\x0a\x01\x00\x12\x01\x00"
_SHAPES_KEY = b"_output_shapes"
_OPS_AT_A_TIME = 4096
_JOINED_MAX_BYTES = 1 << 16  # a NodeDef larger (a constant's values) is read alone


def _recorded(ops: list, size: int) -> tuple:
    """Each op's recorded output shapes (flops.output_shapes, by its place in the tree, in a list of `size`; equal
    shapes are one list) and device (place -> device, where one is set). The NodeDefs are read a few thousand at a
    time as one message of their devices and attrs (lite_proto.NodeAttrs: no Python object per op but its
    attrs' bytes), and only the `_output_shapes` values are parsed, once each: a million NodeDefs parsed one by
    one, their shapes read through the protobuf API, took 7 s. NodeDefs that do not read so (a mark in their
    bytes, a damaged attr, a map entry written oddly) are parsed whole, as before."""
    shapes: list = [None] * size
    devices: dict = {}
    memo: dict = {}  # an `_output_shapes` value's bytes -> its shapes
    for start in range(0, len(ops), _OPS_AT_A_TIME):
        piece = ops[start:start + _OPS_AT_A_TIME]
        data = [op.serialized_node_def() for op in piece]
        # (a NodeDef holding a big constant is read alone: joined, its bytes were copied three times over, and those
        # large blocks left the allocator's memory in pieces it did not give back)
        joined = [i for i, node in enumerate(data) if len(node) <= _JOINED_MAX_BYTES]
        read = _read_joined([data[i] for i in joined], memo) if joined else ([], [])
        del data
        if read is None:  # (the joined read does not line up: every op of the piece alone)
            joined, read = [], ([], [])
        piece_shapes, piece_devices = read
        for i, op_shapes in zip(joined, piece_shapes):
            shapes[piece[i].number] = op_shapes
        for at, device in piece_devices:
            devices[piece[joined[at]].number] = device
        if len(joined) < len(piece):
            read_joined = set(joined)
            for i, op in enumerate(piece):
                if i not in read_joined:
                    node_def = op.node_def
                    shapes[op.number] = output_shapes(node_def)
                    if node_def.device:
                        devices[op.number] = node_def.device
    return shapes, devices


def _read_joined(data: list, memo: dict):
    """([each op's shapes], [(its place in `data`, device)]) of serialized NodeDefs, or None where the joined read
    does not line up."""
    n = len(data)
    try:
        columns = lite_proto.NodeAttrs.FromString(_NODE_MARKS.join([b"", *data]))
    except (DecodeError, RuntimeError, ValueError):
        return None
    attrs, devices = list(columns.attr), list(columns.device)
    del columns
    marks = list(map(_MARK.__eq__, attrs))
    if marks.count(True) != n or devices.count(_MARK) != n:
        return None
    placed = []
    if len(devices) > n:  # (most graphs place no op)
        at = -1
        for device in devices:
            if device == _MARK:
                at += 1
            elif placed and placed[-1][0] == at:
                placed[-1] = (at, device)  # (a field written twice: the last one, as protobuf reads it)
            else:
                placed.append((at, device))
        try:
            placed = [(at, device.decode("utf-8")) for at, device in placed if device]
        except UnicodeDecodeError:
            return None
    shapes = [[]] * n  # (no `_output_shapes`: none recorded; read only)
    if len(attrs) > n:
        owners = list(compress(accumulate(marks), map(not_, marks)))  # 1 + the op each attr entry belongs to
        entries = list(compress(attrs, map(not_, marks)))
        del attrs, marks
        m = len(entries)
        try:
            columns = lite_proto.AttrEntries.FromString(_ENTRY_MARKS.join([b"", *entries]))
        except (DecodeError, RuntimeError, ValueError):
            return None
        keys, values = list(columns.key), list(columns.value)
        # Each entry wrote one key and one value (a map entry as protobuf writes it): then they line up.
        if not (len(keys) == len(values) == 2 * m and keys[::2].count(_MARK) == m and values[::2].count(_MARK) == m):
            return None
        for owner, value in compress(zip(owners, values[1::2]), map(_SHAPES_KEY.__eq__, keys[1::2])):
            found = memo.get(value)
            if found is None:
                try:
                    found = memo[value] = shapes_in(AttrValue.FromString(value))
                except (DecodeError, RuntimeError, ValueError):
                    return None
            shapes[owner - 1] = found  # (a key written twice: the last one, as a map reads it)
    return shapes, placed


_NO_SHAPES_OF_THEIR_OWN = {"AssignAdd", "AssignSub"} | NO_OUTPUT  # (ops a trace may record shapes of anyway)


def _records_shapes(nodes) -> bool:
    """Whether the graph records op shapes at all (a trace's graphs record only their inputs'): looked at on a few
    ops that have a rule, so that a trace of 30,000 ops is not read through for nothing."""
    looked = 0
    for node in nodes:
        if node.children is None and node.type in RULES and node.type not in _NO_SHAPES_OF_THEIR_OWN:
            if "_output_shapes" in node.node_def.attr:
                return True
            looked += 1
            if looked >= 32:
                return False
    return looked == 0
