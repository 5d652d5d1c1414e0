"""A microlab trace as spans: one span per handled message, parented by trace context.

A **span** is one service handling one message, from the moment a worker starts on it
to the moment its handler returns. Its **trace** is the business transaction: every
message of ``order-7`` belongs to the trace whose id is derived from ``"order-7"``. Its
**parent** is the span that sent the message: the handling of the message's
``causation``. That is what a W3C ``traceparent`` header carried by every message would
tell the receiver (:mod:`.context`).

One exception, from polling: a task a worker polled for is sent in answer to the poll,
which belongs to no transaction. Its context is the one the task carries, the
orchestrator's decision that scheduled it, so its parent is that decision's span (the
orchestrator's span of the same transaction that ended when the task was scheduled).

Messages without a correlation (polls, empty answers) make no span: they belong to no
business transaction. Ids are derived from the correlation and the message id, so the
same trace gives the same spans, byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..trace import END, START


@dataclass(frozen=True)
class Span:
    """One service handling one message of one business transaction."""

    trace_id: str            #: 32 hex digits, from the correlation
    span_id: str             #: 16 hex digits, from the message id and the service
    parent_id: str | None    #: the span that sent the message, or None for a root
    name: str                #: "<service> <message type>"
    service: str
    start: float             #: simulated seconds
    end: float
    correlation: str
    message_id: int
    kind: str                #: the message's kind: command, reply or event
    attributes: dict = field(default_factory=dict, compare=False)


def trace_id_of(correlation: str) -> str:
    """The 32-hex-digit trace id of a business transaction (stable across runs)."""
    return hashlib.sha256(f"microlab trace {correlation}".encode()).hexdigest()[:32]


def _span_id(correlation: str, service: str, message_id: int, occurrence: int) -> str:
    key = f"{correlation}/{service}/{message_id}/{occurrence}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def spans_from_trace(source, correlation: str | None = None, *, context: bool = True) -> list[Span]:
    """The spans of a trace (a :class:`~microlab.trace.Trace`, or anything with ``.trace``
    or ``.system.trace``), in the order their handling started; only ``correlation``'s if given.

    ``context=False`` is a system whose messages carry the correlation id but no trace
    context: every span is a root, joined to the others only by its trace id."""
    trace = _trace_of(source)
    started: dict = {}
    scheduled: dict = {}        # task id -> time the orchestrator scheduled it
    leased: dict = {}           # message id of a polled task -> its task id
    raw = []
    for record in trace.records:
        time, kind, service, msg, info = record
        if kind == "task":
            if info.get("status") == "SCHEDULED":
                scheduled.setdefault(info.get("task_id"), time)
            elif info.get("polled") and msg is not None:
                leased[msg.id] = info.get("task_id")
            continue
        if msg is None or msg.correlation is None:
            continue
        if correlation is not None and msg.correlation != correlation:
            continue
        if kind == START:
            started[(service, msg.id)] = time
        elif kind == END and (service, msg.id) in started:
            raw.append((started.pop((service, msg.id)), time, service, msg))
    raw.sort(key=lambda r: (r[0], r[1], r[3].id))
    by_message: dict = {}       # message id -> span id of its first handling
    occurrences: dict = {}
    ended_at: dict = {}         # (correlation, service) -> [(end, span id)] in order
    spans = []
    for start, end, service, msg in raw:
        n = occurrences.get((service, msg.id), 0)
        occurrences[(service, msg.id)] = n + 1
        span_id = _span_id(msg.correlation, service, msg.id, n)
        parent = by_message.get(msg.causation) if context else None
        if context and msg.id in leased:
            parent = _decision(ended_at.get((msg.correlation, msg.source), ()),
                               scheduled.get(leased[msg.id]), parent)
        spans.append(Span(trace_id_of(msg.correlation), span_id, parent, f"{service} {msg.type}", service,
                          start, end, msg.correlation, msg.id, msg.kind,
                          {"messaging.message.id": str(msg.id), "microlab.message.type": msg.type,
                           "microlab.message.kind": msg.kind, "microlab.source": msg.source,
                           "microlab.correlation": msg.correlation}))
        by_message.setdefault(msg.id, span_id)
        ended_at.setdefault((msg.correlation, service), []).append((end, span_id))
    return spans


def _decision(ends, when, fallback):
    """The span that ended last at or before ``when`` (the decision that scheduled a task)."""
    best = fallback
    if when is None:
        return best
    for end, span_id in ends:
        if end <= when + 1e-12:
            best = span_id
    return best


def _trace_of(source):
    for path in ((), ("trace",), ("system", "trace")):
        obj = source
        for attr in path:
            obj = getattr(obj, attr, None)
        if obj is not None and hasattr(obj, "records"):
            return obj
    raise TypeError(f"spans_from_trace needs a Trace, a System or a run result, got {type(source).__name__}")


def tree(spans: list[Span]) -> dict[str | None, list[Span]]:
    """Children by parent span id; ``tree(spans)[None]`` are the roots (spans whose parent is unknown)."""
    ids = {s.span_id for s in spans}
    children: dict = {None: []}
    for s in spans:
        children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
    return children


@dataclass(frozen=True)
class Shape:
    """How a trace is built: spans, roots, depth (levels), widest level, most children of one span."""

    spans: int
    roots: int
    depth: int
    widest: int
    most_children: int
    #: The service holding the most spans that have children (the hub), and how many it holds.
    hub: str | None
    hub_parents: int


def shape(spans: list[Span]) -> Shape:
    """The shape of one trace's spans (see :class:`Shape`)."""
    children = tree(spans)
    levels: list[int] = []
    stack = [(root, 0) for root in children[None]]
    while stack:
        span, level = stack.pop()
        if level == len(levels):
            levels.append(0)
        levels[level] += 1
        stack.extend((child, level + 1) for child in children.get(span.span_id, ()))
    parents: dict = {}
    for s in spans:
        if children.get(s.span_id):
            parents[s.service] = parents.get(s.service, 0) + 1
    hub = max(sorted(parents), key=parents.get) if parents else None
    most = max((len(v) for k, v in children.items() if k is not None), default=0)
    return Shape(len(spans), len(children[None]), len(levels), max(levels, default=0), most,
                 hub, parents.get(hub, 0))
