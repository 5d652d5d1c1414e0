"""Timeouts, in simulated time: response, task, HTTP read and workflow timeouts.

A mixin of :class:`~microlab.orchestration.orchestrator.Orchestrator`. When a command
goes out, one timer is armed for the earliest of the task definition's
``responseTimeoutSeconds`` (from this sending), ``timeoutSeconds`` (from the attempt's
first start; it wins a tie, as in Conductor) and, for HTTP, ``readTimeOut``. When it
fires: a response timeout makes the attempt TIMED_OUT (and retried); a task timeout
does what its ``timeoutPolicy`` says (RETRY, TIME_OUT_WF: the workflow times out,
ALERT_ONLY: only a record); an HTTP read timeout fails the attempt. A workflow's own
``timeoutSeconds`` runs from its start; TIME_OUT_WF times it out (its failure workflow
then starts), ALERT_ONLY records it. Every timeout is a ``timeout`` trace record.

A timer that never fires still waits in the simulation's heap, so a run without
``until`` ends at the last such deadline (a response timeout of one hour by default).
"""

from __future__ import annotations

from . import model as m
from . import records as rec
from .model import FAILED, IN_PROGRESS, RUNNING, TIMED_OUT
from .state import Instance, Run


class Timeouts:
    """Deadlines of attempts and instances (mixed into the Orchestrator)."""

    def _arm_deadline(self, run: Run, read_timeout: float | None, alerted: bool = False) -> None:
        """One timer for the earliest of: response timeout, task timeout, HTTP read timeout."""
        now = self._sys.sim.now
        td = run.step.task_def
        best = None
        kind = None
        if td is not None:
            if td.response_timeout_seconds > 0:
                best = run.sent + td.response_timeout_seconds - now
                kind = "response"
            if td.timeout_seconds > 0 and not alerted:
                left = run.start + td.timeout_seconds - now
                if best is None or left <= best:  # on a tie the task timeout wins, as in Conductor
                    best, kind = left, "task"
        if read_timeout is not None:
            left = run.sent + read_timeout - now
            if best is None or left < best:
                best, kind = left, "http"
        if best is None:
            return
        run.deadline_kind = kind
        run.timer = self.after(max(best, 0.0), self._deadline, run, run.dispatches, read_timeout)

    def _deadline(self, run: Run, dispatches: int, read_timeout) -> None:
        if run.status != IN_PROGRESS or run.dispatches != dispatches or run.inst.status != RUNNING:
            return
        run.timer = None
        td = run.step.task_def
        kind = run.deadline_kind
        if kind == "response":
            self._record_timeout(run, "response", td.response_timeout_seconds, None)
            self._fail_run(run, TIMED_OUT, f"responseTimeout: {td.response_timeout_seconds:g}s exceeded for "
                                           f"task {run.task_id} ({run.full_ref}): "
                                           + (f"no usable answer from {run.service}; {run.bad_reply}"
                                              if run.bad_reply else f"no answer from {run.service}"))
        elif kind == "http":
            self._record_timeout(run, "http", read_timeout, None)
            self._fail_run(run, FAILED, f"Read timed out: no response from {run.service} within "
                                        f"{read_timeout * 1000:g} ms (http_request.readTimeOut)")
        else:
            policy = td.timeout_policy
            self._record_timeout(run, "task", td.timeout_seconds, policy)
            if policy == m.ALERT_ONLY:
                self._arm_deadline(run, read_timeout, alerted=True)
                return
            reason = (f"Task timed out after {self._sys.sim.now - run.start:g} seconds. Timeout configured "
                      f"as {td.timeout_seconds:g} seconds. Timeout policy configured to {policy}")
            if policy == m.RETRY:
                self._fail_run(run, TIMED_OUT, reason)
            else:  # TIME_OUT_WF: the workflow times out, no retry
                self._finish(run, TIMED_OUT, None, reason)
                self._end(run.inst, TIMED_OUT, reason, failed_run=run)
        self._drain()

    def _arm_workflow_timeout(self, inst: Instance) -> None:
        seconds = inst.plan.timeout_seconds
        if seconds and seconds > 0:
            left = inst.created + seconds - self._sys.sim.now
            inst.timer = self.after(max(left, 0.0), self._workflow_timeout, inst)

    def _workflow_timeout(self, inst: Instance) -> None:
        inst.timer = None
        if inst.status != RUNNING:
            return
        plan = inst.plan
        trace = self._sys.trace
        if trace.enabled:
            trace.records.append((self._sys.sim.now, rec.TIMEOUT, self.name, None, {
                "correlation": inst.correlation, "workflow_id": inst.id, "which": "workflow",
                "seconds": plan.timeout_seconds, "policy": plan.timeout_policy}))
        if plan.timeout_policy == m.TIME_OUT_WF:
            self._end(inst, TIMED_OUT, f"Workflow timed out after {plan.timeout_seconds:g} seconds. Timeout "
                                       f"configured as {plan.timeout_seconds:g} seconds. Timeout policy "
                                       f"configured to {plan.timeout_policy}")
            self._drain()
