"""The workload every kernel benchmark runs: an order saga, and what a run must produce.

Orders arrive one at a time with exponential inter-arrival times; every message
crosses the network with an exponential latency. Under **orchestration** an
orchestrator asks payment, then inventory, then shipping (a command and a reply per
step: 6 messages per order). Under **choreography** each service reacts to the event
of the one before (OrderPlaced -> payment -> PaymentDone -> inventory -> Reserved ->
shipping: 3 messages per order).

Every implementation (microlab, SimPy, a bare heapq loop) draws from one
``random.Random(seed)`` in the same order: the next arrival first, then one latency
per message, at the instant the message is sent. So all of them simulate the *same*
run: the same number of completed orders and messages, and the same final clock.
:meth:`Outcome.same_run_as` checks that, which is what makes the timings comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Messages each completed order costs, by pattern.
MESSAGES_PER_ORDER = {"orchestration": 6, "choreography": 3}


@dataclass(frozen=True)
class Load:
    """How many orders, how often they arrive, how slow the network is, and the seed."""

    orders: int = 10_000
    mean_interarrival: float = 1.0
    mean_latency: float = 2.0
    seed: int = 1

    def __post_init__(self):
        if not isinstance(self.orders, int) or self.orders < 1:
            raise ValueError(f"Load.orders must be a positive integer, got {self.orders!r}")
        for name in ("mean_interarrival", "mean_latency"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Load.{name} must be a positive number of seconds, "
                                 f"got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Outcome:
    """What one simulated run produced: completed orders, messages, final clock."""

    completed: int
    messages: int
    end_time: float

    def same_run_as(self, other: "Outcome", who: str = "", other_who: str = "") -> None:
        """Raise AssertionError, naming both runs, unless they simulated the same thing."""
        if (self.completed, self.messages) != (other.completed, other.messages):
            raise AssertionError(
                f"unfair comparison: {who or 'one run'} completed {self.completed} orders with "
                f"{self.messages} messages, {other_who or 'the other'} {other.completed} orders "
                f"with {other.messages} messages; the models must simulate the same workload")
        if self.end_time != other.end_time:
            raise AssertionError(
                f"unfair comparison: {who or 'one run'} ended at t={self.end_time!r}, "
                f"{other_who or 'the other'} at t={other.end_time!r}; the models draw their "
                "random numbers in a different order, so they do not simulate the same run")

    def check_complete(self, load: Load, pattern: str, who: str) -> None:
        """Raise AssertionError unless every order completed with the expected messages."""
        expected = (load.orders, load.orders * MESSAGES_PER_ORDER[pattern])
        if (self.completed, self.messages) != expected:
            raise AssertionError(
                f"{who} ({pattern}) completed {self.completed} of {load.orders} orders with "
                f"{self.messages} messages; expected {expected[0]} orders and {expected[1]} messages")
