"""The demo's comparison: two versions of the nested model and a retrace, for `python -m tb_module_plugin diff` and
the `diff` route (demo.py calls write_versions).

    nested_versions/v1        the nested model (demo.py: model > encoder > block_0..3 > up/down, head), a record
    nested_versions/v2        the same with one block added (block_4), the head widened (1 -> 2 outputs) and
                              block_0 frozen (its variables not trainable)
    nested_versions/retrace   v1's architecture built and traced again (a trace: other function numbers, same graph)
    nested_versions/v1_trace  v1 as a trace, to compare with the retrace
"""

from __future__ import annotations

import os

RUN = "nested_versions"


def versions(tf):
    """(v1, v2, the model class): the nested model and its second version (a block added, the head widened,
    block_0 frozen)."""
    from .. import demo

    Model = demo._nested_classes(tf)
    v1 = Model()
    v2 = Model(n_blocks=demo.NESTED_BLOCKS + 1)  # one block added
    dense = type(v2.head)
    with v2.name_scope:
        v2.head = dense(demo.NESTED_WIDTH, 2, name="head")  # widened
    block = v2.encoder.blocks[0]
    for layer in (block.up, block.down):  # frozen: as tf.Module says it, variables that are not trainable
        layer.w = tf.Variable(layer.w, trainable=False, name="w")
        layer.b = tf.Variable(layer.b, trainable=False, name="b")
    return v1, v2, Model


def write_versions(logdir: str) -> str:
    from .. import demo
    from .. import summary as module_summary

    tf = demo._tf()
    run_dir = demo._fresh_run_dir(logdir, RUN)
    x = tf.random.normal([2, demo.NESTED_WIDTH], seed=1)
    v1, v2, Model = versions(tf)
    for name, model in (("v1", v1), ("v2", v2)):
        writer = tf.summary.create_file_writer(os.path.join(run_dir, name))
        with writer.as_default():
            module_summary.module_graph("model", model, x, step=0)
        writer.close()
    demo._trace(tf, os.path.join(run_dir, "v1_trace"), "model", v1, x)
    demo._trace(tf, os.path.join(run_dir, "retrace"), "model", Model(), x)
    return run_dir
