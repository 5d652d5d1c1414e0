"""What the figures compute from a trace before they draw anything (no plotly here).

The trace analysis that figures and labs share (who is who, deliveries matched with
their handlings, down time, queue lengths and busy workers) lives in
:mod:`microlab.analysis`, pure, trace in and plain data out; it is imported here too,
so that figures keep one place to import from; so is every copy of every message on
the wire (:func:`flights`, from :mod:`microlab.analysis.copies`). What is left here is
what only figures need: handling and workflow spans for timelines, and who talked to
whom.
"""

from __future__ import annotations

# Re-exported for the figures (and the course's older imports): the analysis layer is the source.
from ..analysis.downtime import down_spans  # noqa: F401
from ..analysis.handlings import Delivery, deliveries  # noqa: F401
from ..analysis.queues import QueueSeries, queue_series, time_average  # noqa: F401
from ..analysis.lanes import ROLE_HINTS, lane_order, roles, services_in  # noqa: F401
from ..analysis.source import as_trace, check_correlation, live_services  # noqa: F401
from ..analysis.copies import (COMPENSATE, FAILURE_STATUSES, FAILURE_SUFFIXES, Flights,  # noqa: F401
                               compensation_ids, flights, reports_failure)
from ..trace import SEND


# -- handling spans (the timeline of a transaction) --------------------------------------------

def handling_spans(source, correlation=None) -> list[dict]:
    """The time each delivered copy spent waiting in a mailbox and being handled, as spans.

    Returns a list of dicts with keys ``lane`` (the service), ``start``, ``end``
    (seconds), ``status`` (``waiting``, ``handled``, ``failed``, ``lost``,
    ``in_progress``), ``label`` (the message type) and ``hover`` (a sentence). This is
    the input format of :func:`microlab.viz.timeline.timeline`.
    """
    trace = as_trace(source)
    check_correlation(trace, correlation)
    last = trace.records[-1][0] if trace.records else 0.0
    spans = []
    for d in deliveries(trace, correlation):
        msg = d.message
        who = f"#{msg.id} {msg.type} ({msg.kind}) from {msg.source}, transaction {msg.correlation}"
        if d.started is None:
            end = d.ended if d.ended is not None else last
            status = "lost" if d.outcome == "lost" else "waiting"
            why = "lost in the mailbox at the crash" if status == "lost" else "still waiting at the end"
            spans.append({"lane": d.service, "start": d.delivered, "end": end, "status": status,
                          "label": msg.type, "hover": f"{who}: {why}"})
            continue
        if d.started > d.delivered:
            spans.append({"lane": d.service, "start": d.delivered, "end": d.started,
                          "status": "waiting", "label": msg.type,
                          "hover": f"{who}: waited in the mailbox for a free worker"})
        status = d.outcome or "in_progress"
        end = d.ended if d.ended is not None else last
        what = {"handled": "handled", "failed": f"handler failed: {d.note}",
                "lost": "lost in progress at the crash", "in_progress": "still in progress at the end"}[status]
        spans.append({"lane": d.service, "start": d.started, "end": end, "status": status,
                      "label": msg.type, "hover": f"{who}: {what}"})
    return spans


# -- workflow task attempts (the timeline of an orchestrated transaction) ---------------------

#: Workflow task types that take no time and do no work of their own (decisions, data
#: shaping, bookkeeping); a workflow timeline leaves them out unless asked.
CONTROL_TASKS = frozenset({"SWITCH", "DECISION", "JSON_JQ_TRANSFORM", "SET_VARIABLE", "INLINE",
                           "FORK", "FORK_JOIN", "JOIN", "DO_WHILE", "TERMINATE", "LAMBDA"})


def workflow_spans(source, correlation, *, control_tasks: bool = False) -> list[dict]:
    """The task attempts of the workflow(s) of one transaction, as timeline spans.

    Read from the orchestration engine's records (:func:`microlab.orchestration.execution`),
    failure workflow and sub-workflows included. Each attempt gives a span from its
    start to its end, with its Conductor status (a completed task of a failure workflow
    becomes ``compensation``); the time between an attempt's scheduling and its start is
    ``scheduled`` for a first attempt and ``retry_wait`` for a retry (the back-off); an
    attempt that never started and was still waiting when the run ended waits so to the
    run's last record.
    Lanes are reference names, prefixed with the workflow's name for sub- and failure
    workflows. ``control_tasks=True`` keeps zero-time tasks such as SWITCH (see
    :data:`CONTROL_TASKS`). A transaction that ran no workflow gives no span.
    """
    from ..orchestration import execution   # imported here: only this view needs the engine

    trace = as_trace(source)
    check_correlation(trace, correlation)
    last = trace.records[-1][0] if trace.records else 0.0
    try:
        root = execution(trace, correlation)
    except KeyError:
        return []            # the transaction ran no workflow: nothing to draw
    spans = []
    for ex in root.walk():
        prefix = "" if ex is root else f"{ex.name}: "
        for t in ex.tasks:
            if t.type in CONTROL_TASKS and not control_tasks:
                continue
            lane = prefix + t.reference_task_name
            who = f"{t.name} ({t.type}), attempt {t.attempt}" + (f", at {t.service}" if t.service else "")
            if t.scheduled is not None and t.start is not None and t.start > t.scheduled:
                wait = "retry_wait" if t.attempt > 1 else "scheduled"
                spans.append({"lane": lane, "start": t.scheduled, "end": t.start, "status": wait,
                              "attempt": t.attempt,
                              "hover": f"{who}: {'back-off before the retry' if t.attempt > 1 else 'waiting to start'}"})
            if t.start is None:
                if t.scheduled is not None and t.end is None:
                    # Still in its queue when the run ended (its worker down, or none polls):
                    # drawn to the end, or the row would be empty just where the run is stuck.
                    spans.append({"lane": lane, "start": t.scheduled, "end": max(last, t.scheduled),
                                  "status": "retry_wait" if t.attempt > 1 else "scheduled", "attempt": t.attempt,
                                  "hover": f"{who}: still waiting to start when the run ended"})
                continue
            status = t.status.lower()
            if t.end is None:
                status = "in_progress"
            elif t.compensation and status == "completed":
                status = "compensation"
            why = f": {t.reason}" if t.reason else ""
            spans.append({"lane": lane, "start": t.start, "end": t.end if t.end is not None else last,
                          "status": status, "label": t.ref, "attempt": t.attempt,
                          "hover": f"{who}: {t.status}{why}"})
    return spans


# -- who talked to whom ------------------------------------------------------------------------

def talk_kinds(source, logical: bool = False, brokers=()) -> dict[tuple[str, str], dict]:
    """Messages sent from each service to each other, by kind:
    ``{(source, destination): {"command": n, "reply": n, "event": n}}`` (kinds present only).

    With ``logical=True``, traffic through a broker is redrawn as who reacts to whom: an
    event that a broker sends to a consumer while handling an event published by X
    counts as X -> consumer, and the publications it forwarded no longer count as
    X -> broker. The choreography engine's protocol messages (``Ack:...``,
    ``Confirm:...``) are left out: they say nothing about who reacts to whom. Other
    messages to and from a broker (publications nobody consumed) stay as they are.
    """
    trace = as_trace(source)
    brokers = frozenset(brokers)
    sends = [rec[3] for rec in trace.records if rec[1] == SEND]
    edges = []
    forwarded = set()
    if logical and brokers:
        # Imported here: the figures need the engine's vocabulary only for this view.
        from ..choreography.kinds import PROTOCOL_PREFIXES

        sends = [msg for msg in sends if not msg.type.startswith(PROTOCOL_PREFIXES)]
        by_id = {msg.id: msg for msg in sends}
        for msg in sends:
            cause = by_id.get(msg.causation)
            if (msg.source in brokers and msg.kind == "event" and cause is not None
                    and cause.kind == "event" and cause.destination == msg.source):
                forwarded.add(cause.id)
                edges.append((cause.source, msg.destination, msg))
            else:
                edges.append((msg.source, msg.destination, msg))
    else:
        edges = [(msg.source, msg.destination, msg) for msg in sends]
    out: dict = {}
    for src, dst, msg in edges:
        if msg.id in forwarded:
            continue
        per = out.setdefault((src, dst), {})
        per[msg.kind] = per.get(msg.kind, 0) + 1
    return out


def talk_counts(source, logical: bool = False, brokers=()) -> dict[tuple[str, str], int]:
    """Messages sent from each service to each other, ``{(source, destination): count}``
    (see :func:`talk_kinds` for ``logical``)."""
    return {pair: sum(kinds.values()) for pair, kinds in talk_kinds(source, logical, brokers).items()}
