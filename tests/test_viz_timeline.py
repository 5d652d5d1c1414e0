"""microlab.viz.timeline: Gantt charts of handlings and of workflow task attempts."""

import math

import pytest

from microlab import Constant, Service, System
from microlab.viz import style
from microlab.viz.timeline import band_label_lines, timeline, transaction_timeline, workflow_timeline

ATTEMPTS = [
    {"lane": "reserve", "start": 0.0, "end": 0.4, "status": "COMPLETED", "label": "reserve"},
    {"lane": "charge", "start": 0.4, "end": 1.4, "status": "TIMED_OUT", "label": "charge", "attempt": 1},
    {"lane": "charge", "start": 1.4, "end": 2.4, "status": "retry_wait"},
    {"lane": "charge", "start": 2.4, "end": 3.0, "status": "FAILED", "label": "charge", "attempt": 2},
    {"lane": "release", "start": 3.0, "end": 3.5, "status": "compensation", "label": "release"},
]


def bars(fig, status):
    [trace] = [t for t in fig.data if t.legendgroup == status]
    return trace


def test_one_bar_per_span_coloured_by_status_and_the_failed_attempt_is_red():
    fig = timeline(ATTEMPTS, lane_title="workflow task")
    assert sum(len(t.y) for t in fig.data) == len(ATTEMPTS)
    failed = bars(fig, "failed")
    assert failed.marker.color == style.VERMILLION
    assert list(failed.y) == ["charge"] and list(failed.base) == [2.4]
    assert list(failed.x) == pytest.approx([0.6])
    assert failed.text == ("charge (attempt 2)",)
    assert bars(fig, "timed_out").marker.color == style.ORANGE
    assert bars(fig, "retry_wait").width == 0.35 and bars(fig, "completed").width == 0.7
    assert list(fig.layout.yaxis.categoryarray) == ["reserve", "charge", "release"]
    assert fig.layout.yaxis.title.text == "workflow task"
    assert fig.layout.xaxis.title.text == "simulated time (s)"


def test_hover_gives_the_true_times_even_for_an_instant_span():
    fig = timeline([{"lane": "a", "start": 0.0, "end": 1.0, "status": "handled"},
                    {"lane": "b", "start": 0.5, "end": 0.5, "status": "skipped"}])
    skipped = bars(fig, "skipped")
    assert skipped.x[0] > 0     # widened to stay visible
    assert "500.000 ms → 500.000 ms (0.000 ms)" in skipped.hovertext[0]


def test_bad_spans_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"span 0 has no 'status'"):
        timeline([{"lane": "a", "start": 0, "end": 1}])
    with pytest.raises(ValueError, match=r"span 1 \(b\) ends at 1 before it starts at 2"):
        timeline([{"lane": "a", "start": 0, "end": 1, "status": "handled"},
                  {"lane": "b", "start": 2, "end": 1, "status": "handled"}])
    with pytest.raises(ValueError, match=r"unknown span status 'paused'.*colours=\{'paused'"):
        timeline([{"lane": "a", "start": 0, "end": 1, "status": "paused"}])
    fig = timeline([{"lane": "a", "start": 0, "end": 1, "status": "paused"}], colours={"paused": "#123456"})
    assert fig.data[0].marker.color == "#123456"
    with pytest.raises(TypeError, match="start must be a number"):
        timeline([{"lane": "a", "start": "0", "end": 1, "status": "handled"}])
    with pytest.raises(ValueError, match="lanes leaves out 'charge'"):
        timeline(ATTEMPTS, lanes=["reserve", "release"])


class Slow(Service):
    def on_Job(self, msg):
        if msg.payload == "bad":
            raise ValueError("bad job")


def test_transaction_timeline_shows_waiting_and_handling_from_the_trace():
    system = System(latency=0, warn_on_failure=False)
    system.add(Slow(work_time=Constant(1.0)))
    system.inject("slow", "Job", "first", correlation="a")
    system.inject("slow", "Job", "bad", correlation="b")
    system.run()
    fig = transaction_timeline(system, "b")
    assert "transaction b" in fig.layout.title.text
    waiting, failed = bars(fig, "waiting"), bars(fig, "failed")
    assert fig.layout.xaxis.title.text == "simulated time (s)"   # a 2 s span
    assert (list(waiting.base), list(waiting.x)) == ([0.0], [1.0])
    assert (list(failed.base), list(failed.x)) == ([1.0], [1.0])
    assert "handler failed: ValueError: bad job" in failed.hovertext[0]
    assert fig.to_json() == transaction_timeline(system, "b").to_json()


def conducted_saga():
    """A saga on the orchestration engine: the charge fails once, shipping always fails."""
    from microlab.orchestration import Orchestrator, TaskFailed, Worker, saga

    class Stock(Worker):
        service_name = "inventory"

        def reserve_inventory(self, input):
            return {}

        def release_inventory(self, input):
            return {}

    class Pay(Worker):
        service_name = "payment"
        failures = 1

        def charge_payment(self, input):
            if self.failures:
                self.failures -= 1
                raise TaskFailed("timeout at the bank")
            return {}

        def refund_payment(self, input):
            return {}

    class Ship(Worker):
        service_name = "shipping"

        def book_shipment(self, input):
            raise TaskFailed("no truck")

    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator())
    system.add(Stock(), Pay(), Ship())
    orchestrator.register(saga("order", inputs=["id"])
                          .step("reserve_inventory", compensate="release_inventory")
                          .step("charge_payment", compensate="refund_payment", retries=1, retry_delay=2)
                          .step("book_shipment", retries=0).build())
    system.inject("orchestrator", "StartWorkflow", {"name": "order", "input": {"id": 1}}, correlation="o1")
    system.run()
    return system


def test_workflow_timeline_draws_attempts_back_offs_and_compensations():
    system = conducted_saga()
    fig = workflow_timeline(system, "o1")
    lanes = list(fig.layout.yaxis.categoryarray)
    assert lanes[:3] == ["reserve_inventory", "charge_payment", "book_shipment"]
    assert all(l.startswith("order_compensation") for l in lanes[3:]) and len(lanes) == 5
    failed = bars(fig, "failed")
    assert list(failed.y) == ["charge_payment", "book_shipment"]
    assert failed.marker.color == style.VERMILLION
    [wait] = [(b, w) for b, w in zip(bars(fig, "retry_wait").base, bars(fig, "retry_wait").x)]
    assert 2.0 <= wait[1] < 2.25                             # retry_delay=2, FIXED, then a poll
    assert bars(fig, "completed").text[1] == "charge_payment (attempt 2)"
    assert list(bars(fig, "compensation").y) == [lanes[3], lanes[4]]
    assert fig.layout.yaxis.title.text == "workflow task"
    with pytest.raises(ValueError, match="ran no workflow task"):
        workflow_timeline(queued(), "a")


def queued():
    system = System(latency=0)
    system.add(Slow(work_time=Constant(1.0)))
    system.inject("slow", "Job", "first", correlation="a")
    system.run()
    return system


def shipping_down(duration=1.5):
    """Chapter 2's timeout run: payment fails twice, shipping is down from t=2.5 s (for ``duration``
    seconds, or for good when it is None)."""
    from microlab import Exponential
    from microlab.orchestration import Orchestrator, workflow
    from microlab.orchestration.toys import saga_services

    system = System(seed=1, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator())
    _, payment, _ = system.add(*saga_services())
    orchestrator.register(workflow("order", inputs=["orderId"])
                          .simple("reserve_inventory")
                          .simple("charge_payment", retries=3, retry_delay=1, retry_logic="EXPONENTIAL_BACKOFF")
                          .simple("book_shipment", retries=2, retry_delay=1, response_timeout=2).build())
    payment.fail("charge_payment", times=2)
    system.crash("shipping", at=2.5, **({} if duration is None else {"duration": duration}))
    orchestrator.start("order", {"orderId": 8}, correlation="order-8")
    system.run(until=20)
    return system


def test_workflow_timeline_shades_the_time_a_service_was_down_and_says_which():
    fig = workflow_timeline(shipping_down(), "order-8")
    [band] = fig.layout.shapes
    assert (band.type, band.yref, band.y0, band.y1) == ("rect", "paper", 0, 1)   # across every row
    assert (band.x0, band.x1) == (2.5, 4.0)                                     # crash to restart
    assert band.name == "shipping down (crash to restart)" and band.showlegend
    [label] = fig.layout.annotations
    assert label.text == "<b>shipping down</b> (t = 2.5 to 4 s)" and label.font.size >= 12
    # The task that waited for shipping is drawn across the band: it ran once shipping was back.
    assert bars(fig, "scheduled").y[-1] == "book_shipment"
    assert fig.to_json() == workflow_timeline(shipping_down(), "order-8").to_json()


def test_workflow_timeline_without_a_crash_shades_nothing():
    for fig in (workflow_timeline(conducted_saga(), "o1"),
                workflow_timeline(shipping_down(), "order-8", downtime=False),
                workflow_timeline(shipping_down(), "order-8", downtime=["payment"])):
        assert not fig.layout.shapes and not fig.layout.annotations
        assert fig.layout.xaxis.range is None                  # the axis fits the bars, as before
    assert len(workflow_timeline(shipping_down(), "order-8", downtime=["shipping"]).layout.shapes) == 1


def test_a_service_that_never_restarted_is_shaded_to_the_end_of_the_axis():
    system = shipping_down(duration=None)
    fig = workflow_timeline(system, "order-8")
    [band] = fig.layout.shapes
    assert band.x0 == 2.5 and band.x1 == fig.layout.xaxis.range[1]
    assert band.name == "shipping down (crashed, never restarted)"
    assert "never restarted" in fig.layout.annotations[0].text
    # book_shipment never started: it waits in its queue to the run's last record.
    waiting = bars(fig, "scheduled")
    i = list(waiting.y).index("book_shipment")
    assert waiting.base[i] + waiting.x[i] == pytest.approx(system.trace.records[-1][0])
    assert "still waiting to start when the run ended" in waiting.hovertext[i]


def test_bands_of_two_services_down_at_once_get_their_own_edge_and_label_line():
    fig = timeline(ATTEMPTS, down=[("payment", 1.0, 2.0, None), ("shipping", 1.5, math.inf)])
    pay, ship = fig.layout.shapes
    assert pay.line.dash != ship.line.dash
    assert ship.x1 == fig.layout.xaxis.range[1]            # cut at the plot's edge
    low, high = fig.layout.annotations
    assert high.yshift > low.yshift                        # overlapping: a line higher
    assert fig.layout.margin.t > 70                        # with room for it above the plot
    assert band_label_lines(fig) == 2                      # what a figure stacking it must leave room for


def test_a_timeline_says_how_many_lines_of_band_labels_it_stacks():
    assert band_label_lines(workflow_timeline(shipping_down(), "order-8")) == 1
    assert band_label_lines(workflow_timeline(conducted_saga(), "o1")) == 0
    # A band outside the time drawn has no label, so no line.
    assert band_label_lines(timeline(ATTEMPTS, down=[("payment", 50.0, 60.0)])) == 0
