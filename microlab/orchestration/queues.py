"""Task queues: where SIMPLE tasks wait for a polling worker, as in Conductor.

A Conductor server never pushes work. A scheduled SIMPLE task goes into the queue of
its task type, and workers poll: "give me up to ``count`` tasks of type X, and wait up
to ``timeout`` for one if there is none" (a long poll). That is Conductor's backpressure:
a worker takes only what it has capacity for, so under load the *queue* grows, in the
server, and every step pays the wait for the next poll.

:class:`TaskQueues` holds, per queue (a task name and the service that serves it):

- the task ids waiting, oldest first (a task whose delay has not passed is not queued
  yet: the decider queues it when it falls due, as Conductor's queue hides it until its
  ``callbackAfterSeconds``);
- the polls being held open (long polls), answered as soon as a task arrives;
- per task name, the lease times inside the rate-limit window and the tasks in
  progress, for ``rateLimitPerFrequency``/``rateLimitFrequencyInSeconds`` and
  ``concurrentExecLimit``. A task over a limit is not given out and waits
  ``postpone`` seconds before it can be polled again, as Conductor's
  ``ExecutionService.poll`` postpones it (``queueTaskMessagePostponeSecs``, 60 s by default):
  https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/service/ExecutionService.java

The queues belong to the durable store (they survive a node's crash, like Conductor's
Redis queues); the orchestrator nodes read and change them.
"""

from __future__ import annotations

from collections import deque

from .model import SCHEDULED

#: Seconds a task over a rate or concurrency limit waits before it can be polled again.
POSTPONE = 60.0


class HeldPoll:
    """A long poll waiting at a node for a task: who asked, for how many, until when."""

    __slots__ = ("msg", "node", "count", "since", "expires", "answered")

    def __init__(self, msg, node: str, count: int, since: float, expires: float):
        self.msg = msg
        self.node = node
        self.count = count
        self.since = since
        self.expires = expires
        self.answered = False


class TaskQueues:
    """Every task queue of one orchestrator (or cluster), with its limits and held polls."""

    def __init__(self, postpone: float = POSTPONE):
        self.postpone = postpone
        #: Queue key ``(task name, service)`` -> deque of ``[task_id, available_at]``.
        self.waiting: dict = {}
        #: Queue key -> held polls, oldest first.
        self.held: dict = {}
        #: Task name -> lease times within the rate-limit window.
        self.leases: dict = {}
        #: Task name -> ids of tasks given out and not yet seen to end (a dict as an ordered set).
        self.in_progress: dict = {}
        #: Task id -> the message whose handling scheduled it (the lease's causation).
        self.causes: dict = {}
        #: Polls answered, empty polls, tasks leased: totals for figures and tests.
        self.polls = 0
        self.empty_polls = 0
        self.leased = 0

    def push(self, key: tuple, task_id: str, now: float, cause=None) -> None:
        """Queue a task (it can be polled from ``now``); ``cause``: the message whose
        handling scheduled it, which the lease will name as its causation."""
        self.waiting.setdefault(key, deque()).append([task_id, now])
        if cause is not None:
            self.causes[task_id] = cause

    def depth(self, key: tuple | None = None) -> int:
        """Tasks waiting in one queue, or in all of them."""
        if key is not None:
            return len(self.waiting.get(key, ()))
        return sum(len(q) for q in self.waiting.values())

    def take(self, key: tuple, count: int, now: float, state) -> list[str]:
        """Up to ``count`` task ids to lease now, oldest first, within the task's limits."""
        queue = self.waiting.get(key)
        if not queue:
            return []
        out = []
        kept = deque()
        while queue and len(out) < count:
            entry = queue.popleft()
            task_id, available = entry
            run = state.tasks.get(task_id)
            if run is None or run.status != SCHEDULED or run.inst.status != "RUNNING":
                self.causes.pop(task_id, None)
                continue  # ended meanwhile (cancelled, timed out): Conductor removes it
            if available > now:
                kept.append(entry)
                continue
            if self._over_limit(run, now, state):
                entry[1] = now + self.postpone
                kept.append(entry)
                continue
            out.append(task_id)
            self._count_lease(run, now)
        if kept:
            queue.extendleft(reversed(kept))
        return out

    def _over_limit(self, run, now: float, state) -> bool:
        td = run.step.task_def
        if td is None:
            return False
        name = run.step.name
        if td.concurrent_exec_limit > 0:
            running = self.in_progress.get(name)
            if running:
                for task_id in [t for t in running if getattr(state.tasks.get(t), "status", None)
                                not in ("IN_PROGRESS", SCHEDULED)]:
                    del running[task_id]
                if len(running) >= td.concurrent_exec_limit:
                    return True
        if td.rate_limit_per_frequency > 0:
            window = self.leases.setdefault(name, deque())
            while window and window[0] <= now - td.rate_limit_frequency_in_seconds:
                window.popleft()
            if len(window) >= td.rate_limit_per_frequency:
                return True
        return False

    def _count_lease(self, run, now: float) -> None:
        td = run.step.task_def
        self.leased += 1
        if td is None:
            return
        if td.concurrent_exec_limit > 0:
            self.in_progress.setdefault(run.step.name, {})[run.task_id] = None
        if td.rate_limit_per_frequency > 0:
            self.leases.setdefault(run.step.name, deque()).append(now)

    def next_available(self, key: tuple, now: float) -> float | None:
        """When a task of this queue that is postponed now becomes pollable (None: none is)."""
        queue = self.waiting.get(key)
        if not queue:
            return None
        later = [available for _, available in queue if available > now]
        return min(later) if later else None

    def hold(self, key: tuple, poll: HeldPoll) -> None:
        """Keep a long poll open until a task arrives or it expires."""
        self.held.setdefault(key, deque()).append(poll)

    def next_held(self, key: tuple) -> HeldPoll | None:
        """The oldest open long poll of a queue (removing answered ones)."""
        polls = self.held.get(key)
        while polls:
            poll = polls[0]
            if not poll.answered:
                return poll
            polls.popleft()
        return None

    def clear_node(self, node: str) -> list:
        """A node crashed: the long polls it held are gone (their connections broke); their messages."""
        broken = []
        for polls in self.held.values():
            for poll in polls:
                if poll.node == node and not poll.answered:
                    poll.answered = True
                    broken.append(poll.msg)
        return broken
