"""Packaging for tb_module_plugin, the TensorBoard "Modules" tab."""

import os
import re

import setuptools
from setuptools import find_packages

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    """tb_module_plugin.__version__, read without importing the package (setup runs before it is installed)."""
    with open(os.path.join(HERE, "tb_module_plugin", "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _long_description():
    try:
        with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


setuptools.setup(
    name="tb_module_plugin",
    version=_version(),
    description=(
        "TensorBoard plugin: a Modules tab that shows traced TensorFlow graphs "
        "as the tree of their tf.Module name scopes"
    ),
    long_description=_long_description(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["tb_module_plugin", "tb_module_plugin.*"]),
    # The built front end (index.js, layout worker, styles...) ships inside the package.
    package_data={"tb_module_plugin": ["static/*", "static/*/*"]},
    zip_safe=False,
    # Runtime needs TensorBoard, Werkzeug, RE2 and NumPy (which TensorBoard requires too) only. TensorFlow is optional and is
    # never forced: people with `tensorflow-cpu` keep it.
    # google-re2: the search's regular expressions run in linear time (wheels for Linux, macOS and Windows).
    # numpy: a big graph's edges are filed a column at a time.
    install_requires=["tensorboard>=2.12", "werkzeug", "google-re2>=1.1", "numpy"],
    extras_require={
        "tensorflow": ["tensorflow>=2.15"],
        "tensorflow-cpu": ["tensorflow-cpu>=2.15"],
        # The tests also need TensorFlow: add the `tensorflow` or `tensorflow-cpu`
        # extra (requirements-dev.txt pins tensorflow-cpu).
        "test": ["pytest>=7", "pytest-timeout>=2", "hypothesis>=6", "playwright>=1.40"],
    },
    entry_points={
        "tensorboard_plugins": [
            "module_graph = tb_module_plugin.serve.plugin:ModuleGraphPlugin",
        ],
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
    ],
)
