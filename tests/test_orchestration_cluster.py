"""Orchestrator(servers=N): stateless nodes over one store, workflow locks, the sweeper, the store as SPOF."""

import heapq

import pytest

from microlab import System, scenarios
from microlab.errors import MicrolabError
from microlab.faults import FaultPlan
from microlab.orchestration import Orchestrator, saga
from microlab.orchestration import records as rec
from microlab.orchestration.cluster import REQUESTS, ClusterNode
from microlab.orchestration.lease import LOCK_LEASE_TIME, LOCK_TIME_TO_TRY, Lease, may_lock
from microlab.orchestration.sweeper import (WORKFLOW_OFFSET_TIMEOUT, DeciderQueue, decide_backoff, next_sweep,
                                            sweep_backoff)
from microlab.orchestration.toys import saga_services
from microlab.scenarios.knobs import KnobError

ORDERS = 50


def cluster(seed=3, orders=ORDERS, spacing=0.2, **kw):
    system = System(seed=seed)
    orchestrator = system.add(Orchestrator(work_time=0.004, **kw))
    system.add(*saga_services())
    orchestrator.register(saga("order_saga", inputs=["orderId"])
                          .step("reserve_inventory", compensate="release_inventory")
                          .step("charge_payment", compensate="refund_payment")
                          .step("book_shipment", compensate="cancel_shipment").build())
    for i in range(orders):
        orchestrator.start("order_saga", {"orderId": i}, correlation=f"order-{i}", at=i * spacing)
    return system, orchestrator


def crash_mid_decision(system, name, at=0.5):
    """Run to ``at``, then on until node ``name`` is deciding on a worker's update; crash it there."""
    system.run(until=at)
    node = system.services[name]
    while not any(m.type == "TaskCompleted" for m in node._working):
        system.run(until=system.sim.now + 0.0005)
    held = dict(node._held)
    node.crash()
    return held


def decision_gaps(system, nodes, start, end):
    """The longest stretch in [start, end] without a single decision by any of ``nodes``."""
    times = [start] + [r.time for r in system.trace.of_kind(rec.TASK) if r.service in nodes
                       and start <= r.time <= end] + [end]
    return max(b - a for a, b in zip(times, times[1:]))


# -- the pure parts ----------------------------------------------------------------------------

def test_lock_rule_free_expired_own_or_a_deciding_holder_only():
    now = 10.0
    assert may_lock(None, "a", 0, now, False)
    assert may_lock(Lease("b", 0, expires=9.0), "a", 0, now, False)  # expired
    assert may_lock(Lease("a", 2, expires=70.0), "a", 2, now, False)  # its own (re-entrant)
    assert not may_lock(Lease("a", 1, expires=70.0), "a", 2, now, False)  # its own from before a crash
    assert not may_lock(Lease("b", 0, expires=70.0), "a", 0, now, False)  # a crashed holder's lease runs
    assert may_lock(Lease("b", 0, expires=70.0), "a", 0, now, True)  # a live holder ends its decision soon


def test_timing_knobs_default_to_conductors_config():
    # ConductorProperties: lockLeaseTime 60000 ms, lockTimeToTry 500 ms, workflowOffsetTimeout 30 s.
    assert (LOCK_LEASE_TIME, LOCK_TIME_TO_TRY, WORKFLOW_OFFSET_TIMEOUT) == (60.0, 0.5, 30.0)
    assert decide_backoff(0.5) == 0.25 and decide_backoff(0.1) == 0.1  # max(lockTimeToTry / 2, 100 ms)
    assert sweep_backoff(60.0) == 30.0 and sweep_backoff(0.5) == 1.0  # lockLeaseTime / 2, at least 1 s
    assert next_sweep(None, 5.0) == 35.0 and next_sweep(7.0, 5.0) == 7.0 and next_sweep(99.0, 5.0) == 35.0


def test_decider_queue_keeps_one_entry_per_workflow_visible_from_its_due_time():
    q = DeciderQueue()
    q.push("w1", 5.0, cause="m1")
    q.push("w2", 3.0)
    q.push("w1", 8.0, cause="m2")  # a later push replaces the entry
    assert len(q) == 2 and q.next_due() == 3.0
    assert q.pop_due(4.0) == [("w2", None)]
    assert q.pop_due(7.0) == [] and q.next_due() == 8.0
    q.remove("w1")
    assert q.next_due() is None and q.pop_due(100.0) == []


def test_decider_queue_pops_one_at_a_time_so_a_decision_may_move_the_others():
    q = DeciderQueue()
    q.push("a", 1.0, cause="m1")
    q.push("b", 2.0)
    q.push("c", 2.0)
    q.push("a", 1.0, cause="m3")  # the same due time: only the cause changes, one heap entry
    assert len(q._heap) == 3 and q.due_of("a") == 1.0 and q.due_of("z") is None
    assert q.pop_next(5.0) == ("a", "m3")
    q.push("b", 9.0)  # what deciding "a" did: move "b" later, drop "c", add "d" now
    q.remove("c")
    q.push("d", 5.0)
    assert q.pop_next(5.0) == ("d", None) and q.pop_next(5.0) is None
    assert q.next_due() == 9.0
    q.clear()
    assert len(q) == 0 and q.next_due() is None


def test_one_wake_queue_for_a_node_and_the_store():
    system, orchestrator = cluster(servers=3, orders=0)
    single = Orchestrator()
    assert isinstance(single._wakes.queue, DeciderQueue) and isinstance(orchestrator.store.decider, DeciderQueue)
    store = orchestrator.store
    assert store.refusal("orchestrator-2") is None
    store.up = False
    assert store.refusal("orchestrator-2") == ("the store orchestrator-store is down: "
                                               "orchestrator-2 can read and commit nothing")


# -- the cluster ---------------------------------------------------------------------------

def test_servers_builds_stateless_nodes_over_one_store():
    system, orchestrator = cluster(servers=3, orders=0)
    assert isinstance(orchestrator, ClusterNode)
    assert [n.name for n in orchestrator.nodes] == ["orchestrator", "orchestrator-2", "orchestrator-3"]
    assert {"orchestrator-store", "orchestrator-2", "orchestrator-3"} <= set(system.services)
    store = orchestrator.store
    assert all(n.state is store.state and n.log is store.log and n.queues is store.queues
               for n in orchestrator.nodes)
    assert store.locks.lease_time == LOCK_LEASE_TIME


def test_requests_spread_over_every_node():
    system, orchestrator = cluster(servers=3)
    system.run()
    deciders = {r.service for r in system.trace.of_kind(rec.TASK)}
    assert deciders == {"orchestrator", "orchestrator-2", "orchestrator-3"}
    assert all(i.status == "COMPLETED" for i in orchestrator.instances.values())


def test_crashing_one_of_three_nodes_loses_no_workflow_and_stalls_nothing():
    system, orchestrator = cluster(servers=3)
    baseline_system, baseline = cluster(servers=3)
    baseline_system.run()
    slowest = max(i.ended - i.created for i in baseline.instances.values())
    system.sim.schedule_at(2.0, lambda _: system.services["orchestrator-2"].crash(), None)
    system.run()
    instances = orchestrator.instances
    assert len(instances) == ORDERS
    assert all(i.status == "COMPLETED" for i in instances.values())
    assert not system.services["orchestrator-2"].up
    # No failover: the two other nodes go on deciding; no stretch after the crash goes without a decision
    # for longer than the arrivals' spacing (a standby would wait its failover_delay).
    gap = decision_gaps(system, {"orchestrator", "orchestrator-3"}, 2.0, 8.0)
    assert gap <= 0.25, gap
    # At worst a request the crashed node held is sent again by its client (1 s later).
    assert max(i.ended - i.created for i in instances.values()) <= slowest + 1.2


def test_the_standby_in_the_same_crash_pauses_every_decision_for_its_failover_delay():
    system, orchestrator = cluster(standby=True, failover_delay=5.0)
    system.sim.schedule_at(2.0, lambda _: system.services["orchestrator"].crash(), None)
    system.run()
    gap = decision_gaps(system, {"orchestrator", "orchestrator-standby"}, 2.0, 8.0)
    assert gap >= 4.9  # nobody decides until the standby takes over at t=7


def test_a_crashed_nodes_lock_expires_and_the_sweeper_resumes_its_workflow():
    system, orchestrator = cluster(servers=3)
    held = crash_mid_decision(system, "orchestrator-2")
    crashed_at = system.sim.now
    (wf_id,) = set(held.values())
    system.run()
    inst = orchestrator.instances[wf_id]
    assert inst.status == "COMPLETED"
    locks = [r for r in system.trace.of_kind(rec.LOCK) if r.detail["workflow_id"] == wf_id]
    assert locks and all(r.detail["holder"] == "orchestrator-2" for r in locks)
    sweeps = [r for r in system.trace.of_kind(rec.SWEEP) if r.detail["workflow_id"] == wf_id]
    assert len(sweeps) == 1 and sweeps[0].detail["pending"] == 1  # the worker's update, kept in the store
    # It resumed once the lease ran out (crash + 60 s), at the first sweep after that (30 s backoff).
    assert crashed_at + LOCK_LEASE_TIME <= sweeps[0].time <= crashed_at + LOCK_LEASE_TIME + 30.0
    others = [i for i in orchestrator.instances.values() if i.id != wf_id]
    assert len(others) == ORDERS - 1
    assert all(i.status == "COMPLETED" and i.ended - i.created < 2.5 for i in others)
    assert orchestrator.store.stats()["locks_held"] == 0


def test_lock_lease_time_is_a_knob():
    system, orchestrator = cluster(servers=3, lock_lease_time=4.0)
    held = crash_mid_decision(system, "orchestrator-2")
    crashed_at = system.sim.now
    (wf_id,) = set(held.values())
    system.run()
    sweep = next(r for r in system.trace.of_kind(rec.SWEEP) if r.detail["workflow_id"] == wf_id)
    assert crashed_at + 4.0 <= sweep.time <= crashed_at + 4.0 + sweep_backoff(4.0) + 0.5
    assert orchestrator.instances[wf_id].status == "COMPLETED"


def test_crashing_the_store_stalls_everything_and_its_restart_resumes_it():
    system, orchestrator = cluster(servers=3, spacing=0.05)
    system.sim.schedule_at(1.0, lambda _: system.services["orchestrator-store"].crash(), None)
    system.run(until=30.0)
    running = [i.id for i in orchestrator.instances.values() if i.status == "RUNNING"]
    assert running  # stalled, though every node is up
    assert all(n.up for n in orchestrator.nodes)
    assert [r for r in system.trace.of_kind(rec.TASK, rec.WORKFLOW) if r.time > 1.0] == []
    stats = orchestrator.store.stats()
    assert stats["refused"] > 0 and not stats["up"]
    started = len(orchestrator.instances)
    assert started < ORDERS  # starts refused three times were given up by the client
    system.services["orchestrator-store"].restart()
    system.run()
    # Back: the sweeper and the workers' retried updates finish every workflow that had started.
    assert all(orchestrator.instances[i].status in ("COMPLETED", "FAILED") for i in running)
    assert len(orchestrator.instances) == started


def test_scenarios_store_crash_is_the_new_single_point_of_failure_and_the_checker_says_so():
    node = scenarios.order_saga(orders=40, arrival_rate=10, servers=3, dispatch="poll",
                                faults=FaultPlan().crash("orchestrator-2", at=2.0))
    store = scenarios.order_saga(orders=40, arrival_rate=10, servers=3, dispatch="poll",
                                 faults=FaultPlan().crash("orchestrator-store", at=2.0))
    assert node.checks.counts()["completed"] == 40 and node.checks.ok
    counts = store.checks.counts()
    assert counts["stuck"] > 0 and counts["completed"] < 40
    stuck = [v for v in store.checks.violations if v.check == "stuck"]
    assert all("orchestrator-store" in v.explanation for v in stuck), stuck[0].explanation
    assert store.system.services["orchestrator"].store.stats()["refused"] > 0


def _requests_on_the_wire(system, node):
    deliver = system.network._deliver
    return [e for e in system.sim._heap if e[2] == deliver and e[3].destination == node and e[3].type in REQUESTS]


def _crash_with_heap_layout(layout, node="orchestrator-2"):
    """Run to a moment with requests on the wire to ``node``, lay the event heap out anew, crash ``node``."""
    system, _ = cluster(servers=3, spacing=0.02)
    system.run(until=0.62)
    assert len(_requests_on_the_wire(system, node)) >= 2  # the precondition: several requests will fail
    heap = system.sim._heap
    layout(heap)
    heapq.heapify(heap)  # the layout must stay a valid heap (a no-op on one)
    wire = [e[3].id for e in _requests_on_the_wire(system, node)]
    system.services[node].crash()
    system.run()
    return system, wire


def test_a_crash_fails_the_requests_on_the_wire_in_arrival_order_whatever_the_heap_layout():
    # Two valid layouts of the same event heap: sorted, and built from the reverse order.
    # Both run the same events in the same (time, seq) order; only the list order differs.
    by_time, wire_a = _crash_with_heap_layout(lambda heap: heap.sort())
    reversed_, wire_b = _crash_with_heap_layout(lambda heap: heap.reverse())
    assert wire_a != wire_b  # the lists do list the crashed node's requests in different orders
    # The requests are sent again in the order they would have arrived, in both runs ...
    resent = [[r.detail["resent_of"] for r in s.trace.of_kind(rec.STALE) if r.detail.get("resent_of") in wire_a]
              for s in (by_time, reversed_)]
    assert len(resent[0]) >= 2 and resent[0] == resent[1] == sorted(resent[0], key=wire_a.index)
    # ... so the whole run is the same, byte for byte.
    assert by_time.trace.digest() == reversed_.trace.digest()


def test_cluster_runs_repeat_byte_for_byte():
    a = scenarios.order_saga(orders=20, servers=3, dispatch="poll", faults=FaultPlan().crash("orchestrator-3", at=1.0))
    b = scenarios.order_saga(orders=20, servers=3, dispatch="poll", faults=FaultPlan().crash("orchestrator-3", at=1.0))
    assert a.system.trace.digest() == b.system.trace.digest()


@pytest.mark.parametrize("kw, words", [
    (dict(servers=0), "servers is the number of decider nodes"),
    (dict(servers=3, standby=True), "pick one"),
    (dict(servers=3, dispatch="push"), "needs dispatch='poll'"),
    (dict(lock_lease_time=5.0), "only apply to a cluster"),
    (dict(servers=2, lock_lease_time=-1), "lock_lease_time must be a number"),
])
def test_bad_cluster_settings_say_what_is_wrong(kw, words):
    with pytest.raises(MicrolabError, match=words):
        Orchestrator(**kw)


def test_scenario_knob_errors_name_the_knob():
    with pytest.raises(KnobError, match="needs dispatch='poll'"):
        scenarios.order_saga(orders=1, servers=3, dispatch="push")
    with pytest.raises(KnobError, match="pick one"):
        scenarios.order_saga(orders=1, servers=3, dispatch="poll", standby=True)
