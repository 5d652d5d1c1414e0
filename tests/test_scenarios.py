"""Scenarios: one flow, two patterns, measured; the protections hold and are needed.

Golden summaries live in tests/golden/scenarios.json; after an intended behaviour
change, regenerate them with ``python tests/test_scenarios.py --update-golden`` and
review the diff.
"""

import json
import sys
from pathlib import Path

import pytest

from microlab import scenarios
from microlab.faults import FaultPlan
from microlab.scenarios import KnobError

GOLDEN = Path(__file__).parent / "golden" / "scenarios.json"
GOLDEN_KNOBS = dict(orders=30, arrival_rate=5.0, failure={}, retries=0, seed=3)
FLOW_FAILURES = {"order": {"payment": 0.3}, "travel": {"hotel": 0.3}, "content": {"encode": 0.3}}


# Each flow's golden case exercises it differently, so that each adds something: the three
# flows have the same shape (three steps, each with a compensation), and with the same
# settings they gave the same numbers. order: the middle step fails, one step undone;
# travel: the last step fails after a retry, two steps undone; content: the first step
# fails (nothing to undo) under a load high enough to queue.
GOLDEN_CASES = {
    "order": dict(GOLDEN_KNOBS, failure={"payment": 0.3}),
    "travel": dict(GOLDEN_KNOBS, failure={"car": 0.4}, retries=1),
    "content": dict(GOLDEN_KNOBS, failure={"ingest": 0.3}, arrival_rate=40.0),
}


def golden_summaries() -> dict:
    out = {}
    for name in scenarios.FLOWS:
        for pattern in scenarios.ALL_PATTERNS:
            out[f"{name}/{pattern}"] = scenarios.run(name, pattern, **GOLDEN_CASES[name]).summary()
    return out


def test_each_flow_s_golden_case_differs_from_the_others():
    golden = json.loads(GOLDEN.read_text())
    for pattern in scenarios.ALL_PATTERNS:
        numbers = [tuple(v for k, v in sorted(golden[f"{name}/{pattern}"].items()) if k != "flow")
                   for name in scenarios.FLOWS]
        assert len(set(numbers)) == len(numbers), f"two flows' golden cases agree under {pattern}"


def test_golden_summaries_are_unchanged():
    assert golden_summaries() == json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", list(scenarios.FLOWS))
@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_every_scenario_completes_or_compensates(name, pattern):
    result = scenarios.run(name, pattern, orders=40, failure=FLOW_FAILURES[name], retries=1, seed=5)
    counts = result.checks.counts()
    assert result.checks.ok, result.checks.verdict()
    assert counts["completed"] > 20 and counts["compensated"] > 0
    assert counts["completed"] + counts["compensated"] == 40


def test_same_seed_same_run_and_both_patterns_see_the_same_arrivals():
    a = scenarios.order_saga("orchestration", orders=10, seed=9)
    b = scenarios.order_saga("orchestration", orders=10, seed=9)
    c = scenarios.order_saga("choreography", orders=10, seed=9)
    assert a.trace.digest() == b.trace.digest()
    assert a.arrivals == c.arrivals
    assert scenarios.order_saga("orchestration", orders=10, seed=10).trace.digest() != a.trace.digest()


def test_orchestration_costs_latency_choreography_costs_messages():
    orch = scenarios.order_saga("orchestration", orders=60, seed=2)
    chor = scenarios.order_saga("choreography", orders=60, seed=2)
    assert orch.metrics["latency_p50"] > chor.metrics["latency_p50"]
    assert orch.metrics["completed"] == chor.metrics["completed"] == 60
    # ...and choreography pays in messages per transaction: every event goes to the broker and
    # out to each subscriber, where a task costs the orchestrator's answer to a poll and the
    # worker's update. The polls themselves carry no transaction, yet they are messages too:
    # polling orchestration sends more in all than pushed commands do.
    assert chor.metrics["messages_per_transaction"] > 1.5 * orch.metrics["messages_per_transaction"]
    pushed = scenarios.order_saga("orchestration", orders=60, seed=2, dispatch="push")
    assert chor.metrics["messages"] > 1.5 * pushed.metrics["messages"]
    assert orch.metrics["messages"] > 1.5 * pushed.metrics["messages"]


def _central(pattern):
    return {"orchestration": ["orchestrator"], "choreography": ["broker"]}.get(pattern, [])


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_no_violation_under_200_random_fault_plans_with_every_protection_on(pattern):
    # The owner's front door is assumed reliable (a customer retries a failed request);
    # everything behind it may crash, lose, repeat or delay messages.
    targets = _central(pattern) + ["inventory", "payment", "shipping"]
    for seed in range(200):
        plan = FaultPlan.chaos(seed=seed, services=targets, horizon=6, rate=0.5)
        result = scenarios.order_saga(pattern, orders=20, seed=seed, faults=plan, standby=True,
                                      failure={"payment": 0.1})
        assert result.checks.ok, f"seed {seed}:\n{plan}\n{result.checks.verdict()}"


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_without_compensation_a_failed_order_keeps_its_stock(pattern):
    result = scenarios.order_saga(pattern, orders=20, seed=4, failure={"payment": 0.5}, retries=0,
                                  compensation=False)
    [check] = {v.check for v in result.checks.violations}
    assert check == "not atomic"
    assert "'reserve' at inventory was never undone" in result.checks.violations[0].explanation


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_without_idempotency_a_duplicate_charges_twice(pattern):
    types = ["charge"] if pattern == "orchestration" else ["StockReserved"]
    plan = FaultPlan().duplicate(destination="payment", types=types)
    safe = scenarios.order_saga(pattern, orders=10, seed=1, faults=plan)
    unsafe = scenarios.order_saga(pattern, orders=10, seed=1, faults=plan, idempotent=False)
    assert safe.checks.ok
    doubles = unsafe.checks.by_check()["effect applied twice"]
    charges = [v for v in doubles if "'charge' at payment was applied 2 times" in v.explanation]
    assert len(charges) == 10
    # Under both choreographies the duplicate spreads: payment tells shipping twice, so
    # shipping ships twice; the orchestrator decides once what comes next.
    shipped_twice = [v for v in doubles if "'ship' at shipping" in v.explanation]
    assert len(shipped_twice) == (0 if pattern == "orchestration" else 10)


def test_without_the_outbox_a_broker_outage_loses_events():
    plan = FaultPlan().crash("broker", at=1.0, duration=2.0)
    safe = scenarios.order_saga("choreography", orders=20, seed=2, faults=plan)
    unsafe = scenarios.order_saga("choreography", orders=20, seed=2, faults=plan, outbox=False)
    assert safe.checks.ok
    assert unsafe.checks.counts()["stuck"] > 0


def test_without_a_standby_an_orchestrator_crash_stalls_orders():
    plan = FaultPlan().crash("orchestrator", at=1.0)  # never restarted
    stalled = scenarios.order_saga("orchestration", orders=20, seed=2, faults=plan)
    saved = scenarios.order_saga("orchestration", orders=20, seed=2, faults=plan, standby=True)
    assert stalled.checks.counts()["stuck"] > 10
    assert saved.checks.ok and saved.checks.counts()["completed"] == 20
    stuck = stalled.checks.by_check()["stuck"][0]
    assert "orchestrator is down" in stuck.explanation


def test_violations_carry_the_records_of_their_transaction():
    result = scenarios.order_saga("choreography", orders=10, seed=1, idempotent=False,
                                  faults=FaultPlan().duplicate(destination="payment", types=["StockReserved"]))
    v = result.checks.violations[0]
    assert v.records and all(r.correlation == v.correlation for r in v.records)


def test_bad_knobs_name_the_knob():
    with pytest.raises(KnobError, match="unknown knob 'order'; did you mean 'orders'"):
        scenarios.order_saga(order=5)
    with pytest.raises(KnobError, match=r"failure names 'paymnt'.*did you mean 'payment'"):
        scenarios.order_saga(failure={"paymnt": 0.1})
    with pytest.raises(KnobError, match=r"failure\['payment'\] must be a probability"):
        scenarios.order_saga(failure={"payment": 2})
    with pytest.raises(KnobError, match="pattern must be"):
        scenarios.order_saga("conductor")
    with pytest.raises(KnobError, match="arrival_rate must be a positive number"):
        scenarios.order_saga(arrival_rate=0)


def test_sweep_has_a_row_per_rate_and_pattern_and_the_orchestrator_saturates_first():
    rows = scenarios.sweep("order", rates=[5, 40, 120], orders=150)
    assert [(r["pattern"], r["rate"]) for r in rows] == [
        (p, r) for p in scenarios.PATTERNS for r in (5, 40, 120)]
    at = {(r["pattern"], r["rate"]): r for r in rows}
    assert at[("orchestration", 120)]["busiest"] == "orchestrator"
    assert at[("orchestration", 120)]["throughput"] < at[("choreography", 120)]["throughput"]
    assert at[("orchestration", 120)]["p95"] > 3 * at[("orchestration", 5)]["p95"]


def test_canonical_changes_favour_each_pattern_once():
    fraud = scenarios.change_impact("fraud_check")
    assert fraud["orchestration"].as_dict() == {
        "added_services": ["fraud"], "removed_services": [], "changed_services": [],
        "added_workflows": [], "removed_workflows": [], "changed_workflows": ["order_workflow"]}
    assert fraud["choreography"].as_dict() == {
        "added_services": ["fraud"], "removed_services": [],
        "changed_services": ["inventory", "order", "payment", "shipping"],
        "added_workflows": [], "removed_workflows": [], "changed_workflows": []}
    listener = scenarios.change_impact("analytics")
    assert listener["orchestration"].existing_definitions_changed == 1
    assert listener["choreography"].existing_definitions_changed == 0
    assert listener["choreography"].added_services == ["analytics"]


def test_point_to_point_pays_for_both_changes():
    # Without a broker nobody can listen in: the owner must call a new listener. A new
    # step in the middle changes its neighbours (payment calls it, shipping hears from
    # it) and everyone who must hear its failure, as under the broker.
    fraud = scenarios.change_impact("fraud_check")["choreography-p2p"]
    assert fraud.added_services == ["fraud"]
    assert sorted(fraud.changed_services) == ["inventory", "order", "payment", "shipping"]
    assert "calls" in fraud.changed_services["payment"]
    listener = scenarios.change_impact("analytics")["choreography-p2p"]
    assert list(listener.changed_services) == ["order"]
    assert "calls" in listener.changed_services["order"]


def test_growth_one_workflow_grows_split_workflows_stay_small():
    rows = scenarios.growth(max_services=9, split_every=3)
    one = [r["size"] for r in rows if r["series"] == "one workflow"]
    split = [r["size"] for r in rows if r["series"] != "one workflow"]
    assert one == sorted(one) and one[-1] > 3 * one[0]
    assert max(split) < one[-1] / 2


if __name__ == "__main__" and "--update-golden" in sys.argv:
    GOLDEN.write_text(json.dumps(golden_summaries(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_under_harsh_chaos_every_violation_is_the_missing_client_retry(pattern):
    # Two faults per second, partitions, and crashes of the owner ("order") as well. The
    # one protection the scenarios lack is a client that retries its PlaceOrder: so an
    # order may be lost at the front door (and must then have applied nothing), and no
    # other violation (a double effect, a half-done saga) may appear.
    targets = _central(pattern) + ["order", "inventory", "payment", "shipping"]
    front_door_losses = partitions = owner_crashes = 0
    for seed in range(12):
        plan = FaultPlan.chaos(seed=seed, services=targets, horizon=6, rate=2.0, partitions=True)
        partitions += sum(type(f).__name__ == "Partition" for f in plan)
        owner_crashes += plan.services().count("order")
        result = scenarios.order_saga(pattern, orders=20, seed=seed, faults=plan, standby=True,
                                      failure={"payment": 0.1})
        for v in result.checks.violations:
            assert v.check == "stuck", f"seed {seed}:\n{plan}\n{result.checks.verdict()}"
            assert "applied so far: nothing" in v.explanation, f"seed {seed}: {v.explanation}"
            assert "PlaceOrder from client to order" in v.explanation, f"seed {seed}: {v.explanation}"
            front_door_losses += 1
        assert result.system.conservation().ok, f"seed {seed}: {result.system.conservation()}"
    assert partitions > 10 and owner_crashes > 0  # the plans hold what they promise
    assert front_door_losses > 0  # and are harsh enough to show the missing protection
