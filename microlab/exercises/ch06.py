"""Checks for notebook 06, the single point of failure.

The standby's runs push their tasks (:data:`STANDBY_DISPATCH`); the chapter's cluster polls.

- :func:`check_failover_knobs`: standby knobs that keep 90% of orders on time although
  the orchestrator crashes for good;
- :func:`check_recovery_time`: how long after the crash the next order completes (a
  prediction, measured with :func:`microlab.metrics.recovery_time`);
- :func:`check_broker_outage_plan`: a broker outage that loses orders without the
  outbox and loses none with it.
"""

from __future__ import annotations

import math

from .. import metrics, scenarios
from ..errors import MicrolabError
from ..faults import Crash, FaultPlan
from .feedback import Hint, checker

#: The run of this chapter: 40 orders, 5 per second, the orchestrator crashes at t=2.
CRASH_AT = 2.0
RUN = dict(orders=40, arrival_rate=5.0, seed=2)
#: The standby's runs push their tasks: exercises 6.1 and 6.2 are about the failover delay
#: alone. (With polling workers a crashed orchestrator's long polls fail at once and each
#: worker waits for a node to serve, so the failover adds only the workers' next poll.)
STANDBY_DISPATCH = "push"
#: Exercise 6.1: at least this share of the orders placed in the first 8 s must complete within 1 s.
TARGET_AVAILABILITY = 0.9
WINDOW = (0.0, 8.0)
WITHIN = 1.0
#: Exercise 6.2: the failover delay the prediction is about.
PREDICT_DELAY = 1.0


def orchestrator_crash(**knobs):
    """The chapter's run: the orchestrator crashes at t=2 and never comes back (tasks pushed,
    see :data:`STANDBY_DISPATCH`)."""
    return scenarios.order_saga("orchestration", faults=FaultPlan().crash("orchestrator", at=CRASH_AT),
                                dispatch=STANDBY_DISPATCH, **RUN, **knobs)


def availability(result) -> float:
    """Share of the orders placed in the first 8 s that completed within 1 s."""
    return metrics.availability(result.trace, *WINDOW, within=WITHIN)


@checker("Exercise 6.1: a standby that keeps orders on time")
def check_failover_knobs(knobs) -> str:
    """``knobs``: ``{"standby": ..., "failover_delay": ...}`` for :func:`orchestrator_crash`."""
    if not isinstance(knobs, dict):
        raise Hint('give a dict of knobs, e.g. {"standby": True, "failover_delay": 2.0}; got '
                   + type(knobs).__name__)
    others = [k for k in knobs if k not in ("standby", "failover_delay")]
    if others:
        raise Hint(f"only standby and failover_delay may change here (you set {', '.join(map(repr, others))}): "
                   "the crash and the load are given")
    try:
        result = orchestrator_crash(**knobs)
    except MicrolabError as exc:
        raise Hint(str(exc)) from None
    share = availability(result)
    stuck = result.checks.counts()["stuck"]
    if not knobs.get("standby", False):
        raise Hint(f"without a standby nothing takes over: {stuck} orders are stuck when the run ends "
                   f"and only {share:.0%} complete within {WITHIN:g} s. Switch the standby on")
    takeover = result.trace.of_kind("takeover")
    if share < TARGET_AVAILABILITY:
        when = f"t={takeover[0].time:g}" if takeover else "never"
        raise Hint(f"{share:.0%} of orders complete within {WITHIN:g} s (target {TARGET_AVAILABILITY:.0%}). "
                   f"The orchestrator crashed at t={CRASH_AT:g} and the standby took over at {when}: every order "
                   "that arrived in between waited for it. Shorten failover_delay")
    return (f"{share:.0%} of orders complete within {WITHIN:g} s; the standby took over "
            f"{takeover[0].time - CRASH_AT:.2g} s after the crash. In a real system, a failover delay much "
            "shorter than the usual pauses of the active orchestrator causes false failovers: the "
            "delay is a trade-off, not a free knob.")


@checker("Exercise 6.2: time to recover")
def check_recovery_time(answer) -> str:
    """``answer``: seconds from the crash until the next order completes, with failover_delay=1."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or math.isnan(answer):
        raise Hint(f"give a number of seconds; got {answer!r}")
    result = orchestrator_crash(standby=True, failover_delay=PREDICT_DELAY)
    measured = metrics.recovery_time(result.trace, CRASH_AT)
    if abs(answer - measured) <= 0.25:
        return (f"measured {measured:.3f} s: the failover delay ({PREDICT_DELAY:g} s), then the standby "
                "replays the log and re-sends the task in flight, which takes milliseconds.")
    if answer < measured:
        raise Hint(f"{answer:g} s is too short. Nothing concludes while no orchestrator is active: how long "
                   "does the standby wait before it decides the active one is gone?")
    raise Hint(f"{answer:g} s is too long. Once the standby takes over, replaying the log and re-sending "
               "the commands in flight takes only milliseconds of simulated time")


@checker("Exercise 6.3: a broker outage")
def check_broker_outage_plan(plan) -> str:
    """``plan``: a FaultPlan after which the choreography loses orders without the outbox, none with it."""
    if not isinstance(plan, FaultPlan):
        raise Hint(f"build a FaultPlan, e.g. FaultPlan().crash(...); got {type(plan).__name__}")
    crashes = [f for f in plan.faults if isinstance(f, Crash)]
    if not any(c.service == "broker" for c in crashes):
        raise Hint("the exercise is about the broker: crash it, with FaultPlan().crash('broker', at=..., "
                   "duration=...)")
    try:
        safe = scenarios.order_saga("choreography", faults=plan, **RUN)
        unsafe = scenarios.order_saga("choreography", faults=plan, outbox=False, **RUN)
    except MicrolabError as exc:
        raise Hint(str(exc)) from None
    if any(c.service == "broker" and c.duration is None for c in crashes) and not safe.checks.ok:
        raise Hint("your broker never comes back: the outbox keeps every event, but it can only hand "
                   "them over to a broker that is up. Give the crash a duration")
    if not safe.checks.ok:
        raise Hint(f"with the outbox on, the run should still be consistent, but: {safe.checks.verdict()} "
                   "Keep the plan to broker crashes (with a duration), within the run")
    lost = unsafe.checks.counts()["stuck"]
    if lost == 0:
        last = max(safe.arrivals.values())
        raise Hint(f"without the outbox nothing was lost: {unsafe.checks.verdict()} The orders arrive "
                   f"between t=0 and t={last:.1f}; crash the broker while events are flowing")
    return (f"without the outbox {lost} orders are stuck (their events were dropped while the broker "
            f"was down); with it every order ends: {safe.checks.verdict()}")
