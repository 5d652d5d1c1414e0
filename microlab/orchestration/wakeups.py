"""One timer for every instance's earliest deadline, as Conductor's decider re-checks them.

The decider asks for one wake-up per instance (:class:`~microlab.orchestration.actions.Wake`:
its earliest deadline, or None). A node keeps those wake-ups in a
:class:`~microlab.orchestration.sweeper.DeciderQueue` (the same structure the cluster's
store keeps for the sweeper) and one simulator timer for the earliest of them. When it
fires, every wake-up due by then is handed back, one at a time, so that a decision that
moves or clears another instance's deadline is seen by the next pop. There are no
per-task timers and so no stale-timer guards: the decider re-checks every deadline
against the clock, and an early or superseded wake-up does nothing.

The timer itself is an :class:`Alarm`, which the cluster's store uses for its sweeper too.
"""

from __future__ import annotations

from .sweeper import DeciderQueue


class Alarm:
    """One timer of ``service``'s, set for one time at most, that calls ``ring()`` when it goes off.

    What both "one timer for the earliest deadline" keep: a node's :class:`WakeTimer`
    and the cluster store's sweeper (:class:`~microlab.orchestration.store.Store`).
    Each decides for itself when to set it again; this holds the simulator timer and
    when it goes off, so that the cancelling and re-setting is written once.
    """

    def __init__(self, service, ring):
        self.service = service
        self.ring = ring
        #: When the timer goes off (None: it is not set).
        self.at: float | None = None
        self._timer = None

    def set(self, due: float) -> None:
        """Go off at simulated time ``due`` (now, if it is past), instead of any earlier setting."""
        self.cancel()
        self.at = due
        self._timer = self.service.after(max(due - self.service.system.sim.now, 0.0), self._went_off)

    def cancel(self) -> None:
        """Stop the timer, if it is set."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self.at = None

    def forget(self) -> None:
        """Drop the setting without cancelling: the service crashed, which made its timers stale."""
        self._timer = None
        self.at = None

    def _went_off(self) -> None:
        self._timer = None
        self.at = None
        self.ring()


class WakeTimer:
    """A node's wake-ups and its one timer (see the module docstring).

    ``service`` owns the timer (its ``after``; a crash cancels nothing by itself, so the
    node calls :meth:`clear`); ``on_due(workflow_id, cause)`` is called for each wake-up
    that falls due, with the message that set it.
    """

    def __init__(self, service, on_due):
        self.service = service
        self.on_due = on_due
        #: The wake-ups, by workflow id, with the message that asked for each.
        self.queue = DeciderQueue()
        self.alarm = Alarm(service, self._fired)

    @property
    def at(self) -> float | None:
        """When the timer goes off (None: it is not set)."""
        return self.alarm.at

    def set(self, workflow_id: str, due, cause=None) -> None:
        """Wake ``workflow_id`` at ``due`` (None: never), re-setting the timer if the earliest changed."""
        queue = self.queue
        old = queue.due_of(workflow_id)
        at = self.alarm.at
        if due is None:
            if old is not None:
                queue.remove(workflow_id)
                if old == at:
                    self.arm()  # the earliest deadline is gone: a run may end sooner
            return
        queue.push(workflow_id, due, cause)
        if old == due:
            return
        if at is None or due < at or old == at:
            self.arm()

    def arm(self) -> None:
        """Set the timer for the earliest wake-up (or none, if there is none)."""
        due = self.queue.next_due()
        if due is None:
            self.alarm.cancel()
        elif due != self.alarm.at:
            self.alarm.set(due)  # an unchanged earliest keeps its timer (and its place among equal times)

    def _fired(self) -> None:
        queue = self.queue
        now = self.service.system.sim.now
        # One at a time: a decision may set, move or clear other instances' wake-ups.
        entry = queue.pop_next(now)
        while entry is not None:
            self.on_due(*entry)
            entry = queue.pop_next(now)
        self.arm()

    def clear(self) -> None:
        """Forget every wake-up and stop the timer (a crash, or a replay that starts afresh)."""
        self.alarm.cancel()
        self.queue.clear()
