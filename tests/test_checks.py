"""The consistency checker, on hand-made transactions built with core services."""

import re

import pytest

from microlab import Service, System
from microlab.checks import (COMPENSATED, COMPLETED, INCONSISTENT, STUCK, SagaSpec, Step,
                             check_saga)

SPEC = SagaSpec("mini", (Step("payment", "charge", "refund"), Step("inventory", "reserve", "release")))


class Ledger(Service):
    """Applies whatever effects a Do command lists (a stand-in for real services)."""

    def on_Do(self, msg):
        for name in msg.payload:
            self.effect(name)


def run(*transactions, drop_last=False):
    system = System(latency=0.01)
    system.add(Ledger("payment"), Ledger("inventory"), Ledger("order"))
    for i, steps in enumerate(transactions):
        for service, effects in steps:
            system.inject(service, "Do", effects, correlation=f"t{i}")
    system.run()
    return check_saga(system.trace, SPEC, conservation=system.conservation())


def test_completed_and_compensated_transactions_are_consistent():
    report = run(
        [("payment", ["charge"]), ("inventory", ["reserve"]), ("order", ["complete"])],
        [("payment", ["charge", "refund"]), ("order", ["reject"])],
        [("order", ["reject"])],
    )
    assert report.outcomes == {"t0": COMPLETED, "t1": COMPENSATED, "t2": COMPENSATED}
    assert report.ok and "Consistent" in report.verdict()


def test_charge_without_an_order_is_inconsistent_and_shows_its_records():
    report = run([("payment", ["charge"]), ("order", ["reject"])])
    assert report.outcomes == {"t0": INCONSISTENT}
    [v] = report.violations
    assert v.check == "not atomic" and "'charge' at payment was never undone" in v.explanation
    assert {r.detail["effect"] for r in v.records} == {"charge", "reject"}
    assert not report.ok and "NOT consistent" in report.verdict()


def test_double_charge_is_found_even_when_the_order_completes():
    report = run([("payment", ["charge", "charge"]), ("inventory", ["reserve"]), ("order", ["complete"])])
    assert report.outcomes == {"t0": COMPLETED}
    assert [v.check for v in report.violations] == ["effect applied twice"]
    assert len(report.violations[0].records) == 2


def test_refund_without_charge_and_completing_twice():
    report = run([("payment", ["refund"]), ("order", ["reject"])],
                 [("order", ["complete", "reject"])])
    assert report.by_check().keys() == {"compensation without effect", "concluded twice"}


def test_stuck_transaction_names_what_it_waits_for():
    system = System(latency=0.01)
    system.add(Ledger("payment"), Ledger("inventory"))
    system.inject("payment", "Do", ["charge"], correlation="o1")
    system.inject("inventory", "Do", ["reserve"], correlation="o1", at=1.0)
    system.crash("inventory", at=0.5)
    system.run()
    report = check_saga(system.trace, SPEC)
    assert report.outcomes == {"o1": STUCK}
    text = report.violations[0].explanation
    assert "applied so far: charge" in text
    assert "Do from client to inventory (dropped: inventory is down)" in text


def test_spec_rejects_repeated_effect_names():
    with pytest.raises(ValueError, match="distinct"):
        SagaSpec("bad", (Step("a", "x", "y"), Step("b", "y")))


def test_a_stuck_transaction_says_when_its_last_record_was_in_seconds():
    from microlab import scenarios
    from microlab.faults import FaultPlan

    run = scenarios.order_saga("orchestration", orders=5, seed=3, faults=FaultPlan().crash("orchestrator", at=0.2))
    stuck = [v.explanation for v in run.checks.violations if v.check == "stuck"]
    assert stuck and all(re.search(r"t=\d+\.\d{3} s\)", text) for text in stuck), stuck
