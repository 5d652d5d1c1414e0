"""The fair fight: every knob behind the headline moves the result the way it should.

No figure here is a hard-coded expectation: each test changes one modelling choice and
checks the direction of its effect, and that the patterns it does not concern are
left exactly as they were.
"""

import pytest

from microlab import scenarios
from microlab.distributions import Exponential
from microlab.flows import ORDER
from microlab.scenarios import KnobError

LOAD = dict(orders=120, arrival_rate=20)
EQUAL = Exponential(0.0005)  # the broker's default work time


def p50(pattern, **knobs):
    return scenarios.order_saga(pattern, **LOAD, **knobs).metrics["latency_p50"]


def test_the_orchestrators_work_time_moves_orchestration_only():
    assert p50("orchestration", orchestrator_work_time=EQUAL) < p50("orchestration")
    assert p50("choreography", orchestrator_work_time=EQUAL) == p50("choreography")
    assert p50("choreography-p2p", orchestrator_work_time=EQUAL) == p50("choreography-p2p")


def test_the_brokers_work_time_moves_the_broker_choreography_only():
    slow = Exponential(0.004)
    assert p50("choreography", broker_work_time=slow) > p50("choreography")
    assert p50("orchestration", broker_work_time=slow) == p50("orchestration")
    assert p50("choreography-p2p", broker_work_time=slow) == p50("choreography-p2p")


def test_fire_and_forget_notification_shortens_the_workflow_and_still_tells_every_listener():
    blocking = scenarios.order_saga("orchestration", **LOAD)
    handed_off = scenarios.order_saga("orchestration", notification="fire-and-forget", **LOAD)
    assert handed_off.metrics["latency_p50"] < blocking.metrics["latency_p50"]
    assert handed_off.checks.ok and handed_off.checks.counts()["completed"] == LOAD["orders"]
    for run in (blocking, handed_off):
        heard = [r for r in run.trace.rows() if r.kind == "effect" and r.detail["effect"] == "notification_heard"]
        assert len({r.correlation for r in heard}) == LOAD["orders"]
    # The workflow no longer has a task for the listener: it ends before the listener hears.
    for corr in handed_off.correlations[:5]:
        end = handed_off.spans[corr].end
        heard = [r.time for r in handed_off.trace.rows() if r.correlation == corr and r.kind == "effect"
                 and r.detail["effect"] == "notification_heard"]
        assert heard and heard[0] > end
    assert p50("choreography", notification="fire-and-forget") == p50("choreography")


def test_the_owner_concluding_adds_a_hop_and_a_handling_to_orchestration_only():
    assert p50("orchestration", conclusion="owner") > p50("orchestration")
    assert p50("choreography", conclusion="owner") == p50("choreography")
    run = scenarios.order_saga("orchestration", orders=30, failure={"payment": 0.5}, retries=0,
                               conclusion="owner", seed=4)
    assert run.checks.ok and run.checks.counts()["compensated"] > 0
    concluded_by = {r.service for r in run.trace.rows() if r.kind == "effect"
                    and r.detail["effect"] in ("complete", "reject")}
    assert concluded_by == {"order"}


def test_a_receipt_taken_beside_the_workers_frees_the_orchestrated_owner():
    # Pushed, as the README's row for this knob: under polling a task's wait for its poll
    # varies by more than the owner's few milliseconds of handling.
    busy = scenarios.order_saga("orchestration", orchestrator_work_time=EQUAL, dispatch="push", **LOAD)
    free = scenarios.order_saga("orchestration", orchestrator_work_time=EQUAL, receipt_work=False,
                                dispatch="push", **LOAD)
    assert free.metrics["latency_p50"] < busy.metrics["latency_p50"]
    assert free.utilization()["order"] < busy.utilization()["order"]
    assert free.checks.ok and free.metrics["messages"] == busy.metrics["messages"]
    assert p50("choreography", receipt_work=False) == p50("choreography")


def test_fire_and_forget_notification_reports_rejections_too():
    run = scenarios.order_saga("orchestration", orders=30, failure={"payment": 0.5}, retries=0,
                               notification="fire-and-forget", seed=4)
    assert run.checks.ok and run.checks.counts()["compensated"] > 0
    outcomes = {r.detail["outcome"] for r in run.trace.rows()
                if r.kind == "effect" and r.detail["effect"] == "notification_heard"}
    assert outcomes == {"OrderCompleted", "OrderRejected"}


def test_counting_leaves_out_confirms_then_every_receipt():
    for pattern in scenarios.ALL_PATTERNS:
        runs = {c: scenarios.order_saga(pattern, orders=20, count_messages=c) for c in scenarios.knobs.COUNTS}
        sent = runs["all"].trace.messages().values()
        confirms = sum(m.type.startswith("Confirm:") for m in sent)
        receipts = sum(m.type.startswith(("Confirm:", "Ack:")) or m.type in ("WorkflowStarted", "Poll", "NoTask")
                       for m in sent)
        m = {c: r.metrics["messages"] for c, r in runs.items()}
        assert m["all"] - m["no-confirms"] == confirms
        assert m["all"] - m["business"] == receipts > 0
        # Counting is bookkeeping: the run itself is the same.
        assert len({r.trace.digest() for r in runs.values()}) == 1
    assert confirms == 0  # the last pattern, point to point, has no broker to confirm


def test_compare_names_the_winners_the_figures_agree_with():
    fight = scenarios.compare(**LOAD)
    rows = fight.rows
    assert set(rows) == set(scenarios.ALL_PATTERNS)
    fastest = min(rows, key=lambda p: rows[p]["p50"])
    assert fight.winner("latency") == fastest
    # Under the defaults the headline holds: orchestration is slower than choreography.
    assert rows["orchestration"]["p50"] > rows["choreography"]["p50"]
    assert rows["choreography"]["messages"] > rows["orchestration"]["messages"]
    text = fight.format()
    for name in ("orchestrator_work_time", "notification", "count_messages", "latency (lower p50)"):
        assert name in text
    assert "waits for its listeners" in fight.reasons["latency"]
    assert repr(fight).startswith("<Comparison of orchestration, choreography, choreography-p2p")


def test_a_fair_fight_turns_the_latency_headline_round():
    seeds = [1, 2, 3]
    default = scenarios.compare(patterns=scenarios.PATTERNS, seeds=seeds, **LOAD)
    fair = scenarios.compare(patterns=scenarios.PATTERNS, seeds=seeds, orchestrator_work_time=EQUAL,
                             notification="fire-and-forget", **LOAD)
    assert default.winner("latency") == "choreography"
    assert fair.winner("latency") == "orchestration"
    assert "waits for its listeners" not in fair.reasons["latency"]
    assert "records the conclusion itself" in fair.reasons["latency"]
    assert len(fair.rows["orchestration"]["p50_per_seed"]) == 3


def test_the_orchestrators_work_time_decides_who_saturates_first():
    # Services get enough workers that only the orchestrator or the broker can saturate.
    heavy = dict(orders=200, arrival_rate=80, workers={name: 4 for name in ORDER.services})
    default = scenarios.compare(patterns=scenarios.PATTERNS, **heavy)
    fair = scenarios.compare(patterns=scenarios.PATTERNS, orchestrator_work_time=EQUAL, **heavy)
    assert default.rows["orchestration"]["busiest"] == "orchestrator"
    assert default.winner("throughput") == "choreography"
    assert fair.rows["orchestration"]["throughput"] > default.rows["orchestration"]["throughput"]
    assert fair.rows["orchestration"]["busiest"] != "orchestrator"


def test_bad_fights_say_what_is_wrong():
    with pytest.raises(KnobError, match="at least two different patterns"):
        scenarios.compare(patterns=["orchestration"])
    with pytest.raises(KnobError, match="notification must be one of.*did you mean 'fire-and-forget'"):
        scenarios.compare(notification="fire-forget", orders=5)
    with pytest.raises(KnobError, match="seeds="):
        scenarios.compare(seed=3, orders=5)
    with pytest.raises(KnobError, match="count_messages must be one of"):
        scenarios.order_saga(count_messages="some")


def test_the_fairness_table_is_the_readmes():
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert scenarios.fairness_table() in readme
    for knob, *_ in scenarios.FAIRNESS:
        for name in knob.split(", "):
            assert name in scenarios.Knobs.__doc__, name
