"""Participants: reactions, the idempotent-consumer switch, declarations, event storms."""

import pytest

from microlab import (DefinitionError, Duplicate, EventStorm, HandlerFailureWarning, MicrolabError,
                      System)
from microlab.choreography import Broker, Participant, reaction
from microlab.choreography.examples import order_flow
from microlab.choreography.kinds import DUPLICATE_IGNORED
from microlab.trace import EFFECT

from .test_choreography_examples import effects


def _flow_with_duplicated_deliveries_to_payment(idempotent):
    system = System(seed=11)
    flow = order_flow(idempotent=idempotent).add_to(system)
    system.network.add_fault(Duplicate(source="broker", destination="payment", types=("StockReserved",)))
    flow.place(system, "order-1")
    system.run()
    return system, flow


def test_without_idempotency_a_duplicated_event_charges_twice():
    system, flow = _flow_with_duplicated_deliveries_to_payment(idempotent=False)
    assert effects(system, "charge")[("order-1", "charge")] == 2
    assert flow.payment.state["charged"] == {"order-1": 60}
    assert system.trace.of_kind(DUPLICATE_IGNORED) == []


def test_an_idempotent_consumer_ignores_the_duplicate():
    system, flow = _flow_with_duplicated_deliveries_to_payment(idempotent=True)
    assert effects(system, "charge")[("order-1", "charge")] == 1
    assert flow.payment.state["charged"] == {"order-1": 30}
    [ignored] = system.trace.of_kind(DUPLICATE_IGNORED)
    assert ignored.service == "payment" and ignored.message.type == "StockReserved"
    assert flow.status("order-1") == "completed"


def test_redelivery_to_a_slow_consumer_doubles_the_effect_only_without_idempotency():
    from microlab import Constant

    def charges(idempotent):
        system = System(seed=12, latency=0.01)
        flow = order_flow(idempotent=idempotent, broker=Broker(ack_timeout=0.05)).add_to(system)
        # Slower than the ack timeout: the broker redelivers once before the ack (sent
        # 0.09 s after the first delivery left the broker) settles the delivery at 0.10.
        flow.payment.work_time = Constant(0.07)
        flow.place(system, "order-1")
        system.run()
        return effects(system)[("order-1", "charge")], effects(system)[("order-1", "ship")]

    # The second charge publishes a second PaymentCompleted: a new event, so even an
    # idempotent shipping service would ship twice. Duplicates propagate downstream.
    assert charges(idempotent=False) == (2, 2)
    assert charges(idempotent=True) == (1, 1)


def test_a_duplicated_command_is_recognised_by_its_message_id():
    system = System(seed=13)
    flow = order_flow().add_to(system)
    system.network.add_fault(Duplicate(destination="order", types=("PlaceOrder",)))
    flow.place(system, "order-1")
    system.run()
    assert effects(system)[("order-1", "reserve")] == 1
    [ignored] = system.trace.of_kind(DUPLICATE_IGNORED)
    assert ignored.message.type == "PlaceOrder" and ignored.detail["event"] == ignored.message.id


def test_class_style_reactions_with_declared_publishes():
    class Inventory(Participant):
        def __init__(self):
            super().__init__("inventory")
            self.stock = 1

        @reaction(publishes=("StockReserved", "StockRejected"))
        def on_OrderPlaced(self, event):
            if self.stock:
                self.stock -= 1
                self.publish("StockReserved", event.payload)
            else:
                self.publish("StockRejected", event.payload)

    class Shop(Participant):
        def on_start(self):  # no super(): the subscriptions are made anyway
            self.publish("OrderPlaced", {"n": 1}, correlation="o1")
            self.publish("OrderPlaced", {"n": 2}, correlation="o2")

        def on_StockReserved(self, event):
            self.state.setdefault("reserved", []).append(event.payload["n"])

        def on_StockRejected(self, event):
            self.state.setdefault("rejected", []).append(event.payload["n"])

    system = System(latency=0.01)
    shop = Shop("shop", publishes=("OrderPlaced",))
    inventory = Inventory()
    system.add(Broker(), shop, inventory)
    system.run()
    assert shop.state == {"reserved": [1], "rejected": [2]}
    assert inventory.publishes == ["StockReserved", "StockRejected"]
    assert shop.subscribes == ["StockRejected", "StockReserved"]  # on_<Type> methods, by name
    assert system["broker"].subscriptions_of("shop") == shop.subscribes
    assert str(inventory.reactions["OrderPlaced"]) == (
        "on OrderPlaced: on_OrderPlaced, then publish StockReserved or StockRejected")


def test_a_reaction_may_take_only_the_event():
    system = System()
    seen = []
    listener = Participant("listener")
    listener.on("Happened", lambda event: seen.append(event.payload))
    source = Participant("source", publishes=("Happened",))
    system.add(Broker(), listener, source)
    system.run()
    source.publish("Happened", 42, correlation="c")
    system.run()
    assert seen == [42]


def test_publishing_an_undeclared_event_is_an_error_with_a_hint():
    system = System()
    inventory = Participant("inventory")

    @inventory.on("OrderPlaced", publishes=("StockReserved",))
    def reserve(event, ctx):
        ctx.publish("StockReserverd", event.payload)

    system.add(Broker(), inventory)
    system.inject("broker", "OrderPlaced", {}, kind="event", topic="OrderPlaced",
                  source="inventory")  # inventory publishes to itself through the broker
    with pytest.warns(HandlerFailureWarning):
        system.run(until=0.5)
    error = system.failures[0].error
    assert "UndeclaredEventError" in error and "'StockReserverd'" in error
    assert "Did you mean 'StockReserved'?" in error and "publishes=" in error
    assert effects(system) == {}  # and nothing was published
    assert not any(m.type == "StockReserverd" for m in system.trace.messages().values())


def test_an_event_without_a_reaction_names_the_fix_and_is_not_acked():
    system = System()
    p = Participant("p")
    p.on("Known", lambda e: None)
    broker = system.add(Broker(ack_timeout=0.1, max_receive_count=1))
    system.add(p)
    broker.subscribe("p", "Knwon")
    system.inject("broker", "Knwon", None, kind="event", topic="Knwon")
    with pytest.warns(HandlerFailureWarning):
        system.run()
    error = system.failures[0].error
    assert "p has no reaction to 'Knwon'" in error and "Did you mean 'Known'?" in error
    assert "@p.on('Knwon'" in error
    assert len(broker.dead_letters("p")) == 1


def test_declaration_mistakes_are_caught_when_declaring():
    p = Participant("p")
    with pytest.raises(DefinitionError, match="reserves"):
        p.on("Ack:Foo", lambda e: None)
    with pytest.raises(TypeError, match="non-empty string"):
        p.on("", lambda e: None)
    with pytest.raises(TypeError, match="takes no arguments"):
        p.on("Foo", lambda: None)
    with pytest.raises(DefinitionError, match="twice"):
        p.on("Foo", lambda e: None, publishes=("A", "A"))
    # ("A") without a comma is a string: it is taken as one event type, not three letters.
    p.on("Bar", lambda e: None, publishes=("Abc"))
    assert p.reactions["Bar"].publishes == ("Abc",)


def test_publishing_outside_a_reaction_needs_a_correlation():
    system = System()
    p = Participant("p", publishes=("Happened",))
    system.add(Broker(), p)
    system.run()
    with pytest.raises(MicrolabError, match="correlation="):
        p.publish("Happened", 1)


def test_a_participant_without_a_broker_says_how_to_add_one():
    system = System()
    p = Participant("p")
    p.on("Happened", lambda e: None)
    system.add(p)
    with pytest.warns(HandlerFailureWarning):
        system.run()
    assert "system.add(Broker())" in system.failures[0].error


def test_a_reaction_added_after_start_subscribes_at_once():
    system = System()
    broker = system.add(Broker())
    p = system.add(Participant("p"))
    system.run()
    assert broker.subscriptions_of("p") == []
    p.on("Late", lambda e: None)
    assert broker.subscriptions_of("p") == ["Late"]


def test_switches_are_attributes_that_can_be_flipped():
    flow = order_flow(outbox=False, idempotent=False)
    assert all(not p.outbox and not p.idempotent for p in flow.participants)
    flow.set(outbox=True, idempotent=True)
    assert all(p.outbox and p.idempotent for p in flow.participants)
    with pytest.raises(ValueError, match="the switches are outbox and idempotent"):
        flow.set(outbx=True)


@pytest.mark.parametrize("outbox", [True, False])
def test_an_endless_event_loop_is_stopped_by_the_event_storm_guard(outbox):
    ping, pong = Participant("ping", outbox=outbox), Participant("pong", outbox=outbox)

    @ping.on("Serve", command=True, publishes=("Pinged",))
    def serve(cmd, ctx):
        ctx.publish("Pinged", 1)

    @ping.on("Ponged", publishes=("Pinged",))
    def hit(event, ctx):
        ctx.publish("Pinged", event.payload + 1)

    @pong.on("Pinged", publishes=("Ponged",))
    def back(event, ctx):
        ctx.publish("Ponged", event.payload + 1)

    system = System(max_events=20_000)
    system.add(Broker(), ping, pong)
    system.inject("ping", "Serve", correlation="rally")
    with pytest.raises(EventStorm) as info:
        system.run()
    text = str(info.value)
    for name in ("ping", "pong", "Pinged", "Ponged"):
        assert name in text, text
    assert [n for n, _ in info.value.types[:2]] in (["Pinged", "Ponged"], ["Ponged", "Pinged"])
    assert len(system.trace.of_kind(EFFECT)) == 0 and len(system.trace) > 1000


def test_switches_and_orders_reject_bad_values_by_name():
    with pytest.raises(TypeError, match="the outbox switch is True or False"):
        Participant("p", outbox="no")
    p = Participant("p")
    with pytest.raises(TypeError, match="idempotent switch"):
        Participant("q", idempotent=None)
    with pytest.raises(TypeError, match="'p': the outbox switch"):
        p.outbox = 0
    flow = order_flow()
    system = System()
    flow.add_to(system)
    with pytest.raises(ValueError, match="order 'o1': qty"):
        flow.place(system, "o1", qty=0)
    with pytest.raises(ValueError, match="card must be 'ok' or 'declined'"):
        flow.place(system, "o1", card="expired")
