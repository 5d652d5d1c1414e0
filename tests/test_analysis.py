"""microlab.analysis: the pure layer under figures and labs (trace in, plain data out).

Each test builds a run small enough to work out by hand: one slow worker given three
messages at once, a crash in the middle, and checks the numbers the figures and the
scrubber would draw.
"""

import math

import numpy as np
import pytest

from microlab import Service, System, analysis
from microlab.orchestration import Orchestrator


class Slow(Service):
    """One worker, one second per message: three messages at once queue up."""

    work_time = 1.0

    def on_Job(self, msg):
        pass


def slow_run(crash_at=None, duration=None):
    system = System(seed=1, latency=0.0, warn_on_failure=False)
    system.add(Slow("slow"))
    for i in range(3):
        system.inject("slow", "Job", i, at=0.0, correlation=f"job-{i}")
    if crash_at is not None:
        system.crash("slow", at=crash_at, duration=duration)
    system.run()
    return system


def test_deliveries_match_each_copy_with_its_handling_first_in_first_out():
    got = analysis.deliveries(slow_run().trace)
    assert [d.service for d in got] == ["slow"] * 3
    assert [(d.delivered, d.started, d.ended, d.outcome) for d in got] == [
        (0.0, 0.0, 1.0, "handled"), (0.0, 1.0, 2.0, "handled"), (0.0, 2.0, 3.0, "handled")]
    only = analysis.deliveries(slow_run().trace, correlation="job-1")
    assert [d.message.correlation for d in only] == ["job-1"]


def test_queue_series_is_the_mailbox_and_the_busy_worker_as_steps():
    series = analysis.queue_series(slow_run())["slow"]
    # After t=0: one started, two waiting; then one fewer waiting each second.
    assert list(series.times) == [0.0, 1.0, 2.0, 3.0]
    assert list(series.queue) == [2, 1, 0, 0]
    assert list(series.busy) == [1, 1, 1, 0]
    # Over [0, 3) the mailbox held 2, 1, 0 for a second each: one message on average.
    assert analysis.time_average(series.times, series.queue, np.array([0.0, 3.0]))[0] == pytest.approx(1.0)


def test_a_copy_still_waiting_when_the_run_stops_stays_in_the_mailbox():
    system = System(seed=1, latency=0.0, warn_on_failure=False)
    system.add(Slow("slow"))
    for i in range(3):
        system.inject("slow", "Job", i, at=0.0, correlation=f"job-{i}")
    system.run(until=1.5)   # one done, one at work, one still in the mailbox
    series = analysis.queue_series(system)["slow"]
    assert list(series.queue) == [2, 1] and list(series.busy) == [1, 1]
    assert analysis.RunStates(system).services_at(1.5)[0].mailbox == 1


def test_a_polling_workers_empty_answers_never_wait_in_its_mailbox():
    from microlab import scenarios

    run = scenarios.order_saga("orchestration", orders=30, arrival_rate=70, seed=1)
    empty = [r for r in run.trace.records if r[1] == "deliver" and r[2] == "payment" and r[3].type == "NoTask"]
    assert empty   # delivered, and read by the worker's client library: no start, no end
    assert analysis.queue_series(run)["payment"].queue.max() == 0
    states = analysis.RunStates(run.system)
    assert all(states.services_at(r[0] + 1e-9)[[s.name for s in states.services_at(0)].index("payment")].mailbox == 0
               for r in empty)


def test_queue_series_names_the_services_that_did_handle_something():
    with pytest.raises(ValueError, match="'nobody' handled no message.*slow"):
        analysis.queue_series(slow_run(), services=["nobody"])


def test_a_crash_loses_the_work_in_hand_and_the_mailbox_and_is_a_down_span():
    system = slow_run(crash_at=0.5, duration=2.0)
    assert analysis.down_spans(system) == [("slow", 0.5, 2.5, None)]
    outcomes = [d.outcome for d in analysis.deliveries(system.trace)]
    assert outcomes == ["lost", "lost", "lost"]   # one in hand, two in the mailbox


def test_a_service_still_down_at_the_end_is_down_until_the_given_time():
    system = slow_run(crash_at=0.5)
    assert analysis.down_spans(system, until=math.inf) == [("slow", 0.5, math.inf, None)]


def test_run_states_answer_what_each_service_was_doing_at_an_instant():
    states = analysis.RunStates(slow_run(crash_at=1.5, duration=1.0))
    (at_1,) = states.services_at(1.2)
    assert (at_1.up, at_1.busy, at_1.workers, at_1.mailbox) == (True, 1, 1, 1)
    (at_2,) = states.services_at(2.0)
    assert (at_2.up, at_2.busy, at_2.mailbox) == (False, 0, 0)
    assert states.peak() == 2                     # two waiting at t=0
    assert states.next_event(0.0) == 1.0 and states.previous_event(1.0) == 0.0


def test_wires_are_copies_on_the_network_and_in_flight_until_delivered():
    system = System(seed=1, latency=0.5, warn_on_failure=False)
    system.add(Slow("slow"))
    system.inject("slow", "Job", 1, at=0.0)
    system.run()
    (wire,) = analysis.wires(system.trace)
    assert (wire.sent, wire.ended, wire.outcome) == (0.0, 0.5, "delivered")
    states = analysis.RunStates(system)
    assert states.in_flight(0.25) == [wire] and states.in_flight(0.5) == []
    assert states.busiest() == 0.0


def test_roles_come_from_what_the_engines_declare_not_from_names():
    system = System(seed=1, trace=True)
    orchestrator = Orchestrator("hub")            # no hint in the name
    system.add(orchestrator, Slow("slow"))
    system.inject("slow", "Job", 1)
    system.run()
    assert orchestrator.role == "orchestrator"
    got = analysis.roles(system)
    assert got["hub"] == "orchestrator" and got["slow"] == "service" and got["client"] == "client"
    # From a bare trace only the name is known: "hub" is then a plain service.
    assert analysis.roles(system.trace).get("hub", "service") == "service"
    assert analysis.lane_order(["slow", "hub", "client"], got) == ["client", "hub", "slow"]


def test_a_trace_that_recorded_nothing_is_refused_with_the_fix():
    system = System(seed=1, trace=False)
    with pytest.raises(ValueError, match="trace=True"):
        analysis.down_spans(system)
    with pytest.raises(TypeError, match="Trace or System"):
        analysis.as_trace(42)


def test_by_transaction_is_each_transactions_records_and_sets_the_crashes_apart():
    system = slow_run(crash_at=0.5, duration=2.0)
    loose: list = []
    groups = analysis.by_transaction(system, loose)
    assert list(groups) == ["job-0", "job-1", "job-2"]
    for corr, records in groups.items():
        assert records == analysis.transaction_records(system, corr)
    assert [r[1] for r in loose] == ["crash", "restart"]
    assert analysis.by_transaction(system.trace) == groups
