"""Every delivered copy of a message matched with its handling at the service.

Matching a handling to its delivery: the trace records ``deliver``, ``start``, ``end``
(or ``fail``, or ``lost``) for each copy of a message at a service. A duplicated
message has two copies with the same id, so copies are matched first in, first out
per ``(service, message id)``: the copy delivered first is the one started first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..gcpause import gc_paused
from ..trace import DELIVER, END, FAIL, LOST, SEND, START, Trace

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


@gc_paused
def deliveries(trace: Trace, correlation=None) -> list[Delivery]:
    """Every delivered copy, in delivery order, matched with its handling (see the module doc)."""
    out: list[Delivery] = []
    # (service, id) -> the Delivery not started yet, or a list of them (oldest first) when
    # the network duplicated the message; a key leaves when its last copy moves on.
    waiting: dict = {}
    working: dict = {}     # (service, id) -> the Delivery started, not finished (or a list)
    for time, kind, service, msg, detail in trace.records:
        if msg is None or kind == SEND or (correlation is not None and msg.correlation != correlation):
            continue
        if kind == DELIVER:
            d = Delivery(msg, service, time)
            out.append(d)
            _put(waiting, (service, msg.id), d)
        elif kind == START:
            key = (service, msg.id)
            d = _take(waiting, key)
            if d is not None:
                d.started = time
                _put(working, key, d)
        elif kind == END or kind == FAIL or kind == LOST:
            key = (service, msg.id)
            d = _take(working, key)
            if d is None and kind == LOST:
                d = _take(waiting, key)  # lost while still in the mailbox
            if d is None:
                continue  # e.g. a timer that failed after its message was handled
            d.ended = time
            if kind == END:
                d.outcome = "handled"
            else:
                d.outcome = "failed" if kind == FAIL else "lost"
                if detail:
                    d.note = detail.get("error") or detail.get("reason")
    return out


def _put(queues: dict, key, d) -> None:
    """Queue ``d`` under ``key``: alone, or (a duplicated message) after the ones there."""
    queue = queues.get(key)
    if queue is None:
        queues[key] = d
    elif queue.__class__ is list:
        queue.append(d)
    else:
        queues[key] = [queue, d]


def _take(queues: dict, key):
    """The oldest Delivery under ``key`` (removed), or None."""
    queue = queues.pop(key, None)
    if queue is None or queue.__class__ is not list:
        return queue
    d = queue.pop(0)
    if queue:
        queues[key] = queue
    return d


__all__ = ['Delivery', 'deliveries']
