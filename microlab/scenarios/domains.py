"""A business flow orchestrated inside a domain and choreographed between domains.

The pattern ``"hybrid"``: from a :class:`~microlab.flows.BusinessFlow`,

- the **owner's domain is orchestrated**: the owner starts a workflow
  (:func:`~microlab.orchestration.saga`) that runs every step but the last as SIMPLE
  tasks (Conductor-style: their workers poll for them, unless ``dispatch="push"``),
  then publishes the outcome to the other domain with an **EVENT task**
  (``nats:<event>``, the event the last step reacts to under choreography, e.g.
  ``PaymentCompleted``), then **WAITs**; its failure workflow undoes the completed steps,
  most recent first, as in :mod:`~microlab.scenarios.orchestrated`;
- the **last step's domain is choreographed**: its service is a
  :class:`~microlab.choreography.Participant` that reacts to that event through the
  broker, applies its effect (with local retries, as under choreography) and publishes
  its ``done`` or ``failed`` event; the listeners (the notification service) hear
  ``done`` there too, after the fact;
- two **event handlers** bring the answer back into the orchestrated domain: ``done``
  completes the WAIT (the workflow completes, and the orchestrator concludes the
  transaction), ``failed`` fails it (the workflow fails and its failure workflow
  compensates the steps of the first domain).

Nothing in the second domain knows a workflow: it hears and publishes business events.
Nothing in the first knows the second's services: the workflow names an event. The
event payload carries ``workflowInstanceId`` (the EVENT task adds it), which is how the
handler finds the WAIT, as a real Conductor handler does
(``complete_task: {workflowId: ${workflowInstanceId}, taskRefName: ...}``).
"""

from __future__ import annotations

from ..choreography import Broker, Participant
from ..flows import BusinessFlow
from ..orchestration import Orchestrator, event, saga, wait
from ..orchestration.handlers import complete_task, event_handler, fail_task
from .knobs import Knobs
from .orchestrated import FlowOwner, ReceiptFreeOwner, step_worker

#: The pattern's name (it is not one of :data:`~microlab.scenarios.ALL_PATTERNS`: sweeps and
#: change impact compare the three pure patterns).
HYBRID = "hybrid"
#: The reference names of the workflow's hand-off to the choreographed domain.
HAND_OFF, AWAIT = "hand_off", "await_reply"


def hybrid_workflow(flow: BusinessFlow, knobs: Knobs):
    """The first domain's saga: the steps but the last, an EVENT to the last domain, a WAIT."""
    policy = dict(retries=knobs.retries, retry_logic="FIXED", retry_delay=knobs.retry_delay,
                  response_timeout=knobs.response_timeout)
    inputs = [f"{flow.name}Id"] + [k for k, _ in flow.payload]
    builder = saga(f"{flow.name}_hybrid", inputs=inputs)
    for step in flow.steps[:-1]:
        undo = step.compensation if knobs.compensation else None
        builder.step(step.effect, service=step.service, compensate=undo,
                     compensate_policy=dict(policy) if undo else None, **policy)
    builder.main.add(event(HAND_OFF, f"nats:{hand_off_event(flow)}",
                           input={k: f"${{workflow.input.{k}}}" for k in inputs}))
    builder.main.add(wait(AWAIT))
    return builder.build()


def hand_off_event(flow: BusinessFlow) -> str:
    """The event the first domain publishes: the one the last step reacts to under choreography."""
    return flow.steps[-2].done if len(flow.steps) > 1 else flow.started


def hybrid_handlers(flow: BusinessFlow) -> list:
    """The event handlers that bring the last domain's answer back to the workflow."""
    last = flow.steps[-1]
    target = dict(workflow_id="${workflowInstanceId}", ref=AWAIT)
    return [event_handler(f"on_{last.done}", f"nats:{last.done}", complete_task(**target)),
            event_handler(f"on_{last.failed}", f"nats:{last.failed}", fail_task(**target, reason="${reason}"))]


def build_hybrid(flow: BusinessFlow, knobs: Knobs) -> tuple[list, Orchestrator, object, list]:
    """The services of both domains, the orchestrator, the saga to register and the handlers."""
    if len(flow.steps) < 2:
        raise ValueError(f"flow {flow.name!r}: the hybrid pattern needs two steps or more "
                         "(one domain orchestrates the first, the last is choreographed)")
    orchestrator = Orchestrator(workers=knobs.workers.get("orchestrator"), work_time=knobs.orchestrator_work_time,
                                standby=knobs.standby, failover_delay=knobs.failover_delay,
                                conclusions=("complete", "reject"), dispatch=knobs.dispatch)
    the_saga = hybrid_workflow(flow, knobs)
    owner_class = FlowOwner if knobs.receipt_work else ReceiptFreeOwner
    owner = owner_class(flow.owner, flow.request, the_saga.workflow.name, orchestrator,
                        retry_after=knobs.response_timeout, workers=knobs.workers.get(flow.owner),
                        work_time=knobs.work_time)
    broker = Broker(workers=knobs.workers.get("broker"), work_time=knobs.broker_work_time)
    services = [orchestrator, owner, broker]
    services.extend(step_worker(step, knobs, stock=i == 0) for i, step in enumerate(flow.steps[:-1]))
    services.append(_last_step(flow, knobs))
    for name in flow.listeners:
        services.append(_listener(flow, name, knobs))
    return services, orchestrator, the_saga, hybrid_handlers(flow)


def _last_step(flow: BusinessFlow, knobs: Knobs) -> Participant:
    step = flow.steps[-1]
    service = Participant(step.service, outbox=knobs.outbox, idempotent=knobs.idempotent,
                          workers=knobs.workers.get(step.service), work_time=knobs.work_time)
    p_fail = knobs.failure.get(step.service, 0.0)
    attempts = knobs.retries + 1

    @service.on(hand_off_event(flow), publishes=(step.done, step.failed))
    def react(event, ctx):
        # Local retries: nobody in this domain retries for it.
        ok = p_fail == 0.0 or any(ctx.random.random() >= p_fail for _ in range(attempts))
        if not ok:
            ctx.publish(step.failed, dict(event.payload, reason=f"{step.effect} failed {attempts} times"))
            return
        ctx.effect(step.effect)
        ctx.publish(step.done, dict(event.payload))

    return service


def _listener(flow: BusinessFlow, name: str, knobs: Knobs) -> Participant:
    listener = Participant(name, outbox=knobs.outbox, idempotent=knobs.idempotent,
                           workers=knobs.workers.get(name), work_time=knobs.work_time)
    last = flow.steps[-1]

    def hear(event, ctx):
        ctx.effect(f"{name}_heard", outcome=event.type)

    listener.on(last.done, hear)
    listener.on(last.failed, hear)
    return listener
