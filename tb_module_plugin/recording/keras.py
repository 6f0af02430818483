"""A Keras callback that records what the Modules tab shows of a model trained with `fit`.

    from tb_module_plugin import ModuleGraph
    model.fit(dataset, epochs=5, callbacks=[ModuleGraph("logs/run1")])

Once the first steps have run (so the model is built and the data's shapes are known), it writes a `module_graph`
record (summary.py) of one training step of the model: the forward pass with shapes (every layer as a module with
its class, parameters and frozen state), the loss and the gradients (of the model's own `train_step` where it
overrides Keras's); then it profiles a few training steps (`profile_batch`). Both go to `log_dir/train`, where
Keras's own `TensorBoard` callback writes, so they sit in one run. Works with Keras 3 (TensorFlow backend) and
tf_keras, under a distribution strategy too (the step is recorded in `strategy.run`, as `fit` runs it). Needs
TensorFlow; `import tb_module_plugin` alone never imports it.
"""

from __future__ import annotations

import os
import warnings

# tf_keras times its callbacks' batch hooks over the first six batches and calls a callback slow whose hook is
# slower than a batch on average: the record and the profiler's start wait until after them. The six steps before
# are the warm-up (the first traces the training function).
RECORD_BATCH = 7  # the batch at whose start the record is written
DEFAULT_PROFILE_BATCH = (7, 9)
TRAIN_RUN = "train"  # the sub-folder Keras's TensorBoard callback writes training summaries into


def _callback_base():
    """The Callback class of the Keras `fit` will call: Keras 3 when it is installed, else tf_keras (a tf_keras
    model's `fit` calls any object with the hooks, so one class serves both)."""
    try:
        import keras

        return keras.callbacks.Callback
    except ImportError:
        import tf_keras

        return tf_keras.callbacks.Callback


def _profile_range(profile_batch) -> tuple:
    """(first, last) training batch to profile, counted from 1 over the whole `fit` as Keras's `TensorBoard`
    callback counts them; (0, 0) for none. Accepts what that callback accepts: an int, a pair, or "first,last"."""
    if isinstance(profile_batch, str):
        parts = profile_batch.split(",")
        if all(part.strip().isdecimal() for part in parts):
            profile_batch = tuple(int(part) for part in parts)
    if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
        profile_batch = (profile_batch, profile_batch)
    if (not isinstance(profile_batch, (tuple, list)) or len(profile_batch) != 2
            or not all(isinstance(b, int) and not isinstance(b, bool) for b in profile_batch)):
        raise ValueError(f"profile_batch must be a batch number, a pair (first, last) or 'first,last', "
                         f"not {profile_batch!r}.")
    first, last = profile_batch
    if first < 0 or last < first or (first == 0 and last != 0):
        raise ValueError(f"profile_batch must be 0 (no profile) or 1 <= first <= last, not {profile_batch!r}.")
    return first, last


class _ModuleGraph:
    """Keras callback: the model's training step as a `module_graph` record, and a profile of a few steps, for
    TensorBoard's Modules tab (`ModuleGraph`, below, is this on the installed Keras's Callback class).

    Args:
      log_dir: the run's folder; written into `log_dir/train`, as Keras's `TensorBoard(log_dir)` callback writes.
      profile_batch: the training batches to profile, counted from 1 over the whole `fit`: an int, a pair
        (first, last), "first,last", or 0 for none. The record is written at the start of batch RECORD_BATCH, or
        of the first profiled batch when that comes sooner (but after the first step).
      name: the record's tag (default: the model's name).
    """

    def __init__(self, log_dir="logs", profile_batch=DEFAULT_PROFILE_BATCH, name=None):
        super().__init__()
        self._supports_tf_logs = True  # tf_keras: batch logs may stay tensors (no device sync per batch for us)
        self.log_dir = os.fspath(log_dir)
        self.profile_batch = _profile_range(profile_batch)
        self.name = name  # the record's tag (default: the model's name)
        self._train_dir = os.path.join(self.log_dir, TRAIN_RUN)
        self._recorded = False  # the record was written, or could not be (said once)
        self._iterator = None  # the data iterator of the first step: its element_spec, the trace it made
        self._batch = 0  # training batches begun in this fit, from 1
        self._profiling = False
        self._xla_said = False  # the warning that XLA leaves no time per op was given

    # Only batch *begin* hooks: Keras 3 then keeps dispatching batch ends asynchronously, and tf_keras converts no
    # logs, so the steps this callback does not record cost nothing more than a method call.
    def on_train_begin(self, logs=None):
        self._batch = 0
        if not self._recorded:
            self._watch_first_step()
        if self.profile_batch[0] and not self._xla_said and _compiled_with_xla(self.model):
            self._xla_said = True
            warnings.warn(f"ModuleGraph: the model {getattr(self.model, 'name', '?')!r} is compiled with XLA "
                          "(jit_compile=True; Keras 3's default jit_compile='auto' turns it on where a GPU is): XLA "
                          "runs each training step as one compiled program, so the profile of batches "
                          f"{self.profile_batch} holds no time per TensorFlow op and the Modules tab will show no "
                          "time per layer (parameters and FLOPs are recorded all the same). For time per layer, "
                          "compile with jit_compile=False for the run you profile; or pass profile_batch=0 to "
                          "skip profiling.", RuntimeWarning, stacklevel=2)

    def on_train_batch_begin(self, batch, logs=None):
        self._batch += 1
        first, last = self.profile_batch
        if self._profiling and self._batch > last:
            self._stop_profile()
        # Recorded once the first step has run (the model is built, the data's shapes known), before the profile
        # starts, at RECORD_BATCH unless the profile starts sooner.
        if not self._recorded and self._batch >= 2 and (self._batch >= RECORD_BATCH or self._batch == first):
            self._record()
        if first and self._batch == first:
            self._start_profile()

    def on_test_begin(self, logs=None):
        # `fit` evaluates its validation data with these callbacks before on_epoch_end: an epoch ending inside the
        # range stops the profile here, so that it holds only training steps (the evaluation runs the same layers
        # under the same op names, which the profile could not tell from the step's).
        if self._profiling:
            self._stop_profile()

    def on_epoch_end(self, epoch, logs=None):
        if self._profiling:
            self._stop_profile()  # (an epoch shorter than the range, without validation: profile what ran)
        if not self._recorded and self._batch >= 1:
            self._record()  # (an epoch shorter than RECORD_BATCH)

    def on_train_end(self, logs=None):
        if self._profiling:
            self._stop_profile()
        if not self._recorded and self._batch >= 1:
            self._record()
        self._restore_train_function()

    # tf_keras asks which batch hooks a callback has (Keras 3's Callback, the base under Keras 3, does not say).
    def _implements_train_batch_hooks(self):
        return True

    def _implements_test_batch_hooks(self):
        return False

    def _implements_predict_batch_hooks(self):
        return False

    # --- the record ------------------------------------------------------------------
    def _watch_first_step(self):
        """Wrap the model's training function for its first call only, to see what the data holds (its
        `element_spec`), then put the original back: later steps call Keras's own function directly."""
        model = self.model
        original = getattr(model, "train_function", None)
        if original is None:
            return
        callback = self

        def first_step(iterator, *args, **kwargs):
            callback._iterator = iterator  # (kept until the record is written)
            callback._restore_train_function()
            return original(iterator, *args, **kwargs)

        self._original_train_function = original
        model.train_function = first_step

    def _restore_train_function(self):
        original = self.__dict__.pop("_original_train_function", None)
        if original is not None and self.model is not None:
            self.model.train_function = original

    def _record(self):
        self._recorded = True
        import tensorflow as tf

        from .keras_steps import (OwnStepError, forward_step, gradient_step, in_replicas, own_step_traced,
                                  own_train_step)
        from .summary import trace_record, write_record

        model = self.model
        iterator, self._iterator = self._iterator, None
        # Under a distribution strategy `fit` hands each replica its share of the batch (the data's element_spec
        # says each replica's, as PerReplica specs): the step is traced as `fit` runs it, in `strategy.run`.
        strategy = model.distribute_strategy if _distributed(tf, iterator) else None
        own_step = own_train_step(model)
        try:
            batch = _batch_spec(getattr(iterator, "element_spec", None))
            if own_step is not None:
                # `fit` runs the model's own step: record that one, or nothing (the generic step would be a step
                # the model never runs: other passes, other gradients).
                try:
                    manifest, concrete = trace_record(
                        tf, model, in_replicas(tf, strategy, own_step_traced(tf, model, own_step)), (batch,), {})
                except Exception as e:  # noqa: BLE001 - said as what it is, below
                    # (a tf.function's error lists the user code it ran through; its last line is the error itself)
                    said = ([line.strip() for line in str(e).splitlines() if line.strip()] or [""])[-1]
                    raise OwnStepError(said if said.startswith(type(e).__name__) else f"{type(e).__name__}: {said}"
                                        ) from None
            else:
                try:
                    manifest, concrete = trace_record(tf, model, in_replicas(tf, strategy, gradient_step(tf, model)),
                                                      _unpack(batch), {})
                except Exception:  # noqa: BLE001 - e.g. a model compiled without a loss
                    # The forward pass alone, as in training (dropout, batch statistics).
                    forward = None if strategy is None else in_replicas(tf, strategy, forward_step(model))
                    manifest, concrete = trace_record(tf, model, forward, (_unpack(batch)[0],),
                                                      {} if forward else {"training": True})
            manifest["call_prefix"] = _call_prefix(tf, concrete, manifest, self._original_or_current(), iterator)
            tag = self.name or model.name
            # A run already holding this tag's record (a notebook cell run again into one log_dir): the new record
            # goes at a later step, which both of TensorBoard's loaders show (of two at one step, each keeps one).
            step = _next_step(tf, self._train_dir, tag)
            writer = tf.summary.create_file_writer(self._train_dir)
            with writer.as_default():
                write_record(tf, tag, manifest, [concrete], step)
            writer.close()
        except OwnStepError as e:
            warnings.warn(f"ModuleGraph: the model {getattr(model, 'name', '?')!r} overrides train_step, and its "
                          f"train_step could not be traced on the training data's shapes outside fit "
                          f"{_where(strategy)}({e}). No record is written: Keras's generic step would not be the "
                          "step fit runs. Record your step with "
                          "tb_module_plugin.summary.module_graph(name, model, x, y, fn=your_step) instead"
                          f"{_strategy_advice(strategy, 'your_step')}; training goes on.", RuntimeWarning,
                          stacklevel=2)
        except Exception as e:  # noqa: BLE001 - any failure of tracing: said once, training goes on
            warnings.warn(f"ModuleGraph: the model {getattr(model, 'name', '?')!r} could not be recorded for the "
                          f"Modules tab {_where(strategy)}({type(e).__name__}: {e}); training goes on without its "
                          "record. Record a step with tb_module_plugin.summary.module_graph(name, model, x, y, "
                          f"fn=step){_strategy_advice(strategy, 'step')}.", RuntimeWarning, stacklevel=2)

    def _original_or_current(self):
        return self.__dict__.get("_original_train_function") or getattr(self.model, "train_function", None)

    # --- the profile ---------------------------------------------------------------
    def _start_profile(self):
        import tensorflow as tf

        try:
            tf.profiler.experimental.start(self._train_dir)
            self._profiling = True
        except Exception as e:  # noqa: BLE001 - e.g. another profiler running (a TensorBoard(profile_batch=))
            warnings.warn(f"ModuleGraph: could not profile training batches {self.profile_batch} "
                          f"({type(e).__name__}: {e}); the Modules tab will show no time for them.",
                          RuntimeWarning, stacklevel=2)

    def _stop_profile(self):
        import tensorflow as tf

        self._profiling = False
        try:
            tf.profiler.experimental.stop()
        except Exception as e:  # noqa: BLE001
            warnings.warn(f"ModuleGraph: the profile of training batches {self.profile_batch} could not be "
                          f"written ({type(e).__name__}: {e}).", RuntimeWarning, stacklevel=2)


def _next_step(tf, train_dir: str, tag: str) -> int:
    """One past the highest step of `tag` in the run's event files (0 where it has none). Reads the run's events
    once a fit (Keras's own callback writes its epochs' summaries there: small); a file that cannot be read to its
    end (being written, cut short) counts for what it holds."""
    highest = -1
    for path in tf.io.gfile.glob(os.path.join(train_dir, "events.out.tfevents.*")):
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                if event.step > highest and any(value.tag == tag for value in event.summary.value):
                    highest = event.step
        except Exception:  # noqa: BLE001 - (a DataLossError of a truncated record)
            continue
    return highest + 1


def _where(strategy) -> str:
    """The strategy a failed trace ran under, for the warning ("" for none)."""
    if strategy is None:
        return ""
    return f"under {type(strategy).__name__} ({strategy.num_replicas_in_sync} replicas) "


def _strategy_advice(strategy, fn: str) -> str:
    """How to record a step under the strategy by hand ("" for none): `fn` run in it as `fit` runs it."""
    if strategy is None:
        return ""
    return (f", {fn} running each replica's step in the strategy as fit does (a tf.function calling "
            "strategy.run(replica_step, args=(x, y)))")


def _distributed(tf, iterator) -> bool:
    """Whether `fit` runs its steps under a distribution strategy: its data iterator is the strategy's (Keras
    distributes the data under any strategy but the default one)."""
    return isinstance(iterator, tf.distribute.DistributedIterator)


def _compiled_with_xla(model) -> bool:
    """Whether `fit` runs the model's step with XLA, as the compiled model says (Keras 3 resolves "auto" itself;
    tf_keras keeps a bool)."""
    try:
        return getattr(model, "jit_compile", False) is True
    except Exception:  # noqa: BLE001 - a model not compiled by Keras's own compile: no XLA known
        return False


def _batch_spec(element_spec):
    """A batch as the data declares it (its TensorSpecs), which the step is traced on as `fit` traces it: a
    dimension the data leaves open (the batch of a dataset batched without `drop_remainder`) stays open (None) in
    the record's shapes, and what depends on it (FLOPs per step) is not known, rather than said of a batch of 1."""
    if element_spec is None:
        raise ValueError("the training data's shapes were not seen (its first step ran before this callback's "
                         "on_train_begin, or its data is no tf.data iterator)")
    return element_spec


def _unpack(batch) -> tuple:
    """(x, y, sample_weight) of a batch, the way `fit` unpacks one: `(x, y[, sample_weight])`, or `x` alone."""
    parts = batch if isinstance(batch, tuple) and 1 <= len(batch) <= 3 else (batch,)
    return tuple(parts) + (None,) * (3 - len(parts))


def _make_class():
    base = _callback_base()
    return type("ModuleGraph", (_ModuleGraph, base), {"__module__": __name__, "__doc__": _ModuleGraph.__doc__})


ModuleGraph = _make_class()


def _call_prefix(tf, concrete, manifest: dict, train_function, iterator) -> str:
    """The calls inside which the training function runs the recorded forward pass, each with a `/` after it
    (Keras 3: `StatefulPartitionedCall/`, its step function called from its iterator loop; tf_keras: ""), from the
    training function's own graph: the call and control-flow bodies (as TensorFlow names them when it inlines them
    to run) down to the body that holds the record's variable readers (ops of the record's names and types that
    read a captured variable). "" when none is found: the record is written all the same."""
    from collections import deque

    from ..readers.expand import MAX_CALL_DEPTH, callees

    graph = concrete.graph
    readers = set()
    for variable in manifest["variables"]:
        if variable.get("capture"):
            try:
                placeholder = graph.get_operation_by_name(variable["capture"])
            except (KeyError, ValueError):
                continue
            readers.update((op.name, op.type) for op in placeholder.outputs[0].consumers())
    if not readers or iterator is None:
        return ""
    for training_graph in _training_graphs(tf, train_function, iterator):
        library = {f.signature.name: f for f in training_graph.library.function}
        best, best_count = None, 0
        todo, seen = deque([("", list(training_graph.node), 0)]), set()  # (prefix, body's nodes, call depth)
        while todo:
            prefix, nodes, depth = todo.popleft()
            count = sum((node.name, node.op) in readers for node in nodes)
            if count > best_count:
                best, best_count = prefix, count
            if depth >= MAX_CALL_DEPTH:
                continue
            for node in nodes:
                for name in callees(node):
                    key = (prefix + node.name, name)
                    if name in library and key not in seen:
                        seen.add(key)
                        todo.append((f"{prefix}{node.name}/", list(library[name].node_def), depth + 1))
        if best is not None:
            return best
    return ""


def _training_graphs(tf, train_function, iterator):
    """GraphDefs (with their libraries) of the tf.functions the training function runs on `iterator`: itself
    (tf_keras), or the one it calls (Keras 3 wraps its `multi_step_on_iterator` in a Python function). Their
    traces are the ones the first step made (the same iterator type: nothing is traced again)."""
    candidates = [train_function]
    for cell in getattr(train_function, "__closure__", None) or ():
        try:
            candidates.append(cell.cell_contents)
        except ValueError:  # (an empty cell)
            continue
    for candidate in candidates:
        if isinstance(candidate, tf.types.experimental.PolymorphicFunction):
            try:
                yield candidate.get_concrete_function(iterator).graph.as_graph_def()
            except Exception:  # noqa: BLE001 - a function of other arguments: not the training loop
                continue
