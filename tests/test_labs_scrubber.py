"""The time scrubber: the state at an instant comes from the trace, and the figures follow the slider."""

import pytest

from microlab import scenarios
from microlab.errors import MicrolabError
from microlab.faults import FaultPlan
from microlab.labs.scrubber import (OVERLAYS, PLAY_STEPS, RunStates, TimeScrubberLab, time_scrubber,
                                    wires)
from microlab.trace import DELIVER, DROP, DUPLICATE, SEND


@pytest.fixture(scope="module")
def crashed_run():
    return scenarios.order_saga("orchestration", orders=8, arrival_rate=20.0, standby=True,
                                faults=FaultPlan().crash("payment", at=0.2, duration=0.5))


def test_a_service_is_down_between_its_crash_and_its_restart(crashed_run):
    states = RunStates(crashed_run.system)
    up = {t: {s.name: s.up for s in states.services_at(t)} for t in (0.1, 0.3, 0.69, 0.71)}
    assert up[0.1]["payment"] and up[0.71]["payment"]
    assert not up[0.3]["payment"] and not up[0.69]["payment"]
    assert all(up[0.3][name] for name in up[0.3] if name != "payment")


def test_messages_in_flight_match_the_trace(crashed_run):
    trace = crashed_run.trace
    states = RunStates(crashed_run.system)
    copies = sum(1 for r in trace.records if r[1] in (SEND, DUPLICATE))
    ended = sum(1 for r in trace.records if r[1] in (DELIVER, DROP))
    assert len(wires(trace)) == copies and sum(w.ended is not None for w in states.wires) == ended
    for t in (0.05, 0.2, 0.45, 1.0):
        flying = states.in_flight(t)
        assert all(w.sent <= t < w.ended for w in flying)
        # Brute force from the records: sends (and duplicates) so far minus outcomes so far.
        sent = sum(1 for r in trace.records if r[1] in (SEND, DUPLICATE) and r[0] <= t)
        done = sum(1 for r in trace.records if r[1] in (DELIVER, DROP) and r[0] <= t)
        assert len(flying) == sent - done
    assert states.in_flight(states.end) == []


@pytest.mark.parametrize("pattern", scenarios.PATTERNS)
def test_mailboxes_and_workers_are_empty_once_the_run_is_over(pattern):
    # Regression: replies consumed on arrival (the broker's Confirm:...) never "start";
    # they must not stay in a mailbox forever.
    run = scenarios.order_saga(pattern, orders=6, seed=2)
    states = RunStates(run.system)
    end = [s for s in states.services_at(states.end + 1)]
    assert all(s.mailbox == 0 and s.busy == 0 for s in end), end


def test_slider_redraws_the_state_and_the_messages_in_flight():
    lab = time_scrubber()
    assert isinstance(lab, TimeScrubberLab) and lab.error is None
    assert lab.controls["time"].max == pytest.approx(lab.states.end)
    lab.controls["time"].value = 0.3
    topo, bars = lab.figures["topology"], lab.figures["state"]
    flying, down, labels = topo.data[-len(OVERLAYS):]
    assert len(flying.x) == len([w for w in lab.states.in_flight(0.3)])
    assert len(down.x) == 1                                   # payment, crashed at 0.2
    assert list(bars.data[2].x) == ["payment"]
    assert "DOWN" in labels.text[list(lab.states.services).index("payment")]
    assert "t = 0.300 s" in topo.layout.title.text and "Down: payment" in lab.message.value
    services = lab.states.services_at(0.3)
    assert list(bars.data[0].y) == [s.busy for s in services]
    assert list(bars.data[1].y) == [s.mailbox for s in services]
    recent = lab.states.recent(0.3)
    assert recent and all(r[0] <= 0.3 for r in recent)
    assert f"{recent[-1][0]:.4f}" in lab.records.value
    later = [r for r in lab.run.trace.records if r[0] > 0.3][0]
    assert f"{later[0]:.4f}" not in lab.records.value
    lab.controls["time"].value = 0.9
    assert len(topo.data[-2].x) == 0 and list(bars.data[2].x) == []
    assert "All services up" in lab.message.value


def test_step_buttons_move_to_the_neighbouring_trace_records():
    lab = time_scrubber()
    lab.controls["time"].value = 0.25
    lab.controls["next"].click()
    after = lab.time
    assert after > 0.25 and after in lab.states.record_times
    assert not any(0.25 < t < after for t in lab.states.record_times)
    lab.controls["previous"].click()
    assert lab.time < after and lab.time in lab.states.record_times


def test_play_moves_the_time_along_the_run():
    lab = time_scrubber()
    lab.controls["play"].value = PLAY_STEPS // 2
    assert lab.time == pytest.approx(lab.states.end / 2, abs=lab.controls["time"].step)


def test_pattern_and_failure_re_simulate():
    lab = time_scrubber()
    lab.controls["pattern"].value = "choreography"
    assert lab.run.pattern == "choreography" and lab.error is None
    lab.controls["failure"].value = "central_crash"
    assert any(r.kind == "crash" and r.service == "broker" for r in lab.run.trace)
    assert not {s.name: s.up for s in lab.states.services_at(0.3)}["broker"]
    lab.controls["pattern"].value = "orchestration"
    assert any(r.kind == "crash" and r.service == "orchestrator" for r in lab.run.trace)
    lab.controls["failure"].value = "drops"
    assert any(r.kind == DROP for r in lab.run.trace)


def test_same_settings_give_the_same_run():
    a, b = time_scrubber(seed=5), time_scrubber(seed=5)
    assert a.run.trace.digest() == b.run.trace.digest()
    b.controls["seed"].value = 6
    assert a.run.trace.digest() != b.run.trace.digest()


def test_an_error_while_redrawing_is_shown_in_the_lab(monkeypatch, lab_errors):
    lab = time_scrubber()

    def broken(t):
        raise RuntimeError("state lost")
    monkeypatch.setattr(lab.states, "services_at", broken)
    lab.controls["time"].value = 0.4
    assert lab.error is not None and "state lost" in lab.error


def test_bad_settings_are_named():
    with pytest.raises(MicrolabError, match="unknown failure 'fire'"):
        time_scrubber(failure="fire")
    with pytest.raises(MicrolabError, match="pattern must be"):
        time_scrubber("mesh")


def test_bar_scale_covers_the_busiest_instant(crashed_run):
    states = RunStates(crashed_run.system)
    peak = states.peak()
    times = sorted(set(states.record_times))
    seen = max(max(max(s.busy, s.mailbox) for s in states.services_at(t)) for t in times)
    assert peak == seen
    lab = time_scrubber()
    assert lab.figures["state"].layout.yaxis.range[1] > lab.states.peak()


def test_the_hubs_state_label_sits_right_of_it_not_on_it():
    lab = time_scrubber(pattern="choreography")
    labels = lab.figures["topology"].data[-1]
    broker = lab._pos["broker"]
    assert broker == (0.0, 0.0)
    i = next(k for k, (x, y) in enumerate(zip(labels.x, labels.y)) if y == broker[1] and x > broker[0])
    assert labels.x[i] > broker[0] + 0.4 and labels.textposition[i] == "middle right"
    # the other nodes keep their labels centred under (or over) them
    assert sum(1 for p in labels.textposition if p == "middle center") == len(labels.x) - 1


def test_it_opens_inside_the_crash_and_says_what_a_down_service_does_to_its_messages():
    from microlab.labs.scrubber import time_scrubber
    for pattern in ("orchestration", "choreography"):
        lab = time_scrubber(pattern=pattern)
        (service, start, end), = lab.states.down
        assert start <= lab.time < end, f"{pattern}: opened at t={lab.time} outside {service}'s crash"
        assert "Down: payment" in lab.message.value and "dropped on arrival" in lab.message.value
    assert "whole run" in lab.figures["topology"].layout.title.subtitle.text   # the link numbers explained


def test_the_browser_snapping_the_time_to_the_slider_step_redraws_nothing():
    lab = time_scrubber("choreography", "payment_crash")
    lab.controls["next"].click()
    shown = lab.time
    assert shown in lab.states.record_times     # an event's own time, off the slider's grid
    title = lab.figures["topology"].layout.title.text
    sent = []
    lab.figures["topology"].observe(lambda change: change["new"] and sent.append(change["name"]),
                                    names=["_py2js_update"])
    slider = lab.controls["time"]
    slider.value = shown + slider.step / 3       # what the browser sends back after snapping it
    assert sent == [] and lab.time == shown and lab.figures["topology"].layout.title.text == title
    lab.controls["next"].click()                 # and the next event follows the one shown
    assert lab.time == lab.states.next_event(shown) > shown
    slider.value = lab.time + 2 * slider.step    # a learner's move redraws
    assert sent and abs(lab.time - slider.value) < 1e-12


def test_a_new_run_updates_each_figure_once():
    lab = time_scrubber("choreography", "payment_crash")
    lab.root                                   # shown: from now on figures are updated in place
    sent = {key: [] for key in lab.figures}
    for key, fw in lab.figures.items():
        fw.observe(lambda change, key=key: change["new"] and sent[key].append(change["name"]),
                   names=["_py2js_update", "_py2js_relayout", "_py2js_restyle", "_py2js_addTraces"])
    lab.controls["orders"].value += 1
    # One message per figure at most (the state bars send none when the instant's bars are unchanged).
    assert len(sent["topology"]) == 1 and len(sent["state"]) <= 1, sent


def test_next_event_reaches_events_closer_than_half_a_slider_step():
    lab = time_scrubber("choreography", "payment_crash")
    slider = lab.controls["time"]
    seen = []
    for _ in range(5):
        lab.step(+1)
        seen.append(lab.time)
        assert lab.figures["topology"].layout.title.text.startswith(f"t = {lab.time:.3f} s")
    assert seen == sorted(set(seen)), f"next event stalled or went back: {seen}"
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    assert min(gaps) < slider.step / 2, "the run no longer has two events within half a step: pick another"
    lab.step(-1)
    assert lab.time == seen[-2]
