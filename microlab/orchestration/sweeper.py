"""The decider queue and the sweeper: workflows re-evaluated when nobody is deciding them.

In Conductor every running workflow has an entry in a queue of the store, the *decider
queue*. The entry becomes visible ``workflowOffsetTimeout`` (30 s) after the workflow was
last decided, or sooner when one of its deadlines falls due. Sweeper threads on every
server pop visible entries and decide those workflows under their lock
(``WorkflowSweeper.sweep``). That is how a workflow whose server crashed goes on: the
entry is in the store, not in the crashed server's memory. Two backoffs matter:

- a decision that cannot take the lock puts the workflow back on the queue after
  ``max(lockTimeToTry / 2, 100 ms)`` (:data:`decide_backoff`);
- a sweep whose decision cannot take the lock puts it back after ``lockLeaseTime / 2``
  (:data:`sweep_backoff`), the time scale of an orphaned lock.

Sources: ``WorkflowSweeper`` and ``WorkflowExecutorOps.decide`` in conductor-oss,
https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/org/conductoross/conductor/core/execution/WorkflowSweeper.java
https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/core/execution/WorkflowExecutorOps.java
(defaults in ``ConductorProperties``: ``workflowOffsetTimeout`` 30 s,
``maxPostponeDurationSeconds`` 3600 s).

microlab's simplifications (rows in the README): a sweeper pops an entry at the instant
it becomes visible (Conductor's threads poll every 100 ms), the offset has no jitter,
and a sweep costs the node no work time.
"""

from __future__ import annotations

import heapq
import itertools

from .lease import LOCK_LEASE_TIME, LOCK_TIME_TO_TRY

#: Seconds until a running workflow is swept again (Conductor's ``workflowOffsetTimeout``).
WORKFLOW_OFFSET_TIMEOUT = 30.0
#: The longest a workflow waits in the decider queue (``maxPostponeDurationSeconds``).
MAX_POSTPONE = 3600.0


def decide_backoff(lock_time_to_try: float = LOCK_TIME_TO_TRY) -> float:
    """Seconds before a decision that found the workflow locked is tried again by the sweeper."""
    return max(lock_time_to_try / 2, 0.1)


def sweep_backoff(lock_lease_time: float = LOCK_LEASE_TIME, max_postpone: float = MAX_POSTPONE) -> float:
    """Seconds before a sweep that found the workflow locked is tried again (at least 1 s)."""
    return min(max(lock_lease_time / 2, 1.0), max_postpone)


def next_sweep(due: float | None, now: float, offset: float = WORKFLOW_OFFSET_TIMEOUT,
               max_postpone: float = MAX_POSTPONE) -> float:
    """When a running workflow is evaluated next: its earliest deadline, else after the offset."""
    latest = now + min(offset, max_postpone)
    return latest if due is None or due > latest else max(due, now)


class DeciderQueue:
    """The store's decider queue: one entry per running workflow, visible from its due time.

    An entry carries the message that asked for the evaluation (its ``cause``), so that a
    retry's task is still caused by the failure that asked for it.
    """

    def __init__(self):
        #: Workflow id -> ``(due, cause)``.
        self.entries: dict = {}
        self._heap: list = []
        self._seq = itertools.count()

    def push(self, workflow_id: str, due: float, cause=None) -> None:
        """Make the workflow's entry visible at ``due`` (replacing an earlier due time)."""
        old = self.entries.get(workflow_id)
        self.entries[workflow_id] = (due, cause)
        if old is None or old[0] != due:
            heapq.heappush(self._heap, (due, next(self._seq), workflow_id))  # same due: only the cause changes

    def due_of(self, workflow_id: str) -> float | None:
        """When the workflow's entry becomes visible (None: it has none)."""
        entry = self.entries.get(workflow_id)
        return None if entry is None else entry[0]

    def remove(self, workflow_id: str) -> None:
        """Take the workflow off the queue (it ended)."""
        self.entries.pop(workflow_id, None)

    def next_due(self) -> float | None:
        """When the earliest entry becomes visible (None: the queue is empty)."""
        heap = self._heap
        entries = self.entries
        while heap:
            due, _, wf_id = heap[0]
            entry = entries.get(wf_id)
            if entry is not None and entry[0] == due:
                return due
            heapq.heappop(heap)  # superseded by a later push, or removed
        return None

    def pop_next(self, now: float):
        """``(workflow id, cause)`` of the earliest entry visible at ``now`` (it leaves the queue), or None.

        One at a time, so that a caller deciding each workflow as it pops it sees the
        entries that decision pushes, moves or removes.
        """
        heap = self._heap
        entries = self.entries
        while heap and heap[0][0] <= now:
            due, _, wf_id = heapq.heappop(heap)
            entry = entries.get(wf_id)
            if entry is None or entry[0] != due:
                continue  # superseded by a later push, or removed
            del entries[wf_id]
            return wf_id, entry[1]
        return None

    def pop_due(self, now: float) -> list:
        """``(workflow id, cause)`` of every entry visible at ``now``, earliest first; they leave the queue."""
        out = []
        entry = self.pop_next(now)
        while entry is not None:
            out.append(entry)
            entry = self.pop_next(now)
        return out

    def clear(self) -> None:
        """Forget every entry (a node that crashed loses its in-memory wake-ups)."""
        self.entries.clear()
        self._heap.clear()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, workflow_id) -> bool:
        return workflow_id in self.entries
