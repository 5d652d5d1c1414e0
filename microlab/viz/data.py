"""What the figures compute from a trace before they draw anything (no plotly here).

The trace analysis that figures and labs share (who is who, deliveries matched with
their handlings, down time, queue lengths and busy workers) lives in
:mod:`microlab.analysis`, pure, trace in and plain data out; it is imported here too,
so that figures keep one place to import from. What is left here is what only
figures need: every copy of every message on the wire (:func:`flights`), handling and
workflow spans for timelines, and who talked to whom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Re-exported for the figures (and the course's older imports): the analysis layer is the source.
from ..analysis.downtime import down_spans  # noqa: F401
from ..analysis.handlings import Delivery, deliveries  # noqa: F401
from ..analysis.queues import QueueSeries, queue_series, time_average  # noqa: F401
from ..analysis.lanes import ROLE_HINTS, lane_order, roles, services_in  # noqa: F401
from ..analysis.source import as_trace, check_correlation, live_services  # noqa: F401
from ..gcpause import gc_paused
from ..trace import DELIVER, DROP, DUPLICATE, SEND, Trace

#: A trace record kind that engines write when they send a compensating message; the
#: message of such a record is drawn as a compensation.
COMPENSATE = "compensate"


# -- flights: every copy of every message on the wire ------------------------------------------


@dataclass
class Flights:
    """Every copy of every message on the wire, one row per copy, as parallel lists.

    Row ``i`` is copy ``messages[i]`` sent by ``messages[i].source`` at ``sent[i]`` that
    ended at ``ended[i]`` at service ``target[i]``: ``outcome[i]`` is ``"delivered"`` or
    ``"dropped"``. ``category[i]`` is the colour category of the figures (see
    :data:`microlab.viz.style.CATEGORY_COLOURS`); ``note[i]`` says why a copy was
    dropped or failed. ``at_send[i]`` is True for a copy the network dropped when it was
    sent (it never got near its destination).
    """

    messages: list = field(default_factory=list)
    sent: list = field(default_factory=list)
    ended: list = field(default_factory=list)
    target: list = field(default_factory=list)
    outcome: list = field(default_factory=list)
    handling: list = field(default_factory=list)
    category: list = field(default_factory=list)
    note: list = field(default_factory=list)
    at_send: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages)

    def count(self, category: str) -> int:
        """How many copies fall in ``category``."""
        return self.category.count(category)


def compensation_ids(trace: Trace) -> set:
    """Ids of the messages that the trace flags as compensations.

    A message is flagged by a ``"compensate"`` record that carries it, or by any record
    whose detail says ``compensation=True``.
    """
    ids = set()
    for _, kind, _, msg, detail in trace.records:
        if msg is not None and (kind == COMPENSATE or (detail and detail.get("compensation") is True)):
            ids.add(msg.id)
    return ids


#: Endings of a message type that say the message reports a failure.
FAILURE_SUFFIXES = ("Failed", "Declined", "Rejected")
#: Payload statuses that say a reply reports a failure (Conductor's task statuses).
FAILURE_STATUSES = frozenset({"FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT"})


def reports_failure(msg, by_type: dict | None = None) -> bool:
    """Does this reply or event report a failure?

    The rule: its type ends in "Failed", "Declined" or "Rejected" (``TaskFailed``,
    ``PaymentFailed``, ``ChargeDeclined``), or its payload is a dict whose ``"status"`` is
    a failed Conductor status (``FAILED``, ``FAILED_WITH_TERMINAL_ERROR``, ``TIMED_OUT``).
    It is the message that *says* something failed; the handling that failed is the
    ``failed`` category. ``by_type`` caches the answer for each type name.
    """
    by_name = None if by_type is None else by_type.get(msg.type)
    if by_name is None:
        by_name = str(msg.type).endswith(FAILURE_SUFFIXES)
        if by_type is not None:
            by_type[msg.type] = by_name
    if by_name:
        return True
    payload = msg.payload
    return isinstance(payload, dict) and payload.get("status") in FAILURE_STATUSES


@gc_paused
def flights(source, correlation=None, compensation_types=()) -> Flights:
    """Every copy of every message (of one transaction if ``correlation`` is given).

    Categories, first match wins: ``dropped``; ``failed`` (its handling raised or a crash
    lost it); ``duplicate`` (the second and later deliveries of a message the network
    duplicated); ``compensation`` (its type is in ``compensation_types``, or the trace
    flags it, see :func:`compensation_ids`); ``failure_report`` (a reply or event that
    reports a failure, see :func:`reports_failure`: the orchestration worker's
    ``TaskFailed``, a choreography's ``PaymentFailed``); otherwise its kind (``command``,
    ``reply``, ``event``; ``other`` for a kind that is none of these).
    """
    trace = as_trace(source)
    check_correlation(trace, correlation)
    if isinstance(compensation_types, str):
        compensation_types = (compensation_types,)
    comp_types = frozenset(compensation_types)
    comp_ids = compensation_ids(trace)
    handlings = iter(deliveries(trace, correlation))  # same order as the deliver records
    out = Flights()
    messages, sent, ended, target = out.messages, out.sent, out.ended, out.target
    outcomes, handling, notes, at_send, category = (out.outcome, out.handling, out.note, out.at_send,
                                                    out.category)
    copies_seen: dict = {}
    duplicated = set()
    reports: dict = {}   # message type -> does its name report a failure (asked once per type)
    for time, kind, service, msg, detail in trace.records:
        if msg is None or kind not in (DELIVER, DROP, DUPLICATE):
            continue
        if correlation is not None and msg.correlation != correlation:
            continue
        if kind == DUPLICATE:
            duplicated.add(msg.id)
            continue
        n = copies_seen.get(msg.id, 0) + 1
        copies_seen[msg.id] = n
        messages.append(msg)
        sent.append(msg.sent_at)
        ended.append(time)
        target.append(msg.destination)
        if kind == DELIVER:
            d = next(handlings)
            outcomes.append("delivered")
            handling.append(d.outcome)
            notes.append(d.note)
            at_send.append(False)
            if d.outcome in ("failed", "lost"):
                category.append("failed")
                continue
        else:
            outcomes.append("dropped")
            handling.append(None)
            notes.append((detail or {}).get("reason", "no reason given"))
            # The network decides a drop when the message is sent (source records it);
            # a drop recorded at the destination happened on arrival (it was down).
            at_send.append(service == msg.source and time == msg.sent_at
                           and service != msg.destination)
            category.append("dropped")
            continue
        mkind = msg.kind
        if n > 1 and msg.id in duplicated:
            cat = "duplicate"
        elif msg.type in comp_types or msg.id in comp_ids:
            cat = "compensation"
        elif mkind != "command" and reports_failure(msg, reports):
            cat = "failure_report"
        elif mkind in ("command", "reply", "event"):
            cat = mkind
        else:
            cat = "other"
        category.append(cat)
    return out


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
    ``scheduled`` for a first attempt and ``retry_wait`` for a retry (the back-off).
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
