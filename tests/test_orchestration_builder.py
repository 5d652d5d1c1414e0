"""The Python builder and its saga form: same model as Conductor JSON, same execution trace."""

import json

import pytest

from microlab import DefinitionError, Exponential, System
from microlab.orchestration import (Orchestrator, do_while, execution, fork, load_workflows, saga,
                                    simple, switch, workflow)
from microlab.orchestration import model as m
from microlab.orchestration import records as rec
from microlab.orchestration.toys import UNDO, saga_services


def order_saga():
    return (saga("order", inputs=["orderId", "amount"])
            .step("reserve_inventory", service="inventory", compensate="release_inventory", retries=1, retry_delay=1)
            .step("charge_payment", service="payment", compensate="refund_payment", retries=1, retry_delay=1)
            .step("book_shipment", service="shipping", compensate="cancel_shipment", retries=2, retry_delay=1,
                  retry_logic="EXPONENTIAL_BACKOFF")
            .output(trackingId="${book_shipment.output.trackingId}")
            .build())


def run_saga(definition, fail=None, orders=1, seed=1):
    system = System(seed=seed, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator())
    services = dict(zip(("inventory", "payment", "shipping"), system.add(*saga_services())))
    orchestrator.register(definition)
    if fail is not None:
        service, task = fail
        services[service].fail(task)
    for i in range(orders):
        orchestrator.start(definition.name, {"orderId": f"o{i}", "amount": 10}, correlation=f"order-{i}",
                           at=i * 0.003)
    system.run()
    return system


def effects(system, correlation):
    return [r.detail["effect"] for r in system.trace.of_kind("effect") if r.correlation == correlation]


def all_done_or_all_undone(done: list) -> bool:
    """What the consistency checker asks of each order."""
    applied = [e for e in done if e in UNDO]
    undone = [e for e in done if e in UNDO.values()]
    complete = sorted(applied) == sorted(UNDO) and not undone
    compensated = sorted(UNDO[e] for e in applied) == sorted(undone)
    return complete or compensated


def test_a_saga_that_succeeds_is_not_compensated():
    system = run_saga(order_saga())
    ex = execution(system, "order-0")
    assert ex.outcome == "COMPLETED" and ex.output == {"trackingId": "trk-o0"}
    assert effects(system, "order-0") == ["reserve", "charge", "ship"]
    assert not system.trace.of_kind(rec.COMPENSATE)


@pytest.mark.parametrize("service, task, undone", [
    ("inventory", "reserve_inventory", []),
    ("payment", "charge_payment", ["release"]),
    ("shipping", "book_shipment", ["refund", "release"]),
])
def test_a_failure_at_each_step_undoes_only_the_completed_steps_in_reverse(service, task, undone):
    system = run_saga(order_saga(), fail=(service, task))
    ex = execution(system, "order-0")
    done = effects(system, "order-0")
    assert [e for e in done if e in UNDO.values()] == undone
    assert ex.status == m.FAILED and ex.outcome == "COMPENSATED" and all_done_or_all_undone(done)
    [comp] = system.trace.of_kind(rec.COMPENSATE)
    assert [{"reserve_inventory": "release", "charge_payment": "refund"}[r] for r in comp.detail["completed"]] == undone
    compensations = [t for t in ex.failure_workflow.tasks if t.type == m.SIMPLE]
    assert all(t.compensation for t in compensations)
    assert [t.input["stepOutput"] for t in compensations if t.ref == "refund_payment"] in ([], [{"chargeId": "ch-o0"}])


def test_many_orders_with_shipping_failing_each_end_all_done_or_all_undone():
    definition = order_saga()
    system = System(seed=4, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator())
    inventory, payment, shipping = system.add(*saga_services())
    shipping.fail_rate("book_shipment", 0.6)
    orchestrator.register(definition)
    for i in range(40):
        orchestrator.start("order", {"orderId": i, "amount": 5}, correlation=f"order-{i}", at=i * 0.002)
    system.run()
    outcomes = [execution(system, f"order-{i}").outcome for i in range(40)]
    assert set(outcomes) == {"COMPLETED", "COMPENSATED"}
    assert all(all_done_or_all_undone(effects(system, f"order-{i}")) for i in range(40))


def test_saga_exports_as_plain_conductor_json():
    definition = order_saga()
    main, comp = definition.to_conductor()
    assert main["failureWorkflow"] == comp["name"] == "order_compensation"
    assert [t["type"] for t in comp["tasks"]] == ["JSON_JQ_TRANSFORM", "SWITCH", "SWITCH", "SWITCH"]
    assert [t["taskReferenceName"] for t in comp["tasks"][1:]] == [
        "if_book_shipment_done", "if_charge_payment_done", "if_reserve_inventory_done"]
    assert main["tasks"][2]["taskDefinition"]["retryLogic"] == "EXPONENTIAL_BACKOFF"
    assert "service" not in json.dumps(main)  # routes are microlab's own, not Conductor's
    assert load_workflows(definition.to_json()) == definition.workflows


def feature_workflow():
    return (workflow("tour", inputs=["kind"], timeout_seconds=100, timeout_policy="TIME_OUT_WF")
            .simple("reserve_inventory", input={"orderId": "${workflow.input.orderId}"}, retries=1, retry_delay=2)
            .switch("route", on="${workflow.input.kind}",
                    cases={"big": [simple("charge_payment", input={"amount": 100})]},
                    default=[simple("charge_payment", "small_charge", input={"amount": 1})])
            .add(fork([simple("book_shipment")], [simple("cancel_shipment", "undo_probe")], ref="both"))
            .do_while("loop", condition=2, body=[simple("release_inventory", "tick")])
            .set_variable("mark", done=True)
            .inline("sum", "$.a + 1", input={"a": "${workflow.input.n}"})
            .jq("shape", "{n: .n}", input={"n": "${sum.output.result}"})
            .wait("pause", 2)
            .output(n="${shape.output.result.n}", vars="${workflow.variables}")
            .build())


def test_round_trip_builder_to_conductor_json_to_model_gives_the_same_trace():
    built = feature_workflow()
    text = json.dumps(built.to_conductor())
    loaded = load_workflows(text)[0]
    assert loaded == built
    digests = []
    for definition in (built, loaded):
        system = System(seed=9, latency=Exponential(0.01))
        orchestrator = system.add(Orchestrator())
        system.add(*saga_services())
        orchestrator.register(definition)
        orchestrator.start("tour", {"kind": "big", "orderId": 1, "n": 4}, correlation="t")
        system.run()
        ex = execution(system, "t")
        assert ex.status == m.COMPLETED and ex.output["n"] == 5
        digests.append(system.trace.digest())
    assert digests[0] == digests[1]


def test_builder_errors_teach():
    with pytest.raises(TypeError, match="did you mean 'retries'"):
        simple("a", retires=3)
    with pytest.raises(TypeError, match="exactly one of on="):
        switch("s", cases={})
    with pytest.raises(DefinitionError) as info:
        workflow("w").simple("a", input={"x": "${b.output.y}"}).build()
    assert info.value.faults == [("$.tasks[0].inputParameters.x",
                                  "refers to task 'b', but no task has that taskReferenceName")]
    with pytest.raises(DefinitionError, match="is sent to 'one' elsewhere and to 'two' here"):
        workflow("w").simple("a", service="one").simple("a", "a2", service="two").build()


def test_do_while_with_a_count_and_fork_defaults():
    loop = do_while("l", condition=3, body=[simple("x")])
    assert loop.loop_condition == "$.l['iteration'] < 3"
    start, join = fork([simple("a"), simple("b")], [simple("c")])
    assert join.join_on == ["b", "c"] and join.task_reference_name == "fork_join"
