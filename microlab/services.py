"""Services: named actors with handlers, a mailbox, workers and a work time.

Writing a service
-----------------
Subclass :class:`Service` and name a method after each message type it handles::

    class Payment(Service):
        def on_Charge(self, msg):
            self.reply(msg, "Charged", {"amount": msg.payload["amount"]})

or register plain functions on an instance: ``payment.on("Charge", fn)`` (also usable
as a decorator). Inside a handler, ``send``, ``reply`` and ``after`` inherit the
correlation id of the message being handled, and record it as their causation.

How a message is handled
------------------------
A delivered message waits in the mailbox until one of the ``workers`` is free. The
worker then spends a ``work_time`` (a distribution; None means instant) and, at the
*end* of that time, runs the handler: its sends and state changes happen at that
instant. The trace records ``start`` when a worker takes the message and ``end`` (or
``fail``) when the handler has run.

Crash and restart
-----------------
``crash()`` takes the service down at once: the messages in its mailbox and the ones
its workers were handling are lost (each gets a ``lost`` record), its pending timers
are cancelled, and messages that arrive while it is down are dropped by the network
("payment is down"). The service's attributes survive: they stand for its database.
Override :meth:`Service.on_crash` to forget what would live only in memory.
``restart()`` brings it back with an empty mailbox and calls :meth:`Service.on_restart`.
A handler may call ``self.crash()`` to model dying half-way through its work: the
handler stops right there, and whatever it had not done yet never happens.

A handler that raises does not stop the run: the failure is recorded against the
message (a ``fail`` record, and ``system.failures``), and the service goes on with the
next message.

One unit, longer than most modules, because the mailbox, the workers, handler dispatch
and crash/restart are one actor's life cycle on the kernel's hot path, tuned together.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from .distributions import as_distribution
from .errors import MicrolabError, UnknownServiceError
from .messages import COMMAND, EVENT, REPLY, Message
from .trace import CRASH, EFFECT, END, LOST, RESTART, START

_new = object.__new__


#: Service methods a subclass must not replace: the simulation relies on them.
SERVICE_API = ("after", "crash", "current", "effect", "emit", "now", "random", "reply", "restart")
#: Lifecycle hooks named like handlers (``on_start`` is not a message type "start").
HOOKS = ("on_start", "on_crash", "on_restart")


class ServiceDefinitionError(MicrolabError, TypeError):
    """A service class or instance hides part of the Service API; the message names it."""


def api_shadowing(cls, names) -> list[str]:
    """The names in ``names`` that would hide the Service API on ``cls`` (see :data:`SERVICE_API`)."""
    found = []
    for name in names:
        if name.startswith("_") or not hasattr(Service, name) or name in HOOKS:
            continue
        if name in SERVICE_API:
            found.append(name)
        elif not callable(getattr(cls, name, None)) and callable(getattr(Service, name, None)):
            found.append(name)  # e.g. ``send = None`` or ``handle = {}``: a method replaced by data
    return found


def instance_shadowing(service) -> list[str]:
    """The attributes set on ``service`` itself that hide the Service API (see :data:`SERVICE_API`).

    Read through ``getattr`` and never through ``vars(service)``: reading an instance's
    ``__dict__`` makes CPython 3.11 turn its inline attribute values into a real dict, and
    every attribute access on that service is then slower for the rest of the run (13-20%
    on the kernel benchmark). An attribute the instance set shows up as a value other than
    the class's own method bound to it.
    """
    cls = type(service)
    found = []
    for name in SERVICE_API + ("send", "handle", "on"):
        declared = getattr(cls, name, None)
        if isinstance(declared, property):
            continue  # a data descriptor: an instance attribute cannot hide it
        seen = getattr(service, name, None)
        if getattr(seen, "__func__", None) is declared and getattr(seen, "__self__", None) is service:
            continue  # the class's method, bound to this service
        if seen is declared and not callable(declared):
            continue  # a plain class attribute, untouched
        if name in SERVICE_API or not callable(seen):
            found.append(name)
    return found


def _shadowing_message(owner: str, names: list[str]) -> str:
    listed = ", ".join(f"{n!r}" for n in names)
    return (f"{owner} defines {listed}, which {'is' if len(names) == 1 else 'are'} part of the Service API "
            f"(self.{names[0]} is what the simulation uses to {_API_PURPOSE.get(names[0], 'run the service')}); "
            f"rename it, e.g. {names[0]}_ or my_{names[0]}")


_API_PURPOSE = {"effect": "record a business effect", "random": "draw from the simulation's random generator",
                "now": "read the simulated time", "send": "send a message", "reply": "answer a message",
                "emit": "publish an event", "after": "set a timer", "crash": "crash the service",
                "restart": "restart the service", "current": "know the message being handled",
                "handle": "dispatch a message to its handler", "on": "register a handler"}


def register(table: dict, key, fn=None):
    """Put ``fn`` in ``table`` under ``key`` and return it; without ``fn``, a decorator that does.

    What ``Service.on`` (handlers by message type) and ``Worker.task`` (task methods by
    task name) both do, so that either works as a call or as ``@service.on("Type")``.
    """
    if fn is None:
        def decorator(f):
            table[key] = f
            return f
        return decorator
    table[key] = fn
    return fn


class NoHandlerError(MicrolabError):
    """A service received a message type it has no handler for."""


class _CrashUnwind(BaseException):
    """Raised inside a handler that crashed its own service, to stop the handler there.

    A BaseException, so that a learner's ``except Exception`` cannot swallow a crash.
    """


class Service:
    """A named service: handlers per message type, a mailbox, workers and a work time.

    Lifecycle: construct, add to a :class:`~microlab.system.System` (``on_start`` runs
    at the simulated time it was added), handle messages; may be crashed and restarted
    any number of times.
    """

    # The state the hot path reads and writes per message, in slots: Python reads a slot
    # as fast as an instance attribute, and the compiled hot path (microlab.hotpath) reads
    # it at a fixed offset. Everything else (and a subclass's own attributes) goes in the
    # instance's __dict__ as usual. (An engine that makes ``system`` a property keeps it
    # there; the compiled path never reads a service's ``system``.)
    __slots__ = ("name", "up", "busy", "incarnation", "_context", "mailbox", "handlers",
                 "system", "_working", "_direct_send", "__dict__", "__weakref__")

    #: What this service is in its pattern, declared by the engines (``"orchestrator"``,
    #: ``"broker"``, ``"worker"``, ``"participant"``, ``"owner"``, ``"listener"``,
    #: ``"client"``); None for a plain service. Figures group services by it
    #: (:func:`microlab.analysis.roles`), instead of guessing from class names.
    role: str | None = None

    #: Default number of messages handled at once (a subclass or __init__ may change it).
    workers: int = 1
    #: Default work time per message: None (instant), seconds, or a Distribution.
    work_time = None
    # True unless the service replaces Service's ``_receive`` (then the network always
    # calls it) or ``handle`` (then every message goes through it). Decided per class in
    # __init_subclass__, and by System.add only for an instance that assigned its own.
    # Class attributes on purpose: an instance attribute more would take a worker past
    # the 30 names CPython 3.11 shares between instances' inline attributes, and each
    # worker would then keep its attributes in a slower real dict.
    _plain_receive = True
    _plain_handle = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._plain_receive = cls._receive is Service._receive
        cls._plain_handle = cls.handle is Service.handle
        shadowed = api_shadowing(cls, list(vars(cls)))
        if shadowed:
            raise ServiceDefinitionError(_shadowing_message(f"class {cls.__name__}", shadowed))

    def __init__(self, name: str | None = None, *, workers: int | None = None, work_time=None):
        self.name = name or getattr(type(self), "service_name", None) or type(self).__name__.lower()
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"a service name must be a non-empty string, got {self.name!r}")
        self.workers = self.workers if workers is None else workers
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"service {self.name!r}: workers must be a positive integer, got {self.workers!r}")
        self.work_time = as_distribution(self.work_time if work_time is None else work_time,
                                         f"service {self.name!r}: work_time")
        #: Handlers by message type: methods named ``on_<Type>`` plus those given to ``on``.
        self.handlers: dict[str, Callable[[Message], None]] = {}
        for attr in dir(type(self)):
            # Any identifier after on_ is a message type (on_reserve_flight handles the
            # command reserve_flight), except the lifecycle hooks.
            if attr.startswith("on_") and len(attr) > 3 and attr not in HOOKS:
                self.handlers[attr[3:]] = getattr(self, attr)
        self.mailbox: deque = deque()
        self.busy = 0
        self.up = True
        #: Incremented by every crash; timers and work from an earlier life are ignored.
        self.incarnation = 0
        self.system = None
        self._context: Message | None = None
        self._working: list[Message] = []
        #: Whether reply and emit hand their message to the system's hot path directly, one
        #: call fewer than through send: set by System.add when the service keeps Service's
        #: own send (an override of send, in its class or on the instance, still sees them).
        self._direct_send = False

    # -- defining ----------------------------------------------------------------------

    def on(self, type: str, fn: Callable[[Message], None] | None = None):
        """Register ``fn(msg)`` as the handler of ``type``; without ``fn``, a decorator."""
        return register(self.handlers, type, fn)

    # -- lifecycle hooks (override) --------------------------------------------------------

    def on_start(self) -> None:
        """Called once when the service is added to a running system (send first messages here)."""

    def on_crash(self) -> None:
        """Called when the service crashes; forget in-memory state here."""

    def on_restart(self) -> None:
        """Called when the service comes back up."""

    def handle(self, msg: Message) -> None:
        """Dispatch ``msg`` to its handler. Engines override this to route generically."""
        handler = self.handlers.get(msg.type)
        if handler is None:
            raise self._no_handler(msg)
        handler(msg)

    def _no_handler(self, msg: Message) -> NoHandlerError:
        # The error for a message nobody here handles, apart from the hot path: it names
        # the method to write and what the service handles already.
        return NoHandlerError(
            f"{self.name} has no handler for message type {msg.type!r} (sent by {msg.source}). "
            f"Define a method on_{msg.type}(self, msg) or register one with "
            f"{self.name}.on({msg.type!r}, fn). It handles: "
            f"{', '.join(sorted(self.handlers)) or 'nothing yet'}.")

    # -- acting (call these from handlers) ------------------------------------------------

    @property
    def now(self) -> float:
        """The current simulated time."""
        system = self.system
        if system is None:
            system = self._system()  # raises, saying how to add the service
        return system.sim.now

    @now.setter
    def now(self, value):
        raise ServiceDefinitionError(f"service {self.name!r}: self.now is the simulated time and cannot be set; "
                                     "the clock moves as the simulation runs (use self.after(delay, fn))")

    @property
    def random(self):
        """The simulation's random generator (the only one to use, for reproducibility)."""
        system = self.system
        if system is None:
            system = self._system()
        return system.sim.random

    @random.setter
    def random(self, value):
        raise ServiceDefinitionError(
            f"service {self.name!r}: self.random is the simulation's random generator and cannot be "
            f"replaced (a generator of your own would make runs unrepeatable); draw from self.random, "
            f"or keep your own under another name such as self.rng")

    @property
    def current(self) -> Message | None:
        """The message being handled right now (None outside a handler)."""
        return self._context

    def send(self, to: str, type: str, payload=None, *, kind: str = COMMAND,
             correlation=None, topic: str | None = None) -> Message:
        """Send a message to service ``to``; returns the message sent.

        The correlation id defaults to that of the message being handled, and the
        causation id is always that message's id.
        """
        system = self.system
        if system is None:
            system = self._system()  # raises, saying how to add the service
        # The system's hot path: send_message below, or microlab's compiled one (microlab.hotpath).
        return system._send(self, to, type, payload, kind, correlation, topic)

    def reply(self, to_msg: Message, type: str, payload=None) -> Message:
        """Answer ``to_msg`` with a reply of ``type`` to its sender, in the same transaction."""
        if self._context is to_msg:
            # The usual case, answering the message being handled: nothing to swap.
            if self._direct_send:
                return self.system._send(self, to_msg.source, type, payload, REPLY, to_msg.correlation, None)
            return self.send(to_msg.source, type, payload, kind=REPLY, correlation=to_msg.correlation)
        saved = self._context
        self._context = to_msg
        try:
            return self.send(to_msg.source, type, payload, kind=REPLY, correlation=to_msg.correlation)
        finally:
            self._context = saved

    def emit(self, to: str, type: str, payload=None, *, topic: str | None = None,
             correlation=None) -> Message:
        """Send an event to ``to`` (normally a broker) on ``topic`` (default: its type)."""
        if self._direct_send:
            return self.system._send(self, to, type, payload, EVENT, correlation, topic or type)
        return self.send(to, type, payload, kind=EVENT, topic=topic or type, correlation=correlation)

    def after(self, delay: float, fn: Callable, *args):
        """Call ``fn(*args)`` after ``delay`` seconds, as if still handling the current message.

        Returns a timer with ``cancel()``. A crash cancels every pending timer.
        """
        system = self.system
        if system is None:
            system = self._system()
        return system.sim.timer(delay, self._fire_timer, (self.incarnation, self._context, fn, args))

    def effect(self, name: str, **detail) -> None:
        """Record that a business effect happened here (a charge, a reservation, a refund).

        Checks read these records: "no effect applied twice" counts them.
        """
        system = self._system()
        ctx = self._context
        if ctx is None and "correlation" not in detail:
            raise MicrolabError(f"{self.name}.effect({name!r}) outside a handler needs correlation=...")
        system.trace.record(system.sim.now, EFFECT, self.name, ctx, effect=name, **detail)

    def crash(self, reason: str | None = None) -> None:
        """Take the service down now (see the module docstring for what is lost)."""
        system = self._system()
        if not self.up:
            return
        now = system.sim.now
        trace = system.trace
        self.up = False
        self.incarnation += 1
        trace.record(now, CRASH, self.name, **({"reason": reason} if reason else {}))
        in_handler = self._context
        for msg in self._working:
            trace.record(now, LOST, self.name, msg, reason="in progress at crash")
        if in_handler is not None and in_handler not in self._working:
            trace.record(now, LOST, self.name, in_handler, reason="in progress at crash")
        for msg in self.mailbox:
            trace.record(now, LOST, self.name, msg, reason="in mailbox at crash")
        self._working.clear()
        self.mailbox.clear()
        self.busy = 0
        self.on_crash()
        if in_handler is not None and system._handling is self:
            raise _CrashUnwind()

    def restart(self) -> None:
        """Bring a crashed service back up, with an empty mailbox."""
        system = self._system()
        if self.up:
            return
        self.up = True
        system.trace.record(system.sim.now, RESTART, self.name)
        saved, self._context = self._context, None
        try:
            self.on_restart()
        finally:
            self._context = saved

    # -- runtime internals -------------------------------------------------------------------

    def _system(self):
        if self.system is None:
            raise MicrolabError(f"service {self.name!r} is not part of a system yet: "
                                "add it with system.add(service) first")
        return self.system

    def _receive(self, msg: Message) -> None:
        if self.busy >= self.workers:
            self.mailbox.append(msg)
            return
        self._start(msg)

    def _start(self, msg: Message) -> None:
        # A free worker takes ``msg``: from the network (Network._arrive, or _receive), or
        # from the mailbox when a handler is done.
        system = self.system
        self.busy += 1
        trace = system.trace
        if trace.enabled:
            trace.records.append((system.sim.now, START, self.name, msg, None))
        work = self.work_time
        if work is None:
            self._handle(msg)
        else:
            self._working.append(msg)
            system.sim.schedule(work.sample(system.sim.random), self._work_done, (self.incarnation, msg))

    def _work_done(self, token) -> None:
        incarnation, msg = token
        if incarnation != self.incarnation:
            return  # lost in a crash; already recorded
        self._working.remove(msg)
        self._handle(msg)

    def _handle(self, msg: Message) -> None:
        system = self.system
        incarnation = self.incarnation
        self._context = msg
        system._handling = self
        try:
            if self._plain_handle:
                # Service.handle without the call; a missing handler goes through
                # handle(), which raises the teaching error.
                handler = self.handlers.get(msg.type)
                if handler is None:
                    self.handle(msg)
                else:
                    handler(msg)
            else:
                self.handle(msg)
        except _CrashUnwind:
            return
        except Exception as exc:  # a learner's bug must not end the run: record it
            system._handler_failed(self, msg, exc)
        else:
            trace = system.trace
            if trace.enabled:
                trace.records.append((system.sim.now, END, self.name, msg, None))
        finally:
            self._context = None
            system._handling = None
        if incarnation != self.incarnation:
            return
        self.busy -= 1
        if self.mailbox and self.up:
            self._start(self.mailbox.popleft())

    def _fire_timer(self, token) -> None:
        incarnation, ctx, fn, args = token
        if incarnation != self.incarnation or not self.up:
            return
        system = self.system
        self._context = ctx
        system._handling = self
        try:
            fn(*args)
        except _CrashUnwind:
            pass
        except Exception as exc:
            system._handler_failed(self, ctx, exc, where=f"timer {getattr(fn, '__name__', fn)!r}")
        finally:
            self._context = None
            system._handling = None

    def __repr__(self) -> str:
        state = "up" if self.up else "DOWN"
        return f"<{type(self).__name__} {self.name!r} {state} busy={self.busy}/{self.workers} mailbox={len(self.mailbox)}>"


def send_message(self: Service, to: str, type: str, payload, kind: str, correlation, topic) -> Message:
    """What :meth:`Service.send` does, in pure Python: check, number, build and transmit a message.

    The reference for the compiled hot path (:mod:`microlab.hotpath`), which hands every
    case it does not handle itself (a fault, a service down, an unknown destination) here."""
    # Every message a service sends is checked, numbered, built and handed to the
    # network here, once: reply and emit call send. The steps are written out
    # (rather than calling _system(), System._next_id() and Message(...)) to save
    # three calls per message; a class call with an __init__ costs about twice the
    # ten slot stores below.
    system = self.system
    if system is None:
        system = self._system()  # raises, saying how to add the service
    if not self.up:
        raise MicrolabError(f"{self.name} is down and cannot send {type!r}")
    if to not in system.services:
        raise UnknownServiceError(to, system.services, context=f"{self.name} tried to send {type!r} to {to!r}, but ")
    ctx = self._context
    if ctx is None:
        causation = None
    else:
        causation = ctx.id
        if correlation is None:
            correlation = ctx.correlation
    system._ids = mid = system._ids + 1
    msg = _new(Message)
    msg.id = mid
    msg.kind = kind
    msg.type = type
    msg.source = self.name
    msg.destination = to
    msg.topic = topic
    msg.payload = payload
    msg.correlation = correlation
    msg.causation = causation
    msg.sent_at = system.sim.now
    system.network.transmit(msg)
    return msg


class Client(Service):
    """The outside world: the source of injected messages, and where replies to it land.

    It accepts any message and keeps it in ``received``.
    """

    role = "client"

    def __init__(self, name: str = "client"):
        super().__init__(name)
        self.received: list[Message] = []

    def handle(self, msg: Message) -> None:
        """Keep every message it receives."""
        self.received.append(msg)
