"""Builds microlab's optional compiled hot path (see microlab/hotpath.py).

Everything else is in pyproject.toml. ``optional=True``: on a machine without a C compiler
the build of the extension fails, setuptools says so, and microlab installs in pure Python.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("microlab._speedups", ["microlab/_speedups.c"], optional=True)])
