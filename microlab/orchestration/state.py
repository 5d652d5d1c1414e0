"""Workflow instances and task attempts, changed only by state-change records.

Every change to an orchestrator's state is a record (a plain tuple) applied by
:meth:`State.apply`. The orchestrator appends each record to its
:class:`~microlab.orchestration.log.DurableLog` as it applies it; after a crash, a
standby (or the restarted orchestrator) builds the very same state by applying the
log's records in order (:meth:`State.replay`). Records, first field the operation:

==============================================================================  =========================
``("start", t, wf_id, plan, correlation, input, parent_id, parent_task, failure_of, starter, key)``  instance RUNNING
``("schedule", t, wf_id, task_id, ref, attempt, iteration, input, due)``       task SCHEDULED
``("queue", t, task_id)``                                                      task in its task queue
``("dispatch", t, task_id, service, due)``                                     task IN_PROGRESS
``("finish", t, task_id, status, output, reason)``                             task ends (or changes end status)
``("loop", t, task_id, output)``                                               a DO_WHILE starts an iteration
``("vars", t, wf_id, values)``                                                 SET_VARIABLE
``("at_end", t, wf_id)``                                                       the last top-level task is done
``("end", t, wf_id, status, output, reason)``                                  instance ends
==============================================================================  =========================

Timers are not state: the decider recomputes every deadline from the times recorded
here (see :mod:`~microlab.orchestration.deadlines`).
"""

from __future__ import annotations

from .model import IN_PROGRESS, JOIN, RUNNING, SCHEDULED, TASK_TERMINAL


class Run:
    """One attempt of one task in one workflow instance (Conductor's Task)."""

    __slots__ = ("task_id", "inst", "step", "ref", "full_ref", "attempt", "iteration", "seq",
                 "status", "input", "output", "reason", "scheduled", "start", "sent", "end",
                 "due", "service", "dispatches", "sub_id", "queued", "alerted", "read_timeout", "bad_reply")

    def __init__(self, task_id, inst, step, attempt, iteration, seq, inp, scheduled, due):
        self.task_id = task_id
        self.inst = inst
        self.step = step
        self.ref = step.ref
        self.full_ref = f"{step.ref}__{iteration}" if iteration else step.ref
        self.attempt = attempt
        self.iteration = iteration
        self.seq = seq
        self.status = SCHEDULED
        self.input = inp
        self.output = {}
        self.reason = None
        self.scheduled = scheduled
        self.start = None
        self.sent = None
        self.end = None
        self.due = due
        self.service = None
        self.dispatches = 0
        self.sub_id = None
        #: In a task queue, waiting for a polling worker (dispatch="poll").
        self.queued = False
        #: Not state: a timeout with policy ALERT_ONLY was recorded (it alerts once).
        self.alerted = False
        #: Not state: an HTTP task's read timeout, set when its request goes out.
        self.read_timeout = None
        #: Why the last reply that seems to answer this attempt could not be used (or None).
        self.bad_reply = None

    def to_conductor(self) -> dict:
        """This attempt as in a Conductor workflow execution's ``tasks`` list."""
        return {
            "taskId": self.task_id,
            "referenceTaskName": self.full_ref,
            "taskDefName": self.step.name,
            "taskType": self.step.type,
            "status": self.status,
            "retryCount": self.attempt - 1,
            "seq": self.seq,
            "iteration": self.iteration or 0,
            "scheduledTime": self.scheduled,
            "startTime": self.start,
            "endTime": self.end,
            "inputData": self.input,
            "outputData": self.output,
            "reasonForIncompletion": self.reason,
            "workflowInstanceId": self.inst.id,
            "workerId": self.service,
            "subWorkflowId": self.sub_id,
        }

    def __repr__(self) -> str:
        return f"<Run {self.task_id} {self.full_ref} {self.status} attempt {self.attempt}>"


class Instance:
    """One running (or finished) workflow: Conductor's Workflow execution."""

    __slots__ = ("id", "plan", "name", "version", "correlation", "input", "output", "reason",
                 "status", "variables", "created", "ended", "parent_id", "parent_task_id",
                 "failure_of", "starter", "tasks", "refs", "latest", "active", "at_end",
                 "joins", "open", "alerted", "compensation", "depth", "root")

    def __init__(self, wf_id, plan, correlation, inp, created, parent_id, parent_task_id,
                 failure_of, starter, compensation):
        self.id = wf_id
        self.plan = plan
        self.name = plan.name
        self.version = plan.version
        self.correlation = correlation
        self.input = inp
        self.output = {}
        self.reason = None
        self.status = RUNNING
        self.variables = dict(plan.definition.variables)
        self.created = created
        self.ended = None
        self.parent_id = parent_id
        self.parent_task_id = parent_task_id
        self.failure_of = failure_of
        self.starter = starter
        self.compensation = compensation
        #: How many sub-/failure-workflow links lie above this instance (0: started directly).
        self.depth = 0
        #: The id of the directly started instance this one descends from (itself if none).
        self.root = wf_id
        #: Every task attempt, in scheduling order.
        self.tasks: list[Run] = []
        #: Attempts by full reference name (``ref`` or ``ref__N`` in a loop): the latest.
        self.refs: dict = {}
        #: Attempts by reference name: the latest, whatever the iteration.
        self.latest: dict = {}
        self.active = 0
        self.at_end = False
        self.joins: list = []
        #: Attempts not yet ended, by task id, in scheduling order (what deadlines look at).
        self.open: dict = {}
        #: Not state: the workflow timeout with policy ALERT_ONLY was recorded.
        self.alerted = False

    def to_conductor(self) -> dict:
        """This instance as a Conductor workflow execution (what a failure workflow receives)."""
        return {
            "workflowId": self.id,
            "workflowName": self.name,
            "workflowType": self.name,
            "workflowVersion": self.version,
            "version": self.version,
            "correlationId": self.correlation,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "variables": self.variables,
            "reasonForIncompletion": self.reason,
            "createTime": self.created,
            "startTime": self.created,
            "endTime": self.ended,
            "parentWorkflowId": self.parent_id,
            "tasks": [run.to_conductor() for run in self.tasks],
        }

    def __repr__(self) -> str:
        return f"<Instance {self.id} {self.status} [{self.correlation}] {len(self.tasks)} tasks>"


class State:
    """Every instance and task attempt of one orchestrator, and the id counters."""

    def __init__(self):
        self._apply = {"start": self._start, "schedule": self._schedule, "dispatch": self._dispatch, "queue": self._queue,
                       "finish": self._finish, "loop": self._loop, "vars": self._vars,
                       "at_end": self._at_end, "end": self._end, "output": self._output,
                       "handled": self._handled}
        self.instances: dict[str, Instance] = {}
        self.tasks: dict[str, Run] = {}
        #: Instances started per workflow name (ids are ``name-N``).
        self.counters: dict[str, int] = {}
        #: Instance ids per correlation id, in start order.
        self.by_correlation: dict = {}
        #: Instance id per (workflow name, idempotency key) of a StartWorkflow request.
        self.by_key: dict = {}
        #: How many instances are RUNNING.
        self.live = 0
        #: Instances per root instance id (see ``Instance.root``): what Limits.max_tree bounds.
        self.tree_sizes: dict = {}
        #: Event-handler actions already carried out, as ``(message id, handler, action index)``
        #: (Conductor's event executions): a redelivered event does not act twice.
        self.handled: set = set()

    @classmethod
    def replay(cls, records) -> "State":
        """The state that applying ``records`` in order gives."""
        state = cls()
        apply = state.apply
        for record in records:
            apply(record)
        return state

    def apply(self, rec: tuple):
        """Apply one state-change record; returns the instance or attempt it concerns."""
        return self._apply[rec[0]](rec)

    def next_id(self, name: str) -> str:
        """The id the next instance of workflow ``name`` will get."""
        return f"{name}-{self.counters.get(name, 0) + 1}"

    # -- one method per record ------------------------------------------------------------

    def _start(self, rec):
        _, t, wf_id, plan, correlation, inp, parent_id, parent_task, failure_of, starter, key = rec
        parent = self.instances.get(parent_id) if parent_id else None
        compensation = failure_of is not None or (parent is not None and parent.compensation)
        inst = Instance(wf_id, plan, correlation, inp, t, parent_id, parent_task, failure_of,
                        starter, compensation)
        above = parent if parent is not None else (self.instances.get(failure_of) if failure_of else None)
        if above is not None:
            inst.depth = above.depth + 1
            inst.root = above.root
        self.tree_sizes[inst.root] = self.tree_sizes.get(inst.root, 0) + 1
        self.instances[wf_id] = inst
        self.live += 1
        n = int(wf_id.rsplit("-", 1)[1])
        if n > self.counters.get(plan.name, 0):
            self.counters[plan.name] = n
        self.by_correlation.setdefault(correlation, []).append(wf_id)
        if key is not None:
            self.by_key[(plan.name, key)] = wf_id
        if parent_task is not None:
            self.tasks[parent_task].sub_id = wf_id
        return inst

    def _schedule(self, rec):
        _, t, wf_id, task_id, ref, attempt, iteration, inp, due = rec
        inst = self.instances[wf_id]
        run = Run(task_id, inst, inst.plan.steps[ref], attempt, iteration, len(inst.tasks) + 1, inp, t, due)
        inst.tasks.append(run)
        inst.refs[run.full_ref] = run
        inst.latest[ref] = run
        inst.active += 1
        inst.open[task_id] = run
        self.tasks[task_id] = run
        return run

    def _queue(self, rec):
        run = self.tasks[rec[2]]
        run.queued = True
        return run

    def _dispatch(self, rec):
        _, t, task_id, service, due = rec
        run = self.tasks[task_id]
        if run.status == SCHEDULED and run.step.type == JOIN:
            run.inst.joins.append(run)
        run.status = IN_PROGRESS
        run.queued = False
        if run.start is None:
            run.start = t
        run.sent = t
        run.service = service
        run.due = due
        run.dispatches += 1
        return run

    def _finish(self, rec):
        _, t, task_id, status, output, reason = rec
        run = self.tasks[task_id]
        if run.status not in TASK_TERMINAL:
            run.inst.active -= 1
            run.inst.open.pop(task_id, None)
            run.queued = False
            if run.step.type == JOIN and run in run.inst.joins:
                run.inst.joins.remove(run)
            run.end = t
        run.status = status
        if output is not None:
            run.output = output
        run.reason = reason
        return run

    def _loop(self, rec):
        _, t, task_id, output = rec
        run = self.tasks[task_id]
        run.output = output
        return run

    def _output(self, rec):
        _, t, task_id, output = rec
        run = self.tasks[task_id]
        run.output = output
        return run

    def _handled(self, rec):
        _, t, execution = rec
        self.handled.add(execution)
        return execution

    def _vars(self, rec):
        _, t, wf_id, values = rec
        inst = self.instances[wf_id]
        inst.variables.update(values)
        return inst

    def _at_end(self, rec):
        inst = self.instances[rec[2]]
        inst.at_end = True
        return inst

    def _end(self, rec):
        _, t, wf_id, status, output, reason = rec
        inst = self.instances[wf_id]
        if inst.status == RUNNING:
            self.live -= 1
        inst.status = status
        inst.output = output
        inst.reason = reason
        inst.ended = t
        return inst

    # -- queries ------------------------------------------------------------------------

    def running(self) -> list[Instance]:
        """Instances still RUNNING, in start order."""
        return [inst for inst in self.instances.values() if inst.status == RUNNING]

