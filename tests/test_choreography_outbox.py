"""The transactional outbox: a crash between state change and publish, relay retries."""

import pytest

from microlab import System
from microlab.choreography import Broker
from microlab.choreography.examples import order_flow
from microlab.choreography.kinds import (DUPLICATE_IGNORED, EVENT_LOST, OUTBOX_CONFIRM, OUTBOX_RELAY,
                                         OUTBOX_STORE, OUTBOX_STUCK, PUBLISH)
from microlab.trace import CRASH, DROP, RESTART, SEND

from .test_choreography_examples import effects


def _crash_inventory_before_publish(outbox, idempotent=True):
    system = System(seed=31, latency=0.01)
    flow = order_flow(outbox=outbox, idempotent=idempotent, broker=Broker(ack_timeout=0.5)).add_to(system)
    flow.inventory.crash_before_publish(times=1, downtime=0.2)
    flow.place(system, "order-1")
    system.run()
    return system, flow


def published_types(system):
    return [r.message.type for r in system.trace.of_kind(PUBLISH)]


def test_outbox_off_a_crash_after_the_state_change_loses_the_event():
    system, flow = _crash_inventory_before_publish(outbox=False)
    [lost] = system.trace.of_kind(EVENT_LOST)
    assert lost.service == "inventory" and lost.detail["type"] == "StockReserved"
    assert lost.correlation == "order-1" and "without an outbox" in lost.detail["reason"]
    # The state change happened and is never undone; the event never reached the broker.
    assert effects(system)[("order-1", "reserve")] == 1
    assert "StockReserved" not in published_types(system)
    assert flow.inventory.state["stock"] == {"book": 99}
    # The broker redelivered OrderPlaced, and the idempotent consumer, which had already
    # committed it, ignored it: the transaction is stuck for ever.
    [ignored] = system.trace.of_kind(DUPLICATE_IGNORED)
    assert ignored.service == "inventory" and ignored.message.type == "OrderPlaced"
    assert flow.status("order-1") == "pending"
    assert [r.kind for r in system.trace.for_service("inventory") if r.kind in (CRASH, RESTART)] == [
        CRASH, RESTART]


def test_outbox_on_the_same_crash_loses_nothing():
    system, flow = _crash_inventory_before_publish(outbox=True)
    assert system.trace.of_kind(EVENT_LOST) == []
    assert flow.status("order-1") == "completed"
    assert effects(system)[("order-1", "reserve")] == 1
    [store] = [r for r in system.trace.of_kind(OUTBOX_STORE) if r.service == "inventory"]
    [crash] = system.trace.of_kind(CRASH)
    [relay] = [r for r in system.trace.of_kind(OUTBOX_RELAY) if r.service == "inventory"]
    assert store.time == crash.time < relay.time  # stored with the state, relayed after the restart
    assert relay.message.type == "StockReserved" and relay.time == pytest.approx(crash.time + 0.2)
    assert published_types(system).count("StockReserved") == 1


def test_outbox_off_without_idempotency_the_redelivery_applies_the_state_change_twice():
    system, flow = _crash_inventory_before_publish(outbox=False, idempotent=False)
    assert len(system.trace.of_kind(EVENT_LOST)) == 1
    assert effects(system)[("order-1", "reserve")] == 2  # the event got through, at a price
    assert flow.status("order-1") == "completed"
    assert flow.inventory.state["stock"] == {"book": 98}


def test_the_relay_resends_the_same_message_until_the_broker_confirms():
    system = System(seed=32, latency=0.01)
    flow = order_flow(broker=Broker(ack_timeout=0.5)).add_to(system)
    flow.order.outbox_table.interval = 0.3
    system.crash("broker", at=0.0, duration=1.0)
    flow.place(system, "order-1", at=0.1)
    system.run()
    relays = [r for r in system.trace.of_kind(OUTBOX_RELAY) if r.service == "order"]
    assert [r.detail["attempt"] for r in relays] == [1, 2, 3, 4]
    assert len({r.message.id for r in relays}) == 1  # one event, one identity
    sends = [r for r in system.trace.of_kind(SEND) if r.message.id == relays[0].message.id]
    assert len(sends) == 4
    drops = [r for r in system.trace.of_kind(DROP) if r.message.id == relays[0].message.id]
    assert len(drops) == 3 and drops[0].detail["reason"] == "broker is down"
    [confirm] = [r for r in system.trace.of_kind(OUTBOX_CONFIRM) if r.service == "order"]
    assert confirm.detail == {"entry": 1, "attempts": 4}
    assert flow.status("order-1") == "completed" and system.conservation().ok


def test_a_relay_that_gives_up_keeps_the_event_and_resumes_on_demand():
    system = System(seed=33, latency=0.01)
    flow = order_flow().add_to(system)
    flow.order.outbox_table.interval = 0.1
    flow.order.outbox_table.attempts = 3
    system.crash("broker", at=0.0)
    flow.place(system, "order-1", at=0.1)
    system.run()
    [stuck] = system.trace.of_kind(OUTBOX_STUCK)
    assert stuck.detail["attempts"] == 3 and stuck.message.type == "OrderPlaced"
    [entry] = list(flow.order.outbox_table)
    assert entry.type == "OrderPlaced" and entry.correlation == "order-1"
    system.restart("broker")
    system.run()
    flow.order.relay_outbox()
    system.run()
    assert flow.status("order-1") == "completed" and len(flow.order.outbox_table) == 0


def test_without_an_outbox_a_publish_to_a_crashed_broker_is_gone():
    system = System(seed=34, latency=0.01)
    flow = order_flow(outbox=False).add_to(system)
    system.crash("broker", at=0.0, duration=1.0)
    flow.place(system, "order-1", at=0.1)
    system.run()
    [drop] = [r for r in system.trace.of_kind(DROP) if r.message.type == "OrderPlaced"]
    assert drop.detail["reason"] == "broker is down"
    assert flow.status("order-1") == "pending"
    assert system.trace.of_kind(OUTBOX_RELAY) == []


def test_a_participant_that_stays_down_keeps_its_outbox_and_relays_on_restart():
    system = System(seed=35, latency=0.01)
    flow = order_flow().add_to(system)
    flow.payment.crash_before_publish(downtime=None)
    flow.place(system, "order-1")
    system.run()
    assert not flow.payment.up and flow.status("order-1") == "pending"
    assert [e.type for e in flow.payment.outbox_table] == ["PaymentCompleted"]
    system.restart("payment")
    system.run()
    assert flow.status("order-1") == "completed"
    assert effects(system)[("order-1", "charge")] == 1


def test_crash_before_publish_checks_its_arguments():
    flow = order_flow()
    with pytest.raises(ValueError, match="times"):
        flow.payment.crash_before_publish(times=-1)
    with pytest.raises(ValueError, match="downtime"):
        flow.payment.crash_before_publish(downtime=-1)
    with pytest.raises(ValueError, match="relay_interval"):
        from microlab.choreography import Participant
        Participant("p", relay_interval=0)
