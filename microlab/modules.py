"""Modules that are also their main function: ``viz.timeline(...)`` beside ``import microlab.viz.timeline``.

A subpackage that re-exports a function under its module's name (``from .timeline import
timeline``) hides the module: ``microlab.viz.timeline`` becomes the function, and
``import microlab.viz.timeline as t`` hands back a function, not the module. Renaming the
function would break every notebook that calls ``viz.timeline(trace)``; renaming the
module would break every import of it. Instead the module itself becomes callable and
calls its main function, so both spellings mean what they say.
"""

from __future__ import annotations

import inspect
import sys
import types


class FunctionModule(types.ModuleType):
    """A module that, called, runs its main function (``__call__`` is looked up on the type)."""

    def __call__(self, *args, **kwargs):
        return self.__function__(*args, **kwargs)


def callable_module(name: str, function) -> None:
    """Make module ``name`` (already imported) callable as ``function``, with its signature."""
    module = sys.modules[name]
    module.__class__ = FunctionModule
    module.__function__ = function
    module.__signature__ = inspect.signature(function)


__all__ = ["FunctionModule", "callable_module"]
