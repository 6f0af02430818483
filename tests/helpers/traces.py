"""Graphs written by real TensorFlow for the engine's tests (the demo writes the models people know)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402


def write_run_graph(logdir: str, graph_def) -> None:
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        tf.summary.graph(tf.compat.v1.GraphDef.FromString(graph_def.SerializeToString()))
    writer.close()


def write_raw(logdir: str, plugin_name: str, tag: str, payload: bytes, content: bytes = b"1") -> None:
    """A record of any content under a graph plugin's name (for bad and hand-made inputs)."""
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        metadata = tf.compat.v1.SummaryMetadata()
        metadata.plugin_data.plugin_name = plugin_name
        metadata.plugin_data.content = content
        tf.summary.write(tag, tf.constant(payload), step=0, metadata=metadata)
    writer.close()


def in_place_step(module, rate: float = 0.01):
    """A training step of a tf.Module as its tutorials write one: the forward pass under a tape, the sum of its output
    as the loss, each trainable variable updated in place (`assign_sub`)."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(module(x))
        grads = tape.gradient(loss, module.trainable_variables)
        for g, v in zip(grads, module.trainable_variables):
            v.assign_sub(rate * g)
        return loss

    return step
