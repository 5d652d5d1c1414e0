"""The decider: a workflow's next steps as a function of its state, one event and the time.

``decide(state, definitions, event, now) -> [actions]`` is the whole of what the
orchestrator *decides*; sending, timers, the log and the lock belong to the shell
(:mod:`~microlab.orchestration.orchestrator`), which carries out the actions
(:mod:`~microlab.orchestration.actions`) in order. It is Conductor's design: its
``DeciderService.decide(workflow)`` returns an outcome (tasks to schedule, tasks to
update, complete or not) that the ``WorkflowExecutor`` persists, queues and notifies
(https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/core/execution/DeciderService.java).

Two choices worth knowing:

- The state is changed only through records (``state.apply``): the decider applies each
  record it makes to the state it was given, so the rest of the same decision sees it,
  and returns it as a :class:`~microlab.orchestration.actions.Commit` for the shell to
  make durable. Replaying the commits rebuilds the state, which is how a standby, a
  restarted node or a second node of a cluster sees the same instance.
- There is no timer per task. After every decision the decider computes the instance's
  earliest deadline (a retry falling due, a WAIT ending, a response, task, poll, HTTP
  read or workflow timeout: :mod:`~microlab.orchestration.deadlines`) and asks for one
  wake-up (:class:`~microlab.orchestration.actions.Wake`). When it comes, every deadline
  is re-checked against ``now``, as Conductor's decider does when its sweeper
  re-evaluates a workflow; an early or stale wake-up does nothing.

The decider holds no reference to a System: tests feed it one event and read the
actions (``tests/test_orchestration_decider.py``). It keeps the events, scheduling,
advancing and retrying, which call each other at every step; the task types it runs itself
live in :mod:`~microlab.orchestration.systemtasks`, the deadlines in
:mod:`~microlab.orchestration.deadlines`, the event handlers' actions in
:mod:`~microlab.orchestration.eventing`, and how an instance ends (its output, failure
workflow, parent and starter) in :mod:`~microlab.orchestration.endings`.

It is one unit, longer than most modules, because scheduling, advancing and retrying
call each other at every step and must change together.
"""

from __future__ import annotations

import random as _random
from collections import deque

from ..errors import MicrolabError
from . import model as m
from . import records as rec
from .actions import Commit, Dispatch, Enqueue, Lease, Record, Reply, Wake
from .deadlines import Deadlines
from .endings import WORKFLOW_ENDED, Endings  # noqa: F401  (WORKFLOW_ENDED: importable from here)
from .eventing import EventActions
from .events import CompleteTask, EventReceived, Polled, Resume, Start, TaskResult, Terminate, TimerFired
from . import limits as limits_module
from .expressions import ExpressionError, truthy
from .limits import Limits
from .model import (COMPLETED, COMPLETED_WITH_ERRORS, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS,
                    RUNNING, SCHEDULED, TASK_RETRIABLE, TASK_TERMINAL, TERMINATED, TIMED_OUT)
from .plan import BRANCH, CASE, HTTP_READ_TIMEOUT, LOOP, TOP, Plan, Step
from .routing import http_request
from .state import Instance, Run, State
from .systemtasks import SystemTasks

#: Message types the orchestrator sends on its own.
WORKFLOW_STARTED = "WorkflowStarted"
#: Tasks one decision may run without waiting on a service before it is called endless.
MAX_SYNC_STEPS = limits_module.MAX_SYNC_STEPS
#: How a worker task reaches its worker: pushed as a command, or polled from a queue.
PUSH = "push"
POLL = "poll"
DISPATCH_MODES = (PUSH, POLL)


def task_detail(run: Run, status: str, extra: dict | None = None) -> dict:
    """The detail of a ``task`` trace record (see :mod:`~microlab.orchestration.records`)."""
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
    return detail


class Context:
    """What a decision may consult besides the state: fixed for a node's lifetime.

    ``definitions`` (a :class:`~microlab.orchestration.registry.Registry`),
    ``dispatch`` (``"push"`` or ``"poll"``), ``notify_starter``, ``conclusions``,
    ``route_http(uri) -> (service, why)`` for HTTP tasks whose service is known only at
    run time, ``random`` (for backoff jitter: the simulation's generator, so runs
    repeat), ``js_timeout`` and ``tracing`` (False: trace records are not even built),
    ``publisher`` (the broker an EVENT task publishes through) and ``handlers`` (the
    event handlers an ``EventReceived`` is matched against).
    """

    def __init__(self, definitions, *, dispatch: str = PUSH, notify_starter: bool = False, conclusions=None,
                 route_http=None, random=None, js_timeout: float = 1.0, tracing: bool = True, polled=None,
                 max_sync_steps: int = MAX_SYNC_STEPS, limits: Limits | None = None, publisher=None,
                 handlers=None):
        self.definitions = definitions
        self.dispatch = dispatch
        self.notify_starter = notify_starter
        self.conclusions = conclusions
        self.route_http = route_http
        self.random = random if random is not None else _random.Random(0)
        self.js_timeout = js_timeout
        self.tracing = tracing
        self.limits = limits if limits is not None else Limits()
        #: ``publisher(topic) -> (broker, why)``: the broker an EVENT task publishes through now,
        #: or None and the reason (it is down, there is none); None: always ``"broker"``.
        self.publisher = publisher
        #: The event handlers (:class:`~microlab.orchestration.handlers.EventHandlers`), or None.
        self.handlers = handlers
        self.max_sync_steps = min(max_sync_steps, self.limits.max_sync_steps)
        #: Queue keys ``(task name, service)`` served by polling workers; None: every SIMPLE task
        #: is queued when ``dispatch="poll"``.
        self.polled = polled if polled is not None else _Everything() if dispatch == POLL else frozenset()


class _Everything:
    """A set that holds everything (a decider tested alone queues every SIMPLE task)."""

    def __contains__(self, item) -> bool:
        return True


def decide(state: State, definitions, event, now: float, **context) -> list:
    """The actions that ``event`` at time ``now`` calls for (the state is updated by records).

    ``definitions`` is a Registry; ``context`` holds :class:`Context`'s keywords. For
    many decisions, build one :class:`Decider` and call its ``decide``.
    """
    return Decider(Context(definitions, **context)).decide(state, event, now)


def _ends_workflow_directly(step: Step) -> bool:
    """Whether ``step`` ending can complete its workflow in the same decision: it is last
    in the top-level list, or in a SWITCH case that is (no JOIN or loop in between)."""
    while step.next is None and step.container == CASE:
        step = step.owner
    return step.next is None and step.container == TOP


class Decider(SystemTasks, Deadlines, EventActions, Endings):
    """Takes one decision at a time (see the module docstring).

    While a decision runs, these attributes are its working set, shared with the
    :class:`SystemTasks`, :class:`Deadlines`, :class:`EventActions` and :class:`Endings` parts of
    the class: ``state``, ``now``,
    ``actions`` (the result), ``todo`` (tasks to schedule before the decision ends) and
    ``touched`` (instances whose deadlines must be recomputed).
    """

    def __init__(self, context: Context):
        self.context = context
        self.definitions = context.definitions
        self.state: State | None = None
        self.now = 0.0
        self.actions: list = []
        self.todo: deque = deque()
        self.touched: dict = {}
        self._js = None
        self._jq = None
        self._handlers = {Start: self._on_start, TaskResult: self._on_result, CompleteTask: self._on_complete,
                          Terminate: self._on_terminate, TimerFired: self._on_timer, Polled: self._on_polled,
                          Resume: self._on_resume, EventReceived: self._on_event}

    def decide(self, state: State, event, now: float) -> list:
        """Apply ``event`` at ``now`` to ``state``; return the actions, in the order to carry them out."""
        self.state = state
        self.now = now
        self.actions = actions = []
        try:
            self._handlers[type(event)](event)
            self._drain()
            for inst in self.touched:
                self.actions.append(Wake(inst.id, self.next_due(inst)))
        finally:
            self.todo.clear()  # a decision never leaks into the next one, even if it raised
            self.touched.clear()
        return actions

    # -- building blocks -------------------------------------------------------------------

    def _commit(self, record: tuple):
        self.actions.append(Commit(record))
        return self.state.apply(record)

    def _record(self, kind: str, msg, detail: dict) -> None:
        if self.context.tracing:
            self.actions.append(Record(kind, msg, detail))

    def _stale(self, msg, reason: str) -> None:
        self.actions.append(Record(rec.STALE, msg, {"correlation": getattr(msg, "correlation", None),
                                                    "reason": reason}))

    def _record_task(self, run: Run, status: str, msg, **extra) -> None:
        if self.context.tracing:
            self.actions.append(Record(rec.TASK, msg, task_detail(run, status, extra)))

    # -- events ----------------------------------------------------------------------------

    def _on_start(self, event: Start) -> None:
        msg = event.msg
        payload = event.payload if isinstance(event.payload, dict) else {}
        plan = self.definitions.plan(payload.get("name"), payload.get("version"))
        inp = payload.get("input") or {}
        if not isinstance(inp, dict):
            raise MicrolabError(f"StartWorkflow {plan.name!r}: input must be a JSON object (dict), got {inp!r}")
        key = payload.get("idempotencyKey")
        existing = self.state.by_key.get((plan.name, key)) if key is not None else None
        if existing is not None:
            # Conductor's RETURN_EXISTING strategy: a start request repeated by a client
            # that never heard back (a lost reply, a crashed orchestrator) starts nothing new.
            self._stale(msg, f"workflow {existing} already started with idempotencyKey {key!r}")
            self.actions.append(Reply(msg, WORKFLOW_STARTED, {"workflowId": existing, "existing": True}))
            return
        starter = (event.source, getattr(msg, "id", None)) if self.context.notify_starter else None
        inst = self._start_instance(plan, inp, getattr(msg, "correlation", None), starter=starter, key=key)
        self.actions.append(Reply(msg, WORKFLOW_STARTED, {"workflowId": inst.id}))

    def _on_result(self, event: TaskResult) -> None:
        msg = event.msg
        payload = event.payload if isinstance(event.payload, dict) else {}
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
        ok = event.ok
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

    def _reply_without_task_id(self, msg, payload) -> None:
        """A reply that cannot be matched: say what is wrong, on the task it seems to answer."""
        shape = ("its payload is not a dict" if not isinstance(getattr(msg, "payload", None), dict)
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

    def _on_complete(self, event: CompleteTask) -> None:
        msg = event.msg
        payload = event.payload if isinstance(event.payload, dict) else {}
        run = self._find_run(payload, getattr(msg, "correlation", None))
        if run is None or run.status != IN_PROGRESS or run.inst.status != RUNNING:
            self._stale(msg, f"no task in progress matches {payload!r}")
            return
        status = payload.get("status", COMPLETED)
        if status not in (COMPLETED, FAILED):
            raise MicrolabError(f"CompleteTask status must be COMPLETED or FAILED, got {status!r}")
        self._finish(run, status, payload.get("output") or {}, payload.get("reason"), msg)
        self._after_finish(run)

    def _on_terminate(self, event: Terminate) -> None:
        msg = event.msg
        payload = event.payload if isinstance(event.payload, dict) else {}
        wf_id = payload.get("workflowId")
        if wf_id is None:
            ids = [i for i in self.state.by_correlation.get(getattr(msg, "correlation", None), [])
                   if self.state.instances[i].status == RUNNING]
            wf_id = ids[0] if ids else None
        inst = self.state.instances.get(wf_id)
        if inst is None or inst.status != RUNNING:
            self._stale(msg, f"no running workflow {wf_id!r} to terminate")
            return
        self._end(inst, TERMINATED, payload.get("reason") or "terminated on request")

    def _on_polled(self, event: Polled) -> None:
        """A worker leased a queued task: it is IN_PROGRESS from now (Conductor sets startTime at poll)."""
        run = self.state.tasks.get(event.task_id)
        if run is None or run.status != SCHEDULED or run.inst.status != RUNNING:
            return  # ended or leased meanwhile; the shell only leases what it found SCHEDULED
        self._commit(("dispatch", self.now, run.task_id, event.worker, None))
        self.actions.append(Lease(run, event.worker, self._payload(run), event.msg))
        self.touched[run.inst] = None

    def _on_resume(self, event: Resume) -> None:
        inst = self.state.instances.get(event.workflow_id)
        if inst is None or inst.status != RUNNING:
            return
        now = self.now
        pending = list(inst.open.values())
        polled = self.context.polled

        def pushed(r):
            return r.step.type in m.WORKER_TYPES and not (r.step.type == m.SIMPLE
                                                          and (r.step.name, r.step.service) in polled)
        self.actions.append(Record(rec.RESUME, None, {
            "correlation": inst.correlation, "workflow_id": inst.id,
            "resent": [r.full_ref for r in pending if r.status == IN_PROGRESS and pushed(r)]}))
        for run in pending:
            if run.inst.status != RUNNING:
                break
            if run.status == SCHEDULED:
                if run.due is not None and run.due > now:
                    continue  # the wake-up begins it
                if run.queued:
                    continue  # the durable queue still holds it
                self._begin(run)
            elif pushed(run):
                self._dispatch(run, resent=True)
        if inst.status == RUNNING and inst.joins:
            self._check_joins(inst)
        if inst.at_end:
            self._maybe_complete(inst)
        self.touched[inst] = None

    # -- instances --------------------------------------------------------------------------

    def _start_instance(self, plan: Plan, inp: dict, correlation, parent: Run | None = None,
                        failure_of: str | None = None, starter=None, wf_id: str | None = None,
                        key=None) -> Instance:
        now = self.now
        if plan.input_template:
            inp = {**plan.input_template, **inp}
        wf_id = wf_id or self.state.next_id(plan.name)
        inst = self._commit(("start", now, wf_id, plan, correlation, inp,
                             parent.inst.id if parent is not None else None,
                             parent.task_id if parent is not None else None, failure_of, starter, key))
        if self.context.tracing:
            detail = {"correlation": correlation, "workflow": plan.name, "version": plan.version,
                      "workflow_id": wf_id, "status": RUNNING, "input": inp}
            if parent is not None:
                detail["parent"] = parent.inst.id
                detail["parent_task"] = parent.task_id
            if failure_of is not None:
                detail["failure_of"] = failure_of
            self.actions.append(Record(rec.WORKFLOW, None, detail))
        self.touched[inst] = None
        if plan.first is None:  # cannot happen for a validated definition
            self._end(inst, COMPLETED)
        else:
            self.todo.append((inst, plan.first, None, 1, plan.first.start_delay))
        return inst

    def _drain(self) -> None:
        """Schedule everything the current decision queued (iteratively: no deep recursion)."""
        todo = self.todo
        steps = 0
        while todo:
            inst, step, iteration, attempt, delay = todo.popleft()
            if inst.status != RUNNING:
                continue
            steps += 1
            if steps > self.context.max_sync_steps:
                todo.clear()
                self._end(inst, FAILED, f"{self.context.max_sync_steps:,} tasks ran in one decision without waiting for "
                                        f"any service (last: {step.ref!r}): a DO_WHILE whose loopCondition "
                                        "never becomes false? (the bound is Limits.max_sync_steps)")
                todo.clear()
                return
            self._schedule(inst, step, iteration, attempt, delay)

    def _schedule(self, inst: Instance, step: Step, iteration, attempt: int, delay: float) -> Run:
        now = self.now
        task_id = f"{inst.id}.{len(inst.tasks) + 1}"
        inp = step.params.resolve(inst, task_id)
        if step.type == m.JOIN:
            inp["joinOn"] = list(step.join_on)  # as Conductor: what the JOIN waits for is in its input
        run = self._commit(("schedule", now, inst.id, task_id, step.ref, attempt, iteration, inp,
                            now + delay if delay else None))
        self._record_task(run, SCHEDULED, None, input=inp)
        if delay:
            self.touched[inst] = None  # the wake-up at its due time begins it
        else:
            self._begin(run)
        return run

    def _begin(self, run: Run) -> None:
        """Start a scheduled attempt: send or queue its work, or do a system task's work."""
        t = run.step.type
        if t in m.WORKER_TYPES:
            step = run.step
            if t == m.SIMPLE and (step.name, step.service) in self.context.polled:
                self._commit(("queue", self.now, run.task_id))
                self.actions.append(Enqueue(run, (step.name, step.service)))
                self.touched[run.inst] = None
            else:
                self._dispatch(run)
            return
        try:
            handler = getattr(self, "_begin_" + t)
        except AttributeError:  # validation rejects these; a safety net for hand-made plans
            self._fail_run(run, FAILED, f"task type {t!r} is not supported")
            return
        handler(run)

    # -- worker tasks -----------------------------------------------------------------------

    def _payload(self, run: Run) -> dict:
        step = run.step
        payload = {"taskId": run.task_id, "workflowId": run.inst.id, "ref": run.full_ref, "name": step.name,
                   "type": step.type, "attempt": run.attempt, "input": run.input}
        if run.inst.compensation:
            payload["compensation"] = True
        return payload

    def _dispatch(self, run: Run, resent: bool = False) -> None:
        """Push the command of a worker task: commit that it is in progress, then send it."""
        step = run.step
        service = step.service
        payload = self._payload(run)
        read_timeout = None
        if step.type == m.HTTP:
            raw = run.input.get("http_request")
            if not isinstance(raw, dict) or not isinstance(raw.get("uri"), str):
                self._fail_run(run, FAILED, "http_request.uri did not resolve to a string")
                return
            request = http_request(raw)
            if service is None:
                service, why = self.context.route_http(request["uri"])
                if service is None:
                    self._fail_run(run, FAILED, why)
                    return
            body = request["body"]
            payload["input"] = body if isinstance(body, dict) else {"body": body}
            payload["request"] = request
            read_ms = raw.get("readTimeOut")
            read_timeout = read_ms / 1000.0 if isinstance(read_ms, (int, float)) and read_ms > 0 else HTTP_READ_TIMEOUT
        self._commit(("dispatch", self.now, run.task_id, service, None))
        run.read_timeout = read_timeout
        self.actions.append(Dispatch(run, service, payload, resent))
        self.touched[run.inst] = None

    # -- what happens next ------------------------------------------------------------------

    def _finish(self, run: Run, status: str, output, reason, msg=None) -> None:
        self._commit(("finish", self.now, run.task_id, status, output, reason))
        self.touched[run.inst] = None
        if self.context.tracing:
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
                self.todo.append((inst, nxt, iteration if nxt.loop is not None else None, 1, nxt.start_delay))
                return
            container = step.container
            if container == TOP:
                if not inst.at_end:
                    self._commit(("at_end", self.now, inst.id))
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
        cap = self.context.limits.max_loop_iterations
        if again and n >= cap:
            self._fail_run(run, FAILED, f"DO_WHILE {loop.ref!r} ran {cap:,} iterations and its loopCondition "
                                        f"{loop.task.loop_condition!r} is still true: an endless loop? "
                                        "(the bound is Limits.max_loop_iterations; Conductor has none)")
            return
        if again:
            output["iteration"] = n + 1
            self._commit(("loop", self.now, run.task_id, output))
            self.todo.append((inst, loop.body, n + 1, 1, loop.body.start_delay))
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
                tolerated = []
                for ref in join.step.join_on:
                    done = inst.refs.get(ref + suffix)
                    if done is None or done.status not in TASK_TERMINAL:
                        break
                    if done.output:  # as Conductor's Join: empty outputs are left out
                        outputs[ref] = done.output
                    if done.status == COMPLETED_WITH_ERRORS and done.step.optional:
                        tolerated.append(f"{done.step.task.name}/{done.task_id}")
                else:
                    # Conductor's Join ends COMPLETED_WITH_ERRORS when an optional task it
                    # waited for failed, and names those tasks.
                    if tolerated:
                        self._finish(join, COMPLETED_WITH_ERRORS, outputs,
                                     " ".join(tolerated) + " completed with errors")
                    else:
                        self._finish(join, COMPLETED, outputs, None)
                    self._after(inst, join.step, join.iteration)
                    changed = True

    def _gathered(self, inst: Instance, join: Run) -> dict:
        """The non-empty outputs of the tasks ``join`` waits for that have ended so far."""
        suffix = f"__{join.iteration}" if join.iteration else ""
        out = {}
        for ref in join.step.join_on:
            done = inst.refs.get(ref + suffix)
            if done is not None and done.status in TASK_TERMINAL and done.output:
                out[ref] = done.output
        return out

    def _maybe_complete(self, inst: Instance) -> None:
        # Not while this decision still has tasks of the instance to schedule: a branch
        # may go on after its JOIN ended (the JOIN named an earlier task of it), and
        # Conductor completes a workflow only when nothing is left to schedule.
        if inst.status == RUNNING and inst.at_end and inst.active == 0 \
                and not any(item[0] is inst for item in self.todo):
            self._end(inst, COMPLETED)

    def _handle_failure(self, run: Run) -> None:
        """An attempt failed or timed out: retry it, tolerate it (optional), or fail the workflow."""
        inst = run.inst
        if inst.status != RUNNING:
            return
        step = run.step
        if run.status in TASK_RETRIABLE and step.retriable and run.attempt - 1 < step.max_retries:
            td = step.task_def
            delay = td.retry_delay(run.attempt - 1, self.context.limits.max_retry_delay)
            if td.backoff_jitter_ms:
                delay += self.context.random.uniform(0, td.backoff_jitter_ms / 1000.0)
            now = self.now
            self._record(rec.RETRY, None, {
                "correlation": inst.correlation, "workflow_id": inst.id, "task_id": run.task_id,
                "ref": run.full_ref, "attempt": run.attempt + 1, "delay": delay,
                "logic": td.retry_logic, "due": now + delay})
            self.todo.append((inst, step, run.iteration, run.attempt + 1, delay))
            return
        if step.optional:
            ended = run.status
            self._finish(run, COMPLETED_WITH_ERRORS, None, run.reason)
            self._advance(run)
            if inst.status == COMPLETED and _ends_workflow_directly(step):
                # Conductor 3.21 decides COMPLETED_WITH_ERRORS but does not write it when
                # that same decision completes the workflow: the server keeps reporting
                # the task FAILED (seen by tests/real_conductor; a README row says so).
                self._finish(run, ended, None, run.reason)
            return
        status = TIMED_OUT if run.status == TIMED_OUT else FAILED
        reason = (f"task {run.full_ref} ({step.type}, task {run.task_id}) ended {run.status} after "
                  f"{run.attempt} attempt{'s' if run.attempt > 1 else ''}: {run.reason}")
        self._end(inst, status, reason, failed_run=run)

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
