"""Conductor JSON: loading, exporting, and the project's own order saga running on toy services."""

import json

import pytest

from microlab import DefinitionError, Exponential, System
from microlab.checks import SagaSpec, Step, check_saga
from microlab.orchestration import Orchestrator, dumps, execution, load_task_defs, load_workflow, load_workflows
from microlab.orchestration import model as m
from microlab.orchestration.toys import UNDO, load_order_fulfillment, saga_services, workflow_file


def test_the_project_saga_file_loads_with_its_failure_workflow():
    main, comp = load_order_fulfillment()
    assert main.failure_workflow == comp.name == "order_fulfillment_compensation"
    assert [t.task_reference_name for t in main.tasks] == ["reserve_inventory", "charge_payment", "book_shipment"]
    assert [t.task_definition.retry_logic for t in main.tasks] == ["FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF"]


def saga_system(seed=1, conclusions=None):
    system = System(seed=seed, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator(conclusions=conclusions))
    inventory, payment, shipping = system.add(*saga_services())
    orchestrator.register(load_order_fulfillment())
    return system, orchestrator, inventory, payment, shipping


def order_effects(system, correlation):
    return [r.detail["effect"] for r in system.trace.of_kind("effect") if r.correlation == correlation]


def test_the_project_saga_completes_on_toy_services():
    system, orchestrator, *_ = saga_system()
    orchestrator.start("order_fulfillment", {"orderId": "o-1", "amount": 30, "items": ["a"]}, correlation="order-1")
    system.run()
    ex = execution(system, "order-1")
    assert ex.status == m.COMPLETED and ex.failure_workflow is None
    assert ex.output == {"orderId": "o-1", "reservationId": "res-o-1", "chargeId": "ch-o-1", "trackingId": "trk-o-1"}
    assert order_effects(system, "order-1") == ["reserve", "charge", "ship"]


def test_shipping_failing_after_its_retries_refunds_then_releases():
    system, orchestrator, inventory, payment, shipping = saga_system()
    shipping.fail("book_shipment")
    orchestrator.start("order_fulfillment", {"orderId": "o-2", "amount": 30}, correlation="order-2")
    system.run()
    ex = execution(system, "order-2")
    ships = ex.attempts("book_shipment")
    assert [a.status for a in ships] == ["FAILED"] * 3  # retryCount 2
    gaps = [b.start - a.end for a, b in zip(ships, ships[1:])]
    # LINEAR_BACKOFF 1 s, then the wait until a worker polls the retry
    assert [round(g) for g in gaps] == [1, 2] and all(0 <= g - d < 0.25 for g, d in zip(gaps, [1, 2]))
    assert ex.outcome == "COMPENSATED"
    assert order_effects(system, "order-2") == ["reserve", "charge", "refund", "release"]
    refund = ex.failure_workflow.task("refund_payment")
    assert refund.input["chargeId"] == "ch-o-2" and refund.input["amount"] == 30
    assert ex.failure_workflow.output["completedSteps"] == {
        "reserve_inventory": {"reservationId": "res-o-2"}, "charge_payment": {"chargeId": "ch-o-2"}}


@pytest.mark.parametrize("failing, expected, refunded, released", [
    ("reserve_inventory", ["reserve"][:0], "nothing_to_refund", "nothing_to_release"),
    ("charge_payment", ["reserve", "release"], "nothing_to_refund", "release"),
    ("book_shipment", ["reserve", "charge", "refund", "release"], "refund", "release"),
])
def test_a_failure_at_each_step_undoes_only_what_completed(failing, expected, refunded, released):
    system, orchestrator, *services = saga_system()
    worker = {s.name: s for s in services}[{"reserve_inventory": "inventory", "charge_payment": "payment",
                                            "book_shipment": "shipping"}[failing]]
    worker.fail(failing)
    orchestrator.start("order_fulfillment", {"orderId": "o-3", "amount": 30}, correlation="order-3")
    system.run()
    ex = execution(system, "order-3")
    assert order_effects(system, "order-3") == expected
    assert ex.outcome == "COMPENSATED"
    assert ex.failure_workflow.output["refunded"] == [refunded]
    assert ex.failure_workflow.output["released"] == [released]


def test_every_order_ends_completed_or_compensated_when_shipping_is_flaky():
    system, orchestrator, inventory, payment, shipping = saga_system(seed=2, conclusions=("complete", "reject"))
    shipping.fail_rate("book_shipment", 0.5)
    for i in range(30):
        orchestrator.start("order_fulfillment", {"orderId": i, "amount": 5}, correlation=f"order-{i}", at=i * 0.004)
    system.run()
    outcomes = {}
    for i in range(30):
        done = order_effects(system, f"order-{i}")
        outcomes[f"order-{i}"] = execution(system, f"order-{i}").outcome
        if done[-1] == "complete":
            assert done == ["reserve", "charge", "ship", "complete"]
        else:
            applied = [e for e in done if e in UNDO]
            assert done[-1] == "reject" and [UNDO[e] for e in reversed(applied)] == done[len(applied):-1]
    assert set(outcomes.values()) == {"COMPLETED", "COMPENSATED"}
    # The project's consistency checker agrees: every order all-done or all-undone.
    spec = SagaSpec("order", (Step("inventory", "reserve", "release"), Step("payment", "charge", "refund"),
                              Step("shipping", "ship", "cancel_shipment")))
    report = check_saga(system.trace, spec, correlations=list(outcomes))
    assert report.ok, report.verdict()
    assert {o: report.outcomes[o].upper() for o in outcomes} == outcomes


def test_export_and_load_again_give_the_same_definitions_and_keep_passive_fields():
    data = json.loads(workflow_file("order_fulfillment").read_text())
    data[0]["ownerEmail"] = "team@example.com"
    first = load_workflows(data)
    again = load_workflows(dumps(first))
    assert again == first and again[0].extra == {"ownerEmail": "team@example.com"}
    assert json.loads(dumps(first))[0]["ownerEmail"] == "team@example.com"


def test_load_from_a_path_a_string_or_parsed_json(tmp_path):
    data = {"name": "one", "tasks": [{"name": "a", "taskReferenceName": "a"}]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(data))
    assert load_workflow(path) == load_workflow(str(path)) == load_workflow(json.dumps(data)) == load_workflow(data)
    assert load_workflow(data).tasks[0].type == "SIMPLE"  # Conductor's default type


def test_unreadable_files_explain_themselves(tmp_path):
    with pytest.raises(DefinitionError, match="no such file"):
        load_workflows(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "tasks": [}')
    with pytest.raises(DefinitionError, match=r"is not valid JSON: .* line 1, column 25"):
        load_workflows(bad)
    with pytest.raises(DefinitionError, match="a workflow needs a non-empty list of tasks"):
        load_workflows({"name": "x", "tasks": []})


def test_task_definitions_load_with_conductors_defaults():
    defs = load_task_defs([{"name": "a", "retryCount": 1, "retryLogic": "LINEAR_BACKOFF", "backoffScaleFactor": 2},
                           {"name": "b", "ownerEmail": "x@y.z", "responseTimeoutSeconds": 10}])
    assert defs["a"].retry_delay(1) == 60 * 2 * 2 and defs["b"].retry_count == 3
    with pytest.raises(DefinitionError) as info:
        load_task_defs([{"name": "a", "retryLogic": "BACKOFF"}, {"name": "a", "retryCount": -1}])
    faults = dict(info.value.faults)
    assert "must be one of FIXED, EXPONENTIAL_BACKOFF, LINEAR_BACKOFF" in faults["$[0].retryLogic"]
    assert "at least 0" in faults["$[1].retryCount"] and "appears twice" in faults["$[1].name"]
