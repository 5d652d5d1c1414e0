"""Mailbox lengths and busy workers over time, per service.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..trace import DELIVER, END, FAIL, LOST, START
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


__all__ = ['QueueSeries', 'queue_series', 'time_average']
