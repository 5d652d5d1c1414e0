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

Shell and core
--------------
This module is the shell: it turns each message (and each wake-up) into an event
(:mod:`.events`), asks the pure decider (:mod:`.decider`) what to do, and carries out
the actions (:mod:`.actions`) in order: commit to the log, then send. It keeps a
single timer, for the earliest deadline of all instances (:mod:`.wakeups`); the decider
re-checks deadlines against the clock when it fires, as Conductor's does. The shell is
one unit, longer than most modules, because its parts (handlers, the action loop, crash
and takeover, queries) all act on the node's in-memory state and must change together;
what stands apart lives beside it: the timer (:mod:`.wakeups`), polling (:mod:`.polling`),
routing (:mod:`.routing`), the registry (:mod:`.registry`) and the cluster (:mod:`.cluster`).

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
twice (visible in the trace: two commands with the same ``taskId``). Every dispatch is
committed to the log before its command is sent, so the log never misses a command
that went out. Workers reply to
the sender of the command, so replies to the crashed orchestrator are dropped ("... is
down") and the re-sent commands' replies reach the standby. Without a standby, a crash
stalls every running instance until the orchestrator restarts, replays its own log and
resumes. Whichever orchestrator is active answers queries (``status``, ``progress``,
``instances``); ``orchestrator.start(...)`` and :attr:`Orchestrator.active` reach it.
"""

from __future__ import annotations

import warnings

from ..errors import MicrolabError
from ..choreography.kinds import ack_type, event_id
from ..messages import EVENT, REPLY
from ..services import Service
from . import model as m
from . import records as rec
from .actions import Ack, Commit, Dispatch, Enqueue, Lease, Publish, Record, Reply, Send, Wake
from .decider import POLL as POLL_MODE
from .inputs import MissingInputWarning, missing_input_message, missing_inputs
from .limits import Limits
from .decider import (DISPATCH_MODES, MAX_SYNC_STEPS, PUSH, WORKFLOW_ENDED, WORKFLOW_STARTED, Context,
                      Decider, task_detail)
from .events import CompleteTask, EventReceived, Resume, Start, TaskResult, Terminate, TimerFired
from .handlers import EventHandler, EventHandlers, check_handler, syntax_probe
from .log import DurableLog
from .plan import Plan
from .polling import POLL, PollServer
from .queues import TaskQueues
from .progress import Progress, progress_of
from .registry import Registry, as_definitions
from .routing import Router
from .state import Instance, State
from .wakeups import WakeTimer

#: Message types the orchestrator accepts.
START_WORKFLOW = "StartWorkflow"
TERMINATE_WORKFLOW = "TerminateWorkflow"
COMPLETE_TASK = "CompleteTask"

__all__ = ["Orchestrator", "START_WORKFLOW", "TERMINATE_WORKFLOW", "COMPLETE_TASK", "WORKFLOW_ENDED",
           "WORKFLOW_STARTED", "MAX_SYNC_STEPS"]


class _Settings:
    """Configuration that an orchestrator and its standby share."""

    def __init__(self, task_routes, http_routes, failover_delay, notify_starter, js_timeout, conclusions,
                 dispatch=PUSH, limits=None):
        self.task_routes = dict(task_routes or {})
        self.http_routes = http_routes
        self.failover_delay = failover_delay
        self.notify_starter = notify_starter
        self.js_timeout = js_timeout
        self.conclusions = conclusions
        self.dispatch = dispatch
        self.limits = limits if limits is not None else Limits()
        #: Queue keys ``(task name, service)`` whose worker polls (the rest are pushed).
        self.polled: set = set()


class Orchestrator(Service):
    """A Conductor-style orchestrator service (see the module docstring).

    ``task_routes`` maps task names to services, ``http_routes`` maps the first URI
    segment of HTTP tasks to services (or is a function of the URI), ``task_defs`` gives
    task definitions (retries, timeouts) by task name (a dict, or a list of TaskDefs).
    ``servers=N`` (N >= 2) makes a cluster instead: N stateless nodes over one store,
    with workflow locks and a sweeper, as Conductor runs (:mod:`.cluster`; its knobs
    ``lock_lease_time``, ``lock_time_to_try``, ``workflow_offset_timeout``, ``max_postpone``,
    ``request_retries`` and ``request_retry_delay`` are accepted only then).
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

    ``dispatch`` is ``"poll"`` (the default) or ``"push"``. Polling is Conductor's model:
    its workers poll the server for tasks of their type, and the server never pushes
    (https://docs.conductor-oss.org/devguide/concepts/workers.html). Under ``"poll"``
    a SIMPLE task served by a :class:`~microlab.orchestration.Worker` (it has a
    polling loop) waits in its type's queue until the worker polls; a task routed to
    a plain :class:`~microlab.services.Service`, which cannot poll, is still sent as a
    command. ``"push"`` sends every task as a command, as other orchestrators do.
    """

    role = "orchestrator"

    service_name = "orchestrator"

    # Defaults on the class, read with plain attribute access: reading self.__dict__ (as
    # this once did) makes CPython 3.11 keep the orchestrator's attributes in a real dict,
    # and every access to them on the hot path is then slower.
    _standby_node = None
    #: (log length, State replayed from the durable log) while the active node is down.
    _replayed = None
    #: Workflow names already warned about for missing inputs (one warning each).
    _warned_inputs = None

    def __new__(cls, *args, servers: int = 1, **kw):
        # Orchestrator(servers=N) is a cluster: its first node, which builds the others
        # and the store (see :mod:`.cluster`). One server is the plain orchestrator.
        if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
            raise MicrolabError(f"Orchestrator: servers is the number of decider nodes, a whole number >= 1, "
                                f"got {servers!r}")
        if servers > 1 and cls is Orchestrator:
            from .cluster import ClusterNode
            return Service.__new__(ClusterNode)
        from .cluster import CLUSTER_KNOBS
        given = sorted(k for k in kw if k in CLUSTER_KNOBS)
        if given and not issubclass(cls, _cluster_node()):
            raise MicrolabError(f"Orchestrator: {', '.join(given)} only apply to a cluster; give servers=2 or more")
        return Service.__new__(cls)

    def __init__(self, name: str | None = None, *, workers: int | None = None, work_time=None,
                 task_routes: dict | None = None, http_routes=None, task_defs=None,
                 standby: bool = False, failover_delay: float = 5.0, log: DurableLog | None = None,
                 notify_starter: bool = False, js_timeout: float = 1.0, conclusions=None,
                 dispatch: str = POLL_MODE, limits: Limits | None = None, broker: str = "broker",
                 servers: int = 1, _peer=None):
        self._standby_node = None
        super().__init__(name, workers=workers, work_time=work_time)
        if _peer is not None:
            # The standby: everything durable or configured is shared with the primary.
            self.log = _peer.log
            self.registry = _peer.registry
            self.settings = _peer.settings
            self.queues = _peer.queues
        else:
            if failover_delay < 0:
                raise ValueError(f"orchestrator {self.name!r}: failover_delay must be >= 0, got {failover_delay!r}")
            if dispatch not in DISPATCH_MODES:
                raise ValueError(f"orchestrator {self.name!r}: dispatch is one of {', '.join(map(repr, DISPATCH_MODES))}"
                                 f" (workers poll for tasks, as in Conductor, or the orchestrator pushes "
                                 f"commands), got {dispatch!r}")
            self.log = log if log is not None else DurableLog()
            #: The task queues polling workers take tasks from (durable, like the log).
            self.queues = TaskQueues()
            self.registry = Registry(_task_defs(task_defs))
            if limits is not None and not isinstance(limits, Limits):
                raise ValueError(f"orchestrator {self.name!r}: limits is a microlab.orchestration.Limits, "
                                 f"got {limits!r}")
            if conclusions is not None and (len(conclusions) != 2 or not all(isinstance(c, str) for c in conclusions)):
                raise ValueError(f"orchestrator {self.name!r}: conclusions is a pair of effect names such as "
                                 f"('complete', 'reject'), got {conclusions!r}")
            self.settings = _Settings(task_routes, http_routes, failover_delay, notify_starter, js_timeout,
                                      conclusions, dispatch, limits)
            #: The broker service EVENT tasks publish through and event handlers listen on.
            self.settings.broker = broker
            #: The event handlers (shared with the standby, like the definitions).
            self.settings.handlers = EventHandlers()
            if self.log.active is None:
                self.log.active = self.name
        self._peer: Orchestrator | None = _peer
        #: Workflow instances and task attempts (in memory: a crash loses them).
        self.state = State()
        settings = self.settings
        self.decider = Decider(Context(self.registry, dispatch=settings.dispatch,
                                       notify_starter=settings.notify_starter, conclusions=settings.conclusions,
                                       route_http=self._route_http, js_timeout=settings.js_timeout,
                                       polled=settings.polled, max_sync_steps=MAX_SYNC_STEPS,
                                       limits=settings.limits, publisher=self._publisher,
                                       handlers=settings.handlers))
        self.polls = PollServer(self)
        self._to_serve: list = []
        self._lease_batch = 1
        #: Polls received and not handled yet (in the mailbox or being worked on): a crash
        #: fails them at their workers at once, as it does the long polls held.
        self._polls_in: dict = {}
        #: The instances' earliest deadlines and the one timer that runs them (:mod:`.wakeups`).
        self._wakes = WakeTimer(self, self._wake_due)
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
        if value is not None:
            self.decider.context.random = value.sim.random
            self.decider.context.tracing = value.trace.enabled
        node = self._standby_node
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

    @property
    def dispatch(self) -> str:
        """How worker tasks reach workers: ``"poll"`` (workers poll task queues) or ``"push"``."""
        return self.settings.dispatch

    def _active_node(self) -> "Orchestrator":
        if self.log.active == self.name or self._peer is None:
            return self
        return self._peer

    @property
    def js(self):
        """This orchestrator's JavaScript engine (a V8 context, made on first use)."""
        return self.decider.js

    @property
    def jq(self):
        """This orchestrator's jq queries (compiled once each)."""
        return self.decider.jq

    def cluster_node(self, name: str) -> "Orchestrator | None":
        """The node called ``name`` among this orchestrator and its standby."""
        if name == self.name:
            return self
        peer = self._peer
        return peer if peer is not None and peer.name == name else None

    def _poll_target(self) -> str | None:
        """Where a worker's poll or update goes now: the active node if it is up, else None.

        A load balancer's choice: it knows (by its health checks) which nodes are up.
        """
        node = self.cluster_node(self.log.active)
        return node.name if node is not None and node.up else None

    def _wake_pollers(self) -> None:
        """A node serves again: polling loops that stopped for want of a server start again."""
        services = self._sys.services
        for task_type, service in sorted(self.settings.polled):
            worker = services.get(service)
            if worker is not None and hasattr(worker, "resume_polling"):
                worker.resume_polling(task_type)

    def _publisher(self, topic: str):
        """``(broker, None)`` when an EVENT task can publish now, else ``(None, why)``."""
        name = self.settings.broker
        broker = self._sys.services.get(name) if self._sys is not None else None
        if broker is None:
            return None, (f"there is no broker service {name!r} in the system; add a "
                          f"microlab.choreography.Broker (or give Orchestrator(broker=...) its name)")
        if not broker.up:
            # Conductor fails an EVENT task whose publish throws; a broker that is down refuses it.
            return None, f"the broker {name!r} is down"
        return name, None

    def _route_http(self, uri: str):
        return Router(self._sys, self.settings.task_routes, self.settings.http_routes).http(uri)

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
        plans = self.registry.add(defs, Router(system, task_routes, self.settings.http_routes))
        if self.settings.dispatch == POLL_MODE:
            self._start_polling(plans)
        return plans

    def _start_polling(self, plans) -> None:
        """Queue every SIMPLE task routed to a Worker, and tell the Worker its types: it polls
        those it implements (a plain Service, which cannot poll, is pushed to)."""
        services = self._sys.services
        primary = self if self._standby_node is not None or self._peer is None else self._peer
        for plan in plans:
            for step in plan.steps.values():
                worker = services.get(step.service) if step.type == m.SIMPLE else None
                if worker is not None and hasattr(worker, "poll_for"):
                    self.settings.polled.add((step.name, step.service))
                    worker.poll_for(step.name, primary)

    def add_event_handlers(self, *handlers) -> list[EventHandler]:
        """Add event handlers (:class:`~.handlers.EventHandler` objects, Conductor JSON dicts, lists, paths).

        Each is checked (its event's provider, its actions' fields, its condition's
        syntax, in the sandbox) and the orchestrator subscribes to each active handler's
        topic on the broker. Raises :class:`~microlab.errors.DefinitionError` naming the
        handler and field at fault, and adds nothing, if anything is wrong.
        """
        from ..errors import DefinitionError
        from .conductor import load_event_handlers
        system = self._sys
        if system is None:
            raise MicrolabError(f"add {self.name!r} to a system before adding event handlers: they "
                                "subscribe to the system's broker")
        found: list = []
        for item in handlers:
            if isinstance(item, EventHandler):
                found.append(item)
            elif isinstance(item, (list, tuple)) and all(isinstance(x, EventHandler) for x in item):
                found.extend(item)
            else:
                found.extend(load_event_handlers(item))
        faults: list = []
        for i, handler in enumerate(found):
            path = f"$[{i}]" if len(found) > 1 else "$"
            here = check_handler(handler, path)
            if not here and handler.condition and handler.evaluator_type != "value-param":
                try:
                    self.js.evaluate(syntax_probe(handler.condition), {}, what="condition")
                except Exception as exc:  # an ExpressionError quoting the probe: say it of the condition
                    text = str(exc).split(" failed: ", 1)[-1]
                    faults.append((f"{path}.condition", f"event handler {handler.name!r}: its condition "
                                                        f"{handler.condition!r} does not parse: {text}"))
            faults.extend(here)
        broker = system.services.get(self.settings.broker)
        if found and broker is None:
            faults.append(("$", f"event handlers listen on a broker, and there is no service "
                                f"{self.settings.broker!r} in the system; add a microlab.choreography.Broker"))
        if faults:
            raise DefinitionError(faults, what="event handler")
        for handler in found:
            self.settings.handlers.add(handler)
            if handler.active:
                broker.subscribe(self.name, handler.topic)
        return found

    def published_topics(self) -> list[str]:
        """The broker topics this orchestrator's EVENT tasks publish to (sinks given as constants).

        The choreography's :func:`~microlab.choreography.describe` reads it, so that an
        event a workflow publishes is not reported as published by nobody.
        """
        from .params import has_expression
        from .sinks import SinkError, broker_topic, expand_sink
        topics = set()
        for plan in self.registry.plans.values():
            for step in plan.steps.values():
                sink = step.task.sink
                if step.type == m.EVENT and isinstance(sink, str) and not has_expression(sink):
                    try:
                        topics.add(broker_topic(expand_sink(sink, plan.name, step.ref)))
                    except SinkError:
                        continue  # validation reported it
        return sorted(topics)

    @property
    def event_handlers(self) -> dict:
        """The event handlers by name."""
        return dict(self.settings.handlers.by_name)

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
        cached = self._replayed
        if cached is None or cached[0] != len(self.log.records):
            cached = (len(self.log.records), State.replay(self.log.records))
            self._replayed = cached
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
        """How far along an instance is: completed tasks out of those on its path so far and
        those not reached yet; for a failed one, also what its failure workflow did."""
        inst = self.instance(key)
        failure = next((i for i in self.workflows(inst.correlation) if i.failure_of == inst.id), None)
        return progress_of(inst, compensation=failure.status if failure is not None else None)

    # -- handlers: each message is one event for the decider -------------------------------------

    def handle(self, msg) -> None:
        """Handle a message if this orchestrator is the active one; else record it as stale."""
        refusal = self._refusal(msg)
        if refusal is not None:
            self._refuse(msg, refusal)
            return
        if msg.kind == EVENT and msg.source == self.settings.broker:
            # A delivery for the event handlers; its identity is the published event's id.
            self._decide(EventReceived(msg.topic, msg.payload, event_id(msg, msg.source), msg))
            return
        super().handle(msg)

    def _refusal(self, msg) -> str | None:
        """Why this node may not handle ``msg`` now (None: it may): a standby is not the active one."""
        if self.log.active != self.name:
            return f"{self.name} is not the active orchestrator ({self.log.active} is)"
        return None

    def _refuse(self, msg, reason: str) -> None:
        """Leave ``msg`` unhandled, for ``reason``: a stale record says so (a cluster node also answers)."""
        self._stale(msg, reason)

    def on_StartWorkflow(self, msg) -> None:
        """Start an instance: payload ``{"name", "input", "version"?, "idempotencyKey"?}``."""
        self._warn_missing_inputs(msg.payload)
        self._decide(Start(msg.payload, msg.source, msg))

    def _warn_missing_inputs(self, payload) -> None:
        # At the edge, not in the decider: a warning is I/O, and the decision is unchanged
        # (the input reads None, as in Conductor). Once per workflow name.
        if not isinstance(payload, dict) or not isinstance(payload.get("input") or {}, dict):
            return
        try:
            plan = self.registry.plan(payload.get("name"), payload.get("version"))
        except Exception:
            return  # the decider reports the unknown workflow
        given = {**(plan.input_template or {}), **(payload.get("input") or {})}
        missing = missing_inputs(plan.definition.input_parameters, given)
        warned = self._warned_inputs
        if warned is None:
            warned = self._warned_inputs = set()
        if missing and plan.name not in warned:
            warned.add(plan.name)
            warnings.warn(MissingInputWarning(missing_input_message(plan.name, missing, given)), stacklevel=2)

    def on_TaskCompleted(self, msg) -> None:
        """A worker did a task: payload ``{"taskId", "output"}``."""
        self._decide(TaskResult(msg.payload, True, msg))

    def on_TaskFailed(self, msg) -> None:
        """A worker failed a task: payload ``{"taskId", "reason", "output"?, "terminal"?}``."""
        self._decide(TaskResult(msg.payload, False, msg))

    def on_CompleteTask(self, msg) -> None:
        """Complete a task from outside (a WAIT without duration): ``{"taskId"}`` or ``{"workflowId"?, "ref"}``.

        Optional ``status`` (COMPLETED or FAILED), ``output`` and ``reason``.
        """
        self._decide(CompleteTask(msg.payload, msg))

    def _receive(self, msg) -> None:
        if msg.type == POLL:
            self._polls_in[msg.id] = msg
        Service._receive(self, msg)

    def on_Poll(self, msg) -> None:
        """A worker polls: ``{"taskType", "count", "timeout", "workerId"}`` (see :mod:`.polling`)."""
        self._polls_in.pop(msg.id, None)
        self.polls.on_poll(msg)

    def on_TerminateWorkflow(self, msg) -> None:
        """Terminate an instance: ``{"workflowId"?, "reason"?}`` (default: the correlation's first)."""
        self._decide(Terminate(msg.payload, msg))

    # -- carrying out decisions ------------------------------------------------------------------

    def _decide(self, event) -> None:
        decider = self.decider
        try:
            actions = decider.decide(self.state, event, self._sys.sim.now)
        except Exception:
            self._apply(decider.actions)  # what was decided before the fault stays durable
            raise
        self._apply(actions)
        serve = self._to_serve
        if serve:
            # Tasks just queued answer the long polls waiting for them, after this
            # decision's actions are all carried out (its wake-ups included).
            self._to_serve = []
            for key in serve:
                self.polls.serve(key)

    def _apply(self, actions) -> None:
        """Carry out the decider's actions, in order (a Commit always precedes its Dispatch)."""
        system = self._sys
        trace = system.trace
        log = self.log.records
        name = self.name
        for action in actions:
            kind = type(action)
            if kind is Commit:
                log.append(action.record)
            elif kind is Record:
                if trace.enabled:
                    trace.records.append((system.sim.now, action.kind, name, action.msg, action.detail))
            elif kind is Wake:
                self._set_wake(action.workflow_id, action.due)
            elif kind is Dispatch:
                run = action.run
                msg = self.send(action.service, run.step.name, action.payload, correlation=run.inst.correlation)
                if trace.enabled:
                    extra = {"service": action.service}
                    if action.resent:
                        extra["resent"] = True
                    trace.records.append((system.sim.now, rec.TASK, name, msg,
                                          task_detail(run, m.IN_PROGRESS, extra)))
            elif kind is Reply:
                self.reply(action.msg, action.type, action.payload)
            elif kind is Send:
                if action.to in system.services:
                    self.send(action.to, action.type, action.payload, kind=action.kind,
                              correlation=action.correlation)
            elif kind is Enqueue or kind is Lease:
                self._apply_queue(action)
            elif kind is Publish:
                run = action.run
                self.send(action.broker, action.type, action.payload, kind=EVENT, topic=action.topic,
                          correlation=run.inst.correlation)
            elif kind is Ack:
                self.reply(action.msg, ack_type(action.msg.type))
            else:
                raise MicrolabError(f"{name}: the decider asked for an unknown action {action!r}")

    def _apply_queue(self, action) -> None:
        run = action.run
        if type(action) is Enqueue:
            self.queues.push(action.queue, run.task_id, self._sys.sim.now, self._context)
            self._to_serve.append(action.queue)
            return
        payload = dict(action.payload)
        payload["polled"] = True
        payload["leased"] = self._lease_batch
        poll = action.poll
        # The worker's client matches the task to its poll by the poll's id; the task's
        # causation is the message whose handling scheduled it, so that a transaction's
        # causation chain runs decision, lease, update, next decision, as under push (the
        # poll is the worker's own loop, in no transaction: a chain through it would
        # restart at every step).
        payload["pollId"] = poll.id if poll is not None else None
        cause = self.queues.causes.pop(run.task_id, None)
        saved = self._context
        self._context = cause if cause is not None else poll
        try:
            msg = self.send(action.worker, run.step.name, payload, kind=REPLY, correlation=run.inst.correlation)
        finally:
            self._context = saved
        trace = self._sys.trace
        if trace.enabled:
            trace.records.append((self._sys.sim.now, rec.TASK, self.name, msg,
                                  task_detail(run, m.IN_PROGRESS, {"service": action.worker, "polled": True})))

    # -- the one timer ---------------------------------------------------------------------------

    def _set_wake(self, wf_id: str, due) -> None:
        self._wakes.set(wf_id, due, self._context)

    def _wake_due(self, wf_id: str, cause) -> None:
        # The decision runs as if still handling the message that set the deadline
        # (a retry's command is caused by the failure that asked for it).
        self._context = cause
        try:
            self._decide(TimerFired(wf_id))
        finally:
            self._context = None

    def _forget_wakes(self) -> None:
        self._wakes.clear()

    # -- crash, takeover and restart -------------------------------------------------------------

    def on_crash(self) -> None:
        """Forget everything in memory; the durable log keeps the state. Warn the standby.

        Workers' long polls break at once (:meth:`PollServer.break_polls`)."""
        self.state = State()
        self._forget_wakes()
        self._to_serve = []
        lost = list(self._polls_in.values())
        self._polls_in.clear()
        self.polls.break_polls(lost + self._sys.network.on_the_wire_to(self.name))
        peer = self._peer
        if peer is not None and self.log.active == self.name:
            # The standby notices the silence after failover_delay (a heartbeat timeout).
            peer.after(self.settings.failover_delay, peer._peer_silent, self.incarnation)

    def _peer_silent(self, incarnation: int) -> None:
        peer = self._peer
        if (self.up and not peer.up and peer.incarnation == incarnation
                and self.log.active == peer.name):
            self._recover(previous=peer.name)

    def on_restart(self) -> None:
        """Replay the log and resume if still the active one; else stay the standby."""
        if self.log.active == self.name:
            # Through a timer at this instant, so that a failure is recorded, not raised.
            self.after(0.0, self._recover, self.name)
            return
        self._sys.trace.record(self._sys.sim.now, rec.ROLE, self.name, role="standby",
                               active=self.log.active)
        peer = self._peer
        if peer is not None and not peer.up:
            self.after(self.settings.failover_delay, self._peer_silent, peer.incarnation)

    def _recover(self, previous: str) -> None:
        """Become active: rebuild the state from the log, then resume every running instance."""
        self.log.active = self.name
        self.state = State.replay(self.log.records)
        self._forget_wakes()
        running = self.state.running()
        self._sys.trace.record(self._sys.sim.now, rec.TAKEOVER, self.name, previous=previous,
                               records=len(self.log.records), resumed=len(running))
        for inst in running:
            self._decide(Resume(inst.id))
        self._wake_pollers()

    def _stale(self, msg, reason: str, **extra) -> None:
        # The one writer of a refusal's record, for a standby, a cluster node and a down store.
        self._sys.trace.record(self._sys.sim.now, rec.STALE, self.name, msg, correlation=msg.correlation,
                               reason=reason, **extra)


def _cluster_node():
    from .cluster import ClusterNode
    return ClusterNode


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
