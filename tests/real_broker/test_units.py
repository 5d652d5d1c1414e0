"""Pure parts of the real broker: names, fault plans, the merge, arrivals (no server needed)."""

import pytest

from microlab import scenarios
from microlab.errors import MicrolabError
from microlab.faults import FaultPlan
from microlab.real.broker import RealPlan, SubjectNameError, arrivals
from microlab.real.broker.faults import Kill
from microlab.real.broker.flows import restore_state
from microlab.real.broker.merge import merge
from microlab.real.broker.naming import check_names, consumer_name, event_subject
from microlab.real import nats_server
from microlab.trace import CRASH, DELIVER, DROP, LOST, SEND, START


def test_names_follow_topics_and_services():
    assert event_subject("r1", "OrderPlaced") == "ml.r1.ev.OrderPlaced"
    assert consumer_name("payment", "StockReserved") == "payment_StockReserved"
    check_names({"payment": ["StockReserved"]})


@pytest.mark.parametrize("bad, said", [("Order Placed", "a space"), ("Order.Placed", "a dot"),
                                       ("Order*", "'*'"), ("Order>", "'>'")])
def test_a_name_nats_rejects_is_named_with_the_rule(bad, said):
    with pytest.raises(SubjectNameError) as err:
        check_names({"audit": [bad]})
    assert repr(bad) in str(err.value) and said in str(err.value) and "audit" in str(err.value)


def test_a_simulator_plan_becomes_kills_and_network_faults_are_refused():
    plan = RealPlan.from_fault_plan(FaultPlan().crash("payment", at=1.0, duration=0.5))
    assert plan.kills() == [Kill("payment", 1.0, 0.5)]
    with pytest.raises(MicrolabError, match="only crashes"):
        RealPlan.from_fault_plan(FaultPlan().drop(rate=0.1))


def test_seeded_plans_are_repeatable_and_differ_by_seed():
    a = RealPlan.seeded(3, ["payment", "shipping"], horizon=1.0)
    assert str(a) == str(RealPlan.seeded(3, ["payment", "shipping"], horizon=1.0))
    assert len({str(RealPlan.seeded(s, ["payment", "shipping"], horizon=1.0)) for s in range(10)}) > 5
    assert all(0 <= k.at <= 1.0 for k in a.kills())


def test_process_faults_go_to_the_first_incarnation_only():
    plan = RealPlan().kill_before_publish("inventory", nth=2).withhold_acks("payment", 3, "StockReserved")
    assert plan.process_faults("inventory") == {"kill_before_publish": 2}
    assert plan.process_faults("payment") == {"withhold_acks": {"count": 3, "topic": "StockReserved"}}
    assert plan.restart_after_self_kill("inventory") == 0.5 and plan.restart_after_self_kill("payment") is None


def test_arrivals_are_the_simulators():
    sim = scenarios.order_saga("choreography", orders=6, seed=4)
    assert arrivals("order", 6, 5.0, 4) == list(sim.arrivals.items())


def test_restored_state_is_the_same_dict_that_closures_hold():
    state = {"applied": {}}
    held = state["applied"]
    restore_state(state, {"applied": {"order-1": 1}, "new": 2})
    assert held == {"order-1": 1} and state["new"] == 2


def _env(mid, type="X", source="a", destination="b", causation=None, corr="order-1"):
    return {"id": mid, "kind": "event", "type": type, "source": source, "destination": destination,
            "topic": None, "correlation": corr, "causation": causation, "payload": {}}


def test_merge_orders_by_time_then_writer_order_and_renumbers_ids():
    a = [(1, 1, 0.5, SEND, "a", _env("a.1.1"), None), (2, 1, 0.5, START, "a", _env("a.1.1"), None)]
    b = [(1, 1, 0.2, DELIVER, "b", _env("z.9"), None), (2, 1, 0.5, DELIVER, "b", _env("a.1.1"), None)]
    trace = merge([("a", a), ("b", b)])
    kinds = [(r.kind, r.service) for r in trace]
    # Equal times: process a (rank 0) before b, and a's own records in the order a wrote them.
    assert kinds == [(DELIVER, "b"), (SEND, "a"), (START, "a"), (DELIVER, "b")]
    assert [r.message.id for r in trace] == [1, 2, 2, 2]


def test_merge_writes_what_a_killed_process_could_not():
    rows = [(1, 1, 0.1, DELIVER, "p", _env("m1"), None), (2, 1, 0.1, START, "p", _env("m1"), None),
            (3, 1, 0.2, SEND, "p", _env("m2", causation="m1"), None)]
    trace = merge([("p", rows)], supervisor=[(0.3, CRASH, "p", {"reason": "kill -9"})], kills=[("p", 1, 0.3)])
    lost = trace.of_kind(LOST)
    drops = trace.of_kind(DROP)
    assert [(r.service, r.message.id, r.time) for r in lost] == [("p", 1, 0.3)]
    assert [r.message.id for r in drops] == [2] and "killed -9" in drops[0].detail["reason"]
    assert trace.conservation().ok
    assert trace.messages()[2].causation == 1


def test_a_missing_binary_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(nats_server, "find_nats_server", lambda: None)
    with pytest.raises(nats_server.NatsNotInstalled, match="apt-get install nats-server"):
        nats_server.NatsServer()


def test_the_command_line_names_the_backends_it_knows(capsys):
    from microlab.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["real-broker", "--backend", "rabbitmq"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--backend" in err and "'rabbitmq'" in err and "nats" in err and "kafka" in err

def test_a_process_that_recorded_its_own_crash_is_known_to_have_killed_itself(tmp_path):
    # The supervisor asks this after a planned kill -9, to tell a kill that hit a process
    # already ending (its own kill between commit and publish) from a kill that did the work.
    from microlab.real.broker.store import Store, killed_itself

    path = str(tmp_path / "inventory.sqlite")
    first = Store(path)
    first.record(0.1, DELIVER, "inventory")
    assert not killed_itself(path)
    first.record(0.2, CRASH, "inventory", reason="kill -9 between its database commit and its publish")
    assert killed_itself(path)
    first.close()
    Store(path).close()  # the next incarnation has recorded nothing yet
    assert not killed_itself(path)
