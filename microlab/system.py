"""A system: services on one network, one clock, one seed, one trace.

This is the object a notebook builds and runs::

    system = System(seed=1)
    system.add(Ping(), Pong())
    system.inject("ping", "Start")
    system.run()
    print(system.trace.format())
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import dataclass

from . import hotpath
from .distributions import Distribution
from .errors import EventStorm, MicrolabError, UnknownServiceError
from .gcpause import gc_paused
from .kernel import DEFAULT_MAX_EVENTS, EventLimitExceeded, Simulation
from .messages import COMMAND, Message
from .network import Network
from .services import Client, Service, ServiceDefinitionError, _shadowing_message, instance_shadowing
from .trace import FAIL, SEND, Trace


class HandlerFailureWarning(UserWarning):
    """Warns, once per run, that handlers raised (the details are in ``system.failures``)."""


@dataclass
class HandlerFailure:
    """A handler (or timer) that raised: where, on which message, and the error."""

    time: float
    service: str
    message: Message | None
    error: str
    traceback: str

    def __str__(self) -> str:
        on = (f"handling {self.message.type} #{self.message.id} (transaction {self.message.correlation})"
              if self.message is not None else "outside any message")
        return f"t={self.time:g}: {self.service} failed {on}: {self.error}"


#: Events per slice of a guarded run (see System._run_guarded).
STORM_SLICE = 100_000


class _Loop(Exception):
    """Raised inside System.run when the storm guard sees a ping-pong."""

    def __init__(self, events: int):
        self.events = events


class System:
    """Services, a network, a simulation and a trace, wired together.

    Lifecycle: create, ``add`` services, ``inject`` the first messages, ``run`` (as
    many times as you like: each call continues), then read ``trace``.

    ``seed`` fixes every random draw; ``latency`` is the default network latency
    (seconds or a distribution); ``max_events`` bounds each ``run`` call, past which
    it raises :class:`~microlab.errors.EventStorm`; ``trace=False`` records nothing
    (for measuring the cost of tracing only), and ``trace="compact"`` keeps the records
    in columns, for runs of millions of messages (:mod:`microlab.compact`: about a
    quarter of the memory, the same records read back, slower).
    """

    # The parts the hot path reads per message, in slots: Python reads a slot as fast as an
    # inline attribute, and the compiled hot path (microlab.hotpath) reads and writes
    # ``_ids`` and ``_handling`` at fixed offsets. The rest in the instance's __dict__.
    __slots__ = ("sim", "trace", "network", "services", "_ids", "_handling", "_send",
                 "__dict__", "__weakref__")

    def __init__(self, seed: int = 0, *, latency: Distribution | float = 0.01,
                 max_events: int = DEFAULT_MAX_EVENTS, trace: bool | str = True,
                 warn_on_failure: bool = True):
        if trace not in (True, False, "compact") or type(trace) not in (bool, str):
            raise MicrolabError(
                f"trace must be True (keep every record), False (keep none) or 'compact' "
                f"(keep every record in less memory), got {trace!r}")
        self.sim = Simulation(seed, max_events=max_events)
        self.trace = Trace(enabled=bool(trace), compact=trace == "compact")
        self.network = Network(self, latency)
        self.services: dict[str, Service] = {}
        #: Every handler failure so far, in order.
        self.failures: list[HandlerFailure] = []
        self.warn_on_failure = warn_on_failure
        #: Callables ``hook(system)`` run after every ``run()``: engines add checks that
        #: can only be judged once the system is assembled and has run (e.g. the broker's
        #: wiring warnings), without the kernel knowing about any engine.
        self.after_run: list = []
        self._ids = 0
        self._handling: Service | None = None
        hotpath.wire(self)

    # -- building -------------------------------------------------------------------------

    def add(self, *services: Service):
        """Add services (returns the service, or a tuple when given several)."""
        for service in services:
            if not isinstance(service, Service):
                raise TypeError(f"system.add expects Service objects, got {service!r}; "
                                "did you forget the parentheses, e.g. Payment() rather than Payment?")
            if service.name in self.services:
                raise MicrolabError(f"a service called {service.name!r} is already in this system")
            if service.system is not None:
                raise MicrolabError(f"service {service.name!r} already belongs to another system")
            shadowed = instance_shadowing(service)
            if shadowed:
                raise ServiceDefinitionError(_shadowing_message(f"service {service.name!r} (an instance attribute "
                                                                f"set in __init__?)", shadowed))
            service.system = self
            _honour_overrides(service)
            self.services[service.name] = service
            self.sim.schedule(0.0, self._start_service, service)
        return services[0] if len(services) == 1 else services

    def __getitem__(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise UnknownServiceError(name, self.services) from None

    def __contains__(self, name: str) -> bool:
        return name in self.services

    # -- driving --------------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The current simulated time, in seconds."""
        return self.sim.now

    @property
    def random(self):
        """The simulation's one random generator."""
        return self.sim.random

    @property
    def client(self) -> Client:
        """The outside world (a :class:`~microlab.services.Client`), added on first use."""
        client = self.services.get("client")
        if client is None:
            client = self.add(Client())
        return client

    def inject(self, to: str, type: str, payload=None, *, at: float | None = None,
               correlation=None, kind: str = COMMAND, source: str | None = None,
               topic: str | None = None) -> None:
        """Have ``source`` (default: the client) send a message at time ``at`` (default: now).

        ``correlation`` names the business transaction; it defaults to ``"tx-<id>"``.
        """
        if to not in self.services:
            raise UnknownServiceError(to, self.services, context=f"cannot inject {type!r}: ")
        sender = self.client if source is None else self[source]
        when = self.sim.now if at is None else at
        self.sim.schedule_at(when, self._inject, (sender, to, type, payload, correlation, kind, topic))

    def crash(self, name: str, at: float | None = None, duration: float | None = None) -> None:
        """Crash service ``name`` at time ``at`` (default: now); restart it after ``duration``.

        The crash comes before anything else due at ``at``: a service crashed at 0 is
        down from the start (a worker never polls, so its tasks stay SCHEDULED and only
        ``pollTimeoutSeconds`` can time them out, as in Conductor)."""
        service = self[name]
        when = self.sim.now if at is None else at
        self.sim.schedule_first(when, lambda _: service.crash())
        if duration is not None:
            self.sim.schedule_at(when + duration, lambda _: service.restart())

    def restart(self, name: str, at: float | None = None) -> None:
        """Restart service ``name`` at time ``at`` (default: now)."""
        service = self[name]
        self.sim.schedule_at(self.sim.now if at is None else at, lambda _: service.restart())

    def run(self, until: float | None = None, max_events: int | None = None) -> "System":
        """Run until nothing is left to do, or until time ``until``; returns the system.

        Raises :class:`~microlab.errors.EventStorm` if the run does not settle within
        ``max_events`` events; everything up to that point stays in the trace.
        """
        failures_before = len(self.failures)
        try:
            self._run_guarded(until, max_events)
            if hasattr(self.trace.records, "settle"):
                self.trace.records.settle()
        except EventLimitExceeded as exc:
            services, types = self.trace.busiest()
            raise EventStorm(exc.events, exc.now, services, types) from None
        except _Loop as exc:
            services, types = self.trace.busiest()
            raise EventStorm(exc.events, self.sim.now, services, types, loop=True) from None
        for hook in list(self.after_run):
            hook(self)
        new = self.failures[failures_before:]
        if new and self.warn_on_failure:
            warnings.warn(
                f"{len(new)} handler failure{'s' if len(new) > 1 else ''} in this run; the first: "
                f"{new[0]}. See system.failures for all of them.", HandlerFailureWarning, stacklevel=2)
        return self

    #: Stop a run early when one transaction ping-pongs the same few messages (see _run_guarded).
    storm_guard = True

    # The collector stays off from the first slice to the last, as the kernel keeps it off
    # during one run (see "How memory works" in microlab.kernel): back on between slices,
    # it would walk every object the slice made, and more often the thinner the slices.
    @gc_paused
    def _run_guarded(self, until, max_events) -> None:
        """Run in slices of STORM_SLICE events; between slices, look for an obvious storm.

        A storm that would take millions of events to hit ``max_events`` (5-11 s of wall
        time) is usually a handful of messages of one business transaction going round
        and round. Two slices in a row that look like that stop the run. A large
        legitimate run (many transactions, a full event queue) never looks like that.
        """
        budget = self.sim.max_events if max_events is None else max_events
        sliced = type(budget) is int and budget > 2 * STORM_SLICE
        guard = sliced and self.storm_guard and self.trace.enabled
        # A compact trace moves its records into columns between slices, so that a long
        # run never holds more than a slice's records as tuples (microlab.compact).
        settle = getattr(self.trace.records, "settle", None)
        if not guard and not settle:
            self.sim.run(until=until, max_events=max_events)
            return
        # The guard looks every STORM_SLICE events; a compact trace settles about every
        # chunk of records (a message makes about four), while they are still in the cache.
        step = min(STORM_SLICE, max(1, self.trace.records.chunk // 4)) if settle else STORM_SLICE
        left, suspicious, start, look_at = budget, 0, self.sim.events, STORM_SLICE
        while True:
            before = self.sim.events
            size = min(step, left, look_at - (before - start))
            try:
                self.sim.run(until=until, max_events=size)
                return
            except EventLimitExceeded:
                left -= self.sim.events - before
                if left <= 0:
                    raise EventLimitExceeded(self.sim.events - start, self.sim.now) from None
                if settle:
                    settle()
                if self.sim.events - start >= look_at:
                    look_at += STORM_SLICE
                    if guard:
                        suspicious = suspicious + 1 if self._looks_like_a_loop() else 0
                        if suspicious >= 2:
                            raise _Loop(self.sim.events - start) from None

    def _looks_like_a_loop(self) -> bool:
        sends = [r for r in self.trace.records[-2000:] if r[1] == SEND]
        if len(sends) < 200 or self.sim.pending > 8:
            return False
        correlations = {r[3].correlation for r in sends}
        shapes = {(r[3].source, r[3].destination, r[3].type) for r in sends}
        return len(correlations) <= 2 and len(shapes) <= 4

    # -- reading ------------------------------------------------------------------------------

    def conservation(self):
        """Account for every message sent (see :meth:`Trace.conservation`)."""
        return self.trace.conservation(self.network.in_flight)

    # -- internals ------------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _start_service(self, service: Service) -> None:
        self._handling = service
        try:
            service.on_start()
        except Exception as exc:
            self._handler_failed(service, None, exc, where="on_start")
        finally:
            self._handling = None

    def _inject(self, args) -> None:
        sender, to, type, payload, correlation, kind, topic = args
        if correlation is None:
            correlation = f"tx-{self._ids + 1}"
        sender.send(to, type, payload, kind=kind, correlation=correlation, topic=topic)

    def _handler_failed(self, service: Service, msg, exc: Exception, where: str | None = None) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if where:
            error = f"in {where}: {error}"
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.failures.append(HandlerFailure(self.sim.now, service.name, msg, error, tb))
        self.trace.record(self.sim.now, FAIL, service.name, msg, error=error)


def _honour_overrides(service: Service) -> None:
    """Make the hot path call ``handle`` and ``_receive`` if the service replaced them.

    For a service that keeps Service's own, the network skips ``_receive`` and
    ``Service._handle`` skips ``handle`` (see ``Service._plain_receive``). A subclass's
    overrides are decided once per class; this decides, once per service, for overrides
    assigned to the instance.
    (``reply`` and ``emit`` call ``send`` when it is overridden, so an override of it sees them.)
    """
    # A subclass's override is already in its class's flags (Service.__init_subclass__);
    # this finds one assigned to the instance. Compared through the bound methods rather
    # than vars(service): reading an instance's __dict__ makes CPython 3.11 store its
    # attributes in a real dict, and every attribute access on that service is then slower.
    cls = type(service)
    if getattr(service._receive, "__func__", None) is not cls._receive:
        service._plain_receive = False
    if getattr(service.handle, "__func__", None) is not cls.handle:
        service._plain_handle = False
    # send: overridden in the class or on the instance alike. A slot, read by reply and emit
    # per message (a class attribute costs a full lookup).
    service._direct_send = getattr(service.send, "__func__", None) is Service.send
