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

``Worker(idempotent=True)`` remembers what it answered, keyed by the request's
``Idempotency-Key`` header when there is one, else by workflow and task reference: a
duplicate command (a network duplicate, a retry after a lost reply, a command re-sent
by a standby orchestrator) gets the same answer again, without doing the work twice.
"""

from __future__ import annotations

import inspect

from ..errors import MicrolabError
from ..messages import Message
from ..services import HOOKS, Service, ServiceDefinitionError

_WORKER_PURPOSE = {"crash": "worker.crash() crashes the service", "restart": "it restarts the service",
                   "fail": "worker.fail(task) injects failures", "fail_rate": "it injects random failures",
                   "task": "worker.task(name, fn) registers a task", "task_call": "it describes the task being done",
                   "effect": "it records a business effect", "reply": "it answers the orchestrator",
                   "send": "it sends messages", "after": "it sets timers"}

#: Reply types a worker sends back to the orchestrator.
TASK_COMPLETED = "TaskCompleted"
TASK_FAILED = "TaskFailed"


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

    def __init__(self, name: str | None = None, *, workers: int | None = None, work_time=None,
                 idempotent: bool = False):
        super().__init__(name, workers=workers, work_time=work_time)
        self.idempotent = idempotent
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
        """Serve task ``name`` with ``fn(input) -> output``; without ``fn``, a decorator."""
        if fn is None:
            def decorator(f):
                self.task_methods[name] = f
                return f
            return decorator
        self.task_methods[name] = fn
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
                self.reply(msg, TASK_COMPLETED, {"taskId": call.task_id, **answer})
                return
        try:
            output = self._do(call)
        except TaskFailed as failure:
            self.reply(msg, TASK_FAILED, {"taskId": call.task_id, "reason": failure.reason,
                                          "output": failure.output or {}, "terminal": failure.terminal,
                                          "statusCode": failure.status_code})
            return
        answer = {"output": output}
        if self.idempotent:
            self.answers[call.idempotency_key] = answer
        self.reply(msg, TASK_COMPLETED, {"taskId": call.task_id, **answer})

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
        for key in (call.ref, call.name):
            if key in self.outputs:
                return self.outputs[key]
        return {}
