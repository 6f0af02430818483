"""The tree model: groups (modules, scopes and the plugin's own groups) holding ops, and the built Hierarchy.

A tree node is either a group (`Group`) or an op (`graph.Op`, a leaf): an op is its own leaf rather than the payload
of one, so a 200,000-op graph makes 200,000 objects fewer while it is built. Built once per graph by build/ (or by
readers/keras_model.py from a Keras model's JSON) and then only read: the measures and every answer of serve/ are
walks over this tree, which knows none of them.
"""

from __future__ import annotations

import itertools
import threading
import weakref

from ..errors import NotFound
from . import columns as columns_lib
from . import edges as edges_lib
from . import links as links_lib
from . import structure as structure_lib
from . import turns as turns_lib
from . import ops as ops_lib
from .node import TreeNode

class Group(TreeNode):
    """A group of the tree: a module, a scope or one of the plugin's own groups (its ops are graph.Op leaves)."""

    __slots__ = ("kind", "role", "children", "num_ops", "edges", "facts", "_path")

    def __init__(self, name: str, kind: str, parent: "Group | None", role: str = ""):
        self.name = name
        self.kind = kind  # schema.NodeKind: "module" | "scope"
        self.role = role  # schema.GroupRole, or "" for a module or plain scope
        self.parent = parent
        self.children = {}
        self._path = None if parent is not None else ""  # see `path`
        self.depth = 0
        self.num_ops = 0
        self.edges = None  # between children: {(child, child): [count, control, ...]} (edges.py), then their answers
        self.facts = None  # schema.ModuleFacts: a recorded module's class, attribute path and variables, a Keras layer's
        self.structure = None  # see Hierarchy.structure_of
        self.top = None  # its ancestor (or itself) among the root's children, set by finalize

    def is_op_scope(self) -> bool:
        """A scope named after an op of the same name (`dense/MatMul` holding `(MatMul)`)."""
        return f"({self.name})" in self.children


class Hierarchy:
    """A built tree, and what answering from it needs (edges filed once, structures numbered once)."""

    def __init__(self, root: Group, op_graph: bool = True):
        self.root = root
        self.op_graph = op_graph  # ops with dataflow (else: a Keras layer tree, its edges set by its builder)
        self._links = None  # see links
        self._interned: dict = {}  # structure key -> number (see structure_of)
        self._unknown_shapes: set = set()  # structure numbers of subtrees with a parameter of unknown shape
        self._numbers = itertools.count()
        self._structure_lock = threading.Lock()
        self._structures = None  # an op graph's: every node's, as a column in the order of all_nodes (see structure_of)
        self._columns_tried = not op_graph  # numbering every node at once was tried (None above: too deep for it)
        self.all_nodes: list = []
        self.record_bytes = 0  # size of the record it was built from: its parsed protobuf lives on in the ops
        self.record_wall_time = None  # when its record was written (seconds), where the reader knows: profiles.newer
        self.traced_ops = 0  # ops of the recorded function (not of other functions or eager ops), set by the build
        self.read_shapes: dict = {}  # id(op) -> dims: captured variables' shapes their readers record (the build's)
        self.returns = None  # a module record's: the ops its function returns and must run (build.module_record)
        self.values: dict = {}  # node path -> schema.NodeValues (parameters...): an overlay merged into answers
        # What later stages keep of this graph, each set only by its owner (the tree never reads them): made once
        # per graph, they live as long as it does in the cache.
        self.costs = None  # measures.costs.Costs: every node's FLOPs (count_costs)
        self.times: dict = {}  # id(readers.profiles.OpTimes) -> (it, its measures.time.Times of these nodes)
        self.group_details: dict = {}  # group -> its `node` answer (serve.answers)
        self.search_index = None  # serve.search.SearchIndex, made by settle (or by the first search)
        self.signatures = None  # compare.signature: each node's structure, exact and loose signatures
        # A lock for each field above made once on first need (see kept): making one holds up no other, and no other
        # graph's (signing a big graph holds up no other comparison).
        self._making = {"search_index": threading.Lock(), "signatures": threading.Lock(), "_links": threading.Lock()}
        self.backward_holders: frozenset = frozenset()  # build.backward: ids of the nodes at or above a backward group
        self.backward_flops = None  # measures.backward: every node's backward part of costs' FLOPs (when first asked)
        self.backward_ops_run = None  # measures.backward: how many backward ops below each node run (when first asked)
        self._has_module = None  # see has_module
        self.unexpanded_ops = 0  # calls and control-flow ops left unexpanded by expand.py's budget
        ops, groups = finalize(root, self.all_nodes)
        # The first answer draws the root's edges: those are filed now, the edges inside groups when first needed
        # (file_edges; serve.settle does it in the background). Only op graphs have edges to file (a Keras layer
        # tree's are set by its builder).
        self._unfiled = ops if op_graph else None
        self._unfiled_groups = groups if op_graph else None  # (NodeColumns reads its columns from these two lists)
        self._columns = None  # columns_lib.NodeColumns, made by node_columns
        self._columns_lock = threading.Lock()
        self._filed = None  # edges_lib.FiledEdges: the edges inside groups, filed
        self._ordered_groups: set = set()  # groups put in flow order one by one (before file_edges orders all)
        self._ordered = not op_graph  # every group's children in flow order (a Keras layer tree keeps its own)
        self._order_lock = threading.Lock()  # (putting one group's in order: an answer does not wait for all)
        self._ordering_lock = threading.Lock()  # (file_edges putting every group's in order)
        self.lock = threading.Lock()  # filing the edges inside groups; count_costs and times_for make theirs under it
        self.turns = turns_lib.Turns()  # the answers being made from it, ahead of serve.settle's work
        if op_graph:
            edges_lib.distribute_edges(self._unfiled)
            self._order_root()  # (a Keras layer tree keeps its model's own order of layers)

    def kept(self, field: str, make):
        """This graph's `field` (one a later stage keeps here and makes on first need: search_index, signatures; or
        the tree's own _links), made by `make()` the first time only; a thread asking meanwhile waits for it."""
        value = getattr(self, field)
        if value is None:
            with self._making[field]:
                value = getattr(self, field)
                if value is None:
                    value = make()
                    setattr(self, field, value)
        return value

    def free_when_dropped(self) -> None:
        """Once no one holds this graph any more (the cache dropped it; a request still answering from it keeps it
        whole until it is done), break its tree's reference cycles, so reference counting frees it at once, in
        time in proportion to its size: the cycle collector would walk every live object of the process (a
        second per million, other graphs' trees included), and the build froze the tree out of its sight. The work
        after its first answer (serve.settle) stops, rather than keep it for nothing."""
        weakref.finalize(self, ops_lib.break_cycles, self.all_nodes).atexit = False
        self.turns.drop()

    def has_module(self) -> bool:
        """Some node of the tree is a module (walked once: a graph without one walks all its nodes)."""
        if self._has_module is None:
            self._has_module = any(node.kind == "module" for node in self.all_nodes)
        return self._has_module

    def estimated_bytes(self) -> int:
        """Rough memory of the tree and the protobufs its ops keep, for the cache's bound."""
        return 4096 + 1200 * len(self.all_nodes) + self.record_bytes

    def find(self, path: str):
        node = self.root
        if path == "":
            return node
        for segment in path.split("/"):
            children = node.children
            if not children or segment not in children:
                raise NotFound(f"There is no node {path!r} in this graph.")
            node = children[segment]
        return node

    def file_edges(self) -> None:
        """File every op edge into the group whose two children it joins and put every group's children in the
        order data flows between them (once; requests wait for it)."""
        if self._ordered:  # (done: no wait for _ordering_lock, which a thread ordering every group holds)
            return
        self.file_inner_edges()
        with self._ordering_lock:
            if self._ordered:
                return
            self._filed.aggregate()
            for group, pairs in self._filed.flows():
                self._order(group, pairs)
            with self._order_lock:
                self._ordered = True
                self._ordered_groups = set()
            self._filed.forget_flows()

    def file_inner_edges(self) -> None:
        """File the edges inside groups (edges_lib.FiledEdges; the root's are filed by __init__), not yet putting
        children in flow order (each group's is done when it is first listed, or by file_edges)."""
        if self._filed is None and self.op_graph:
            with self.lock:
                if self._filed is None:
                    self._filed = edges_lib.FiledEdges(self.node_columns())
                    self._forget_columns()

    def node_columns(self) -> columns_lib.NodeColumns:
        """Every node's parent and depth, which are ops, as columns (columns_lib.NodeColumns): made once, for filing
        the edges inside groups and numbering the structures, and let go once both are done (FiledEdges keeps
        them until it has lifted every edge)."""
        with self._columns_lock:
            if self._columns is None:
                self._columns = columns_lib.NodeColumns(self.all_nodes, self._unfiled, self._unfiled_groups)
                self._unfiled = self._unfiled_groups = None
            return self._columns

    def _forget_columns(self) -> None:
        with self._columns_lock:  # (whichever of the two is done last lets them go)
            if self._filed is not None and self._columns_tried:
                self._columns = None

    def _order(self, group: Group, pairs=None) -> None:
        """Puts the group's children in flow order (once) if data flows against the order they had when filed
        (`pairs`: its data edges as (from, to) places among them, when known)."""
        if self._ordered or group in self._ordered_groups:
            return
        with self._order_lock:
            if not self._ordered and group not in self._ordered_groups:
                pairs = self._filed.flow_of(group) if pairs is None else pairs
                if pairs:
                    self._reorder(group, pairs)
                self._ordered_groups.add(group)

    def _order_root(self) -> None:
        """Puts the root's children in the order data flows between them (its edges, filed by distribute_edges):
        listings, folds, repeat marks and every walk over the tree then follow the graph, whichever answer comes
        first. The groups below are put in order by _order (their edges filed by FiledEdges)."""
        root = self.root
        if root.edges is None or len(root.children) < 2:
            return
        place = dict(zip(root.children.values(), itertools.count()))  # (nodes hash by identity)
        pairs = [(place[a], place[b]) for (a, b), edge in root.edges.items() if not edge[1]]
        if any(a >= b for a, b in pairs):  # (most graphs list them in data-flow order already)
            self._reorder(root, pairs)

    def edges_filed(self) -> bool:
        """Whether the edges inside groups are filed (read by tests only: what settle does ahead of an answer)."""
        return self._filed is not None

    def group_edges(self, group: Group) -> list:
        """The group's edges as answers; dtypes and shapes are looked up only now, for the groups people open."""
        if group is not self.root:
            self.file_inner_edges()
        edges = group.edges
        if edges is None and group is not self.root and self._filed is not None:
            edges = self._filed.of(group)  # (made into lists only for the groups people open)
        if edges is None:
            edges = []
        elif isinstance(edges, dict):
            edges = [edges_lib.op_edge(a, b, edge) for (a, b), edge in edges.items()]
        group.edges = edges
        return edges

    def in_flow_order(self, group: Group) -> list:
        """The group's children, in the order data flows between them (see _order and _order_root)."""
        if group is not self.root:
            self.file_inner_edges()
            self._order(group)
        return list(group.children.values())

    @staticmethod
    def _reorder(group: Group, pairs) -> None:
        """The group's children in data-flow order (`pairs`: its data edges as (from, to) places among them)."""
        items = list(group.children.values())
        order = edges_lib.data_flow_order(len(items), pairs)
        group.children = {items[i].name: items[i] for i in order}

    def links(self) -> links_lib.Links:
        """Every op's consumers and what crosses each group's edge (links_lib.Links), made on first need."""
        return self.kept("_links", lambda: links_lib.Links(self.all_nodes, [n for n in self.all_nodes
                                                                           if n.children is None]))

    def structure_of(self, node) -> int:
        """A number equal for subtrees of the same structure: op types and nesting (names aside), the shapes of
        the parameters (a variable op's, a module record's variables) and, where recorded, the class (a Keras
        callback's layer: its config but the name). Two Dense layers of different sizes differ. Memoized, computed
        without recursion (scopes may nest thousands deep)."""
        if node.structure is not None:
            return node.structure
        if not self._columns_tried:
            # One numbering at a time: an expansion asked while settle numbers the whole tree waits for it rather
            # than numbering the same subtrees beside it (both slower, sharing the interpreter).
            with self._structure_lock:
                if not self._columns_tried:
                    # (None: too deep for columns, numbered node by node below)
                    self._structures = structure_lib.number_all(self.node_columns(), self._interned, self._numbers,
                                                                self._unknown_shapes, self.read_shapes)
                    self._columns_tried = True
                    self._forget_columns()
        if self._structures is not None:
            return int(self._structures[node.number])
        with self._structure_lock:
            return self._number_structures(node)

    def _number_structures(self, node) -> int:
        interned, numbers = self._interned, self._numbers
        by_type: dict = {}  # op type -> the number of a plain op of that type
        stack = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if current.structure is not None:
                continue
            if current.children is None:
                dims = ops_lib.variable_dims(current, self.read_shapes) if current.role == "variable" else ()
                key = ("op", current.type, dims)
                unknown = dims is None
            elif not ready:
                stack.append((current, True))
                for c in current.children.values():
                    if c.structure is not None:
                        continue
                    if c.children is None and c.role != "variable":
                        # (an op that is not a variable: numbered by its type alone, here, without a stack entry:
                        # most of a big graph's nodes)
                        number = by_type.get(c.type)
                        if number is None:
                            number = by_type[c.type] = interned.setdefault(("op", c.type, ()), next(numbers))
                        c.structure = number
                    else:
                        stack.append((c, False))
                continue
            else:
                facts = current.facts or {}
                structures = [c.structure for c in current.children.values()]
                key = (structure_lib.facts_key(facts), tuple(sorted(structures)))
                own = structure_lib.own_shapes_unknown(facts)
                if own is not None:  # (its own are recorded: what its sub-modules hold may not be)
                    unknown = own or any(
                        c.structure in self._unknown_shapes for c in current.children.values() if c.children is not None)
                else:
                    unknown = any(s in self._unknown_shapes for s in structures) or (
                        not self.op_graph and not structures)
            number = self._interned.setdefault(key, next(self._numbers))
            if unknown:  # (before the number is set: a parent numbered meanwhile by another thread must see it)
                self._unknown_shapes.add(number)
            current.structure = number
        return node.structure

    def structures_numbered(self) -> bool:
        """Whether every node's structure is numbered (settle does it ahead of the first expansion)."""
        return self._structures is not None or all(node.structure is not None for node in self.all_nodes)

    def shapes_known(self, node) -> bool:
        """Whether the graph records the shapes of every parameter in `node` (see structure_of)."""
        return self.structure_of(node) not in self._unknown_shapes


def finalize(root: Group, all_nodes: list) -> tuple:
    """Parents, depths, top-level ancestors, op counts and numbers (each node's place in `all_nodes`, each group
    before its children), in one pass (iterative: scopes may nest thousands deep); returns the ops (the leaves), in
    that order, and the groups below the root (FiledEdges reads its columns from the two: a pass over a million
    nodes to tell groups from ops costs more than these lists). Run once, before any stage reads the tree: nothing
    adds nodes after it."""
    order = []
    ops = []
    groups = []
    stack = [root]
    while stack:
        node = stack.pop()
        node.number = len(order)
        order.append(node)
        children = node.children
        if children:
            # Each child counted as one op for now; a group child corrects that below (its ops, less the one).
            node.num_ops = len(children)
            groups.append(node)
            depth = node.depth + 1
            if depth == 1:
                for child in children.values():
                    child.parent, child.depth, child.top = node, 1, child
            else:
                top = node.top
                for child in children.values():
                    child.parent, child.depth, child.top = node, depth, top
            stack.extend(children.values())
        elif children is not None:
            node.num_ops = 0
            groups.append(node)
        else:
            ops.append(node)
    for node in reversed(groups):  # child groups before their parents (the ops are counted already)
        if node.parent is not None:
            node.parent.num_ops += node.num_ops - 1
    all_nodes.extend(order)
    del groups[0]  # (the root, popped first)
    return ops, groups


def ops_under(group: Group):
    stack = [group]
    while stack:
        node = stack.pop()
        if node.children is None:
            yield node
        else:
            stack.extend(node.children.values())


def ancestor_names(node: TreeNode) -> list:
    """The names of `node`'s ancestors from the root's child down to its parent: their paths are the joins of these
    (as paths, 12,000 nested scopes made a 144 MB answer)."""
    names = []
    parent = node.parent
    while parent is not None and parent.parent is not None:
        names.append(parent.name)
        parent = parent.parent
    return names[::-1]


def free_name(children: dict, name: str) -> str:
    """`name`, or `name (2)`, `name (3)`... if a sibling has it."""
    if name not in children:
        return name
    i = 2
    while f"{name} ({i})" in children:
        i += 1
    return f"{name} ({i})"
