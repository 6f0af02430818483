"""Models and records the comparison tests share (tests/test_compare.py, tests/test_compare_cli.py), written by
real TensorFlow and Keras; built from code, no weights downloaded."""

from __future__ import annotations

from pathlib import Path

from tensorboard import context

from tb_module_plugin.cli import main as cli
from tb_module_plugin.build import sources
from tb_module_plugin import summary as module_summary

from .traces import tf
from tb_module_plugin.measures.costs import count_costs

keras = tf.keras
WIDTH = 16


def versioned_model(extra_block=False, wide=False, frozen=False):
    """The base model, or its version with one block added (`blk_extra` between the blocks), `head_hidden`
    widened, or the `encoder` sub-model frozen."""
    inputs = keras.Input((8,), name="x")
    encoder = keras.Sequential([keras.layers.Dense(WIDTH, name="enc_a"), keras.layers.Dense(WIDTH, name="enc_b")],
                               name="encoder")
    x = encoder(inputs)
    for i in range(3):
        if extra_block and i == 1:
            x = keras.layers.Dense(WIDTH, name="blk_extra")(x)
        x = keras.layers.Dense(WIDTH, name=f"blk_{i}")(x)
    x = keras.layers.Dense(48 if wide else 24, name="head_hidden")(x)
    outputs = keras.layers.Dense(4, name="head_out")(x)
    model = keras.Model(inputs, outputs, name="net")
    if frozen:
        encoder.trainable = False
    return model


def twelve_blocks(insert_at=None):
    """Twelve Dense blocks named by position `blk_0`..`blk_11`; with `insert_at`, a LayerNormalization block put
    there, the names of those after it shifted by one."""
    kinds = ["dense"] * 12
    if insert_at is not None:
        kinds.insert(insert_at, "norm")
    inputs = keras.Input((WIDTH,), name="x")
    x = inputs
    for i, kind in enumerate(kinds):
        layer = keras.layers.Dense(WIDTH, name=f"blk_{i}") if kind == "dense" else \
            keras.layers.LayerNormalization(name=f"blk_{i}")
        x = layer(x)
    return keras.Model(inputs, x, name="stack")


def write_module_record(logdir, run, model, tag="model", step=0):
    """summary.module_graph of a Keras model on a batch of two ones."""
    writer = tf.summary.create_file_writer(str(Path(logdir) / run))
    with writer.as_default():
        module_summary.module_graph(tag, model, tf.ones([2, model.inputs[0].shape[-1]]), step=step)
    writer.close()


def write_keras_trace(logdir, run, model, tag="step"):
    """A trace (trace_on/trace_export) of a tf.function calling the model, as a user writes one."""
    fn = tf.function(lambda x: model(x))
    writer = tf.summary.create_file_writer(str(Path(logdir) / run))
    tf.summary.trace_on(graph=True)
    fn(tf.ones([2, model.inputs[0].shape[-1]]))
    with writer.as_default():
        tf.summary.trace_export(name=tag, step=0)
    writer.close()


def load(logdir, run, tag, step=None):
    """The built hierarchy of a record, as the command line loads it (with its costs counted)."""
    provider = cli.logdir_data_provider(str(logdir))
    ctx = context.RequestContext()
    record = sources.find_record(sources.list_graphs(provider, ctx, ""), run, tag)
    hierarchy = sources.build_hierarchy(record, sources.read_blobs(
        provider, ctx, record, sources.latest_blob_keys(provider, ctx, "", record, step)))
    count_costs(hierarchy)
    return hierarchy


def layer_paths(model, prefix=None):
    """{path in the tab: the live layer} of every layer of a Keras model (sub-models' layers too; no InputLayer)."""
    prefix = model.name if prefix is None else prefix
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        path = f"{prefix}/{layer.name}"
        out[path] = layer
        if isinstance(layer, keras.Model):
            out.update(layer_paths(layer, path))
    return out
