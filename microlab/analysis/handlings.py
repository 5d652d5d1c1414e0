"""Every delivered copy of a message matched with its handling at the service.

Matching a handling to its delivery: the trace records ``deliver``, ``start``, ``end``
(or ``fail``, or ``lost``) for each copy of a message at a service. A duplicated
message has two copies with the same id, so copies are matched first in, first out
per ``(service, message id)``: the copy delivered first is the one started first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..trace import DELIVER, END, FAIL, LOST, START, Trace

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


__all__ = ['Delivery', 'deliveries']
