"""What the figures compute from a trace before they draw anything (no plotly here).

Each function reads a :class:`~microlab.trace.Trace` (or a System, for its trace) and
returns plain Python data: which copy of which message flew from where to where and
how it ended, how long messages waited and were worked on, queue lengths over time,
who talked to whom. They live apart from the plotting so that checks, metrics and
exercises can use them too (and so that they can move to a metrics module later).

Matching a handling to its delivery: the trace records ``deliver``, ``start``, ``end``
(or ``fail``, or ``lost``) for each copy of a message at a service. A duplicated
message has two copies with the same id, so copies are matched first in, first out
per ``(service, message id)``: the copy delivered first is the one started first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..trace import (CRASH, DELIVER, DROP, DUPLICATE, END, FAIL, LOST, RESTART, SEND,
                     START, Trace)

#: A trace record kind that engines write when they send a compensating message; the
#: message of such a record is drawn as a compensation.
COMPENSATE = "compensate"

#: Names that mark a service's role when nothing more explicit is known (see :func:`roles`).
ROLE_HINTS = (("orchestrator", "orchestrator"), ("conductor", "orchestrator"), ("broker", "broker"))


def as_trace(source) -> Trace:
    """The trace of ``source`` (a Trace, or anything with a ``.trace``, such as a System)."""
    trace = getattr(source, "trace", source)
    if not isinstance(trace, Trace):
        raise TypeError(f"expected a microlab Trace or System, got {type(source).__name__}: "
                        "pass system.trace, or the system itself")
    if not trace.enabled:
        raise ValueError("this trace recorded nothing (the system was built with trace=False): "
                         "build it with System(..., trace=True) to draw it")
    return trace


def live_services(source) -> dict:
    """The service objects of ``source`` by name when it is a System, else an empty dict."""
    services = getattr(source, "services", None)
    return services if isinstance(services, dict) else {}


def check_correlation(trace: Trace, correlation) -> None:
    """Raise a teaching error if no record of ``trace`` belongs to transaction ``correlation``."""
    if correlation is None:
        return
    for rec in trace.records:
        msg = rec[3]
        if (msg is not None and msg.correlation == correlation) or \
                (msg is None and rec[4] and rec[4].get("correlation") == correlation):
            return
    known = trace.correlations()
    shown = ", ".join(repr(c) for c in known[:8]) + (" ..." if len(known) > 8 else "")
    raise ValueError(f"no message belongs to transaction (correlation) {correlation!r}; "
                     f"the trace has {len(known)} transactions: {shown or 'none'}")


# -- who is who ------------------------------------------------------------------------------

def services_in(source) -> list[str]:
    """Every service named in the trace (senders, receivers, crash sites), in order of appearance."""
    trace = as_trace(source)
    seen: dict = {}
    for rec in trace.records:
        if rec[2] is not None:
            seen.setdefault(rec[2], None)
        if rec[1] == SEND:
            seen.setdefault(rec[3].destination, None)
    return list(seen)


def lane_order(names, roles: dict | None = None, entry: str | None = None) -> list[str]:
    """Services in drawing order, the same in every figure of the course.

    The client first (the outside world, where requests start); then ``entry``, the
    service the client talks to (the order service that owns the transaction), when it
    is not central; then the central services (``roles`` saying ``"orchestrator"`` or
    ``"broker"``); then the others in the order given (first appearance), which keeps the
    figure stable. Without ``roles`` and ``entry``: the client, then the order given.
    """
    names = list(dict.fromkeys(names))
    first = ["client"] if "client" in names else []
    roles = roles or {}
    central = [n for n in names if roles.get(n) in ("orchestrator", "broker")]
    if entry is not None and entry in names and entry not in first and entry not in central:
        first.append(entry)
    first += central
    taken = set(first)
    return first + [n for n in names if n not in taken]


def roles(source, overrides: dict | None = None) -> dict:
    """The role of each service: ``"client"``, ``"orchestrator"``, ``"broker"`` or ``"service"``.

    In order of precedence: ``overrides`` (a dict name -> role); when ``source`` is a
    System, a ``role`` attribute on the service object, then its class (the engines'
    ``Orchestrator`` and ``Broker``); the name (``client``; a name containing
    ``orchestrator``/``conductor`` or ``broker``); otherwise ``"service"``.
    """
    trace = as_trace(source)
    names = services_in(trace)
    live = live_services(source)
    names = list(dict.fromkeys(list(live) + names)) if live else names
    overrides = dict(overrides or {})
    valid = ("client", "orchestrator", "broker", "service")
    for name, role in overrides.items():
        if role not in valid:
            raise ValueError(f"role of {name!r} must be one of {', '.join(valid)}, got {role!r}")
    out = {}
    for name in names:
        service = live.get(name)
        role = overrides.get(name) or getattr(service, "role", None)
        if role not in valid and service is not None:
            role = _engine_role(type(service))
        if role not in valid:
            role = "client" if name == "client" else "service"
            lowered = name.lower()
            for hint, hinted in ROLE_HINTS:
                if hint in lowered:
                    role = hinted
                    break
        out[name] = role
    return out


def _engine_role(cls) -> str | None:
    """"orchestrator" or "broker" for (subclasses of) the engines' own classes.

    Read off the class hierarchy by module name, so that figures need not import the
    engines (nor fail when a learner names an orchestrator "saga").
    """
    for klass in cls.__mro__:
        module = klass.__module__ or ""
        if klass.__name__ == "Orchestrator" and module.startswith("microlab.orchestration"):
            return "orchestrator"
        if klass.__name__ == "Broker" and module.startswith("microlab.choreography"):
            return "broker"
    return None


# -- flights: every copy of every message on the wire ------------------------------------------

@dataclass(slots=True)
class Delivery:
    """One delivered copy of a message at a service, and what became of it there.

    ``outcome`` is ``"handled"`` (the handler returned), ``"failed"`` (it raised),
    ``"lost"`` (a crash destroyed it; ``started`` tells whether in the mailbox or in
    progress) or ``None`` (still waiting or in progress when the trace ends).
    """

    message: object
    service: str
    delivered: float
    started: float | None = None
    ended: float | None = None
    outcome: str | None = None
    note: str | None = None


def deliveries(trace: Trace, correlation=None) -> list[Delivery]:
    """Every delivered copy, in delivery order, matched with its handling (see the module doc)."""
    out: list[Delivery] = []
    waiting: dict = {}     # (service, id) -> [Delivery not started yet], oldest first
    working: dict = {}     # (service, id) -> [Delivery started, not finished], oldest first
    for time, kind, service, msg, detail in trace.records:
        if msg is None or (correlation is not None and msg.correlation != correlation):
            continue
        if kind == DELIVER:
            d = Delivery(msg, service, time)
            out.append(d)
            key = (service, msg.id)
            queue = waiting.get(key)
            if queue is None:
                waiting[key] = [d]
            else:
                queue.append(d)
        elif kind == START:
            key = (service, msg.id)
            queue = waiting.get(key)
            if queue:
                d = queue.pop(0)
                d.started = time
                busy = working.get(key)
                if busy is None:
                    working[key] = [d]
                else:
                    busy.append(d)
        elif kind == END or kind == FAIL or kind == LOST:
            key = (service, msg.id)
            queue = working.get(key)
            if not queue and kind == LOST:
                queue = waiting.get(key)  # lost while still in the mailbox
            if not queue:
                continue  # e.g. a timer that failed after its message was handled
            d = queue.pop(0)
            d.ended = time
            if kind == END:
                d.outcome = "handled"
            else:
                d.outcome = "failed" if kind == FAIL else "lost"
                if detail:
                    d.note = detail.get("error") or detail.get("reason")
    return out


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
        out.messages.append(msg)
        out.sent.append(msg.sent_at)
        out.ended.append(time)
        out.target.append(msg.destination)
        if kind == DELIVER:
            d = next(handlings)
            out.outcome.append("delivered")
            out.handling.append(d.outcome)
            out.note.append(d.note)
            out.at_send.append(False)
            failed = d.outcome in ("failed", "lost")
        else:
            out.outcome.append("dropped")
            out.handling.append(None)
            out.note.append((detail or {}).get("reason", "no reason given"))
            # The network decides a drop when the message is sent (source records it);
            # a drop recorded at the destination happened on arrival (it was down).
            out.at_send.append(service == msg.source and time == msg.sent_at
                               and service != msg.destination)
            failed = False
        if kind == DROP:
            cat = "dropped"
        elif failed:
            cat = "failed"
        elif n > 1 and msg.id in duplicated:
            cat = "duplicate"
        elif msg.type in comp_types or msg.id in comp_ids:
            cat = "compensation"
        elif msg.kind != "command" and reports_failure(msg, reports):
            cat = "failure_report"
        elif msg.kind in ("command", "reply", "event"):
            cat = msg.kind
        else:
            cat = "other"
        out.category.append(cat)
    return out


# -- down time ---------------------------------------------------------------------------------

def down_spans(source, until: float | None = None) -> list[tuple[str, float, float, str | None]]:
    """``(service, crashed at, restarted at, reason)`` for every crash; a service still
    down at the end of the trace is given ``until`` (default: the last record's time)."""
    trace = as_trace(source)
    end = until if until is not None else (trace.records[-1][0] if trace.records else 0.0)
    open_: dict = {}
    spans = []
    for time, kind, service, _msg, detail in trace.records:
        if kind == CRASH:
            open_[service] = (time, (detail or {}).get("reason"))
        elif kind == RESTART and service in open_:
            start, reason = open_.pop(service)
            spans.append((service, start, time, reason))
    for service, (start, reason) in open_.items():
        spans.append((service, start, max(end, start), reason))
    spans.sort(key=lambda s: (s[1], s[0]))
    return spans


# -- queues and workers over time ----------------------------------------------------------------

@dataclass
class QueueSeries:
    """Mailbox length and busy workers of one service, as step functions of time.

    After the event at ``times[i]``, the mailbox holds ``queue[i]`` messages and
    ``busy[i]`` workers are handling one.
    """

    service: str
    times: np.ndarray
    queue: np.ndarray
    busy: np.ndarray


def queue_series(source, services=None) -> dict[str, QueueSeries]:
    """Queue length (delivered, not started) and busy workers (started, not finished) per service."""
    trace = as_trace(source)
    wanted = None if services is None else list(services)
    queue: dict = {}
    busy: dict = {}
    working: dict = {}    # (service, id) -> copies in progress
    steps: dict = {}
    for time, kind, service, msg, _detail in trace.records:
        if msg is None or kind not in (DELIVER, START, END, FAIL, LOST):
            continue
        key = (service, msg.id)
        q = queue.get(service, 0)
        b = busy.get(service, 0)
        if kind == DELIVER:
            q += 1
        elif kind == START:
            q -= 1
            b += 1
            working[key] = working.get(key, 0) + 1
        elif working.get(key, 0) > 0:     # end, fail or lost of a message in progress
            working[key] -= 1
            b -= 1
        elif kind == LOST:                # lost in the mailbox
            q -= 1
        else:
            continue                      # a failure outside a handling (a timer)
        queue[service] = q
        busy[service] = b
        steps.setdefault(service, []).append((time, q, b))
    names = lane_order(steps) if wanted is None else wanted
    out = {}
    for name in names:
        rows = steps.get(name)
        if rows is None:
            if wanted is not None:
                known = ", ".join(lane_order(steps)) or "none"
                raise ValueError(f"service {name!r} handled no message in this trace; "
                                 f"services that did: {known}")
            continue
        arr = np.array(rows, dtype=float)
        # Several events at one instant (delivered and started at once) would draw a
        # spike of zero width: keep only the state after the last of them.
        last = np.append(arr[1:, 0] != arr[:-1, 0], True)
        arr = arr[last]
        out[name] = QueueSeries(name, arr[:, 0], arr[:, 1], arr[:, 2])
    return out


def time_average(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The average over each bin ``[edges[k], edges[k+1])`` of the step function that
    takes ``values[i]`` from ``times[i]`` until the next time (and 0 before the first)."""
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    # Cumulative area under the steps, known exactly at each event time; it is linear
    # in between, so interpolation is exact.
    widths = np.diff(times)
    area = np.concatenate([[0.0], np.cumsum(values[:-1] * widths)])   # area at each time
    at_edges = np.interp(edges, times, area, left=0.0)
    after = edges > times[-1]
    at_edges[after] = area[-1] + values[-1] * (edges[after] - times[-1])
    return np.diff(at_edges) / np.diff(edges)


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
