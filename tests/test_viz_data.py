"""microlab.viz.data: the trace computations behind the figures (flights, queues, spans, talk)."""

import numpy as np
import pytest

from microlab import Constant, Drop, Duplicate, Service, System
from microlab.trace import DELIVER, DROP
from microlab.viz import data


class Shop(Service):
    """Charges, then ships; refunds when shipping answers NoStock."""

    def on_Buy(self, msg):
        self.send("payment", "Charge", {"amount": msg.payload})

    def on_Charged(self, msg):
        self.send("shipping", "Ship", msg.payload)

    def on_NoStock(self, msg):
        refund = self.send("payment", "Refund", msg.payload)
        self.system.trace.record(self.now, "compensate", self.name, refund)

    def on_Refunded(self, msg):
        pass


class Payment(Service):
    def on_Charge(self, msg):
        if msg.payload["amount"] < 0:
            raise ValueError("negative amount")
        self.reply(msg, "Charged", msg.payload)

    def on_Refund(self, msg):
        self.reply(msg, "Refunded", msg.payload)


class Shipping(Service):
    def on_Ship(self, msg):
        self.reply(msg, "NoStock", msg.payload)


def shop_run(**faults):
    system = System(seed=5, latency=0.01, warn_on_failure=False)
    system.add(Shop(), Payment(), Shipping())
    for fault in faults.values():
        system.network.add_fault(fault)
    system.inject("shop", "Buy", 10, correlation="good")
    system.inject("shop", "Buy", -1, correlation="bad", at=1.0)
    system.run()
    return system


def by_type(f):
    out = {}
    for msg, cat in zip(f.messages, f.category):
        out.setdefault(msg.type, []).append(cat)
    return out


def test_flights_categorise_kind_failure_and_compensation():
    f = data.flights(shop_run())
    cats = by_type(f)
    assert cats["Buy"] == ["command", "command"]
    assert cats["Charge"] == ["command", "failed"]       # the negative amount raised
    assert cats["Charged"] == ["reply"]
    assert cats["Refund"] == ["compensation"]            # flagged by a "compensate" record
    assert cats["Refunded"] == ["reply"]
    failed = f.category.index("failed")
    assert f.handling[failed] == "failed" and "negative amount" in f.note[failed]


def test_compensation_types_colour_by_type_too():
    f = data.flights(shop_run(), compensation_types=("Refunded",))
    assert by_type(f)["Refunded"] == ["compensation"]


def test_duplicate_copy_is_the_second_delivery_and_drops_know_where_they_happened():
    system = shop_run(dup=Duplicate(types=("Charged",)), drop=Drop(types=("Refunded",)))
    f = data.flights(system)
    assert by_type(f)["Charged"] == ["reply", "duplicate"]
    assert len(f) == sum(1 for r in system.trace.records if r[1] in (DELIVER, DROP))
    dropped = f.category.index("dropped")
    assert f.messages[dropped].type == "Refunded" and f.at_send[dropped]
    assert f.outcome[dropped] == "dropped" and "drop" in f.note[dropped]


def test_a_drop_at_a_crashed_destination_is_not_at_send():
    system = System(seed=1, latency=0.5)
    system.add(Payment())
    system.crash("payment", at=0.1, duration=1.0)
    system.inject("payment", "Charge", {"amount": 1})
    system.run()
    f = data.flights(system)
    assert f.category == ["dropped"] and f.at_send == [False]
    assert f.ended == [0.5] and f.target == ["payment"]


def test_flights_of_one_transaction_and_an_unknown_transaction():
    system = shop_run()
    f = data.flights(system, correlation="good")
    assert {m.correlation for m in f.messages} == {"good"}
    with pytest.raises(ValueError, match=r"'nope'.*2 transactions: 'good', 'bad'"):
        data.flights(system, correlation="nope")


def test_bad_sources_explain_themselves():
    with pytest.raises(TypeError, match="pass system.trace, or the system itself"):
        data.flights([1, 2])
    with pytest.raises(ValueError, match="trace=False"):
        data.flights(System(trace=False))


class Slow(Service):
    def on_Job(self, msg):
        pass


def queued_run():
    system = System(latency=0)
    system.add(Slow(work_time=Constant(1.0)))
    for _ in range(3):
        system.inject("slow", "Job")
    system.run()
    return system


def test_queue_series_counts_waiting_and_busy_and_merges_one_instant():
    series = data.queue_series(queued_run())
    s = series["slow"]
    assert s.times.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert s.queue.tolist() == [2, 1, 0, 0]
    assert s.busy.tolist() == [1, 1, 1, 0]
    assert "client" not in series  # the client handled nothing here
    with pytest.raises(ValueError, match="'payment' handled no message.*slow"):
        data.queue_series(queued_run(), services=["payment"])


def test_time_average_of_a_step_function_is_exact():
    times = np.array([1.0, 2.0, 4.0])
    values = np.array([1.0, 0.0, 2.0])
    avg = data.time_average(times, values, np.array([0.0, 1.0, 2.0, 4.0, 6.0]))
    assert avg.tolist() == [0.0, 1.0, 0.0, 2.0]
    assert data.time_average(times, values, np.array([0.5, 1.5, 3.0])).tolist() == pytest.approx([0.5, 1 / 3])


def test_handling_spans_show_waiting_then_handling():
    spans = data.handling_spans(queued_run())
    slow = [(s["status"], s["start"], s["end"]) for s in spans if s["lane"] == "slow"]
    assert slow == [("handled", 0.0, 1.0), ("waiting", 0.0, 1.0), ("handled", 1.0, 2.0),
                    ("waiting", 0.0, 2.0), ("handled", 2.0, 3.0)]


def test_handling_spans_mark_what_a_crash_lost():
    system = System(latency=0)
    system.add(Slow(work_time=Constant(1.0)))
    system.inject("slow", "Job", correlation="a")
    system.inject("slow", "Job", correlation="b")
    system.crash("slow", at=0.5)
    system.run()
    spans = data.handling_spans(system)
    assert [(s["status"], s["end"]) for s in spans if s["lane"] == "slow"] == [("lost", 0.5), ("lost", 0.5)]
    assert "mailbox" in spans[-1]["hover"]
    assert data.down_spans(system) == [("slow", 0.5, 0.5, None)]


def test_down_spans_pair_crash_and_restart():
    system = queued_run()
    system.crash("slow", at=5.0, duration=2.0)
    system.inject("slow", "Job", at=9.0)
    system.run()
    assert data.down_spans(system) == [("slow", 5.0, 7.0, None)]


class Broker(Service):
    subscribers = {"Placed": ("stock", "mail"), "Reserved": ("pay",)}

    def handle(self, msg):
        for name in self.subscribers.get(msg.topic, ()):
            self.send(name, msg.type, msg.payload, kind="event", topic=msg.topic)


class Orders(Service):
    def on_Order(self, msg):
        self.emit("broker", "Placed")


class Stock(Service):
    def on_Placed(self, msg):
        self.emit("broker", "Reserved")


def mesh_run():
    system = System(seed=2, latency=0.01)
    system.add(Broker(), Orders(), Stock(), Service("mail"), Service("pay"))
    system["mail"].on("Placed", lambda m: None)
    system["pay"].on("Reserved", lambda m: None)
    system.inject("orders", "Order", correlation="o1")
    system.inject("orders", "Order", correlation="o2")
    system.run()
    return system


def test_talk_counts_on_the_network_and_logically():
    system = mesh_run()
    assert data.talk_counts(system) == {
        ("client", "orders"): 2, ("orders", "broker"): 2, ("broker", "stock"): 2,
        ("broker", "mail"): 2, ("stock", "broker"): 2, ("broker", "pay"): 2}
    logical = data.talk_counts(system, logical=True, brokers=["broker"])
    assert logical == {("client", "orders"): 2, ("orders", "stock"): 2, ("orders", "mail"): 2,
                       ("stock", "pay"): 2}
    kinds = data.talk_kinds(system, logical=True, brokers=["broker"])
    assert kinds[("orders", "stock")] == {"event": 2} and kinds[("client", "orders")] == {"command": 2}


def test_roles_from_names_attributes_and_overrides():
    system = mesh_run()
    system.add(Service("order-orchestrator"))
    roles = data.roles(system)
    assert roles["client"] == "client" and roles["broker"] == "broker"
    assert roles["order-orchestrator"] == "orchestrator" and roles["stock"] == "service"
    system["stock"].role = "orchestrator"
    assert data.roles(system)["stock"] == "orchestrator"
    assert data.roles(system.trace, {"mail": "broker"})["mail"] == "broker"
    with pytest.raises(ValueError, match="role of 'mail' must be one of"):
        data.roles(system, {"mail": "boss"})


def test_lane_order_puts_the_client_first():
    assert data.lane_order(["a", "client", "b", "a"]) == ["client", "a", "b"]
    assert data.services_in(shop_run()) == ["client", "shop", "payment", "shipping"]


def test_roles_of_the_engines_classes_whatever_their_names():
    from microlab.choreography import Broker as EngineBroker
    from microlab.orchestration import Orchestrator as EngineOrchestrator

    system = System()
    system.add(EngineOrchestrator(name="saga"), EngineBroker(name="bus"), Service("shop"))
    roles = data.roles(system)
    assert (roles["saga"], roles["bus"], roles["shop"]) == ("orchestrator", "broker", "service")


def test_a_reply_or_event_that_reports_a_failure_has_its_own_category():
    from microlab import scenarios
    run = scenarios.order_saga("orchestration", orders=4, failure={"shipping": 0.6}, seed=3)
    f = data.flights(run.trace)
    reports = {m.type for m, c in zip(f.messages, f.category) if c == "failure_report"}
    assert reports == {"TaskFailed"}
    # a TaskCompleted reply stays a reply (or a compensation's)
    assert all(c in ("reply", "compensation") for m, c in zip(f.messages, f.category) if m.type == "TaskCompleted")
    chor = scenarios.order_saga("choreography", orders=3, failure={"payment": 0.5}, seed=1)
    g = data.flights(chor.trace)
    assert "PaymentFailed" in {m.type for m, c in zip(g.messages, g.category) if c == "failure_report"}


def test_reports_failure_rule_by_type_name_or_status():
    from microlab.messages import Message
    def msg(type_, payload=None, kind="reply"):
        return Message(1, kind, type_, "a", "b", None, payload, "t", None, 0.0)
    assert data.reports_failure(msg("TaskFailed")) and data.reports_failure(msg("ChargeDeclined"))
    assert not data.reports_failure(msg("TaskCompleted", {"status": "COMPLETED"}))
    assert data.reports_failure(msg("TaskUpdate", {"status": "FAILED"}))
    cache = {}
    assert data.reports_failure(msg("OrderRejected"), cache) and cache == {"OrderRejected": True}


def test_lane_order_puts_client_entry_then_the_central_service_first():
    names = ["inventory", "client", "orchestrator", "order", "payment"]
    roles = {"orchestrator": "orchestrator"}
    assert data.lane_order(names, roles, entry="order") == ["client", "order", "orchestrator", "inventory", "payment"]
    assert data.lane_order(names) == ["client", "inventory", "orchestrator", "order", "payment"]
    # the entry is the orchestrator itself: no duplicate lane
    assert data.lane_order(names, roles, entry="orchestrator") == ["client", "orchestrator", "inventory", "order",
                                                                   "payment"]
