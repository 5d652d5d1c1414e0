"""Checks of notebook 06: right answers pass, typical wrong answers get the intended hint."""

import pytest

from microlab.exercises import ch06
from microlab.faults import FaultPlan


def test_without_a_standby_the_crash_stalls_orders_and_with_one_none_is_lost():
    stalled = ch06.orchestrator_crash()
    saved = ch06.orchestrator_crash(standby=True, failover_delay=1.0)
    assert stalled.checks.counts()["stuck"] > 20
    assert saved.checks.ok
    assert ch06.availability(saved) > ch06.availability(stalled)


@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_failover_knobs_accept_a_quick_standby(delay):
    feedback = ch06.check_failover_knobs({"standby": True, "failover_delay": delay})
    assert feedback.passed, feedback.message
    assert "false failovers" in feedback.message


@pytest.mark.parametrize("knobs, hint", [
    ({}, "Switch the standby on"),
    ({"standby": False, "failover_delay": 0.1}, "Switch the standby on"),
    ({"standby": True}, "Shorten failover_delay"),          # the default delay is 1 s
    ({"standby": True, "failover_delay": 2.0}, "took over at t=4"),
    ({"standby": True, "failover_delay": -1}, "failover_delay must be a number of seconds"),
    ({"standby": True, "seed": 3}, "only standby and failover_delay"),
    ("standby", "give a dict of knobs"),
])
def test_failover_knobs_hints(knobs, hint):
    feedback = ch06.check_failover_knobs(knobs)
    assert not feedback.passed and hint in feedback.message


def test_recovery_time_prediction():
    assert ch06.check_recovery_time(1.0).passed
    assert ch06.check_recovery_time(1.1).passed
    assert "too short" in ch06.check_recovery_time(0.1).message
    assert "too long" in ch06.check_recovery_time(3).message
    assert "give a number" in ch06.check_recovery_time("soon").message
    assert not ch06.check_recovery_time(None).attempted


@pytest.mark.parametrize("plan", [
    FaultPlan().crash("broker", at=2.0, duration=1.0),
    FaultPlan().crash("broker", at=1.0, duration=0.5).crash("broker", at=4.0, duration=0.5),
])
def test_broker_outage_plans_that_lose_orders_only_without_the_outbox_pass(plan):
    feedback = ch06.check_broker_outage_plan(plan)
    assert feedback.passed, feedback.message


@pytest.mark.parametrize("plan, hint", [
    (FaultPlan().crash("broker", at=2.0), "never comes back"),
    (FaultPlan().crash("broker", at=30.0, duration=1.0), "crash the broker while events are flowing"),
    (FaultPlan().crash("order", at=2.0, duration=1.0), "the exercise is about the broker"),
    (FaultPlan().crash("broker", at=2.0, duration=1.0).crash("brokr", at=3.0), "did you mean 'broker'"),
    ({"crash": "broker"}, "build a FaultPlan"),
])
def test_broker_outage_hints(plan, hint):
    feedback = ch06.check_broker_outage_plan(plan)
    assert not feedback.passed and hint in feedback.message


def test_the_chapter_runs_no_answer_to_exercises_6_1_and_6_2_above_them():
    import re

    from tests.course_text import before_exercises, key_points

    # 6.1: every failover delay the chapter runs misses the 90% target, so none is the answer.
    code = "\n".join(before_exercises("06_single_point_of_failure", "code"))
    delays = {float(d) for d in re.findall(r"failover_delay=([0-9.]+)", code)}
    assert delays
    for delay in delays:
        assert not ch06.check_failover_knobs({"standby": True, "failover_delay": delay}).passed, delay
    # 6.2: the recovery time is measured only where there is no standby (it is None there).
    assert code.count("recovery_time(") == 1 and "recovery_time(alone.trace" in code
    assert "recovery time is about the failover delay" not in key_points("06_single_point_of_failure")
    text = "\n".join(before_exercises("06_single_point_of_failure", "markdown"))
    assert "recovers in the failover delay" not in text
