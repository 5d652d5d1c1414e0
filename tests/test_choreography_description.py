"""The system description: who publishes and consumes what, and the silent-bug warnings."""

import json

import pytest

from microlab import Service, System
from microlab.choreography import Broker, Participant, describe
from microlab.choreography.description import NO_BROKER, UNCONSUMED, UNPUBLISHED
from microlab.choreography.examples import order_flow


def test_the_order_flow_is_described_per_service_and_per_event():
    system = System()
    order_flow().add_to(system)
    d = describe(system)
    assert list(d.services) == ["inventory", "order", "payment", "shipping"]
    order = d.services["order"]
    assert order.commands == ["PlaceOrder"] and order.publishes == ["OrderPlaced"]
    assert order.subscribes == ["OrderShipped", "PaymentFailed", "StockRejected"]
    assert order.outbox is True and order.idempotent is True
    assert d.events["StockReserved"] == {"publishers": ["inventory"], "consumers": ["payment"]}
    assert d.brokers == ["broker"] and d.ok
    text = str(d)
    assert "on OrderPlaced: reserve, then publish StockReserved or StockRejected" in text
    assert "no warnings" in text


def test_an_event_nobody_consumes_is_a_warning():
    flow = order_flow()
    flow.inventory.on("PaymentFailed", lambda e, ctx: ctx.publish("StockReleased", e.payload),
                      publishes=("StockReleased",))
    d = describe(flow.services)
    [w] = d.warnings
    assert w.kind == UNCONSUMED and w.event == "StockReleased" and w.services == ["inventory"]
    assert "no service subscribes" in w.message and "fails silently" in w.message
    assert "WARNINGS (1)" in str(d) and "StockReleased" in str(d)


def test_a_subscription_nobody_publishes_is_a_warning_with_the_likely_typo():
    flow = order_flow()
    analytics = Participant("analytics")
    analytics.on("OrderShiped", lambda e: None)
    d = describe(flow.services + (analytics,))
    [w] = d.warnings
    assert w.kind == UNPUBLISHED and w.event == "OrderShiped" and w.services == ["analytics"]
    assert "analytics subscribes to OrderShiped but no service publishes it" in w.message
    assert "Did you mean 'OrderShipped'?" in w.message


def test_both_warnings_for_a_renamed_event_and_the_consumer_side_hint():
    flow = order_flow()
    flow.shipping.reactions.clear()
    flow.shipping.on("PaymentCompleted", lambda e, ctx: ctx.publish("OrderDispatched", e.payload),
                     publishes=("OrderDispatched",))
    d = describe(flow.services)
    assert [(w.kind, w.event) for w in d.warnings] == [
        (UNCONSUMED, "OrderDispatched"), (UNPUBLISHED, "OrderShipped")]


def test_adding_a_pure_listener_changes_no_existing_service():
    before = describe(order_flow().services).to_dict()
    flow = order_flow()
    analytics = Participant("analytics")
    analytics.on("OrderPlaced", lambda e: None)
    analytics.on("OrderShipped", lambda e: None)
    after = describe(flow.services + (analytics,)).to_dict()
    changed = sorted(n for n in after["services"]
                     if after["services"][n] != before["services"].get(n))
    assert changed == ["analytics"]
    assert after["events"]["OrderShipped"]["consumers"] == ["analytics", "order"]
    assert json.dumps(after, sort_keys=True)  # plain data


def test_plain_services_subscribed_at_the_broker_are_listed_as_undeclared():
    system = System()
    broker = system.add(Broker())
    system.add(Service("auditor"))
    broker.subscribe("auditor", "Audited")
    d = describe(system)
    auditor = d.services["auditor"]
    assert auditor.declared is False and auditor.subscribes == ["Audited"]
    [w] = d.warnings
    assert w.kind == UNPUBLISHED and "plain service" in w.message
    assert "publishes not declared" in str(d)


def test_participants_without_their_broker_are_warned_about():
    p = Participant("p")
    p.on("Happened", lambda e: None)
    d = describe([p])
    assert [w.kind for w in d.warnings] == [UNPUBLISHED, NO_BROKER]
    assert "system.add(Broker())" in d.warnings[1].message


def test_describe_rejects_what_is_not_a_service():
    with pytest.raises(TypeError, match="System or Service"):
        describe(["order"])


def test_services_describe_themselves_for_change_impact():
    flow = order_flow()
    payment = flow.payment.describe()
    assert payment == {
        "commands": [], "publishes": ["PaymentCompleted", "PaymentFailed"],
        "subscribes": ["StockReserved"],
        "reactions": ["on StockReserved: charge, then publish PaymentCompleted or PaymentFailed"],
        "outbox": True, "idempotent": True}
    before = flow.broker.describe()
    flow.broker.subscribe("analytics", "OrderShipped")  # not in a system: checked at start
    assert flow.broker.describe() == before  # a new consumer does not change the broker
    json.dumps(payment)
