"""The durable log and the standby: a crash loses memory, not workflows."""

import pytest

from microlab import Constant, System
from microlab.orchestration import DurableLog, Orchestrator, execution, workflow
from microlab.orchestration import model as m
from microlab.orchestration import records as rec
from microlab.orchestration.state import State
from microlab.orchestration.toys import load_order_fulfillment, saga_services
from microlab.trace import DROP, SEND

CRASH_AT = 0.07


def saga_system(standby, failover_delay=2.0, orders=3):
    system = System(seed=3, latency=0.01)
    # Pushed commands: these tests are about what a takeover sends again (with polling the
    # durable queues make that unnecessary: see test_orchestration_polling.py).
    orchestrator = system.add(Orchestrator(standby=standby, failover_delay=failover_delay, dispatch="push"))
    services = system.add(*saga_services(work_time=Constant(0.05)))
    orchestrator.register(load_order_fulfillment())
    for i in range(orders):
        orchestrator.start("order_fulfillment", {"orderId": i, "amount": 5}, correlation=f"order-{i}", at=i * 0.03)
    return system, orchestrator, services


def commands(system, task_id):
    return [r.message for r in system.trace.of_kind(SEND) if r.message.kind == "command"
            and isinstance(r.message.payload, dict) and r.message.payload.get("taskId") == task_id]


def test_with_a_standby_every_in_flight_workflow_resumes_after_the_failover_delay():
    system, orchestrator, _ = saga_system(standby=True)
    assert "orchestrator-standby" in system.services and orchestrator.standby.name == "orchestrator-standby"
    system.crash("orchestrator", at=CRASH_AT)
    orchestrator.start("order_fulfillment", {"orderId": 9, "amount": 5}, correlation="order-9", at=4.0)
    system.run(until=CRASH_AT)
    logged = len(orchestrator.log)
    system.run()
    [takeover] = system.trace.of_kind(rec.TAKEOVER)
    assert takeover.service == "orchestrator-standby" and takeover.time == pytest.approx(CRASH_AT + 2.0)
    assert takeover.detail == {"previous": "orchestrator", "records": logged, "resumed": 3}
    assert orchestrator.active == "orchestrator-standby"
    for i in (0, 1, 2, 9):
        assert execution(system, f"order-{i}").status == m.COMPLETED
    # The takeover sends the command of every task in flight again: workers see it twice.
    ex = execution(system, "order-0")
    reserve = ex.task("reserve_inventory")
    sent = commands(system, reserve.task_id)
    assert [c.source for c in sent] == ["orchestrator", "orchestrator-standby"] and reserve.resent == 1
    dropped = [r for r in system.trace.of_kind(DROP) if r.message.correlation == "order-0"]
    assert [r.detail["reason"] for r in dropped] == ["orchestrator is down"]
    assert [r.detail["effect"] for r in system.trace.of_kind("effect") if r.correlation == "order-0"] == [
        "reserve", "reserve", "charge", "ship"]
    assert execution(system, "order-9").tasks[0].service == "inventory"  # started by the standby


def test_without_a_standby_a_crash_stalls_every_workflow_until_the_restart():
    system, orchestrator, _ = saga_system(standby=False)
    system.crash("orchestrator", at=CRASH_AT, duration=10.0)
    system.run(until=9.0)
    assert [orchestrator.status(f"order-{i}") for i in range(3)] == ["RUNNING"] * 3  # answered from the log
    quiet = [r for r in system.trace.of_kind(rec.TASK) if CRASH_AT < r.time <= 9.0]
    assert quiet == []
    system.run()
    [recovery] = system.trace.of_kind(rec.TAKEOVER)
    assert recovery.service == "orchestrator" and recovery.detail["previous"] == "orchestrator"
    assert recovery.time == pytest.approx(CRASH_AT + 10.0)
    assert all(execution(system, f"order-{i}").status == m.COMPLETED for i in range(3))
    resumed = system.trace.of_kind(rec.RESUME)
    assert [r.detail["resent"] for r in resumed] == [["reserve_inventory"]] * 3


def test_replaying_the_log_rebuilds_the_live_state():
    system, orchestrator, (inventory, payment, shipping) = saga_system(standby=False, orders=6)
    shipping.fail_rate("book_shipment", 0.5)
    system.run()
    live = orchestrator.state
    replayed = State.replay(orchestrator.log.records)

    def snapshot(state):
        return {i: (inst.status, inst.output, inst.reason, [(r.task_id, r.status, r.attempt, r.output, r.start, r.end)
                                                            for r in inst.tasks])
                for i, inst in state.instances.items()}
    assert snapshot(replayed) == snapshot(live) and replayed.counters == live.counters
    assert {inst.status for inst in live.instances.values()} == {m.COMPLETED, m.FAILED}


def test_the_old_primary_restarts_as_the_standby_and_takes_over_again_later():
    system, orchestrator, _ = saga_system(standby=True, orders=1)
    system.crash("orchestrator", at=CRASH_AT, duration=5.0)
    system.crash("orchestrator-standby", at=10.0)
    orchestrator.start("order_fulfillment", {"orderId": 5, "amount": 5}, correlation="late", at=9.9)
    system.run()
    roles = [(r.service, r.detail["role"]) for r in system.trace.of_kind(rec.ROLE)]
    assert roles == [("orchestrator", "standby")]
    takeovers = [(r.service, r.time) for r in system.trace.of_kind(rec.TAKEOVER)]
    assert takeovers == [("orchestrator-standby", pytest.approx(CRASH_AT + 2)), ("orchestrator", pytest.approx(12.0))]
    assert orchestrator.active == "orchestrator"
    assert execution(system, "order-0").status == m.COMPLETED and execution(system, "late").status == m.COMPLETED


def test_a_passive_orchestrator_records_what_reaches_it_as_stale():
    system, orchestrator, _ = saga_system(standby=True, orders=1)
    system.inject("orchestrator-standby", "StartWorkflow", {"name": "order_fulfillment"}, correlation="lost", at=0.5)
    system.run()
    [stale] = system.trace.of_kind(rec.STALE)
    assert stale.service == "orchestrator-standby" and "not the active orchestrator" in stale.detail["reason"]
    assert stale.correlation == "lost"


@pytest.mark.parametrize("down_for, dispatched_at", [(2.0, 5.03), (8.0, 8.1)])
def test_a_retry_waiting_at_the_crash_keeps_its_due_time(down_for, dispatched_at):
    wf = workflow("w").simple("flaky", retries=1, retry_delay=5).build()
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator(dispatch="push"))  # exact dispatch times
    worker = system.add(saga_services()[0].__class__("flaky"))
    worker.task("flaky", lambda input: {})
    worker.fail("flaky", times=1)
    orchestrator.register(wf, routes={"flaky": "flaky"})
    orchestrator.start("w", {}, correlation="tx")
    system.crash("orchestrator", at=0.1, duration=down_for)
    system.run()
    first, second = execution(system, "tx").attempts("flaky")
    assert first.end == pytest.approx(0.03) and second.start == pytest.approx(dispatched_at)
    assert second.status == m.COMPLETED


def test_the_log_is_plain_data_outside_the_service():
    shared = DurableLog()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(log=shared))
    system.add(*saga_services())
    orchestrator.register(load_order_fulfillment())
    orchestrator.start("order_fulfillment", {"orderId": 1}, correlation="o")
    system.run()
    assert orchestrator.log is shared and shared.active == "orchestrator"
    ops = shared.operations()
    assert ops["start"] == 1 and ops["schedule"] == 3 and ops["finish"] == 3 and ops["end"] == 1
    assert [rec[0] for rec in shared.for_workflow("order_fulfillment-1")][:2] == ["start", "schedule"]
