"""The single point of failure lab: the orchestrator and the broker crash; a standby saves the day."""

import math

import pytest

from microlab.labs.spof import SLO_SECONDS, outage_numbers, spof_lab
from microlab.scenarios import KnobError
from microlab.trace import CRASH, RESTART


def test_both_central_components_crash_at_the_chosen_time():
    lab = spof_lab(at=0.8)
    assert lab.error is None
    assert [(r.service, r.time) for r in lab.run["orchestration"].trace.of_kind(CRASH)] == [("orchestrator", 0.8)]
    assert [(r.service, r.time) for r in lab.run["choreography"].trace.of_kind(CRASH)] == [("broker", 0.8)]
    assert not lab.run["orchestration"].trace.of_kind(RESTART)   # never restarts by default
    assert "microlab-lab-spof" in lab.root._dom_classes


def test_without_standby_orders_stall_and_are_drawn_as_stuck():
    lab = spof_lab()
    stuck = lab.stalled["orchestration"]
    assert len(stuck) > 5
    assert lab.numbers["orchestration"]["stuck"] == len(stuck)
    assert lab.numbers["orchestration"]["recovery_time"] is None
    red = [t for t in lab.figures["orders"].data if t.name == "orchestration: stuck (never concluded)"]
    assert len(red[0].x) == len(stuck)
    run = lab.run["orchestration"]
    assert sorted(red[0].x) == sorted(run.arrivals[c] for c in stuck)
    assert lab.figures["sequence"].layout.title.text.startswith(f"Order {stuck[0]} (orchestration): stuck")
    assert "recovery never" in lab.message.value


def test_standby_resumes_every_order_after_about_the_failover_delay():
    lab = spof_lab()
    lab.controls["standby"].value = True
    assert lab.stalled["orchestration"] == []
    assert lab.numbers["orchestration"]["completed"] == lab.numbers["orchestration"]["orders"]
    first = lab.numbers["orchestration"]["recovery_time"]
    assert first is not None and first >= 1.0     # no order concludes before the standby takes over
    lab.controls["failover_delay"].value = 0.2
    assert lab.numbers["orchestration"]["recovery_time"] < first
    # the broker has no standby: the choreography still stalls
    assert lab.stalled["choreography"]


def test_a_restart_ends_both_outages():
    lab = spof_lab(never_restarts=False, duration=1.5)
    assert [r.time for r in lab.run["choreography"].trace.of_kind(RESTART)] == [2.5]
    assert lab.stalled == {"orchestration": [], "choreography": []}
    for numbers in lab.numbers.values():
        assert numbers["recovery_time"] is not None
        assert 0 <= numbers["availability"] <= 1


def test_availability_counts_orders_that_arrived_during_the_outage():
    lab = spof_lab(never_restarts=False, duration=1.5, standby=True)
    run = lab.run["orchestration"]
    numbers = outage_numbers(run, 1.0, 1.5)
    during = [c for c in run.correlations if 1.0 <= run.arrivals[c] < 2.5]
    ok = [c for c in during if run.spans[c].outcome == "completed" and run.spans[c].latency <= SLO_SECONDS]
    assert numbers["arrived_during_outage"] == len(during)
    assert numbers["availability"] == pytest.approx(len(ok) / len(during))
    assert "%" in lab.table.value


def test_settings_that_cannot_matter_are_greyed_out():
    lab = spof_lab()
    c = lab.controls
    assert c["duration"].disabled and c["failover_delay"].disabled
    c["never"].value = False
    c["standby"].value = True
    assert not c["duration"].disabled and not c["failover_delay"].disabled


def test_a_crash_after_every_order_is_explained(lab_errors):
    lab = spof_lab(orders=3)
    lab.controls["at"].value = 4.0
    assert "nothing would stall" in lab.error

    assert lab_errors and all('nothing would stall' in text for _, text, _ in lab_errors)   # only the expected error

def test_bad_settings_are_refused():
    with pytest.raises(KnobError, match="failover_delay must be between 0 and 3"):
        spof_lab(failover_delay=10)
    with pytest.raises(KnobError, match="never_restarts is a switch"):
        spof_lab(never_restarts="no")


def test_nan_availability_when_nobody_arrived():
    lab = spof_lab(orders=2, never_restarts=False, duration=0.1, at=1.0)
    numbers = lab.numbers["orchestration"]
    assert numbers["arrived_during_outage"] == 0 and math.isnan(numbers["availability"])
    assert "n/a" in lab.table.value


def test_titles_are_short_with_the_details_underneath():
    lab = spof_lab()
    for fig in lab.figures.values():
        assert len(fig.layout.title.text) <= 60
    assert "crash at t=" in lab.figures["orders"].layout.title.subtitle.text


def test_a_broker_that_never_comes_back_has_no_recovery_and_the_line_is_red():
    lab = spof_lab(standby=True)       # the orchestrator recovers, the broker never restarts
    assert lab.stalled["orchestration"] == [] and lab.stalled["choreography"]
    assert lab.numbers["choreography"]["recovery_time"] is None
    assert 'data-tone="bad"' in lab.message.value and "✘" in lab.message.value
    assert "Choreography (the broker crashed)" in lab.message.value and "recovery never" in lab.message.value


def test_when_nothing_is_stuck_the_line_is_green_and_says_so():
    lab = spof_lab(never_restarts=False, duration=1.5, standby=True)
    assert lab.stalled == {"orchestration": [], "choreography": []}
    assert 'data-tone="good"' in lab.message.value and "Every order concluded" in lab.message.value


def test_outage_numbers_from_the_runs_spans_match_the_trace_read_afresh():
    from microlab import metrics
    from microlab.labs.spof import outage_numbers

    lab = spof_lab(orders=12)
    for run in lab.run.values():
        n = outage_numbers(run, 1.0, None)
        assert n["recovery_time"] == metrics.recovery_time(run.trace, 1.0, served_after=True)
        a, b = n["availability"], metrics.availability(run.trace, 1.0, float("inf"), within=1.0)
        assert a == b or (a != a and b != b)
