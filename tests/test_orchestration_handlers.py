"""Event handlers: start_workflow, complete_task, fail_task, conditions, duplicates, bad definitions.

Each semantic is fed to the decider alone (an EventReceived in, the actions out), then
the same handlers run in a system where the broker delivers to the orchestrator.
"""

import random
from types import SimpleNamespace

import pytest

from microlab import System
from microlab.choreography import Broker, Participant
from microlab.errors import DefinitionError
from microlab.orchestration import Orchestrator, model as m, workflow
from microlab.orchestration.actions import Ack, Record
from microlab.orchestration.conductor import event_handler_to_json, load_event_handlers
from microlab.orchestration.decider import Context, Decider
from microlab.orchestration.events import EventReceived, Start
from microlab.orchestration.handlers import (EventHandlers, complete_task, event_handler, fail_task,
                                             resolve, start_workflow)
from microlab.orchestration.registry import Registry
from microlab.orchestration.routing import Router
from microlab.orchestration.state import State


def waiting():
    return workflow("order_flow", inputs=["orderId"]).wait("await_shipment").build()


def shipping_flow():
    return workflow("shipping_flow", inputs=["orderId"]).wait("pack").build()


def decider(*handlers, defs=None):
    reg = Registry()
    reg.add(defs or [waiting(), shipping_flow()], Router(SimpleNamespace(services={}), {}))
    table = EventHandlers()
    for h in handlers:
        table.add(h)
    return Decider(Context(reg, random=random.Random(0), handlers=table))


def delivery(topic, payload, mid=41, correlation="order-7"):
    msg = SimpleNamespace(id=100 + mid, correlation=correlation, type=topic)
    return EventReceived(topic, payload, mid, msg)


def started(d, state):
    d.decide(state, Start({"name": "order_flow", "input": {"orderId": 7}}, "client",
                          SimpleNamespace(id=1, correlation="order-7")), 0.0)
    return state.instances["order_flow-1"]


def executions(actions):
    return [a.detail for a in actions if type(a) is Record and a.kind == "event_handler"]


# -- the decider alone --------------------------------------------------------------------------

def test_start_workflow_resolves_input_from_the_payload_and_adds_the_event_fields():
    d = decider(event_handler("paid", "nats:OrderPaid",
                              start_workflow("shipping_flow", input={"orderId": "${order.id}", "note": "for ${order.id}"},
                                             correlation="${order.key}")))
    state = State()
    actions = d.decide(state, delivery("OrderPaid", {"order": {"id": 7, "key": "order-7"}}), 1.0)
    inst = state.instances["shipping_flow-1"]
    assert inst.input == {"orderId": 7, "note": "for 7", "conductor.event.messageId": 41,
                          "conductor.event.name": "nats:OrderPaid"}
    assert inst.correlation == "order-7"
    [done] = executions(actions)
    assert done["status"] == "COMPLETED" and done["workflow_id"] == "shipping_flow-1"
    ack = next(i for i, a in enumerate(actions) if type(a) is Ack)
    last_commit = max(i for i, a in enumerate(actions) if type(a).__name__ == "Commit")
    assert last_commit < ack  # acknowledged once the decision is durable, never before


def test_complete_task_by_workflow_id_and_ref_ends_the_wait_with_the_output():
    d = decider(event_handler("shipped", "nats:OrderShipped",
                              complete_task(workflow_id="${wf}", ref="await_shipment", output={"tracking": "${t}"})))
    state = State()
    inst = started(d, state)
    d.decide(state, delivery("OrderShipped", {"wf": inst.id, "t": "T-1"}), 2.0)
    run = inst.refs["await_shipment"]
    assert run.status == m.COMPLETED and inst.status == m.COMPLETED
    assert run.output["tracking"] == "T-1" and run.output["conductor.event.name"] == "nats:OrderShipped"
    assert run.output["workflowId"] == inst.id and run.output["taskRefName"] == "await_shipment"


def test_complete_task_by_task_id():
    d = decider(event_handler("h", "conductor:order_flow:done", complete_task(task_id="${id}")))
    state = State()
    inst = started(d, state)
    d.decide(state, delivery("conductor:order_flow:done", {"id": inst.tasks[0].task_id}), 2.0)
    assert inst.status == m.COMPLETED


def test_fail_task_fails_the_workflow_with_the_reason_given():
    d = decider(event_handler("lost", "nats:ShippingFailed",
                              fail_task(workflow_id="${wf}", ref="await_shipment", reason="carrier lost ${id}")))
    state = State()
    inst = started(d, state)
    d.decide(state, delivery("ShippingFailed", {"wf": inst.id, "id": "box 3"}), 2.0)
    run = inst.refs["await_shipment"]
    assert run.status == m.FAILED and run.reason == "carrier lost box 3"
    assert inst.status == m.FAILED


def test_a_false_condition_skips_the_handler_and_a_true_one_acts():
    handler = event_handler("big", "nats:OrderPaid", start_workflow("shipping_flow"), condition="$.amount > 100")
    d = decider(handler)
    state = State()
    skipped = executions(d.decide(state, delivery("OrderPaid", {"amount": 30}, mid=1), 1.0))
    assert [e["status"] for e in skipped] == ["SKIPPED"] and not state.instances
    d.decide(state, delivery("OrderPaid", {"amount": 300}, mid=2), 1.0)
    assert list(state.instances) == ["shipping_flow-1"]


def test_conditions_read_as_conductor_reads_them_a_string_is_false():
    d = decider(event_handler("s", "nats:X", start_workflow("shipping_flow"), condition="'yes'"),
                event_handler("n", "nats:X", start_workflow("shipping_flow"), condition="$.n"),
                event_handler("v", "nats:X", start_workflow("shipping_flow"), condition="go",
                              evaluator_type="value-param"))
    state = State()
    statuses = [e["status"] for e in executions(d.decide(state, delivery("X", {"n": 2, "go": True}), 1.0))]
    assert statuses == ["SKIPPED", "COMPLETED", "COMPLETED"]


def test_a_condition_that_throws_is_recorded_failed_and_does_nothing():
    d = decider(event_handler("bad", "nats:X", start_workflow("shipping_flow"), condition="$.a.b.c > 1"))
    state = State()
    [e] = executions(d.decide(state, delivery("X", {}), 1.0))
    assert e["status"] == "FAILED" and "event handler 'bad': its condition failed" in e["reason"]
    assert "TypeError" in e["reason"] and not state.instances


def test_a_redelivered_event_acts_once():
    d = decider(event_handler("paid", "nats:OrderPaid", start_workflow("shipping_flow")))
    state = State()
    d.decide(state, delivery("OrderPaid", {}, mid=5), 1.0)
    again = executions(d.decide(state, delivery("OrderPaid", {}, mid=5), 2.0))
    assert [e["status"] for e in again] == ["DUPLICATE"] and list(state.instances) == ["shipping_flow-1"]


def test_the_handled_record_replays():
    d = decider(event_handler("paid", "nats:OrderPaid", start_workflow("shipping_flow")))
    state = State()
    actions = d.decide(state, delivery("OrderPaid", {}, mid=5), 1.0)
    replayed = State.replay([a.record for a in actions if type(a).__name__ == "Commit"])
    assert replayed.handled == {(5, "paid", 0)} and "shipping_flow-1" in replayed.instances


def test_a_task_that_is_not_in_progress_is_not_ended_and_the_reason_says_so():
    d = decider(event_handler("h", "nats:X", complete_task(workflow_id="${wf}", ref="nope")))
    state = State()
    inst = started(d, state)
    [e] = executions(d.decide(state, delivery("X", {"wf": inst.id}), 1.0))
    assert e["status"] == "FAILED" and e["reason"].startswith("No task found with taskId: None, reference name: nope")


def test_an_unregistered_workflow_is_a_failed_execution():
    d = decider(event_handler("h", "nats:X", start_workflow("nowhere")))
    [e] = executions(d.decide(State(), delivery("X", {}), 1.0))
    assert e["status"] == "FAILED" and "'nowhere' is not registered" in e["reason"]


def test_resolve_reads_paths_and_missing_ones_are_none():
    payload = {"a": {"b": [1, {"c": "x"}]}}
    assert resolve({"v": "${a.b[1].c}", "n": "${a.b[0]}", "m": "${nope}", "t": "n=${a.b[0]}"}, payload) == \
        {"v": "x", "n": 1, "m": None, "t": "n=1"}


# -- definitions: Conductor JSON in and out, faults that name the handler -----------------------------

GOOD = {"name": "on_shipped", "event": "nats:OrderShipped", "condition": "$.ok", "active": True,
        "actions": [{"action": "complete_task",
                     "complete_task": {"workflowId": "${workflowId}", "taskRefName": "await_shipment",
                                       "output": {"tracking": "${tracking}"}},
                     "expandInlineJSON": False}]}


def test_conductor_json_round_trip():
    [h] = load_event_handlers(GOOD)
    assert h.name == "on_shipped" and h.topic == "OrderShipped" and h.active
    assert event_handler_to_json(h) == GOOD


def test_active_defaults_to_false_as_in_conductor():
    data = dict(GOOD)
    del data["active"]
    [h] = load_event_handlers(data)
    assert h.active is False


@pytest.mark.parametrize("change, path, words", [
    ({"event": "sqs:shipments"}, "$.event", "Amazon SQS is not simulated"),
    ({"event": "OrderShipped"}, "$.event", "has no provider"),
    ({"actions": []}, "$.actions", "event handler 'on_shipped' has no actions"),
    ({"actions": [{"action": "complete_task", "complete_task": {"taskRefName": "x"}}]}, "$.actions[0].complete_task",
     "complete_task needs taskId, or both workflowId and taskRefName (it has taskRefName)"),
    ({"actions": [{"action": "start_workflow", "start_workflow": {"input": {}}}]}, "$.actions[0].start_workflow.name",
     "start_workflow needs the name"),
    ({"actions": [{"action": "terminate_workflow", "terminate_workflow": {}}]}, "$.actions[0].action",
     "Conductor OSS does not carry it out"),
    ({"actions": [{"action": "launch"}]}, "$.actions[0].action", "unknown action 'launch'"),
    ({"evaluatorType": "python"}, "$.evaluatorType", "evaluatorType must be javascript"),
    ({"name": ""}, "$.name", "needs a name"),
    ({"evnt": "x"}, "$.evnt", "did you mean 'event'?"),
])
def test_bad_handler_definitions_name_the_field_and_the_handler(change, path, words):
    data = dict(GOOD, **change)
    with pytest.raises(DefinitionError) as err:
        load_event_handlers(data)
    faults = dict(err.value.faults)
    assert path in faults and words in faults[path], faults
    if path != "$.name" and "evnt" not in change:
        assert "on_shipped" in faults[path] or "event handler" in faults[path]


# -- in a system ------------------------------------------------------------------------------

def system_with(handlers, *, fail_ship=False):
    system = System(seed=2)
    orch = system.add(Orchestrator())
    system.add(Broker())
    shipping = system.add(Participant("shipping"))

    @shipping.on("OrderPaid", publishes=("OrderShipped", "ShippingFailed"))
    def ship(event, ctx):
        if fail_ship:
            ctx.publish("ShippingFailed", {"workflowId": event.payload["workflowInstanceId"]})
            return
        ctx.effect("ship")
        ctx.publish("OrderShipped", {"workflowId": event.payload["workflowInstanceId"], "ok": True})

    orch.register(workflow("order_flow", inputs=["orderId"]).event("paid", "nats:OrderPaid")
                  .wait("await_shipment").build(), shipping_flow())
    orch.add_event_handlers(*handlers)
    return system, orch


@pytest.mark.filterwarnings("ignore:ShippingFailed is published")
def test_in_a_system_the_shipping_event_completes_the_wait_and_starts_the_next_domain():
    system, orch = system_with([
        GOOD, event_handler("then_pack", "nats:OrderShipped", start_workflow("shipping_flow"))])
    orch.start("order_flow", {"orderId": 7}, correlation="order-7")
    system.run(until=30)
    kinds = [wf.name for wf in orch.workflows("order-7")]
    assert orch.instance("order-7").status == m.COMPLETED and kinds == ["order_flow", "shipping_flow"]
    acks = [r for r in system.trace.records if r[1] == "ack" and r[4].get("subscriber") == "orchestrator"]
    assert len(acks) == 1  # the orchestrator acknowledged its delivery


@pytest.mark.filterwarnings("ignore:OrderShipped is published")
def test_in_a_system_a_failure_event_fails_the_task():
    system, orch = system_with([event_handler("lost", "nats:ShippingFailed",
                                              fail_task(workflow_id="${workflowId}", ref="await_shipment"))],
                               fail_ship=True)
    orch.start("order_flow", {"orderId": 7}, correlation="order-7")
    system.run(until=30)
    inst = orch.instance("order-7")
    assert inst.status == m.FAILED and "failed by event handler 'lost'" in inst.reason


def test_a_condition_that_does_not_parse_is_refused_when_added():
    system = System(seed=1)
    orch = system.add(Orchestrator())
    system.add(Broker())
    with pytest.raises(DefinitionError) as err:
        orch.add_event_handlers(dict(GOOD, condition="$.ok &&"))
    message = dict(err.value.faults)["$.condition"]
    assert "event handler 'on_shipped': its condition '$.ok &&' does not parse" in message
    assert "SyntaxError" in message and orch.event_handlers == {}


def test_handlers_need_a_broker():
    system = System(seed=1)
    orch = system.add(Orchestrator())
    with pytest.raises(DefinitionError) as err:
        orch.add_event_handlers(GOOD)
    assert "there is no service 'broker'" in str(err.value)
