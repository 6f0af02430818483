"""Every JSON answer of the HTTP API, as typed records: the one definition of the API's shapes.

The engine builds its answers with these records (a TypedDict called with keywords is the dict it describes, in the
order given); `tools/schema_codegen.py` generates from this file the TypeScript types the page uses
(`frontend/src/api-types.ts`) and the field reference of `docs/api.md`, and the tests fail when either is stale.
A field has one comment, on its line; a record whose class says `total=False` has optional fields; names that start
with `_` are parts shared by records, not records of their own. What a module is (`ModuleFacts`: class, attribute
path, variables) is part of its node; what it counts or costs (`NodeValues`: parameters today; FLOPs, time,
comparisons later) is an overlay, one per measure (measures/overlays.py): both are joined into the node's answer, and
the `values` answer gives one overlay alone.
"""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, TypedDict, Union

PLUGIN_NAME = "module_graph"  # the plugin's name: its routes, its records' plugin name, its tab

# -- Words the API uses --------------------------------------------------------------------------------------------

NodeKind = Literal["module", "scope", "op"]  # a module (owns variables, or a recorded module object), a scope, an op
GroupRole = Literal[
    "inputs",  # the traced function's inputs (and captured variables no module reads)
    "outputs",  # its outputs (_Retval and the Identity/NoOp ops feeding them)
    "functions",  # the graphs of other functions and eager ops the same trace recorded
    "function",  # one of those functions
    "eager_ops",  # the one-op graphs trace_on records for eager ops
    "series",  # numbered sibling ops of one type folded together: "AddN[0-121]"
    "control_flow",  # an If/While/Case op's group: holds the op as "(name)" and its branches
    "branch",  # one branch or body of a control-flow op: "then", "else", "cond", "body", "branch_0"
    "loose_ops",  # the ops outside any scope of a crowded top level
    "backward",  # a module's backward pass: the gradient ops TensorFlow named after its forward ops
]
OpRole = Literal["variable"]  # a captured variable (an _Arg of dtype resource) or a VarHandleOp
NotExpanded = Literal[
    "budget",  # expanding it would pass the budget of ops (and of bodies) a record's function calls may add
    "depth",  # some of its bodies call themselves, lie deeper than the calls expanded, or are not in the library
]
CostMeasure = Literal[
    "params",  # a module's parameters (a trace records no variable shapes)
    "flops",  # floating-point operations: no count (shapes not recorded), or a lower bound (see flops_uncounted)
    "time",  # measured time (asked for, and the run's profiles do not time these ops)
]
GraphSource = Literal[
    "trace",  # tf.summary.trace_export
    "run_graph",  # tf.summary.graph, an event file's graph_def
    "keras",  # the Keras TensorBoard callback's model JSON
    "module",  # the plugin's own module_graph summary, or a SavedModel imported with the command line
]


# -- graphs ----------------------------------------------------------------------------------------------------------

class _GraphEntryCore(TypedDict):
    run: str  # the run's name
    tag: str  # the graph's tag in the run
    source: GraphSource  # the kind of record that holds it
    profiled: bool  # the run holds profiles (plugins/profile/) to read measured time from


class GraphEntry(_GraphEntryCore, total=False):
    reads: bool  # known once its newest record was parsed: true, it reads; false, it holds no readable graph
    has_module: bool  # with reads true: its tree holds a module (a node of kind "module")
    error: str  # with reads false: why it does not read, in words a user understands (the 422 message)


class FirstGraph(TypedDict):
    run: str  # the run of the graph to open first
    tag: str  # its tag


class _GraphsAnswerCore(TypedDict):
    graphs: List[GraphEntry]  # every graph of the logdir, sorted by run, then tag


class GraphsAnswer(_GraphsAnswerCore, total=False):
    first: FirstGraph  # with first=1: the first graph that reads and has a module, else the first that reads


# -- hierarchy -------------------------------------------------------------------------------------------------------

HierarchyEdge = TypedDict("HierarchyEdge", {
    "from": str,  # the path of the child the edges leave
    "to": str,  # the path of the child they enter
    "count": int,  # op edges between the two subtrees
    "dtypes": List[str],  # their dtypes, as far as the ops say (at most 8 edges are looked at)
    "shapes": List[str],  # their shapes where recorded ("[2,4]", "?" for an unknown rank)
    "control": bool,  # true when every one of them is a control edge
})


class OpInput(TypedDict):
    path: str  # the producing op's path
    port: str  # its output ("0", "1"; in a function body "output:0")
    control: bool  # a control input ("^name")


class RepeatMark(TypedDict):
    key: str  # the name of the first of the siblings with this structure
    count: int  # how many sibling modules have the same structure (class, op types and nesting, parameter shapes)
    shapes_compared: bool  # false: the graph records no shapes of their parameters (a trace), so those were not


class RecordedVariable(TypedDict):
    name: str  # the variable's name (a Keras variable's path, a tf.Variable's name)
    shape: Optional[List[Optional[int]]]  # its dimensions (null for an unknown one)
    dtype: str  # "float32"
    trainable: bool  # as the framework that holds it says (Keras asks the layer or its keras.Variable)
    shared: bool  # another module holds it too: it is counted once, in the modules above both


class ModuleFacts(TypedDict, total=False):
    class_name: str  # the module's class ("keras.src.layers.core.dense.Dense"; a Keras callback's "Dense")
    attribute_path: str  # where it hangs off the recorded module ("blocks[2].up"; "" for that module itself)
    variables: List[RecordedVariable]  # the variables it holds itself
    aliases: List[str]  # other attribute paths that reach the same object (its subtree is under attribute_path)
    trainable: bool  # a Keras callback's layer: its config's trainable
    attrs: Dict[str, str]  # an op's attributes, or a Keras callback layer's config (values cut at 200 characters)


class MeasureValues(TypedDict, total=False):
    num_params: int  # elements of the unique variables a module holds or reaches (a trace's: those its scope reads)
    num_trainable_params: int  # of those, the trainable ones, as the framework says
    frozen: bool  # it has parameters and none is trainable
    params_estimated: bool  # true: num_params is estimated from the variable shapes a graph records, not recorded
    flops: int  # floating-point operations for one call of the recorded function (a multiply-add counts as 2)
    # flops can be a lower bound: then cost_unknown names "flops" and one or both of these say why (the ops that
    # are counted still are: a custom op among a thousand convolutions leaves the convolutions' count standing).
    # flops_loop_bound marks a count that may be too high instead: the loop's part is its most.
    # (flops_uncounted also names a call whose functions were not expanded: "PartitionedCall (not expanded)")
    flops_uncounted: List[str]  # op types below it that may do arithmetic and that no rule counts (a custom op)
    flops_per_iteration: bool  # true: ops below it run in a loop whose trip count the graph does not say, counted once
    flops_loop_bound: bool  # true: ops below it run in a loop counted at maximum_iterations, which may end sooner
    # Ops TensorFlow never runs (no path leads from them to what the function returns or must run: a frozen layer's
    # gradients, an RNN's dropped cell step) count no FLOPs; where the record says what its function returns.
    flops_not_run: int  # how many of the ops below it (an op: 1) TensorFlow does not run, counted as 0 FLOPs
    # (a size known only when the graph runs, a batch left as None; a trace records no shapes: it has none of these)
    flops_shapes_missing: List[str]  # flops not known: paths of a few ops below it whose rule reads an unrecorded shape
    backward_flops: int  # a module: the part of flops its backward pass takes; a backward group: all of its flops
    time_us: float  # measured time, microseconds per profiled step (asked for with time=1): what the profile timed
    time_coverage: float  # with time_us: the share of its ops the profile timed, of the op types it times at all
    backward_time_us: float  # with time=1: the part of time_us its backward pass takes (where backward_flops is)
    backward_untimed: bool  # with time=1: it has backward ops, none timed (else no backward_time_us: it has none)
    fused: str  # ops, with time=1: the fused kernel that ran it ("Conv2D+BiasAdd (fused)"), timed on its first op
    step_time_us: float  # the root, with time=1: every op event of the profiled step, this graph's ops or not
    module_time_us: float  # the root, with time=1: the part of its time_us that the ops inside modules take
    devices: Dict[str, int]  # how many of its ops each device holds (an op: its own), where the graph places them


class NodeValues(MeasureValues, total=False):
    cost_unknown: List[CostMeasure]  # the measures not known here (a big graph's FLOPs: neither, until worked out)


# The order module facts and node values take in a node's answer (they are merged into it).
FACTS_AND_VALUES_ORDER = ("class_name", "attribute_path", "num_params", "num_trainable_params", "frozen", "variables",
                          "aliases", "trainable", "attrs", "params_estimated", "flops", "flops_uncounted",
                          "flops_per_iteration", "flops_loop_bound", "flops_not_run", "flops_shapes_missing",
                          "backward_flops", "time_us", "time_coverage", "backward_time_us", "backward_untimed", "fused",
                          "step_time_us", "module_time_us", "devices", "cost_unknown")


class _Node(TypedDict):
    path: str  # unique; "" is the root; a child's path is its parent's path, "/", its name (root children: the name)
    name: str  # the last segment of the path (the root: the tag); never holds "/"
    kind: NodeKind  # module, scope or op
    num_ops: int  # ops in the subtree (an op: 1)


class _NodeOptional(ModuleFacts, NodeValues, total=False):
    role: Union[GroupRole, OpRole]  # only on the plugin's own groups, control flow, and captured variables
    op: str  # ops: the op type ("MatMul")
    device: str  # ops: the device the op was placed on, as recorded
    num_children: int  # groups: how many children
    not_expanded: NotExpanded  # ops: a call or control-flow op whose functions were not expanded, and why
    unexpanded_ops: int  # the root, where any op is not_expanded: how many


class HierarchyNode(_Node, _NodeOptional, total=False):
    inputs: List[OpInput]  # ops: what feeds them
    children: List[HierarchyNode]  # groups within the asked depth: their children
    has_children: bool  # groups below the asked depth: whether they have any
    edges: List[HierarchyEdge]  # groups whose children are listed: the edges between those children
    repeat: RepeatMark  # a module among sibling modules of the same structure


class HierarchyAnswer(TypedDict):
    node: HierarchyNode  # the asked node, its children to the asked depth


# -- values ----------------------------------------------------------------------------------------------------------

class OverlayValues(MeasureValues, total=False):
    unknown: List[CostMeasure]  # the measure, where it is not known for this node (as cost_unknown would name it)


class ValuesAnswer(TypedDict):
    measure: CostMeasure  # the measure asked for
    values: Dict[str, OverlayValues]  # node path -> its fields of that measure, for each asked path and its descendants
    pending: bool  # true: the measure is still being worked out (a big graph's FLOPs): no values yet, ask again


# -- node ------------------------------------------------------------------------------------------------------------

class _EndpointCore(TypedDict):
    path: str  # the op at the other end (an input's producer, an output's consumer)
    port: str  # the output of the producer it is
    control: bool  # a control edge
    dtype: str  # "" for a control edge or where the op does not say
    shape: str  # "" where not recorded


class Endpoint(_EndpointCore, total=False):
    count: int  # groups: how many ops inside the group it joins


class CapturedVariable(TypedDict):
    path: str  # the captured variable's node (an _Arg of dtype resource, or a VarHandleOp)
    name: str  # its name in the graph
    dtype: str  # "resource" for a handle
    shape: str  # where recorded


class NodeDetails(_Node, _NodeOptional, total=False):
    ancestors: List[str]  # the names from the root's child down to the parent (each one's path: the names joined by "/")
    op_name: str  # ops: the op's name in its GraphDef or FunctionDef
    function: str  # ops inside an expanded function body: that function's name
    inputs: List[Endpoint]  # ops: what feeds them; groups: what enters the subtree, one row per outside op and port
    outputs: List[Endpoint]  # ops: who consumes them; groups: what leaves the subtree
    num_inputs: int  # how many inputs there are (at most 200 are listed)
    num_outputs: int  # how many outputs there are (at most 200 are listed)
    op_types: Dict[str, int]  # groups: how many ops of each type the subtree holds, the commonest first
    captured_variables: List[CapturedVariable]  # groups: captured variables placed directly in the group


class NodeAnswer(TypedDict):
    node: NodeDetails  # the node, with what enters and leaves it


# -- search ----------------------------------------------------------------------------------------------------------

class _SearchMatchCore(TypedDict):
    path: str  # the matching node's path
    name: str  # its name
    kind: NodeKind  # module, scope or op


class SearchMatch(_SearchMatchCore, total=False):
    op: str  # ops: the op type


class SearchResult(TypedDict):
    matches: List[SearchMatch]  # groups before ops, shallower first, then by path; at most `limit`
    truncated: bool  # more nodes matched than were listed


# -- diff ------------------------------------------------------------------------------------------------------------

DiffStatus = Literal[
    "same",  # alike on both sides, and everything below it
    "changed",  # matched, and it or something below it differs (changes and counts say what)
    "added",  # only in B
    "removed",  # only in A
    "renamed",  # matched with a node of another name in B (path_b), its structure alike
]
ChangeField = Literal[
    "class",  # the module's class
    "num_ops",  # ops in the subtree
    "op_types",  # how many ops of each type the subtree holds (only the types whose counts differ)
    "num_params",  # parameters it holds or reaches
    "variable_shapes",  # the shapes of the variables it holds itself (a variable op: its own)
    "trainable",  # its trainable parameters (or its variables' trainable flags), as the framework says
    "attrs",  # an op's attributes, a Keras layer's config (only those that differ)
    "devices",  # where its ops are placed
]


class DiffChange(TypedDict):
    field: ChangeField  # what differs
    a: Union[str, int, bool, None, List[Optional[List[Optional[int]]]], List[Optional[bool]],  # A's value
             Dict[str, int], Dict[str, str]]
    b: Union[str, int, bool, None, List[Optional[List[Optional[int]]]], List[Optional[bool]],  # B's value
             Dict[str, int], Dict[str, str]]


class DiffDelta(TypedDict, total=False):
    num_params: int  # B's parameters minus A's (an added node: B's; a removed one: minus A's), where both are known
    flops: int  # B's FLOPs minus A's, where both are counted
    time_us: float  # B's measured time minus A's (with time=1), where both runs time it


class DiffCounts(TypedDict, total=False):
    same: int  # nodes below it that are the same
    changed: int  # nodes below it that changed
    added: int  # nodes below it only in B
    removed: int  # nodes below it only in A
    renamed: int  # nodes below it matched under another name


class NotCompared(TypedDict, total=False):
    num_params: str  # why parameters were not compared (a graph that records no parameter shapes: a trace)
    flops: str  # why FLOPs were not compared (a graph that records no shapes of its ops: a trace)


class DiffNode(_Node, _NodeOptional, total=False):
    inputs: List[OpInput]  # ops: what feeds them (on the side it shows: A's, B's for an added op)
    children: List[DiffNode]  # groups within the asked depth: their children in the union of both trees
    has_children: bool  # groups below the asked depth: whether they have any
    edges: List[HierarchyEdge]  # groups whose children are listed: the edges between those children (its side's)
    repeat: RepeatMark  # a module among sibling modules of the same structure (on its side)
    diff: DiffStatus  # how it compares
    changes: List[DiffChange]  # a changed or renamed node: what differs between its two sides
    path_b: str  # its path in B, where that differs from path (a renamed node and what is below it)
    counts: DiffCounts  # groups: how many nodes below it have each status
    delta: DiffDelta  # B minus A of its parameters, FLOPs and time, where known (rolled up the tree)
    time_missing: str  # the asked node, with time=1, where one run has no readable profile: why (no time delta)
    not_compared: NotCompared  # the asked node, where a side lacks what a measure needs: those not compared, why


class DiffAnswer(TypedDict):
    node: DiffNode  # the asked node of the union tree (path: in A; in B for an added node), children to the depth


# -- errors ----------------------------------------------------------------------------------------------------------

class _ErrorAnswerCore(TypedDict):
    error: str  # what is wrong, in words a user understands (with a 400, 404 or 422 status)


class ErrorAnswer(_ErrorAnswerCore, total=False):
    kind: Literal["profile"]  # "profile": the run's profiles cannot be read (the graph can: only time is missing)


# The answers of the routes, for the tests and the generated documentation.
ROUTES = {"graphs": GraphsAnswer, "hierarchy": HierarchyAnswer, "node": NodeAnswer, "search": SearchResult,
          "values": ValuesAnswer,
          "diff": DiffAnswer}
