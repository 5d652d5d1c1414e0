"""The trace records the orchestration engine writes, in one place.

Every record is written with ``trace.record(now, KIND, orchestrator_name, message,
**detail)`` and its detail always holds ``correlation`` (the business transaction),
so ``trace.for_correlation(cid)`` finds it even when no message is attached.

===============  ==========================================================================
kind             detail (besides ``correlation``)
===============  ==========================================================================
``workflow``     ``workflow`` (name), ``version``, ``workflow_id``, ``status``; when RUNNING
                 also ``input`` and, for a sub-workflow, ``parent`` and ``parent_task``, for
                 a failure workflow ``failure_of``; when it ends, ``output`` and ``reason``.
``task``         ``workflow_id``, ``task_id``, ``ref`` (the taskReferenceName in the
                 definition), ``name``, ``type``, ``status``, ``attempt`` (1, 2, ...;
                 Conductor's retryCount is ``attempt - 1``); ``iteration`` inside a
                 DO_WHILE; ``input`` when SCHEDULED; ``service`` when a command is sent
                 (IN_PROGRESS); ``output`` and ``reason`` when it ends; ``compensation``
                 (True) for tasks of a failure workflow; ``resent`` (True) when a takeover
                 or restart sends the command again; ``polled`` (True) when a polling
                 worker leased it.
``retry``        ``workflow_id``, ``task_id`` (the failed attempt), ``ref``, ``attempt`` (the
                 next one), ``delay`` (seconds), ``logic`` (FIXED, ...), ``due`` (time).
``timeout``      ``workflow_id``, ``which`` ("response", "task", "poll", "http" or "workflow"),
                 ``seconds``, ``policy``; ``task_id`` and ``ref`` for a task timeout.
``compensate``   ``workflow_id`` (the failed instance), ``failure_workflow`` (name),
                 ``failure_workflow_id``, ``completed`` (refs of the completed tasks, most
                 recent first: the order a saga undoes them).
``stale``        ``reason``: a reply or request the orchestrator could not use (the task
                 already ended, an unknown task, or it is not the active orchestrator).
``takeover``     ``previous`` (the orchestrator that crashed: itself when it restarts
                 without a standby), ``records`` (log records replayed), ``resumed``
                 (instances still running); no correlation.
``resume``       ``workflow_id``, ``resent`` (refs whose commands go out again).
``role``         ``role`` ("active" or "standby"): what a restarted orchestrator became.
``poll``         an answered poll (correlation None): ``worker``, ``task_type``, ``count``
                 (asked for), ``leased`` (0: an empty poll), ``waited`` (seconds held
                 open), ``queue`` (tasks still waiting in that queue).
``lock``         ``workflow_id``, ``holder``, ``node``: a node found an instance locked by
                 another node and left the decision to it (or to the sweeper).
``sweep``        ``workflow_id``: the sweeper re-decided an instance nobody held.
``event_handler`` an event handler's execution (:mod:`.handlers`): ``handler``, ``event``
                 (the name it listens on), ``topic``, ``message_id``, ``action`` (None when
                 skipped), ``status`` (COMPLETED, SKIPPED, FAILED or DUPLICATE), ``reason``;
                 ``workflow_id`` (started or targeted) and ``task_id`` when known.
===============  ==========================================================================
"""

WORKFLOW = "workflow"
TASK = "task"
RETRY = "retry"
TIMEOUT = "timeout"
COMPENSATE = "compensate"
STALE = "stale"
TAKEOVER = "takeover"
RESUME = "resume"
ROLE = "role"
POLL = "poll"
LOCK = "lock"
SWEEP = "sweep"
EVENT_HANDLER = "event_handler"

#: Every kind the engine writes.
KINDS = (WORKFLOW, TASK, RETRY, TIMEOUT, COMPENSATE, STALE, TAKEOVER, RESUME, ROLE, POLL, LOCK, SWEEP, EVENT_HANDLER)
