"""Checks of notebook 05: right answers pass, typical wrong answers get the intended hint."""

import pytest

from microlab.exercises import ch05

SERVICES = ["orchestrator", "order", "inventory", "payment", "shipping", "notification"]


def test_the_orchestrator_handles_a_start_then_a_poll_and_an_update_per_task():
    # StartWorkflow, then for reserve, charge, ship and tell_notification the poll that takes
    # the task and the worker's TaskCompleted: the chapter's runs poll, as Conductor's workers do.
    per_order, empty = ch05.orchestrator_handlings()
    assert per_order == 9
    assert empty > 0  # idle workers' empty polls, counted apart
    assert ch05.orchestrator_capacity() == pytest.approx(1 / (9 * 0.004))
    assert ch05.orchestrator_capacity(workers=2) == pytest.approx(2 / (9 * 0.004))


def test_messages_per_order():
    assert ch05.check_orchestrator_messages(9).passed
    assert "empty polls" in ch05.check_orchestrator_messages(9).message
    assert 'dispatch="push"' in ch05.check_orchestrator_messages(5).message   # push's count
    assert "not what it sends back" in ch05.check_orchestrator_messages(13).message
    assert "one task per listener" in ch05.check_orchestrator_messages(4).message
    assert "give a number" in ch05.check_orchestrator_messages("five").message


@pytest.mark.parametrize("answer", [25, 27.8, 33])
def test_saturation_rate_accepts_answers_near_the_capacity(answer):
    assert ch05.check_saturation_rate(answer).passed


@pytest.mark.parametrize("answer, hint", [(20, "too low"), (50, "too high"), (-5, "positive number")])
def test_saturation_rate_hints(answer, hint):
    feedback = ch05.check_saturation_rate(answer)
    assert not feedback.passed and hint in feedback.message


def test_the_sweep_agrees_with_the_computed_capacity():
    from microlab import scenarios
    rows = scenarios.sweep("order", rates=[15, 60], orders=200, patterns=("orchestration",),
                           workers=dict(ch05.BASE_WORKERS))
    assert rows[0]["throughput"] > 14                    # keeps up below the capacity
    assert rows[1]["throughput"] < ch05.orchestrator_capacity() * 1.05   # capped above it
    assert rows[1]["busiest"] == "orchestrator"


@pytest.mark.parametrize("workers", [
    {s: 4 for s in SERVICES},
    {"orchestrator": 4, "order": 3, "inventory": 4, "payment": 4, "shipping": 4, "notification": 4},
])
def test_capacity_knobs_accept_enough_workers(workers):
    feedback = ch05.check_capacity_knobs({"workers": workers})
    assert feedback.passed, feedback.message


def test_capacity_knobs_name_the_task_queue_when_polling_threads_are_the_bound():
    # Enough orchestrator and front door, one thread per task type: no component is busy,
    # the tasks wait in their queues for a worker's thread.
    feedback = ch05.check_capacity_knobs({"workers": {"orchestrator": 4, "order": 2}})
    assert not feedback.passed
    assert "task queues for a worker's thread" in feedback.message and "round trip" in feedback.message


@pytest.mark.parametrize("knobs, hint", [
    ({"workers": {"order": 2}}, "The busiest component is orchestrator"),
    ({"workers": {"orchestrator": 4}}, "The busiest component is order"),
    ({"workers": {"paymnt": 2}}, "did you mean 'payment'"),
    ({"workers": {"order": 2}, "orders": 10}, "only the workers knob may change"),
    ({"workers": 2}, "workers is a dict"),
    ([("orchestrator", 2)], "give a dict of knobs"),
])
def test_capacity_knobs_hints(knobs, hint):
    feedback = ch05.check_capacity_knobs(knobs)
    assert not feedback.passed and hint in feedback.message


def test_the_key_points_and_the_lab_text_do_not_answer_the_exercises():
    from tests.course_text import before_exercises, key_points

    points = key_points("05_performance")
    capacity = round(ch05.orchestrator_capacity())
    assert f"{capacity} orders/s" not in points                         # 5.2's answer
    assert f"{ch05.orchestrator_messages_per_order():g} messages" not in points   # 5.1's
    # 5.4 asks where the broker (0.5 ms, 10 messages per order) saturates: 200 orders/s
    assert not [c for c in before_exercises("05_performance", "markdown") if "200 orders/s" in c]


def test_the_fair_fight_prose_quotes_what_its_cells_compute():
    # Section 5's numbers are read from cells (the ladder, the message kinds): recompute them
    # and find each in the prose, so a change of the model shows up here, not in a reader's email.
    from tests.course_text import before_exercises

    from microlab import scenarios

    text = "\n".join(before_exercises("05_performance", "markdown"))
    ladder = scenarios.fair_ladder(orders=200, arrival_rate=20, seeds=[1])
    for row in ladder:
        assert f"{row['p50']['orchestration'] * 1000:.0f} ms" in text, row["step"]
    assert f"stays at {ladder[0]['p50']['choreography'] * 1000:.0f} ms" in text
    flip = next(i for i, r in enumerate(ladder) if r["winner"] == "orchestration")
    assert flip == 2 and "from that rung on, orchestration is the faster pattern" in text
    pushed = ladder[2]["comparison"].rows
    assert f"{pushed['orchestration']['hops']} hops against choreography's {pushed['choreography']['hops']}" in text
    assert (f"{pushed['orchestration']['central_handlings']:.0f} handlings at the orchestrator against "
            f"{pushed['choreography']['central_handlings']:.0f} at the broker") in text
    light = {p: scenarios.order_saga(p, orders=200, arrival_rate=20, seed=1) for p in scenarios.PATTERNS}
    hops = {p: light[p].metrics["hops_per_transaction"] for p in light}
    assert (f"causal chain runs through the whole order: {hops['orchestration']} hops against "
            f"choreography's {hops['choreography']}") in text   # polled, as this run is
    chor, orch = (scenarios.message_kinds(light[p]) for p in ("choreography", "orchestration"))
    assert (f"Of choreography's {chor['all']:.0f} messages per order, {chor['confirms']:.0f} are the broker's "
            f"publish confirms") in text
    assert f"and {chor['acks']:.0f} the subscribers' acknowledgements" in text
    assert f"{chor['business']:.0f}\ncarry business content" in text or f"{chor['business']:.0f} carry business" in text
    assert f"Orchestration's {orch['all']:.0f} are {orch['business']:.0f} with business content" in text
    assert f"{orch['receipts']:.0f} WorkflowStarted" in text


def test_the_starting_knobs_are_unanswered_not_a_wrong_try():
    untouched = ch05.check_capacity_knobs({"workers": {}})   # the cell's starting value
    assert not untouched.attempted and "no service has more workers yet" in untouched.message
