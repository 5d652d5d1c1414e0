"""A business flow as a point-to-point choreography: each service calls the next one directly.

From a :class:`~microlab.flows.BusinessFlow`, with the same message names as the
broker's choreography (:mod:`~microlab.scenarios.choreographed`), but every message
goes straight to the one service that must hear it:

- the **owner** takes the client's request and calls the first step's service with the
  flow's ``started`` message; it concludes the transaction when the last step calls it
  with ``done`` (``complete``) or any step calls it with ``failed`` (``reject``), and
  then calls every **listener** itself: nobody else knows they exist;
- **step i** reacts to ``started`` (the first) or to the previous step's ``done``: it
  applies its effect and calls the next step's service (the owner, after the last
  step), or after its local retries calls the owner and, with compensation on, every
  *earlier* step's service with ``failed``;
- an earlier step undoes its effect on a later step's ``failed`` and tells the owner
  ``undone``.

No broker stands between them, so the delivery guarantees are each caller's and each
callee's: with ``outbox`` on a caller re-sends a call every ``response_timeout`` until
the callee acknowledges it; with ``idempotent`` on a callee ignores a call it has
already processed. Turn either off and the checker shows what breaks.
"""

from __future__ import annotations

from ..choreography import Peer
from ..flows import BusinessFlow, FlowStep
from .knobs import Knobs
from .steps import (PENDING, add_listener, applied, conclude, failure_reason, flow_services,
                    follow_compensations, step_settings, succeeds, take_back)


def build_point_to_point(flow: BusinessFlow, knobs: Knobs) -> list:
    """One :class:`~microlab.choreography.Peer` per service of ``flow``, configured by ``knobs``."""
    return flow_services(flow, knobs, _owner, _step_service, _listener)


def _peer(name: str, knobs: Knobs) -> Peer:
    return Peer(name, outbox=knobs.outbox, idempotent=knobs.idempotent, workers=knobs.workers.get(name),
                work_time=knobs.work_time, retry_after=knobs.response_timeout)


def _next(flow: BusinessFlow, index: int) -> str:
    return flow.steps[index + 1].service if index + 1 < len(flow.steps) else flow.owner


def _owner(flow: BusinessFlow, knobs: Knobs) -> Peer:
    owner = _peer(flow.owner, knobs)
    status = owner.state.setdefault("status", {})
    first = flow.steps[0].service
    tell = tuple((name, flow.completed) for name in flow.listeners)
    tell_rejected = tuple((name, flow.rejected) for name in flow.listeners)

    @owner.on(flow.request, calls=((first, flow.started),))
    def start(msg, ctx):
        status[msg.correlation] = PENDING
        ctx.call(first, flow.started, dict(msg.payload))

    @owner.on(flow.steps[-1].done, calls=tell)
    def complete(msg, ctx):
        if conclude(status, msg.correlation, "completed"):
            ctx.effect("complete")
            for name in flow.listeners:
                ctx.call(name, flow.completed, dict(msg.payload))

    def reject(msg, ctx):
        if conclude(status, msg.correlation, "rejected"):
            ctx.effect("reject", because=msg.type)
            for name in flow.listeners:
                ctx.call(name, flow.rejected, dict(msg.payload, reason=msg.type))

    for step in flow.steps:
        owner.on(step.failed, reject, calls=tell_rejected)

    if knobs.compensation:
        follow_compensations(owner, flow.steps)
    return owner


def _step_service(flow: BusinessFlow, index: int, step: FlowStep, knobs: Knobs) -> Peer:
    service = _peer(step.service, knobs)
    done, trigger, p_fail, attempts = step_settings(service, flow, index, step, knobs)
    after = _next(flow, index)
    # Who must hear that this step failed: the owner, and (to undo) every earlier step.
    undoers = [s.service for s in flow.steps[:index] if s.compensation] if knobs.compensation else []
    told = [flow.owner] + undoers

    @service.on(trigger, calls=[(after, step.done)] + [(name, step.failed) for name in told])
    def do(msg, ctx):
        if not succeeds(ctx, p_fail, attempts):
            for name in told:
                ctx.call(name, step.failed, dict(msg.payload, reason=failure_reason(step, attempts)))
            return
        applied(done, msg.correlation)
        ctx.effect(step.effect)
        ctx.call(after, step.done, dict(msg.payload))

    if knobs.compensation and step.compensation:
        def undo(msg, ctx):
            if take_back(done, msg.correlation):
                ctx.effect(step.compensation, because=msg.type)
                ctx.call(flow.owner, step.undone, dict(msg.payload))

        for later in flow.steps[index + 1:]:
            service.on(later.failed, undo, calls=((flow.owner, step.undone),))
    return service


def _listener(flow: BusinessFlow, name: str, knobs: Knobs) -> Peer:
    return add_listener(_peer(name, knobs), flow, name)
