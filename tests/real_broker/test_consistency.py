"""What must hold on the real broker: consistency under kill -9, nothing lost, each switch's reason.

The 30 seeded kill plans run three at a time against the session's server (each run has
its own stream). A real run is not deterministic, so the tests assert verdicts and
counts, never digests.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from microlab.choreography.kinds import DEAD_LETTER, DUPLICATE_IGNORED, EVENT_LOST, REDELIVER
from microlab.real.broker import RealPlan, run_choreography
from microlab.trace import CRASH, RESTART
from tests.real_broker.orphans import alive

PLANS = 30
STEPS = ["order", "inventory", "payment", "shipping", "notification"]


def _plan(seed: int) -> RealPlan:
    plan = RealPlan.seeded(seed, STEPS, horizon=1.0)
    if seed % 3 == 0:  # every third plan also kills a step between its commit and its publish
        plan.kill_before_publish(STEPS[1 + seed % 3], nth=1 + seed % 4)
    return plan


@pytest.fixture(scope="module")
def seeded_runs(nats_server):
    def one(seed):
        return seed, run_choreography("order", orders=5, seed=seed, faults=_plan(seed), broker=nats_server,
                                      timeout=60)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, range(1, PLANS + 1)))


def test_no_violation_over_thirty_seeded_kill_plans(seeded_runs):
    assert len(seeded_runs) >= 30
    bad = {seed: run.checks.verdict() for seed, run in seeded_runs.items() if not run.checks.ok}
    assert bad == {}
    outcomes = sum(sum(run.checks.counts().values()) for run in seeded_runs.values())
    assert outcomes == 5 * PLANS


def test_every_planned_kill_happened_and_was_restarted(seeded_runs):
    self_kills = 0
    for seed, run in seeded_runs.items():
        crashes = run.trace.of_kind(CRASH)
        between = [r for r in crashes if "between its database commit" in r.detail["reason"]]
        assert len(crashes) - len(between) == len(run.plan.kills()), seed
        assert len(run.trace.of_kind(RESTART)) == len(crashes), seed
        self_kills += len(between)
    # A kill between commit and publish fires only if the first incarnation reaches that
    # commit (an earlier kill -9 may restart the service without it): most of them must fire.
    assert self_kills >= 7


def test_the_kills_hit_work_in_progress(seeded_runs):
    # Kill plans that only ever hit idle processes would prove nothing: across the plans,
    # some kills must have left deliveries to be redelivered and recognised as duplicates.
    redeliveries = sum(len(run.trace.of_kind(REDELIVER)) for run in seeded_runs.values())
    ignored = sum(len(run.trace.of_kind(DUPLICATE_IGNORED)) for run in seeded_runs.values())
    assert redeliveries >= 5 and ignored >= 5


def test_nothing_lost_every_message_is_accounted_for(seeded_runs):
    for seed, run in seeded_runs.items():
        conservation = run.trace.conservation()
        assert conservation.ok, (seed, str(conservation))
        assert conservation.in_flight == 0


def test_no_process_outlives_its_run(seeded_runs):
    pids = [pid for run in seeded_runs.values() for pid in run.system.pids]
    assert len(pids) >= 7 * PLANS
    assert [pid for pid in pids if alive(pid)] == []


def test_killing_the_broker_loses_nothing_jetstream_acknowledged(nats_installed, no_orphans):
    plan = RealPlan().kill_broker(at=0.3, restart_after=0.3).kill("payment", at=0.9, restart_after=0.3)
    run = run_choreography("order", orders=8, seed=5, faults=plan, timeout=60)
    assert run.checks.ok, run.checks.verdict()
    assert run.checks.counts()["completed"] == 8
    assert run.trace.conservation().ok
    assert [r.service for r in run.trace.of_kind(CRASH)] == ["broker", "payment"]
    assert len(run.system.broker_pids) == 2 and not any(alive(p) for p in run.system.broker_pids)


def test_without_the_outbox_a_kill_between_commit_and_publish_leaves_the_order_stuck(nats_server, no_orphans):
    plan = RealPlan().kill_before_publish("inventory", nth=2)
    off = run_choreography("order", orders=3, outbox=False, faults=plan, broker=nats_server)
    stuck = off.checks.by_check().get("stuck", [])
    assert [v.correlation for v in stuck] == ["order-2"]
    assert len(off.trace.of_kind(EVENT_LOST)) == 1
    on = run_choreography("order", orders=3, outbox=True, faults=RealPlan().kill_before_publish("inventory", nth=2),
                          broker=nats_server)
    assert on.checks.ok, on.checks.verdict()
    assert on.checks.counts()["completed"] == 3


def test_without_idempotency_a_redelivery_applies_the_effect_twice(nats_server, no_orphans):
    plan = RealPlan().withhold_acks("payment", count=1)
    off = run_choreography("order", orders=2, idempotent=False, faults=plan, broker=nats_server)
    twice = off.checks.by_check().get("effect applied twice", [])
    assert "order-1" in {v.correlation for v in twice}
    assert any("'charge' at payment" in v.explanation for v in twice)
    on = run_choreography("order", orders=2, idempotent=True, faults=RealPlan().withhold_acks("payment", count=1),
                          broker=nats_server)
    assert on.checks.ok, on.checks.verdict()
    assert len(on.trace.of_kind(DUPLICATE_IGNORED)) >= 1 and len(on.trace.of_kind(REDELIVER)) >= 1


def test_max_deliver_then_the_dead_letter_subject(nats_server, no_orphans):
    plan = RealPlan().withhold_acks("notification", count=2)
    run = run_choreography("order", orders=1, max_deliver=2, ack_wait=0.5, faults=plan, broker=nats_server)
    letters = run.trace.of_kind(DEAD_LETTER)
    assert [(r.detail["subscriber"], r.detail["receives"], r.message.type) for r in letters] == [
        ("notification", 2, "OrderCompleted")]
    assert run.trace.conservation().ok
