"""The one timer a node (WakeTimer) and the cluster's store (Alarm) keep for their earliest deadline."""

from microlab import Service, System
from microlab.orchestration.wakeups import Alarm, WakeTimer


def ringing(system):
    service = system.add(Service("node"))
    rings = []
    alarm = Alarm(service, lambda: rings.append(system.sim.now))
    return service, alarm, rings


def test_an_alarm_goes_off_once_at_its_latest_setting():
    system = System(latency=0)
    _, alarm, rings = ringing(system)
    alarm.set(5.0)
    alarm.set(3.0)
    assert alarm.at == 3.0
    system.run()
    assert rings == [3.0] and alarm.at is None


def test_a_cancelled_alarm_stays_silent_and_a_past_time_rings_now():
    system = System(latency=0)
    _, alarm, rings = ringing(system)
    alarm.set(2.0)
    alarm.cancel()
    system.run(until=10.0)
    assert rings == [] and alarm.at is None
    alarm.set(4.0)  # already past: goes off at once
    system.run()
    assert rings == [10.0]


def test_a_crash_makes_the_alarm_stale_and_forget_drops_it_without_cancelling():
    system = System(latency=0)
    service, alarm, rings = ringing(system)
    alarm.set(2.0)
    service.crash()
    alarm.forget()
    assert alarm.at is None
    service.restart()
    system.run()
    assert rings == []


def test_a_wake_timer_follows_the_earliest_wake_up_and_keeps_its_timer_when_it_is_unchanged():
    system = System(latency=0)
    service = system.add(Service("node"))
    due = []
    wakes = WakeTimer(service, lambda wf, cause: due.append((system.sim.now, wf)))
    wakes.set("a", 5.0)
    timer = wakes.alarm._timer
    wakes.set("b", 7.0)  # later than the earliest: the timer stays
    assert wakes.at == 5.0 and wakes.alarm._timer is timer
    wakes.set("c", 1.0)
    assert wakes.at == 1.0
    wakes.set("c", None)  # the earliest is gone: back to a's
    assert wakes.at == 5.0
    system.run()
    assert due == [(5.0, "a"), (7.0, "b")] and wakes.at is None
