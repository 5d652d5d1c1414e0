"""Ready-made scenarios: one business flow, built under any of three patterns from one call.

::

    from microlab import scenarios
    orch = scenarios.order_saga("orchestration", orders=50, failure={"payment": 0.2})
    chor = scenarios.order_saga("choreography", orders=50, failure={"payment": 0.2})
    print(orch.checks.verdict())
    orch.metrics["latency_p95"], chor.metrics["latency_p95"]

Three patterns (:data:`ALL_PATTERNS`): ``"orchestration"`` (a Conductor-style
orchestrator), ``"choreography"`` (services react to events through a broker) and
``"choreography-p2p"`` (services call each other directly, no broker; retries and
idempotency belong to each caller and callee, see
:mod:`~microlab.scenarios.pointtopoint`). The labs and notebooks compare the first two
(:data:`PATTERNS`, also :func:`sweep`'s default); :func:`change_impact` and
:func:`compare` take all three by default, and every function takes ``patterns=``.
A fourth, ``"hybrid"`` (:func:`hybrid`, :mod:`~microlab.scenarios.domains`), mixes them:
orchestrated inside the owner's domain, choreographed into the last step's, through an
EVENT task and event handlers; it is not in :data:`ALL_PATTERNS`.

Three flows ship (:mod:`microlab.flows`): the **order saga** (order, inventory,
payment, shipping, notification), a **travel booking** (flight, hotel, car, itinerary)
and a **content pipeline** in the spirit of Netflix's (ingest, encode, CDN, catalog).
Every knob is listed in :class:`~microlab.scenarios.knobs.Knobs`. The same seed and
knobs give the same run; the patterns of one seed see the same arrival times.

What decides the comparison
---------------------------
A headline such as "orchestration has higher latency" rests on modelling choices. Each
is a knob (:data:`FAIRNESS`), and :func:`microlab.scenarios.compare` runs a fair fight
under the settings a learner picks:

========================== ==================== =============================================
knob                       default              what it decides (and why this default)
========================== ==================== =============================================
``orchestrator_work_time`` Exponential(4 ms)    the orchestrator's time per message: Conductor
                                                stores the workflow on every task update
``broker_work_time``       Exponential(0.5 ms)  the broker's time per publish or ack: an append
                                                to a log and a fan-out
``notification``           ``"blocking"``       an orchestrated workflow waits for its listeners
                                                (a last task), or hands the outcome off
                                                (``"fire-and-forget"``); choreography's
                                                listeners always hear after the fact
``conclusion``             ``"orchestrator"``   who records that an orchestrated transaction is
                                                over (where its latency ends): the orchestrator,
                                                or the owner once told (``"owner"``), as under
                                                choreography
``receipt_work``           True                 the orchestrated owner spends a worker on each
                                                WorkflowStarted receipt; choreography's outbox
                                                relay takes confirms beside its workers
``count_messages``         ``"all"``            count every message, all but the broker's
                                                confirms (``"no-confirms"``), or only those with
                                                business content (``"business"``)
``work_time``, ``latency`` 10 ms, 5 ms          the same in every pattern
``workers``                1 each               the orchestrator and the broker alike
``dispatch``               ``"poll"``           workers poll task queues, as Conductor's do
                                                (its workers poll, its server never pushes),
                                                and each task costs a poll and its wait;
                                                ``"push"``: the orchestrator sends commands
``thread_count``           1                    a polling worker's threads per task type
                                                (conductor-python's and the Java client's
                                                default); ``polling_interval`` and
                                                ``poll_timeout`` 100 ms, the SDK's
========================== ==================== =============================================

Measured on the order saga, 200 orders at 20/s, p50, seed 1 (seeds 1-5 pooled):
orchestration against choreography is 272 (226) against 127 (119) ms with the defaults
(workers poll: each task waits for a poll, and each poll is a handling at the orchestrator);
154 (152) with pushed commands (``dispatch="push"``); 123 (119) with the broker's work time
at the orchestrator as well; 113 (103) with fire-and-forget
notification as well; 95 (96) with the receipt taken beside the owner's workers; 123
(118) when the owner concludes too, every setting as choreography has it. One seed's
p50 moves by 5-10 ms: ``compare(seeds=5)`` pools them. The README has the full table.

:func:`compare` runs that fight under any settings and says who wins and why.
"""

from __future__ import annotations

import random

from ..errors import did_you_mean
from ..flows import CONTENT, FLOWS, ORDER, TRAVEL, BusinessFlow
from ..system import System
from .changes import CHANGES, change_impact, growth
from .contention import PIANO_ORDER, isolation_table, last_piano
from .choreographed import build_choreography
from .dispatching import polling_vs_push
from .domains import HYBRID, build_hybrid
from .fight import Comparison, compare
from .evolution import change_event, rename_task, upgrade_workflow
from .ladder import FAIR_LADDER, fair_ladder, message_kinds
from .knobs import ALL_PATTERNS, FAIRNESS, PATTERNS, KnobError, Knobs, fairness_table
from .pointtopoint import build_point_to_point
from .orchestrated import build_orchestration
from .result import RunResult
from . import sweep   # the module, callable as sweep() (microlab.modules)

__all__ = [
    "run", "order_saga", "travel_booking", "content_pipeline", "sweep", "change_impact", "growth",
    "compare", "Comparison", "FAIRNESS", "fairness_table", "build", "RunResult", "Knobs", "KnobError",
    "PATTERNS", "ALL_PATTERNS", "FLOWS", "CHANGES", "HYBRID", "hybrid", "polling_vs_push",
    "last_piano", "isolation_table", "PIANO_ORDER", "fair_ladder", "FAIR_LADDER", "message_kinds",
    "upgrade_workflow", "rename_task", "change_event",
]

#: Central components that exist in one pattern only; knobs may name them in either.
CENTRAL = ("orchestrator", "broker")


def build(flow: BusinessFlow | str, pattern: str = "orchestration", *, max_events: int | None = None,
          trace: bool | str = True, **knob_values) -> tuple[System, list, dict, Knobs]:
    """Build (without running) a system for ``flow`` under ``pattern``, with arrivals scheduled.

    Returns ``(system, correlations, arrivals, knobs)``; most callers want :func:`run`.
    """
    flow = _flow(flow)
    if pattern not in ALL_PATTERNS + (HYBRID,):
        known = ALL_PATTERNS + (HYBRID,)
        raise KnobError(f"pattern must be one of {', '.join(map(repr, known))}, got {pattern!r}"
                        + did_you_mean(pattern, known))
    knobs = Knobs.make(**knob_values)
    knobs.check_services(flow.services + list(CENTRAL))
    if knobs.stock is not None and pattern == "choreography-p2p":
        raise KnobError("stock is modelled under 'orchestration', 'choreography' and 'hybrid', "
                        "not yet under 'choreography-p2p'")
    item = dict(flow.payload).get("item")
    if knobs.stock is not None and item not in knobs.stock:
        raise KnobError(f"stock holds {', '.join(map(repr, knobs.stock))}, but the {flow.name} flow's "
                        f"transactions ask for item {item!r}: add it, e.g. stock={{{item!r}: 1}}")
    extra = {} if max_events is None else {"max_events": max_events}
    system = System(seed=knobs.seed, latency=knobs.latency, trace=trace, **extra)
    if pattern == "orchestration":
        services, orchestrator, the_saga = build_orchestration(flow, knobs)
        system.add(*services)
        orchestrator.register(the_saga)
    elif pattern == "choreography":
        system.add(*build_choreography(flow, knobs))
    elif pattern == HYBRID:
        services, orchestrator, the_saga, handlers = build_hybrid(flow, knobs)
        system.add(*services)
        orchestrator.register(the_saga)
        orchestrator.add_event_handlers(*handlers)
    else:
        system.add(*build_point_to_point(flow, knobs))
    correlations, arrivals = _schedule_arrivals(system, flow, knobs)
    if knobs.faults:
        knobs.faults.apply(system)
    return system, correlations, arrivals, knobs


def run(flow: BusinessFlow | str, pattern: str = "orchestration", *, until: float | None = None,
        max_events: int | None = None, trace: bool | str = True, **knob_values) -> RunResult:
    """Run ``flow`` (a flow or its name: "order", "travel", "content") under ``pattern``.

    ``until`` stops the run at a simulated time (default: when nothing is left to do);
    ``trace`` is :class:`~microlab.system.System`'s (``"compact"`` for a very long run).
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


def hybrid(flow: BusinessFlow | str = ORDER, **knobs) -> RunResult:
    """A flow orchestrated inside the owner's domain and choreographed into the last step's.

    The owner's workflow runs every step but the last, publishes with an EVENT task,
    and WAITs; the last step's service reacts through the broker, and an event handler
    completes (or fails) the WAIT. See :mod:`~microlab.scenarios.domains`.
    """
    return run(flow, HYBRID, **knobs)


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
