"""Which module's call made each op of a traced function (for `module_graph` records)."""

from __future__ import annotations

import threading


class CallRecorder:
    """While a function is traced: which ops each module's call created, the innermost call running when
    TensorFlow made the op. The `__call__` of each module class is wrapped for the time of the trace (every class
    first, then each one's original: a subclass and its base both wrapped would count a call twice), and
    TensorFlow's op callbacks (the hook its debugger uses) report each op made. A method other than `__call__`
    is not seen: its ops belong to the call it runs in. Without op callbacks (another TensorFlow) nothing is
    recorded, and the tab places ops by their scopes."""

    def __init__(self, objects: list, running: int | None = None):
        self._index = {id(obj): i for i, obj in enumerate(objects)}
        self._classes = list({type(obj): None for obj in objects})
        self._stack: list = [] if running is None else [running]  # the module whose function is traced, if any
        self._thread = threading.get_ident()
        self._made: dict = {}  # module index -> [(graph, op name)]
        self._graphs: dict = {}  # id(graph) -> graph (kept so that an id is not reused)
        self._restore: list = []
        self._callbacks = None

    def __enter__(self):
        try:
            from tensorflow.python.framework import op_callbacks
        except ImportError:  # pragma: no cover - a TensorFlow without them
            return self
        originals = [(cls, class_attribute(cls, "__call__")) for cls in self._classes]
        for cls, original in originals:
            if original is None:
                continue
            self._restore.append((cls, cls.__dict__.get("__call__"), "__call__" in cls.__dict__))
            setattr(cls, "__call__", self._wrap(original))
        op_callbacks.add_op_callback(self._on_op)
        self._callbacks = op_callbacks
        return self

    def __exit__(self, *exc) -> None:
        if self._callbacks is not None:
            self._callbacks.remove_op_callback(self._on_op)
        for cls, original, own in reversed(self._restore):
            if own:
                setattr(cls, "__call__", original)
            else:
                delattr(cls, "__call__")

    def _wrap(self, original):
        recorder = self

        def __call__(obj, *args, **kwargs):
            index = recorder._index.get(id(obj))
            bound = original.__get__(obj, type(obj))
            if index is None or threading.get_ident() != recorder._thread:
                return bound(*args, **kwargs)
            recorder._stack.append(index)
            try:
                return bound(*args, **kwargs)
            finally:
                recorder._stack.pop()

        return __call__

    def _on_op(self, op_type, inputs, attrs, outputs, op_name=None, graph=None):
        if graph is not None and self._stack:
            name = outputs[0].op.name if outputs else op_name  # (Const and Placeholder report the name asked for)
            self._graphs[id(graph)] = graph
            self._made.setdefault(self._stack[-1], []).append((id(graph), name))
        return None

    def by_function(self, concrete) -> dict:
        """module index -> {function name: [op names]}: "" for the traced graph itself, else each FunctionDef of
        its library that holds every op of the graph the op was made in but its argument placeholders (a function
        and the forward variant a gradient tape makes of it hold the same ops)."""
        main = concrete.graph
        library = {f.signature.name: {n.name for n in f.node_def} for f in main.as_graph_def().library.function}
        functions: dict = {}
        for key, graph in self._graphs.items():
            if graph is main:
                functions[key] = [""]
            else:
                names = {op.name for op in graph.get_operations() if op.type != "Placeholder"}
                functions[key] = [f for f, nodes in library.items() if names and names <= nodes]
        out: dict = {}
        for index, made in self._made.items():
            calls: dict = {}
            for key, name in made:
                for function in functions.get(key, ()):
                    calls.setdefault(function, []).append(name)
            if calls:
                out[index] = calls
        return out


def class_attribute(cls, name: str):
    """`name` as `cls` resolves it (the first class of its MRO that defines it), unbound; None if only `object`
    or `type` has it."""
    for klass in cls.__mro__:
        if klass is object:
            return None
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None

