"""A real Conductor execution as microlab's execution model.

:func:`to_execution` turns what ``GET /api/workflow/{id}?includeTasks=true`` returns
(with its sub-workflows and failure workflow, fetched the same way) into an
:class:`~microlab.orchestration.execution.Execution`, so ``format()``, ``to_json()``,
``viz.workflow_diagram`` and ``viz.workflow_timeline`` read a real run exactly as they
read a simulated one.

Times: Conductor stamps epoch milliseconds. They become seconds since the main
workflow's start (kept to the millisecond), the unit simulated times use, on one clock
for the main workflow, its sub-workflows and its failure workflow. A time Conductor
leaves at 0 (not started yet) becomes None.

A SIMPLE task's ``taskType`` is its task name in Conductor's JSON; the type is read from
its ``workflowTask`` instead, so it reads SIMPLE as in the simulator. A DO_WHILE
iteration's reference ``ref__N`` is split into ``ref`` and ``iteration`` N.
"""

from __future__ import annotations

from ..orchestration.execution import Execution, TaskExecution
from .workers import base_ref

#: The output key under which Conductor names the failure workflow it started.
FAILURE_KEY = "conductor.failure_workflow"


def _seconds(ms, origin) -> float | None:
    if not ms:
        return None
    return round((ms - origin) / 1000.0, 3)


def task_type(task: dict) -> str:
    """The task's type as the definition says it (SIMPLE, HTTP, FORK_JOIN, ...)."""
    declared = (task.get("workflowTask") or {}).get("type")
    return declared or task.get("taskType", "SIMPLE")


def to_task(task: dict, origin: int) -> TaskExecution:
    """One task attempt of Conductor's JSON as a :class:`TaskExecution`."""
    # Conductor counts a DO_WHILE's own iterations on the loop task too; only the tasks
    # inside the loop carry it in their name (ref__N), as microlab's iterations do.
    ref = task.get("referenceTaskName", "")
    iteration = (task.get("iteration") or None) if ref != base_ref(task) else None
    return TaskExecution(
        task_id=task["taskId"], workflow_id=task["workflowInstanceId"], ref=base_ref(task),
        name=task.get("taskDefName") or task.get("taskType"), type=task_type(task),
        status=task["status"], attempt=int(task.get("retryCount") or 0) + 1, iteration=iteration,
        scheduled=_seconds(task.get("scheduledTime"), origin), start=_seconds(task.get("startTime"), origin),
        end=_seconds(task.get("endTime"), origin), input=task.get("inputData"), output=task.get("outputData"),
        reason=task.get("reasonForIncompletion"), service=task.get("workerId"))


def to_execution(workflow: dict, fetch=None, origin: int | None = None, *, parent_task: str | None = None,
                 failure_of: str | None = None) -> Execution:
    """The execution of Conductor workflow JSON ``workflow``.

    ``fetch(workflow_id) -> dict`` reads another workflow (sub-workflows, the failure
    workflow); without it they are left out. ``origin``: epoch ms that is time 0
    (default: this workflow's start).
    """
    origin = workflow.get("startTime") or workflow.get("createTime") or 0 if origin is None else origin
    tasks = sorted(workflow.get("tasks") or [], key=lambda t: (t.get("seq", 0), t.get("scheduledTime", 0)))
    ex = Execution(
        workflow_id=workflow["workflowId"], name=workflow.get("workflowName") or workflow.get("workflowType"),
        version=workflow.get("workflowVersion") or workflow.get("version") or 1,
        correlation=workflow.get("correlationId"), status=workflow["status"], input=workflow.get("input"),
        output=workflow.get("output"), reason=workflow.get("reasonForIncompletion"),
        start=_seconds(workflow.get("startTime") or workflow.get("createTime"), origin),
        end=_seconds(workflow.get("endTime"), origin), parent=workflow.get("parentWorkflowId"),
        parent_task=parent_task or workflow.get("parentWorkflowTaskId"), failure_of=failure_of,
        tasks=[to_task(t, origin) for t in tasks])
    if ex.start is None:
        ex.start = 0.0
    if fetch is None:
        return ex
    for task in tasks:
        sub_id = task.get("subWorkflowId") or (task.get("outputData") or {}).get("subWorkflowId")
        if task_type(task) == "SUB_WORKFLOW" and sub_id:
            ex.sub_workflows.append(to_execution(fetch(sub_id), fetch, origin, parent_task=task["taskId"]))
    failure_id = (workflow.get("output") or {}).get(FAILURE_KEY)
    if failure_id:
        ex.failure_workflow = to_execution(fetch(failure_id), fetch, origin, failure_of=ex.workflow_id)
    return ex


def to_trace(ex: Execution):
    """A :class:`~microlab.trace.Trace` holding the ``workflow`` and ``task`` records the
    simulator's orchestrator would have written for ``ex`` (and its sub- and failure
    workflows), so that ``execution(trace, correlation)`` and every figure that reads a
    trace (``viz.workflow_timeline(trace, correlation)``) take a real run as they take a
    simulated one. Tasks of a failure workflow are marked as compensation, as there."""
    from ..orchestration import records as rec
    from ..trace import Trace

    rows: list = []

    def add(time, order, detail):
        rows.append((time if time is not None else 0.0, order, len(rows), detail))

    def visit(e: Execution, compensation: bool) -> None:
        base = {"correlation": e.correlation, "workflow": e.name, "version": e.version, "workflow_id": e.workflow_id}
        start = {**base, "status": "RUNNING", "input": e.input}
        for key, value in (("parent", e.parent), ("parent_task", e.parent_task), ("failure_of", e.failure_of)):
            if value is not None:
                start[key] = value
        add(e.start, 0, (rec.WORKFLOW, start))
        for t in e.tasks:
            task = {"correlation": e.correlation, "task_id": t.task_id, "workflow_id": t.workflow_id, "ref": t.ref,
                    "name": t.name, "type": t.type, "attempt": t.attempt, "iteration": t.iteration}
            scheduled = t.scheduled if t.scheduled is not None else (t.start if t.start is not None else t.end)
            add(scheduled, 1, (rec.TASK, {**task, "status": "SCHEDULED", "input": t.input,
                                          "compensation": compensation}))
            if t.start is not None and (t.end is None or t.end > t.start or t.type in ("SIMPLE", "HTTP")):
                running = {**task, "status": "IN_PROGRESS"}
                if t.service:
                    running["service"] = t.service
                add(max(t.start, scheduled or 0.0), 2, (rec.TASK, running))
            if t.status not in ("SCHEDULED", "IN_PROGRESS"):
                add(t.end if t.end is not None else t.start, 3,
                    (rec.TASK, {**task, "status": t.status, "output": t.output, "reason": t.reason}))
        if e.status != "RUNNING":
            add(e.end, 4, (rec.WORKFLOW, {**base, "status": e.status, "output": e.output, "reason": e.reason}))
        for sub in e.sub_workflows:
            visit(sub, compensation)
        if e.failure_workflow is not None:
            visit(e.failure_workflow, True)

    visit(ex, False)
    trace = Trace()
    for time, _, _, (kind, detail) in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        trace.records.append((time, kind, "conductor", None, detail))
    return trace
