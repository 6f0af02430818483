"""Small graphs written by real TensorFlow for the engine's tests (the demo writes the bigger ones)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402


class Dense(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
            self.b = tf.Variable(tf.zeros([n_out]), name="b")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class Block(tf.Module):
    def __init__(self, n, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.up = Dense(n, n, name="up")
            self.down = Dense(n, n, name="down")

    @tf.Module.with_name_scope
    def __call__(self, x):
        h = self.up(x)
        h = tf.cond(tf.reduce_sum(h) > 0, lambda: h * 2.0, lambda: h - 1.0)
        return self.down(h) + x


class Encoder(tf.Module):
    def __init__(self, blocks, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.blocks = [Block(4, name=f"block_{i}") for i in range(blocks)]

    @tf.function
    def run_blocks(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    @tf.Module.with_name_scope
    def __call__(self, x):
        return self.run_blocks(x)


class Model(tf.Module):
    def __init__(self, blocks=2):
        super().__init__(name="model")
        with self.name_scope:
            self.encoder = Encoder(blocks, name="encoder")
            self.head = Dense(4, 1, name="head")

    @tf.function
    def __call__(self, x):
        return self.head(self.encoder(x))


def write_trace(logdir: str, tag: str, fn, *args) -> None:
    """Trace one call of `fn` the way users do: trace_on, call, trace_export."""
    writer = tf.summary.create_file_writer(logdir)
    tf.summary.trace_on(graph=True)
    fn(*args)
    with writer.as_default():
        tf.summary.trace_export(tag, step=0)
    writer.close()


def write_nested_model(logdir: str, blocks: int = 2) -> None:
    model = Model(blocks)
    write_trace(logdir, "model", model, tf.ones([2, 4]))


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
