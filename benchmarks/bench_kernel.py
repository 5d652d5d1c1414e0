"""microlab's kernel against SimPy and a bare heapq loop, on the same order saga.

For each pattern (orchestration: 6 messages per order; choreography: 3) six runners
(eight when the compiled hot path is built) simulate the same run (same seed, same
draws, same final clock; checked):

- microlab with its trace on, as learners use it, and with it off, on its compiled hot
  path when it is built, and then also on the pure-Python one (:mod:`microlab.hotpath`);
- SimPy with a process per order (the cheapest SimPy formulation);
- SimPy with a Store and a process per service (the structural twin of microlab);
- salabim with a component per order, yieldless (its idiomatic form since salabim 24);
- a bare heapq loop of callbacks (the pure-Python ceiling).

They run alternately, ``repeats`` times; the table gives medians of CPU time (this
process's, ``time.process_time``: on a shared machine the wall clock also counts the
time another process held the core, which swung single runs by 2x), messages per
second and ratios. Every runner is timed with the same clock.
"""

from __future__ import annotations

import platform
import time
from decimal import ROUND_FLOOR, Decimal

import salabim
import simpy

from microlab import hotpath

from . import models_heapq, models_microlab, models_salabim, models_simpy
from .measure import alternate
from .saga import Load
from .table import Table

PATTERNS = ("orchestration", "choreography")

#: Runner names as printed, in the order they run within each repetition.
ML_ON = "microlab, trace on"
ML_OFF = "microlab, trace off"
#: The same on the pure-Python path, when the compiled one is built (microlab.hotpath).
ML_PURE_ON = "microlab pure Python, trace on"
ML_PURE_OFF = "microlab pure Python, trace off"
SP_ORDER = f"SimPy {simpy.__version__}, a process per order"
SP_SERVICE = f"SimPy {simpy.__version__}, a Store per service"
SALABIM = f"salabim {salabim.__version__}, a component per order"
HEAPQ = "bare heapq loop"

#: microlab (trace on) must reach this multiple of SimPy's messages per second.
TARGET = 2.0

#: Issue 19's kernel targets: (what is compared, microlab's runner, the peer, the least ratio).
TARGETS = (
    ("trace on vs SimPy per order", ML_ON, SP_ORDER, 1.0),
    ("trace on vs SimPy Store per service", ML_ON, SP_SERVICE, 3.0),
    ("trace off vs SimPy per order", ML_OFF, SP_ORDER, 1.5),
)
PURE_TARGETS = tuple((f"{what} (pure Python)", {ML_ON: ML_PURE_ON, ML_OFF: ML_PURE_OFF}[ours], peer, least)
                     for what, ours, peer, least in TARGETS)


def judged_ratio(ratio: float) -> str:
    """``ratio`` as the targets table prints it: two decimals, rounded down, then ``x``.

    Rounded down, not to nearest, so that the printed figure and the verdict beside it
    never disagree: 0.996 would print as "1.00x" next to "no" for a least ratio of 1x.
    The float is rounded exactly (as a Decimal), so for every least ratio of TARGETS
    (1, 1.5, 3: two decimals at most, exact in binary) "printed >= least" holds exactly
    when "measured >= least" does.
    """
    return f"{Decimal(ratio).quantize(Decimal('0.01'), rounding=ROUND_FLOOR)}x"


def contenders(pattern: str, load: Load) -> dict:
    """The runners of ``pattern`` as zero-argument callables returning an Outcome."""
    pure = {ML_PURE_ON: lambda: models_microlab.run(pattern, load, trace=True, pure=True),
            ML_PURE_OFF: lambda: models_microlab.run(pattern, load, trace=False, pure=True)}
    return {
        ML_ON: lambda: models_microlab.run(pattern, load, trace=True),
        ML_OFF: lambda: models_microlab.run(pattern, load, trace=False),
        **(pure if hotpath.COMPILED else {}),
        SP_ORDER: lambda: models_simpy.per_order(pattern, load),
        SP_SERVICE: lambda: models_simpy.per_service(pattern, load),
        SALABIM: lambda: models_salabim.per_order(pattern, load),
        HEAPQ: lambda: models_heapq.choreography(load) if pattern == "choreography"
        else models_heapq.orchestration(load),
    }


def measure(pattern: str, load: Load, repeats: int) -> dict:
    """Time the runners of ``pattern`` alternately; check they simulated the same run."""
    samples = alternate(contenders(pattern, load), repeats, clock=time.process_time)
    reference = samples[ML_ON].result
    reference.check_complete(load, pattern, ML_ON)
    for name, s in samples.items():
        s.result.same_run_as(reference, name, ML_ON)
    return samples


def run(options) -> list[Table]:
    """The kernel section of the report: a table of runs, one of ratios, one of issue 19's targets."""
    load = Load(orders=options.orders, seed=options.seed)
    runs = Table(
        f"Kernel: {load.orders:,} orders, Exponential({load.mean_interarrival:g}) arrivals, "
        f"Exponential({load.mean_latency:g}) latency, {options.repeats} alternating repetitions, "
        "medians of CPU time",
        ["model", "runner", "messages", "median CPU s", "fastest..slowest CPU s", "messages/s",
         "completed orders", "final clock"])
    ratios = Table("Kernel: ratios of medians (messages per second)",
                   ["model", "microlab on / SimPy per service", "microlab on / SimPy per order",
                    "microlab off / SimPy per service", "microlab off / SimPy per order",
                    "microlab on / salabim per order", "microlab on / heapq", f"target >= {TARGET:g}x SimPy (trace on)"])
    targets = Table("Kernel: issue 19's targets (ratios of medians, messages per second)",
                    ["model", "target", "least ratio", "measured", "met"])
    for pattern in PATTERNS:
        samples = measure(pattern, load, options.repeats)
        rate = {}
        for name, s in samples.items():
            out = s.result
            rate[name] = out.messages / s.median
            fast, slow = s.spread
            runs.add(pattern, name, out.messages, s.median, f"{fast:.3g}..{slow:.3g}",
                     rate[name], out.completed, round(out.end_time, 3))
        on, off = rate[ML_ON], rate[ML_OFF]
        vs_store, vs_order = on / rate[SP_SERVICE], on / rate[SP_ORDER]
        verdict = ("met against both SimPy models" if min(vs_store, vs_order) >= TARGET
                   else "met against a Store per service only" if vs_store >= TARGET
                   else "not met")
        ratios.add(pattern, *(judged_ratio(a / rate[b]) for a, b in (
            (on, SP_SERVICE), (on, SP_ORDER), (off, SP_SERVICE), (off, SP_ORDER), (on, SALABIM), (on, HEAPQ))),
            verdict)
        for what, ours, peer, least in TARGETS + (PURE_TARGETS if hotpath.COMPILED else ()):
            measured = rate[ours] / rate[peer]
            targets.add(pattern, what, f"{least:g}x", judged_ratio(measured), "yes" if measured >= least else "no")
    ratios.notes.append("Ratios are rounded down to two decimals, so a printed figure at a target "
                        "means the target is met.")
    targets.notes.append(ratios.notes[0])
    runs.notes.append(
        "Every runner drew the same random numbers in the same order: equal completed "
        "orders, messages and final clock were checked before this table was printed. "
        f"Python {platform.python_version()}. "
        + ("microlab runs its compiled hot path (microlab/_speedups.c); the pure-Python rows run the "
           "same model on the pure-Python path in the same process." if hotpath.COMPILED else
           "microlab runs on the pure-Python path (the compiled hot path is not built, or MICROLAB_PURE is set)."))
    return [runs, ratios, targets]
