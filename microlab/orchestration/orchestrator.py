"""The orchestrator: a service that runs workflow instances, as Netflix Conductor does.

It is a :class:`~microlab.services.Service` like any other, with a mailbox, ``workers``
and a ``work_time``: every decision it takes costs it one handled message
(``StartWorkflow``, ``TaskCompleted``, ``TaskFailed``, ...), so under load it queues
and becomes the bottleneck, and it can crash.

How an instance runs
--------------------
``StartWorkflow`` creates an instance (id ``<name>-<n>``) and schedules its first task.
A SIMPLE or HTTP task becomes a command to a service, whose type is the task name; the
worker's ``TaskCompleted``/``TaskFailed`` reply is the next decision. Every other task
type runs inside the orchestrator in the same decision (SWITCH picks a case, FORK_JOIN
starts its branches, JOIN waits, DO_WHILE loops, SUB_WORKFLOW starts a child instance,
TERMINATE ends the workflow, WAIT sets a timer, SET_VARIABLE, INLINE, LAMBDA and
JSON_JQ_TRANSFORM compute an output). Timers (a retry falling due, a timeout, a WAIT
ending) act at their instant without queuing in the mailbox: they carry out decisions
already taken or forced by the clock.

Reliability
-----------
A failed or timed-out attempt is retried after the task definition's delay (FIXED,
LINEAR_BACKOFF or EXPONENTIAL_BACKOFF), as a new attempt with a new task id, until its
``retryCount`` is used up; then an ``optional`` task ends COMPLETED_WITH_ERRORS and the
workflow goes on, and any other task fails the workflow (TIMED_OUT if it timed out).
A FAILED or TIMED_OUT workflow with a ``failureWorkflow`` starts it with Conductor's
input: ``workflowId``, ``reason``, ``failureStatus``, ``failureTaskId`` and
``failedWorkflow`` (the whole execution: every task with its status and output).

Crash, log and standby
----------------------
Every state change is appended to a :class:`~microlab.orchestration.log.DurableLog`
held outside the service, so a crash loses only what was in memory and in the mailbox.
With ``standby=True`` a second orchestrator, ``<name>-standby``, shares the log; it
notices the crash after ``failover_delay`` seconds (a heartbeat timeout, modelled
without heartbeat messages), replays the log and resumes every running instance,
sending again the command of every task still in flight: workers may see a command
twice (visible in the trace: two commands with the same ``taskId``). Workers reply to
the sender of the command, so replies to the crashed orchestrator are dropped ("... is
down") and the re-sent commands' replies reach the standby. Without a standby, a crash
stalls every running instance until the orchestrator restarts, replays its own log and
resumes. Whichever orchestrator is active answers queries (``status``, ``progress``,
``instances``); ``orchestrator.start(...)`` and :attr:`Orchestrator.active` reach it.
"""

from __future__ import annotations

from collections import deque

from ..errors import MicrolabError
from ..messages import REPLY
from ..services import Service
from ..trace import EFFECT
from . import model as m
from . import records as rec
from .expressions import ExpressionError, JavaScript, Jq, truthy
from .log import DurableLog
from .model import (COMPLETED, COMPLETED_WITH_ERRORS, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS,
                    RUNNING, SCHEDULED, TASK_RETRIABLE, TASK_TERMINAL, TERMINATED, TIMED_OUT)
from .plan import BRANCH, CASE, HTTP_READ_TIMEOUT, LOOP, TOP, Plan, Step
from . import limits as limits_module
from .limits import Limits
from .progress import Progress, progress_of
from .recovery import Recovery
from .registry import Registry, as_definitions
from .routing import Router, http_request
from .state import Instance, Run, State
from .systemtasks import SystemTasks
from .timeouts import Timeouts

#: Message types the orchestrator accepts.
START_WORKFLOW = "StartWorkflow"
TERMINATE_WORKFLOW = "TerminateWorkflow"
COMPLETE_TASK = "CompleteTask"
#: Reply sent to whoever started an instance when it ends (with ``notify_starter=True``).
WORKFLOW_ENDED = "WorkflowEnded"
#: Reply to every StartWorkflow (Conductor's start API answers with the workflow id).
WORKFLOW_STARTED = "WorkflowStarted"
#: Tasks one decision may run without waiting on a service (kept here for old imports).
MAX_SYNC_STEPS = limits_module.MAX_SYNC_STEPS


class _Settings:
    """Configuration that an orchestrator and its standby share."""

    def __init__(self, task_routes, http_routes, failover_delay, notify_starter, js_timeout, conclusions,
                 limits=None):
        self.task_routes = dict(task_routes or {})
        self.http_routes = http_routes
        self.failover_delay = failover_delay
        self.notify_starter = notify_starter
        self.js_timeout = js_timeout
        self.conclusions = conclusions
        self.limits = limits if limits is not None else Limits()


class Orchestrator(SystemTasks, Timeouts, Recovery, Service):
    """A Conductor-style orchestrator service (see the module docstring).

    ``task_routes`` maps task names to services, ``http_routes`` maps the first URI
    segment of HTTP tasks to services (or is a function of the URI), ``task_defs`` gives
    task definitions (retries, timeouts) by task name (a dict, or a list of TaskDefs).
    ``standby=True`` adds a standby orchestrator that takes over ``failover_delay``
    seconds after a crash. ``notify_starter=True`` sends a ``WorkflowEnded`` reply to
    whoever started an instance when it ends. ``log`` lets several orchestrators share
    a :class:`~microlab.orchestration.log.DurableLog` (made for you otherwise).

    ``conclusions=("complete", "reject")`` makes the orchestrator, which owns each
    business transaction, record those effects when one concludes: ``complete`` when a
    main workflow completes, ``reject`` when it ended otherwise and its failure workflow
    (if it has one) has ended too. Consistency checks read them.

    ``limits`` (a :class:`~microlab.orchestration.limits.Limits`) bounds nesting, loop
    iterations, retry delays and tasks per decision, so a runaway definition fails with
    a clear reason instead of filling the notebook's memory.
    """

    service_name = "orchestrator"

    def __init__(self, name: str | None = None, *, workers: int | None = None, work_time=None,
                 task_routes: dict | None = None, http_routes=None, task_defs=None,
                 standby: bool = False, failover_delay: float = 5.0, log: DurableLog | None = None,
                 notify_starter: bool = False, js_timeout: float = 1.0, conclusions=None,
                 limits: Limits | None = None, _peer=None):
        self._standby_node = None
        super().__init__(name, workers=workers, work_time=work_time)
        if _peer is not None:
            # The standby: everything durable or configured is shared with the primary.
            self.log = _peer.log
            self.registry = _peer.registry
            self.settings = _peer.settings
        else:
            if failover_delay < 0:
                raise ValueError(f"orchestrator {self.name!r}: failover_delay must be >= 0, got {failover_delay!r}")
            self.log = log if log is not None else DurableLog()
            self.registry = Registry(_task_defs(task_defs))
            if conclusions is not None and (len(conclusions) != 2 or not all(isinstance(c, str) for c in conclusions)):
                raise ValueError(f"orchestrator {self.name!r}: conclusions is a pair of effect names such as "
                                 f"('complete', 'reject'), got {conclusions!r}")
            if limits is not None and not isinstance(limits, Limits):
                raise ValueError(f"orchestrator {self.name!r}: limits is a microlab.orchestration.Limits, "
                                 f"got {limits!r}")
            self.settings = _Settings(task_routes, http_routes, failover_delay, notify_starter, js_timeout,
                                      conclusions, limits)
            if self.log.active is None:
                self.log.active = self.name
        self._peer: Orchestrator | None = _peer
        #: Workflow instances and task attempts (in memory: a crash loses them).
        self.state = State()
        self._todo: deque = deque()
        self._js: JavaScript | None = None
        self._jq: Jq | None = None
        if standby and _peer is None:
            node = Orchestrator(f"{self.name}-standby", workers=self.workers, work_time=self.work_time, _peer=self)
            self._peer = node
            self._standby_node = node

    # -- joining a system (adds the standby too) ------------------------------------------------

    @property
    def system(self):
        """The system this orchestrator belongs to (None before ``system.add``)."""
        return self._sys

    @system.setter
    def system(self, value):
        # The engine reads self._sys (a plain attribute: the property costs a call per use).
        self._sys = value
        node = self.__dict__.get("_standby_node")
        if value is not None and node is not None and node.system is None:
            value.add(node)  # adding the primary adds its standby

    @property
    def standby(self) -> "Orchestrator | None":
        """The pair's standby orchestrator, ``<name>-standby`` (None without ``standby=True``)."""
        primary = self if self._peer is None or self._standby_node is not None else self._peer
        return primary._standby_node

    @property
    def active(self) -> str:
        """The name of the orchestrator that currently decides (it may be down)."""
        return self.log.active

    def _active_node(self) -> "Orchestrator":
        if self.log.active == self.name or self._peer is None:
            return self
        return self._peer

    # -- defining ------------------------------------------------------------------------------

    def register(self, *definitions, routes: dict | None = None) -> list[Plan]:
        """Register workflow definitions (builder objects, sagas, Conductor JSON dicts, lists, paths).

        Definitions that name each other (sub-workflows, failure workflows) can be
        registered in one call. Routing is checked against the system's services, so add
        the orchestrator and the worker services to the system first. ``routes`` adds
        task-name -> service routes for these definitions. Raises
        :class:`~microlab.errors.DefinitionError` (with JSON paths) and registers nothing
        if anything is wrong.
        """
        system = self._sys
        if system is None:
            raise MicrolabError(f"add {self.name!r} to a system (system.add(orchestrator, workers...)) "
                                "before registering workflows: each task is routed to a service of the system")
        defs = as_definitions(definitions)
        if not defs:
            raise MicrolabError("register() needs at least one workflow definition")
        task_routes = dict(self.settings.task_routes)
        task_routes.update(routes or {})
        return self.registry.add(defs, Router(system, task_routes, self.settings.http_routes))

    def definition(self, name: str, version: int | None = None) -> m.WorkflowDef:
        """A registered definition (the latest version unless ``version`` is given)."""
        return self.registry.plan(name, version).definition

    # -- starting (from outside the simulation) --------------------------------------------------

    def start(self, name: str, input: dict | None = None, *, correlation=None, at: float | None = None,
              version: int | None = None) -> None:
        """Have the client send ``StartWorkflow`` to the active orchestrator at time ``at``.

        The same as ``system.inject(orchestrator.active, "StartWorkflow", {"name": name,
        "input": input}, correlation=...)``, except that the destination is chosen at
        time ``at``: after a takeover, new workflows go to the standby.
        """
        system = self._system()
        self.registry.plan(name, version)  # fail now, not in the middle of the run
        payload = {"name": name, "input": dict(input or {})}
        if version is not None:
            payload["version"] = version
        when = system.sim.now if at is None else at
        system.sim.schedule_at(when, self._inject_start, (payload, correlation))

    def _inject_start(self, args) -> None:
        payload, correlation = args
        self._sys.inject(self.log.active, START_WORKFLOW, payload, correlation=correlation)

    # -- queries ---------------------------------------------------------------------------------

    def _view(self) -> State:
        """The active orchestrator's state; while it is down, the durable log's (replayed)."""
        node = self._active_node()
        if node.up:
            return node.state
        cached = self.__dict__.get("_replayed")
        if cached is None or cached[0] != len(self.log.records):
            cached = (len(self.log.records), State.replay(self.log.records))
            self.__dict__["_replayed"] = cached
        return cached[1]

    @property
    def instances(self) -> dict[str, Instance]:
        """Every workflow instance by id, as the active orchestrator knows them.

        While the active orchestrator is down its memory is gone; the answer then comes
        from replaying the durable log (what a standby would see).
        """
        return self._view().instances

    def workflows(self, correlation) -> list[Instance]:
        """Every instance of one business transaction (main, sub- and failure workflows)."""
        state = self._view()
        return [state.instances[i] for i in state.by_correlation.get(correlation, [])]

    def instance(self, key) -> Instance:
        """An instance by workflow id, or the first instance of a correlation id."""
        instances = self.instances
        if key in instances:
            return instances[key]
        found = self.workflows(key)
        if not found:
            raise KeyError(f"no workflow instance has id or correlation {key!r}")
        return found[0]

    def status(self, key) -> str:
        """The status of a workflow instance (by workflow id or correlation id)."""
        return self.instance(key).status

    def progress(self, key) -> Progress:
        """How far along an instance is: completed tasks out of the path taken so far."""
        return progress_of(self.instance(key))

    # -- handlers (each is one decision) ---------------------------------------------------------

    def handle(self, msg) -> None:
        """Handle a message if this orchestrator is the active one; else record it as stale."""
        if self.log.active != self.name:
            self._stale(msg, f"{self.name} is not the active orchestrator ({self.log.active} is)")
            return
        try:
            super().handle(msg)
            self._drain()
        finally:
            self._todo.clear()  # a decision never leaks into the next one, even if it raised

    def on_StartWorkflow(self, msg) -> None:
        """Start an instance: payload ``{"name", "input", "version"?}``; correlation = the message's."""
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        plan = self.registry.plan(payload.get("name"), payload.get("version"))
        inp = payload.get("input") or {}
        if not isinstance(inp, dict):
            raise MicrolabError(f"StartWorkflow {plan.name!r}: input must be a JSON object (dict), got {inp!r}")
        key = payload.get("idempotencyKey")
        existing = self.state.by_key.get((plan.name, key)) if key is not None else None
        if existing is not None:
            # Conductor's RETURN_EXISTING strategy: a start request repeated by a client
            # that never heard back (a lost reply, a crashed orchestrator) starts nothing new.
            self._stale(msg, f"workflow {existing} already started with idempotencyKey {key!r}")
            self.reply(msg, WORKFLOW_STARTED, {"workflowId": existing, "existing": True})
            return
        starter = (msg.source, msg.id) if self.settings.notify_starter else None
        inst = self._start_instance(plan, inp, msg.correlation, starter=starter, key=key)
        self.reply(msg, WORKFLOW_STARTED, {"workflowId": inst.id})

    def on_TaskCompleted(self, msg) -> None:
        """A worker did a task: payload ``{"taskId", "output"}``."""
        self._reply(msg, True)

    def on_TaskFailed(self, msg) -> None:
        """A worker failed a task: payload ``{"taskId", "reason", "output"?, "terminal"?}``."""
        self._reply(msg, False)

    def on_CompleteTask(self, msg) -> None:
        """Complete a task from outside (a WAIT without duration): ``{"taskId"}`` or ``{"workflowId"?, "ref"}``.

        Optional ``status`` (COMPLETED or FAILED), ``output`` and ``reason``.
        """
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        run = self._find_run(payload, msg.correlation)
        if run is None or run.status != IN_PROGRESS or run.inst.status != RUNNING:
            self._stale(msg, f"no task in progress matches {payload!r}")
            return
        status = payload.get("status", COMPLETED)
        if status not in (COMPLETED, FAILED):
            raise MicrolabError(f"CompleteTask status must be COMPLETED or FAILED, got {status!r}")
        self._finish(run, status, payload.get("output") or {}, payload.get("reason"), msg)
        self._after_finish(run)

    def on_TerminateWorkflow(self, msg) -> None:
        """Terminate an instance: ``{"workflowId"?, "reason"?}`` (default: the correlation's first)."""
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        wf_id = payload.get("workflowId")
        if wf_id is None:
            ids = [i for i in self.state.by_correlation.get(msg.correlation, [])
                   if self.state.instances[i].status == RUNNING]
            wf_id = ids[0] if ids else None
        inst = self.state.instances.get(wf_id)
        if inst is None or inst.status != RUNNING:
            self._stale(msg, f"no running workflow {wf_id!r} to terminate")
            return
        self._end(inst, TERMINATED, payload.get("reason") or "terminated on request")

    # -- instances --------------------------------------------------------------------------------

    def _commit(self, record: tuple):
        self.log.records.append(record)
        return self.state.apply(record)

    def _start_instance(self, plan: Plan, inp: dict, correlation, parent: Run | None = None,
               failure_of: str | None = None, starter=None, wf_id: str | None = None,
               key=None) -> Instance:
        now = self._sys.sim.now
        if plan.input_template:
            inp = {**plan.input_template, **inp}
        wf_id = wf_id or self.state.next_id(plan.name)
        inst = self._commit(("start", now, wf_id, plan, correlation, inp,
                             parent.inst.id if parent is not None else None,
                             parent.task_id if parent is not None else None, failure_of, starter, key))
        trace = self._sys.trace
        if trace.enabled:
            detail = {"correlation": correlation, "workflow": plan.name, "version": plan.version,
                      "workflow_id": wf_id, "status": RUNNING, "input": inp}
            if parent is not None:
                detail["parent"] = parent.inst.id
                detail["parent_task"] = parent.task_id
            if failure_of is not None:
                detail["failure_of"] = failure_of
            trace.records.append((now, rec.WORKFLOW, self.name, None, detail))
        self._arm_workflow_timeout(inst)
        if plan.first is None:  # cannot happen for a validated definition
            self._end(inst, COMPLETED)
        else:
            self._todo.append((inst, plan.first, None, 1, plan.first.start_delay))
        return inst

    def _drain(self) -> None:
        """Schedule everything the current decision queued (iteratively: no deep recursion)."""
        todo = self._todo
        steps = 0
        while todo:
            inst, step, iteration, attempt, delay = todo.popleft()
            if inst.status != RUNNING:
                continue
            steps += 1
            limit = min(MAX_SYNC_STEPS, self.settings.limits.max_sync_steps)
            if steps > limit:
                todo.clear()
                self._end(inst, FAILED, f"{limit:,} tasks ran in one decision without waiting for "
                                        f"any service (last: {step.ref!r}): a DO_WHILE whose loopCondition "
                                        "never becomes false? (the bound is Limits.max_sync_steps)")
                todo.clear()
                return
            self._schedule(inst, step, iteration, attempt, delay)

    def _schedule(self, inst: Instance, step: Step, iteration, attempt: int, delay: float) -> Run:
        now = self._sys.sim.now
        task_id = f"{inst.id}.{len(inst.tasks) + 1}"
        inp = step.params.resolve(inst, task_id)
        if step.type == m.JOIN:
            inp["joinOn"] = list(step.join_on)  # as Conductor: what the JOIN waits for is in its input
        run = self._commit(("schedule", now, inst.id, task_id, step.ref, attempt, iteration, inp,
                            now + delay if delay else None))
        self._record_task(run, SCHEDULED, None, input=inp)
        if delay:
            run.timer = self.after(delay, self._begin_due, run)
        else:
            self._begin(run)
        return run

    def _begin_due(self, run: Run) -> None:
        run.timer = None
        if run.status == SCHEDULED and run.inst.status == RUNNING:
            self._begin(run)
            self._drain()

    def _begin(self, run: Run) -> None:
        """Start a scheduled attempt: send its command, or do a system task's work."""
        t = run.step.type
        if t in m.WORKER_TYPES:
            self._dispatch(run)
            return
        try:
            handler = getattr(self, "_begin_" + t)
        except AttributeError:  # validation rejects these; a safety net for hand-made plans
            self._fail_run(run, FAILED, f"task type {t!r} is not supported")
            return
        handler(run)

    # -- worker tasks -------------------------------------------------------------------------

    def _dispatch(self, run: Run, resent: bool = False) -> None:
        step = run.step
        inst = run.inst
        service = step.service
        payload = {"taskId": run.task_id, "workflowId": inst.id, "ref": run.full_ref, "name": step.name,
                   "type": step.type, "attempt": run.attempt, "input": run.input}
        read_timeout = None
        if step.type == m.HTTP:
            raw = run.input.get("http_request")
            if not isinstance(raw, dict) or not isinstance(raw.get("uri"), str):
                self._fail_run(run, FAILED, "http_request.uri did not resolve to a string")
                return
            request = http_request(raw)
            if service is None:
                router = Router(self.system, self.settings.task_routes, self.settings.http_routes)
                service, why = router.http(request["uri"])
                if service is None:
                    self._fail_run(run, FAILED, why)
                    return
            body = request["body"]
            payload["input"] = body if isinstance(body, dict) else {"body": body}
            payload["request"] = request
            read_ms = raw.get("readTimeOut")
            read_timeout = read_ms / 1000.0 if isinstance(read_ms, (int, float)) and read_ms > 0 else HTTP_READ_TIMEOUT
        if inst.compensation:
            payload["compensation"] = True
        msg = self.send(service, step.name, payload, correlation=inst.correlation)
        self._commit(("dispatch", self._sys.sim.now, run.task_id, service, None))
        if resent:
            self._record_task(run, IN_PROGRESS, msg, service=service, resent=True)
        else:
            self._record_task(run, IN_PROGRESS, msg, service=service)
        self._arm_deadline(run, read_timeout)

    def _reply(self, msg, ok: bool) -> None:
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if "taskId" not in payload:
            self._reply_without_task_id(msg, payload)
            return
        run = self.state.tasks.get(payload.get("taskId"))
        if run is None:
            self._stale(msg, f"unknown task {payload.get('taskId')!r}")
            return
        if run.status != IN_PROGRESS or run.inst.status != RUNNING or run.step.type not in m.WORKER_TYPES:
            what = run.status if run.inst.status == RUNNING else f"{run.status}, workflow {run.inst.status}"
            self._stale(msg, f"task {run.task_id} ({run.full_ref}) is already {what}")
            return
        output = payload.get("output")
        if not isinstance(output, dict):
            output = {} if output is None else {"result": output}
        if run.step.type == m.HTTP:
            code = payload.get("statusCode", 200 if ok else 500)
            output = {"response": {"statusCode": code, "body": output, "headers": {},
                                   "reasonPhrase": "OK" if ok else str(payload.get("reason", ""))}}
        if ok:
            self._finish(run, COMPLETED, output, None, msg)
            self._advance(run)
        else:
            status = FAILED_WITH_TERMINAL_ERROR if payload.get("terminal") else FAILED
            self._finish(run, status, output, str(payload.get("reason", "the worker reported a failure")), msg)
            self._handle_failure(run)

    # -- what happens next -----------------------------------------------------------------------

    def _finish(self, run: Run, status: str, output, reason, msg=None) -> None:
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None
        self._commit(("finish", self._sys.sim.now, run.task_id, status, output, reason))
        if self._sys.trace.enabled:
            if reason is None:
                self._record_task(run, status, msg, output=run.output)
            else:
                self._record_task(run, status, msg, output=run.output, reason=reason)

    def _fail_run(self, run: Run, status: str, reason: str, output=None) -> None:
        self._finish(run, status, output, reason)
        self._handle_failure(run)

    def _after_finish(self, run: Run) -> None:
        if run.status in m.TASK_SUCCESSFUL:
            self._advance(run)
        else:
            self._handle_failure(run)

    def _advance(self, run: Run) -> None:
        """A task ended well: wake JOINs, then go on after it."""
        inst = run.inst
        if inst.status != RUNNING:
            return
        if inst.joins:
            self._check_joins(inst)
        if run.step.type not in (m.SWITCH, m.DECISION, m.FORK_JOIN, m.JOIN):
            self._after(inst, run.step, run.iteration)
        if inst.at_end:
            self._maybe_complete(inst)

    def _after(self, inst: Instance, step: Step, iteration) -> None:
        """``step`` is done: queue what follows it, climbing out of finished lists."""
        while True:
            nxt = step.next
            if nxt is not None:
                self._todo.append((inst, nxt, iteration if nxt.loop is not None else None, 1, nxt.start_delay))
                return
            container = step.container
            if container == TOP:
                if not inst.at_end:
                    self._commit(("at_end", self._sys.sim.now, inst.id))
                self._maybe_complete(inst)
                return
            if container == BRANCH:
                return  # the fork's JOIN decides when to go on
            if container == CASE:
                step = step.owner  # the case is done, so is its SWITCH
                if step.loop is None:
                    iteration = None
                continue
            if container == LOOP:
                self._loop_end(inst, step.owner)
                return

    def _loop_end(self, inst: Instance, loop: Step) -> None:
        run = inst.latest[loop.ref]
        n = run.output.get("iteration", 1)
        done = {ref: inst.refs[f"{ref}__{n}"].output for ref in loop.body_refs if f"{ref}__{n}" in inst.refs}
        output = dict(run.output)
        output[str(n)] = done
        bindings = loop.params.resolve(inst, run.task_id)
        bindings = dict(bindings) if isinstance(bindings, dict) else {}
        for ref in loop.body_refs:
            latest = inst.latest.get(ref)
            if latest is not None:
                bindings[ref] = latest.output
        # The condition sees the iteration counter and this iteration's outputs, not every
        # earlier one: serialising the whole history into V8 made each evaluation cost
        # O(iterations) (a README simplification; the task's output keeps the history).
        bindings[loop.ref] = {"iteration": n, str(n): done}
        try:
            again = truthy(self.js.evaluate(loop.task.loop_condition, bindings, what="loopCondition"))
        except ExpressionError as exc:
            self._fail_run(run, FAILED, str(exc))
            return
        cap = self.settings.limits.max_loop_iterations
        if again and n >= cap:
            self._fail_run(run, FAILED, f"DO_WHILE {loop.ref!r} ran {cap:,} iterations and its loopCondition "
                                        f"{loop.task.loop_condition!r} is still true: an endless loop? "
                                        "(the bound is Limits.max_loop_iterations; Conductor has none)")
            return
        if again:
            output["iteration"] = n + 1
            self._commit(("loop", self._sys.sim.now, run.task_id, output))
            self._todo.append((inst, loop.body, n + 1, 1, loop.body.start_delay))
        else:
            self._finish(run, COMPLETED, output, None)
            if inst.status == RUNNING:
                if inst.joins:
                    self._check_joins(inst)
                self._after(inst, loop, None)

    def _check_joins(self, inst: Instance) -> None:
        changed = True
        while changed and inst.joins and inst.status == RUNNING:
            changed = False
            for join in list(inst.joins):
                suffix = f"__{join.iteration}" if join.iteration else ""
                outputs = {}
                for ref in join.step.join_on:
                    done = inst.refs.get(ref + suffix)
                    if done is None or done.status not in TASK_TERMINAL:
                        break
                    outputs[ref] = done.output
                else:
                    self._finish(join, COMPLETED, outputs, None)
                    self._after(inst, join.step, join.iteration)
                    changed = True

    def _maybe_complete(self, inst: Instance) -> None:
        if inst.status == RUNNING and inst.at_end and inst.active == 0:
            self._end(inst, COMPLETED)

    def _handle_failure(self, run: Run) -> None:
        """An attempt failed or timed out: retry it, tolerate it (optional), or fail the workflow."""
        inst = run.inst
        if inst.status != RUNNING:
            return
        step = run.step
        if run.status in TASK_RETRIABLE and step.retriable and run.attempt - 1 < step.max_retries:
            td = step.task_def
            delay = td.retry_delay(run.attempt - 1, self.settings.limits.max_retry_delay)
            if td.backoff_jitter_ms:
                delay += self.random.uniform(0, td.backoff_jitter_ms / 1000.0)
            now = self._sys.sim.now
            trace = self._sys.trace
            if trace.enabled:
                trace.records.append((now, rec.RETRY, self.name, None, {
                    "correlation": inst.correlation, "workflow_id": inst.id, "task_id": run.task_id,
                    "ref": run.full_ref, "attempt": run.attempt + 1, "delay": delay,
                    "logic": td.retry_logic, "due": now + delay}))
            self._todo.append((inst, step, run.iteration, run.attempt + 1, delay))
            return
        if step.optional:
            self._finish(run, COMPLETED_WITH_ERRORS, None, run.reason)
            self._advance(run)
            return
        status = TIMED_OUT if run.status == TIMED_OUT else FAILED
        reason = (f"task {run.full_ref} ({step.type}, task {run.task_id}) ended {run.status} after "
                  f"{run.attempt} attempt{'s' if run.attempt > 1 else ''}: {run.reason}")
        self._end(inst, status, reason, failed_run=run)

    def _end(self, inst: Instance, status: str, reason: str | None = None, output=None,
             failed_run: Run | None = None) -> None:
        """End an instance: cancel what runs, set the output, start the failure workflow, tell the parent."""
        if inst.status != RUNNING:
            return
        now = self._sys.sim.now
        for run in inst.tasks:
            if run.status not in TASK_TERMINAL:
                self._finish(run, m.CANCELED, None, f"workflow {inst.id} ended {status}")
                if run.sub_id is not None:
                    child = self.state.instances.get(run.sub_id)
                    if child is not None:
                        self._end(child, TERMINATED, f"parent workflow {inst.id} ended {status}")
        if output is None:
            output = self._workflow_output(inst, failed_run)
        failure_plan = None
        if status in (FAILED, TIMED_OUT) and inst.plan.failure_workflow:
            # A "$workflow.input.x" name that resolves to nothing asks for no failure
            # workflow (as in Conductor); a name that is not registered is a fault to show.
            name = self._failure_name(inst)
            failure_plan = self.registry.find(name) if name else None
            if failure_plan is None and name:
                reason = f"{reason}; and its failure workflow {name!r} is not registered"
            fault = self._nesting_fault(inst, name) if failure_plan is not None else None
            if fault is not None:
                failure_plan = None
                reason = f"{reason}; and its failure workflow was not started: {fault}"
            if failure_plan is not None:
                failure_id = self.state.next_id(failure_plan.name)
                output = dict(output)
                output["conductor.failure_workflow"] = failure_id
        if inst.timer is not None:
            inst.timer.cancel()
            inst.timer = None
        self._commit(("end", now, inst.id, status, output, reason))
        trace = self._sys.trace
        if trace.enabled:
            trace.records.append((now, rec.WORKFLOW, self.name, None, {
                "correlation": inst.correlation, "workflow": inst.name, "version": inst.version,
                "workflow_id": inst.id, "status": status, "output": output, "reason": reason}))
        if failure_plan is not None:
            self._start_failure_workflow(inst, failure_plan, status, reason, failed_run, failure_id)
        if self.settings.conclusions is not None:
            self._conclude(inst, status, failure_plan is not None)
        if inst.parent_task_id is not None:
            parent_run = self.state.tasks.get(inst.parent_task_id)
            if parent_run is not None and parent_run.status == IN_PROGRESS:
                if status == COMPLETED:
                    self._finish(parent_run, COMPLETED, {**output, "subWorkflowId": inst.id}, None)
                    self._advance(parent_run)
                else:
                    self._fail_run(parent_run, FAILED, f"sub-workflow {inst.id} ended {status}: {reason}")
        if inst.starter is not None:
            source, _ = inst.starter
            if source in self._sys.services:
                self.send(source, WORKFLOW_ENDED, {"workflowId": inst.id, "workflow": inst.name,
                                                   "status": status, "output": output, "reason": reason},
                          kind=REPLY, correlation=inst.correlation)

    def _conclude(self, inst: Instance, status: str, compensating: bool) -> None:
        """Record the business transaction's conclusion effect (``conclusions=...``)."""
        complete, reject = self.settings.conclusions
        effect = None
        if inst.parent_id is None and inst.failure_of is None:
            if status == COMPLETED:
                effect = complete
            elif not compensating:
                effect = reject
        elif inst.failure_of is not None:
            failed = self.state.instances.get(inst.failure_of)
            if failed is not None and failed.parent_id is None and failed.failure_of is None:
                effect = reject  # the undoing is over (whether or not it succeeded)
        if effect is not None:
            self._sys.trace.record(self._sys.sim.now, EFFECT, self.name, effect=effect,
                                     correlation=inst.correlation, workflow_id=inst.id, status=status)

    def _failure_name(self, inst: Instance) -> str | None:
        name = inst.plan.failure_workflow
        if name.startswith("$"):
            # Conductor's "$workflow.input.<param>" (or "${workflow.input.<param>}") form:
            # the name comes from the input; nothing there means no failure workflow.
            path = name[2:-1] if name.startswith("${") and name.endswith("}") else name[1:]
            value = inst.input.get(path.split(".")[-1]) if "." in path else None
            return value if isinstance(value, str) and value else None
        return name

    def _nesting_fault(self, parent: Instance, name) -> str | None:
        """Why a child of ``parent`` (a sub- or failure workflow) may not start, or None."""
        limits = self.settings.limits
        if parent.depth + 1 > limits.max_depth:
            chain = []
            node = parent
            while node is not None and len(chain) < 6:
                chain.append(node.name)
                node = self.state.instances.get(node.parent_id or node.failure_of or "")
            return (f"starting {name!r} would nest workflows {parent.depth + 1} deep (limit "
                    f"Limits.max_depth={limits.max_depth}); the chain ends {' <- '.join(chain)}: "
                    "does a workflow start itself, or two start each other?")
        if self.state.tree_sizes.get(parent.root, 0) + 1 > limits.max_tree:
            return (f"workflow {parent.root} has already brought {limits.max_tree:,} instances into being "
                    f"(limit Limits.max_tree); {name!r} is not started: a sub-workflow fan-out without end?")
        return None

    def _start_failure_workflow(self, inst: Instance, plan: Plan, status: str, reason, failed_run,
                                wf_id: str) -> None:
        failed = inst.to_conductor()
        inp = {"workflowId": inst.id, "reason": reason, "failureStatus": status,
               "failureTaskId": failed_run.task_id if failed_run is not None else None,
               "failedWorkflow": failed}
        child = self._start_instance(plan, inp, inst.correlation, failure_of=inst.id, wf_id=wf_id)
        trace = self._sys.trace
        if trace.enabled:
            completed = [r.full_ref for r in reversed(inst.tasks)
                         if r.status == COMPLETED and r.step.type in m.WORKER_TYPES]
            trace.records.append((self._sys.sim.now, rec.COMPENSATE, self.name, None, {
                "correlation": inst.correlation, "workflow_id": inst.id, "failure_workflow": plan.name,
                "failure_workflow_id": child.id, "completed": completed}))

    def _workflow_output(self, inst: Instance, failed_run: Run | None = None) -> dict:
        plan = inst.plan
        if plan.output is not None:
            return plan.output.resolve(inst, None)
        # Conductor: without outputParameters, the output of the task that failed the
        # workflow, else of the last task scheduled.
        last = failed_run if failed_run is not None else (inst.tasks[-1] if inst.tasks else None)
        if last is None:
            return {}
        return dict(last.output) if isinstance(last.output, dict) else {"result": last.output}

    # -- helpers ------------------------------------------------------------------------------

    def _find_run(self, payload: dict, correlation) -> Run | None:
        task_id = payload.get("taskId")
        if task_id is not None:
            return self.state.tasks.get(task_id)
        ref = payload.get("ref")
        wf_id = payload.get("workflowId")
        ids = [wf_id] if wf_id else self.state.by_correlation.get(correlation, [])
        for i in ids:
            inst = self.state.instances.get(i)
            if inst is not None and ref in inst.refs:
                return inst.refs[ref]
        return None

    def _record_task(self, run: Run, status: str, msg, **extra) -> None:
        trace = self._sys.trace
        if not trace.enabled:
            return
        inst = run.inst
        step = run.step
        detail = {"correlation": inst.correlation, "workflow_id": inst.id, "task_id": run.task_id,
                  "ref": run.ref, "name": step.name, "type": step.type, "status": status,
                  "attempt": run.attempt}
        if run.iteration:
            detail["iteration"] = run.iteration
        if inst.compensation:
            detail["compensation"] = True
        if extra:
            detail.update(extra)
        trace.records.append((self._sys.sim.now, rec.TASK, self.name, msg, detail))

    def _record_timeout(self, run: Run, which: str, seconds, policy) -> None:
        trace = self._sys.trace
        if trace.enabled:
            trace.records.append((self._sys.sim.now, rec.TIMEOUT, self.name, None, {
                "correlation": run.inst.correlation, "workflow_id": run.inst.id, "which": which,
                "task_id": run.task_id, "ref": run.full_ref, "seconds": seconds, "policy": policy}))

    def _reply_without_task_id(self, msg, payload) -> None:
        """A reply the orchestrator cannot match: say what is wrong, on the task it seems to answer."""
        shape = ("its payload is not a dict" if not isinstance(msg.payload, dict)
                 else f"its payload has {', '.join(map(repr, payload)) or 'no keys'} but no 'taskId'")
        reason = (f"the {msg.type} reply from {msg.source} could not be matched to a task: {shape}. "
                  f"A reply must carry the taskId of the command it answers (a Worker adds it; "
                  f"with self.reply(msg, ...) by hand, copy msg.payload['taskId'])")
        self._stale(msg, reason)
        for wf_id in self.state.by_correlation.get(msg.correlation, []):
            inst = self.state.instances.get(wf_id)
            if inst is None or inst.status != RUNNING:
                continue
            for run in inst.tasks:
                if run.status == IN_PROGRESS and run.service == msg.source:
                    run.bad_reply = reason

    def _stale(self, msg, reason: str) -> None:
        detail = {"correlation": msg.correlation, "reason": reason}
        self._sys.trace.record(self._sys.sim.now, rec.STALE, self.name, msg, **detail)


def _task_defs(task_defs) -> dict:
    if task_defs is None:
        return {}
    if isinstance(task_defs, dict):
        items = list(task_defs.values())
    else:
        items = list(task_defs)
    out = {}
    for td in items:
        if not isinstance(td, m.TaskDef):
            raise TypeError(f"task_defs holds TaskDef objects (or a dict of them), got {td!r}; "
                            "load Conductor JSON with load_task_defs(path)")
        out[td.name] = td
    return out
