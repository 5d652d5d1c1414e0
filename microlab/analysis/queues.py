"""Mailbox lengths and busy workers over time, per service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..trace import DELIVER
from .instants import mailbox_and_busy
from .lanes import lane_order
from .source import as_trace

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
    """Queue length (waiting in the mailbox) and busy workers (handling one) per service.

    The spans are :func:`~microlab.analysis.instants.mailbox_and_busy`'s, so the figures
    and the time scrubber count the same messages as waiting: a copy consumed on arrival
    (an ``Ack:`` or ``Confirm:`` at the broker, a ``NoTask`` at a polling worker) never
    waited, and one that still waits when the trace ends stays counted to the end.
    """
    trace = as_trace(source)
    mailbox, busy = mailbox_and_busy(trace)
    first: dict = {}   # service -> the time of its first delivery, in order of it
    for time, kind, service, msg, _detail in trace.records:
        if kind == DELIVER and msg is not None and service not in first:
            first[service] = time
    known = lane_order(first)
    names = known if services is None else list(services)
    out = {}
    for name in names:
        if name not in first:
            raise ValueError(f"service {name!r} handled no message in this trace; "
                             f"services that did: {', '.join(known) or 'none'}")
        times, queue, working = _steps(mailbox.get(name), busy.get(name), first[name])
        out[name] = QueueSeries(name, times, queue, working)
    return out


def _steps(waiting, handling, since: float) -> tuple:
    # Each span adds one from its start and takes it back at its end (never, when it is
    # still open at the end of the trace); the state after the last event of an instant is
    # kept (a copy delivered and started at once would draw a spike of zero width).
    times, dq, db = [np.array([since])], [np.zeros(1)], [np.zeros(1)]
    for spans, is_queue in ((waiting, True), (handling, False)):
        if spans is None:
            continue
        starts, ends = spans
        ends = ends[np.isfinite(ends)]
        steps = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
        times.append(np.concatenate([starts, ends]))
        (dq if is_queue else db).append(steps)
        (db if is_queue else dq).append(np.zeros(len(steps)))
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t = t[order]
    queue = np.cumsum(np.concatenate(dq)[order])
    working = np.cumsum(np.concatenate(db)[order])
    last = np.append(t[1:] != t[:-1], True)
    return t[last], queue[last], working[last]


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


__all__ = ['QueueSeries', 'queue_series', 'time_average']
