"""The cluster's one durable store: the log, the workflow state, the queues, the locks.

Conductor's servers keep nothing that matters in memory. Workflows and tasks live in
the execution store (Redis, Postgres, Cassandra...), the task queues and the decider
queue in the queue store, the workflow locks in the lock service. Any server can decide
any workflow, because all of it is shared. microlab models all of that as one service,
``<orchestrator>-store``, with:

- ``log`` (the :class:`~microlab.orchestration.log.DurableLog`) and ``state`` (the
  instances it describes, shared by every node);
- ``queues`` (the task queues polling workers take tasks from);
- ``locks`` (:class:`~microlab.orchestration.lease.WorkflowLocks`);
- ``decider`` (:class:`~microlab.orchestration.sweeper.DeciderQueue`) and the
  decisions that had to wait for a lock (``pending``);
- one timer: the earliest entry of the decider queue, handed to a sweeper on a node
  that is up when it falls due.

It is a service so that it can crash (``faults.crash("orchestrator-store", at=...)``):
it is the single point of failure left once the deciders are many. While it is down no
node can read or write anything, so every request is refused (``refused`` counts them)
and every workflow stalls; nothing is lost (the README says why microlab's store never
loses data), and when it comes back the sweeper picks up where it stopped.
"""

from __future__ import annotations

from .. import trace as tr
from ..services import Service
from .lease import LOCK_LEASE_TIME, LOCK_TIME_TO_TRY, WorkflowLocks
from .sweeper import MAX_POSTPONE, WORKFLOW_OFFSET_TIMEOUT, DeciderQueue
from .wakeups import Alarm


class Store(Service):
    """The durable store shared by every node of an orchestrator cluster (see the module docstring)."""

    def __init__(self, name: str, log, state, queues, *, lock_lease_time: float = LOCK_LEASE_TIME,
                 lock_time_to_try: float = LOCK_TIME_TO_TRY,
                 workflow_offset_timeout: float = WORKFLOW_OFFSET_TIMEOUT, max_postpone: float = MAX_POSTPONE):
        super().__init__(name)
        self.log = log
        self.state = state
        self.queues = queues
        self.locks = WorkflowLocks(lock_lease_time)
        self.lock_time_to_try = lock_time_to_try
        self.workflow_offset_timeout = workflow_offset_timeout
        self.max_postpone = max_postpone
        self.decider = DeciderQueue()
        #: Workflow id -> ``[(event, cause), ...]``: updates persisted while another node held the lock.
        self.pending: dict = {}
        #: Requests refused because the store was down (the counter-case, measured).
        self.refused = 0
        #: Sweeps run, and sweeps that resumed decisions left pending by a lock.
        self.sweeps = 0
        self.resumed = 0
        #: The nodes whose sweepers pop the decider queue (set by the cluster).
        self.nodes: list = []
        self._rr = 0
        #: The decider queue's one timer.
        self.alarm = Alarm(self, self._sweep_due)
        #: Since when the store is down (None while it is up).
        self.down_since: float | None = None

    def handle(self, msg) -> None:
        """The store answers no messages: nodes read and write it directly."""
        self.system.trace.record(self.system.sim.now, tr.DROP, self.name, msg,
                               reason=f"{self.name} is the orchestrators' store; send requests to a node")

    def refusal(self, node: str) -> str | None:
        """Why ``node`` can do nothing now (None: the store is up)."""
        if self.up:
            return None
        return f"the store {self.name} is down: {node} can read and commit nothing"

    # -- the decider queue's one timer -------------------------------------------------------

    def sweep_at(self, workflow_id: str, due: float, cause=None) -> None:
        """Put a workflow on the decider queue, visible at ``due``."""
        self.decider.push(workflow_id, due, cause)
        if self.up and (self.alarm.at is None or due < self.alarm.at):
            self.arm()

    def arm(self) -> None:
        """Set the one timer for the earliest visible entry (nothing while the store is down)."""
        # Set anew even when the earliest is unchanged (only a node's restart asks then),
        # where a node's WakeTimer keeps its timer: the new timer goes off after whatever
        # was scheduled for that same instant meanwhile. Kept so that no run changes its
        # order; the runs checked (cluster, node and store crashes) record the same trace
        # under either rule, but a tie at one instant could go the other way.
        due = self.decider.next_due()
        if due is None or not self.up or self.system is None:
            self.alarm.cancel()
        else:
            self.alarm.set(due)

    def _sweep_due(self) -> None:
        now = self.system.sim.now
        due = self.decider.pop_due(now)
        for wf_id, cause in due:
            node = self.sweeper_node()
            if node is None:
                # No node is up: the entry stays; a node that comes back re-arms the timer.
                self.decider.push(wf_id, now, cause)
                continue
            node.sweep(wf_id, cause)
        if self.sweeper_node() is not None:
            self.arm()

    def sweeper_node(self):
        """The next node that is up, in turn (each node runs sweeper threads), or None."""
        up = [n for n in self.nodes if n.up]
        if not up:
            return None
        self._rr += 1
        return up[self._rr % len(up)]

    # -- crash and restart --------------------------------------------------------------------

    def on_crash(self) -> None:
        """Everything stays on disk; the timer stops, and so does every node's work."""
        self.alarm.forget()
        self.down_since = self.system.sim.now

    def on_restart(self) -> None:
        """Back: the sweeper resumes, and polling workers that were told to wait poll again."""
        self.down_since = None
        self.arm()
        up = [n for n in self.nodes if n.up]
        if up:
            up[0]._wake_pollers()

    def stats(self) -> dict:
        """Figures of the run so far: refused requests, sweeps, lock conflicts, pending decisions."""
        return {"up": self.up, "refused": self.refused, "sweeps": self.sweeps, "resumed": self.resumed,
                "lock_conflicts": self.locks.refused, "locks_held": len(self.locks.leases),
                "pending": sum(len(v) for v in self.pending.values()), "decider_queue": len(self.decider)}
