"""The kernel: ordering, time, budgets, isolation."""

import pytest

from microlab.kernel import EventLimitExceeded, Simulation


def test_callbacks_run_in_time_then_schedule_order():
    sim = Simulation()
    seen = []
    sim.schedule(2.0, seen.append, "late")
    sim.schedule(1.0, seen.append, "first at 1")
    sim.schedule(1.0, seen.append, "second at 1")
    sim.run()
    assert seen == ["first at 1", "second at 1", "late"]
    assert sim.now == 2.0
    assert sim.events == 3


def test_run_until_stops_before_later_events_and_continues():
    sim = Simulation()
    seen = []
    for t in (1, 2, 3):
        sim.schedule(t, seen.append, t)
    sim.run(until=2.5)
    assert seen == [1, 2] and sim.now == 2.5 and sim.pending == 1
    sim.run()
    assert seen == [1, 2, 3] and sim.now == 3


def test_cannot_schedule_into_the_past():
    sim = Simulation()
    with pytest.raises(ValueError, match="past"):
        sim.schedule(-1, print)
    sim.run(until=5)
    with pytest.raises(ValueError, match="already t=5"):
        sim.schedule_at(4, print)


def test_cancelled_timer_does_not_fire():
    sim = Simulation()
    seen = []
    keep = sim.timer(1, seen.append, "kept")
    gone = sim.timer(1, seen.append, "cancelled")
    gone.cancel()
    sim.run()
    assert seen == ["kept"] and not keep.cancelled


def test_event_budget_raises_instead_of_hanging():
    sim = Simulation(max_events=100)

    def forever(_):
        sim.schedule(1, forever)

    sim.schedule(0, forever)
    with pytest.raises(EventLimitExceeded) as info:
        sim.run()
    assert info.value.events == 100
    assert sim.now == 99


def test_two_simulations_do_not_share_random_state():
    a, b = Simulation(seed=3), Simulation(seed=3)
    first = a.random.random()
    for _ in range(10):
        Simulation(seed=3).random.random()  # other simulations drawing in between
    assert b.random.random() == first
    assert Simulation(seed=4).random.random() != first


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed"):
        Simulation(seed="1")


def test_run_pauses_the_cyclic_collector_and_restores_it():
    import gc

    sim = Simulation(max_events=3)
    seen = []

    def tick(_):
        seen.append(gc.isenabled())
        sim.schedule(1, tick)

    sim.schedule(0, tick)
    with pytest.raises(EventLimitExceeded):
        sim.run()
    assert seen == [False, False, False] and gc.isenabled()


def test_cancelled_timers_do_not_keep_the_run_going():
    sim = Simulation()
    seen = []
    timeout = sim.timer(3600, seen.append, "timeout")
    sim.schedule(1, lambda _: timeout.cancel())
    sim.schedule(2, seen.append, "work")
    sim.run()
    assert seen == ["work"] and sim.now == 2 and sim.pending == 0
    timeout.cancel()  # cancelling twice changes nothing
    assert sim.pending == 0


def test_schedule_first_runs_before_everything_else_due_at_the_same_instant():
    sim = Simulation(seed=0)
    order = []
    sim.schedule(1.0, order.append, "ordinary, scheduled first")
    sim.schedule_first(1.0, order.append, "first A")
    sim.schedule_at(1.0, order.append, "ordinary, scheduled last")
    sim.schedule_first(1.0, order.append, "first B")
    sim.schedule_at(0.5, order.append, "earlier")
    sim.run()
    assert order == ["earlier", "first A", "first B", "ordinary, scheduled first", "ordinary, scheduled last"]
    with pytest.raises(ValueError, match="already"):
        sim.schedule_first(0.5, order.append)
