"""Task workers: the services that do a workflow's SIMPLE and HTTP tasks.

Write a worker as a class with one method per task name. The method receives the
task's input (a dict) and returns its output (a dict), or raises :class:`TaskFailed`::

    class Payment(Worker):
        def charge_payment(self, input):
            if input["amount"] > 1000:
                raise TaskFailed("card declined", terminal=True)   # no retry helps
            self.effect("charge", amount=input["amount"])         # a business effect
            return {"chargeId": f"ch-{input['orderId']}"}

        def refund_payment(self, input):
            self.effect("refund")
            return {}

Every public method defined on the subclass serves the task of the same name (name
helpers with a leading underscore). The orchestrator's command has the task name as
its message type; the worker answers with a ``TaskCompleted`` reply (payload
``{"taskId", "output"}``) or a ``TaskFailed`` reply (``{"taskId", "reason", "output",
"terminal"}``). ``self.task_call`` describes the task being done (id, workflow, attempt,
and for an HTTP task the request: method, path, query, headers, body).

Failures for experiments: ``worker.fail("book_shipment", times=2)`` fails the first
two attempts of that task (by name or reference name) and ``times=None`` fails every
attempt; ``worker.fail_rate("charge_payment", 0.1)`` fails one attempt in ten at
random (drawn from the simulation's generator, so runs repeat).

Polling, as Conductor's workers do: when the orchestrator runs with ``dispatch="poll"``
(its default), registering a workflow tells each worker which task types are routed to
it, and the worker polls for those it implements (a method for it, or a
``default_task`` of its own that does any task), as conductor-python runs one
``TaskRunner`` per worker, polling that worker's task type
(https://github.com/conductor-sdk/conductor-python/blob/main/src/conductor/client/automator/task_handler.py).
A type routed to it that it does not implement yet is not polled (registering warns,
:class:`UnpolledTaskWarning`): its tasks wait SCHEDULED in their queue, until
``pollTimeoutSeconds`` times them out if set. A polling worker that learns a task
(``worker.task(name, fn)``: its new version deployed) polls for it from then on.

Per task type the worker runs a pool of ``thread_count`` threads (default: its
``workers``, 1 unless set; conductor-python's ``thread_count`` and the Java client's
per-type thread count both default to 1) and one polling loop, as conductor-python's
``TaskRunner`` does
(https://github.com/conductor-sdk/conductor-python/blob/main/src/conductor/client/automator/task_runner.py):

- it sends ``Poll`` ``{"taskType", "count", "timeout", "workerId"}``, where ``count``
  is the type's free threads, and the server holds the poll up to ``poll_timeout``
  seconds (a long poll; 100 ms by default, as the SDK's);
- after a poll that brought tasks it polls again at once if threads are still free;
  with every thread busy it polls as soon as one finishes its task (the SDK checks every
  millisecond);
- after an empty poll it backs off 2, 4, 8, ... ms, at most ``polling_interval``
  seconds (the SDK's ``poll_interval``, 100 ms by default), before it polls again.

A polled task arrives as a reply whose type is the task name, naming its poll
(``pollId``); its causation is the message that made the decision to schedule it, so a
transaction's causation chain (and its hops) is the same as when pushed. The worker's update goes
to whichever node serves it now (a load balancer's choice), not necessarily the one that
leased the task. An empty poll that says the server is idle (no workflow running at
all), or ``idle_polls`` empty polls in a row, pause the loop until a task of its type is
queued: without that, a simulated run could never end.

``Worker(idempotent=True)`` remembers what it answered, keyed by the request's
``Idempotency-Key`` header when there is one, else by workflow and task reference: a
duplicate command (a network duplicate, a retry after a lost reply, a command re-sent
by a standby orchestrator) gets the same answer again, without doing the work twice.

One unit, longer than most modules, because a worker's push and poll paths share its
task calls, its effects and what a crash loses; split, the two paths would drift apart.
"""

from __future__ import annotations

import inspect
import re
import warnings

from ..errors import MicrolabError
from ..messages import REPLY, Message
from ..services import HOOKS, Service, ServiceDefinitionError, register

_WORKER_PURPOSE = {"crash": "worker.crash() crashes the service", "restart": "it restarts the service",
                   "fail": "worker.fail(task) injects failures", "fail_rate": "it injects random failures",
                   "task": "worker.task(name, fn) registers a task", "task_call": "it describes the task being done",
                   "effect": "it records a business effect", "reply": "it answers the orchestrator",
                   "send": "it sends messages", "after": "it sets timers"}

#: Reply types a worker sends back to the orchestrator.
TASK_COMPLETED = "TaskCompleted"
TASK_FAILED = "TaskFailed"
#: Polling (see :mod:`~microlab.orchestration.polling`).
POLL = "Poll"
NO_TASK = "NoTask"
#: A poll unanswered this long after its long-poll timeout is given up: the network lost it or
#: its answer (a server that crashes breaks its polls at once, see PollServer.break_polls).
POLL_GRACE = 1.0


class UnpolledTaskWarning(UserWarning):
    """A workflow routes a task to a worker that has no method for it: its tasks will wait in their queue."""


class TaskFailed(Exception):
    """Raise in a task method to fail the task with ``reason``.

    ``terminal=True`` means retrying cannot help (Conductor's FAILED_WITH_TERMINAL_ERROR);
    ``output`` is kept as the failed task's output; ``status_code`` is what an HTTP
    task's response reports (default 500).
    """

    def __init__(self, reason: str = "task failed", *, output: dict | None = None,
                 terminal: bool = False, status_code: int = 500):
        super().__init__(reason)
        self.reason = reason
        self.output = output
        self.terminal = terminal
        self.status_code = status_code


class TaskCall:
    """What a worker knows about the task it is doing (``self.task_call`` inside a task method)."""

    __slots__ = ("message", "task_id", "workflow_id", "ref", "name", "type", "attempt", "input",
                 "request", "compensation")

    def __init__(self, msg: Message):
        p = msg.payload
        self.message = msg
        self.task_id = p.get("taskId")
        self.workflow_id = p.get("workflowId")
        self.ref = p.get("ref")
        self.name = p.get("name", msg.type)
        self.type = p.get("type", "SIMPLE")
        self.attempt = p.get("attempt", 1)
        self.input = p.get("input") or {}
        self.request = p.get("request")
        self.compensation = bool(p.get("compensation"))

    @property
    def correlation(self):
        """The business transaction (the workflow's correlation id)."""
        return self.message.correlation

    @property
    def idempotency_key(self) -> str:
        """The request's Idempotency-Key header, else ``workflowId/ref``."""
        if self.request:
            headers = self.request.get("headers") or {}
            key = headers.get("Idempotency-Key") or headers.get("idempotency-key")
            if key:
                return str(key)
        return f"{self.workflow_id}/{self.ref}"

    def __repr__(self) -> str:
        return f"<TaskCall {self.name} ({self.ref}) attempt {self.attempt} of {self.workflow_id}>"


class Worker(Service):
    """A service that does workflow tasks: one method per task name (see the module docstring).

    Lifecycle: like any :class:`~microlab.services.Service`. ``fail``/``fail_rate`` plans
    and, with ``idempotent=True``, the answers it remembers, survive a crash (they stand
    for configuration and its database). A task whose name is taken by the Worker API
    (``crash``, ``fail``, ``task``, ...) is served by a method of another name registered
    in ``__init__``: ``self.task("crash", self.crash_task)``.
    """

    role = "worker"

    #: Worker methods a subclass may replace (the rest are the Worker API).
    OVERRIDABLE = ("default_task", "serves", "handle")

    def __init_subclass__(cls, **kwargs):
        # Checked before Service's own check, so a task method named like the API gets
        # the advice that fits a worker (register the task under another method name).
        taken = [attr for attr, value in vars(cls).items()
                 if inspect.isfunction(value) and not attr.startswith("_") and attr not in cls.OVERRIDABLE
                 and attr not in HOOKS and hasattr(Worker, attr) and getattr(Worker, attr) is not value]
        if taken:
            name = taken[0]
            raise ServiceDefinitionError(
                f"class {cls.__name__} defines {name}(), but {name} is part of the Worker API "
                f"({_WORKER_PURPOSE.get(name, 'the worker uses it')}), so it cannot also be a task. "
                f"To serve a task named {name!r}, give the method another name and register it in "
                f"__init__: self.task({name!r}, self.{name}_task)")
        super().__init_subclass__(**kwargs)

    #: The longest back-off after empty polls, in seconds (conductor-python's poll_interval, 100 ms).
    polling_interval: float = 0.1
    #: Seconds the server may hold a poll open waiting for a task (a long poll; the SDK's 100 ms).
    poll_timeout: float = 0.1
    #: After this many empty polls in a row a loop pauses until a task of its type is queued.
    idle_polls: int = 10

    def __init__(self, name: str | None = None, *, workers: int | None = None, work_time=None,
                 idempotent: bool = False, polling_interval: float | None = None,
                 poll_timeout: float | None = None, thread_count: int | None = None):
        super().__init__(name, workers=workers, work_time=work_time)
        self.idempotent = idempotent
        if polling_interval is not None:
            if not isinstance(polling_interval, (int, float)) or polling_interval <= 0:
                raise ValueError(f"worker {self.name!r}: polling_interval is a number of seconds > 0, "
                                 f"got {polling_interval!r}")
            self.polling_interval = float(polling_interval)
        if poll_timeout is not None:
            if not isinstance(poll_timeout, (int, float)) or not 0 <= poll_timeout <= 5:
                raise ValueError(f"worker {self.name!r}: poll_timeout is between 0 and 5 seconds (Conductor's "
                                 f"limit for a long poll), got {poll_timeout!r}")
            self.poll_timeout = float(poll_timeout)
        if thread_count is not None and (isinstance(thread_count, bool) or not isinstance(thread_count, int)
                                         or thread_count < 1):
            raise ValueError(f"worker {self.name!r}: thread_count is the number of threads per task type, "
                             f"a whole number >= 1, got {thread_count!r}")
        #: Threads per task type when polling (each type has its own pool, as in Conductor's clients).
        self.thread_count = self.workers if thread_count is None else thread_count
        #: Task type -> the orchestrator it polls (set by orchestrator.register with dispatch="poll").
        self.polled: dict = {}
        # Task type -> orchestrator, for types routed here that this worker does not implement
        # (yet): not polled, as a Conductor worker never polls a type it has no code for.
        self._routed: dict = {}
        # Per task type: the outstanding poll's (message id, count, guard), None, PARKED or FULL.
        self._poll_state: dict = {}
        # Per task type: threads taken, by a poll out or by a leased task not finished yet
        # (the Java client's PollingSemaphore).
        self._taken: dict = {}
        self._wanted: set = set()
        self._empty_streak: dict = {}
        #: Task name -> bound method that does it.
        self.task_methods: dict = {}
        base = set(dir(Worker))
        for cls in reversed(type(self).__mro__):
            if not issubclass(cls, Worker) or cls is Worker:
                continue
            for attr, value in vars(cls).items():
                if inspect.isfunction(value) and not attr.startswith(("_", "on_")) and attr not in base:
                    self.task_methods[attr] = getattr(self, attr)
        self._fail_times: dict = {}
        self._fail_rates: dict = {}
        #: Remembered answers by idempotency key (with ``idempotent=True``).
        self.answers: dict = {}
        self._task: TaskCall | None = None

    # -- declaring ------------------------------------------------------------------------

    def serves(self) -> list[str]:
        """The task names this worker does, in alphabetical order."""
        return sorted(self.task_methods)

    def task(self, name: str, fn=None):
        """Serve task ``name`` with ``fn(input) -> output``; without ``fn``, a decorator.

        A polling worker that learns a task while it runs (its new version deployed)
        starts polling for it at once, as a Conductor worker polls its task type from its
        start, whether or not a workflow schedules that type yet.
        """
        if fn is None:
            return lambda f: self.task(name, f)
        register(self.task_methods, name, fn)
        orchestrator = self._routed.pop(name, None)
        if orchestrator is None and self.polled:
            orchestrator = next(iter(self.polled.values()))   # the server it polls for its other types
        if orchestrator is not None:
            self.poll_for(name, orchestrator)
        return fn

    def fail(self, task: str, times: int | None = None, reason: str | None = None) -> None:
        """Fail task ``task`` (name or reference name): its first ``times`` attempts, or all (None)."""
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError(f"{self.name}.fail({task!r}, times=...): times must be a whole number "
                             f">= 0, or None for every attempt; got {times!r}")
        self._fail_times[task] = (times, reason or f"{task} failed (injected by {self.name}.fail)")

    def fail_rate(self, task: str, probability: float, reason: str | None = None) -> None:
        """Fail each attempt of task ``task`` with ``probability`` (drawn from the simulation)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"{self.name}.fail_rate({task!r}, ...): probability must be between 0 and 1, "
                             f"got {probability!r}")
        self._fail_rates[task] = (probability, reason or f"{task} failed (injected by {self.name}.fail_rate)")

    @property
    def task_call(self) -> TaskCall | None:
        """The task being done right now (None outside a task method)."""
        return self._task

    # -- polling ---------------------------------------------------------------------------

    def poll_for(self, task_type: str, orchestrator) -> None:
        """Poll ``orchestrator`` for tasks of ``task_type`` from now on, if this worker implements
        it; else from when it learns it (:meth:`task`). Register calls this for each task routed here."""
        if task_type in self.polled:
            return
        if not self._implements(task_type):
            if task_type not in self._routed:
                # Conductor says nothing here (a task type without a worker is legal); a
                # learner who forgot a method would otherwise see a workflow that never ends.
                warnings.warn(UnpolledTaskWarning(
                    f"task {task_type!r} is routed to worker {self.name!r}, which has no method for it, so "
                    f"{self.name} does not poll for it: its tasks wait SCHEDULED in their queue until {self.name} "
                    f"learns it (def {task_type}(self, input): ..., or {self.name}.task({task_type!r}, fn)), or "
                    f"until their pollTimeoutSeconds times them out. It serves: "
                    f"{', '.join(self.serves()) or 'nothing yet'}."), stacklevel=4)
            self._routed[task_type] = orchestrator
            return
        self.polled[task_type] = orchestrator
        self._poll_state[task_type] = _PARKED
        self._taken[task_type] = 0
        # Each type has its own pool of threads: the service can run them all at once.
        self.workers = max(self.workers, self.thread_count * len(self.polled))
        self.resume_polling(task_type)

    def resume_polling(self, task_type: str) -> None:
        """Start polling again for a type that was parked (work arrived while it was idle)."""
        state = self._poll_state.get(task_type)
        if isinstance(state, tuple):
            self._wanted.add(task_type)  # an "idle" answer already on its way must not park the loop
            return
        # A worker that is down polls nothing; its restart starts every loop again.
        if state is _PARKED and self.system is not None and self.up:
            self._poll_state[task_type] = None
            self.system.sim.schedule(0.0, self._poll_tick, (self.incarnation, task_type))

    def _implements(self, task_type: str) -> bool:
        # A method for the type, or a default_task of the subclass's own that does any task
        # (ToyWorker's); Worker's own default_task only explains what is missing.
        return task_type in self.task_methods or type(self).default_task is not Worker.default_task

    def free_threads(self, task_type: str) -> int:
        """Threads of ``task_type``'s pool that no poll and no task in hand holds now."""
        return self.thread_count - self._taken.get(task_type, 0)

    def _poll_tick(self, token) -> None:
        incarnation, task_type = token
        if incarnation != self.incarnation:
            return
        if not self.up:
            self._poll_state[task_type] = _PARKED
            return
        if self._poll_state.get(task_type) is not None:
            return  # a poll is out, or the loop is parked or waits for a thread
        free = self.thread_count - self._taken[task_type]
        if free <= 0:
            # Every thread has a task: poll again the moment one finishes (_release).
            self._poll_state[task_type] = _FULL
            return
        node = self.polled[task_type]._poll_target()
        if node is None:
            # No node is up (the load balancer knows): wait until one comes back, rather
            # than poll into the void for ever; the node that recovers wakes the loop.
            self._poll_state[task_type] = _PARKED
            return
        system = self.system
        msg = self.send(node, POLL, {"taskType": task_type, "count": free, "timeout": self.poll_timeout,
                                     "workerId": self.name}, correlation=None)
        # A cancellable guard: a poll answered in time leaves nothing behind in the heap.
        guard = system.sim.timer(self.poll_timeout + POLL_GRACE, self._poll_lost, (incarnation, task_type, msg.id))
        self._poll_state[task_type] = (msg.id, free, guard)
        self._taken[task_type] += free

    def _poll_lost(self, token) -> None:
        incarnation, task_type, mid = token
        state = self._poll_state.get(task_type)
        if incarnation != self.incarnation or not isinstance(state, tuple) or state[0] != mid:
            return
        self._poll_answered(task_type, state, None, 0)  # no answer: the node may be down; poll again

    def _poll_answered(self, task_type: str, state, msg, leased: int) -> None:
        # The threads the poll held and got no task for are free again.
        self._taken[task_type] = max(self._taken[task_type] - (state[1] - leased), 0)
        if msg is not None:
            state[2].cancel()
        self._poll_state[task_type] = None
        wanted = task_type in self._wanted
        self._wanted.discard(task_type)
        if msg is None:
            self.system.sim.schedule(self.polling_interval, self._poll_tick, (self.incarnation, task_type))
            return
        if leased:
            self._empty_streak[task_type] = 0
            # Tasks came: poll again at once for the threads still free (the SDK does not sleep).
            self.system.sim.schedule(0.0, self._poll_tick, (self.incarnation, task_type))
            return
        streak = self._empty_streak[task_type] = self._empty_streak.get(task_type, 0) + 1
        if not wanted and ((msg.payload or {}).get("idle") or streak >= self.idle_polls):
            self._poll_state[task_type] = _PARKED
            self._empty_streak[task_type] = 0
            return
        # conductor-python's back-off after empty polls: 2, 4, 8, ... ms, at most poll_interval.
        delay = min(0.001 * 2 ** min(streak, 10), self.polling_interval)
        self.system.sim.schedule(delay, self._poll_tick, (self.incarnation, task_type))

    def _release(self, task_type) -> None:
        """A polled task of ``task_type`` is done (answered or not): its thread is free."""
        taken = self._taken.get(task_type)
        if not taken:
            return
        self._taken[task_type] = taken - 1
        if self._poll_state.get(task_type) is _FULL:
            self._poll_state[task_type] = None
            self.system.sim.schedule(0.0, self._poll_tick, (self.incarnation, task_type))

    def _receive(self, msg: Message) -> None:
        if msg.kind == REPLY and self._poll_state:
            # A leased task names its poll in the payload (its causation is the decision
            # that scheduled it); an empty answer is a plain reply to the poll.
            payload = msg.payload
            mid = payload.get("pollId", msg.causation) if type(payload) is dict else msg.causation
            for task_type, state in self._poll_state.items():
                if isinstance(state, tuple) and state[0] == mid:
                    leased = (msg.payload or {}).get("leased", 1) if msg.type != NO_TASK else 0
                    self._poll_answered(task_type, state, msg, min(leased, state[1]))
                    break
            if msg.type == NO_TASK:
                return  # the client library reads it; no worker thread is needed
        super()._receive(msg)

    def _handle(self, msg: Message) -> None:
        incarnation = self.incarnation
        super()._handle(msg)
        payload = msg.payload
        if self._taken and type(payload) is dict and payload.get("polled") and incarnation == self.incarnation:
            self._release(payload.get("name", msg.type))

    def on_crash(self) -> None:
        """Polls out and tasks in hand are lost; the loops start again at restart."""
        for task_type in self._poll_state:
            self._poll_state[task_type] = _PARKED
            self._taken[task_type] = 0

    def on_restart(self) -> None:
        """Start every poll loop again."""
        for task_type in list(self._poll_state):
            self.resume_polling(task_type)

    def _answer(self, msg: Message, type: str, payload: dict) -> None:
        if isinstance(msg.payload, dict) and msg.payload.get("polled") and msg.source != self.name:
            orchestrator = self.polled.get(msg.payload.get("name"))
            node = orchestrator._poll_target() if orchestrator is not None else None
            if node is not None:
                self.send(node, type, payload, kind=REPLY, correlation=msg.correlation)
                return
        self.reply(msg, type, payload)

    # -- running ---------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """Do a task command (its type is the task name); other messages go to ``on_<Type>``."""
        payload = msg.payload
        if not (isinstance(payload, dict) and "taskId" in payload):
            return super().handle(msg)
        call = TaskCall(msg)
        if self.idempotent:
            key = call.idempotency_key
            answer = self.answers.get(key)
            if answer is not None:
                # A duplicate: answer as before, without doing the work (or its effects) again.
                self._answer(msg, TASK_COMPLETED, {"taskId": call.task_id, **answer})
                return
        try:
            output = self._do(call)
        except TaskFailed as failure:
            self._answer(msg, TASK_FAILED, {"taskId": call.task_id, "reason": failure.reason,
                                          "output": failure.output or {}, "terminal": failure.terminal,
                                          "statusCode": failure.status_code})
            return
        answer = {"output": output}
        if self.idempotent:
            self.answers[call.idempotency_key] = answer
        self._answer(msg, TASK_COMPLETED, {"taskId": call.task_id, **answer})

    def _do(self, call: TaskCall) -> dict:
        self._injected_failure(call)
        method = self.task_methods.get(call.name)
        if method is None:
            method = self.default_task
        self._task = call
        try:
            output = method(call.input)
        finally:
            self._task = None
        if output is None:
            output = {}
        if not isinstance(output, dict):
            raise MicrolabError(f"{self.name}.{call.name} returned {output!r}; a task's output must be "
                                "a dict (or None for no output)")
        return output

    def _injected_failure(self, call: TaskCall) -> None:
        # A task whose reference name is its name is looked up once, not twice (else
        # a failure rate would be drawn twice per attempt).
        for key in dict.fromkeys((call.ref, call.name)):
            plan = self._fail_times.get(key)
            if plan is not None:
                times, reason = plan
                if times is None or call.attempt <= times:
                    raise TaskFailed(reason)
            rate = self._fail_rates.get(key)
            if rate is not None and self.random.random() < rate[0]:
                raise TaskFailed(rate[1])

    def default_task(self, input: dict) -> dict:
        """Called for a task this worker has no method for: explains what to write."""
        call = self._task
        raise MicrolabError(
            f"{self.name} received task {call.name!r} but has no method for it. Write "
            f"def {call.name}(self, input): ... returning a dict, or register one with "
            f"{self.name}.task({call.name!r}, fn). It serves: {', '.join(self.serves()) or 'nothing yet'}.")


_PARKED = "parked"
_FULL = "full"
#: The suffix a DO_WHILE iteration adds to its tasks' reference names.
_ITERATION = re.compile(r"__\d+$")


class ToyWorker(Worker):
    """A worker that does any task sent to it: the command line's stand-in for real services.

    ``outputs`` maps a task's reference name (or name) to the output it returns (default
    ``{}``). For an HTTP task the output is the response body, and a ``status=NNN``
    query parameter of 400 or more makes it fail with that status code, like httpbin.
    """

    def __init__(self, name: str, *, outputs: dict | None = None, **kw):
        super().__init__(name, **kw)
        self.outputs = dict(outputs or {})

    def serves(self) -> list[str]:
        """Nothing by name: a toy worker is routed to explicitly."""
        return []

    def default_task(self, input: dict) -> dict:
        """Return the configured output, or fail as an HTTP ``status`` query asks."""
        call = self._task
        if call.request:
            status = call.request.get("query", {}).get("status")
            if status is not None and str(status).isdigit() and int(status) >= 400:
                raise TaskFailed(f"HTTP {status} from {call.request.get('path')}", status_code=int(status))
        # A DO_WHILE iteration's reference ends in __N: its plan is the task's own.
        base = _ITERATION.sub("", call.ref) if isinstance(call.ref, str) else call.ref
        for key in (call.ref, base, call.name):
            if key in self.outputs:
                return self.outputs[key]
        return {}
