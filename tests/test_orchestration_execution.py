"""Executions rebuilt from the trace alone, for figures and the command line."""

import json

import pytest

from microlab import System
from microlab.orchestration import Orchestrator, execution, executions, saga, workflow
from microlab.orchestration import model as m
from microlab.orchestration.toys import saga_services


def shop_saga():
    return (saga("order", inputs=["orderId"])
            .step("reserve_inventory", compensate="release_inventory", retries=1, retry_delay=1)
            .step("charge_payment", compensate="refund_payment")
            .step("book_shipment", compensate="cancel_shipment", retries=1, retry_delay=2)
            .build())


@pytest.fixture
def system():
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator())
    inventory, payment, shipping = system.add(*saga_services())
    orchestrator.register(shop_saga())
    shipping.fail("book_shipment")
    orchestrator.start("order", {"orderId": 1}, correlation="order-1")
    orchestrator.start("order", {"orderId": 2}, correlation="order-2", at=100)
    system.run()
    return system


def test_the_execution_matches_what_the_orchestrator_holds(system):
    orchestrator = system["orchestrator"]
    ex = execution(system, "order-1")
    live = orchestrator.instance("order-1")
    assert ex.workflow_id == live.id and ex.status == live.status and ex.output == live.output
    assert [(t.task_id, t.status, t.attempt, t.output) for t in ex.tasks] == [
        (r.task_id, r.status, r.attempt, r.output) for r in live.tasks]
    assert [(t.scheduled, t.start, t.end) for t in ex.tasks] == [(r.scheduled, r.start, r.end) for r in live.tasks]


def test_tasks_come_in_scheduling_order_with_their_times(system):
    ex = execution(system, "order-1")
    assert [(t.ref, t.attempt, t.status) for t in ex.tasks] == [
        ("reserve_inventory", 1, "COMPLETED"), ("charge_payment", 1, "COMPLETED"),
        ("book_shipment", 1, "FAILED"), ("book_shipment", 2, "FAILED")]
    assert all(t.scheduled <= t.start <= t.end for t in ex.tasks)
    gap = ex.tasks[3].start - ex.tasks[2].end
    assert 2 <= gap < 2.25  # the retry delay, then the wait until a worker polls it
    assert ex.outcome == "COMPENSATED" and ex.failure_workflow.failure_of == ex.workflow_id


def test_the_json_document_uses_conductors_field_names(system):
    doc = json.loads(execution(system, "order-1").to_json())
    assert doc["status"] == "FAILED" and doc["correlationId"] == "order-1"
    first = doc["tasks"][0]
    assert {"referenceTaskName", "taskType", "status", "retryCount", "startTime", "endTime"} <= set(first)
    assert [t["retryCount"] for t in doc["tasks"]] == [0, 0, 0, 1]
    assert doc["failureWorkflow"]["status"] == "COMPLETED"
    assert [t["referenceTaskName"] for t in doc["failureWorkflow"]["tasks"] if t["taskType"] == "SIMPLE"] == [
        "refund_payment", "release_inventory"]


def test_executions_lists_every_business_transaction(system):
    found = executions(system)
    assert [ex.correlation for ex in found] == ["order-1", "order-2"]
    assert execution(system.trace, "order_saga-1" if False else found[1].workflow_id).correlation == "order-2"
    with pytest.raises(KeyError, match="no workflow with id or correlation 'order-3'"):
        execution(system, "order-3")
    with pytest.raises(KeyError, match="never scheduled a task 'nope'"):
        found[0].task("nope")


def three_tasks():
    """A system running workflow ``w``: reserve_inventory, charge_payment, book_shipment, in turn."""
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator())
    system.add(*saga_services())
    orchestrator.register(workflow("w").simple("reserve_inventory").simple("charge_payment")
                          .simple("book_shipment").build())
    return system, orchestrator


def test_progress_counts_the_path_taken_so_far():
    system, orchestrator = three_tasks()
    orchestrator.start("w", {}, correlation="o")
    seen = []
    for until in (0.015, 0.035, 0.055, 1.0):
        system.run(until=until)
        p = orchestrator.progress("o")
        seen.append((p.completed, p.taken, p.ahead))
    assert seen == [(0, 1, 2), (1, 2, 1), (2, 3, 0), (3, 3, 0)]
    assert orchestrator.progress("o").fraction == 1.0 and execution(system, "o").progress.fraction == 1.0
    assert str(orchestrator.progress("o")) == "w-1 COMPLETED: 3 of 3 tasks done"


def test_progress_lines_share_a_denominator_whichever_task_an_order_has_reached():
    system, orchestrator = three_tasks()
    orchestrator.start("w", {}, correlation="early")
    system.run(until=0.035)
    orchestrator.start("w", {}, correlation="late")
    system.run(until=0.05)
    early, late = orchestrator.progress("early"), orchestrator.progress("late")
    assert early.taken > late.taken, "the two orders have reached different tasks"
    assert early.total == late.total == 3
    assert str(late).endswith(f"{late.completed} of 3 tasks done") and str(early).endswith(" of 3 tasks done")
    assert late.estimate == late.completed / 3


def test_a_compensated_workflow_is_failed_and_says_compensation_ran():
    from microlab.orchestration.progress import status_words
    assert status_words("FAILED", "COMPLETED") == "FAILED, compensation ran"
    assert status_words("FAILED", "RUNNING") == "FAILED, compensation running"
    assert status_words("FAILED", "FAILED") == "FAILED, compensation FAILED"
    assert status_words("COMPLETED") == "COMPLETED"
    system, orchestrator = _failed_saga()
    assert orchestrator.status("order-9") == "FAILED"
    line = str(orchestrator.progress("order-9"))
    assert line.endswith("FAILED, compensation ran: 2 of 3 tasks done"), line
    ex = execution(system, "order-9")
    assert ex.status_words == "FAILED, compensation ran" and str(ex.progress) == line


def _failed_saga():
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator())
    _, _, shipping = system.add(*saga_services())
    orchestrator.register(saga("order_saga", inputs=["orderId", "amount"])
                          .step("reserve_inventory", compensate="release_inventory")
                          .step("charge_payment", compensate="refund_payment")
                          .step("book_shipment", compensate="cancel_shipment").build())
    shipping.fail("book_shipment")
    orchestrator.start("order_saga", {"orderId": 9, "amount": 30}, correlation="order-9")
    system.run()
    return system, orchestrator


def test_a_stalled_execution_says_what_it_waits_for():
    wf = workflow("w").wait("approval").build()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator())
    orchestrator.register(wf)
    orchestrator.start("w", {}, correlation="o")
    system.run()
    ex = execution(system, "o")
    assert ex.status == m.RUNNING and ex.waiting() == ["WAIT approval is IN_PROGRESS"]
    assert "still waiting: WAIT approval is IN_PROGRESS" in ex.format()


def test_the_task_table_fits_a_notebook_output_with_its_failure_workflow():
    """Chapter 04 prints a compensated order's execution: with fixed 17- and 21-character type
    and status columns its rows ran past JupyterLab's ~105 columns and wrapped mid-number; the
    columns now fit their entries, so every task row of both workflows stays within 100."""
    from microlab import scenarios
    from microlab.orchestration import execution

    run = scenarios.order_saga("orchestration", orders=12, failure={"shipping": 0.6}, seed=3)
    undone = [c for c, outcome in run.outcomes.items() if outcome == "compensated"]
    text = execution(run.system, undone[0]).format()
    rows = [line for line in text.splitlines() if line.split()[0].isdigit()]
    assert len(rows) >= 8, text   # reserve, charge, three ship attempts, then the compensation's tasks
    assert all(len(line) <= 100 for line in rows), "\n".join(r for r in rows if len(r) > 100)
    # ... and so does every other line: the status, its reason and the output wrap at a
    # word, their continuations indented (a notebook would cut them mid-word).
    assert all(len(line) <= 100 for line in text.splitlines()), text
    status = next(i for i, line in enumerate(text.splitlines()) if line.strip().startswith("status: FAILED"))
    assert text.splitlines()[status + 1].startswith("    ") and "ship failed" in text.replace("\n", " ")
    header = next(line for line in text.splitlines() if line.split()[:2] == ["seq", "task"])
    assert header.index("status") < header.index("attempt")
