"""Checks of notebook 04: right answers pass, typical wrong answers get the intended hint."""

import pytest

from microlab.exercises import ch04, instructor_mode
from microlab.faults import FaultPlan


def test_compensations_run_in_reverse_in_the_run_behind_exercise_4_1():
    result = ch04.undo_order_run()
    assert ch04.compensations_in_order(result, result.correlations[0]) == ["refund", "release"]


def test_undo_order_accepts_the_reverse_order():
    assert ch04.check_undo_order(["refund", "release"]).passed


@pytest.mark.parametrize("answer, hint", [
    (["release", "refund"], "wrong order"),
    (["cancel_shipment", "refund", "release"], "no shipment to cancel"),
    (["refund"], "you left out release"),
    (["refund", "unreserve"], "'unreserve' is not a compensation"),
    ("refund, release", "give a list"),
])
def test_undo_order_hints(answer, hint):
    feedback = ch04.check_undo_order(answer)
    assert not feedback.passed and hint in feedback.message


@pytest.mark.parametrize("plan", [
    FaultPlan().duplicate(destination="payment", types=["charge"]),
    FaultPlan().duplicate(destination="payment"),
    FaultPlan().drop(source="payment", types=["TaskCompleted"], rate=0.5),  # lost replies: retried charges
])
def test_any_plan_that_double_charges_passes(plan):
    feedback = ch04.check_double_charge_plan(plan)
    assert feedback.passed, feedback.message
    assert "With idempotent workers the same plan gives" in feedback.message


@pytest.mark.parametrize("plan, hint", [
    (FaultPlan().duplicate(destination="payment", types=["Charge"]), "named after the task, 'charge'"),
    (FaultPlan().duplicate(destination="shipping"), "only touches messages to shipping"),
    (FaultPlan().crash("payment", at=1.0), "your crash charges nobody twice"),
    (FaultPlan().crash("paymnt", at=1.0), "did you mean 'payment'"),
    (FaultPlan(), "your plan is empty"),
    ("duplicate payment", "build a FaultPlan"),
])
def test_double_charge_plan_hints(plan, hint):
    feedback = ch04.check_double_charge_plan(plan)
    assert not feedback.passed and hint in feedback.message


def test_retries_accepts_the_smallest_number_that_reaches_95_percent():
    assert ch04.check_retries(3).passed
    too_few = ch04.check_retries(2)
    assert not too_few.passed and "Try more retries" in too_few.message
    too_many = ch04.check_retries(4)
    assert not too_many.passed and "find the smallest number" in too_many.message
    assert "whole number" in ch04.check_retries(2.5).message


def test_a_failing_check_raises_in_instructor_mode():
    instructor_mode(True)
    with pytest.raises(AssertionError, match="wrong order"):
        ch04.check_undo_order(["release", "refund"])
