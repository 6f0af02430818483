"""TensorBoard plugin that shows traced TensorFlow graphs as the tree of their tf.Modules."""

__version__ = "0.2.0"  # the one source of the version: setup.py reads it from here

PLUGIN_NAME = "module_graph"
