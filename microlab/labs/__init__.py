"""Interactive labs: one call in a notebook cell, and the learner plays with both patterns.

=======================  =================================================================
``compare_patterns()``   the same orders under both patterns: sequence diagrams, topology, metrics
``failure_lab()``        crash, drop, duplicate, partition; switch protections; the checker's verdict
``load_lab()``           arrival rate and orchestrator workers against the saturation curves
``spof_lab()``           crash the orchestrator (or the broker); standby, availability, recovery
``change_lab()``         insert a fraud check or add a listener: which definitions change
``workflow_explorer()``  pick or paste a Conductor workflow, fail tasks, see diagram and timeline
``time_scrubber()``      slide through simulated time: every service's state, messages in flight
``first_exchange(A, B)`` notebook 00's first widget: re-run a small exchange at another latency or seed
=======================  =================================================================

Each returns a lab object holding its widgets (``controls``), its current run (``run``)
and figures (``figures``), and displays itself. Labs are imported on first use, so
``from microlab import labs`` stays cheap.
"""

from __future__ import annotations

import importlib

_LABS = {
    "compare_patterns": "compare",
    "failure_lab": "failure",
    "load_lab": "load",
    "spof_lab": "spof",
    "change_lab": "change",
    "workflow_explorer": "explorer",
    "time_scrubber": "scrubber",
    "first_exchange": "first",
}

__all__ = list(_LABS)


def __getattr__(name: str):
    if name in _LABS:
        module = importlib.import_module(f".{_LABS[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"microlab.labs has no {name!r}; the labs are: {', '.join(_LABS)}")


def __dir__():
    return sorted(list(globals()) + list(_LABS))
