"""Scenarios under polling workers (dispatch="poll"), against pushed commands."""

import pytest

from microlab import scenarios
from microlab.orchestration import Worker
from microlab.orchestration.pollstats import poll_summary, queue_waits


def test_polling_workers_get_thread_count_threads_per_task_type_and_workers_overrides_it():
    system, *_ = scenarios.build("order", "orchestration", dispatch="poll", thread_count=3,
                                 workers={"payment": 2})
    inventory, payment = system.services["inventory"], system.services["payment"]
    assert isinstance(inventory, Worker) and inventory.thread_count == 3
    assert payment.thread_count == 2
    assert inventory.workers == 3 * len(inventory.polled) == 6   # reserve and release, 3 threads each


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4"])
def test_a_bad_thread_count_is_refused_by_name(bad):
    with pytest.raises(scenarios.KnobError, match="thread_count must be a whole number >= 1"):
        scenarios.order_saga(dispatch="poll", thread_count=bad)


def test_a_long_poll_over_conductors_limit_is_refused_by_name():
    with pytest.raises(scenarios.KnobError, match="poll_timeout is at most 5 seconds"):
        scenarios.order_saga(dispatch="poll", poll_timeout=6)


def test_at_low_load_the_wait_for_a_poll_adds_latency_that_push_does_not_pay():
    runs = {d: scenarios.order_saga("orchestration", orders=100, arrival_rate=5, dispatch=d)
            for d in ("push", "poll")}
    waits = {d: [w for *_, w in queue_waits(r.trace)] for d, r in runs.items()}
    assert set(waits["push"]) == {0.0}                           # a pushed task leaves at once
    assert sum(waits["poll"]) / len(waits["poll"]) > 0.002        # a polled one waits for its poll
    assert runs["poll"].metrics["latency_p50"] > runs["push"].metrics["latency_p50"]
    assert runs["poll"].checks.ok and runs["push"].checks.ok
    summary = poll_summary(runs["poll"].trace)
    assert sum(s.leased for s in summary.values()) == len(waits["poll"])
    assert any(s.empty for s in summary.values()) and not poll_summary(runs["push"].trace)


def test_past_saturation_the_task_queue_grows_under_polling_while_push_keeps_up():
    rows = scenarios.sweep("order", rates=[5, 40], orders=200, patterns=("orchestration",), dispatch="poll")
    pushed = scenarios.sweep("order", rates=[40], orders=200, patterns=("orchestration",), dispatch="push")
    low, high = rows
    # Each task costs the orchestrator a poll as well as its update: it saturates first.
    assert high["throughput"] < 0.75 * high["rate"] and pushed[0]["throughput"] > 0.9 * 40
    assert high["busiest"] == "orchestrator"
    # The backlog waits in the server's task queues, and every step waits longer for a poll.
    assert low["task_queue"] <= 3 and high["task_queue"] >= 10 * max(low["task_queue"], 1)
    assert high["queue_wait"] > 20 * low["queue_wait"] > 0
    assert pushed[0]["task_queue"] == 0 and pushed[0]["queue_wait"] == 0
    assert high["p50"] > 5 * pushed[0]["p50"]


def test_polling_vs_push_shows_the_task_queue_growing_and_the_poll_wait_on_every_step():
    from microlab.scenarios.dispatching import format_rows
    rows = scenarios.polling_vs_push("order", rates=[5, 40], orders=200)
    by = {(r["dispatch"], r["rate"]): r for r in rows}
    assert [r["dispatch"] for r in rows] == ["push", "push", "poll", "poll"]
    # Push: nothing waits for a poll, and it keeps up at 40/s.
    assert all(by["push", rate]["task_queue"] == 0 == by["push", rate]["queue_wait"] for rate in (5, 40))
    assert by["push", 40]["throughput"] > 0.9 * 40
    # Poll: the wait for a poll is on every step even at 5/s; at 40/s the queue grows.
    assert by["poll", 5]["queue_wait"] > 0 and by["poll", 5]["p50"] > by["push", 5]["p50"]
    assert by["poll", 40]["task_queue"] > 10 * by["poll", 5]["task_queue"]
    assert by["poll", 40]["throughput"] < 0.75 * 40
    text = format_rows(rows)
    assert len(text.splitlines()) == 5 and "poll wait ms" in text


def test_polling_vs_push_refuses_a_dispatch_knob():
    with pytest.raises(ValueError, match="leave dispatch out"):
        scenarios.polling_vs_push(dispatch="poll")


@pytest.mark.parametrize("pattern", ["orchestration", "hybrid"])
def test_the_conductor_style_patterns_poll_by_default_and_push_when_told(pattern):
    assert scenarios.Knobs().dispatch == "poll"
    polled, *_ = scenarios.build("order", pattern, orders=3)
    pushed, *_ = scenarios.build("order", pattern, orders=3, dispatch="push")
    assert polled.services["orchestrator"].dispatch == "poll"
    assert pushed.services["orchestrator"].dispatch == "push"
    polled.run()
    pushed.run()
    polls = [r for r in polled.trace.of_kind("send") if r.message.type == "Poll"]
    assert polls and {r.service for r in polls} >= {"inventory", "payment"}
    assert not [r for r in pushed.trace.of_kind("send") if r.message.type == "Poll"]


def test_the_choreographies_have_no_dispatch_to_make():
    for pattern in ("choreography", "choreography-p2p"):
        system, *_ = scenarios.build("order", pattern, orders=3)
        system.run()
        assert "orchestrator" not in system.services
        assert not [r for r in system.trace.of_kind("send") if r.message.type == "Poll"]
