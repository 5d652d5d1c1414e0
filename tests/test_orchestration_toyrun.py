"""Toy runs: a workflow's tasks routed to toy workers, with failures chosen by reference name."""

import pytest

from microlab.errors import DefinitionError
from microlab.orchestration import builder as b
from microlab.orchestration.toyrun import ToyRunError, run_toy, toy_services
from microlab.orchestration.toys import workflow_file

ORDER = workflow_file("order_fulfillment")


def test_every_simple_task_gets_a_toy_worker_named_after_it():
    run = run_toy(ORDER, {"orderId": "o-1"})
    routes = toy_services(run.workflows)
    assert routes.by_ref["charge_payment"] == "charge_payment"
    assert set(routes.services) <= set(run.system.services)
    assert run.execution.status == "COMPLETED"


def test_reserved_names_and_http_segments_are_routed():
    wf = (b.workflow("w").simple("orchestrator")
          .http("call", "http://localhost/client/ping").build())
    routes = toy_services([wf])
    assert routes.by_ref == {"orchestrator": "orchestrator-worker", "call": "client-worker"}
    assert routes.http_routes == {"client": "client-worker"}
    assert run_toy(wf).execution.status == "COMPLETED"


def test_fail_times_and_determinism():
    a = run_toy(ORDER, {"orderId": "o-1"}, fail={"book_shipment": 1}, seed=4)
    b_ = run_toy(ORDER, {"orderId": "o-1"}, fail=[("book_shipment", 1)], seed=4)
    assert a.system.trace.digest() == b_.system.trace.digest()
    assert [t.status for t in a.execution.attempts("book_shipment")] == ["FAILED", "COMPLETED"]


def test_builder_saga_runs_with_its_compensation():
    saga = b.saga("s").step("do_a", compensate="undo_a").step("do_b", compensate="undo_b").build()
    run = run_toy(saga, fail={"do_b": None})
    assert run.execution.status == "FAILED"
    assert run.execution.failure_workflow.status == "COMPLETED"


def test_bad_options_are_named():
    with pytest.raises(ToyRunError, match="'book_shipmnt'.*did you mean 'book_shipment'"):
        run_toy(ORDER, fail={"book_shipmnt": None})
    with pytest.raises(ToyRunError, match="times must be a whole number"):
        run_toy(ORDER, fail={"book_shipment": -1})
    with pytest.raises(ToyRunError, match="output must be a dict"):
        run_toy(ORDER, outputs={"book_shipment": 3})
    with pytest.raises(ToyRunError, match="input must be a JSON object"):
        run_toy(ORDER, [1])


def test_missing_sub_workflow_is_a_definition_error():
    wf = b.workflow("top").sub_workflow("child", "nowhere").build()
    with pytest.raises(DefinitionError, match="sub-workflow 'nowhere' is not defined"):
        run_toy(wf)


def test_a_reference_name_reused_by_a_sub_workflow_fails_in_both():
    # Conductor's own example reuses "t1" in a workflow and its sub-workflow for two
    # different tasks; failing "t1" must fail the task of either, as a real worker would.
    child = b.workflow("child").simple("inner_task", ref="t1").build()
    parent = b.workflow("parent").simple("outer_task", ref="t1", retries=0).sub_workflow("call", "child").build()
    routes = toy_services([parent, child])
    assert routes.all_by_ref["t1"] == ["outer_task", "inner_task"]
    run = run_toy([parent, child], fail={"t1": None})
    assert run.execution.task("t1").status == "FAILED" and run.execution.status == "FAILED"
