"""Fault plans: building, printing, applying, chaos."""

import math

import pytest

from microlab import Service, System, UnknownServiceError
from microlab.faults import Crash, FaultPlan
from microlab.trace import CRASH, DUPLICATE, RESTART


class Sink(Service):
    def on_Note(self, msg):
        pass


def test_plan_prints_as_a_readable_list_and_composes():
    plan = FaultPlan().crash("payment", at=2, duration=1.5).drop(rate=0.1, types=["Charged"], end=5)
    plan = plan + FaultPlan().partition(["orchestrator"], ["shipping"], start=3, end=4)
    assert str(plan).splitlines() == [
        "1. crash payment at t=2 for 1.5 s",
        "2. drop 10% types=Charged t=0..5",
        "3. partition [orchestrator] | [shipping] t=3..4",
    ]
    assert len(plan) == 3 and plan.services() == ["payment"]
    assert plan.windows()[0] == (2, 3.5, "crash payment at t=2 for 1.5 s")


def test_apply_crashes_and_installs_network_faults():
    system = System(latency=0.1)
    system.add(Sink("a"), Sink("b"))
    FaultPlan().crash("a", at=1, duration=1).duplicate(destination="b").apply(system)
    system.inject("b", "Note")
    system.run(until=5)
    assert [(r.kind, r.time) for r in system.trace.of_kind(CRASH, RESTART)] == [(CRASH, 1), (RESTART, 2)]
    assert len(system.trace.of_kind(DUPLICATE)) == 1


def test_apply_names_an_unknown_service():
    system = System()
    system.add(Sink("payment"))
    with pytest.raises(UnknownServiceError, match="did you mean 'payment'"):
        FaultPlan().crash("paymnt", at=1).apply(system)
    with pytest.raises(TypeError, match="unknown fault filter 'dest'"):
        FaultPlan().drop(dest="payment")


def test_chaos_is_seeded_and_rate_controls_the_count():
    a = FaultPlan.chaos(seed=3, services=["a", "b"], horizon=100, rate=0.2)
    b = FaultPlan.chaos(seed=3, services=["a", "b"], horizon=100, rate=0.2)
    c = FaultPlan.chaos(seed=4, services=["a", "b"], horizon=100, rate=0.2)
    assert str(a) == str(b) and str(a) != str(c)
    assert 8 <= len(a) <= 35
    assert len(FaultPlan.chaos(seed=3, services=["a"], horizon=100, rate=0)) == 0


def test_crash_validation():
    with pytest.raises(ValueError, match="at must be >= 0"):
        Crash("a", at=-1)
    assert FaultPlan().crash("x", at=1).windows() == [(1, math.inf, "crash x at t=1 for good")]
