"""Evolving a running system: instances keep their workflow version; event changes break or not by deploy order."""

from collections import Counter

import pytest

from microlab import scenarios
from microlab.orchestration.execution import executions
from microlab.scenarios import KnobError
from microlab.scenarios.evolution import (AUTHORIZED, EVENT, FIELD, RENAMED, RENAMED_TASK, SCHEMA_CHANGES, TASK,
                                          change_event, new_events, rename_table, rename_task, upgrade_workflow)


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
    with pytest.raises(KnobError, match="at must be a finite time"):
        change_event(at=-1)


def test_an_endless_or_undefined_time_is_refused_before_the_run():
    # A deploy at t=inf (or NaN) would never happen: the run went on until the
    # event-storm guard stopped it with a message about handlers, not about `at`.
    for value in (float("inf"), float("nan")):
        with pytest.raises(KnobError, match="at must be a finite time"):
            upgrade_workflow(at=value)
        with pytest.raises(KnobError, match="gap must be a finite time"):
            rename_task(gap=value)
        with pytest.raises(KnobError, match="at must be a finite time"):
            change_event(at=value)


def test_the_run_is_the_same_for_the_same_seed():
    a, b = change_event("split", "producer-first"), change_event("split", "producer-first")
    assert a.result.summary() == b.result.summary() and a.format() == b.format()
    assert "published to nobody" in a.format() and scenarios.change_event is change_event


def _renamed_tasks(ev):
    return [t for ex in executions(ev.result.system) for t in ex.tasks if t.name == RENAMED_TASK]


def test_a_renamed_task_deployed_worker_first_is_polled_before_anything_schedules_it():
    ev = rename_task("worker-first", gap=1.0)
    assert ev.deploys == {"payment v2": 0.5, "workflow v2": 1.5} and ev.warnings == []
    polls = [rec for rec in ev.result.trace.records
             if rec[1] == "poll" and rec[4]["task_type"] == RENAMED_TASK and rec[0] < 1.5]
    assert polls and all(rec[4]["leased"] == 0 for rec in polls)   # empty polls: nothing is scheduled yet
    # Version 1 runs charge, version 2 capture; every order completes, each charged once.
    tasks = {v: {t.name for ex in executions(ev.result.system) if ex.version == v for t in ex.tasks}
             for v in (1, 2)}
    assert TASK in tasks[1] and RENAMED_TASK not in tasks[1]
    assert RENAMED_TASK in tasks[2] and TASK not in tasks[2]
    c = ev.result.checks.counts()
    assert c["completed"] == len(ev.result.correlations) and ev.result.checks.ok
    charges = Counter(rec[3].correlation for rec in ev.result.trace.records
                      if rec[1] == "effect" and (rec[4] or {}).get("effect") == "charge")
    assert set(charges.values()) == {1} and len(charges) == len(ev.result.correlations)


def test_a_renamed_task_deployed_workflow_first_waits_in_its_queue_for_the_new_worker():
    early, late = rename_task("worker-first", gap=1.0), rename_task("workflow-first", gap=1.0)
    assert late.deploys == {"payment v2": 2.5, "workflow v2": 1.5}
    # Not refused, not failed: the capture tasks scheduled before payment learnt it were
    # polled only from its deploy on, and their orders completed late.
    waiting = [t for t in _renamed_tasks(late) if t.scheduled < 2.5]
    assert waiting and all(t.start >= 2.5 for t in waiting)
    assert all(t.start - t.scheduled < 0.2 for t in _renamed_tasks(early))
    assert late.result.checks.counts() == early.result.checks.counts()
    assert late.latency_by_version()[2]["p50"] > early.latency_by_version()[2]["p50"]
    assert late.latency_by_version()[2]["max"] > early.latency_by_version()[2]["max"] + 0.5
    # Version 1 never runs capture: its orders complete either way (their latencies differ a
    # little: worker first, payment's extra polls queue at the orchestrator beside v1's work).
    assert late.outcomes_by_version()[1] == early.outcomes_by_version()[1] == {"completed": 17}
    assert any("task 'capture' is routed to worker 'payment', which has no method" in w for w in late.warnings)
    assert late.poll_timeouts() == 0


def test_a_poll_timeout_turns_the_wait_into_timed_out_and_compensated_orders():
    ev = rename_task("workflow-first", gap=1.0, poll_timeout_seconds=0.3)
    c = ev.result.checks.counts()
    timed_out = [ex for ex in executions(ev.result.system) if ex.status == "TIMED_OUT"]
    assert ev.poll_timeouts() == len(timed_out) == c["compensated"] > 0
    assert c["stuck"] == 0 and c["inconsistent"] == 0
    assert all(ex.version == 2 and "Task poll timed out" in ex.reason for ex in timed_out)
    # Worker first, the same poll timeout never fires.
    assert rename_task("worker-first", gap=1.0, poll_timeout_seconds=0.3).poll_timeouts() == 0


def test_the_rename_table_has_a_row_per_deploy_and_poll_timeout():
    rows = rename_table(poll_timeouts=(0.0, 0.3), gap=1.0)
    assert [(r["deploy"], r["poll_timeout_seconds"]) for r in rows] == [
        ("worker-first", 0.0), ("worker-first", 0.3), ("workflow-first", 0.0), ("workflow-first", 0.3)]
    for r in rows:
        ev = rename_task(r["deploy"], poll_timeout_seconds=r["poll_timeout_seconds"], gap=1.0)
        assert r["completed"] == ev.result.checks.counts()["completed"]
        assert r["p50"] == ev.latency_by_version()[2]["p50"]
    with pytest.raises(KnobError, match="poll_timeout_seconds must be a finite time"):
        rename_task(poll_timeout_seconds=-1)
    with pytest.raises(KnobError, match="keep gap <= at"):
        rename_task("worker-first", at=0.2, gap=0.5)
