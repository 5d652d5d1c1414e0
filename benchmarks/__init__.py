"""microlab's benchmarks: ``python -m benchmarks`` (or ``make bench``) prints the table.

The report is made of sections. Each section is a module of this package with a
function ``run(options)`` returning a list of :class:`~benchmarks.table.Table` (one
Table, or a list of dicts, one per row, is accepted too). ``options`` is an
:class:`~benchmarks.options.Options`: a section reads the sizes it needs from it and
must honour ``options.quick`` (tiny sizes, a second or two: the test suite runs the
whole report that way, so that it cannot rot). A module whose ``run`` takes other
arguments gets a ``call`` adapter in its :class:`Section`.

:data:`SECTIONS` is the registry. A section whose module does not exist yet prints a
"not yet available" row instead of failing, so an engineer adds a row by adding a
module (the labs row is expected from the engineers who own the labs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Section:
    """One part of the report: its name, the module that measures it, what it measures.

    ``call(module, options)`` runs a module whose ``run`` does not take ``options``;
    by default the runner calls ``module.run(options)``.
    """

    name: str
    module: str
    what: str
    call: Callable[[Any, Any], Any] | None = None


def _viz(module, options):
    # bench_viz.run(sizes, repeats) belongs to the figures engineer: adapt to it here.
    return module.run(sizes=(100,) if options.quick else (100, 1_000, 10_000),
                      repeats=1 if options.quick else options.repeats)


#: The report's sections, in the order it prints them.
SECTIONS = (
    Section("kernel", "benchmarks.bench_kernel",
            "microlab against SimPy and a bare heapq loop on the order saga: messages per second"),
    Section("scale", "benchmarks.bench_scale",
            "one million messages through the order saga: time, peak memory, bytes per trace record"),
    Section("analysis", "benchmarks.bench_analysis",
            "the course's checks, metrics and sequence-diagram data on a one-million-message "
            "orchestration saga trace (target < 2 s each)"),
    Section("expressions", "benchmarks.bench_expressions",
            "what one JavaScript or jq evaluation costs in the sandbox (child process), per call"),
    Section("labs", "benchmarks.bench_labs",
            "what learners wait for: each lab's default re-simulate-and-redraw time (target < 100 ms)"),
    Section("browser", "benchmarks.bench_browser",
            "what learners wait for in the browser: each lab's default change, from the input to the "
            "figure repainted and settled, in JupyterLab in headless Chromium (target < 300 ms)"),
    Section("viz", "benchmarks.bench_viz",
            "what learners wait for: the sequence diagram's build time at 100 / 1,000 / 10,000 "
            "messages (medians, ms)", call=_viz),
    Section("real-broker", "benchmarks.bench_real_broker",
            "simulated vs real: the choreographed order saga in the simulator, on NATS JetStream and on Kafka"),
    Section("notebooks", "benchmarks.bench_notebooks",
            "what learners wait for: the whole notebook suite under the test command"),
)
