"""What a flow's services decide, whatever carries their messages (a broker, or direct calls).

The broker's choreography (:mod:`.choreographed`) and the point-to-point one
(:mod:`.pointtopoint`) differ only in how a service tells the others: ``ctx.publish``
an event, or ``ctx.call`` each service that must hear it. What each service decides is
the same and lives here: the owner concludes a pending transaction once; a step applies
its effect after local retries and counts it, so that an undo undoes only what was
done; a listener hears the outcome. Random draws and effects happen in the same order
as before the two modules shared this code, so their traces are unchanged.
"""

from __future__ import annotations

from ..flows import BusinessFlow, FlowStep

PENDING = "pending"


def flow_services(flow: BusinessFlow, knobs, owner, step_service, listener) -> list:
    """The owner, one service per step and the listeners, each made by the pattern's builder."""
    return [owner(flow, knobs), *(step_service(flow, i, step, knobs) for i, step in enumerate(flow.steps)),
            *(listener(flow, name, knobs) for name in flow.listeners)]


def conclude(status: dict, correlation, outcome: str) -> bool:
    """Mark a pending transaction ``outcome``; False if it has concluded already (a late message)."""
    if status.get(correlation) != PENDING:
        return False
    status[correlation] = outcome
    return True


def step_settings(service, flow: BusinessFlow, index: int, step: FlowStep, knobs) -> tuple:
    """``(applied, trigger, p_fail, attempts)`` of step ``index`` run by ``service``: its
    count of applied effects by correlation (kept in its state, so a crash keeps it), the
    message it reacts to (the flow's ``started`` for the first step, else the previous
    step's ``done``), its failure probability and how many tries it gets."""
    trigger = flow.started if index == 0 else flow.steps[index - 1].done
    return (service.state.setdefault("applied", {}), trigger, knobs.failure.get(step.service, 0.0),
            knobs.retries + 1)


def succeeds(ctx, p_fail: float, attempts: int) -> bool:
    """Whether a step's effect works within ``attempts`` tries (local retries: in a
    choreography nobody else retries a step for its service)."""
    return p_fail == 0.0 or any(ctx.random.random() >= p_fail for _ in range(attempts))


def failure_reason(step: FlowStep, attempts: int) -> str:
    """The ``reason`` a failed step reports."""
    return f"{step.effect} failed {attempts} times"


def applied(applied_count: dict, correlation) -> None:
    """Count one application of the step's effect for ``correlation``."""
    applied_count[correlation] = applied_count.get(correlation, 0) + 1


def take_back(applied_count: dict, correlation) -> bool:
    """Uncount one application, if there is one to undo (a repeated failure undoes nothing)."""
    if applied_count.get(correlation, 0) > 0:
        applied_count[correlation] -= 1
        return True
    return False


def follow_undone(message, ctx) -> None:
    """The owner keeps track of compensation progress, e.g. to answer the customer."""
    ctx.state.setdefault("undone", {}).setdefault(message.correlation, []).append(message.type)


def follow_compensations(owner, steps) -> None:
    """Let the owner follow the ``undone`` message of each of ``steps`` that compensates."""
    for step in steps:
        if step.compensation:
            owner.on(step.undone, follow_undone)


def add_listener(service, flow: BusinessFlow, name: str):
    """Make ``service`` a listener: it records hearing the flow's outcome."""

    def hear(message, ctx):
        ctx.effect(f"{name}_heard", outcome=message.type)

    service.on(flow.completed, hear)
    service.on(flow.rejected, hear)
    return service


__all__ = ["PENDING", "flow_services", "conclude", "step_settings", "succeeds", "failure_reason", "applied", "take_back",
           "follow_undone", "follow_compensations", "add_listener"]
