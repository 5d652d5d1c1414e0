"""Evolving a running system: instances keep their workflow version; event changes break or not by deploy order."""

import pytest

from microlab import scenarios
from microlab.orchestration.execution import executions
from microlab.scenarios import KnobError
from microlab.scenarios.evolution import (AUTHORIZED, EVENT, FIELD, RENAMED, SCHEMA_CHANGES, change_event,
                                          new_events, upgrade_workflow)


def _tasks(ex):
    return {t.name if hasattr(t, "name") else t["name"] for t in ex.tasks}


def test_each_instance_runs_the_version_it_started_with():
    up = upgrade_workflow("worker-first", at=1.5)
    system = up.result.system
    versions = up.versions()
    assert set(versions.values()) == {1, 2}
    for ex in executions(system):
        assert (ex.version == 2) == (ex.start >= 1.5), ex.correlation
    # An instance in flight when version 2 came finishes on version 1: it never screens.
    in_flight = up.in_flight(1.5)
    assert in_flight and set(in_flight.values()) == {1}
    screened = {rec[3].correlation for rec in up.result.trace.records
                if rec[1] == "effect" and (rec[4] or {}).get("effect") == "screen"}
    assert screened == {c for c, v in versions.items() if v == 2}
    assert up.result.checks.counts()["completed"] == len(up.result.correlations)


def test_a_workflow_deployed_before_its_worker_makes_orders_wait_not_fail():
    early = upgrade_workflow("worker-first", gap=1.5)
    late = upgrade_workflow("workflow-first", gap=1.5)
    assert late.result.checks.counts() == early.result.checks.counts()
    assert late.latency_by_version()[2]["max"] > early.latency_by_version()[2]["max"] + 1.0
    assert late.latency_by_version()[1] == early.latency_by_version()[1]   # v1 never needed the worker
    assert late.deploys == {"fraud worker": 3.0, "workflow v2": 1.5}


def test_new_events_speak_the_new_schema_and_leave_other_events_alone():
    payload = {"orderId": "order-1"}
    assert new_events("rename", EVENT, payload) == [(RENAMED, payload)]
    assert [t for t, _ in new_events("split", EVENT, payload)] == [AUTHORIZED, RENAMED]
    assert new_events("add_field", EVENT, payload)[0][1][FIELD] == "receipt-order-1"
    assert new_events("rename", "PaymentFailed", payload) == [("PaymentFailed", payload)]


@pytest.mark.parametrize("change", SCHEMA_CHANGES)
def test_the_safe_deploy_order_loses_no_order_and_the_other_strands_some(change):
    safe, unsafe = ("producer-first", "consumer-first") if change == "add_field" else ("consumer-first", "producer-first")
    good, bad = change_event(change, safe), change_event(change, unsafe)
    assert good.result.checks.counts()["stuck"] == 0 and good.result.checks.ok
    stuck = bad.result.checks.counts()["stuck"]
    assert stuck > 0
    if change == "add_field":
        # The consumer's new version refuses the old events: redelivered, then dead-lettered.
        assert bad.dead_letters() == {EVENT: stuck} and any("SchemaError" in w for w in bad.warnings)
    else:
        # The consumer's old version never subscribed to the new name: the broker hands it to nobody.
        assert bad.unheard()[RENAMED] == stuck
        assert any(RENAMED in w for w in bad.warnings)


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(KnobError, match="change must be one of"):
        change_event("delete")
    with pytest.raises(KnobError, match="deploy must be one of"):
        change_event("rename", "both")
    with pytest.raises(KnobError, match="deploy must be one of"):
        upgrade_workflow("never")
    with pytest.raises(KnobError, match="keep gap <= at"):
        upgrade_workflow("worker-first", at=0.2, gap=0.5)
    with pytest.raises(KnobError, match="at must be a time"):
        change_event(at=-1)


def test_the_run_is_the_same_for_the_same_seed():
    a, b = change_event("split", "producer-first"), change_event("split", "producer-first")
    assert a.result.summary() == b.result.summary() and a.format() == b.format()
    assert "published to nobody" in a.format() and scenarios.change_event is change_event
