"""What the decider asks the shell to do, in order.

:func:`~microlab.orchestration.decider.decide` returns a list of these records; the
orchestrator's shell carries them out one after the other. The order is the contract:
the decider always puts the :class:`Commit` of a dispatch *before* the
:class:`Dispatch` that sends its command (commit first, then send: the outbox lesson of
the choreography chapter), so a crash between the two leaves a task that the log knows
was sent, and a takeover sends it again, never a command the log does not know of.

==============  =====================================================================
action          what the shell does
==============  =====================================================================
``Commit``      append ``record`` to the durable log (the decider has already applied
                it to the state it was given: see :mod:`~microlab.orchestration.state`)
``Dispatch``    send the command of a worker task to ``service`` (push) and record it
``Enqueue``     put a worker task in its task queue, for a polling worker (poll)
``Lease``       send a polled task to the worker that leased it, and record it
``Wake``        re-decide instance ``workflow_id`` at time ``due`` (None: no deadline);
                the shell keeps one timer, for the earliest of these
``Send``        send a message (``WorkflowEnded`` to a starter)
``Reply``       answer ``msg`` (``WorkflowStarted``)
``Record``      append a trace record of ``kind`` with ``msg`` and ``detail``
``Publish``     publish an event of ``type`` on broker ``topic`` (an EVENT task's message)
``Ack``         acknowledge a broker delivery that the event handlers have dealt with
==============  =====================================================================
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Commit(NamedTuple):
    """Make one state-change record durable."""
    record: tuple


class Dispatch(NamedTuple):
    """Send the command of ``run`` to ``service`` (``payload``); record it IN_PROGRESS."""
    run: Any
    service: str
    payload: dict
    resent: bool = False


class Enqueue(NamedTuple):
    """Offer ``run`` (a SCHEDULED worker task) to the workers that poll ``queue``."""
    run: Any
    queue: tuple


class Lease(NamedTuple):
    """Give polled task ``run`` to ``worker`` in answer to ``poll`` (payload as for a pushed command)."""
    run: Any
    worker: str
    payload: dict
    poll: Any = None


class Wake(NamedTuple):
    """Decide instance ``workflow_id`` again at ``due`` (None: it has no deadline)."""
    workflow_id: str
    due: float | None


class Send(NamedTuple):
    """Send a message of ``type`` to ``to``."""
    to: str
    type: str
    payload: Any
    kind: str
    correlation: Any


class Reply(NamedTuple):
    """Answer ``msg`` with a reply of ``type``."""
    msg: Any
    type: str
    payload: Any


class Record(NamedTuple):
    """A trace record (written only when the trace is on, except effects)."""
    kind: str
    msg: Any
    detail: dict


class Publish(NamedTuple):
    """Publish ``payload`` as an event of ``type`` on ``topic`` of ``broker`` (queue ``sink``) for ``run``."""
    run: Any
    sink: str
    topic: str
    type: str
    payload: dict
    broker: str = "broker"


class Ack(NamedTuple):
    """Acknowledge the broker delivery ``msg`` (after the decision it caused is committed)."""
    msg: Any
