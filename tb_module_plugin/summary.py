"""Recording API: write a module and its traced graph as one record the Modules tab reads.

    import tb_module_plugin.summary as module_summary
    with writer.as_default():
        module_summary.module_graph("model", model, tf.ones([1, 10]))

The public face of recording/summary.py (which says what the record holds). Needs TensorFlow when called
(imported lazily: the plugin itself runs without it).
"""

from .recording.summary import module_graph, savedmodel_record, summary_metadata, trace_record

__all__ = ["module_graph", "savedmodel_record", "summary_metadata", "trace_record"]
