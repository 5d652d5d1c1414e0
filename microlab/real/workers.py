"""Toy workers as real Conductor workers: threads that poll the server for tasks.

A real Conductor worker is not sent its work: it asks for it. Each
:class:`PollingWorkers` thread polls one task type (``GET /api/tasks/poll/batch/{type}``,
a long poll of up to 200 ms), does each task it gets, and reports the result
(``POST /api/tasks``). What a toy task does is a :class:`ToyPlan`, the same options as a
simulated toy run (see :mod:`microlab.orchestration.toyrun`): the output each task
reference returns, and how many of its first attempts fail. Plans are kept per
correlation id (Conductor passes a workflow's correlation id on to its sub-workflows and
its failure workflow), so many runs can share one set of pollers.

microlab calls the REST task API itself rather than the ``conductor-python`` SDK: the
SDK's ``TaskHandler`` runs every worker in a process of its own, which a notebook kernel
would have to fork and then clean up, and per-attempt failure plans would have to cross
process boundaries. Two endpoints in threads do the same job in-process.

A task function that raises something other than :class:`~microlab.orchestration.workers.TaskFailed`
is a crashed worker: the task is reported FAILED with the error as its reason (so
Conductor retries it, as it would after a real crash) and the crash is kept in
:attr:`PollingWorkers.crashes` for the run to report.
"""

from __future__ import annotations

import re
import threading
import traceback
from dataclasses import dataclass, field

from ..orchestration.workers import TaskFailed
from .client import ConductorAPI, ConductorError, ConductorUnreachable

#: The worker id the pollers report (Conductor shows it as each task's ``workerId``).
WORKER_ID = "microlab-toy-worker"

_ITERATION = re.compile(r"__\d+$")


@dataclass
class ToyPlan:
    """What toy workers do for one run: ``outputs`` by task reference (or name), and
    ``fails``: reference (or name) -> how many first attempts fail (None: every one).
    ``functions``: task name -> ``fn(input) -> output`` for workers written in Python."""

    outputs: dict = field(default_factory=dict)
    fails: dict = field(default_factory=dict)
    functions: dict = field(default_factory=dict)


def base_ref(task: dict) -> str:
    """The task's reference name without the ``__N`` that a DO_WHILE iteration adds."""
    ref = task.get("referenceTaskName", "")
    return _ITERATION.sub("", ref) if task.get("iteration") else ref


def do_task(task: dict, plan: ToyPlan) -> tuple[str, dict, str | None]:
    """The result of one polled task under ``plan``: (status, output, reason).

    Mirrors :class:`~microlab.orchestration.workers.ToyWorker`: a planned failure for the
    reference (or name) while ``retryCount`` is below its count, else the planned output
    (or ``{}``). A plan function raising :class:`TaskFailed` fails the task (terminally
    if it says so); any other exception propagates (a crashed worker).
    """
    ref, name = base_ref(task), task.get("taskDefName") or task.get("taskType")
    attempt = int(task.get("retryCount") or 0) + 1
    for key in dict.fromkeys((ref, name)):
        if key in plan.fails:
            times = plan.fails[key]
            if times is None or attempt <= times:
                return "FAILED", {}, f"{key} failed (injected by {name}.fail)"
    fn = plan.functions.get(name)
    if fn is not None:
        try:
            output = fn(dict(task.get("inputData") or {}))
        except TaskFailed as failure:
            status = "FAILED_WITH_TERMINAL_ERROR" if failure.terminal else "FAILED"
            return status, failure.output or {}, failure.reason
        return "COMPLETED", dict(output or {}), None
    for key in (ref, name):
        if key in plan.outputs:
            return "COMPLETED", dict(plan.outputs[key]), None
    return "COMPLETED", {}, None


class PollingWorkers:
    """Poller threads, one per task type, doing tasks by the plan of their correlation id.

    Lifecycle: :meth:`plan` a correlation, :meth:`serve` the task types it needs (a
    thread starts per new type), and :meth:`stop` when done (threads end within one poll).
    A task whose correlation has no plan gets the ``default`` plan.
    """

    def __init__(self, api: ConductorAPI, default: ToyPlan | None = None, *, wait_ms: int = 200):
        self.api = api
        self.default = default or ToyPlan()
        self.wait_ms = wait_ms
        self.plans: dict = {}
        #: ``(task reference, workflow id, error text)`` for every crashed task function.
        self.crashes: list = []
        #: Errors talking to the server (e.g. it died); the run reports the first.
        self.errors: list = []
        self._threads: dict = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def plan(self, correlation: str, plan: ToyPlan) -> None:
        """Use ``plan`` for the tasks of every workflow with ``correlation``."""
        self.plans[correlation] = plan

    def serve(self, task_types) -> None:
        """Poll these task types too (each at most one thread)."""
        with self._lock:
            for task_type in task_types:
                if task_type not in self._threads and not self._stop.is_set():
                    thread = threading.Thread(target=self._poll, args=(task_type,), daemon=True,
                                              name=f"microlab-poller-{task_type}")
                    self._threads[task_type] = thread
                    thread.start()

    def _poll(self, task_type: str) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                tasks = self.api.poll(task_type, WORKER_ID, count=20, wait_ms=self.wait_ms)
                for task in tasks:
                    self._do(task)
                failures = 0
            except ConductorUnreachable as exc:
                failures += 1
                if failures >= 3:   # the server is gone: stop polling, let the run say so
                    self.errors.append(exc)
                    return
                self._stop.wait(0.5)
            except ConductorError as exc:   # one refused update: keep serving the others
                self.errors.append(exc)

    def _do(self, task: dict) -> None:
        plan = self.plans.get(task.get("correlationId"), self.default)
        try:
            status, output, reason = do_task(task, plan)
        except Exception as exc:  # a crashed task function: report it as a failed attempt
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.crashes.append((task.get("referenceTaskName"), task.get("workflowInstanceId"), text))
            status, output, reason = "FAILED", {}, f"worker crashed: {text}"
        self.api.update_task(task, status, output, WORKER_ID, reason)

    def stop(self) -> None:
        """Stop every poller and wait for them (at most one poll each)."""
        self._stop.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=self.api.timeout + 2)

    def __enter__(self) -> "PollingWorkers":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
