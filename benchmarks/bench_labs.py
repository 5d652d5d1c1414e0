"""Benchmark: what a learner waits for when touching a lab, its re-simulate-and-redraw time.

For each lab of :data:`LABS` it calls the lab's factory (the one-line notebook call,
which builds the widgets and runs the lab once), then times ``lab.update()`` with the
default settings (re-simulate and redraw every figure, exactly what a control change
does) ``options.repeats`` times. The labs are timed round-robin
(:func:`benchmarks.measure.alternate`) so that a busy moment on the shared machine is
spread over all of them. The target: a median under 100 ms.

A lab module that does not exist yet gets a "not yet available" row. Run it alone with
``python -m benchmarks --only labs``. This is a measurement, not a test.
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time

from .measure import once
from .options import Options
from .table import Table

#: Every lab: (short name, module, factory). All seven labs of the course.
LABS = [
    ("compare", "microlab.labs.compare", "compare_patterns"),
    ("failure", "microlab.labs.failure", "failure_lab"),
    ("load", "microlab.labs.load", "load_lab"),
    ("spof", "microlab.labs.spof", "spof_lab"),
    ("change", "microlab.labs.change", "change_lab"),
    ("explorer", "microlab.labs.explorer", "workflow_explorer"),
    ("scrubber", "microlab.labs.scrubber", "time_scrubber"),
]

#: Factory arguments in quick (smoke) mode: the load lab's sweep is the only slow build.
QUICK = {"load": {"rates": (10, 40), "orders": 20}}

#: The median re-simulate-and-redraw time a lab should stay under (ms).
TARGET_MS = 100.0

COLUMNS = ["lab", "call", "first build (ms)", "update median (ms)", "fastest (ms)", "slowest (ms)",
           "CPU median (ms)", "repeats", "under 100 ms", "note"]


def time_updates(labs: dict, repeats: int) -> dict:
    """Wall-clock and CPU seconds of ``repeats`` calls of each lab's ``update``, round-robin.

    Like :func:`benchmarks.measure.alternate`, with this process's CPU time beside the
    wall clock: on a shared machine another process's work inflates the wall clock, not
    the CPU time, so the pair says how much of a slow median was the machine's mood.
    """
    out = {name: ([], []) for name in labs}
    for _ in range(repeats):
        for name, lab in labs.items():
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            lab.update()
            out[name][0].append(time.perf_counter() - wall)
            out[name][1].append(time.process_time() - cpu)
    return out


def build(name: str, module: str, factory: str, quick: bool):
    """Import ``module`` and call ``factory``; returns (lab, build seconds), or (None, reason)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None, "not yet available"
        raise
    make = getattr(mod, factory, None)
    if make is None:
        return None, f"not yet available ({module} has no {factory}())"
    kwargs = QUICK.get(name, {}) if quick else {}
    seconds, lab = once(lambda: make(**kwargs))
    return lab, seconds


def run(options: Options) -> Table:
    """Time each lab's default update; one row per lab (see the module docstring)."""
    table = Table("Labs: default re-simulate-and-redraw (lab.update())", COLUMNS)
    # Import plotly, ipywidgets and the figures first, so that the first lab's build
    # is not charged for the imports every lab shares (about a second).
    importlib.import_module("microlab.labs.base")
    importlib.import_module("microlab.viz").topology_pair   # networkx too
    importlib.import_module("plotly.graph_objects").FigureWidget()   # anywidget's first load
    labs, rows = {}, {}
    for name, module, factory in LABS:
        lab, built = build(name, module, factory, options.quick)
        call = f"{factory}()"
        if lab is None:
            rows[name] = [name, call, None, None, None, None, None, 0, "", built]
            continue
        labs[name] = lab
        rows[name] = [name, call, round(built * 1000, 1)]
    repeats = 2 if options.quick else max(options.repeats, 5)
    for name, (wall, cpu) in time_updates(labs, repeats).items():
        ms = [x * 1000 for x in wall]
        median = statistics.median(ms)
        lab = labs[name]
        note = "" if lab.error is None else f"error: {lab.error[:80]}"
        if name == "load":
            note = note or "sweep cached after the first build (it re-runs when workers change)"
        rows[name] += [round(median, 1), round(min(ms), 1), round(max(ms), 1),
                       round(statistics.median(cpu) * 1000, 1), repeats,
                       "yes" if median < TARGET_MS else "no", note]
    for name, _, _ in LABS:
        table.add(*rows[name])
    table.notes.append(
        "first build: the factory call (widgets, first run and figures; the load lab's first "
        "build includes its load sweep). update: lab.update() with the default settings, "
        "timed round-robin across the labs; medians of wall-clock time on a shared machine, and "
        "of this process's CPU time (what the lab itself costs)."
        + (" Quick mode: smoke sizes, the figures mean nothing." if options.quick else ""))
    return table


if __name__ == "__main__":
    print(run(Options()).to_markdown())
