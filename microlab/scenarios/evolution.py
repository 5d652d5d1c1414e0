"""Evolving a running system: a new workflow version while instances are in flight, and an
event's schema changed while events are on their way.

::

    from microlab import scenarios
    up = scenarios.upgrade_workflow("worker-first")       # v2 adds a fraud check at t=1.5 s
    up.versions()                                         # {"order-1": 1, ..., "order-25": 2, ...}
    ev = scenarios.change_event("rename", "producer-first")
    print(ev.format())                                    # what broke, what the checker saw

**A workflow version under orchestration** (:func:`upgrade_workflow`). The order saga runs
as version 1 of its workflow. At ``at`` version 2 is registered: it inserts a fraud
check between payment and shipping. Every instance stays on the version it started
with, as Conductor's do: a running workflow keeps the snapshot of its definition taken
at its start (`versioning workflows
<https://docs.conductor-oss.org/devguide/how-tos/Workflows/versioning-workflows.html>`_;
``MetadataMapperService`` in conductor-oss only looks a definition up for an instance
that does not carry one). In microlab the instance holds its compiled plan from its
start on. The fraud worker is deployed ``gap`` seconds before version 2
(``"worker-first"``) or after it (``"workflow-first"``); until it is up, version 2's
fraud tasks wait in their queue.

**A renamed task under orchestration** (:func:`rename_task`), the orchestration side of
renaming an event. Version 2 of the workflow names payment's task ``capture`` where
version 1 named it ``charge``; payment's new version does the same work under both
names. Conductor's workers poll only the task types they implement, so a task type that
no worker implements yet is not refused: its tasks wait SCHEDULED in their queue until a
worker for it polls, or the task definition's ``pollTimeoutSeconds`` times them out
(`task timeouts <https://docs.conductor-oss.org/devguide/how-tos/Tasks/task-timeouts.html>`_).
Deploying the workflow first makes version 2's orders wait (latency; or, with a poll
timeout, orders timed out and compensated); deploying the worker first is safe (it polls
a type that nothing schedules yet).

**An event's schema under choreography** (:func:`change_event`). Payment publishes
``PaymentCompleted`` and shipping reacts to it. The change (:data:`SCHEMA_CHANGES`)
adds a field, renames the event, or splits it in two. Each service gets its new
version at a deploy time (:data:`EVENT_DEPLOYS`: the producer first, or the consumer
first, ``gap`` seconds apart). A consumer's old version does not know a new event type:
it never subscribed to it, so the broker hands such an event to nobody. Its new version
is tolerant (it still takes the old event) and, for ``"add_field"``, it needs the new
field and refuses an event without it (:class:`SchemaError`): the broker redelivers,
then dead-letters.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace

from .. import metrics
from ..choreography.kinds import DEAD_LETTER, PUBLISH
from ..errors import MicrolabError
from ..flows import FRAUD_CHECK, ORDER
from ..orchestration.execution import executions
from ..orchestration.records import TIMEOUT
from ..system import HandlerFailureWarning
from .changes import apply_change
from .knobs import KnobError
from .orchestrated import step_worker, workflow_for
from .result import RunResult

#: The two orders of deploying a new workflow version and the worker of its new task.
WORKFLOW_DEPLOYS = ("worker-first", "workflow-first")
#: The schema changes :func:`change_event` makes to payment's ``PaymentCompleted``.
SCHEMA_CHANGES = {
    "add_field": "PaymentCompleted gains a field, receipt (shipping's new version needs it)",
    "rename": "PaymentCompleted becomes PaymentCaptured",
    "split": "PaymentCompleted becomes PaymentAuthorized, then PaymentCaptured (for shipping)",
}
#: Who gets the new version first: the service that publishes the event, or the one that reacts.
EVENT_DEPLOYS = ("producer-first", "consumer-first")
#: The event that changes, who publishes it and who reacts to it.
EVENT, PRODUCER, CONSUMER = "PaymentCompleted", "payment", "shipping"
#: The new names: the renamed event, and the first half of the split one.
RENAMED, AUTHORIZED = "PaymentCaptured", "PaymentAuthorized"
#: The field ``"add_field"`` adds.
FIELD = "receipt"
#: The task :func:`rename_task` renames, its new name, and the worker that does it.
TASK, RENAMED_TASK, TASK_WORKER = "charge", "capture", "payment"


class SchemaError(MicrolabError):
    """A consumer got an event without a field its version needs."""


@dataclass
class Evolution:
    """A run with a change deployed while it ran: the run, the change, and when each part went out.

    ``deploys`` maps each component that changed to the time its new version went out;
    ``warnings`` holds what the run warned (an event nobody subscribes to, a reaction
    that failed), as text.
    """

    result: RunResult
    change: str
    deploy: str
    deploys: dict
    warnings: list = field(default_factory=list)

    def versions(self) -> dict:
        """The workflow version each transaction ran (orchestration only): ``{correlation: version}``."""
        return {ex.correlation: ex.version for ex in executions(self.result.system)}

    def outcomes_by_version(self) -> dict:
        """``{version: {outcome: count}}`` (orchestration only)."""
        outcomes = self.result.outcomes
        table: dict = {}
        for corr, version in sorted(self.versions().items(), key=lambda kv: kv[1]):
            table.setdefault(version, Counter())[outcomes.get(corr, "stuck")] += 1
        return {v: dict(c) for v, c in table.items()}

    def in_flight(self, at: float) -> dict:
        """The transactions whose workflow had started before ``at`` and ended after it (or
        never ended), with the version each ran: ``{correlation: version}`` (orchestration only)."""
        return {ex.correlation: ex.version for ex in executions(self.result.system)
                if ex.start is not None and ex.start < at and (ex.end is None or ex.end > at)}

    def latency_by_version(self) -> dict:
        """``{version: {"p50": s, "max": s}}``: the latencies of each workflow version's completed
        transactions (orchestration only)."""
        spans, table = self.result.spans, {}
        for corr, version in self.versions().items():
            span = spans.get(corr)
            if span is not None and span.outcome == "completed":
                table.setdefault(version, []).append(span.latency)
        return {v: {"p50": metrics.percentiles(lat)["p50"], "max": max(lat)} for v, lat in sorted(table.items())}

    def unheard(self) -> dict:
        """Events published to no subscriber, by type: ``{type: count}``."""
        return dict(Counter(rec[3].type for rec in self.result.trace.records
                            if rec[1] == PUBLISH and not (rec[4] or {}).get("subscribers")))

    def dead_letters(self) -> dict:
        """Events a subscriber never acknowledged, dead-lettered, by type: ``{type: count}``."""
        return dict(Counter(rec[3].type for rec in self.result.trace.records if rec[1] == DEAD_LETTER))

    def poll_timeouts(self) -> int:
        """Tasks that waited unpolled past their ``pollTimeoutSeconds`` (orchestration only)."""
        return sum(1 for rec in self.result.trace.records
                   if rec[1] == TIMEOUT and (rec[4] or {}).get("which") == "poll")

    def format(self) -> str:
        """The change, its deploys, the checker's counts and what went unheard, as text."""
        c = self.result.checks.counts()
        lines = [f"{self.change} ({self.deploy}): " + ", ".join(f"{name} at t={t:g} s"
                                                                 for name, t in self.deploys.items()),
                 f"  {len(self.result.correlations)} orders: " + ", ".join(f"{n} {k}" for k, n in c.items())]
        if self.result.pattern == "orchestration":
            p50 = self.latency_by_version()
            lines.append("  by workflow version: " + "; ".join(
                f"v{v}: " + ", ".join(f"{n} {k}" for k, n in row.items())
                + (f", p50 {p50[v]['p50'] * 1000:.0f} ms, slowest {p50[v]['max'] * 1000:.0f} ms" if v in p50 else "")
                for v, row in self.outcomes_by_version().items()))
        else:
            lines.append(f"  published to nobody: {self.unheard() or 'none'}; "
                         f"dead-lettered: {self.dead_letters() or 'none'}")
        return "\n".join(lines)

    __str__ = format


def upgrade_workflow(deploy: str = "worker-first", *, at: float = 1.5, gap: float = 0.5,
                     orders: int = 30, arrival_rate: float = 10.0, seed: int = 1, **knobs) -> Evolution:
    """The order saga under orchestration; at ``at`` its workflow's version 2 (with a fraud
    check after payment) is registered while version 1's instances run.

    ``deploy``: ``"worker-first"`` deploys the fraud worker ``gap`` seconds before
    version 2, ``"workflow-first"`` ``gap`` seconds after it. Other keywords are
    scenario knobs.
    """
    from . import build   # late import: the package imports this module
    at, worker_at = _deploy_times(deploy, at, gap, "the fraud worker")
    system, correlations, arrivals, k = build(ORDER, "orchestration", orders=orders,
                                              arrival_rate=arrival_rate, seed=seed, **knobs)
    system.add(step_worker(FRAUD_CHECK, k))
    # Not deployed yet: a worker that is down polls nothing, as one that does not exist.
    system.crash(FRAUD_CHECK.service, at=0.0, duration=worker_at)
    orchestrator = system["orchestrator"]
    version_2 = workflow_for(apply_change(ORDER, "fraud_check"), k, version=2)
    system.sim.schedule_at(at, lambda _: orchestrator.register(version_2))
    return _evolution(system, correlations, arrivals, k, "a fraud check in workflow version 2", deploy,
                      {"fraud worker": worker_at, "workflow v2": at})


def rename_task(deploy: str = "worker-first", *, at: float = 1.5, gap: float = 0.5,
                poll_timeout_seconds: float = 0.0, orders: int = 30, arrival_rate: float = 10.0,
                seed: int = 1, **knobs) -> Evolution:
    """The order saga under orchestration; at ``at`` its workflow's version 2 is registered,
    in which payment's task :data:`TASK` is renamed :data:`RENAMED_TASK`.

    ``deploy``: ``"worker-first"`` gives payment its new version (it implements both
    names, so it polls the new one too) ``gap`` seconds before version 2,
    ``"workflow-first"`` ``gap`` seconds after it: until then the renamed tasks wait in
    their queue. ``poll_timeout_seconds`` is the renamed task's ``pollTimeoutSeconds``
    (0: none, it waits as long as it takes); a task that times out unpolled times its
    workflow out (``TIME_OUT_WF``, a Conductor task definition's default
    ``timeoutPolicy``) and the saga compensates. Other keywords are scenario knobs.
    """
    from . import build
    at, worker_at = _deploy_times(deploy, at, gap, "payment's new version")
    poll_timeout_seconds = _seconds(poll_timeout_seconds, "poll_timeout_seconds")
    system, correlations, arrivals, k = build(ORDER, "orchestration", orders=orders,
                                              arrival_rate=arrival_rate, seed=seed, **knobs)
    orchestrator, payment = system["orchestrator"], system[TASK_WORKER]
    renamed = replace(ORDER, steps=tuple(replace(step, effect=RENAMED_TASK) if step.effect == TASK else step
                                         for step in ORDER.steps))
    policy = {RENAMED_TASK: {"poll_timeout": poll_timeout_seconds}} if poll_timeout_seconds else None
    version_2 = workflow_for(renamed, k, version=2, step_policy=policy)
    # The new version does the same work (and records the same business effect) under the new name.
    system.sim.schedule_at(worker_at, lambda _: payment.task(RENAMED_TASK, payment.task_methods[TASK]))
    system.sim.schedule_at(at, lambda _: orchestrator.register(version_2))
    return _evolution(system, correlations, arrivals, k, f"{TASK} renamed {RENAMED_TASK} in workflow version 2",
                      deploy, {"payment v2": worker_at, "workflow v2": at})


def rename_table(deploys=WORKFLOW_DEPLOYS, poll_timeouts=(0.0,), **kw) -> list[dict]:
    """:func:`rename_task` for every deploy order and poll timeout: one row each with ``deploy``,
    ``poll_timeout_seconds``, the checker's ``completed``, ``compensated`` and ``stuck``,
    ``poll_timeouts`` (renamed tasks timed out unpolled) and the ``p50`` and ``max`` latency
    (seconds) of version 2's completed orders."""
    rows = []
    for deploy in deploys:
        for timeout in poll_timeouts:
            ev = rename_task(deploy, poll_timeout_seconds=timeout, **kw)
            c = ev.result.checks.counts()
            v2 = ev.latency_by_version().get(2, {"p50": None, "max": None})
            rows.append({"deploy": deploy, "poll_timeout_seconds": timeout, "completed": c["completed"],
                         "compensated": c["compensated"], "stuck": c["stuck"], "poll_timeouts": ev.poll_timeouts(),
                         "p50": v2["p50"], "max": v2["max"]})
    return rows


def change_event(change: str = "rename", deploy: str = "producer-first", *, at: float = 1.0,
                 gap: float = 0.5, orders: int = 30, arrival_rate: float = 10.0, seed: int = 1,
                 **knobs) -> Evolution:
    """The order saga under choreography; payment's ``PaymentCompleted`` changes (``change``, one
    of :data:`SCHEMA_CHANGES`) while orders run.

    ``deploy``: ``"producer-first"`` gives payment its new version at ``at`` and shipping
    its new version ``gap`` seconds later; ``"consumer-first"`` the other way round.
    """
    from . import build
    if change not in SCHEMA_CHANGES:
        raise KnobError(f"change must be one of {', '.join(map(repr, SCHEMA_CHANGES))}, got {change!r}")
    if deploy not in EVENT_DEPLOYS:
        raise KnobError(f"deploy must be one of {', '.join(map(repr, EVENT_DEPLOYS))}, got {deploy!r}")
    at, gap = _seconds(at, "at"), _seconds(gap, "gap")
    system, correlations, arrivals, k = build(ORDER, "choreography", orders=orders,
                                              arrival_rate=arrival_rate, seed=seed, **knobs)
    producer, consumer = system[PRODUCER], system[CONSUMER]
    times = {PRODUCER: at, CONSUMER: at + gap} if deploy == "producer-first" else {CONSUMER: at, PRODUCER: at + gap}
    system.sim.schedule_at(times[PRODUCER], lambda _: upgrade_producer(producer, change))
    system.sim.schedule_at(times[CONSUMER], lambda _: upgrade_consumer(consumer, change))
    said = _run(system)
    result = RunResult(ORDER, "choreography", k, system, correlations, arrivals)
    return Evolution(result, change, deploy, {f"{name} v2": t for name, t in sorted(times.items(), key=lambda kv: kv[1])},
                     said)


def schema_table(changes=tuple(SCHEMA_CHANGES), deploys=EVENT_DEPLOYS, **kw) -> list[dict]:
    """:func:`change_event` for every change and deploy order: one row each with ``change``,
    ``deploy``, ``completed``, ``stuck``, ``unheard`` and ``dead_lettered`` (event counts)."""
    rows = []
    for change in changes:
        for deploy in deploys:
            ev = change_event(change, deploy, **kw)
            c = ev.result.checks.counts()
            rows.append({"change": change, "deploy": deploy, "completed": c["completed"], "stuck": c["stuck"],
                         "unheard": sum(ev.unheard().values()), "dead_lettered": sum(ev.dead_letters().values())})
    return rows


# -- the new versions ---------------------------------------------------------------------------

def new_events(change: str, type: str, payload: dict) -> list[tuple[str, dict]]:
    """What the producer's new version publishes where its old one published ``(type, payload)``."""
    if type != EVENT:
        return [(type, payload)]
    if change == "add_field":
        return [(EVENT, dict(payload, **{FIELD: f"receipt-{payload.get('orderId')}"}))]
    if change == "rename":
        return [(RENAMED, payload)]
    if change == "split":
        return [(AUTHORIZED, payload), (RENAMED, payload)]
    raise KnobError(f"change must be one of {', '.join(map(repr, SCHEMA_CHANGES))}, got {change!r}")


class _NewSchema:
    """The participant as its reaction sees it, publishing in the new schema."""

    def __init__(self, participant, change: str):
        self._participant, self._change = participant, change

    def publish(self, type, payload=None, **kw):
        for new_type, new_payload in new_events(self._change, type, dict(payload or {})):
            self._participant.publish(new_type, new_payload, **kw)

    def __getattr__(self, name):
        return getattr(self._participant, name)


def upgrade_producer(participant, change: str) -> None:
    """Deploy the producer's new version: every reaction that published :data:`EVENT`
    publishes what :func:`new_events` says instead (and declares so)."""
    for event, reaction in list(participant.reactions.items()):
        if EVENT not in reaction.publishes:
            continue
        publishes = tuple(dict.fromkeys(t for old in reaction.publishes
                                        for t, _ in new_events(change, old, {})))
        participant.on(event, _speaking_new(reaction, change), publishes=publishes, command=reaction.command)


def upgrade_consumer(participant, change: str) -> None:
    """Deploy the consumer's new version: it still takes :data:`EVENT` (a tolerant reader) and
    also :data:`RENAMED`; for ``"add_field"`` it needs :data:`FIELD` in every event."""
    reaction = participant.reactions[EVENT]
    if change == "add_field":
        participant.on(EVENT, _needing_field(reaction), publishes=reaction.publishes)
    else:
        participant.on(RENAMED, reaction.fn, publishes=reaction.publishes)


def _speaking_new(reaction, change):
    def new_version(event, ctx):
        view = _NewSchema(ctx, change)
        return reaction.fn(event, view) if reaction.takes_ctx else reaction.fn(event)
    new_version.__name__ = f"{getattr(reaction.fn, '__name__', 'reaction')}_v2"
    return new_version


def _needing_field(reaction):
    def new_version(event, ctx):
        if FIELD not in (event.payload or {}):
            raise SchemaError(f"{ctx.name}'s new version needs {FIELD!r} in {event.type}, and event "
                              f"#{event.id} of {event.correlation} has none: it was published before "
                              f"{PRODUCER} got its new version")
        return reaction.fn(event, ctx) if reaction.takes_ctx else reaction.fn(event)
    new_version.__name__ = f"{getattr(reaction.fn, '__name__', 'reaction')}_v2"
    return new_version


def _deploy_times(deploy: str, at, gap, what: str) -> tuple[float, float]:
    """(when version 2 is registered, when ``what`` is deployed): ``gap`` seconds before it
    for ``"worker-first"``, after it for ``"workflow-first"``; bad values refused by name."""
    if deploy not in WORKFLOW_DEPLOYS:
        raise KnobError(f"deploy must be one of {', '.join(map(repr, WORKFLOW_DEPLOYS))}, got {deploy!r}")
    at, gap = _seconds(at, "at"), _seconds(gap, "gap")
    worker_at = at - gap if deploy == "worker-first" else at + gap
    if worker_at < 0:
        raise KnobError(f"{what} would be deployed at t={worker_at:g} s: keep gap <= at")
    return at, worker_at


def _evolution(system, correlations, arrivals, knobs, change: str, deploy: str, deployed: dict) -> Evolution:
    """Run the orchestrated order saga built for a workflow change, and read it as an Evolution."""
    said = _run(system)
    result = RunResult(ORDER, "orchestration", knobs, system, correlations, arrivals)
    return Evolution(result, change, deploy, deployed, said)


def _run(system) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        system.run()
    said = []
    for w in caught:
        text = str(w.message).splitlines()[0]
        if issubclass(w.category, HandlerFailureWarning):
            text = text[:160]
        if text not in said:
            said.append(text)
    return said


def _seconds(value, name: str) -> float:
    # NaN and infinity are refused here: a deploy at t=inf never happens, and a run
    # would only stop at the event-storm guard with a message about handlers.
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value < 0):
        raise KnobError(f"{name} must be a finite time in seconds, >= 0, got {value!r}")
    return float(value)


__all__ = ["Evolution", "SchemaError", "upgrade_workflow", "rename_task", "rename_table", "change_event", "schema_table", "new_events",
           "upgrade_producer", "upgrade_consumer", "SCHEMA_CHANGES", "EVENT_DEPLOYS", "WORKFLOW_DEPLOYS"]
