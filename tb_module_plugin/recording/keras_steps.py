"""The training steps the Keras callback (keras.py) traces for its record: Keras's generic step (the forward pass,
the loss, the gradients), or the model's own `train_step` where it overrides Keras's, each without the optimizer's
update."""

from __future__ import annotations


def gradient_step(tf, model):
    """A training step's forward pass, loss and gradients, as `fit`'s step computes them (its ops get the names
    the profiled steps give theirs: the layers' ops, then TensorFlow's `gradient_tape/` ops named after them). The
    optimizer's update is left out: its variables belong to no layer, and the record would count them as an
    unknown module."""

    def train_step(x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        return loss, tape.gradient(loss, model.trainable_weights)

    return train_step


def forward_step(model):
    """The forward pass alone, as in training (dropout, batch statistics): what is recorded of a model whose
    loss cannot be computed outside `fit` (e.g. compiled without one)."""

    def forward(x):
        return model(x, training=True)

    return forward


def in_replicas(tf, strategy, step):
    """`step` as `fit` runs it under a distribution strategy: each replica runs it on its share of the batch
    (`strategy.run`; the batch's PerReplica values give each its own), replica 1's ops under `replica_1/` on its
    device, each reading its own copy of the mirrored variables. What each replica returns is returned, so that
    every replica's step runs (measures/liveness.py). `step` itself where there is no strategy."""
    if strategy is None:
        return step

    def replicated(*args):
        return strategy.experimental_local_results(strategy.run(step, args=args))

    return replicated


class OwnStepError(Exception):
    """The model's own `train_step` could not be traced (the message says why)."""


def own_train_step(model):
    """The model's `train_step` where it is the model's own (its class, or the object, overrides Keras's: a GAN's,
    a fine-tuning or contrastive step), else None: Keras's generic step, which `gradient_step` records."""
    if "train_step" in vars(model):
        return model.train_step
    for cls in type(model).__mro__:
        if "train_step" in vars(cls):
            return None if (cls.__module__, cls.__qualname__) in _GENERIC_STEPS else model.train_step
    return None


# Where Keras defines its generic step (Keras 3's TensorFlow trainer; tf_keras's and older Keras 2's Model). Keras's
# own models that override it (tf_keras's SharpnessAwareMinimization, WideDeepModel) run steps of their own.
_GENERIC_STEPS = frozenset({("keras.src.backend.tensorflow.trainer", "TensorFlowTrainer"),
                            ("tf_keras.src.engine.training", "Model"), ("keras.src.engine.training", "Model"),
                            ("keras.engine.training", "Model")})


def _optimizers(model) -> list:
    """The optimizers a model's own step may update: `model.optimizer` and any other attribute that is one (a GAN's
    `d_optimizer`, `g_optimizer`), each once; told by their update method, which both Kerases' optimizers have."""
    found = {}
    for value in [getattr(model, "optimizer", None), *vars(model).values()]:
        try:
            if callable(getattr(value, "apply_gradients", None)) and hasattr(value, "iterations"):
                found.setdefault(id(value), value)
        except Exception:  # noqa: BLE001 - an attribute whose properties fail when asked is no optimizer
            continue
    return list(found.values())


def own_step_traced(tf, model, own_step):
    """The model's own training step on a batch, as `fit` runs it, but with each optimizer's update left out (as
    `gradient_step` leaves it out: its variables belong to no layer): while it is traced, an optimizer's
    `apply_gradients`/`apply` (Keras 3 has both, tf_keras the first) only takes the gradients it is given, and the
    step returns them beside its logs, so the record holds the gradients the step computes and nothing it does not."""
    import contextlib

    given: list = []

    def take(gradients):
        given.extend(g for g in gradients if g is not None)

    def apply_gradients(grads_and_vars, *args, **kwargs):
        take([gradient for gradient, _ in grads_and_vars])

    def apply(grads, *args, **kwargs):
        take(grads)

    @contextlib.contextmanager
    def updates_left_out():
        replaced = []
        try:
            for optimizer in _optimizers(model):
                for name, stand_in in (("apply_gradients", apply_gradients), ("apply", apply)):
                    if callable(getattr(optimizer, name, None)):
                        # (in the instance's __dict__: found before the class's method, no tracking hook runs)
                        replaced.append((optimizer, name, optimizer.__dict__.get(name, _MISSING)))
                        optimizer.__dict__[name] = stand_in
            yield
        finally:
            for optimizer, name, before in reversed(replaced):
                if before is _MISSING:
                    optimizer.__dict__.pop(name, None)
                else:
                    optimizer.__dict__[name] = before

    def train_step(data):
        del given[:]
        with updates_left_out():
            logs = own_step(data)
        return [t for t in tf.nest.flatten(logs) if tf.is_tensor(t)], list(given)

    return train_step


_MISSING = object()
