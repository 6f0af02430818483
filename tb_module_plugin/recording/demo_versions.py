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



def versions(tf, Model, width: int, n_blocks: int):
    """(v1, v2): the nested model (demo.py's `Model` class) and its second version (a block added, the head
    widened, block_0 frozen)."""
    v1 = Model(width=width, n_blocks=n_blocks)
    v2 = Model(width=width, n_blocks=n_blocks + 1)  # one block added
    dense = type(v2.head)
    with v2.name_scope:
        v2.head = dense(width, 2, name="head")  # widened
    block = v2.encoder.blocks[0]
    for layer in (block.up, block.down):  # frozen: as tf.Module says it, variables that are not trainable
        layer.w = tf.Variable(layer.w, trainable=False, name="w")
        layer.b = tf.Variable(layer.b, trainable=False, name="b")
    return v1, v2


def write_versions(tf, run_dir: str, Model, width: int, n_blocks: int, trace) -> str:
    """Write the runs into `run_dir` (an emptied folder); `trace(run_dir, tag, fn, *args)` traces a call."""
    from . import summary as module_summary

    x = tf.random.normal([2, width], seed=1)
    v1, v2 = versions(tf, Model, width, n_blocks)
    for name, model in (("v1", v1), ("v2", v2)):
        writer = tf.summary.create_file_writer(os.path.join(run_dir, name))
        with writer.as_default():
            module_summary.module_graph("model", model, x, step=0)
        writer.close()
    trace(os.path.join(run_dir, "v1_trace"), "model", v1, x)
    trace(os.path.join(run_dir, "retrace"), "model", Model(width=width, n_blocks=n_blocks), x)
    return run_dir
