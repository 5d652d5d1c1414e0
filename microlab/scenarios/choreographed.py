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


def build_choreography(flow: BusinessFlow, knobs: Knobs) -> list:
    """The broker and one participant per service of ``flow``, configured by ``knobs``."""
    workers = knobs.workers
    broker = Broker(workers=workers.get("broker"), work_time=knobs.broker_work_time)
    services = [broker, _owner(flow, knobs)]
    for i, step in enumerate(flow.steps):
        services.append(_step_service(flow, i, step, knobs))
    for name in flow.listeners:
        services.append(_listener(flow, name, knobs))
    return services


def _participant(name: str, knobs: Knobs) -> Participant:
    return Participant(name, outbox=knobs.outbox, idempotent=knobs.idempotent,
                       workers=knobs.workers.get(name), work_time=knobs.work_time)


def _owner(flow: BusinessFlow, knobs: Knobs) -> Participant:
    owner = _participant(flow.owner, knobs)
    status = owner.state.setdefault("status", {})

    @owner.on(flow.request, command=True, publishes=(flow.started,))
    def start(command, ctx):
        status[command.correlation] = "pending"
        ctx.publish(flow.started, dict(command.payload))

    @owner.on(flow.steps[-1].done, publishes=(flow.completed,))
    def complete(event, ctx):
        if status.get(event.correlation) == "pending":
            status[event.correlation] = "completed"
            ctx.effect("complete")
            ctx.publish(flow.completed, dict(event.payload))

    def reject(event, ctx):
        if status.get(event.correlation) == "pending":
            status[event.correlation] = "rejected"
            ctx.effect("reject", because=event.type)
            ctx.publish(flow.rejected, dict(event.payload, reason=event.type))

    for step in flow.steps:
        owner.on(step.failed, reject, publishes=(flow.rejected,))

    def follow(event, ctx):
        # The owner keeps track of compensation progress, e.g. to answer the customer.
        ctx.state.setdefault("undone", {}).setdefault(event.correlation, []).append(event.type)

    if knobs.compensation:
        # Only steps that a later step's failure can undo: the last step has no later
        # step, so its undo event is never published and subscribing to it would be a
        # dead subscription (describe() and the run's wiring warning would flag it).
        for step in flow.steps[:-1]:
            if step.compensation:
                owner.on(step.undone, follow)
    return owner


def _step_service(flow: BusinessFlow, index: int, step: FlowStep, knobs: Knobs) -> Participant:
    service = _participant(step.service, knobs)
    applied = service.state.setdefault("applied", {})
    trigger = flow.started if index == 0 else flow.steps[index - 1].done
    p_fail = knobs.failure.get(step.service, 0.0)
    attempts = knobs.retries + 1

    @service.on(trigger, publishes=(step.done, step.failed))
    def do(event, ctx):
        # Local retries: a choreographed service has nobody else to retry for it.
        ok = p_fail == 0.0 or any(ctx.random.random() >= p_fail for _ in range(attempts))
        if not ok:
            ctx.publish(step.failed, dict(event.payload, reason=f"{step.effect} failed {attempts} times"))
            return
        applied[event.correlation] = applied.get(event.correlation, 0) + 1
        ctx.effect(step.effect)
        ctx.publish(step.done, dict(event.payload))

    if knobs.compensation and step.compensation:
        def undo(event, ctx):
            if applied.get(event.correlation, 0) > 0:
                applied[event.correlation] -= 1
                ctx.effect(step.compensation, because=event.type)
                ctx.publish(step.undone, dict(event.payload))

        for later in flow.steps[index + 1:]:
            service.on(later.failed, undo, publishes=(step.undone,))
    return service


def _listener(flow: BusinessFlow, name: str, knobs: Knobs) -> Participant:
    listener = _participant(name, knobs)

    def hear(event, ctx):
        ctx.effect(f"{name}_heard", outcome=event.type)

    listener.on(flow.completed, hear)
    listener.on(flow.rejected, hear)
    return listener
