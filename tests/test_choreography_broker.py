"""The broker: fan-out, acks, redelivery, dead letters, crash, order, errors."""

import pytest

from microlab import Constant, HandlerFailureWarning, MicrolabError, System, UnknownServiceError
from microlab.choreography import Broker, Participant, event_id
from microlab.choreography.kinds import (ACK, DEAD_LETTER, DUPLICATE_IGNORED, DUPLICATE_PUBLISH,
                                         PUBLISH, REDELIVER, REDRIVE, SUBSCRIBE)
from microlab.trace import DELIVER, DROP, EFFECT, LOST, SEND


def listener(name, event="Happened", log=None, **kw):
    """A participant that records an effect for every event it reacts to."""
    p = Participant(name, **kw)

    @p.on(event)
    def note(msg, ctx):
        ctx.effect("note", payload=msg.payload)
        if log is not None:
            log.append((ctx.name, msg.payload))

    return p


def announcer(event="Happened", **kw):
    """A participant that publishes ``event`` when told to with an Announce command."""
    p = Participant("announcer", **kw)

    @p.on("Announce", command=True, publishes=(event,))
    def announce(cmd, ctx):
        ctx.publish(event, cmd.payload)

    return p


def deliveries(system, to):
    return [r.message for r in system.trace.of_kind(SEND)
            if r.message.source == "broker" and r.message.destination == to and r.message.kind == "event"]


def test_one_delivery_per_subscriber_carrying_the_published_event_as_causation():
    system = System(seed=1)
    system.add(Broker(), announcer(), listener("a"), listener("b"))
    system.inject("announcer", "Announce", "hello", correlation="c1")
    system.run()
    [published] = [r.message for r in system.trace.of_kind(PUBLISH)]
    assert published.source == "announcer" and published.topic == "Happened"
    for name in ("a", "b"):
        [d] = deliveries(system, name)
        assert d.causation == published.id and d.correlation == "c1" and d.payload == "hello"
        assert event_id(d) == event_id(published) == published.id
    [pub] = system.trace.of_kind(PUBLISH)
    assert pub.detail["subscribers"] == ["a", "b"]
    acks = system.trace.of_kind(ACK)
    assert sorted(r.detail["subscriber"] for r in acks) == ["a", "b"]
    assert all(r.detail["event"] == published.id and r.detail["attempt"] == 1 for r in acks)
    assert system["broker"].unacked == {}
    subs = [r.detail["subscriber"] for r in system.trace.of_kind(SUBSCRIBE)]
    assert subs == ["a", "b"] and all(r.correlation is None for r in system.trace.of_kind(SUBSCRIBE))


def test_subscribing_twice_gives_one_subscription_and_one_delivery():
    system = System()
    broker = system.add(Broker())
    a = system.add(listener("a"))
    first = broker.subscribe("a", "Happened")
    assert broker.subscribe("a", "Happened") is first
    system.add(announcer())
    system.inject("announcer", "Announce", 1)
    system.run()
    assert len(deliveries(system, "a")) == 1 and broker.subscribers("Happened") == ["a"]
    assert a.processed and first.delivered == 1 and first.acked == 1


def test_redelivery_after_a_consumer_crash():
    system = System(seed=2, latency=0.01)
    broker = system.add(Broker(ack_timeout=0.5))
    log = []
    system.add(announcer(), listener("slow", log=log, work_time=Constant(0.1)))
    system.inject("announcer", "Announce", "x", correlation="c")
    # The delivery reaches "slow" at t=0.03; its worker would finish at 0.13: crash it before.
    system.crash("slow", at=0.05, duration=0.2)
    system.run()
    first, second = deliveries(system, "slow")
    assert first.causation == second.causation  # the same event, delivered again
    [lost] = system.trace.of_kind(LOST)
    assert lost.message is first
    [redeliver] = system.trace.of_kind(REDELIVER)
    assert redeliver.message is second and redeliver.detail["attempt"] == 2
    assert redeliver.time == pytest.approx(0.02 + 0.5)
    assert log == [("slow", "x")]  # handled once, after the restart
    assert broker.unacked == {} and broker.subscription("slow", "Happened").acked == 1


def test_dead_letter_after_the_maximum_receive_count():
    system = System(seed=3)
    broker = system.add(Broker(ack_timeout=0.2, max_receive_count=3))
    poison = Participant("poison")

    @poison.on("Happened")
    def choke(msg, ctx):
        raise ValueError("cannot parse this event")

    system.add(announcer(), poison)
    system.inject("announcer", "Announce", "bad", correlation="c")
    with pytest.warns(HandlerFailureWarning, match="cannot parse"):
        system.run()
    assert len(deliveries(system, "poison")) == 3
    assert len(system.failures) == 3
    [dead] = system.trace.of_kind(DEAD_LETTER)
    assert dead.detail == {"subscriber": "poison", "receives": 3}
    [letter] = broker.dead_letters("poison")
    assert letter.event is dead.message and letter.receives == 3 and letter.topic == "Happened"
    assert letter.to_dict()["correlation"] == "c"
    assert broker.dead_letters(topic="Other") == [] and broker.unacked == {}
    # Nothing is delivered after dead-lettering, however long we wait.
    system.run(until=system.now + 10)
    assert len(deliveries(system, "poison")) == 3


def test_dead_letter_when_the_subscriber_stays_down_and_redrive_after_it_returns():
    system = System(seed=4)
    broker = system.add(Broker(ack_timeout=0.3, max_receive_count=2))
    log = []
    system.add(announcer(), listener("away", log=log))
    system.crash("away", at=0.0)
    system.inject("announcer", "Announce", "news", at=0.1)
    system.run()
    drops = [r for r in system.trace.of_kind(DROP) if r.message.destination == "away"]
    assert len(drops) == 2 and drops[0].detail["reason"] == "away is down"
    assert [d.receives for d in broker.dead_letters()] == [2]
    system.restart("away")
    assert broker.redrive("away", "Happened") == 1
    system.run()
    assert log == [("away", "news")]
    assert broker.dead_letters() == [] and len(system.trace.of_kind(REDRIVE)) == 1


def test_a_late_ack_is_recorded_as_late_and_the_duplicate_is_ignored():
    # The consumer is slower than the ack timeout: the broker redelivers, and the
    # idempotent consumer ignores the second copy (and acks it, late).
    system = System(seed=5, latency=0.01)
    system.add(Broker(ack_timeout=0.05), announcer(), listener("slow", work_time=Constant(0.08)))
    system.inject("announcer", "Announce", "x", correlation="c")
    system.run()
    assert len(deliveries(system, "slow")) == 2
    assert len(system.trace.of_kind(EFFECT)) == 1
    [ignored] = system.trace.of_kind(DUPLICATE_IGNORED)
    assert ignored.detail["event"] == ignored.message.causation
    acks = system.trace.of_kind(ACK)
    assert [r.detail.get("late", False) for r in acks] == [False, True]


def test_a_broker_crash_loses_its_mailbox_but_keeps_unacked_deliveries():
    system = System(seed=6, latency=0.01)
    broker = system.add(Broker(ack_timeout=0.5))
    log = []
    system.add(announcer(), listener("a", log=log))
    system.inject("announcer", "Announce", "x", correlation="c")
    # Delivery sent at 0.02, reaches a at 0.03; a's ack reaches the broker at 0.04: crash
    # the broker at 0.035 for 0.1 s. The ack is dropped; the delivery stays owed.
    system.crash("broker", at=0.035, duration=0.1)
    system.run()
    assert [r.detail["reason"] for r in system.trace.of_kind(DROP)] == ["broker is down"]
    [redeliver] = system.trace.of_kind(REDELIVER)
    assert redeliver.time == pytest.approx(0.135 + 0.5)  # a fresh timeout from the restart
    assert len(log) == 1 and len(system.trace.of_kind(DUPLICATE_IGNORED)) == 1
    assert broker.unacked == {}


def test_publishes_waiting_in_the_broker_mailbox_are_lost_in_a_crash():
    system = System(seed=7, latency=0.0)
    system.add(Broker(work_time=Constant(1.0)), announcer(outbox=False), listener("a"))
    for i in range(3):
        system.inject("announcer", "Announce", i, correlation=f"c{i}")
    system.crash("broker", at=0.5, duration=1.0)
    system.run()
    lost = system.trace.of_kind(LOST)
    assert [r.detail["reason"] for r in lost] == ["in progress at crash", "in mailbox at crash",
                                                  "in mailbox at crash"]
    assert deliveries(system, "a") == []  # without an outbox nobody re-sends them


def test_delivery_order_is_publish_order_with_constant_latency():
    system = System(latency=0.01)
    log = []
    system.add(Broker(), announcer(), listener("a", log=log))
    for i in range(10):
        system.inject("announcer", "Announce", i, at=0.001 * i)
    system.run()
    assert [p for _, p in log] == list(range(10))


def test_a_publish_nobody_subscribes_to_is_recorded_with_no_subscribers():
    system = System()
    system.add(Broker(), announcer("Unheard"))
    system.inject("announcer", "Announce", 1)
    system.run()
    [pub] = system.trace.of_kind(PUBLISH)
    assert pub.detail["subscribers"] == [] and system["broker"].published == 1


def test_a_deduplicating_broker_drops_a_resent_publish():
    from microlab import Duplicate

    def run(dedup):
        system = System(seed=8)
        system.add(Broker(deduplicate=dedup), announcer(),
                   listener("a", idempotent=False))
        system.network.add_fault(Duplicate(source="announcer", types=("Happened",)))
        system.inject("announcer", "Announce", 1)
        system.run()
        return system

    plain, dedup = run(False), run(True)
    assert len(plain.trace.of_kind(EFFECT)) == 2  # the broker fans a duplicate out twice
    assert len(dedup.trace.of_kind(EFFECT)) == 1
    assert len(dedup.trace.of_kind(DUPLICATE_PUBLISH)) == 1


def test_the_broker_explains_what_it_accepts():
    system = System()
    system.add(Broker())
    system.inject("broker", "ReserveStock", 1)
    with pytest.warns(HandlerFailureWarning):
        system.run()
    error = system.failures[0].error
    assert "only takes published events" in error and "ReserveStock" in error and "emit(" in error


def test_bad_subscriptions_and_settings_are_rejected_with_the_field_named():
    system = System()
    broker = system.add(Broker())
    system.add(listener("inventory"))
    with pytest.raises(UnknownServiceError, match="did you mean 'inventory'"):
        broker.subscribe("inventroy", "OrderPlaced")
    with pytest.raises(MicrolabError, match="protocol"):
        broker.subscribe("inventory", "Ack:OrderPlaced")
    with pytest.raises(ValueError, match="max_receive_count"):
        Broker(max_receive_count=0)
    with pytest.raises(ValueError, match="ack_timeout"):
        Broker(ack_timeout=0)
    with pytest.raises(MicrolabError, match="not subscribed"):
        broker.subscription("inventory", "Nope")
    with pytest.raises(MicrolabError, match="its subscriptions: none"):
        broker.unsubscribe("nobody", "X")


def test_a_subscription_made_before_the_broker_joins_is_checked_at_start():
    broker = Broker()
    broker.subscribe("ghost", "Happened")  # not in a system yet: checked when it starts
    system = System()
    system.add(broker)
    with pytest.warns(HandlerFailureWarning):
        system.run()
    assert "ghost" in system.failures[0].error and "subscription" in system.failures[0].error


def test_a_subscription_made_before_the_broker_joins_is_recorded_at_start():
    broker = Broker()
    broker.subscribe("a", "Happened")
    system = System()
    system.add(broker, listener("a", "Other"))
    system.run()
    assert [(r.detail["subscriber"], r.detail["topic"]) for r in system.trace.of_kind(SUBSCRIBE)] == [
        ("a", "Happened"), ("a", "Other")]


def test_per_subscription_settings_override_the_broker_defaults():
    system = System()
    broker = system.add(Broker(ack_timeout=1.0, max_receive_count=5))
    system.add(listener("a"))
    sub = broker.subscribe("a", "Other", ack_timeout=0.25, max_receive_count=2)
    assert (sub.ack_timeout, sub.max_receive_count) == (0.25, 2)
    assert [r.kind for r in system.trace] == [SUBSCRIBE]
    assert DELIVER not in [r.kind for r in system.trace]


def test_a_broker_with_another_name_is_found_by_its_participants_and_the_graph():
    from microlab.choreography import causation_graph

    system = System(seed=9)
    log = []
    system.add(Broker("bus"), announcer(broker="bus"), listener("a", log=log, broker="bus"))
    system.inject("announcer", "Announce", "x", correlation="c")
    system.run()
    assert log == [("a", "x")] and system["bus"].subscribers("Happened") == ["a"]
    roles = [n.role for n in causation_graph(system, brokers=()).nodes.values()]
    assert roles == ["command", "publish", "delivery"]
