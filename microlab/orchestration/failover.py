"""What a cluster node's crash cost, read from a run's trace: the failover time.

A node of ``Orchestrator(servers=N)`` (:mod:`.cluster`) keeps nothing of its own, so when
it crashes the other nodes serve new requests at once. What waits is the work it had in
hand: the requests in its mailbox, in its handler or on the wire to it, which their
senders send again after ``request_retry_delay``, and a workflow whose lock it held,
which waits for the lease to run out and the sweeper. :func:`failover` finds each of
them in the trace and when another node took it over; the failover time is from the
crash to the last of those moments. A pure function of the trace, as :mod:`.pollstats`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..trace import CRASH, DROP, LOST, START
from . import records as rec
from .cluster import REQUESTS


@dataclass(frozen=True)
class Failover:
    """What a node's crash cost, read from a run's trace (see :func:`failover`).

    ``lost``: one ``(correlation, request type, taken over at, by node)`` per request the
    crash cost the node (``None, None`` if no other node ever decided on it); ``seconds``:
    from the crash to the moment the last of them was taken over (None: nothing was lost, or
    something never was taken over).
    """

    node: str
    crashed: float
    lost: tuple
    seconds: float | None

    def __str__(self) -> str:
        if not self.lost:
            return (f"{self.node} crashed at {self.crashed:.3f} s holding no request: "
                    "there was nothing to take over.")
        lines = [f"{self.node} crashed at {self.crashed:.3f} s; it had {len(self.lost)} "
                 f"request{'s' if len(self.lost) > 1 else ''} in hand or on the wire to it:"]
        for correlation, kind, at, by in self.lost:
            then = (f"taken over by {by} at {at:.3f} s, {_span(at - self.crashed)} after the crash"
                    if at is not None else "never taken over")
            lines.append(f"  {kind} of {correlation}: {then}")
        if self.seconds is not None:
            lines.append(f"failover time (crash to the last request taken over): {_span(self.seconds)}")
        return "\n".join(lines)


def _span(seconds: float) -> str:
    """A duration as a learner reads it: milliseconds up to 10 s (a retry), seconds past it (a lease)."""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def failover(source, node: str) -> Failover:
    """When ``node`` crashed, and when another node took over each request it lost (``source``: a System or Trace).

    A request is lost when the crash destroys it in the node's mailbox or handler, or when
    it reaches the node while it is down; its sender sends it again through the load
    balancer (after ``request_retry_delay``). It is taken over at the first decision (a task
    or workflow record) another node takes on its order once that copy has arrived: later,
    if the crashed node held the workflow's lock, then the sweeper decides after the lease.
    """
    records = getattr(source, "trace", source).records  # a System, or its Trace
    crashed = next((r[0] for r in records if r[1] == CRASH and r[2] == node), None)
    if crashed is None:
        raise ValueError(f"{node!r} did not crash in this run: pass the name of the node that was crashed")
    lost = [r[3] for r in records if r[0] >= crashed and r[1] in (LOST, DROP) and r[2] == node
            and r[3] is not None and r[3].type in REQUESTS]
    # A copy sent again names the one it replaces (resent_of); a copy may fail and be sent again too.
    origin: dict = {}
    for r in records:
        if r[1] == rec.STALE and r[4] and "resent_of" in r[4]:
            first = r[4]["resent_of"]
            origin[r[3].id] = origin.get(first, first)
    arrived: dict = {}
    for r in records:
        if r[1] == START and r[2] != node and r[3].id in origin:
            arrived.setdefault(origin[r[3].id], r[0])
    rows = []
    for msg in lost:
        since = arrived.get(msg.id, crashed)
        taken = next(((r[0], r[2]) for r in records if r[0] >= since and r[1] in (rec.TASK, rec.WORKFLOW)
                      and r[2] != node and r[4] and r[4].get("correlation") == msg.correlation), (None, None))
        rows.append((msg.correlation, msg.type) + taken)
    ends = [at for _, _, at, _ in rows]
    seconds = max(ends) - crashed if ends and None not in ends else None
    return Failover(node, crashed, tuple(rows), seconds)
