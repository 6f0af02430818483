"""The package's basics: one version, the one the installed distribution reports."""

from importlib.metadata import version

import tb_module_plugin


def test_the_installed_distribution_reports_the_packages_own_version():
    # setup.py reads __version__ from the package: an install made from this checkout reports it.
    assert version("tb_module_plugin") == tb_module_plugin.__version__
