"""The choreographed order saga on Apache Kafka: the same checks as on NATS, with Kafka's mechanisms.

Consumer groups per subscription, offset commits as acks, redelivery of what was not
committed, dead letters counted by the consumer (see microlab.real.broker.kafka_process).
A real run is not deterministic: the tests assert verdicts and counts, never digests.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from microlab.choreography.kinds import DEAD_LETTER, DUPLICATE_IGNORED, EVENT_LOST, REDELIVER
from microlab.real.broker import BrokerUnreachable, RealPlan, run_choreography
from microlab.real.broker.naming import TopicNameError
from microlab.real.ports import free_port
from microlab.trace import CRASH, RESTART
from tests.real_broker.orphans import alive

PLANS = 8
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = ["order", "inventory", "payment", "shipping", "notification"]


def _plan(seed: int) -> RealPlan:
    plan = RealPlan.seeded(seed, STEPS, horizon=1.0)
    if seed % 2 == 0:  # every other plan also kills a step between its commit and its publish
        plan.kill_before_publish(STEPS[1 + seed % 3], nth=1 + seed % 3)
    return plan


def kafka_run(server, **kw):
    return run_choreography("order", backend="kafka", broker=server, timeout=90, **kw)


def test_the_order_saga_completes_on_kafka(kafka_server, no_orphans):
    run = kafka_run(kafka_server, orders=4)
    assert run.checks.ok, run.checks.verdict()
    assert run.checks.counts()["completed"] == 4
    assert run.trace.conservation().ok and run.metrics["hops_per_transaction"] == 12


@pytest.fixture(scope="module")
def seeded_runs(kafka_server):
    def one(seed):
        return seed, kafka_run(kafka_server, orders=4, seed=seed, faults=_plan(seed))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, range(1, PLANS + 1)))


def test_no_violation_and_nothing_lost_over_seeded_kill_plans(seeded_runs):
    assert len(seeded_runs) == PLANS
    bad = {seed: run.checks.verdict() for seed, run in seeded_runs.items() if not run.checks.ok}
    assert bad == {}
    assert sum(sum(run.checks.counts().values()) for run in seeded_runs.values()) == 4 * PLANS
    for seed, run in seeded_runs.items():
        conservation = run.trace.conservation()
        assert conservation.ok and conservation.in_flight == 0, (seed, str(conservation))
        crashes = run.trace.of_kind(CRASH)
        between = [r for r in crashes if "between its database commit" in r.detail["reason"]]
        assert len(crashes) - len(between) == len(run.plan.kills()), seed
        assert len(run.trace.of_kind(RESTART)) == len(crashes), seed
    # Kills that only ever hit idle processes would prove nothing.
    assert sum(len(run.trace.of_kind(REDELIVER)) + len(run.trace.of_kind(DUPLICATE_IGNORED))
               for run in seeded_runs.values()) >= 3
    pids = [pid for run in seeded_runs.values() for pid in run.system.pids]
    assert [pid for pid in pids if alive(pid)] == []


def test_without_the_outbox_a_kill_between_commit_and_publish_leaves_the_order_stuck(kafka_server, no_orphans):
    off = kafka_run(kafka_server, orders=3, outbox=False, faults=RealPlan().kill_before_publish("inventory", nth=2))
    assert [v.correlation for v in off.checks.by_check().get("stuck", [])] == ["order-2"]
    assert len(off.trace.of_kind(EVENT_LOST)) == 1
    on = kafka_run(kafka_server, orders=3, faults=RealPlan().kill_before_publish("inventory", nth=2))
    assert on.checks.ok, on.checks.verdict()


def test_without_idempotency_a_redelivery_applies_the_effect_twice(kafka_server, no_orphans):
    # The withheld commit: Kafka has no ack_wait, the consumer seeks back to the offset.
    off = kafka_run(kafka_server, orders=2, idempotent=False, faults=RealPlan().withhold_acks("payment", count=1))
    twice = off.checks.by_check().get("effect applied twice", [])
    assert "order-1" in {v.correlation for v in twice}
    assert any("'charge' at payment" in v.explanation for v in twice)
    on = kafka_run(kafka_server, orders=2, faults=RealPlan().withhold_acks("payment", count=1))
    assert on.checks.ok, on.checks.verdict()
    assert len(on.trace.of_kind(DUPLICATE_IGNORED)) >= 1 and len(on.trace.of_kind(REDELIVER)) >= 1


def test_max_deliveries_then_the_dead_letter_topic(kafka_server, no_orphans):
    run = kafka_run(kafka_server, orders=1, max_deliver=2, ack_wait=0.3,
                    faults=RealPlan().withhold_acks("notification", count=2))
    letters = run.trace.of_kind(DEAD_LETTER)
    assert [(r.detail["subscriber"], r.detail["receives"], r.message.type) for r in letters] == [
        ("notification", 2, "OrderCompleted")]
    assert run.trace.conservation().ok


def test_killing_the_broker_loses_nothing_it_acknowledged(kafka_server, no_orphans):
    # Down for 7 s and more (a restart takes 4-20 s here): longer than the consumers'
    # session once was (6 s), when librdkafka then fenced its own static members for good.
    plan = RealPlan().kill_broker(at=0.3, restart_after=7.0).kill("payment", at=8.0, restart_after=0.3)
    run = kafka_run(kafka_server, orders=5, seed=5, faults=plan)
    assert run.checks.ok, run.checks.verdict()
    assert run.checks.counts()["completed"] == 5
    assert run.trace.conservation().ok
    assert [r.service for r in run.trace.of_kind(CRASH)] == ["broker", "payment"]
    assert kafka_server.pid is not None  # restarted, and still the session's broker


def test_an_unreachable_broker_is_named(no_orphans):
    url = f"127.0.0.1:{free_port()}"
    with pytest.raises(BrokerUnreachable, match=url):
        run_choreography("order", orders=1, backend="kafka", broker=url)


def test_a_topic_name_kafka_rejects_is_refused_before_anything_starts(kafka_server, no_orphans):
    with pytest.raises(TopicNameError) as err:
        run_choreography("tests.real_broker.flows_for_tests:spaced_event", orders=1, backend="kafka",
                         broker=kafka_server)
    assert "'Order Placed'" in str(err.value) and "audit" in str(err.value) and "Kafka" in str(err.value)


def test_the_command_line_runs_a_kill_plan_on_kafka(kafka_server, no_orphans):
    # The command starts (and stops) a broker of its own, beside the session's.
    out = subprocess.run([sys.executable, "-m", "microlab", "real-broker", "--backend", "kafka", "--orders", "2",
                          "--kill", "payment@0.1:0.3", "--json"], capture_output=True, text=True, timeout=180,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["backend"] == "kafka" and doc["ok"] and "Consistent" in doc["verdict"]
    assert doc["metrics"]["hops_per_transaction"] == 12
