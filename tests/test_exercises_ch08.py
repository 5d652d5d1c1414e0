"""Exercise checks of notebook 08: right answers pass, typical wrong ones get the intended hint."""

from microlab.exercises import ch08
from microlab.orchestration import execution

SCREEN = {"name": "screen_order", "taskReferenceName": "screen_order", "type": "SIMPLE",
          "inputParameters": {"orderId": "${workflow.input.orderId}"},
          "taskDefinition": {"name": "screen_order", "retryCount": 1, "retryLogic": "FIXED",
                             "retryDelaySeconds": 1, "responseTimeoutSeconds": 5}}


def with_screen(index, **changes):
    workflows = ch08.saga_json()
    workflows[0]["tasks"].insert(index, dict(SCREEN, **changes))
    return workflows


def test_the_saga_runs_unchanged_on_toy_services_and_compensates():
    system, orchestrator = ch08.run_saga(fail={"book_shipment": None})
    ex = execution(system, "order-1")
    assert ex.outcome == "COMPENSATED"
    undone = ex.failure_workflow.refs("COMPLETED")
    assert "refund_payment" in undone and "release_inventory" in undone
    assert orchestrator.progress("order-1").completed == 2


def test_saga_json_is_a_fresh_copy():
    a = ch08.saga_json()
    a[0]["tasks"].clear()
    assert ch08.saga_json()[0]["tasks"]


def test_screening_saga_accepts_any_working_insertion():
    assert ch08.check_screening_saga(with_screen(2)).passed
    plain = with_screen(2)
    del plain[0]["tasks"][2]["taskDefinition"]
    slow = ch08.check_screening_saga(plain)   # Conductor's default retries: passes, with a note
    assert slow.passed and "60 s apart" in slow.message


def test_screening_saga_hints():
    untouched = ch08.check_screening_saga(ch08.saga_json())   # Run All before trying: no verdict yet
    assert not untouched.attempted and "unchanged" in untouched.message
    edited = ch08.saga_json()
    edited[0]["description"] = "screened"   # changed, but no screening task inserted
    assert "no top-level task named 'screen_order'" in ch08.check_screening_saga(edited).message
    assert "charged and before the shipment" in ch08.check_screening_saga(with_screen(3)).message
    assert "charged and before the shipment" in ch08.check_screening_saga(with_screen(1)).message
    no_ref = with_screen(2)
    del no_ref[0]["tasks"][2]["taskReferenceName"]
    assert "Conductor would reject" in ch08.check_screening_saga(no_ref).message
    lost = with_screen(2)
    del lost[0]["failureWorkflow"]
    assert "failureWorkflow" in ch08.check_screening_saga(lost).message
    optional = ch08.check_screening_saga(with_screen(2, optional=True))
    assert not optional.passed and "do not mark it optional" in optional.message
    assert "list of workflow definitions" in ch08.check_screening_saga({"name": "x"}).message


def test_progress_report():
    assert ch08.check_progress_report(lambda o, cs: {c: o.progress(c).estimate for c in cs}).passed
    partial = ch08.check_progress_report(lambda o, cs: {c: o.progress(c).fraction for c in cs})
    assert not partial.passed and "those not reached yet" in partial.message
    assert "of 3 tasks done" in partial.message   # it quotes the progress line it should match
    halves = ch08.check_progress_report(lambda o, cs: {c: 0.5 for c in cs})
    assert not halves.passed and "reached so far" not in halves.message
    assert "no entry for" in ch08.check_progress_report(lambda o, cs: {}).message
    assert "without parentheses" in ch08.check_progress_report(0.5).message


def test_the_check_works_inside_a_running_event_loop_as_in_jupyter():
    import asyncio

    async def inside():
        return ch08.check_screening_saga(with_screen(2))
    assert asyncio.run(inside()).passed


def test_the_two_failure_workflows_name_their_tasks_as_the_notebook_explains():
    from tests.course_text import before_exercises

    names = ch08.compensation_names()
    built, written = names["builder (chapter 02)"], names["order_fulfillment.json (this chapter)"]
    assert built[0] == "completed_steps (JSON_JQ_TRANSFORM)" and written[0] == "completed (JSON_JQ_TRANSFORM)"
    assert [n for n in built if "SWITCH" in n] == [
        "if_book_shipment_done (SWITCH)", "if_charge_payment_done (SWITCH)", "if_reserve_inventory_done (SWITCH)"]
    assert [n for n in written if "SWITCH" in n] == ["was_charged (SWITCH)", "was_reserved (SWITCH)"]
    assert "cancel_shipment (SIMPLE)" in built and "cancel_shipment (SIMPLE)" not in written
    # Both undo in reverse: refund before release.
    for tasks in (built, written):
        assert tasks.index("refund_payment (SIMPLE)") < tasks.index("release_inventory (SIMPLE)")
    text = "\n".join(before_exercises("08_netflix_conductor", "markdown"))
    for word in ("completed_steps", "if_<step>_done", "was_charged", "was_reserved", "TIMED_OUT"):
        assert word in text, word


# -- the architecture: polling workers, a cluster, events -----------------------------------------

def test_the_saga_workers_poll_and_the_server_answers_polls():
    system, _ = ch08.run_saga(orders=3)
    counts = ch08.message_counts(system)
    assert counts["Poll"] > counts["TaskCompleted"] == 9   # every task was taken by a poll
    assert counts["NoTask"] > 0                             # some polls came back empty
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_a_cluster_finishes_every_order_with_one_node_crashed_but_not_with_the_store_crashed():
    system, orchestrator = ch08.cluster_run()
    assert ch08.outcomes(orchestrator) == {"COMPLETED": 20}
    spread = ch08.handled_by(system)
    assert set(spread) == {"orchestrator", "orchestrator-2", "orchestrator-3"} and min(spread.values()) > 40
    system, orchestrator = ch08.cluster_run(crash="orchestrator-2")
    assert ch08.outcomes(orchestrator) == {"COMPLETED": 20}
    spread = ch08.handled_by(system)
    assert spread["orchestrator-2"] < min(spread["orchestrator"], spread["orchestrator-3"]) / 2  # others took its share
    system, orchestrator = ch08.cluster_run(crash="orchestrator-store")
    stalled = ch08.outcomes(orchestrator)
    assert stalled.get("COMPLETED", 0) < 20 and stalled.get("RUNNING", 0) > 0
    assert system.services["orchestrator-store"].stats()["refused"] > 0


def test_cluster_run_names_the_services_it_can_crash():
    import pytest
    with pytest.raises(ValueError, match="orchestrator-store"):
        ch08.cluster_run(crash="orchestrator-9")


def test_failover_time_runs_from_the_crash_to_another_nodes_decision_on_the_lost_request():
    from microlab.orchestration.cluster import REQUEST_RETRY_DELAY

    system, _ = ch08.cluster_run(crash="orchestrator-2", at=0.5)
    f = ch08.failover(system, "orchestrator-2")
    crash = next(r for r in system.trace.of_kind("crash") if r.service == "orchestrator-2")
    assert f.crashed == crash.time == 0.5
    assert f.lost and f.seconds is not None and f.seconds > 0
    (correlation, kind, at, by), = f.lost
    assert kind == "TaskCompleted" and by in ("orchestrator", "orchestrator-3")
    assert f.seconds == at - crash.time
    # The request was lost at the crashed node, sent again by its worker, and decided on by `by` at `at`.
    assert any(r.kind in ("lost", "drop") and r.service == "orchestrator-2" and r.message.correlation == correlation
               for r in system.trace)
    resent = [r for r in system.trace.of_kind("stale") if r.correlation == correlation and "resent_of" in r.detail]
    assert resent and crash.time + REQUEST_RETRY_DELAY <= resent[0].time <= at
    assert any(r.time == at and r.service == by and r.correlation == correlation for r in system.trace.of_kind("task"))
    # Before the retry, nobody decided on that order: the failover is the worker's retry delay, and a little.
    assert not [r for r in system.trace.of_kind("task", "workflow")
                if crash.time <= r.time < at and r.correlation == correlation]
    assert REQUEST_RETRY_DELAY < f.seconds < REQUEST_RETRY_DELAY + 0.1
    assert "failover time" in str(f) and f"{f.seconds * 1000:.0f} ms" in str(f)


def test_failover_waits_for_the_lease_when_the_crashed_node_held_the_lock():
    from microlab.orchestration.lease import LOCK_LEASE_TIME
    from tests.test_orchestration_cluster import cluster, crash_mid_decision

    system, _ = cluster(servers=3)
    crash_mid_decision(system, "orchestrator-2")
    system.run()
    f = ch08.failover(system, "orchestrator-2")
    sweep, = system.trace.of_kind("sweep")
    assert f.seconds == sweep.time - f.crashed >= LOCK_LEASE_TIME
    assert f.lost[0][0] == sweep.correlation and "s after the crash" in str(f)


def test_failover_refuses_a_node_that_did_not_crash():
    import pytest
    system, _ = ch08.cluster_run()
    with pytest.raises(ValueError, match="did not crash"):
        ch08.failover(system, "orchestrator-2")


def test_the_event_bridge_waits_forever_without_a_handler_and_completes_with_one():
    _, orchestrator = ch08.event_bridge()
    assert orchestrator.instance("order-1").status == "RUNNING"
    system, orchestrator = ch08.event_bridge(ch08.ON_SHIPPED)
    wf = orchestrator.instance("order-1")
    assert wf.status == "COMPLETED" and wf.tasks[-1].output["tracking"] == "TRK-1"
    assert [r[4]["status"] for r in system.trace.records if r[1] == "event_handler"] == ["COMPLETED"]


def test_event_handler_check_nudges_before_it_reveals():
    from microlab.exercises import feedback
    assert ch08.check_event_handler(ch08.ON_SHIPPED).passed
    wrong_event = dict(ch08.ON_SHIPPED, event="nats:OrderPaid")
    feedback._TRIES.clear()
    first = ch08.check_event_handler(wrong_event).message
    assert "Which event does shipping publish" in first and "nats:OrderShipped" not in first
    ch08.check_event_handler(wrong_event)
    third = ch08.check_event_handler(wrong_event).message
    assert '"event": "nats:OrderShipped"' in third
    wrong_task = dict(ch08.ON_SHIPPED, actions=[{"action": "complete_task",
                                                  "complete_task": {"workflowId": "${workflowId}",
                                                                    "taskRefName": "paid"}}])
    message = ch08.check_event_handler(wrong_task).message
    assert "only a task IN_PROGRESS can be ended" in message and "still RUNNING" in message
    assert "the orchestrator refused" in ch08.check_event_handler(
        dict(ch08.ON_SHIPPED, actions=[{"action": "terminate_workflow"}])).message
    assert "as a dict" in ch08.check_event_handler("nats:OrderShipped").message
    inactive = ch08.check_event_handler(dict(ch08.ON_SHIPPED, active=False)).message
    assert "never ran" in inactive
