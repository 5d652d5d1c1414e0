"""Every copy of every message on the wire, as a columnar table: the sequence diagram's data.

One row per copy that reached its end on the wire: delivered into a mailbox (a
``deliver`` record) or lost by the network (a ``drop`` record). A duplicated message
has a row per copy. Each row says when the copy was sent and ended, where it went,
what became of it (``outcome``), what its handling did (``handling``) and the colour
category the figures draw it in (``category``, see :func:`flights`).

:func:`flights` reads the trace once: a copy's handling (which ends after its
delivery) and the trace's compensation flags (which may come after it too) are filled
in when they appear, and the few categories they change are settled after the walk.
On a one-million-message trace that single walk is what the time goes to (see
"Analysis at 1 M messages" in ``benchmarks/README.md``).
"""

from __future__ import annotations

from operator import attrgetter, itemgetter

from ..gcpause import gc_paused
from ..trace import DELIVER, DROP, DUPLICATE, END, FAIL, LOST, SEND, START, Trace
from .handlings import _put, _take   # queues of rows here, as of Deliveries there
from .source import as_trace, check_correlation

#: A trace record kind that engines write when they send a compensating message; the
#: message of such a record is drawn as a compensation.
COMPENSATE = "compensate"
#: Endings of a message type that say the message reports a failure.
FAILURE_SUFFIXES = ("Failed", "Declined", "Rejected")
#: Payload statuses that say a reply reports a failure (Conductor's task statuses).
FAILURE_STATUSES = frozenset({"FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT"})
#: The prefixes of the choreography engine's own acks and confirms (``Ack:ShippingFailed``):
#: they acknowledge a message, whatever it reports. The engine's
#: :data:`microlab.choreography.kinds.PROTOCOL_PREFIXES`, spelt here so that the analysis
#: layer imports no engine (a test holds the two equal).
PROTOCOL_PREFIXES = ("Ack:", "Confirm:")
#: The categories a delivered copy gets from its message alone; the trace's later
#: records (a compensation flag, a second copy) can still override them.
_BY_MESSAGE = frozenset({"compensation", "failure_report", "command", "reply", "event", "other"})


class Flights:
    """Every copy of every message on the wire, one row per copy, one list per column.

    Row ``i`` is copy ``messages[i]`` sent by ``messages[i].source`` at ``sent[i]`` that
    ended at ``ended[i]`` at service ``target[i]``: ``outcome[i]`` is ``"delivered"`` or
    ``"dropped"``; ``handling[i]`` is what the service's handling of a delivered copy
    came to (``"handled"``, ``"failed"``, ``"lost"``, or None while waiting or in
    progress; None for a dropped copy). ``category[i]`` is the colour category of the
    figures (see :data:`microlab.viz.style.CATEGORY_COLOURS`); ``note[i]`` says why a
    copy was dropped or failed. ``at_send[i]`` is True for a copy the network dropped
    when it was sent (it never got near its destination).
    """

    #: The columns, in order (also the order of the constructor's arguments).
    COLUMNS = ("messages", "sent", "ended", "target", "outcome", "handling", "category", "note", "at_send")
    __slots__ = COLUMNS

    def __init__(self, *columns):
        if len(columns) not in (0, len(self.COLUMNS)):
            raise TypeError(f"Flights takes no column or all {len(self.COLUMNS)} "
                            f"({', '.join(self.COLUMNS)}), got {len(columns)}")
        for name, column in zip(self.COLUMNS, columns or ([] for _ in self.COLUMNS)):
            setattr(self, name, column)

    def __len__(self) -> int:
        return len(self.messages)

    def __eq__(self, other) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.COLUMNS)

    __hash__ = None   # columns are lists: a table is as unhashable as they are

    def __repr__(self) -> str:
        return f"<Flights: {len(self)} copies>"

    def row(self, i: int) -> dict:
        """Copy ``i`` as a dict, one key per column (``row(i)["messages"]`` is its message)."""
        return {name: getattr(self, name)[i] for name in self.COLUMNS}

    def take(self, indices) -> Flights:
        """The rows at ``indices`` (in that order), as a new table."""
        indices = list(indices)
        return Flights(*([column[i] for i in indices] for column in map(self.__getattribute__, self.COLUMNS)))

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


def reports_failure(msg, by_type: dict | None = None) -> bool:
    """Does this message report a failure?

    The rule: its type ends in "Failed", "Declined" or "Rejected" (``TaskFailed``,
    ``PaymentFailed``, ``ChargeDeclined``; a point-to-point choreography's
    ``ShippingFailed``, sent as a command, too) and is not an engine's ack or confirm
    (``Ack:ShippingFailed`` acknowledges a report, it reports nothing); or it is a reply
    or event whose payload is a dict whose ``"status"`` is a failed Conductor status
    (``FAILED``, ``FAILED_WITH_TERMINAL_ERROR``, ``TIMED_OUT``; a command's payload is
    its task's input, which may quote a status it does not report). It is the message
    that *says* something failed; the handling that failed is the ``failed`` category.
    ``by_type`` caches the answer by name for each type.
    """
    if _named_failure(msg.type, by_type):
        return True
    payload = msg.payload
    return msg.kind != "command" and isinstance(payload, dict) and payload.get("status") in FAILURE_STATUSES


def _named_failure(type_name, by_type: dict | None) -> bool:
    """The name half of :func:`reports_failure`, cached in ``by_type`` (when given)."""
    named = None if by_type is None else by_type.get(type_name)
    if named is None:
        text = str(type_name)
        named = text.endswith(FAILURE_SUFFIXES) and not text.startswith(PROTOCOL_PREFIXES)
        if by_type is not None:
            by_type[type_name] = named
    return named


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

    A delivered copy's handling is matched as :func:`microlab.analysis.deliveries`
    matches it: first in, first out per ``(service, message id)``.
    """
    trace = as_trace(source)
    check_correlation(trace, correlation)
    if isinstance(compensation_types, str):
        compensation_types = (compensation_types,)
    comp_types = frozenset(compensation_types)
    records = trace.records
    if correlation is not None:
        records = [r for r in records if r[3] is not None and r[3].correlation == correlation]
    rows: list = []        # the deliver and drop records, one per row
    handling: list = []
    category: list = []
    notes: dict = {}       # row -> note (drops and failed handlings only)
    at_send: list = []     # rows of the drops decided when the copy was sent
    comp_ids: set = set()
    duplicated: dict = {}  # message id -> rows from this one on are of a duplicated message
    reports: dict = {}     # message type -> does its name report a failure (asked once per type)
    # service -> message id -> the row delivered and not started yet, or a list of rows
    # (oldest first) when the network duplicated the message; then the same for the
    # rows started and not finished. An id leaves when its last copy moves on. (By
    # service, then id: no (service, id) tuple to build and hash for each record.)
    waiting: dict = {}
    working: dict = {}
    # The loop is written out (helpers only on the rare paths: duplicated copies, failed
    # handlings): it is the time of the whole function, about five records per copy.
    for rec in records:
        time, kind, service, msg, detail = rec
        if msg is None:
            continue
        if detail and detail.get("compensation") is True:
            comp_ids.add(msg.id)
        if kind == SEND:
            continue
        if kind == DELIVER:
            i = len(rows)
            rows.append(rec)
            handling.append(None)
            mid = msg.id
            queues = waiting.get(service) or waiting.setdefault(service, {})
            queue = queues.setdefault(mid, i)
            if queue is not i:   # a copy of the same message waits already: queue behind it
                _put(queues, mid, i)
            mkind = msg.kind
            if comp_types and msg.type in comp_types:
                category.append("compensation")
                continue
            # reports_failure's rule, written out (a call per copy would cost more than it does).
            named = reports.get(msg.type)
            if named is None:
                named = _named_failure(msg.type, reports)
            if named:
                category.append("failure_report")
            elif mkind == "command":
                category.append(mkind)
            else:
                payload = msg.payload
                if isinstance(payload, dict) and payload.get("status") in FAILURE_STATUSES:
                    category.append("failure_report")
                elif mkind == "reply" or mkind == "event":
                    category.append(mkind)
                else:
                    category.append("other")
        elif kind == START or kind == END:
            # A start moves the oldest waiting copy to work; an end finishes the oldest at work.
            queues = (waiting if kind == START else working).get(service)
            if not queues:
                continue
            mid = msg.id
            i = queues.pop(mid, None)
            if i is None:
                continue
            if i.__class__ is list:   # copies of a duplicated message: the oldest first
                queues[mid] = i
                i = _take(queues, mid)
            if kind == END:
                handling[i] = "handled"
                continue
            queues = working.get(service) or working.setdefault(service, {})
            queue = queues.setdefault(mid, i)
            if queue is not i:
                _put(queues, mid, i)
        elif kind == FAIL or kind == LOST:
            i = _take(working.get(service, {}), msg.id)
            if i is None and kind == LOST:
                i = _take(waiting.get(service, {}), msg.id)  # lost while still in the mailbox
            if i is None:
                continue  # e.g. a timer that failed after its message was handled
            handling[i] = "failed" if kind == FAIL else "lost"
            category[i] = "failed"
            if detail:
                notes[i] = detail.get("error") or detail.get("reason")
        elif kind == DROP:
            i = len(rows)
            rows.append(rec)
            handling.append(None)
            category.append("dropped")
            notes[i] = (detail or {}).get("reason", "no reason given")
            # The network decides a drop when the message is sent (source records it);
            # a drop recorded at the destination happened on arrival (it was down).
            if service == msg.source and time == msg.sent_at and service != msg.destination:
                at_send.append(i)
        elif kind == DUPLICATE:
            duplicated.setdefault(msg.id, len(rows))
        elif kind == COMPENSATE:
            comp_ids.add(msg.id)
    messages = list(map(itemgetter(3), rows))
    if comp_ids or duplicated:
        _settle(messages, category, comp_ids, duplicated)
    note = [None] * len(rows)
    for i, text in notes.items():
        note[i] = text
    dropped_at_send = [False] * len(rows)
    for i in at_send:
        dropped_at_send[i] = True
    return Flights(messages, list(map(attrgetter("sent_at"), messages)), list(map(itemgetter(0), rows)),
                   list(map(attrgetter("destination"), messages)),
                   ["dropped" if c == "dropped" else "delivered" for c in category],
                   handling, category, note, dropped_at_send)


def _settle(messages, category, comp_ids, duplicated) -> None:
    """Give the delivered copies the categories that records after them decided.

    A compensation flag may come after a copy (the whole trace flags a message), and a
    second copy is a ``duplicate`` if its message was duplicated before it; neither
    overrides ``failed`` or ``dropped``.
    """
    seen: dict = {}
    for i, msg in enumerate(messages):
        mid = msg.id
        cat = category[i]
        if mid in duplicated:
            n = seen.get(mid, 0) + 1
            seen[mid] = n
            if n > 1 and i >= duplicated[mid] and cat != "dropped" and cat != "failed":
                category[i] = "duplicate"
                continue
        if mid in comp_ids and cat in _BY_MESSAGE:
            category[i] = "compensation"


__all__ = ["Flights", "flights", "compensation_ids", "reports_failure", "COMPENSATE",
           "FAILURE_SUFFIXES", "FAILURE_STATUSES"]
