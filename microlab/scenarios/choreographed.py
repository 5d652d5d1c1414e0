"""A business flow as a choreography: every service knows which events to react to.

From a :class:`~microlab.flows.BusinessFlow`:

- the **owner** takes the client's request, publishes the flow's ``started`` event,
  concludes the transaction when the last step's ``done`` event arrives (``complete``)
  or when any step's ``failed`` event arrives (``reject``), and publishes
  ``completed`` or ``rejected``; it also follows the ``undone`` events;
- **step i** reacts to the previous step's ``done`` event (the first step to
  ``started``): it applies its effect and publishes ``done``, or publishes ``failed``
  after its local retries; with compensation on, it also reacts to the ``failed``
  event of every *later* step by undoing its effect and publishing ``undone``;
- **listeners** react to ``completed`` and ``rejected``.

Compensation is therefore knowledge spread over the services: each must know every
later step's failure event. That is what the change lab counts.
"""

from __future__ import annotations

from ..choreography import Broker, Participant
from ..flows import BusinessFlow, FlowStep
from .knobs import Knobs
from .stock import OUT_OF_STOCK, ReadsAtStart, StockKeeper
from .steps import (PENDING, add_listener, applied, conclude, failure_reason, flow_services,
                    follow_compensations, step_settings, succeeds, take_back)


def build_choreography(flow: BusinessFlow, knobs: Knobs) -> list:
    """The broker and one participant per service of ``flow``, configured by ``knobs``."""
    workers = knobs.workers
    broker = Broker(workers=workers.get("broker"), work_time=knobs.broker_work_time)
    return [broker, *flow_services(flow, knobs, _owner, _step_service, _listener)]


class StockParticipant(ReadsAtStart, Participant):
    """A participant that keeps the knob ``stock`` (see :mod:`~microlab.scenarios.stock`)."""


def _participant(name: str, knobs: Knobs, cls=Participant) -> Participant:
    return cls(name, outbox=knobs.outbox, idempotent=knobs.idempotent,
                       workers=knobs.workers.get(name), work_time=knobs.work_time)


def _owner(flow: BusinessFlow, knobs: Knobs) -> Participant:
    owner = _participant(flow.owner, knobs)
    status = owner.state.setdefault("status", {})

    @owner.on(flow.request, command=True, publishes=(flow.started,))
    def start(command, ctx):
        status[command.correlation] = PENDING
        ctx.publish(flow.started, dict(command.payload))

    @owner.on(flow.steps[-1].done, publishes=(flow.completed,))
    def complete(event, ctx):
        if conclude(status, event.correlation, "completed"):
            ctx.effect("complete")
            ctx.publish(flow.completed, dict(event.payload))

    def reject(event, ctx):
        if conclude(status, event.correlation, "rejected"):
            ctx.effect("reject", because=event.type)
            ctx.publish(flow.rejected, dict(event.payload, reason=event.type))

    for step in flow.steps:
        owner.on(step.failed, reject, publishes=(flow.rejected,))

    if knobs.compensation:
        # Only steps that a later step's failure can undo: the last step has no later
        # step, so its undo event is never published and subscribing to it would be a
        # dead subscription (describe() and the run's wiring warning would flag it).
        follow_compensations(owner, flow.steps[:-1])
    return owner


def _step_service(flow: BusinessFlow, index: int, step: FlowStep, knobs: Knobs) -> Participant:
    keeper = StockKeeper(dict(knobs.stock), knobs.isolation) if index == 0 and knobs.stock else None
    service = _participant(step.service, knobs, StockParticipant if keeper else Participant)
    service.keeper = keeper
    done, trigger, p_fail, attempts = step_settings(service, flow, index, step, knobs)

    @service.on(trigger, publishes=(step.done, step.failed))
    def do(event, ctx):
        if not succeeds(ctx, p_fail, attempts):
            ctx.publish(step.failed, dict(event.payload, reason=failure_reason(step, attempts)))
            return
        detail = {}
        if keeper is not None:
            decision, detail = keeper.reserve(event, event.payload)
            if decision.refused:
                # No delayed local retry here: a held unit is refused like a sold-out one.
                ctx.effect(OUT_OF_STOCK, **detail)
                ctx.publish(step.failed, dict(event.payload, reason=f"{detail['item']} {decision.refused}"))
                return
        applied(done, event.correlation)
        ctx.effect(step.effect, **detail)
        ctx.publish(step.done, dict(event.payload))

    if knobs.compensation and step.compensation:
        def undo(event, ctx):
            if take_back(done, event.correlation):
                extra = keeper.release(event, event.payload) if keeper is not None else {}
                ctx.effect(step.compensation, because=event.type, **extra)
                ctx.publish(step.undone, dict(event.payload))

        for later in flow.steps[index + 1:]:
            service.on(later.failed, undo, publishes=(step.undone,))
    return service


def _listener(flow: BusinessFlow, name: str, knobs: Knobs) -> Participant:
    return add_listener(_participant(name, knobs), flow, name)
