"""The simulated network: latency per link, and the faults a fault plan switches on.

Every message crosses the network, and every decision the network takes about it is a
trace record: it was sent, delayed, duplicated, dropped (with the reason) or
delivered. A message is decided about once, when it is sent; a partition that starts
while a message is already on the wire does not catch it.

Faults are small objects with a time window and a filter (source, destination, message
type, kind). They draw from the simulation's random generator only when they apply,
so a run without faults draws exactly what it drew before faults existed.
"""

from __future__ import annotations

import math
from heapq import heappush
from math import log as _log
from dataclasses import dataclass, field

from .distributions import Distribution, Exponential, as_distribution
from .messages import Message
from .trace import DELAY, DELIVER, DROP, DUPLICATE, SEND


@dataclass
class NetworkFault:
    """A fault active from ``start`` to ``end`` on messages that match its filter.

    ``rate`` is the probability that it hits a matching message. Filters left as None
    match everything; ``types`` and ``kinds`` are collections of names.
    """

    rate: float = 1.0
    start: float = 0.0
    end: float = math.inf
    source: str | None = None
    destination: str | None = None
    types: tuple | None = None
    kinds: tuple | None = None

    def __post_init__(self):
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"{type(self).__name__}: rate must be between 0 and 1, got {self.rate!r}")
        if self.end < self.start:
            raise ValueError(f"{type(self).__name__}: end ({self.end}) is before start ({self.start})")
        if isinstance(self.types, str):
            self.types = (self.types,)
        if isinstance(self.kinds, str):
            self.kinds = (self.kinds,)

    def matches(self, msg: Message, now: float) -> bool:
        """Does this fault concern ``msg`` sent at ``now``?"""
        return (self.start <= now < self.end
                and (self.source is None or msg.source == self.source)
                and (self.destination is None or msg.destination == self.destination)
                and (self.types is None or msg.type in self.types)
                and (self.kinds is None or msg.kind in self.kinds))

    def hits(self, msg: Message, now: float, rng) -> bool:
        """Does it match, and does the dice roll say it strikes this time?"""
        if not self.matches(msg, now):
            return False
        return self.rate >= 1.0 or rng.random() < self.rate

    def describe(self) -> str:
        """A short readable description, used in drop reasons and fault plans."""
        parts = [type(self).__name__.lower()]
        if self.rate < 1.0:
            parts.append(f"{self.rate:.0%}")
        for name in ("source", "destination"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)}")
        if self.types:
            parts.append("types=" + "/".join(self.types))
        if self.kinds:
            parts.append("kinds=" + "/".join(self.kinds))
        if self.start > 0 or self.end < math.inf:
            parts.append(f"t={self.start:g}..{self.end:g}")
        return " ".join(parts)


@dataclass
class Drop(NetworkFault):
    """Lose matching messages."""


@dataclass
class Duplicate(NetworkFault):
    """Deliver matching messages twice (the copy is the same message, same id)."""


@dataclass
class Delay(NetworkFault):
    """Add ``extra`` seconds (a number or a distribution) to matching messages."""

    extra: object = 1.0

    def __post_init__(self):
        super().__post_init__()
        self.extra = as_distribution(self.extra, "Delay.extra")


@dataclass
class Partition(NetworkFault):
    """Split services into groups that cannot reach each other from ``start`` to ``end``.

    Services not named in any group can reach everyone.
    """

    groups: tuple = field(default_factory=tuple)

    def __post_init__(self):
        super().__post_init__()
        self.groups = tuple(tuple(g) for g in self.groups)
        self._side = {name: i for i, g in enumerate(self.groups) for name in g}

    def matches(self, msg: Message, now: float) -> bool:
        """True when source and destination sit in different groups during the window."""
        if not self.start <= now < self.end:
            return False
        a = self._side.get(msg.source)
        b = self._side.get(msg.destination)
        return a is not None and b is not None and a != b

    def describe(self) -> str:
        """E.g. ``partition [orchestrator] | [payment, shipping] t=5..10``."""
        sides = " | ".join("[" + ", ".join(g) + "]" for g in self.groups)
        return f"partition {sides} t={self.start:g}..{self.end:g}"


class Network:
    """Carries messages between the services of one system.

    Lifecycle: created by :class:`~microlab.system.System`; latency and faults may be
    changed at any time, and apply to messages sent afterwards.
    """

    # Slots: the compiled hot path (microlab.hotpath) reads ``latency`` at a fixed offset.
    __slots__ = ("system", "latency", "links", "faults", "_deliver", "__weakref__")

    def __init__(self, system, latency: Distribution | float = 0.01):
        self.system = system
        self.latency = as_distribution(latency, "latency")
        #: Per-link latency overrides, keyed by (source, destination).
        self.links: dict[tuple[str, str], Distribution] = {}
        self.faults: list[NetworkFault] = []
        # The bound method put on the heap for every delivery, made once rather than
        # per message (in_flight also recognises deliveries by it).
        self._deliver = self._arrive

    def set_latency(self, source: str, destination: str, latency, both_ways: bool = True) -> None:
        """Override the latency of one link (and its reverse, unless ``both_ways=False``)."""
        dist = as_distribution(latency, "latency")
        self.links[(source, destination)] = dist
        if both_ways:
            self.links[(destination, source)] = dist

    def add_fault(self, fault: NetworkFault) -> NetworkFault:
        """Switch a fault on; returns it so it can be removed later."""
        if not isinstance(fault, NetworkFault):
            raise TypeError(f"add_fault needs a Drop, Duplicate, Delay or Partition, got {fault!r}")
        self.faults.append(fault)
        return fault

    def remove_fault(self, fault: NetworkFault) -> None:
        """Switch a fault off."""
        self.faults.remove(fault)

    def partition(self, *groups, start: float = 0.0, end: float = math.inf) -> Partition:
        """Shorthand for ``add_fault(Partition(groups=groups, start=..., end=...))``."""
        return self.add_fault(Partition(start=start, end=end, groups=groups))

    def transmit(self, msg: Message) -> None:
        """Take ``msg`` from its sender, decide its fate and schedule its delivery."""
        system = self.system
        sim = system.sim
        now = sim.now
        trace = system.trace
        if trace.enabled:
            trace.records.append((now, SEND, msg.source, msg, None))
        if not self.faults:
            # The usual case, one copy and no fault: the loop below without its extras.
            # (Inlined Simulation.schedule: this is the hottest line of every run.)
            dist = self.links.get((msg.source, msg.destination), self.latency) if self.links else self.latency
            if type(dist) is Exponential:
                # Exponential.sample written out: the same draw as random.expovariate
                # (CPython's formula, bit for bit), without its two calls.
                delay = -_log(1.0 - sim.random.random()) / dist.rate
            else:
                delay = dist.sample(sim.random) if dist is not None else 0.0
            heappush(sim._heap, (now + delay, next(sim._seq), self._deliver, msg))
            return
        copies = 1
        extra = 0.0
        rng = sim.random
        for fault in self.faults:
            if not fault.hits(msg, now, rng):
                continue
            if isinstance(fault, (Drop, Partition)):
                # Every copy made so far (by a Duplicate earlier in the list) is dropped
                # too: one record per copy, so conservation counts each of them.
                reason = fault.describe()
                for _ in range(copies):
                    trace.record(now, DROP, msg.source, msg, reason=reason)
                return
            if isinstance(fault, Duplicate):
                trace.record(now, DUPLICATE, msg.source, msg, reason=fault.describe())
                copies += 1
            elif isinstance(fault, Delay):
                more = fault.extra.sample(rng)
                trace.record(now, DELAY, msg.source, msg, extra=more, reason=fault.describe())
                extra += more
        dist = self.links.get((msg.source, msg.destination), self.latency) if self.links else self.latency
        heap = sim._heap
        for _ in range(copies):
            delay = extra + (dist.sample(rng) if dist is not None else 0.0)
            heappush(heap, (now + delay, next(sim._seq), self._deliver, msg))

    def on_the_wire_to(self, name: str) -> list:
        """Messages on the wire to service ``name`` now, in the order they would arrive.

        Read off the event heap, sorted by (time, seq): the heap's list layout depends on
        its history of pushes and pops, and what a caller does with them must not."""
        arrive = self._deliver
        wire = [entry for entry in self.system.sim._heap
                if entry[2] == arrive and entry[3].destination == name]
        wire.sort(key=lambda entry: (entry[0], entry[1]))
        return [entry[3] for entry in wire]

    @property
    def in_flight(self) -> dict:
        """Copies of each message (by id) currently on the wire, read off the event heap.

        Derived rather than kept up to date, so that sending stays cheap.
        """
        counts: dict = {}
        arrive = self._deliver
        for entry in self.system.sim._heap:
            if entry[2] == arrive:
                mid = entry[3].id
                counts[mid] = counts.get(mid, 0) + 1
        return counts

    def _arrive(self, msg: Message) -> None:
        system = self.system
        dest = system.services[msg.destination]
        if not dest.up:
            system.trace.record(system.sim.now, DROP, msg.destination, msg,
                                reason=f"{msg.destination} is down")
            return
        trace = system.trace
        if trace.enabled:
            trace.records.append((system.sim.now, DELIVER, msg.destination, msg, None))
        if dest._plain_receive and dest.busy < dest.workers:
            # Service._receive's check made here: a free worker takes the message at
            # once (one call fewer per message). A service that overrides _receive
            # (System.add then sets _plain_receive False) always gets the call.
            dest._start(msg)
        else:
            dest._receive(msg)
