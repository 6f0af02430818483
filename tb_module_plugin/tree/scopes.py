"""Name-scope rules shared by the tree's build passes and a module record's placement: which scope an op belongs
to, which scopes op helpers open, what scopes have in common. One definition each, over scope strings
(`a/b/c`) or over the tree's groups."""

from __future__ import annotations

# Scopes that TensorFlow's and the libraries' op helpers open, read variables in, and do not own them by: Keras 3
# reads a kernel under `<layer>/Cast/ReadVariableOp` (with no Cast op) and a BatchNormalization's four variables
# under `Cast`..`Cast_3`; tf.nn.batch_normalization reads gamma and beta under `batchnorm`; TensorFlow
# Probability's bijectors read theirs in the scope of the method called (`shift/inverse`). A scope named after an
# op type of the graph is one too. Numbered copies (`Cast_3`) count as the name. Names that layers commonly get
# (`dropout`, `mean`, `sample`) are not here: a module so named would be taken for a helper.
HELPER_SCOPES = frozenset({
    "Cast", "batchnorm", "moments", "Tensordot", "einsum", "convolution", "embedding_lookup", "stateless_dropout",
    "clip_by_value", "l2_normalize", "truediv", "AssignMovingAvg", "ReadVariableOp",
    "forward", "inverse", "forward_log_det_jacobian", "inverse_log_det_jacobian", "log_prob",
})


def is_helper_scope(name: str, op_types) -> bool:
    """Whether a scope named `name` is one an op helper opened (HELPER_SCOPES, or an op type of the graph)."""
    base = name
    while True:
        stem, _, number = base.rpartition("_")
        if not (stem and number.isdecimal()):
            break
        base = stem
    return base in HELPER_SCOPES or base in op_types


def is_helper_group(group, op_types, memo: dict | None = None) -> bool:
    """Whether a group of the tree is an op helper's scope. One named like a helper (is_helper_scope) is, when it
    holds what one helper call makes (ops and the scopes of ops: `Cast/ReadVariableOp`; `batchnorm/mul`,
    `batchnorm/Rsqrt`...) or reads no variable itself (a bijector chain's `inverse` runs each bijector's own); a
    scope so named that holds scopes of its own and reads variables in its own ops is a module's: Sonnet's
    `batchnorm_0` holds its `moving_mean` module and reads its scale and offset in `FusedBatchNormV2`. Whatever
    its name, a scope that only reads variables and hands the values on (tf_keras's `lstm/Read`: a
    `ReadVariableOp` and an `Identity`) is a helper: the ops that use them are elsewhere.

    `memo` ({id(group): answer}, kept by a pass while the tree does not change; see forget_helper_group) answers
    a group asked about again at once: a pass asks about a wide scope once per variable under it."""
    if memo is not None:
        known = memo.get(id(group))
        if known is not None:
            return known
    if not is_helper_scope(group.name, op_types):
        answer = _only_reads(group)
    elif all(child.children is None or child.is_op_scope() for child in group.children.values()):
        answer = True
    else:
        answer = not _reads_variables(group)
    if memo is not None:
        memo[id(group)] = answer
    return answer


def forget_helper_group(memo: dict, group) -> None:
    """What `memo` (of is_helper_group) knows that a change to `group`'s children makes untrue: the group's own
    answer, and those of the groups above that look inside it (it is an op's scope of theirs)."""
    while group is not None:
        memo.pop(id(group), None)
        if not group.is_op_scope():
            break
        group = group.parent


_READ_OPS = frozenset({"ReadVariableOp", "Identity", "Cast"})  # a read, and what hands its value on unchanged


def _only_reads(group) -> bool:
    """Whether `group` holds nothing but reads of variables and the ops that hand their values on."""
    reads = False
    stack = [group]
    while stack:
        for child in stack.pop().children.values():
            if child.children is not None:
                if not child.is_op_scope():
                    return False
                stack.append(child)
            elif child.type not in _READ_OPS:
                return False
            elif child.type == "ReadVariableOp":
                reads = True
    return reads


def _reads_variables(group) -> bool:
    """Whether an op of `group` (or of the scopes of its ops) reads a variable."""
    stack = [group]
    while stack:
        for child in stack.pop().children.values():
            if child.children is None:
                if any(p.role == "variable" and not control for p, _, control in child.inputs):
                    return True
            elif child.is_op_scope():
                stack.append(child)
    return False


def owner_scope(placement: str, op_placements, op_types=()) -> str:
    """The scope an op placed at `placement` belongs to: its own scope, or the nearest one above that is neither
    named after an op (`dense/MatMul/ReadVariableOp` -> `dense`; `op_placements` holds every op's placement)
    nor opened by an op helper (`dense/Cast/ReadVariableOp` -> `dense`)."""
    scope = placement.rpartition("/")[0]
    while scope and (scope in op_placements or is_helper_scope(scope.rpartition("/")[2], op_types)):
        scope = scope.rpartition("/")[0]
    return scope


def owner_group(node, op_types=(), memo: dict | None = None):
    """owner_scope in the tree: the group an op (or group) belongs to, past op scopes (a group holding
    `(MatMul)`) and helpers' scopes (`memo`: is_helper_group's)."""
    group = node.parent
    while group.parent is not None and (group.is_op_scope() or is_helper_group(group, op_types, memo)):
        group = group.parent
    return group


def common_prefix(sequences: list) -> list:
    """The longest prefix all `sequences` (lists of scope segments, or of groups from the root down) share."""
    common = list(sequences[0])
    for other in sequences[1:]:
        i = 0
        while i < min(len(common), len(other)) and common[i] == other[i]:  # (groups compare as themselves)
            i += 1
        common = common[:i]
    return common


def common_scope(scopes: list) -> str | None:
    """The scope all `scopes` are in (`a/b/c`, `a/b/d` -> `a/b`); None for no scopes."""
    return "/".join(common_prefix([s.split("/") for s in scopes])) if scopes else None


def common_group(groups: list):
    """The deepest group that holds all `groups` (or is one of them)."""
    def chain(group):
        out = []
        while group is not None:
            out.append(group)
            group = group.parent
        return out[::-1]

    return common_prefix([chain(g) for g in groups])[-1]
