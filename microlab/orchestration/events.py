"""What the decider reacts to: one event in, a list of actions out.

The orchestrator's shell (:mod:`~microlab.orchestration.orchestrator`) turns each
message it handles, each timer that fires and each lease of a polled task into one of
these small immutable records, and hands it to
:func:`~microlab.orchestration.decider.decide`. ``msg`` is the message that carried the
event (None for a timer); the decider never reads it beyond passing it on to the
records and replies it asks for.

=================  =================================================================
event              fields
=================  =================================================================
``Start``          ``payload`` of StartWorkflow ``{"name", "input", "version"?,
                   "idempotencyKey"?}``, ``source`` (who asked), ``msg``
``TaskResult``     ``payload`` of a worker's update ``{"taskId", "output", ...}``,
                   ``ok`` (TaskCompleted or TaskFailed), ``msg``
``CompleteTask``   ``payload`` ``{"taskId"}`` or ``{"workflowId"?, "ref"}`` (a WAIT), ``msg``
``Terminate``      ``payload`` ``{"workflowId"?, "reason"?}``, ``msg``
``TimerFired``     ``workflow_id``: a deadline of that instance may have passed; the
                   decider re-checks every deadline against ``now`` (as Conductor's
                   decider does), so a stale wake-up simply finds nothing to do
``Polled``         ``task_id``, ``worker``: a polling worker leased the task
``Resume``         ``workflow_id``: an orchestrator took over (or restarted) and
                   resumes the instance it replayed from the log
``EventReceived``  ``topic``, ``payload``, ``message_id`` of a broker delivery to the
                   orchestrator's event handlers (:mod:`.handlers`), ``msg``
=================  =================================================================
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Start(NamedTuple):
    """A request to start a workflow instance."""
    payload: Any
    source: str | None
    msg: Any = None


class TaskResult(NamedTuple):
    """A worker's update: the task completed (``ok``) or failed."""
    payload: Any
    ok: bool
    msg: Any = None


class CompleteTask(NamedTuple):
    """Complete (or fail) a task from outside, such as a WAIT without a duration."""
    payload: Any
    msg: Any = None


class Terminate(NamedTuple):
    """Terminate a running instance."""
    payload: Any
    msg: Any = None


class TimerFired(NamedTuple):
    """A deadline of instance ``workflow_id`` may be due."""
    workflow_id: str


class Polled(NamedTuple):
    """Worker ``worker`` took task ``task_id`` from its queue (Conductor's poll)."""
    task_id: str
    worker: str
    msg: Any = None


class Resume(NamedTuple):
    """Resume an instance after a takeover or a restart."""
    workflow_id: str


class EventReceived(NamedTuple):
    """The broker delivered an event on ``topic`` that event handlers listen to."""
    topic: str
    payload: Any
    message_id: Any
    msg: Any = None
