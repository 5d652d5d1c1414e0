"""Deadlines, re-checked against the clock: retries falling due, WAITs ending, and timeouts.

Part of the :class:`~microlab.orchestration.decider.Decider`. There is no timer per
task: :meth:`Deadlines.next_due` gives the earliest deadline of an instance, the shell
keeps one timer for the earliest over all instances, and when it fires
:meth:`Deadlines._on_timer` checks every deadline of the instance against ``now``.
Conductor's ``DeciderService`` works the same way, checking each pending task's
``checkTaskTimeout``, ``checkTaskPollTimeout`` and ``isResponseTimedOut`` whenever it
decides a workflow (https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/core/execution/DeciderService.java).

The deadlines, with Conductor's reference times:

- a SCHEDULED task with a start or retry delay begins at its ``due`` time;
- ``pollTimeoutSeconds``: a queued task that no worker polled within that time of being
  scheduled (plus its delay) times out, with the task's ``timeoutPolicy``;
- ``responseTimeoutSeconds``: an IN_PROGRESS task without an update for that long since
  it was polled (or pushed) is TIMED_OUT, and retried;
- ``timeoutSeconds``: from the attempt's start (its first poll); it wins a tie with the
  response timeout; ``timeoutPolicy`` RETRY (TIMED_OUT, retried), TIME_OUT_WF (the
  workflow times out) or ALERT_ONLY (only a record);
- an HTTP task's ``readTimeOut`` fails the attempt;
- a WAIT with a duration completes at its ``due`` time;
- a workflow's own ``timeoutSeconds`` runs from its start: TIME_OUT_WF times it out
  (its failure workflow then starts), ALERT_ONLY records it once.

Every timeout is a ``timeout`` trace record.
"""

from __future__ import annotations

from . import model as m
from . import records as rec
from .model import FAILED, IN_PROGRESS, RUNNING, SCHEDULED, TIMED_OUT
from .state import Instance, Run


def run_deadline(run: Run):
    """``(time, kind)`` of the earliest deadline of one open attempt, or None."""
    status = run.status
    step = run.step
    if status == SCHEDULED:
        if run.queued:
            td = step.task_def
            if td is not None and td.poll_timeout_seconds > 0 and not run.alerted:
                return (run.due if run.due is not None else run.scheduled) + td.poll_timeout_seconds, "poll"
            return None
        if run.due is not None:
            return run.due, "due"
        return None
    if status != IN_PROGRESS:
        return None
    t = step.type
    if t in m.WORKER_TYPES:
        td = step.task_def
        best = None
        kind = None
        if td is not None:
            if td.response_timeout_seconds > 0:
                best, kind = run.sent + td.response_timeout_seconds, "response"
            if td.timeout_seconds > 0 and not run.alerted:
                at = run.start + td.timeout_seconds
                if best is None or at <= best:  # on a tie the task timeout wins, as in Conductor
                    best, kind = at, "task"
        read = run.read_timeout
        if read is not None:
            at = run.sent + read
            if best is None or at < best:
                best, kind = at, "http"
        return None if best is None else (best, kind)
    if t == m.WAIT and run.due is not None:
        return run.due, "wait"
    return None


class Deadlines:
    """The deadline part of the Decider (it uses the Decider's working set)."""

    def next_due(self, inst: Instance) -> float | None:
        """The earliest time at which something of ``inst`` falls due, or None."""
        if inst.status != RUNNING:
            return None
        best = None
        seconds = inst.plan.timeout_seconds
        if seconds and seconds > 0 and not inst.alerted:
            best = inst.created + seconds
        for run in inst.open.values():
            found = run_deadline(run)
            if found is not None and (best is None or found[0] < best):
                best = found[0]
        return best

    def _on_timer(self, event) -> None:
        inst = self.state.instances.get(event.workflow_id)
        if inst is None or inst.status != RUNNING:
            return
        now = self.now
        self.touched[inst] = None
        seconds = inst.plan.timeout_seconds
        if seconds and seconds > 0 and not inst.alerted and inst.created + seconds <= now:
            self._workflow_timeout(inst)
        for run in list(inst.open.values()):
            if inst.status != RUNNING:
                return
            found = run_deadline(run)
            if found is None or found[0] > now:
                continue
            kind = found[1]
            if kind == "due":
                self._begin(run)
            elif kind == "wait":
                self._finish(run, m.COMPLETED, {}, None)
                self._advance(run)
            else:
                self._timed_out(run, kind)
            self._drain()

    def _timed_out(self, run: Run, kind: str) -> None:
        td = run.step.task_def
        if kind == "response":
            self._record_timeout(run, "response", td.response_timeout_seconds, None)
            self._fail_run(run, TIMED_OUT, f"responseTimeout: {td.response_timeout_seconds:g}s exceeded for "
                                           f"task {run.task_id} ({run.full_ref}): "
                                           + (f"no usable answer from {run.service}; {run.bad_reply}"
                                              if run.bad_reply else f"no answer from {run.service}"))
            return
        if kind == "http":
            self._record_timeout(run, "http", run.read_timeout, None)
            self._fail_run(run, FAILED, f"Read timed out: no response from {run.service} within "
                                        f"{run.read_timeout * 1000:g} ms (http_request.readTimeOut)")
            return
        policy = td.timeout_policy
        if kind == "poll":
            seconds = td.poll_timeout_seconds
            self._record_timeout(run, "poll", seconds, policy)
            reason = (f"Task poll timed out after {self.now - (run.due or run.scheduled):g} seconds. Poll timeout "
                      f"configured as {seconds:g} seconds. Timeout policy configured to {policy}")
        else:
            self._record_timeout(run, "task", td.timeout_seconds, policy)
            reason = (f"Task timed out after {self.now - run.start:g} seconds. Timeout configured "
                      f"as {td.timeout_seconds:g} seconds. Timeout policy configured to {policy}")
        if policy == m.ALERT_ONLY:
            run.alerted = True  # alert once; the other deadlines still hold
            return
        if policy == m.RETRY:
            self._fail_run(run, TIMED_OUT, reason)
        else:  # TIME_OUT_WF: the workflow times out, no retry
            self._finish(run, TIMED_OUT, None, reason)
            self._end(run.inst, TIMED_OUT, reason, failed_run=run)

    def _workflow_timeout(self, inst: Instance) -> None:
        plan = inst.plan
        self._record(rec.TIMEOUT, None, {"correlation": inst.correlation, "workflow_id": inst.id,
                                         "which": "workflow", "seconds": plan.timeout_seconds,
                                         "policy": plan.timeout_policy})
        if plan.timeout_policy == m.TIME_OUT_WF:
            self._end(inst, TIMED_OUT, f"Workflow timed out after {plan.timeout_seconds:g} seconds. Timeout "
                                       f"configured as {plan.timeout_seconds:g} seconds. Timeout policy "
                                       f"configured to {plan.timeout_policy}")
        else:
            inst.alerted = True

    def _record_timeout(self, run: Run, which: str, seconds, policy) -> None:
        self._record(rec.TIMEOUT, None, {"correlation": run.inst.correlation, "workflow_id": run.inst.id,
                                         "which": which, "task_id": run.task_id, "ref": run.full_ref,
                                         "seconds": seconds, "policy": policy})
