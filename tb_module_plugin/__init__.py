"""TensorBoard plugin that shows traced TensorFlow graphs as the tree of their tf.Modules."""

PLUGIN_NAME = "module_graph"
