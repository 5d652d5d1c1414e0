"""The knobs a notebook turns on a scenario, checked before anything runs."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field

from ..distributions import Distribution, Exponential, LogNormal, as_distribution
from ..errors import MicrolabError
from ..faults import FaultPlan

PATTERNS = ("orchestration", "choreography")


class KnobError(MicrolabError, ValueError):
    """A scenario knob has a value that cannot work; the message names the knob."""


@dataclass
class Knobs:
    """Everything a scenario run depends on. Times are in seconds.

    - ``orders``: how many business transactions arrive; ``arrival_rate``: per second
      (exponential inter-arrival times);
    - ``latency``: network latency of every link (number or distribution);
    - ``work_time``: time a service spends per message; ``orchestrator_work_time`` and
      ``broker_work_time`` for the two central components;
    - ``workers``: workers per service, e.g. ``{"orchestrator": 2}`` (default 1);
    - ``failure``: probability that one attempt of a step fails, per service,
      e.g. ``{"payment": 0.2}``;
    - ``retries``: extra attempts per step (the orchestrator retries after
      ``retry_delay``; a choreographed service retries locally);
    - ``response_timeout``: how long the orchestrator waits for a reply before retrying;
    - ``compensation``: undo completed steps when a later one fails;
    - ``outbox``, ``idempotent``: the choreography's two protections (idempotent also
      makes orchestration workers answer duplicate commands without redoing them);
    - ``standby``, ``failover_delay``: a standby orchestrator that takes over after a crash;
    - ``faults``: a :class:`~microlab.faults.FaultPlan`;
    - ``seed``: the one seed of the run.
    """

    orders: int = 20
    arrival_rate: float = 5.0
    latency: Distribution | float = field(default_factory=lambda: LogNormal(0.005, 0.5))
    work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.01))
    orchestrator_work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.004))
    broker_work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.0005))
    workers: dict = field(default_factory=dict)
    failure: dict = field(default_factory=dict)
    retries: int = 2
    retry_delay: float = 0.05
    response_timeout: float = 1.0
    compensation: bool = True
    outbox: bool = True
    idempotent: bool = True
    standby: bool = False
    failover_delay: float = 1.0
    faults: FaultPlan | None = None
    seed: int = 1

    @classmethod
    def make(cls, **values) -> "Knobs":
        """Build knobs from keywords, naming any unknown knob with a did-you-mean."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                hint = difflib.get_close_matches(key, names, n=1)
                raise KnobError(f"unknown knob {key!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                                + f" The knobs are: {', '.join(names)}.")
        knobs = cls(**values)
        knobs.validate()
        return knobs

    def validate(self) -> None:
        """Raise :class:`KnobError` naming the first knob whose value cannot work."""
        _whole(self.orders, "orders", minimum=0)
        _whole(self.retries, "retries", minimum=0)
        _whole(self.seed, "seed", minimum=None)
        for name in ("arrival_rate",):
            if not _number(getattr(self, name)) or getattr(self, name) <= 0:
                raise KnobError(f"{name} must be a positive number (orders per second), got {getattr(self, name)!r}")
        for name in ("retry_delay", "response_timeout", "failover_delay"):
            if not _number(getattr(self, name)) or getattr(self, name) < 0:
                raise KnobError(f"{name} must be a number of seconds >= 0, got {getattr(self, name)!r}")
        for name in ("latency", "work_time", "orchestrator_work_time", "broker_work_time"):
            try:
                setattr(self, name, as_distribution(getattr(self, name), name))
            except (TypeError, ValueError) as exc:
                raise KnobError(str(exc)) from None
        if self.latency is None:
            raise KnobError("latency cannot be None; use 0 for an instant network")
        for service, p in self.failure.items():
            if not _number(p) or not 0 <= p <= 1:
                raise KnobError(f"failure[{service!r}] must be a probability between 0 and 1, got {p!r}")
        for service, n in self.workers.items():
            _whole(n, f"workers[{service!r}]", minimum=1)
        for name in ("compensation", "outbox", "idempotent", "standby"):
            if not isinstance(getattr(self, name), bool):
                raise KnobError(f"{name} is a switch: True or False, got {getattr(self, name)!r}")
        if self.faults is not None and not isinstance(self.faults, FaultPlan):
            raise KnobError(f"faults must be a FaultPlan, got {self.faults!r}")

    def check_services(self, services) -> None:
        """Check that ``failure`` and ``workers`` name services of the scenario."""
        known = list(services)
        for knob in ("failure", "workers"):
            for name in getattr(self, knob):
                if name not in known:
                    hint = difflib.get_close_matches(name, known, n=1)
                    raise KnobError(f"{knob} names {name!r}, which is not a service of this scenario"
                                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                                    + f" Its services: {', '.join(known)}.")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _whole(x, name, minimum):
    if isinstance(x, bool) or not isinstance(x, int) or (minimum is not None and x < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise KnobError(f"{name} must be a whole number{bound}, got {x!r}")
