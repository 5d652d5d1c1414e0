"""Ready-made scenarios: one business flow, built under either pattern from one call.

::

    from microlab import scenarios
    orch = scenarios.order_saga("orchestration", orders=50, failure={"payment": 0.2})
    chor = scenarios.order_saga("choreography", orders=50, failure={"payment": 0.2})
    print(orch.checks.verdict())
    orch.metrics["latency_p95"], chor.metrics["latency_p95"]

Three flows ship (:mod:`microlab.flows`): the **order saga** (order, inventory,
payment, shipping, notification), a **travel booking** (flight, hotel, car, itinerary)
and a **content pipeline** in the spirit of Netflix's (ingest, encode, CDN, catalog).
Every knob is listed in :class:`~microlab.scenarios.knobs.Knobs`. The same seed and
knobs give the same run; the two patterns of one seed see the same arrival times.
"""

from __future__ import annotations

import random

from ..flows import CONTENT, FLOWS, ORDER, TRAVEL, BusinessFlow
from ..system import System
from .changes import CHANGES, change_impact, growth
from .choreographed import build_choreography
from .knobs import PATTERNS, KnobError, Knobs
from .orchestrated import build_orchestration
from .result import RunResult
from .sweep import sweep

__all__ = [
    "run", "order_saga", "travel_booking", "content_pipeline", "sweep", "change_impact", "growth",
    "build", "RunResult", "Knobs", "KnobError", "PATTERNS", "FLOWS", "CHANGES",
]

#: Central components that exist in one pattern only; knobs may name them in either.
CENTRAL = ("orchestrator", "broker")


def build(flow: BusinessFlow | str, pattern: str = "orchestration", *, max_events: int | None = None,
          trace: bool = True, **knob_values) -> tuple[System, list, dict, Knobs]:
    """Build (without running) a system for ``flow`` under ``pattern``, with arrivals scheduled.

    Returns ``(system, correlations, arrivals, knobs)``; most callers want :func:`run`.
    """
    flow = _flow(flow)
    if pattern not in PATTERNS:
        raise KnobError(f"pattern must be 'orchestration' or 'choreography', got {pattern!r}")
    knobs = Knobs.make(**knob_values)
    knobs.check_services(flow.services + list(CENTRAL))
    extra = {} if max_events is None else {"max_events": max_events}
    system = System(seed=knobs.seed, latency=knobs.latency, trace=trace, **extra)
    if pattern == "orchestration":
        services, orchestrator, the_saga = build_orchestration(flow, knobs)
        system.add(*services)
        orchestrator.register(the_saga)
    else:
        system.add(*build_choreography(flow, knobs))
    correlations, arrivals = _schedule_arrivals(system, flow, knobs)
    if knobs.faults:
        knobs.faults.apply(system)
    return system, correlations, arrivals, knobs


def run(flow: BusinessFlow | str, pattern: str = "orchestration", *, until: float | None = None,
        max_events: int | None = None, trace: bool = True, **knob_values) -> RunResult:
    """Run ``flow`` (a flow or its name: "order", "travel", "content") under ``pattern``.

    ``until`` stops the run at a simulated time (default: when nothing is left to do).
    """
    flow = _flow(flow)
    system, correlations, arrivals, knobs = build(flow, pattern, max_events=max_events, trace=trace,
                                                  **knob_values)
    system.run(until=until)
    return RunResult(flow, pattern, knobs, system, correlations, arrivals)


def order_saga(pattern: str = "orchestration", **knobs) -> RunResult:
    """The order saga: order, inventory, payment, shipping, and a notification listener."""
    return run(ORDER, pattern, **knobs)


def travel_booking(pattern: str = "orchestration", **knobs) -> RunResult:
    """A trip: book a flight, a hotel and a car, or cancel what was booked."""
    return run(TRAVEL, pattern, **knobs)


def content_pipeline(pattern: str = "orchestration", **knobs) -> RunResult:
    """A title's way to the screen, as at Netflix: ingest, encode, publish to the CDN."""
    return run(CONTENT, pattern, **knobs)


def _flow(flow) -> BusinessFlow:
    if isinstance(flow, BusinessFlow):
        return flow
    if flow in FLOWS:
        return FLOWS[flow]
    raise KnobError(f"unknown flow {flow!r}; the flows are {', '.join(FLOWS)} (or pass a BusinessFlow)")


def _schedule_arrivals(system: System, flow: BusinessFlow, knobs: Knobs) -> tuple[list, dict]:
    # Arrivals come from their own generator, seeded alike, so that both patterns of
    # one seed see exactly the same customers at the same times.
    rng = random.Random(knobs.seed)
    t = 0.0
    correlations, arrivals = [], {}
    for i in range(knobs.orders):
        t += rng.expovariate(knobs.arrival_rate)
        corr = f"{flow.name}-{i + 1}"
        payload = dict(flow.payload, **{f"{flow.name}Id": corr})
        system.inject(flow.owner, flow.request, payload, correlation=corr, at=t)
        correlations.append(corr)
        arrivals[corr] = t
    return correlations, arrivals
