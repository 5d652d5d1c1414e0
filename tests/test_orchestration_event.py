"""The EVENT task: sink expansion, status and output as Conductor sets them, the publish.

The decider alone first (one Start in, the actions out), then a small system in which a
workflow publishes through the broker and a choreographed participant hears it.
"""

import random
from types import SimpleNamespace

import pytest

from microlab import System
from microlab.choreography import Broker, Participant
from microlab.errors import DefinitionError
from microlab.orchestration import Orchestrator, load_workflow, model as m, workflow
from microlab.orchestration import sinks
from microlab.orchestration.actions import Commit, Publish
from microlab.orchestration.decider import Context, Decider
from microlab.orchestration.events import CompleteTask, Start
from microlab.orchestration.registry import Registry
from microlab.orchestration.routing import Router
from microlab.orchestration.state import State


def decider(wf, **context):
    reg = Registry()
    reg.add([wf], Router(SimpleNamespace(services={}), {}))
    return Decider(Context(reg, random=random.Random(0), **context))


def start(d, state, name="order_flow", inp=None):
    return d.decide(state, Start({"name": name, "input": inp or {"orderId": 7}}, "client",
                                 SimpleNamespace(id=1, correlation="order-7")), 0.5)


def flow(sink="nats:OrderPlaced", async_complete=False):
    return (workflow("order_flow", inputs=["orderId"])
            .event("placed", sink, input={"orderId": "${workflow.input.orderId}"}, async_complete=async_complete)
            .build())


# -- sinks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("sink, queue", [
    ("conductor", "conductor:order_flow:placed"),
    ("conductor:OrderPlaced", "conductor:order_flow:OrderPlaced"),
    ("nats:orders.placed", "nats:orders.placed"),
    ("kafka:orders", "kafka:orders"),
])
def test_sinks_expand_as_conductor_computes_the_queue_name(sink, queue):
    assert sinks.expand_sink(sink, "order_flow", "placed") == queue


def test_conductor_topics_keep_their_whole_name_and_broker_subjects_are_the_topic():
    assert sinks.broker_topic("conductor:order_flow:placed") == "conductor:order_flow:placed"
    assert sinks.broker_topic("nats:OrderPlaced") == "OrderPlaced"
    assert sinks.event_type("conductor:order_flow:placed") == "placed"


@pytest.mark.parametrize("sink, words", [
    ("sqs:orders", "Amazon SQS is not simulated"),
    ("amqp_queue:orders", "AMQP"),
    ("rabbit:orders", "unknown queue type 'rabbit'"),
    ("OrderPlaced", "has no provider"),
    ("conductorX", "Invalid / Unsupported sink"),
    ("nats:", "names no destination"),
])
def test_a_sink_microlab_cannot_publish_to_is_a_fault_at_the_sink_field(sink, words):
    with pytest.raises(DefinitionError) as err:
        flow(sink)
    faults = dict(err.value.faults)
    assert words in faults["$.tasks[0].sink"]


def test_an_event_task_without_a_sink_names_the_task():
    data = {"name": "w", "tasks": [{"name": "e", "taskReferenceName": "e", "type": "EVENT"}]}
    with pytest.raises(DefinitionError) as err:
        load_workflow(data)
    assert "the EVENT task 'e' needs a sink" in dict(err.value.faults)["$.tasks[0].sink"]


def test_sink_and_async_complete_stay_refused_on_other_task_types():
    data = {"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a", "sink": "nats:x"}]}
    with pytest.raises(DefinitionError) as err:
        load_workflow(data)
    assert "$.tasks[0].sink" in dict(err.value.faults)


def test_conductor_json_round_trip_keeps_sink_and_async_complete():
    wf = flow("conductor:OrderPlaced", async_complete=True)
    out = wf.to_conductor()["tasks"][0]
    assert out["type"] == "EVENT" and out["sink"] == "conductor:OrderPlaced" and out["asyncComplete"] is True
    again = load_workflow(wf.to_conductor())
    assert again == wf and again.tasks[0].sink == "conductor:OrderPlaced" and again.tasks[0].async_complete


# -- the decider ---------------------------------------------------------------------------

def test_an_event_task_publishes_its_output_and_completes():
    state = State()
    actions = start(decider(flow()), state)
    run = state.instances["order_flow-1"].tasks[0]
    assert run.status == m.COMPLETED
    expected = {"orderId": 7, "sink": "nats:OrderPlaced", "asyncComplete": False,
                "workflowInstanceId": "order_flow-1", "workflowType": "order_flow", "workflowVersion": 1,
                "correlationId": "order-7", "taskToDomain": {}, "event_produced": "nats:OrderPlaced"}
    assert run.output == expected
    publish = [a for a in actions if type(a) is Publish]
    assert len(publish) == 1
    assert (publish[0].topic, publish[0].type, publish[0].payload) == ("OrderPlaced", "OrderPlaced", expected)
    # Commit first, then send: the log knows the task is in progress before the event goes out.
    first_commit = next(i for i, a in enumerate(actions) if type(a) is Commit and a.record[0] == "dispatch")
    assert first_commit < actions.index(publish[0])
    assert state.instances["order_flow-1"].status == m.COMPLETED  # the only task: the workflow is done


def test_with_async_complete_it_stays_in_progress_until_completed():
    state = State()
    d = decider(flow(async_complete=True))
    start(d, state)
    inst = state.instances["order_flow-1"]
    run = inst.tasks[0]
    assert run.status == m.IN_PROGRESS and inst.status == m.RUNNING
    assert run.output["event_produced"] == "nats:OrderPlaced"
    d.decide(state, CompleteTask({"taskId": run.task_id, "output": {"ok": True}}, SimpleNamespace(id=2, correlation="order-7")), 3.0)
    assert run.status == m.COMPLETED and inst.status == m.COMPLETED


def test_a_sink_computed_at_run_time_that_is_bad_fails_the_task_with_conductors_words():
    wf = (workflow("order_flow", inputs=["where"]).event("placed", "${workflow.input.where}").build())
    state = State()
    start(decider(wf), state, inp={"where": "sqs:orders"})
    run = state.instances["order_flow-1"].tasks[0]
    assert run.status == m.FAILED
    assert run.reason.startswith("Error loading queue:sqs:orders, for task:order_flow-1.1, error:")
    assert state.instances["order_flow-1"].status == m.FAILED


def test_no_broker_to_publish_through_fails_the_task_and_says_why():
    state = State()
    start(decider(flow(), publisher=lambda topic: (None, "the broker 'broker' is down")), state)
    run = state.instances["order_flow-1"].tasks[0]
    assert run.status == m.FAILED and "the broker 'broker' is down" in run.reason


# -- in a system: a choreographed participant hears the workflow --------------------------------

def hybrid_system(**orchestrator):
    system = System(seed=4)
    orch = system.add(Orchestrator(**orchestrator))
    broker = system.add(Broker())
    heard = []
    listener = system.add(Participant("warehouse"))

    @listener.on("OrderPlaced")
    def pick(event, ctx):
        heard.append(dict(event.payload))
        ctx.effect("pick")

    orch.register(flow())
    return system, orch, broker, heard


def test_a_participant_reacts_to_what_a_workflow_publishes():
    system, orch, broker, heard = hybrid_system()
    orch.start("order_flow", {"orderId": 7}, correlation="order-7")
    system.run()
    assert orch.status("order-7") == m.COMPLETED
    assert [h["orderId"] for h in heard] == [7] and heard[0]["workflowInstanceId"] == "order_flow-1"
    published = [r for r in system.trace.records if r[1] == "publish"]
    assert len(published) == 1 and published[0][3].source == "orchestrator"
    assert published[0][3].correlation == "order-7"  # the business transaction crosses the domain


def test_a_broker_that_is_down_fails_the_event_task():
    system, orch, broker, heard = hybrid_system()
    system.sim.schedule_at(0.0, lambda _: broker.crash("test"), None)
    orch.start("order_flow", {"orderId": 7}, correlation="order-7", at=0.1)
    system.run(until=5)
    inst = orch.instance("order-7")
    assert inst.status == m.FAILED and "the broker 'broker' is down" in inst.tasks[0].reason
    assert heard == []


def test_the_orchestrator_declares_the_topics_it_publishes():
    system, orch, broker, heard = hybrid_system()
    assert orch.published_topics() == ["OrderPlaced"]
