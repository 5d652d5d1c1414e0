"""Fault plans for a real run: kill -9 at a moment, kill between commit and publish, withheld acks.

::

    plan = (RealPlan()
            .kill("payment", at=0.8, restart_after=1.0)      # kill -9 the process, start it again
            .kill("broker", at=1.5, restart_after=0.3)       # kill -9 nats-server, same store
            .kill_before_publish("inventory", nth=2)          # dies after its 2nd commit, before publishing
            .withhold_acks("shipping", count=1))              # handles, never acks: redelivery

``RealPlan.from_fault_plan(plan)`` takes the crashes of a simulator
:class:`~microlab.faults.FaultPlan` (a crash is a kill -9, its duration the time until
the restart); network faults have no real counterpart here and are refused by name.
``RealPlan.seeded(seed, services, horizon)`` draws kill plans from a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...errors import MicrolabError
from ...faults import Crash, FaultPlan
from ...words import count


@dataclass(frozen=True)
class Kill:
    """kill -9 ``service`` (or ``"broker"``) ``at`` seconds after the first order; restart after a while."""

    service: str
    at: float
    restart_after: float | None = 1.0

    def describe(self) -> str:
        """E.g. ``kill -9 payment at t=0.8, restart 1 s later``."""
        again = "never restarted" if self.restart_after is None else f"restart {self.restart_after:g} s later"
        return f"kill -9 {self.service} at t={self.at:g}, {again}"


@dataclass(frozen=True)
class KillBeforePublish:
    """``service`` kills itself after its ``nth`` commit that publishes, before the publish."""

    service: str
    nth: int = 1
    restart_after: float = 0.5

    def describe(self) -> str:
        """E.g. ``kill -9 inventory between commit and publish (commit 1), restart 0.5 s later``."""
        return (f"kill -9 {self.service} between commit and publish (commit {self.nth}), "
                f"restart {self.restart_after:g} s later")


@dataclass(frozen=True)
class WithholdAcks:
    """``service`` handles its first ``count`` deliveries (of ``topic``, or any) and never acks them."""

    service: str
    count: int = 1
    topic: str | None = None

    def describe(self) -> str:
        """E.g. ``shipping withholds 1 ack``."""
        return f"{self.service} withholds {count(self.count, 'ack')}" + (f" on {self.topic}" if self.topic else "")


class RealPlan:
    """An ordered list of real faults; every method returns the plan, so calls chain."""

    def __init__(self, faults=()):
        self.faults: list = list(faults)

    def kill(self, service: str, at: float, restart_after: float | None = 1.0) -> "RealPlan":
        """kill -9 a service process, or the broker (``"broker"``), and restart it later."""
        if at < 0 or (restart_after is not None and restart_after < 0):
            raise MicrolabError(f"kill {service}: at and restart_after must be >= 0, got {at!r}, {restart_after!r}")
        self.faults.append(Kill(service, float(at), restart_after))
        return self

    def kill_broker(self, at: float, restart_after: float = 0.5) -> "RealPlan":
        """kill -9 nats-server and start it again on the same store."""
        return self.kill("broker", at, restart_after)

    def kill_before_publish(self, service: str, nth: int = 1, restart_after: float = 0.5) -> "RealPlan":
        """Have ``service`` kill itself between its database commit and its publish."""
        if nth < 1:
            raise MicrolabError(f"kill_before_publish {service}: nth counts commits from 1, got {nth!r}")
        if any(isinstance(f, KillBeforePublish) and f.service == service for f in self.faults):
            raise MicrolabError(f"kill_before_publish {service}: one per service and run")
        self.faults.append(KillBeforePublish(service, nth, restart_after))
        return self

    def withhold_acks(self, service: str, count: int = 1, topic: str | None = None) -> "RealPlan":
        """Have ``service`` handle deliveries and never ack them, so JetStream redelivers."""
        if count < 1:
            raise MicrolabError(f"withhold_acks {service}: count must be >= 1, got {count!r}")
        self.faults.append(WithholdAcks(service, count, topic))
        return self

    @classmethod
    def from_fault_plan(cls, plan: FaultPlan) -> "RealPlan":
        """The crashes of a simulator fault plan as kills (network faults are refused)."""
        real = cls()
        for fault in plan:
            if not isinstance(fault, Crash):
                raise MicrolabError(f"a real run cannot inject {fault.describe()!r}: only crashes (kill -9) "
                                    "have a real counterpart here; network faults stay in the simulator")
            real.kill(fault.service, fault.at, fault.duration)
        return real

    @classmethod
    def seeded(cls, seed: int, services, horizon: float, kills: tuple[int, int] = (1, 2),
               downtime: tuple[float, float] = (0.3, 1.2)) -> "RealPlan":
        """A kill plan drawn from ``seed``: 1-2 kills of the given services within ``horizon`` s."""
        rng = random.Random(seed)
        plan = cls()
        services = list(services)
        for _ in range(rng.randint(*kills)):
            plan.kill(rng.choice(services), round(rng.uniform(0.0, horizon), 3), round(rng.uniform(*downtime), 3))
        return plan

    def kills(self) -> list[Kill]:
        """The kills, in the order of their times."""
        return sorted((f for f in self.faults if isinstance(f, Kill)), key=lambda f: f.at)

    def process_faults(self, service: str) -> dict:
        """What the first incarnation of ``service`` must do to itself, as JSON-friendly data."""
        out: dict = {}
        for f in self.faults:
            if f.service != service:
                continue
            if isinstance(f, KillBeforePublish):
                out["kill_before_publish"] = f.nth
            elif isinstance(f, WithholdAcks):
                out["withhold_acks"] = {"count": f.count, "topic": f.topic}
        return out

    def restart_after_self_kill(self, service: str) -> float | None:
        """How long after a kill between commit and publish ``service`` restarts (None: no such fault)."""
        for f in self.faults:
            if isinstance(f, KillBeforePublish) and f.service == service:
                return f.restart_after
        return None

    def services(self) -> list[str]:
        """Every service the plan names (``broker`` included), without repeats."""
        return list(dict.fromkeys(f.service for f in self.faults))

    def __len__(self) -> int:
        return len(self.faults)

    def __iter__(self):
        return iter(self.faults)

    def __str__(self) -> str:
        return "\n".join(f"{i}. {f.describe()}" for i, f in enumerate(self.faults, 1)) or "no faults"

    def __repr__(self) -> str:
        return f"RealPlan({len(self.faults)} faults)"
