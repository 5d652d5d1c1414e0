"""Every service's state and the messages in flight at any instant of a run (for the time scrubber).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import MicrolabError
from ..trace import DELIVER, DROP, DUPLICATE, SEND, Trace
from .downtime import down_spans
from .handlings import deliveries
from .lanes import lane_order

#: Trace records :meth:`RunStates.recent` returns by default.
RECENT = 10

@dataclass
class ServiceState:
    """One service at one instant: up or down, workers busy (of ``workers``), mailbox length."""

    name: str
    up: bool
    busy: int
    workers: int
    mailbox: int


@dataclass
class Wire:
    """One copy of a message on the network: sent at ``sent``, delivered or dropped at
    ``ended`` (None: still in flight when the trace ends); ``outcome`` says which."""

    message: object
    sent: float
    ended: float | None
    outcome: str | None
    note: str | None = None


class RunStates:
    """Every service's state and the messages in flight at any instant of a run.

    Built once from a trace (a System or a Trace; the System also gives each service's
    number of workers); each query is a binary search, so a slider can ask at every move.
    """

    def __init__(self, source, *, include_client: bool = False):
        trace = getattr(source, "trace", source)
        if not isinstance(trace, Trace) or not trace.records:
            raise MicrolabError("the run recorded nothing: build it with trace=True and give it "
                                "at least one order")
        self.trace = trace
        live = getattr(source, "services", None) or {}
        self.record_times = np.array([r[0] for r in trace.records], dtype=float)
        self.end = float(self.record_times[-1])
        names = lane_order(list(live) + trace.services())
        self.services = [n for n in names if include_client or n != "client"]
        self.workers = {n: getattr(live.get(n), "workers", 1) for n in self.services}
        self._mailbox, self._busy = mailbox_and_busy(trace)
        self.down = [(s, a, b) for s, a, b, _ in down_spans(trace, until=math.inf)]
        self.wires = wires(trace)
        #: Per service, the times copies were dropped on arriving at it (while it was down).
        self._dropped_at = {}
        for time, kind, service, _msg, _detail in trace.records:
            if kind == DROP and service is not None:
                self._dropped_at.setdefault(service, []).append(time)
        self._sent = np.array([w.sent for w in self.wires], dtype=float)
        self._ended = np.array([math.inf if w.ended is None else w.ended for w in self.wires], dtype=float)

    def is_up(self, service: str, t: float) -> bool:
        """False while ``service`` is crashed at ``t`` (from its crash until its restart)."""
        return not any(s == service and a <= t < b for s, a, b in self.down)

    def services_at(self, t: float) -> list[ServiceState]:
        """Each service's state just after every event at time ``t``."""
        out = []
        for name in self.services:
            out.append(ServiceState(name, self.is_up(name, t), open_at(self._busy.get(name), t),
                                    self.workers[name], open_at(self._mailbox.get(name), t)))
        return out

    def peak(self) -> int:
        """The most busy workers or waiting messages any service had at any instant of the run."""
        top = 0
        for spans in (*self._mailbox.values(), *self._busy.values()):
            starts, ends = np.sort(spans[0]), np.sort(spans[1])
            # At each start, the intervals open are those started and not yet ended.
            open_ = np.searchsorted(starts, starts, side="right") - np.searchsorted(ends, starts, side="right")
            top = max(top, int(open_.max()))
        return top

    def dropped_at(self, service: str, since: float, t: float) -> int:
        """Copies dropped at ``service`` from ``since`` up to ``t`` (a down service drops what arrives)."""
        return sum(1 for x in self._dropped_at.get(service, ()) if since <= x <= t)

    def opening(self) -> float:
        """The instant to open on: inside the first crash, at its busiest moment (its start if
        nothing travels then), so the learner sees the failure first; else the busiest instant."""
        if not self.down:
            return self.busiest()
        _service, start, end = min(self.down, key=lambda d: d[1])
        t = self.busiest(start, min(end, self.end))
        return t if start <= t < end else start

    def in_flight(self, t: float) -> list[Wire]:
        """Copies sent at or before ``t`` and not yet delivered or dropped at ``t``."""
        idx = np.flatnonzero((self._sent <= t) & (t < self._ended))
        return [self.wires[i] for i in idx]

    def recent(self, t: float, n: int = RECENT) -> list[tuple]:
        """The last ``n`` trace records at or before ``t``."""
        i = int(np.searchsorted(self.record_times, t, side="right"))
        return self.trace.records[max(0, i - n):i]

    def next_event(self, t: float) -> float:
        """The time of the first record after ``t`` (``t`` itself at the end)."""
        i = int(np.searchsorted(self.record_times, t, side="right"))
        return float(self.record_times[i]) if i < len(self.record_times) else t

    def previous_event(self, t: float) -> float:
        """The time of the last record before ``t`` (``t`` itself at the start)."""
        i = int(np.searchsorted(self.record_times, t, side="left")) - 1
        return float(self.record_times[i]) if i >= 0 else t

    def busiest(self, start: float = -math.inf, end: float = math.inf) -> float:
        """An instant with the most messages in flight (the earliest such) between ``start`` and
        ``end`` (default: the whole run); 0, or ``start``, for none."""
        if not self.wires:
            return 0.0 if start == -math.inf else start
        times = np.concatenate([self._sent, self._ended])
        steps = np.concatenate([np.ones(len(self._sent)), -np.ones(len(self._ended))])
        # At equal times, arrivals come first: a copy delivered at t is not in flight at t.
        order = np.lexsort((steps, times))
        counts = np.cumsum(steps[order])
        at = times[order]
        inside = np.flatnonzero((at >= start) & (at < end))
        if not len(inside):
            return 0.0 if start == -math.inf else float(start)
        return float(at[inside[int(np.argmax(counts[inside]))]])


def mailbox_and_busy(trace: Trace) -> tuple[dict, dict]:
    """Per service, ``(starts, ends)`` arrays of the time each copy spent in the mailbox and
    in a worker's hands.

    A copy delivered and never started nor lost either was consumed on arrival, outside the
    mailbox (the choreography's ``Confirm:`` and ``Ack:`` replies, a polling worker's
    ``NoTask``: the trace records their delivery and nothing more), or still waits when the
    trace ends. The mailbox is first in, first out, so a copy that a later copy at the same
    service overtook (it started while this one never did) was consumed on arrival, and so
    was one of a type its service never starts at all (a worker's ``NoTask`` after its last
    task). The others still wait when the trace ends: their spans are open to infinity.
    """
    mailbox: dict = {}
    busy: dict = {}
    copies = deliveries(trace)
    handled_types = {(d.service, d.message.type) for d in copies if d.started is not None}
    overtaken: set = set()   # services at which a later delivery started (walking backwards)
    for d in reversed(copies):
        if d.started is not None:
            mailbox.setdefault(d.service, []).append((d.delivered, d.started))
            busy.setdefault(d.service, []).append((d.started, math.inf if d.ended is None else d.ended))
            overtaken.add(d.service)
        elif d.outcome == "lost":
            mailbox.setdefault(d.service, []).append((d.delivered, d.ended))
        elif d.service not in overtaken and (d.service, d.message.type) in handled_types:
            mailbox.setdefault(d.service, []).append((d.delivered, math.inf))
    as_arrays = lambda spans: (np.array([a for a, _ in reversed(spans)]),  # noqa: E731
                               np.array([b for _, b in reversed(spans)]))
    return ({k: as_arrays(v) for k, v in mailbox.items()}, {k: as_arrays(v) for k, v in busy.items()})


def open_at(spans, t: float) -> int:
    """How many of ``spans`` (``(starts, ends)`` arrays) are open at ``t``."""
    if spans is None:
        return 0
    starts, ends = spans
    return int(np.count_nonzero((starts <= t) & (t < ends)))


def wires(trace: Trace) -> list[Wire]:
    """Every copy of every message on the network, matched send (or duplicate) to outcome.

    Copies of one message end first in, first out; a copy the network dropped when it
    was sent ends at its send time, so it is never in flight.
    """
    out: list[Wire] = []
    open_: dict = {}      # message id -> [indexes of copies not yet ended], oldest first
    for time, kind, _service, msg, detail in trace.records:
        if kind == SEND or kind == DUPLICATE:
            open_.setdefault(msg.id, []).append(len(out))
            out.append(Wire(msg, msg.sent_at if kind == SEND else time, None, None))
        elif kind == DELIVER or kind == DROP:
            copies = open_.get(msg.id)
            if copies:
                w = out[copies.pop(0)]
                w.ended = time
                w.outcome = "delivered" if kind == DELIVER else "dropped"
                if kind == DROP:
                    w.note = (detail or {}).get("reason")
    return out


__all__ = ['ServiceState', 'Wire', 'RunStates', 'wires', 'mailbox_and_busy', 'open_at', 'RECENT']
