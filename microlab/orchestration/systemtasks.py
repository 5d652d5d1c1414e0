"""How the orchestrator runs its own tasks: every type except SIMPLE and HTTP.

Part of the :class:`~microlab.orchestration.decider.Decider` (it uses the Decider's
working set: ``state``, ``now``, ``todo``, ``actions``). Each
``_begin_<TYPE>`` method starts one attempt of a system task inside the current
decision: SWITCH and DECISION pick a case, FORK_JOIN starts its branches and its JOIN,
JOIN waits for the tasks it names, DO_WHILE starts its first iteration, SUB_WORKFLOW
starts a child instance in the same business transaction, TERMINATE ends the workflow,
WAIT waits until its ``due`` time (a deadline, see :mod:`.deadlines`) or for ``CompleteTask``, SET_VARIABLE writes workflow
variables, and INLINE, LAMBDA and JSON_JQ_TRANSFORM compute an output with the
orchestrator's JavaScript engine or jq (:mod:`~microlab.orchestration.tasks`). EVENT
publishes to a broker topic (:mod:`~microlab.orchestration.sinks`) through a
:class:`~microlab.orchestration.actions.Publish` that the shell carries out.
"""

from __future__ import annotations

from . import model as m
from . import sinks
from .actions import Publish
from . import tasks as system_tasks
from .expressions import ExpressionError, JavaScript, Jq
from .model import COMPLETED, FAILED, IN_PROGRESS
from .state import Run


class SystemTasks:
    """The orchestrator's own task types (a part of the Decider)."""

    def _begin_SWITCH(self, run: Run) -> None:
        step = run.step
        try:
            case = system_tasks.switch_case(step.task, run.input, self.js)
        except ExpressionError as exc:
            self._fail_run(run, FAILED, str(exc))
            return
        # Conductor's SWITCH also names the case it evaluated (selectedCase); DECISION does not.
        output = {"evaluationResult": [case], "selectedCase": case} if step.type == m.SWITCH \
            else {"caseOutput": [case]}
        self._finish(run, COMPLETED, output, None)
        # As Conductor's SwitchTaskMapper and DecisionTaskMapper: a case with no tasks
        # (or none matching) takes the default case.
        first = step.cases.get(case) or step.default
        if first is not None:
            # Scheduled next, before anything queued after the SWITCH: Conductor maps a
            # case's first task together with its SWITCH (so inside a FORK it comes
            # before the JOIN, which decides whose output a workflow without
            # outputParameters ends with).
            self.todo.appendleft((run.inst, first, run.iteration, 1, first.start_delay))
        else:
            if run.inst.joins:
                self._check_joins(run.inst)  # the SWITCH may be what a JOIN waits for
            self._after(run.inst, step, run.iteration)

    _begin_DECISION = _begin_SWITCH

    def _begin_FORK_JOIN(self, run: Run) -> None:
        self._finish(run, COMPLETED, {}, None)
        # The branches' first tasks, then the JOIN, go next, before anything queued
        # already: Conductor maps a FORK with all of them at once, depth first (a fork
        # nested in a branch brings its branches and JOIN before the outer JOIN).
        join = run.step.next
        queued = [(run.inst, first, run.iteration, 1, first.start_delay) for first in run.step.branches]
        queued.append((run.inst, join, run.iteration, 1, join.start_delay))
        self.todo.extendleft(reversed(queued))

    def _begin_JOIN(self, run: Run) -> None:
        self._commit(("dispatch", self.now, run.task_id, None, None))
        self._record_task(run, IN_PROGRESS, None)
        self._check_joins(run.inst)

    def _begin_DO_WHILE(self, run: Run) -> None:
        self._commit(("dispatch", self.now, run.task_id, None, None))
        self._record_task(run, IN_PROGRESS, None)
        self._commit(("loop", self.now, run.task_id, {"iteration": 1}))
        body = run.step.body
        self.todo.append((run.inst, body, 1, 1, body.start_delay))

    def _begin_SUB_WORKFLOW(self, run: Run) -> None:
        step = run.step
        name = step.sub_name.resolve(run.inst, run.task_id)
        plan = self.definitions.find(name, step.sub_version) if isinstance(name, str) else None
        if plan is None:
            given = step.task.sub_workflow_param.name
            named = f"{name!r}" if given == name else f"{given!r} (which resolved to {name!r})"
            version = f" version {step.sub_version}" if step.sub_version is not None else ""
            self._fail_run(run, FAILED, f"sub-workflow {named}{version} is not registered; registered: "
                                        f"{', '.join(self.definitions.names())}")
            return
        fault = self._nesting_fault(run.inst, plan.name)
        if fault is not None:
            self._fail_run(run, FAILED, f"sub-workflow not started: {fault}")
            return
        self._commit(("dispatch", self.now, run.task_id, None, None))
        self._record_task(run, IN_PROGRESS, None)
        inp = run.input if isinstance(run.input, dict) else {}
        self._start_instance(plan, dict(inp), run.inst.correlation, parent=run)

    def _begin_TERMINATE(self, run: Run) -> None:
        inp = run.input
        status = inp.get("terminationStatus")
        if status not in m.TERMINATION_STATUSES:
            self._fail_run(run, FAILED, f"terminationStatus must be one of {', '.join(m.TERMINATION_STATUSES)}, "
                                        f"got {status!r}")
            return
        given = inp.get("workflowOutput")
        self._finish(run, COMPLETED, {"output": given}, None)
        inst = run.inst
        output = None
        if given is not None:
            output = given if isinstance(given, dict) else {"output": given}
        reason = inp.get("terminationReason") or f"terminated by task {run.full_ref} with status {status}"
        self._end(inst, status, None if status == COMPLETED else reason, output=output, failed_run=run)

    def _begin_WAIT(self, run: Run) -> None:
        duration = run.input.get("duration")
        now = self.now
        due = None
        if duration is not None:
            try:
                due = now + system_tasks.parse_duration(duration)
            except ValueError as exc:
                self._fail_run(run, FAILED, str(exc))
                return
        self._commit(("dispatch", now, run.task_id, None, due))
        self._record_task(run, IN_PROGRESS, None)
        if due is not None:
            self.touched[run.inst] = None  # the decider completes it when its deadline comes

    def _begin_EVENT(self, run: Run) -> None:
        """Publish the task's input, with the workflow's metadata, to its sink (Conductor's Event task).

        The output is the input plus ``workflowInstanceId``, ``workflowType``,
        ``workflowVersion``, ``correlationId``, ``taskToDomain`` and ``event_produced`` (the
        expanded sink); the message published is that output. Without ``asyncComplete`` the
        task is COMPLETED once published; with it, it stays IN_PROGRESS until a
        ``CompleteTask`` (or an event handler's complete_task / fail_task) ends it.
        """
        inst = run.inst
        inp = run.input if isinstance(run.input, dict) else {}
        output = {**inp, "workflowInstanceId": inst.id, "workflowType": inst.name,
                  "workflowVersion": inst.version, "correlationId": inst.correlation, "taskToDomain": {}}
        self._commit(("dispatch", self.now, run.task_id, None, None))
        self._commit(("output", self.now, run.task_id, output))
        try:
            queue = sinks.expand_sink(inp.get("sink"), inst.name, run.ref)
        except sinks.SinkError as exc:
            self._fail_run(run, FAILED, str(exc), output)
            return
        output["event_produced"] = queue
        try:
            topic = sinks.broker_topic(queue)
        except sinks.SinkError as exc:
            self._fail_run(run, FAILED, f"Error loading queue:{queue}, for task:{run.task_id}, error: {exc}", output)
            return
        publisher = self.context.publisher
        broker, why = publisher(topic) if publisher is not None else ("broker", None)
        if broker is None:
            self._fail_run(run, FAILED, f"cannot publish to {queue}: {why}", output)
            return
        self._record_task(run, IN_PROGRESS, None, sink=queue)
        self.actions.append(Publish(run, queue, topic, sinks.event_type(queue), dict(output), broker))
        if inp.get("asyncComplete") is True:
            self.touched[run.inst] = None
            return
        self._finish(run, COMPLETED, output, None)
        self._advance(run)

    def _begin_SET_VARIABLE(self, run: Run) -> None:
        values = dict(run.input) if isinstance(run.input, dict) else {}
        self._commit(("vars", self.now, run.inst.id, values))
        self._finish(run, COMPLETED, {}, None)
        self._advance(run)

    def _begin_INLINE(self, run: Run) -> None:
        self._compute(run, system_tasks.inline, self.js)

    def _begin_LAMBDA(self, run: Run) -> None:
        self._compute(run, system_tasks.lambda_, self.js)

    def _begin_JSON_JQ_TRANSFORM(self, run: Run) -> None:
        self._compute(run, system_tasks.jq_transform, self.jq)

    def _compute(self, run: Run, fn, engine) -> None:
        try:
            output = fn(run.input, engine)
        except ExpressionError as exc:
            self._fail_run(run, FAILED, str(exc), output={"error": str(exc)})
            return
        self._finish(run, COMPLETED, output, None)
        self._advance(run)

    @property
    def js(self) -> JavaScript:
        """This orchestrator's JavaScript engine (the sandbox's V8, started on first use)."""
        if self._js is None:
            self._js = JavaScript(self.context.js_timeout)
        return self._js

    @property
    def jq(self) -> Jq:
        """This orchestrator's jq queries (the sandbox's jq, with the JavaScript time limit)."""
        if self._jq is None:
            self._jq = Jq(self.context.js_timeout)
        return self._jq
