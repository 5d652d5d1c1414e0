"""One timer for every instance's earliest deadline, as Conductor's decider re-checks them.

The decider asks for one wake-up per instance (:class:`~microlab.orchestration.actions.Wake`:
its earliest deadline, or None). A node keeps those wake-ups in a
:class:`~microlab.orchestration.sweeper.DeciderQueue` (the same structure the cluster's
store keeps for the sweeper) and one simulator timer for the earliest of them. When it
fires, every wake-up due by then is handed back, one at a time, so that a decision that
moves or clears another instance's deadline is seen by the next pop. There are no
per-task timers and so no stale-timer guards: the decider re-checks every deadline
against the clock, and an early or superseded wake-up does nothing.
"""

from __future__ import annotations

from .sweeper import DeciderQueue


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
        self._alarm = None
        #: When the timer goes off (None: it is not set).
        self.at: float | None = None

    def set(self, workflow_id: str, due, cause=None) -> None:
        """Wake ``workflow_id`` at ``due`` (None: never), re-setting the timer if the earliest changed."""
        queue = self.queue
        old = queue.due_of(workflow_id)
        if due is None:
            if old is not None:
                queue.remove(workflow_id)
                if old == self.at:
                    self.arm()  # the earliest deadline is gone: a run may end sooner
            return
        queue.push(workflow_id, due, cause)
        if old == due:
            return
        if self.at is None or due < self.at or old == self.at:
            self.arm()

    def arm(self) -> None:
        """Set the timer for the earliest wake-up (or none, if there is none)."""
        due = self.queue.next_due()
        if self._alarm is not None:
            if due is not None and due == self.at:
                return
            self._alarm.cancel()
            self._alarm = None
            self.at = None
        if due is not None:
            self.at = due
            self._alarm = self.service.after(max(due - self.service.system.sim.now, 0.0), self._fired)

    def _fired(self) -> None:
        self._alarm = None
        self.at = None
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
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm = None
        self.at = None
        self.queue.clear()
