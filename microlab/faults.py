"""Fault plans: deterministic, composable lists of what goes wrong, and when.

A plan is built before a run and applied to a system; it prints as a readable list::

    plan = (FaultPlan()
            .crash("payment", at=2.0, duration=1.5)
            .drop(rate=0.1, types=["PaymentCompleted"], start=0, end=5)
            .partition(["orchestrator"], ["shipping"], start=3, end=4))
    print(plan)
    plan.apply(system)

``FaultPlan.chaos(seed=..., rate=..., ...)`` draws a random plan from its own seed, so
the same seed gives the same plan, independent of the simulation's random stream.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .errors import UnknownServiceError
from .network import Delay, Drop, Duplicate, NetworkFault, Partition


@dataclass(frozen=True)
class Crash:
    """Crash ``service`` at ``at``; restart it after ``duration`` (never, if None)."""

    service: str
    at: float
    duration: float | None = None

    def __post_init__(self):
        if self.at < 0:
            raise ValueError(f"crash of {self.service!r}: at must be >= 0, got {self.at!r}")
        if self.duration is not None and self.duration < 0:
            raise ValueError(f"crash of {self.service!r}: duration must be >= 0, got {self.duration!r}")

    def describe(self) -> str:
        """E.g. ``crash payment at t=2 for 1.5 s``."""
        span = "for good" if self.duration is None else f"for {self.duration:g} s"
        return f"crash {self.service} at t={self.at:g} {span}"


class FaultPlan:
    """An ordered list of faults (crashes and network faults); ``+`` composes two plans."""

    def __init__(self, faults=()):
        self.faults: list = list(faults)
        for f in self.faults:
            if not isinstance(f, (Crash, NetworkFault)):
                raise TypeError(f"a fault plan holds Crash and network faults, got {f!r}")

    # -- building (each returns the plan, so calls chain) ---------------------------

    def crash(self, service: str, at: float, duration: float | None = None) -> "FaultPlan":
        """Crash a service (the orchestrator and the broker are services too)."""
        self.faults.append(Crash(service, at, duration))
        return self

    def drop(self, rate: float = 1.0, **where) -> "FaultPlan":
        """Drop messages: ``where`` takes source, destination, types, kinds, start, end."""
        self.faults.append(Drop(rate=rate, **_where(where)))
        return self

    def duplicate(self, rate: float = 1.0, **where) -> "FaultPlan":
        """Deliver messages twice (same filters as :meth:`drop`)."""
        self.faults.append(Duplicate(rate=rate, **_where(where)))
        return self

    def delay(self, extra, rate: float = 1.0, **where) -> "FaultPlan":
        """Add ``extra`` seconds (number or distribution) to matching messages."""
        self.faults.append(Delay(rate=rate, extra=extra, **_where(where)))
        return self

    def partition(self, *groups, start: float = 0.0, end: float = math.inf) -> "FaultPlan":
        """Cut the network between groups of services from ``start`` to ``end``."""
        self.faults.append(Partition(start=start, end=end, groups=groups))
        return self

    @classmethod
    def chaos(cls, seed: int, services, *, horizon: float, rate: float = 1.0,
              crash_duration: tuple[float, float] = (0.2, 2.0),
              message_fault_rate: float = 0.05, partitions: bool = False) -> "FaultPlan":
        """A random plan drawn from ``seed``: on average ``rate`` faults per second.

        Each fault is a crash of one of ``services`` (restarted after a duration drawn
        from ``crash_duration``), or a window of drops, duplicates or delays on messages
        to one of them at ``message_fault_rate``; with ``partitions=True`` also a window
        in which one of them is cut off from all the others.
        """
        if rate < 0 or horizon <= 0:
            raise ValueError("chaos needs rate >= 0 and horizon > 0")
        services = list(services)
        if not services:
            raise ValueError("chaos needs at least one service to pick on")
        rng = random.Random(seed)
        kinds = ("crash", "drop", "duplicate", "delay") + (("partition",) if partitions else ())
        plan = cls()
        t = rng.expovariate(rate) if rate > 0 else math.inf
        while t < horizon:
            target = rng.choice(services)
            what = rng.choice(kinds)
            length = rng.uniform(*crash_duration)
            if what == "crash":
                plan.crash(target, at=round(t, 6), duration=round(length, 6))
            elif what == "partition":
                others = [s for s in services if s != target]
                if others:
                    plan.partition([target], others, start=round(t, 6), end=round(t + length, 6))
            else:
                window = dict(destination=target, start=round(t, 6), end=round(t + length, 6))
                if what == "drop":
                    plan.drop(rate=message_fault_rate, **window)
                elif what == "duplicate":
                    plan.duplicate(rate=message_fault_rate * 4, **window)
                else:
                    plan.delay(extra=round(length / 2, 6), rate=message_fault_rate * 4, **window)
            t += rng.expovariate(rate)
        return plan

    # -- using ----------------------------------------------------------------------

    def apply(self, system) -> None:
        """Install the plan on ``system`` (before or during a run)."""
        for fault in self.faults:
            names = [fault.service] if isinstance(fault, Crash) else _named_services(fault)
            for name in names:
                if name not in system.services:
                    raise UnknownServiceError(name, system.services, context=f"fault plan ({_describe(fault)}): ")
        for fault in self.faults:
            if isinstance(fault, Crash):
                system.crash(fault.service, at=max(fault.at, system.now), duration=fault.duration)
            else:
                system.network.add_fault(fault)

    def windows(self) -> list[tuple[float, float, str]]:
        """``(start, end, label)`` of each fault, for shading figures (crash without restart ends at inf)."""
        out = []
        for f in self.faults:
            if isinstance(f, Crash):
                out.append((f.at, math.inf if f.duration is None else f.at + f.duration, f.describe()))
            else:
                out.append((f.start, f.end, f.describe()))
        return out

    def services(self) -> list[str]:
        """The services the plan crashes (in order, without repeats)."""
        return list(dict.fromkeys(f.service for f in self.faults if isinstance(f, Crash)))

    def __add__(self, other: "FaultPlan") -> "FaultPlan":
        return FaultPlan(self.faults + list(other.faults))

    def __iter__(self):
        return iter(self.faults)

    def __len__(self) -> int:
        return len(self.faults)

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __str__(self) -> str:
        if not self.faults:
            return "no faults"
        return "\n".join(f"{i}. {_describe(f)}" for i, f in enumerate(self.faults, 1))

    def __repr__(self) -> str:
        return f"FaultPlan({len(self.faults)} faults)"


def _describe(fault) -> str:
    return fault.describe()


def _where(where: dict) -> dict:
    allowed = {"source", "destination", "types", "kinds", "start", "end"}
    unknown = sorted(set(where) - allowed)
    if unknown:
        raise TypeError(f"unknown fault filter {unknown[0]!r}; use {', '.join(sorted(allowed))}")
    for key in ("types", "kinds"):
        if isinstance(where.get(key), list):
            where[key] = tuple(where[key])
    return where


def _named_services(fault) -> list[str]:
    if isinstance(fault, Partition):
        return [name for group in fault.groups for name in group]
    return [n for n in (fault.source, fault.destination) if n is not None]
