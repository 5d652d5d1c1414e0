"""Executions rebuilt from the trace: what ran, in what order, when, and how it ended.

The orchestrator's ``workflow`` and ``task`` trace records (see
:mod:`~microlab.orchestration.records`) are enough to rebuild every workflow
execution without asking the orchestrator: :func:`execution` returns one, with its
task attempts in scheduling order (reference name, type, status, attempt, scheduled,
start and end times, input, output, reason, service), its sub-workflows and its
failure workflow. Figures (the path taken through the definition, a Gantt chart of
task attempts) and the command line's ``--json`` read executions.

``source`` is a :class:`~microlab.system.System`, a :class:`~microlab.trace.Trace` or
a list of raw trace records.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field

from ..modules import callable_module
from . import model as m
from . import records as rec
from .progress import Progress, count, status_words


@dataclass
class TaskExecution:
    """One task attempt as the trace tells it."""

    task_id: str
    workflow_id: str
    ref: str
    name: str
    type: str
    status: str
    attempt: int
    iteration: int | None = None
    scheduled: float | None = None
    start: float | None = None
    end: float | None = None
    input: dict | None = None
    output: dict | None = None
    reason: str | None = None
    service: str | None = None
    compensation: bool = False
    #: How many times a takeover or restart sent its command again.
    resent: int = 0

    @property
    def reference_task_name(self) -> str:
        """Conductor's name for this attempt: ``ref``, or ``ref__N`` in iteration N of a loop."""
        return f"{self.ref}__{self.iteration}" if self.iteration else self.ref

    @property
    def retry_count(self) -> int:
        """Conductor's retryCount: 0 for the first attempt."""
        return self.attempt - 1

    def to_dict(self) -> dict:
        """Conductor-style fields (``referenceTaskName``, ``taskType``, ``retryCount``, ...)."""
        return {
            "taskId": self.task_id, "referenceTaskName": self.reference_task_name,
            "taskDefName": self.name, "taskType": self.type, "status": self.status,
            "retryCount": self.retry_count, "attempt": self.attempt, "iteration": self.iteration or 0,
            "scheduledTime": self.scheduled, "startTime": self.start, "endTime": self.end,
            "inputData": self.input, "outputData": self.output,
            "reasonForIncompletion": self.reason, "workerService": self.service,
            "compensation": self.compensation, "resent": self.resent,
        }


@dataclass
class Execution:
    """One workflow instance as the trace tells it, with its sub- and failure workflows."""

    workflow_id: str
    name: str
    version: int
    correlation: object
    status: str
    input: dict | None = None
    output: dict | None = None
    reason: str | None = None
    start: float | None = None
    end: float | None = None
    parent: str | None = None
    parent_task: str | None = None
    failure_of: str | None = None
    tasks: list = field(default_factory=list)
    sub_workflows: list = field(default_factory=list)
    failure_workflow: "Execution | None" = None

    def attempts(self, ref: str) -> list[TaskExecution]:
        """Every attempt of the task with reference name ``ref`` (or ``ref__N``), in order."""
        return [t for t in self.tasks if ref in (t.ref, t.reference_task_name)]

    def task(self, ref: str) -> TaskExecution:
        """The last attempt of task ``ref``."""
        found = self.attempts(ref)
        if not found:
            raise KeyError(f"{self.workflow_id} never scheduled a task {ref!r}; it scheduled: "
                           f"{', '.join(dict.fromkeys(t.reference_task_name for t in self.tasks)) or 'nothing'}")
        return found[-1]

    def refs(self, status: str | None = None) -> list[str]:
        """Reference names in scheduling order (each once), optionally only those ending ``status``."""
        last: dict = {}
        for t in self.tasks:
            last[t.reference_task_name] = t.status
        return [r for r, s in last.items() if status is None or s == status]

    @property
    def progress(self) -> Progress:
        """Completed tasks out of the path taken so far."""
        completed, taken = count((t.reference_task_name, t.status) for t in self.tasks)
        fw = self.failure_workflow
        return Progress(self.workflow_id, self.status, completed, taken,
                        compensation=fw.status if fw is not None else None)

    @property
    def outcome(self) -> str:
        """COMPLETED; COMPENSATED (failed, and its failure workflow completed); COMPENSATING;
        or the status (FAILED, TIMED_OUT, TERMINATED, RUNNING)."""
        if self.status in (m.FAILED, m.TIMED_OUT) and self.failure_workflow is not None:
            fw = self.failure_workflow.status
            if fw == m.COMPLETED:
                return "COMPENSATED"
            if fw == m.RUNNING:
                return "COMPENSATING"
        return self.status

    @property
    def status_words(self) -> str:
        """Conductor's status and what the failure workflow did, in the words the progress
        line and the diagram's title share: ``"FAILED, compensation ran"``."""
        fw = self.failure_workflow
        return status_words(self.status, fw.status if fw is not None else None)

    def walk(self):
        """This execution, then its sub-workflows and failure workflow (depth first)."""
        yield self
        for sub in self.sub_workflows:
            yield from sub.walk()
        if self.failure_workflow is not None:
            yield from self.failure_workflow.walk()

    def waiting(self) -> list[str]:
        """Why a RUNNING execution is not done: one line per task still waiting."""
        lines = []
        done = {t.reference_task_name: t.status for t in self.tasks}
        for t in self.tasks:
            if t.status in m.TASK_TERMINAL or done.get(t.reference_task_name) != t.status:
                continue
            if t.type == m.JOIN:
                suffix = f"__{t.iteration}" if t.iteration else ""
                waits = []
                for r in (t.input or {}).get("joinOn", []):
                    status = done.get(r + suffix)
                    if status is None:
                        waits.append(f"{r} (never scheduled)")
                    elif status not in m.TASK_TERMINAL:
                        waits.append(f"{r} ({status})")
                lines.append(f"JOIN {t.ref} waits for {', '.join(waits) or 'nothing'}")
            else:
                lines.append(f"{t.type} {t.reference_task_name} is {t.status}")
        return lines

    def to_dict(self) -> dict:
        """Conductor-style execution JSON, with ``subWorkflows`` and ``failureWorkflow`` nested."""
        return {
            "workflowId": self.workflow_id, "workflowName": self.name, "version": self.version,
            "correlationId": self.correlation, "status": self.status, "outcome": self.outcome,
            "input": self.input, "output": self.output, "reasonForIncompletion": self.reason,
            "startTime": self.start, "endTime": self.end, "parentWorkflowId": self.parent,
            "tasks": [t.to_dict() for t in self.tasks],
            "subWorkflows": [s.to_dict() for s in self.sub_workflows],
            "failureWorkflow": self.failure_workflow.to_dict() if self.failure_workflow else None,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=repr)

    def format(self, indent: str = "") -> str:
        """A readable table of the task attempts, then the status and output."""
        role = " (failure workflow)" if self.failure_of else (" (sub-workflow)" if self.parent else "")
        lines = [_wrapped(indent, f"workflow {self.name} v{self.version}{role}: {self.workflow_id}, "
                                  f"correlation {self.correlation}")]
        # Columns as wide as their longest entry, so that the table fits a notebook's output
        # (fixed widths for the longest type and status pushed every row past 100 columns).
        width = max([len(t.reference_task_name) for t in self.tasks] + [4])
        kind = max([len(t.type) for t in self.tasks] + [4])
        state = max([len(t.status) for t in self.tasks] + [6])
        lines.append(f"{indent}  {'seq':>3}  {'task':<{width}}  {'type':<{kind}} {'status':<{state}} attempt"
                     f"  {'scheduled':>9}  {'start':>9}  {'end':>9}")
        for i, t in enumerate(self.tasks, 1):
            lines.append(f"{indent}  {i:>3}  {t.reference_task_name:<{width}}  {t.type:<{kind}} {t.status:<{state}} "
                         f"{t.attempt:>7}  {_t(t.scheduled)}  {_t(t.start)}  {_t(t.end)}"
                         + (f"  ({t.reason})" if t.reason and t.status not in m.TASK_SUCCESSFUL else ""))
        lines.append(_wrapped(indent + "  ", f"status: {self.status}"
                              + (f" at t={self.end:.3f}" if self.end is not None else "")
                              + (f" ({self.reason})" if self.reason else "")))
        if self.status == m.RUNNING:
            for line in self.waiting():
                lines.append(_wrapped(indent + "  ", f"still waiting: {line}"))
        lines.append(_wrapped(indent + "  ", f"output: {json.dumps(self.output, sort_keys=True, default=repr)}"))
        for sub in self.sub_workflows:
            lines.append(sub.format(indent + "    "))
        if self.failure_workflow is not None:
            lines.append(self.failure_workflow.format(indent + "    "))
        return "\n".join(lines)


#: The width a line of :meth:`Execution.format` wraps at: a notebook's output wraps longer
#: lines wherever the window ends, mid-word ("shi / p failed").
WIDTH = 100


def _wrapped(indent: str, text: str) -> str:
    # Continuation lines indented two more, so they read as part of the line above; a
    # word (a long JSON token) is never cut.
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_long_words=False, break_on_hyphens=False)


def _t(value) -> str:
    return f"{value:9.3f}" if value is not None else f"{'-':>9}"


_KINDS = (rec.TASK, rec.WORKFLOW)


def build(source, correlation=None) -> dict[str, Execution]:
    """Every execution in the trace (or of one correlation), by workflow id, linked up."""
    # Imported here: the analysis package pulls numpy, which the engine must not need to import.
    from ..analysis.transactions import transaction_records
    by_id: dict[str, Execution] = {}
    tasks: dict[str, TaskExecution] = {}
    for time, kind, service, msg, detail in transaction_records(source, correlation, _KINDS):
        if kind == rec.WORKFLOW:
            status = detail["status"]
            ex = by_id.get(detail["workflow_id"])
            if ex is None:
                ex = Execution(detail["workflow_id"], detail["workflow"], detail.get("version", 1),
                               detail.get("correlation"), status, input=detail.get("input"), start=time,
                               parent=detail.get("parent"), parent_task=detail.get("parent_task"),
                               failure_of=detail.get("failure_of"))
                by_id[ex.workflow_id] = ex
            else:
                ex.status = status
                ex.output = detail.get("output")
                ex.reason = detail.get("reason")
                ex.end = time
            continue
        status = detail["status"]
        tid = detail["task_id"]
        task = tasks.get(tid)
        if task is None:
            task = TaskExecution(tid, detail["workflow_id"], detail["ref"], detail["name"], detail["type"],
                                 status, detail["attempt"], detail.get("iteration"), scheduled=time,
                                 input=detail.get("input"), compensation=detail.get("compensation", False))
            tasks[tid] = task
            owner = by_id.get(task.workflow_id)
            if owner is not None:
                owner.tasks.append(task)
            continue
        task.status = status
        if status in m.TASK_TERMINAL and task.start is None and status != m.CANCELED \
                and task.type not in m.WORKER_TYPES:
            task.start = time  # a system task that ran inside one decision: a zero-length bar
        if status == m.IN_PROGRESS:
            if task.start is None:
                task.start = time
            if detail.get("resent"):
                task.resent += 1
            if "service" in detail:
                task.service = detail["service"]
        elif status in m.TASK_TERMINAL:
            if task.end is None:
                task.end = time
            if "output" in detail:
                task.output = detail["output"]
            if "reason" in detail:
                task.reason = detail["reason"]
    for ex in by_id.values():
        if ex.parent is not None and ex.parent in by_id:
            by_id[ex.parent].sub_workflows.append(ex)
        if ex.failure_of is not None and ex.failure_of in by_id:
            by_id[ex.failure_of].failure_workflow = ex
    return by_id


def execution(source, key) -> Execution:
    """The execution of workflow id ``key``, or the main execution of correlation ``key``.

    The main execution of a business transaction is the first instance started with
    that correlation that is neither a sub-workflow nor a failure workflow.
    """
    # Most keys are correlation ids: build only that transaction's executions first.
    for ex in build(source, correlation=key).values():
        if ex.parent is None and ex.failure_of is None:
            return ex
    found = build(source)
    if key in found:
        return found[key]
    raise KeyError(f"the trace has no workflow with id or correlation {key!r}; it has "
                   f"{len(found)} workflow execution{'s' if len(found) != 1 else ''}")


def executions(source) -> list[Execution]:
    """The main execution of every business transaction in the trace, in start order."""
    return [ex for ex in build(source).values() if ex.parent is None and ex.failure_of is None]


# `from microlab.orchestration import execution` gives this module, which calls execution(): see microlab.modules.
callable_module(__name__, execution)
