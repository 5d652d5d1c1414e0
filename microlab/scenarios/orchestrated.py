"""A business flow as an orchestrated saga: one workflow, task workers, an orchestrator.

From a :class:`~microlab.flows.BusinessFlow`:

- the **owner** takes the client's request and asks the orchestrator to start the
  flow's workflow (``StartWorkflow``) for that transaction;
- the **workflow** (built with :func:`~microlab.orchestration.saga`) runs the steps in
  order as SIMPLE tasks named after their effects (``reserve``, ``charge``...), then
  one task per listener; its failure workflow undoes the completed steps, most recent
  first (with compensation off, it undoes nothing);
- the **listeners** (the notification service) hear the outcome in one of two ways,
  the knob ``notification``: ``"blocking"``, a last SIMPLE task the workflow waits
  for; or ``"fire-and-forget"``, no task at all: the orchestrator tells the owner that
  the workflow ended (``WorkflowEnded``, as a Conductor workflow status listener
  publishes it) and the owner tells each listener, while nobody waits;
- each **step service** is a :class:`~microlab.orchestration.Worker` that applies its
  effect (and its compensation) and fails an attempt with the knob's probability;
- the **orchestrator** is Conductor-style: its step and listener tasks are SIMPLE tasks
  served by polling workers, so by default (knob ``dispatch="poll"``) each task waits
  in its type's queue until its worker polls for it, as Conductor's workers do;
  ``dispatch="push"`` makes it send each task as a command instead, as other
  orchestrators do. It owns the transaction: it retries, times out, compensates, and
  records the conclusion (``complete`` or ``reject``); with the knob
  ``conclusion="owner"`` the owner records it instead, when the orchestrator tells it
  that the workflow ended (as the owner concludes under choreography).

The services know nothing of each other: all the flow's knowledge is in the workflow.
"""

from __future__ import annotations

from ..flows import BusinessFlow, FlowStep
from ..orchestration import Orchestrator, TaskFailed, Worker, saga
from ..orchestration.orchestrator import WORKFLOW_ENDED, WORKFLOW_STARTED
from ..trace import END, START
from ..services import Service
from .knobs import Knobs
from .stock import OUT_OF_STOCK, ReadsAtStart, StockKeeper


class FlowOwner(Service):
    """Takes the client's request and starts the workflow on the active orchestrator.

    Like any client of Conductor's start API, it repeats the request (with the
    transaction as its idempotency key) until the orchestrator answers
    ``WorkflowStarted``: a request lost while the orchestrator is down is not an order lost.
    """

    role = "owner"

    def __init__(self, name: str, request: str, workflow: str, orchestrator: Orchestrator,
                 retry_after: float = 1.0, attempts: int = 10, listeners: dict | None = None,
                 concludes: bool = False, **kw):
        super().__init__(name, **kw)
        self.workflow = workflow
        self.orchestrator = orchestrator
        self.retry_after = retry_after
        self.attempts = attempts
        #: Transactions whose start the orchestrator has not acknowledged yet.
        self.unacknowledged: dict = {}
        #: Fire-and-forget notification: ``{"services": [...], "completed": type, "rejected": type}``.
        self.listeners = listeners
        #: Whether the owner, not the orchestrator, records the transaction's conclusion.
        self.concludes = concludes
        #: Transactions the owner has concluded (a repeated WorkflowEnded changes nothing).
        self.concluded: set = set()
        self.on(request, self.start_workflow)
        if listeners or concludes:
            self.on(WORKFLOW_ENDED, self.workflow_ended)

    def start_workflow(self, msg):
        """Ask whichever orchestrator is active now to run the workflow for this transaction."""
        self.unacknowledged[msg.correlation] = dict(msg.payload)
        self._ask(msg.correlation, 1)

    def _ask(self, correlation, attempt):
        payload = self.unacknowledged.get(correlation)
        if payload is None:
            return
        if attempt > self.attempts:
            # Give up asking, but do not reject: the workflow may have started and only
            # its acknowledgement was lost. The checker will call this transaction stuck.
            del self.unacknowledged[correlation]
            self.system.trace.record(self.now, "gave_up", self.name, correlation=correlation,
                                     reason=f"no WorkflowStarted after {self.attempts} requests")
            return
        self.send(self.orchestrator.active, "StartWorkflow",
                  {"name": self.workflow, "input": payload, "idempotencyKey": correlation},
                  correlation=correlation)
        self.after(self.retry_after, self._ask, correlation, attempt + 1)

    def on_WorkflowStarted(self, msg):
        """The orchestrator has the transaction: stop asking."""
        self.unacknowledged.pop(msg.correlation, None)

    def workflow_ended(self, msg):
        """The workflow ended: conclude the transaction (if the owner does), tell the listeners."""
        done = msg.payload.get("status") == "COMPLETED"
        if self.concludes and msg.correlation not in self.concluded:
            self.concluded.add(msg.correlation)
            self.effect("complete" if done else "reject", status=msg.payload.get("status"))
        kind = "completed" if done else "rejected"
        for name in (self.listeners or {}).get("services", ()):
            self.send(name, self.listeners[kind], {"workflowId": msg.payload.get("workflowId")})

    def describe(self) -> dict:
        """What the owner handles and whom it asks (for change impact)."""
        desc = {"handles": sorted(self.handlers), "starts": [self.workflow]}
        if self.listeners:
            desc["tells"] = sorted(self.listeners["services"])
        return desc


class ReceiptFreeOwner(FlowOwner):
    """A flow owner that takes the orchestrator's ``WorkflowStarted`` beside its workers.

    A real client reads the answer of Conductor's start API on the connection that sent
    the request, as choreography's outbox relay takes the broker's confirms: no worker
    and no work time (knob ``receipt_work=False``).
    """

    def _receive(self, msg):
        if msg.type == WORKFLOW_STARTED:
            trace, now = self.system.trace, self.system.sim.now
            # A start and an end all the same, so that every delivered message is seen handled.
            trace.record(now, START, self.name, msg)
            self.on_WorkflowStarted(msg)
            trace.record(now, END, self.name, msg)
            return
        super()._receive(msg)


class Listener(Service):
    """A service that only hears a transaction's outcome (fire-and-forget notification)."""

    role = "listener"

    def __init__(self, name: str, completed: str, rejected: str, **kw):
        super().__init__(name, **kw)
        self.on(completed, self._hear)
        self.on(rejected, self._hear)

    def _hear(self, msg):
        self.effect(f"{self.name}_heard", outcome=msg.type)


def workflow_for(flow: BusinessFlow, knobs: Knobs, listeners=None, version: int = 1, step_policy=None):
    """The saga (workflow and its compensation workflow) that runs ``flow``, as ``version``.

    ``step_policy`` adds task-definition keywords to some steps, by effect
    (``{"capture": {"poll_timeout": 0.3}}``)."""
    policy = dict(retries=knobs.retries, retry_logic="FIXED", retry_delay=knobs.retry_delay,
                  response_timeout=knobs.response_timeout)
    builder = saga(flow.workflow, version=version, inputs=[f"{flow.name}Id"] + [k for k, _ in flow.payload])
    for step in flow.steps:
        undo = step.compensation if knobs.compensation else None
        builder.step(step.effect, service=step.service, compensate=undo,
                     compensate_policy=dict(policy) if undo else None,
                     **dict(policy, **(step_policy or {}).get(step.effect, {})))
    if listeners is None:
        listeners = flow.listeners if knobs.notification == "blocking" else ()
    for name in listeners:
        builder.step(f"tell_{name}", service=name, **policy)
    return builder.build()


def build_orchestration(flow: BusinessFlow, knobs: Knobs) -> tuple[list, Orchestrator, object]:
    """The orchestrator, the owner and the workers of ``flow``; and the saga to register."""
    blocking = knobs.notification == "blocking"
    owner_concludes = knobs.conclusion == "owner"
    orchestrator = Orchestrator(workers=knobs.workers.get("orchestrator"),
                                work_time=knobs.orchestrator_work_time,
                                standby=knobs.standby, failover_delay=knobs.failover_delay,
                                conclusions=None if owner_concludes else ("complete", "reject"),
                                notify_starter=owner_concludes or (not blocking and bool(flow.listeners)),
                                dispatch=knobs.dispatch,
                                **({"servers": knobs.servers} if knobs.servers > 1 else {}))
    the_saga = workflow_for(flow, knobs)
    tell = None if blocking or not flow.listeners else {
        "services": list(flow.listeners), "completed": flow.completed, "rejected": flow.rejected}
    owner_class = FlowOwner if knobs.receipt_work else ReceiptFreeOwner
    owner = owner_class(flow.owner, flow.request, the_saga.name, orchestrator,
                      retry_after=knobs.response_timeout, listeners=tell, concludes=owner_concludes,
                      workers=knobs.workers.get(flow.owner), work_time=knobs.work_time)
    services = [orchestrator, owner]
    services.extend(step_worker(step, knobs, stock=i == 0) for i, step in enumerate(flow.steps))
    for name in flow.listeners:
        if not blocking:
            services.append(Listener(name, flow.completed, flow.rejected,
                                     workers=knobs.workers.get(name), work_time=knobs.work_time))
            continue
        worker = _worker(name, knobs)
        worker.task(f"tell_{name}", _effect_task(worker, f"{name}_heard"))
        services.append(worker)
    return services, orchestrator, the_saga


class StockWorker(ReadsAtStart, Worker):
    """A task worker that keeps the knob ``stock`` (see :mod:`~microlab.scenarios.stock`)."""


def step_worker(step: FlowStep, knobs: Knobs, stock: bool = False) -> Worker:
    """The task worker of one step: its effect and its compensation as tasks, failing an
    attempt with the knob's probability (the orchestrated and the hybrid patterns share it).
    ``stock``: this step keeps the knob ``stock`` (the flow's first step), if one is given."""
    keeper = StockKeeper(dict(knobs.stock), knobs.isolation) if stock and knobs.stock else None
    worker = _worker(step.service, knobs, StockWorker if keeper else Worker)
    worker.keeper = keeper
    applied: dict = {}  # the worker's database: which transactions it applied its effect to
    worker.task(step.effect, _do_task(worker, step.effect, applied))
    if step.compensation:
        worker.task(step.compensation, _undo_task(worker, step.compensation, applied))
    p = knobs.failure.get(step.service, 0.0)
    if p > 0:
        worker.fail_rate(step.effect, p, reason=f"{step.effect} failed")
    return worker


def _worker(name: str, knobs: Knobs, cls=Worker) -> Worker:
    # A service's workers, when the knob names it, are its threads per task type too.
    workers = knobs.workers.get(name)
    return cls(name, workers=workers, work_time=knobs.work_time,
                  idempotent=knobs.idempotent, polling_interval=knobs.polling_interval,
                  poll_timeout=knobs.poll_timeout,
                  thread_count=knobs.thread_count if workers is None else workers)


def _do_task(worker: Worker, effect: str, applied: dict):
    def task(input):
        corr = worker.task_call.correlation
        detail = {}
        if getattr(worker, "keeper", None) is not None:
            decision, detail = worker.keeper.reserve(worker.current, _items(input))
            if decision.refused:
                worker.effect(OUT_OF_STOCK, **detail)
                # Sold out is final; a unit held by a pending saga may come back: retry.
                raise TaskFailed(f"{detail['item']} {decision.refused}", terminal=not decision.retriable)
        applied[corr] = applied.get(corr, 0) + 1
        worker.effect(effect, **detail)
        return {f"{effect}_by": worker.name}
    task.__name__ = effect
    return task


def _undo_task(worker: Worker, compensation: str, applied: dict):
    # Undo only what was done: the saga also compensates steps that timed out, whose
    # work may or may not have happened.
    def task(input):
        corr = worker.task_call.correlation
        if applied.get(corr, 0) <= 0:
            return {"undone": False, "why": "nothing to undo"}
        applied[corr] -= 1
        keeper = getattr(worker, "keeper", None)
        worker.effect(compensation, **(keeper.release(worker.current, _items(input)) if keeper else {}))
        return {"undone": True}
    task.__name__ = compensation
    return task


def _items(input: dict) -> dict:
    # A step's task has the saga's input; its compensation has it too, and the step's own.
    return input if "item" in input else dict(input.get("stepInput") or {})


def _effect_task(worker: Worker, effect: str):
    def task(input):
        worker.effect(effect)
        return {f"{effect}_by": worker.name}
    task.__name__ = effect
    return task
