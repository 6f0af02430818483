"""TensorBoard plugin that shows traced TensorFlow graphs as the tree of their tf.Modules."""

__version__ = "0.2.0"  # the one source of the version: setup.py reads it from here

from .schema import PLUGIN_NAME  # noqa: F401 (tb_module_plugin.PLUGIN_NAME)


def __getattr__(name):
    # The Keras callback, imported when asked for: importing the plugin (TensorBoard does) never imports
    # TensorFlow or Keras.
    if name == "ModuleGraph":
        from .recording.keras import ModuleGraph

        return ModuleGraph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
