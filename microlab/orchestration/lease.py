"""The workflow lock: a lease per workflow id, so that two nodes never decide one workflow at once.

Conductor's servers are stateless and several run at once; every decision on a workflow
(``WorkflowExecutor.decide``) and every sweep first takes that workflow's lock through
its ``Lock`` interface (``ExecutionLockService``; Redis, Zookeeper or a local lock). The
lock is a **lease**: it expires ``lockLeaseTime`` after it was taken, so a server that
died holding it blocks that one workflow only until the lease runs out. A server that
finds the lock taken tries for up to ``lockTimeToTry``; if it still fails it does not
decide, and the workflow goes back on the decider queue (:mod:`.sweeper`) for a retry.

Defaults are Conductor's (``ConductorProperties``: ``lockLeaseTime`` 60000 ms,
``lockTimeToTry`` 500 ms):
https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/core/config/ConductorProperties.java
and the lock's use:
https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/service/ExecutionLockService.java

In microlab a decision happens at one simulated instant, at the end of the node's work
time. A node takes the lock when one of its workers starts on a message about the
workflow and gives it back when the decision is carried out, so a node that crashes
mid-decision leaves the lock held. :func:`may_lock` is the whole rule, as a pure
function.
"""

from __future__ import annotations

from typing import NamedTuple

#: Seconds a lock is leased for (Conductor's ``conductor.app.lockLeaseTime``, 60000 ms).
LOCK_LEASE_TIME = 60.0
#: Seconds a node tries to take a held lock before giving up (``conductor.app.lockTimeToTry``, 500 ms).
LOCK_TIME_TO_TRY = 0.5


class Lease(NamedTuple):
    """Who holds a workflow's lock (a node name and its incarnation) and until when."""

    node: str
    incarnation: int
    expires: float


def may_lock(lease: Lease | None, node: str, incarnation: int, now: float, holder_deciding: bool) -> bool:
    """Whether ``node`` (in its ``incarnation``) gets the lock now.

    Free, expired, or already its own: yes. Held by another node that is up and in the
    middle of a decision: yes too, because that decision ends within the node's work
    time, well inside ``lockTimeToTry``, and the try succeeds then (microlab does not
    model those milliseconds of waiting). Held by a node that crashed, until the lease
    expires: no, the try times out.
    """
    if lease is None or lease.expires <= now:
        return True
    if lease.node == node and lease.incarnation == incarnation:
        return True
    return holder_deciding


class WorkflowLocks:
    """Every workflow's lease, kept in the store (as Conductor keeps them in Redis or Zookeeper)."""

    def __init__(self, lease_time: float = LOCK_LEASE_TIME):
        self.lease_time = lease_time
        #: Workflow id -> its :class:`Lease`.
        self.leases: dict[str, Lease] = {}
        #: Tries that failed (a crashed node's lease was still running): a figure for tests and labs.
        self.refused = 0

    def take(self, workflow_id: str, node: str, incarnation: int, now: float) -> None:
        """Record that ``node`` holds the lock from ``now`` for ``lease_time`` seconds."""
        self.leases[workflow_id] = Lease(node, incarnation, now + self.lease_time)

    def release(self, workflow_id: str, node: str, incarnation: int) -> None:
        """Give the lock back, if ``node`` still holds it (a lease taken over meanwhile stays)."""
        lease = self.leases.get(workflow_id)
        if lease is not None and lease.node == node and lease.incarnation == incarnation:
            del self.leases[workflow_id]

    def get(self, workflow_id: str) -> Lease | None:
        """The lease on a workflow, or None."""
        return self.leases.get(workflow_id)

    def __repr__(self) -> str:
        return f"<WorkflowLocks {len(self.leases)} held, lease {self.lease_time:g} s>"
