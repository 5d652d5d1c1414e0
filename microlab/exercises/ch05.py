"""Checks for notebook 05, performance.

The chapter's orchestrated runs poll, as Conductor's workers do (the scenarios' default
``dispatch="poll"``): each task costs the orchestrator the poll that takes it and the
worker's update, and a worker's thread is held for the whole round trip of a task.

- :func:`check_orchestrator_messages`: how many messages the orchestrator handles per
  order, empty polls aside (a prediction, counted in a trace);
- :func:`check_saturation_rate`: the load at which the orchestrator saturates
  (a prediction, against the capacity measured from a run);
- :func:`check_capacity_knobs`: ``workers`` that keep the orchestrated order saga under
  its latency objective at 80 orders per second.
"""

from __future__ import annotations

import math

from .. import scenarios
from ..errors import MicrolabError
from ..orchestration.pollstats import queue_waits
from ..orchestration.polling import NO_TASK
from .feedback import Hint, NotAnsweredYet, checker

#: The front door (the order service) gets two workers, so that the chapter measures the
#: orchestrator rather than the owner's mailbox.
BASE_WORKERS = {"order": 2}
#: Exercise 5.3: the load, and the objective to meet.
TARGET_RATE = 80.0
TARGET_P95 = 0.3
CAPACITY_RUN = dict(orders=300, arrival_rate=TARGET_RATE, seed=1)
#: Exercise 5.3's hint: below this utilization a component is not what the orders wait for.
BUSY = 0.8


def slowest_task_queue(result) -> tuple[str, float] | None:
    """``(task, mean seconds waited in its queue)`` for the task that waited longest, or None (no polls)."""
    waits: dict = {}
    for _, _, ref, wait in queue_waits(result.trace):
        waits.setdefault(ref, []).append(wait)
    if not waits:
        return None
    ref = max(sorted(waits), key=lambda r: sum(waits[r]) / len(waits[r]))
    return ref, sum(waits[ref]) / len(waits[ref])


def orchestrator_handlings(orders: int = 50, seed: int = 1) -> tuple[float, float]:
    """``(per order, empty polls per order)``: the messages the orchestrator handled in a
    light-load run of the order saga, empty polls aside, and the empty polls apart."""
    result = scenarios.order_saga("orchestration", orders=orders, seed=seed, workers=dict(BASE_WORKERS))
    handled = sum(1 for r in result.trace.of_kind("start") if r.service == "orchestrator")
    # An empty poll is answered NoTask: it is about no order, and it fades under load.
    empty = sum(1 for r in result.trace.of_kind("send") if r.service == "orchestrator"
                and r.message.type == NO_TASK)
    return (handled - empty) / orders, empty / orders


def orchestrator_messages_per_order(orders: int = 50, seed: int = 1) -> float:
    """Messages the orchestrator handled per order in a light-load run, empty polls aside."""
    return orchestrator_handlings(orders, seed)[0]


def orchestrator_capacity(workers: int = 1) -> float:
    """Orders per second the orchestrator can handle: workers / (messages per order x mean work time)."""
    per_message = scenarios.Knobs.make().orchestrator_work_time.mean
    return workers / (orchestrator_messages_per_order() * per_message)


@checker("Exercise 5.1: the orchestrator's messages per order")
def check_orchestrator_messages(answer) -> str:
    """``answer``: how many messages the orchestrator handles for one order, empty polls aside (a number)."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        raise Hint(f"give a number of messages, e.g. 7; got {answer!r}")
    measured, empty = orchestrator_handlings()
    tasks = (measured - 1) / 2
    if math.isclose(answer, measured):
        return (f"{measured:g} messages: the StartWorkflow request, then for each task the poll that takes "
                f"it and the worker's update. Each costs the orchestrator work, and every order passes "
                f"through it. The idle workers' empty polls came on top ({empty:.1f} per order in this "
                "light run); under load every poll finds a task and they fade.")
    if math.isclose(answer, 1 + tasks):
        raise Hint(f"{answer:g} is the count when the orchestrator pushes each task as a command "
                   "(dispatch=\"push\"). These workers poll, as Conductor's do: the poll that takes a task "
                   "is a message the orchestrator handles too")
    if answer in (measured + tasks, measured + tasks + 1):
        raise Hint("count only what the orchestrator receives and handles (its mailbox), not what it sends "
                   "back (the task in a poll's answer, the WorkflowStarted receipt)")
    raise Hint(f"not {answer!r}. The orchestrator handles the request that starts the workflow, then for "
               "each task of the workflow a worker's poll that takes it and the worker's TaskCompleted "
               "update. List the workflow's tasks: the three steps and one task per listener")


@checker("Exercise 5.2: where the orchestrator saturates")
def check_saturation_rate(answer) -> str:
    """``answer``: the offered load (orders per second) at which one orchestrator saturates."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or answer <= 0:
        raise Hint(f"give a positive number of orders per second; got {answer!r}")
    capacity = orchestrator_capacity()
    if abs(answer - capacity) <= 0.2 * capacity:
        return (f"one orchestrator handles about {capacity:.0f} orders/s: {orchestrator_messages_per_order():g} "
                f"messages per order x {scenarios.Knobs.make().orchestrator_work_time.mean * 1000:g} ms each "
                "is all of one worker's time at that rate.")
    side = "too low: the sweep shows it keeping up beyond that" if answer < capacity else \
        "too high: past that rate its mailbox grows without end"
    raise Hint(f"{answer:g} orders/s is {side}. Work it out: the orchestrator handles N messages per "
               "order (exercise 5.1: polls and updates, empty polls aside) and spends orchestrator_work_time "
               "on each (4 ms on average, see scenarios.Knobs()); one worker is saturated when "
               "N x 4 ms x rate = 1 second per second")


@checker("Exercise 5.3: keep up with 80 orders per second")
def check_capacity_knobs(knobs) -> str:
    """``knobs``: ``{"workers": {...}}`` with which 300 orchestrated orders at 80/s have p95 <= 0.3 s."""
    if not isinstance(knobs, dict):
        raise Hint('give a dict of knobs, e.g. {"workers": {"orchestrator": 2}}; got ' + type(knobs).__name__)
    others = [k for k in knobs if k != "workers"]
    if others:
        raise Hint(f"only the workers knob may change here (you set {', '.join(map(repr, others))}): "
                   "the load and the work are given; capacity is what you add")
    workers = knobs.get("workers")
    if workers == {}:
        # The cell's starting value: the default workers, which miss the target.
        raise NotAnsweredYet('no service has more workers yet: fill in {"workers": {...}}, then run '
                             "this cell again.")
    if not isinstance(workers, dict):
        raise Hint('workers is a dict from service name to number of workers, e.g. {"orchestrator": 2}')
    try:
        result = scenarios.order_saga("orchestration", workers=dict(workers), **CAPACITY_RUN)
    except MicrolabError as exc:
        raise Hint(str(exc)) from None
    m = result.metrics
    util = result.utilization()
    busiest = max(sorted(util), key=util.get)
    if m["completed"] < CAPACITY_RUN["orders"] or not m["latency_p95"] <= TARGET_P95:
        where = (f"The busiest component is {busiest}, {util[busiest]:.0%} busy: messages queue in its "
                 "mailbox. Give it more workers, then look again (the bottleneck moves)")
        waits = slowest_task_queue(result)
        if util[busiest] < BUSY and waits is not None:
            task, wait = waits
            where = (f"No component is {BUSY:.0%} busy (the busiest is {busiest}, {util[busiest]:.0%}): tasks wait "
                     f"in the orchestrator's task queues for a worker's thread ({task}: {wait * 1000:.0f} ms "
                     "on average). A polling worker's thread is held for a task's whole round trip (its poll, "
                     "the work, its update), so a service needs more threads (its workers) than its work time "
                     "alone says")
        raise Hint(f"at {TARGET_RATE:g} orders/s the p95 latency is {m['latency_p95']:.2f} s (objective "
                   f"{TARGET_P95} s). {where}")
    return (f"p95 {m['latency_p95'] * 1000:.0f} ms at {TARGET_RATE:g} orders/s; busiest now {busiest} at "
            f"{util[busiest]:.0%}. {sum(workers.values())} workers named in your answer.")
