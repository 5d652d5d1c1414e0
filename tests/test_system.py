"""Systems: determinism across processes, isolation, the event-storm guard."""

import pytest

from microlab import EventStorm, Exponential, MicrolabError, Service, System

from .conftest import Pinger, Ponger, digest_in_new_process

SETUP = """
    from microlab import Exponential, System
    from tests.conftest import Pinger, Ponger
    system = System(seed=seed, latency=Exponential(0.01))
    system.add(Pinger(rounds=50, work_time=Exponential(0.002)), Ponger(work_time=Exponential(0.003)))
    system.run()
"""


def test_same_seed_same_trace_across_processes():
    assert digest_in_new_process(SETUP, 11) == digest_in_new_process(SETUP, 11)


def test_different_seeds_give_different_traces():
    assert digest_in_new_process(SETUP, 11) != digest_in_new_process(SETUP, 12)


def test_two_systems_in_one_process_do_not_influence_each_other():
    def build(seed):
        s = System(seed=seed, latency=Exponential(0.01))
        s.add(Pinger(rounds=20), Ponger())
        return s

    alone = build(5).run().trace.digest()
    a, b = build(5), build(6)
    a.run(until=0.05)
    b.run()  # b runs in the middle of a's run
    a.run()
    assert a.trace.digest() == alone
    assert b.trace.digest() != alone


def test_event_storm_names_the_services_and_message_types():
    system = System(max_events=5_000)
    system.add(Pinger(rounds=None), Ponger())
    with pytest.raises(EventStorm) as info:
        system.run()
    text = str(info.value)
    for name in ("ping", "pong", "Ping", "Pong"):
        assert name in text
    assert "Event storm" in text and "max_events" in text
    assert len(system.trace) > 0  # nothing is lost: the trace up to the storm is there


def test_run_is_resumable_and_inject_accepts_a_time():
    system = System(latency=1.0)

    class Sink(Service):
        def on_Note(self, msg):
            pass

    system.add(Sink())
    system.inject("sink", "Note", at=3.0, correlation="late")
    system.run(until=2.0)
    assert system.now == 2.0 and len(system.trace) == 0
    system.run()
    assert system.now == 4.0 and system.trace.correlations() == ["late"]


def test_duplicate_service_names_are_rejected():
    system = System()
    system.add(Ponger())
    with pytest.raises(MicrolabError, match="already in this system"):
        system.add(Ponger())
