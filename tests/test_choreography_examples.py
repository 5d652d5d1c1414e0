"""The order saga as a choreography: happy path, compensation by events, determinism."""

from collections import Counter

from microlab import Exponential, System
from microlab.choreography import causation_graph, describe
from microlab.choreography.examples import order_flow
from microlab.trace import EFFECT

from .conftest import digest_in_new_process


def effects(system, name=None):
    """Counter of (correlation, effect name) over the trace's effect records."""
    return Counter((r.correlation, r.detail["effect"]) for r in system.trace.of_kind(EFFECT)
                   if name is None or r.detail["effect"] == name)


def test_the_order_flow_completes_with_each_effect_applied_once():
    system = System(seed=3, latency=Exponential(0.01))
    flow = order_flow(stock={"book": 10}).add_to(system)
    for i in range(5):
        flow.place(system, f"order-{i}", at=i * 0.1)
    system.run()
    assert flow.statuses() == {f"order-{i}": "completed" for i in range(5)}
    counts = effects(system)
    for i in range(5):
        for name in ("reserve", "charge", "ship", "complete"):
            assert counts[(f"order-{i}", name)] == 1, (i, name)
    assert sum(counts.values()) == 20
    assert flow.inventory.state["stock"] == {"book": 5}
    assert system.conservation().ok
    assert flow.broker.unacked == {} and flow.broker.dead_letters() == []
    assert all(len(p.outbox_table) == 0 for p in flow.participants)


def test_a_failed_payment_is_compensated_by_events():
    system = System(seed=4, latency=Exponential(0.01))
    flow = order_flow(stock={"book": 3}).add_to(system)
    flow.place(system, "good", at=0.0)
    flow.place(system, "declined", card="declined", at=0.2)
    flow.place(system, "too-many", qty=5, at=0.4)
    system.run()
    assert flow.statuses() == {"good": "completed", "declined": "rejected", "too-many": "rejected"}
    counts = effects(system)
    assert counts[("declined", "reserve")] == 1 and counts[("declined", "release")] == 1
    assert counts[("declined", "charge")] == 0 and counts[("declined", "ship")] == 0
    assert counts[("too-many", "reserve")] == 0 and counts[("too-many", "reject")] == 1
    assert flow.inventory.state["stock"] == {"book": 2}  # only the good order keeps its book
    # The compensation is a chain of events: PaymentFailed reached both inventory and order.
    graph = causation_graph(system, "declined")
    failed = [row for row in graph.reactions() if row["type"] == "PaymentFailed"]
    assert sorted(row["consumer"] for row in failed) == ["inventory", "order"]
    assert sorted(e for row in failed for e in row["effects"]) == ["reject", "release"]


def test_every_order_ends_completed_or_rejected_with_its_stock_released():
    system = System(seed=5, latency=Exponential(0.01))
    flow = order_flow(stock={"book": 60}, payment_failure_rate=0.3).add_to(system)
    for i in range(50):
        flow.place(system, f"o{i}", at=i * 0.02)
    system.run()
    statuses = flow.statuses()
    assert set(statuses.values()) == {"completed", "rejected"}
    completed = [o for o, s in statuses.items() if s == "completed"]
    counts = effects(system)
    for order, status in statuses.items():
        held = counts[(order, "reserve")] - counts[(order, "release")]
        assert held == (1 if status == "completed" else 0), order
        assert counts[(order, "charge")] == counts[(order, "ship")] == (status == "completed")
    assert flow.inventory.state["stock"]["book"] == 60 - len(completed)
    assert 5 < len(completed) < 45  # the failure rate really drew failures, and not only


def test_the_description_of_the_flow_has_no_warnings():
    flow = order_flow()
    description = describe(flow.services)  # works before the system runs
    assert description.ok, str(description)
    assert description.consumers("PaymentFailed") == ["inventory", "order"]
    assert description.publishers("OrderShipped") == ["shipping"]


SETUP = """
    from microlab import Exponential, System
    from microlab.choreography.examples import order_flow
    system = System(seed=seed, latency=Exponential(0.01))
    flow = order_flow(payment_failure_rate=0.2, work_time=Exponential(0.005)).add_to(system)
    for i in range(30):
        flow.place(system, f"o{i}", at=i * 0.01)
    system.crash("broker", at=0.1, duration=0.3)
    system.run()
"""


def test_same_seed_same_trace_across_processes():
    assert digest_in_new_process(SETUP, 21) == digest_in_new_process(SETUP, 21)
    assert digest_in_new_process(SETUP, 21) != digest_in_new_process(SETUP, 22)


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), drop=st.floats(0.0, 0.3), duplicate=st.floats(0.0, 0.3),
       crash_at=st.floats(0.0, 0.5), failure_rate=st.floats(0.0, 0.5))
def test_with_outbox_and_idempotency_every_order_settles_whatever_the_network_does(
        seed, drop, duplicate, crash_at, failure_rate):
    from microlab import Drop, Duplicate
    from microlab.choreography import Broker

    system = System(seed=seed, latency=Exponential(0.01))
    flow = order_flow(stock={"book": 8}, payment_failure_rate=failure_rate,
                      broker=Broker(ack_timeout=0.2, max_receive_count=30)).add_to(system)
    # Every event, ack and confirm may be dropped or duplicated; the client's commands are not.
    system.network.add_fault(Drop(rate=drop, kinds=("event", "reply")))
    system.network.add_fault(Duplicate(rate=duplicate, kinds=("event", "reply")))
    system.crash("broker", at=crash_at, duration=0.3)
    for i in range(10):
        flow.place(system, f"o{i}", at=i * 0.03)
    system.run()
    statuses = flow.statuses()
    assert sorted(statuses) == sorted(f"o{i}" for i in range(10))
    assert set(statuses.values()) <= {"completed", "rejected"}, statuses
    counts = effects(system)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    completed = sum(s == "completed" for s in statuses.values())
    assert flow.inventory.state["stock"]["book"] == 8 - completed
    assert system.conservation().ok
