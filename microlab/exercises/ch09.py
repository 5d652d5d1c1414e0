"""Checks for notebook 09, choosing a pattern: classify real situations, buy down orchestration's costs.

- :func:`check_choices` (exercise 9.1): for each situation of :data:`SITUATIONS`,
  "orchestration", "choreography" or "hybrid";
- :func:`check_knobs` (exercise 9.2): knobs with which the orchestrated order saga
  meets :data:`REQUIREMENT` despite an orchestrator crash.
"""

from __future__ import annotations

import math

from ..faults import FaultPlan
from ..scenarios import KnobError, order_saga
from ..words import count
from .feedback import Hint, checker

CHOICES = ("orchestration", "choreography", "hybrid")

#: Situation -> (accepted answers, why), for exercise 9.1.
SITUATIONS = {
    "a payment saga that must refund and release stock when shipping fails": (
        ("orchestration",),
        "a transaction that must end all-done or all-undone wants one owner that retries, times out and "
        "compensates in reverse (notebook 04)"),
    "several teams want to hear that an order shipped (email, analytics, loyalty points)": (
        ("choreography",),
        "pure listeners cost choreography nothing, while every one of them edits the workflow (notebook 07)"),
    "a title's way to the screen: ingest, encode, publish to the CDN, over hours, watched by operators": (
        ("orchestration",),
        "a long flow whose progress people must query is Netflix's own reason for Conductor (notebook 08)"),
    "orders are run as sagas inside the sales domain; warehouse and billing domains react to OrderCompleted": (
        ("hybrid",),
        "an orchestrated saga inside a domain, events between domains: each team keeps its own centre"),
    "a very high event rate, each step independent, no compensation needed (click tracking)": (
        ("choreography",),
        "no transaction to protect, and a central orchestrator would be the throughput bound (notebook 05)"),
}

#: What exercise 9.2 asks of the orchestrated order saga.
REQUIREMENT = {"orders": 150, "arrival_rate": 50.0, "crash_at": 1.0, "p95": 2.0}
#: Knobs that describe the requirement, not the design: the learner may not change them.
FIXED = ("orders", "arrival_rate", "faults", "seed", "failure", "dispatch")
#: Exercise 9.2's run pushes its tasks, as chapter 06's standby runs do: the standby's failover
#: delay is half of the design, measured alone. (With polling workers a crashed orchestrator's
#: long polls fail at once, so the failover adds only the workers' next poll.)
DISPATCH = "push"


@checker("Exercise 9.1: choose a pattern")
def check_choices(choices) -> str:
    """Pass ``{situation: "orchestration" | "choreography" | "hybrid"}`` for every situation."""
    if not isinstance(choices, dict):
        raise Hint("answer with a dict: {situation: 'orchestration' or 'choreography' or 'hybrid'}; "
                   "start from dict.fromkeys(ch09.SITUATIONS, '...').")
    missing = [s for s in SITUATIONS if s not in choices]
    if missing:
        raise Hint(f"{count(len(missing), 'situation')} {'has' if len(missing) == 1 else 'have'} no answer, e.g. {missing[0]!r}. "
                   "Copy the keys from ch09.SITUATIONS.")
    for situation, (accepted, why) in SITUATIONS.items():
        answer = choices[situation]
        if answer not in CHOICES:
            raise Hint(f"for {situation!r} you wrote {answer!r}; answer one of {', '.join(CHOICES)}.")
        if answer not in accepted:
            raise Hint(f"reconsider {situation!r}: you chose {answer}. Ask: is there a transaction to keep "
                       "consistent? Who needs to know how far along it is? Does anyone only listen?")
    return "each choice follows a measurement of the course: " + "; ".join(why for _, why in SITUATIONS.values()) + "."


def requirement_run(**knobs):
    """The orchestrated order saga under :data:`REQUIREMENT`, with the learner's design knobs
    (tasks pushed, see :data:`DISPATCH`)."""
    plan = FaultPlan().crash("orchestrator", at=REQUIREMENT["crash_at"])  # never restarted
    return order_saga("orchestration", orders=REQUIREMENT["orders"], arrival_rate=REQUIREMENT["arrival_rate"],
                      faults=plan, seed=1, dispatch=DISPATCH, **knobs)


@checker("Exercise 9.2: make orchestration meet the requirement")
def check_knobs(knobs) -> str:
    """Pass design knobs (a dict) with which every order completes and p95 latency stays
    under REQUIREMENT['p95'] seconds although the orchestrator crashes for good at 1 s."""
    if not isinstance(knobs, dict):
        raise Hint("answer with a dict of knobs, e.g. {'workers': {'orchestrator': 1}, 'standby': False}; "
                   "scenarios.Knobs lists them all.")
    fixed = [k for k in knobs if k in FIXED]
    if fixed:
        raise Hint(f"{', '.join(fixed)} describe the requirement, not your design: leave them out. "
                   "Change what you would buy or configure: workers, standby, failover_delay.")
    try:
        result = requirement_run(**knobs)
    except KnobError as exc:
        raise Hint(f"a knob is wrong: {exc}") from None
    counts = result.checks.counts()
    n = REQUIREMENT["orders"]
    if counts["stuck"]:
        raise Hint(f"{counts['stuck']} of {n} orders are stuck: the orchestrator crashed at "
                   f"{REQUIREMENT['crash_at']} s and nobody took over. Which knob adds a standby that "
                   "replays the durable log?")
    if counts["completed"] != n or not result.checks.ok:
        raise Hint(f"only {counts['completed']} of {n} orders completed ({result.checks.verdict()}). "
                   "Keep the protections (compensation, idempotent) on and no failures injected.")
    p95 = result.metrics["latency_p95"]
    if math.isnan(p95) or p95 > REQUIREMENT["p95"]:
        util = result.utilization().get("orchestrator", math.nan)
        raise Hint(f"every order completed, but p95 latency is {p95:.2f} s, above {REQUIREMENT['p95']} s. "
                   f"The orders that arrive during the failover wait for it, and the rest queue at the "
                   f"orchestrator: it is busy {util:.0%} averaged over the whole run, so the queue is the burst "
                   f"right after the takeover. Shorten the failover or "
                   "give the orchestrator more workers.")
    return (f"all {n} orders completed through the crash, p95 {p95:.2f} s. Orchestration's costs "
            "(a central bottleneck, a single point of failure) are real but can be bought down.")

