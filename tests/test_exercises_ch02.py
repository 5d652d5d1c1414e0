"""Checks of notebook 02's exercises: right answers pass, typical wrong ones get the intended hint."""

import copy
import json

from microlab.exercises import ch02
from microlab.orchestration import saga


def order_saga(charge_retries=3, undo_reserve=True, steps=None):
    builder = saga("order_saga", inputs=["orderId", "amount"])
    plan = steps or [("reserve_inventory", "release_inventory" if undo_reserve else None, {}),
                     ("charge_payment", "refund_payment", {"retries": charge_retries, "retry_delay": 1}),
                     ("book_shipment", "cancel_shipment", {"retries": 1, "retry_delay": 1})]
    for name, undo, policy in plan:
        builder.step(name, compensate=undo, **policy)
    return builder.build()


def test_a_correct_saga_passes_and_so_does_another_retry_policy():
    assert ch02.check_order_saga(order_saga()).passed
    assert ch02.check_order_saga(order_saga(charge_retries=2)).passed
    exponential = (saga("shop", inputs=["orderId"])
                   .step("reserve_inventory", compensate="release_inventory")
                   .step("charge_payment", compensate="refund_payment", retries=5,
                         retry_logic="EXPONENTIAL_BACKOFF", retry_delay=0.5)
                   .step("book_shipment", compensate="cancel_shipment", retries=0)
                   .build())
    assert ch02.check_order_saga(exponential).passed


def test_too_few_retries_is_told_how_many_failures_to_survive():
    fb = ch02.check_order_saga(order_saga(charge_retries=1))
    assert not fb and "retries=2 or more" in fb.message and "gave up after 2 attempts" in fb.message


def test_a_missing_compensation_is_named():
    fb = ch02.check_order_saga(order_saga(undo_reserve=False))
    assert not fb and "compensate='release_inventory'" in fb.message


def test_wrong_order_missing_task_and_unbuilt_builder_get_hints():
    swapped = order_saga(steps=[("reserve_inventory", "release_inventory", {}),
                                ("book_shipment", "cancel_shipment", {}),
                                ("charge_payment", "refund_payment", {"retries": 2, "retry_delay": 1})])
    assert "ship last" in ch02.check_order_saga(swapped).message
    short = saga("s", inputs=["orderId"]).step("reserve_inventory").build()
    assert "no 'charge_payment' task" in ch02.check_order_saga(short).message
    assert "call .build()" in ch02.check_order_saga(saga("s").step("reserve_inventory")).message
    assert not ch02.check_order_saga(...).attempted   # left as ...: "Your turn", no verdict


SWITCH = {
    "name": "shipping_choice", "version": 1, "schemaVersion": 2, "inputParameters": ["orderId", "speed"],
    "tasks": [{
        "name": "route", "taskReferenceName": "route", "type": "SWITCH",
        "evaluatorType": "value-param", "expression": "speed",
        "inputParameters": {"speed": "${workflow.input.speed}"},
        "decisionCases": {"express": [{"name": "ship_express", "taskReferenceName": "express",
                                       "type": "SIMPLE",
                                       "inputParameters": {"orderId": "${workflow.input.orderId}"}}]},
        "defaultCase": [{"name": "ship_standard", "taskReferenceName": "standard", "type": "SIMPLE",
                         "inputParameters": {"orderId": "${workflow.input.orderId}"}}],
    }],
}


def test_a_correct_switch_passes_as_a_dict_or_as_json_text():
    assert ch02.check_shipping_switch(SWITCH).passed
    assert ch02.check_shipping_switch(json.dumps(SWITCH)).passed


def test_a_javascript_switch_is_correct_too():
    js = copy.deepcopy(SWITCH)
    route = js["tasks"][0]
    route.update(evaluatorType="javascript", expression="$.speed == 'express' ? 'fast' : 'slow'")
    route["decisionCases"] = {"fast": route.pop("decisionCases")["express"]}
    assert ch02.check_shipping_switch(js).passed


def test_unwired_input_and_missing_default_get_hints():
    unwired = copy.deepcopy(SWITCH)
    unwired["tasks"][0]["decisionCases"]["express"][0]["inputParameters"] = {}
    fb = ch02.check_shipping_switch(unwired)
    assert not fb and "${workflow.input.orderId}" in fb.message
    no_default = copy.deepcopy(SWITCH)
    no_default["tasks"][0]["defaultCase"] = []
    fb = ch02.check_shipping_switch(no_default)
    assert not fb and "speed='standard' nothing was shipped" in fb.message


def test_invalid_json_and_typos_are_reported_with_their_place():
    assert "not valid JSON" in ch02.check_shipping_switch("{name: 1}").message
    typo = copy.deepcopy(SWITCH)
    typo["tasks"][0]["type"] = "SWTICH"
    fb = ch02.check_shipping_switch(typo)
    assert not fb and "Did you mean 'SWITCH'" in fb.message and "$.tasks[0].type" in fb.message


def test_backoff_total_and_its_typical_mistakes():
    assert ch02.check_backoff_total(14).passed
    assert "wait before the last retry alone" in ch02.check_backoff_total(8).message
    assert "would be FIXED" in ch02.check_backoff_total(6).message
    assert "each next one doubles" in ch02.check_backoff_total(7).message
    assert ch02.check_backoff_total(7, delay=1).passed


def test_a_saga_that_sets_no_retries_is_told_it_relies_on_the_default():
    from microlab.orchestration import saga

    s = (saga("order", inputs=["orderId"]).step("reserve_inventory", compensate="release_inventory")
         .step("charge_payment", compensate="refund_payment")
         .step("book_shipment", compensate="cancel_shipment").build())
    fb = ch02.check_order_saga(s)
    assert not fb.passed and "retryCount 3" in fb.message and "retries=" in fb.message
