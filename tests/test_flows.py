"""microlab.flows: one definition of each business flow, and the hand-written copies held to it.

:data:`~microlab.flows.ORDER` is the source of the order saga. The teaching copies
(``choreography.examples``, ``orchestration.toys`` with ``order_fulfillment.json``) say in
their docstrings how they differ; these tests fail when a copy drifts further than it says.
"""

from microlab import Exponential, System, scenarios
from microlab.choreography import describe, examples
from microlab.flows import FLOWS, ORDER
from microlab.orchestration import Orchestrator, execution, toys


def flow_events(flow):
    """Every message type the flow names: its request, its own events, its steps' events."""
    names = {flow.request, flow.started, flow.completed, flow.rejected}
    for step in flow.steps:
        names |= {step.done, step.failed} | ({step.undone} if step.undone else set())
    return names


# -- the generated patterns -------------------------------------------------------------------

def test_each_flow_names_its_generated_workflow_apart_from_the_conductor_file():
    assert ORDER.workflow == "order_workflow"
    assert len({f.workflow for f in FLOWS.values()}) == len(FLOWS)
    run = scenarios.order_saga("orchestration", orders=1, seed=1)
    orchestrator = run.system["orchestrator"]
    assert orchestrator.definition(ORDER.workflow).name == "order_workflow"
    file_names = [wf.name for wf in toys.load_order_fulfillment()]
    assert ORDER.workflow not in file_names and file_names == ["order_fulfillment", "order_fulfillment_compensation"]


def test_the_generated_choreography_uses_the_flows_events_only_and_compensates_every_earlier_step():
    run = scenarios.order_saga("choreography", orders=1, seed=1)
    desc = describe(run.system)
    assert set(desc.events) <= flow_events(ORDER)
    # Every step but the first hears the failure of every later step and undoes itself.
    for i, step in enumerate(ORDER.steps[:-1]):
        subscribed = desc.services[step.service].subscribes
        assert {later.failed for later in ORDER.steps[i + 1:]} <= set(subscribed), step.service


# -- choreography.examples: smaller, by hand, and says exactly how --------------------------------

def example_declarations():
    flow = examples.order_flow()
    published, subscribed = set(), set()
    for p in flow.participants:
        published |= set(p.publishes)
        subscribed |= set(p.subscribes) | set(p.commands)
    return flow, published, subscribed


def test_the_hand_written_choreography_speaks_the_flows_vocabulary():
    flow, published, subscribed = example_declarations()
    assert [p.name for p in flow.participants] == [ORDER.owner] + [s.service for s in ORDER.steps]
    assert published | subscribed <= flow_events(ORDER)


def test_the_hand_written_choreography_lacks_exactly_what_its_docstring_says():
    _, published, subscribed = example_declarations()
    missing = flow_events(ORDER) - published - subscribed
    # 1. no ShippingFailed and no refund; 3. concluding and undoing publish nothing.
    said = {"ShippingFailed", "PaymentRefunded", "ShipmentCancelled", "OrderCompleted", "OrderRejected",
            "StockReleased"}
    assert missing == said
    for name in ("ShippingFailed", "PaymentRefunded", "OrderCompleted", "OrderRejected", "StockReleased"):
        assert name in examples.__doc__, name


def test_both_choreographies_release_the_stock_when_payment_fails():
    system = System(seed=1, latency=Exponential(0.01))
    flow = examples.order_flow().add_to(system)
    flow.place(system, "order-1", card="declined")
    system.run()
    hand = [r.detail["effect"] for r in system.trace.of_kind("effect")]
    built = scenarios.order_saga("choreography", orders=1, seed=1, failure={"payment": 1.0})
    generated = [r.detail["effect"] for r in built.trace.of_kind("effect")]
    assert hand == ["reserve", "release", "reject"] or hand == ["reserve", "reject", "release"]
    assert "reserve" in generated and "release" in generated and "charge" not in generated


# -- orchestration.toys and order_fulfillment.json: Conductor's names for the flow's steps ------------------

def toy_run(fail=None):
    system = System(seed=1, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator())
    services = system.add(*toys.saga_services())
    orchestrator.register(toys.load_order_fulfillment())
    if fail:
        by_name = {s.name: s for s in services}
        by_name[fail[0]].fail(fail[1])
    orchestrator.start("order_fulfillment", {"orderId": "o-1", "amount": 30, "items": ["book"]}, correlation="order-1")
    system.run()
    return system


def effects(system):
    return [r.detail["effect"] for r in system.trace.of_kind("effect") if r.correlation == "order-1"]


def test_the_conductor_file_runs_the_flows_steps_in_the_flows_order_at_the_flows_services():
    system = toy_run()
    assert effects(system) == [s.effect for s in ORDER.steps]
    done = [r.service for r in system.trace.of_kind("effect") if r.correlation == "order-1"]
    assert done == [s.service for s in ORDER.steps]
    assert toys.UNDO == {s.effect: s.compensation for s in ORDER.steps}


def test_the_conductor_file_undoes_the_completed_steps_most_recent_first_as_the_generated_saga():
    system = toy_run(fail=("shipping", "book_shipment"))
    assert execution(system, "order-1").outcome == "COMPENSATED"
    assert effects(system) == ["reserve", "charge", "refund", "release"]
    generated = scenarios.order_saga("orchestration", orders=1, seed=1, failure={"shipping": 1.0})
    undone = [r.detail["effect"] for r in generated.trace.of_kind("effect")
              if r.detail["effect"] in toys.UNDO.values()]
    assert undone == ["refund", "release"]

