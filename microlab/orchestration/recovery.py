"""Crash, takeover and restart: how an orchestrator recovers its workflows from the log.

A mixin of :class:`~microlab.orchestration.orchestrator.Orchestrator`. A crash forgets
everything in memory (the durable log keeps it) and, if there is a standby, warns it:
the standby notices the silence after ``failover_delay`` seconds (a heartbeat timeout
without heartbeat messages) and, if the active orchestrator is still down, takes over.
Taking over, or restarting as the active orchestrator, means: replay the log into a
fresh state, then resume every running instance: arm its timers again from their due
times, and send again the command of every task in flight (workers may see it twice).
An orchestrator that restarts after the standby took over stays passive: it becomes
the standby.
"""

from __future__ import annotations

from . import model as m
from . import records as rec
from .model import IN_PROGRESS, SCHEDULED, TASK_TERMINAL
from .state import Instance, State


class Recovery:
    """Crash, takeover and restart (mixed into the Orchestrator)."""

    def on_crash(self) -> None:
        """Forget everything in memory; the durable log keeps the state. Warn the standby."""
        self.state = State()
        self._todo.clear()
        peer = self._peer
        if peer is not None and self.log.active == self.name:
            # The standby notices the silence after failover_delay (a heartbeat timeout).
            peer.after(self.settings.failover_delay, peer._peer_silent, self.incarnation)

    def _peer_silent(self, incarnation: int) -> None:
        peer = self._peer
        if (self.up and not peer.up and peer.incarnation == incarnation
                and self.log.active == peer.name):
            self._recover(previous=peer.name)

    def on_restart(self) -> None:
        """Replay the log and resume if still the active one; else stay the standby."""
        if self.log.active == self.name:
            # Through a timer at this instant, so that a failure is recorded, not raised.
            self.after(0.0, self._recover, self.name)
            return
        self._sys.trace.record(self._sys.sim.now, rec.ROLE, self.name, role="standby",
                                 active=self.log.active)
        peer = self._peer
        if peer is not None and not peer.up:
            self.after(self.settings.failover_delay, self._peer_silent, peer.incarnation)

    def _recover(self, previous: str) -> None:
        """Become active: rebuild the state from the log, then resume every running instance."""
        self.log.active = self.name
        self.state = State.replay(self.log.records)
        running = self.state.running()
        now = self._sys.sim.now
        trace = self._sys.trace
        trace.record(now, rec.TAKEOVER, self.name, previous=previous, records=len(self.log.records),
                     resumed=len(running))
        for inst in running:
            self._resume(inst)
        self._drain()

    def _resume(self, inst: Instance) -> None:
        now = self._sys.sim.now
        pending = [run for run in inst.tasks if run.status not in TASK_TERMINAL]
        trace = self._sys.trace
        trace.record(now, rec.RESUME, self.name, correlation=inst.correlation, workflow_id=inst.id,
                     resent=[r.full_ref for r in pending if r.status == IN_PROGRESS
                             and r.step.type in m.WORKER_TYPES])
        self._arm_workflow_timeout(inst)
        for run in pending:
            t = run.step.type
            if run.status == SCHEDULED:
                if run.due is not None and run.due > now:
                    run.timer = self.after(run.due - now, self._begin_due, run)
                else:
                    self._begin(run)
            elif t in m.WORKER_TYPES:
                self._dispatch(run, resent=True)
            elif t == m.WAIT and run.due is not None:
                run.timer = self.after(max(run.due - now, 0.0), self._wait_over, run)
        if inst.joins:
            self._check_joins(inst)
        if inst.at_end:
            self._maybe_complete(inst)
