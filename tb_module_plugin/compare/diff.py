"""The union of two built trees (A and B), each node with its status, what changed and its cost deltas.

Statuses: `same`, `changed` (itself, or something below it), `added` (only in B), `removed` (only in A),
`renamed` (paired with a node of another name: its structure matched, see match.py). Made once per pair of graphs:
the matched nodes are walked once (statuses and counts need all of them); what only one side holds is unfolded
when asked for, and `changes` and deltas are worked out for the nodes an answer lists.
"""

from __future__ import annotations

from ..tree import attrs as attrs_lib
from . import match, signature

# The graphs of other functions and eager ops a trace records beside the user's (build.py): compared and shown, but
# what they hold is whatever the process ran before, so they neither count nor make the graphs differ.
NOT_COUNTED = "functions"
RECORDED_SHAPES = "_output_shapes"  # the shapes a graph records with its ops (a run graph, a module record; no trace)
STATUSES = ("same", "changed", "added", "removed", "renamed")
FIELDS = ("class", "num_ops", "op_types", "num_params", "variable_shapes", "trainable", "attrs", "devices")


class DiffNode:
    __slots__ = ("a", "b", "status", "own", "parent", "name", "_children", "_by_name", "counts", "moved")

    def __init__(self, a, b, parent, status=""):
        self.a, self.b, self.parent = a, b, parent
        self.name = a.name if a is not None else b.name  # its name in the union's paths (see _unique_names)
        self.status = status or ("removed" if b is None else "added" if a is None else "")
        self.own = ()  # this node's own changes (schema.DiffChange), found by the walk
        self._children = None  # [DiffNode]; None for an op, or until an added/removed group is unfolded
        self._by_name = None
        self.counts = None  # {status: how many nodes below it}, groups only
        # (both sides: it or a group above it has another name in B, so its path in B differs; set by the walk)
        self.moved = False

    @property
    def side(self):
        """The node this one shows: A's, or B's for an added node."""
        return self.a if self.a is not None else self.b

    @property
    def is_group(self) -> bool:
        return self.side.children is not None

    @property
    def path(self) -> str:
        """Its path in A; an added node's in B (under a renamed group: the union's, the parent's path and its name)."""
        names = []
        node = self
        while node.parent is not None:  # (iterative: scopes may nest thousands deep)
            names.append(node.name)
            node = node.parent
        return "/".join(reversed(names))

    @property
    def path_b(self) -> str | None:
        """Its path in B where that differs from `path` (a renamed node and what lies below it)."""
        if self.b is None or self.parent is None:
            return None
        path = self.b.path
        return path if path != self.path else None

    def children(self) -> list:
        """The union's children (those of an added, removed or identical group unfolded now)."""
        if self._children is None and self.is_group:
            if self.a is not None and self.b is not None:  # the same on both sides: its children pair by name
                children_b = self.b.children
                self._children = [DiffNode(c, children_b[c.name], self, "same") for c in self.a.children.values()]
            else:
                self._children = [DiffNode(c, None, self) if self.b is None else DiffNode(None, c, self)
                                  for c in self.side.children.values()]
            for child in self._children:
                if child.is_group:
                    child.counts = {child.status: _size_below(child.side)}
            _unique_names(self._children)
        return self._children or []

    def child(self, name: str):
        if self._by_name is None:
            by_name: dict = {}
            for c in self.children():
                by_name[c.name] = c
            self._by_name = by_name
        return self._by_name.get(name)


class Diff:
    """Graphs A and B compared (both built hierarchies, tree.Hierarchy)."""

    def __init__(self, ha, hb):
        self.ha, self.hb = ha, hb
        self.root = DiffNode(ha.root, hb.root, None)
        self.root.name = ha.root.name
        self._walk()

    def find(self, path: str) -> DiffNode:
        from ..errors import NotFound

        node = self.root
        if path:
            for segment in path.split("/"):
                node = node.child(segment) if node.is_group else None
                if node is None:
                    raise NotFound(f"There is no node {path!r} in the comparison of these graphs.")
        return node

    @property
    def identical(self):
        """True: the graphs match in everything compared, and everything was (not_compared is empty); False: they
        differ; None: the same structure, but a measure could not be compared (see not_compared)."""
        if self.root.status != "same":
            return False
        return None if not_compared(self) else True

    def _walk(self) -> None:
        (sig_a, exact_a, loose_a), (sig_b, exact_b, loose_b) = signature.signatures(self.ha), signature.signatures(
            self.hb)
        feeds = (_feeds(self.ha), _feeds(self.hb))
        matched = []  # matched pairs that differ somewhere below, each parent before its children
        stack = [self.root]
        while stack:
            node = stack.pop()
            matched.append(node)
            if not node.is_group:
                continue
            children = []
            renamed = node.moved  # (not node.path_b: two paths made for every node walked, scopes thousands deep)
            for a, b in match.align(list(node.a.children.values()), list(node.b.children.values()), sig_a, sig_b,
                                    renamed, feeds, (loose_a, loose_b)):
                if a is not None and b is not None and exact_a[id(a)] == exact_b[id(b)]:
                    child = DiffNode(a, b, node, "same")  # (alike to the last op: not walked)
                    if a.children is not None:
                        child.counts = {"same": _size_below(a)} if a.children else {}
                    children.append(child)
                    continue
                child = DiffNode(a, b, node)
                children.append(child)
                if a is not None and b is not None:
                    child.moved = node.moved or a.name != b.name
                    stack.append(child)
                elif child.is_group:
                    child.counts = {child.status: _size_below(child.side)}
            node._children = _unique_names(children)
        for node in reversed(matched):  # children before their parents
            a, b = node.a, node.b
            node.own = op_changes(a, b) if a.children is None else group_changes(self.ha, self.hb, a, b)
            if node.is_group:
                counts: dict = {}
                for child in node._children:
                    if child.side.role == NOT_COUNTED:
                        continue
                    counts[child.status] = counts.get(child.status, 0) + 1
                    for status, n in (child.counts or {}).items():
                        counts[status] = counts.get(status, 0) + n
                node.counts = counts
                below_differs = any(s != "same" for s in counts)
            else:
                below_differs = False
            if node.parent is not None and a.name != b.name and not match.tf_named(a) and (
                    a.children is None or match.name_key(a) != match.name_key(b)):
                node.status = "renamed"
            else:
                node.status = "changed" if node.own or below_differs else "same"


def _unique_names(children: list) -> list:
    """Each child's path its own: an added node named like one of A's beside it (a block inserted at `blk_6` among
    blocks named by position, A's `blk_6` now B's `blk_7`) is named `blk_6~b` in the union's paths (`~` is in no
    TensorFlow name); its `path_b` is still B's path and its answer's `name` B's name."""
    taken = {c.name for c in children if c.a is not None}
    for child in children:
        if child.a is None and child.name in taken:
            name, n = f"{child.name}~b", 2
            while name in taken:
                name, n = f"{child.name}~b{n}", n + 1
            child.name = name
        taken.add(child.name)
    return children


def _feeds(h):
    """op -> what it feeds, as both graphs can name it: its consumers' scopes and names, sorted (see match.align)."""
    def feeds(op) -> tuple:
        return tuple(sorted((c.parent.name if c.parent is not None else "", c.name, control)
                            for c, _, control in h.links().consumers_of(op)))

    return feeds


def _size_below(group) -> int:
    """How many nodes (groups and ops) lie below a group."""
    size, stack = 0, [group]
    while stack:
        node = stack.pop()
        if node.children:
            size += len(node.children)
            stack.extend(c for c in node.children.values() if c.children)
    return size


# -- What changed ---------------------------------------------------------------------------------------------------

def change(field: str, a, b) -> dict:
    from .. import schema

    return schema.DiffChange(field=field, a=a, b=b)


def op_changes(a, b) -> list:
    """An op's own changes against its match (same name and type): attributes, device, a variable's shape."""
    out = []
    if a.serialized_node_def() == b.serialized_node_def():
        return out
    da, db = a.node_def, b.node_def
    if da.attr != db.attr:
        fa, fb = _attrs(da.attr), _attrs(db.attr)
        if match.tf_named(a):  # (TensorFlow's name for it)
            fa.pop("_user_specified_name", None)
            fb.pop("_user_specified_name", None)
        if (RECORDED_SHAPES in fa) != (RECORDED_SHAPES in fb):  # (one record has shapes, the other none: a trace)
            fa.pop(RECORDED_SHAPES, None)
            fb.pop(RECORDED_SHAPES, None)
        keys = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
        if keys:
            out.append(change("attrs", {k: fa[k] for k in keys if k in fa}, {k: fb[k] for k in keys if k in fb}))
    if a.role == "variable" or b.role == "variable":
        va, vb = signature.variable_dims(a), signature.variable_dims(b)
        if va != vb:
            out.append(change("variable_shapes", [_dims(va)], [_dims(vb)]))
    if da.device != db.device:
        out.append(change("devices", {da.device: 1} if da.device else {}, {db.device: 1} if db.device else {}))
    return sorted(out, key=lambda c: FIELDS.index(c["field"]))


def _dims(dims):
    return None if dims is None else list(dims)


def _attrs(attrs) -> dict:
    """Formatted attributes, a function's process-made uniquifier left out: a `func` attribute names a function
    of the graph's library (`__inference_step_123`), and TensorFlow numbers those anew in every process."""
    out = {}
    for key in attrs.keys():
        value = attrs[key]
        kind = value.WhichOneof("value")
        if kind == "func":
            out[key] = canonical_function(value.func.name)
        elif kind == "list" and value.list.func:
            out[key] = "[" + ", ".join(canonical_function(f.name) for f in value.list.func) + "]"
        else:
            out[key] = attrs_lib.format_attr(value)
    return out


def canonical_function(name: str) -> str:
    """A function's name without the number TensorFlow adds to make it unique in its process."""
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdecimal() else name


def group_changes(ha, hb, a, b) -> list:
    """A group's own changes: class, its own variables' shapes and trainability, a Keras layer's config; each
    compared where both records say it (a trace records no class and no variables: against a module record, it
    is not a change)."""
    fa, fb = a.facts or {}, b.facts or {}
    out = []

    def both(key) -> bool:
        return key in fa and key in fb

    if both("class_name") and fa["class_name"] != fb["class_name"]:
        out.append(change("class", fa["class_name"], fb["class_name"]))
    if both("variables"):
        shapes_a, shapes_b = [v.get("shape") for v in fa["variables"]], [v.get("shape") for v in fb["variables"]]
        if shapes_a != shapes_b:
            out.append(change("variable_shapes", shapes_a, shapes_b))
    va, vb = _values(ha, a), _values(hb, b)
    flags_a, flags_b = [v.get("trainable") for v in fa.get("variables", ())], [v.get("trainable") for v in
                                                                            fb.get("variables", ())]
    if ((both("variables") and flags_a != flags_b) or (both("trainable") and fa["trainable"] != fb["trainable"])
            or ("frozen" in va and "frozen" in vb and va["frozen"] != vb["frozen"])):
        out.append(change("trainable", _trainable(fa, va), _trainable(fb, vb)))
    config_a = {k: v for k, v in (fa.get("attrs") or {}).items() if k != "name"}
    config_b = {k: v for k, v in (fb.get("attrs") or {}).items() if k != "name"}
    if both("attrs") and config_a != config_b:
        keys = sorted(k for k in set(config_a) | set(config_b) if config_a.get(k) != config_b.get(k))
        out.append(change("attrs", {k: config_a[k] for k in keys if k in config_a},
                          {k: config_b[k] for k in keys if k in config_b}))
    return out


def _values(h, node) -> dict:
    return (h.values.get(node.path) if h.values else None) or {}


def _trainable(facts: dict, values: dict):
    """What a side says of its trainability: its trainable parameters where counted, else its flags."""
    if "num_trainable_params" in values:
        return values["num_trainable_params"]
    if "trainable" in facts:
        return facts["trainable"]
    return [v.get("trainable") for v in facts.get("variables", ())]


def changes(d: Diff, node: DiffNode) -> list:
    """Everything that differs between a matched node's two sides: its own changes, and what its subtree adds up
    to (ops, op types, parameters, devices) where something below it changed."""
    if node.a is None or node.b is None or node.status == "same":
        return []
    out = list(node.own)
    a, b = node.a, node.b
    if a.children is not None and any(s != "same" for s in node.counts or ()):
        if a.num_ops != b.num_ops:
            out.append(change("num_ops", a.num_ops, b.num_ops))
        # (matched ops have one type: the counts of types differ only where ops were added or removed)
        ta, tb = (signature.op_types(a), signature.op_types(b)) if {"added", "removed"} & set(node.counts) else ({}, {})
        if ta != tb:
            keys = sorted(k for k in set(ta) | set(tb) if ta.get(k) != tb.get(k))
            out.append(change("op_types", {k: ta.get(k, 0) for k in keys}, {k: tb.get(k, 0) for k in keys}))
        pa, pb = _values(d.ha, a).get("num_params"), _values(d.hb, b).get("num_params")
        if pa != pb:
            out.append(change("num_params", pa, pb))
        if d.ha.costs is not None and d.hb.costs is not None and not any(c["field"] == "devices" for c in out):
            da, db = d.ha.costs.devices_of(a) or {}, d.hb.costs.devices_of(b) or {}
            if da != db:
                out.append(change("devices", da, db))
    return sorted(out, key=lambda c: FIELDS.index(c["field"]))


SHAPES_WHY = "a trace records none: record with tb_module_plugin.summary.module_graph to compare them"


def not_compared(d: Diff) -> dict:
    """schema.NotCompared: the measures a side's graph cannot give, each with why. Where a graph records no
    parameter shapes (a trace: its captured variables are bare handles), two graphs of one structure may hold
    layers of other widths: "same" cannot speak for parameters, nor for FLOPs where those are not known either.
    (A graph that records every shape but leaves its batch open is compared whole: its FLOPs are unknown, not
    uncompared.) FLOPs still being counted (the route's, right after the build) are listed for such a side: an
    answer must not claim them compared before they are known."""
    from .. import schema

    out = schema.NotCompared()
    blind = [(name, h) for name, h in (("A", d.ha), ("B", d.hb)) if not h.shapes_known(h.root)]
    if not blind:
        return out
    out["num_params"] = f"{_names(blind)} record{'s' if len(blind) == 1 else ''} no parameter shapes ({SHAPES_WHY})"
    unknown = [(name, h) for name, h in blind if h.costs is None or h.costs.flops_of(h.root) is None]
    if unknown:
        its = "its" if len(unknown) == 1 else "their"
        out["flops"] = (f"{_names(unknown)} record{'s' if len(unknown) == 1 else ''} no shapes of {its} ops, so "
                        f"{its} FLOPs are not known ({SHAPES_WHY})")
    return out


def _names(sides: list) -> str:
    return " and ".join(name for name, _ in sides)


def measures(d: Diff, node: DiffNode, times_a=None, times_b=None) -> dict:
    """{measure: (A's value or None, B's)} of num_params, flops and time_us, rolled up as the tree is."""
    out = {}
    for key, side, h, times in (("a", node.a, d.ha, times_a), ("b", node.b, d.hb, times_b)):
        if side is None:
            out[key] = (0, 0, 0.0)  # (nothing there: it costs nothing)
            continue
        params = _values(h, side).get("num_params")
        if params is None and side.children is None:
            params = 0  # (an op holds no parameters of its own)
        flops = h.costs.flops_of(side) if h.costs is not None else None
        time_us = times.time_of(side) if times is not None else None
        out[key] = (params, flops, time_us)
    return out


def delta(d: Diff, node: DiffNode, times_a=None, times_b=None) -> dict:
    """schema.DiffDelta: B minus A of each measure known on both sides."""
    from .. import schema

    m = measures(d, node, times_a, times_b)
    out = schema.DiffDelta()
    for i, key in enumerate(("num_params", "flops", "time_us")):
        va, vb = m["a"][i], m["b"][i]
        if va is not None and vb is not None:
            out[key] = round(vb - va, 3) if key == "time_us" else vb - va
    return out
