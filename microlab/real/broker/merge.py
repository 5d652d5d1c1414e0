"""Merge the records of every process of a real run into one :class:`~microlab.trace.Trace`.

Pure: rows in, a trace out. Each process wrote its records, in order, with times on
the machine-wide monotonic clock, so the merge sorts on ``(time, rank, seq)``:

- ``time`` first: cross-process order is the clock's order;
- ties (equal timestamps, in practice only within one process, which writes several
  records for one moment) keep the order in which the process wrote them (``seq``);
  between processes, the lower ``rank`` comes first: the client, then the flow's
  services in order, then the supervisor's crash and restart records.

A process killed with SIGKILL writes nothing more, so the merge writes for it what the
simulator's ``crash()`` writes: ``lost`` for the message it was handling, and, for each
message it sent that no one received (a publish or an ack whose acknowledgement it
never got), a ``drop`` at the moment of the kill. Message ids are renumbered 1, 2, 3,
... in order of first appearance, so a real trace reads like a simulated one.
"""

from __future__ import annotations

from collections import Counter

from ...trace import CRASH, DELIVER, DROP, END, FAIL, LOST, SEND, START, Trace
from .wire import to_message

#: Detail keys that hold a message id, renumbered with the messages.
ID_DETAILS = ("event",)


def merge(sources, supervisor=(), kills=()) -> Trace:
    """One trace from ``sources``, the supervisor's records and the kills.

    ``sources``: ``[(process, rows), ...]`` in rank order, rows as read by
    :func:`~microlab.real.broker.store.read_trace`; ``supervisor``: ``[(time, kind,
    service, detail), ...]``; ``kills``: ``[(process, incarnation, time), ...]`` of the
    incarnations ended by SIGKILL from outside (a process that killed itself recorded
    its own ``crash``).
    """
    rows = []
    ended: dict = {}
    for rank, (process, records) in enumerate(sources):
        for seq, inc, time, kind, service, env, detail in records:
            rows.append((time, rank, seq, kind, service, env, detail, (process, inc)))
            if kind == CRASH and service == process:
                ended[(process, inc)] = time
    for process, inc, time in kills:
        ended.setdefault((process, inc), time)
    last = len(sources)
    for seq, (time, kind, service, detail) in enumerate(supervisor):
        rows.append((time, last, seq, kind, service, None, detail, ("supervisor", 0)))
    rows.extend(_aftermath(rows, ended, last + 1))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _build(rows)


def _aftermath(rows, ended: dict, rank: int) -> list:
    """The ``lost`` and ``drop`` records that a killed incarnation could not write."""
    out = []
    open_handling: dict = {}
    # A process records the fate of what it sends itself (the publisher writes the
    # broker's acknowledgement), so each killed incarnation owes one outcome per send.
    owed: Counter = Counter()
    envs: dict = {}
    for time, _rank, _seq, kind, service, env, _detail, who in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        if env is None:
            continue
        mid = env["id"]
        envs[mid] = env
        if kind == START:
            open_handling[(who, mid)] = env
        elif kind in (END, FAIL):
            open_handling.pop((who, mid), None)
        elif kind == SEND:
            owed[(who, mid)] += 1
        elif kind in (DELIVER, DROP) and owed[(who, mid)] > 0:
            owed[(who, mid)] -= 1
    seq = 0
    for (who, mid), env in open_handling.items():
        if who in ended:
            seq += 1
            out.append((ended[who], rank, seq, LOST, who[0], env, {"reason": "in progress at kill -9"}, who))
    for (who, mid), n in owed.items():
        for _ in range(n if who in ended else 0):
            seq += 1
            out.append((ended[who], rank, seq, DROP, "broker", envs[mid],
                        {"reason": f"{who[0]} was killed -9 before the broker acknowledged it"}, who))
    return out


def _build(rows) -> Trace:
    numbers: dict = {}

    def number(mid):
        if mid is None:
            return None
        if mid not in numbers:
            numbers[mid] = len(numbers) + 1
        return numbers[mid]

    messages: dict = {}
    for time, _r, _s, kind, _service, env, _d, _who in rows:
        if env is not None and env["id"] not in messages:
            number(env["id"])
            messages[env["id"]] = env
    built: dict = {}
    sent_at: dict = {}
    for time, _r, _s, kind, _service, env, _d, _who in rows:
        if env is not None and kind == SEND:
            sent_at.setdefault(env["id"], time)
    for mid, env in messages.items():
        renumbered = dict(env, id=number(mid), causation=number(env["causation"]))
        built[mid] = to_message(renumbered, sent_at.get(mid))
    trace = Trace()
    for time, _r, _s, kind, service, env, detail, _who in rows:
        detail = dict(detail) if detail else {}
        for key in ID_DETAILS:
            if key in detail and detail[key] in numbers:
                detail[key] = numbers[detail[key]]
        trace.record(time, kind, service, built[env["id"]] if env is not None else None, **detail)
    return trace
