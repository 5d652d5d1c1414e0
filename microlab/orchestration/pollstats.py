"""What polling did in a run, read from its trace: polls per worker, task-queue waits and depths.

Pure functions of a :class:`~microlab.trace.Trace` (no system needed), for figures,
sweeps and tests:

- :func:`poll_summary`: per worker and task type, the polls answered, how many were
  empty, the tasks leased, the longest queue seen and the time polls were held;
- :func:`queue_waits`: per task attempt, how long it waited in its task queue between
  being scheduled and being leased by a poll (0 when the orchestrator pushes it);
- :func:`queue_depths`: the depth of each task queue after every answered poll.

Under ``dispatch="push"`` there are no polls: the summaries are empty and every wait is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import model as m
from . import records as rec


@dataclass
class PollStats:
    """One worker's polling for one task type: counts, and the longest queue it saw."""

    worker: str
    task_type: str
    polls: int = 0
    empty: int = 0
    leased: int = 0
    max_queue: int = 0
    held: float = 0.0

    def format(self) -> str:
        """One line: ``payment/charge: 12 polls (3 empty), 9 tasks``."""
        return (f"{self.worker}/{self.task_type}: {self.polls} poll{'s' * (self.polls != 1)} "
                f"({self.empty} empty), {self.leased} task{'s' * (self.leased != 1)}")


def poll_summary(trace) -> dict:
    """``{(worker, task type): PollStats}`` for every answered poll in ``trace``, in order of first poll."""
    out: dict = {}
    for r in trace.of_kind(rec.POLL):
        d = r.detail
        key = (d["worker"], d["task_type"])
        stats = out.get(key)
        if stats is None:
            stats = out[key] = PollStats(*key)
        stats.polls += 1
        stats.empty += d["leased"] == 0
        stats.leased += d["leased"]
        stats.max_queue = max(stats.max_queue, d["queue"])
        stats.held += d["waited"]
    return out


def queue_waits(trace) -> list[tuple]:
    """``[(leased at, correlation, task ref, seconds waited in the queue)]``, one per lease or push."""
    scheduled: dict = {}
    waits = []
    for r in trace.of_kind(rec.TASK):
        d = r.detail
        status = d.get("status")
        if status == m.SCHEDULED:
            scheduled[d.get("task_id")] = r.time
        elif status == m.IN_PROGRESS:
            since = scheduled.pop(d.get("task_id"), r.time)
            waits.append((r.time, r.correlation, d.get("ref"), r.time - since))
    return waits


def queue_depths(trace) -> list[tuple]:
    """``[(time, task type, tasks left in its queue)]`` after every answered poll."""
    return [(r.time, r.detail["task_type"], r.detail["queue"]) for r in trace.of_kind(rec.POLL)]
