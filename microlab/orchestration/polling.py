"""The server side of polling: answering a worker's ``Poll``, holding long polls, leasing tasks.

A worker (:class:`~microlab.orchestration.workers.Worker`) sends ``Poll``
``{"taskType", "count", "timeout", "workerId"}`` to an orchestrator node. The node
takes up to ``count`` tasks from that task type's queue (:mod:`.queues`), within the
task definition's rate and concurrency limits, and for each the decider commits the
lease (the task is IN_PROGRESS from this instant: its ``responseTimeoutSeconds`` and
``timeoutSeconds`` count from here) before the task goes out, one reply per task whose
type is the task name, with ``pollId`` naming the poll it answers; its causation is
the message whose handling scheduled the task (the poll belongs to no transaction), so
the chain runs decision, lease, update. With nothing to give, the poll is held open for ``timeout``
seconds (at most 5, Conductor's ``MAX_POLL_TIMEOUT_MS``), and answered by the first task
queued meanwhile, or by ``NoTask`` when it expires (an empty poll). Conductor's
``ExecutionService.poll`` is the reference:
https://github.com/conductor-oss/conductor/blob/main/core/src/main/java/com/netflix/conductor/service/ExecutionService.java

Every answered poll is a ``poll`` trace record: ``worker``, ``task_type``, ``count``,
``leased`` (0 for an empty poll), ``waited`` (seconds it was held) and ``queue`` (tasks
left waiting in that queue).
"""

from __future__ import annotations

from . import records as rec
from .events import Polled
from .queues import HeldPoll

#: Message types of polling.
POLL = "Poll"
NO_TASK = "NoTask"
#: Conductor refuses a long poll longer than this (ExecutionService.MAX_POLL_TIMEOUT_MS).
MAX_POLL_TIMEOUT = 5.0


class PollServer:
    """One node's answers to polls (the node is an Orchestrator; the queues are the store's)."""

    def __init__(self, node):
        self.node = node

    def on_poll(self, msg) -> None:
        """Lease what is queued now, or hold the poll open, or answer it empty."""
        node = self.node
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        task_type = payload.get("taskType")
        key = (task_type, msg.source)
        count = payload.get("count", 1)
        count = count if isinstance(count, int) and count > 0 else 1
        timeout = payload.get("timeout", 0)
        timeout = min(float(timeout), MAX_POLL_TIMEOUT) if isinstance(timeout, (int, float)) and timeout > 0 else 0.0
        now = node._sys.sim.now
        if self._lease(key, count, msg):
            return
        if timeout > 0:
            held = HeldPoll(msg, node.name, count, now, now + timeout)
            node.queues.hold(key, held)
            node.after(timeout, self._expire, key, held)
            return
        self._empty(key, msg, count, 0.0)

    def _lease(self, key, count: int, msg) -> int:
        node = self.node
        ids = node.queues.take(key, count, node._sys.sim.now, node.state)
        node._lease_batch = len(ids)
        for task_id in ids:
            node._decide(Polled(task_id, msg.source, msg))
        if ids:
            self._record(key, msg, count, len(ids), 0.0)
            node.queues.polls += 1
        return len(ids)

    def _expire(self, key, held: HeldPoll) -> None:
        if held.answered:
            return
        held.answered = True
        self._empty(key, held.msg, held.count, self.node._sys.sim.now - held.since)

    def _empty(self, key, msg, count: int, waited: float) -> None:
        node = self.node
        queues = node.queues
        queues.polls += 1
        queues.empty_polls += 1
        # "idle": no workflow runs at all, so the worker may stop polling until work
        # arrives (a simulator's shortcut that lets a run end; see the README).
        idle = node.state.live == 0 and not queues.depth(key)
        node.reply(msg, NO_TASK, {"taskType": key[0], "idle": idle})
        self._record(key, msg, count, 0, waited)

    def serve(self, key) -> None:
        """A task was queued: answer the oldest held poll of its queue, else wake its worker."""
        node = self.node
        held = node.queues.next_held(key)
        if held is None:
            worker = node._sys.services.get(key[1])
            resume = getattr(worker, "resume_polling", None)
            if resume is not None:
                resume(key[0])
            return
        holder = node.cluster_node(held.node)
        if holder is None or not holder.up:
            held.answered = True
            return
        ids = holder.queues.take(key, held.count, node._sys.sim.now, holder.state)
        if not ids:
            return
        held.answered = True
        holder._lease_batch = len(ids)
        saved = holder._context
        holder._context = held.msg
        try:
            for task_id in ids:
                holder._decide(Polled(task_id, held.msg.source, held.msg))
        finally:
            holder._context = saved
        holder.polls._record(key, held.msg, held.count, len(ids), node._sys.sim.now - held.since)
        holder.queues.polls += 1

    def break_polls(self, lost=()) -> None:
        """The node's process died: every poll it held open, and every poll among ``lost``
        (received and not answered, or on the wire to it), fails at its worker at once, as
        a broken or refused HTTP connection does; the worker polls again after its
        ``polling_interval``, at whichever node serves then. (A server that dies does not
        leave its workers waiting out their request timeouts.)"""
        node = self.node
        system = node._sys
        broken = node.queues.clear_node(node.name)
        broken.extend(msg for msg in lost if msg.type == POLL)
        for msg in broken:
            worker = system.services.get(msg.source)
            fail = getattr(worker, "_poll_lost", None)
            if fail is not None and worker.up:
                task_type = (msg.payload or {}).get("taskType")
                system.sim.schedule(0.0, fail, (worker.incarnation, task_type, msg.id))

    def _record(self, key, msg, count: int, leased: int, waited) -> None:
        node = self.node
        trace = node._sys.trace
        if trace.enabled:
            trace.records.append((node._sys.sim.now, rec.POLL, node.name, msg, {
                "correlation": None, "worker": msg.source, "task_type": key[0], "count": count,
                "leased": leased, "waited": waited, "queue": node.queues.depth(key)}))
