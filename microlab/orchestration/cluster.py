"""A cluster of stateless orchestrator nodes over one store, as Conductor runs in production.

``Orchestrator(servers=3)`` builds three nodes, ``orchestrator``, ``orchestrator-2`` and
``orchestrator-3``, and their store ``orchestrator-store`` (:mod:`.store`). Every node
is a full orchestrator service (mailbox, workers, work time: it queues under load) and
runs the same pure decider, but keeps nothing of its own: instances, the log, the task
queues, the workflow locks and the decider queue are all in the store.

Routing (a load balancer, modelled simply): every request goes to the next node that is
up, in turn (round robin). A worker's poll and its update, a client's start, may each
reach a different node. The load balancer knows which nodes are up (its health checks);
it does not know whether the store is.

Deciding: a node takes the workflow's lock (:mod:`.lease`) when one of its workers
starts on a message about that workflow, decides when the work is done, commits to the
store and gives the lock back. A node that finds the lock held by a node that crashed
keeps the update in the store (Conductor's ``updateTask`` writes the task before it
decides) and leaves the decision to the sweeper (:mod:`.sweeper`). Deadlines (a retry
falling due, a timeout) are entries of the decider queue, swept by whichever node is up.

Crashing a node: the others go on at once; no standby takes its place and nothing is
replayed (the failover time :func:`.failover.failover` reads from a trace is the retries
below, a lease when a lock was held). What the
crashed node held is lost like a broken connection: requests in flight to it, in its
mailbox or being handled fail at their sender; a worker's client (or the system's client)
tries again through the load balancer after ``request_retry_delay`` (up to ``request_retries``
times; a service with a retry of its own keeps to it), and long polls it
held break, so their workers poll again. A workflow whose lock it held waits for the
lease to expire (``lock_lease_time``, 60 s as in Conductor), then the sweeper decides it.

Crashing the store stalls everything: every node refuses every request, polls are
answered "no task, wait" and the sweeper stops. ``store.stats()`` counts what was refused.
"""

from __future__ import annotations

from ..errors import MicrolabError
from ..messages import COMMAND, REPLY
from ..services import Client, Service
from . import records as rec
from .events import CompleteTask, Polled, TaskResult, Terminate, TimerFired
from .lease import LOCK_LEASE_TIME, LOCK_TIME_TO_TRY, may_lock
from .orchestrator import COMPLETE_TASK, START_WORKFLOW, TERMINATE_WORKFLOW, Orchestrator
from .polling import NO_TASK, POLL
from .store import Store
from .workers import Worker
from .sweeper import MAX_POSTPONE, WORKFLOW_OFFSET_TIMEOUT, decide_backoff, next_sweep, sweep_backoff

#: Requests a node answers for a client or a worker (they fail at their sender if the node dies).
REQUESTS = frozenset({START_WORKFLOW, "TaskCompleted", "TaskFailed", COMPLETE_TASK, TERMINATE_WORKFLOW})
#: How often a client or worker tries a failed request again, and after how long (microlab's choice).
REQUEST_RETRIES = 3
REQUEST_RETRY_DELAY = 1.0
#: Knobs only a cluster has, with their defaults (Conductor's, see :mod:`.lease` and :mod:`.sweeper`).
CLUSTER_KNOBS = {"lock_lease_time": LOCK_LEASE_TIME, "lock_time_to_try": LOCK_TIME_TO_TRY,
                 "workflow_offset_timeout": WORKFLOW_OFFSET_TIMEOUT, "max_postpone": MAX_POSTPONE,
                 "request_retries": REQUEST_RETRIES, "request_retry_delay": REQUEST_RETRY_DELAY}


class ClusterNode(Orchestrator):
    """One stateless node of an orchestrator cluster (see the module docstring).

    The first node (the one ``Orchestrator(servers=N)`` returns) also answers the
    cluster's queries: ``instances``, ``status``, ``nodes``, ``store``.
    """

    def __init__(self, name: str | None = None, *, servers: int = 1, _first=None, **kw):
        knobs = {k: kw.pop(k, default) for k, default in CLUSTER_KNOBS.items()}
        if _first is not None:
            super().__init__(name, workers=kw.get("workers"), work_time=kw.get("work_time"), _peer=_first)
            self.state = _first.state  # stateless: the instances are the store's
            self.store = _first.store
            self.nodes = _first.nodes
            self.knobs = _first.knobs
            self._init_node()
            return
        if kw.get("standby"):
            raise MicrolabError("Orchestrator(servers=...) and standby=True are two designs for one problem: "
                                "a cluster has no standby (every node serves); pick one")
        if kw.get("dispatch", "poll") != "poll":
            raise MicrolabError(f"Orchestrator(servers={servers}) needs dispatch='poll': a worker's update may "
                                "reach any node, so workers poll, as Conductor's do (a pushed command's reply "
                                "would go back to the node that sent it, which may be down)")
        for key, value in knobs.items():
            low = 0 if key in ("request_retries",) else 1e-9
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise MicrolabError(f"Orchestrator(servers=...): {key} must be a number "
                                    f"{'>= 0' if low == 0 else '> 0'}, got {value!r}")
        super().__init__(name, **kw)
        self.knobs = knobs
        self.store = Store(f"{self.name}-store", self.log, self.state, self.queues,
                           lock_lease_time=knobs["lock_lease_time"], lock_time_to_try=knobs["lock_time_to_try"],
                           workflow_offset_timeout=knobs["workflow_offset_timeout"],
                           max_postpone=knobs["max_postpone"])
        self.nodes = [self]
        self.store.nodes = self.nodes
        self._rr = -1
        self._init_node()
        for i in range(2, servers + 1):
            self.nodes.append(ClusterNode(f"{self.name}-{i}", workers=self.workers, work_time=self.work_time,
                                          _first=self))
        self.log.active = None  # every node decides; nobody is "the active one"

    def _init_node(self) -> None:
        #: Requests received and not handled yet (lost if this node crashes): message id -> message.
        self._open: dict = {}
        #: Locks taken when a worker started on a message: message id -> workflow id.
        self._held: dict = {}
        #: Requests sent again by a client: message id -> how many tries it has had.
        self._attempts: dict = {}

    # -- joining a system: the first node brings the store and the other nodes ---------------

    @property
    def system(self):
        """The system this node belongs to (None before ``system.add``)."""
        return self._sys

    @system.setter
    def system(self, value):
        Orchestrator.system.fset(self, value)
        if value is not None and self.nodes[0] is self:
            for service in [self.store] + self.nodes[1:]:
                if service.system is None:
                    value.add(service)

    # -- routing: the load balancer ------------------------------------------------------------

    def route(self) -> str | None:
        """The node the next request goes to: the next one that is up, in turn (None: all are down)."""
        first = self.nodes[0]
        up = [n for n in self.nodes if n.up]
        if not up:
            return None
        first._rr += 1
        return up[first._rr % len(up)].name

    @property
    def active(self) -> str:
        """Where a request sent now goes (each read is one request through the load balancer)."""
        return self.route() or self.nodes[0].name

    def _poll_target(self) -> str | None:
        return self.route()

    def _inject_start(self, args) -> None:
        payload, correlation = args
        # Sent now, to the node the load balancer picks now (not one instant later, when it may be down).
        system = self._sys
        system._inject((system.client, self.active, START_WORKFLOW, payload, correlation, COMMAND, None))

    def cluster_node(self, name: str) -> "ClusterNode | None":
        """The node called ``name``, or None."""
        for node in self.nodes:
            if node.name == name:
                return node
        return None

    def _view(self):
        return self.store.state  # the store answers queries, even about a crashed node's work

    # -- taking the lock when work starts ----------------------------------------------------

    def _receive(self, msg) -> None:
        if msg.type in REQUESTS:
            self._open[msg.id] = msg
        if self.busy < self.workers:
            self._lock_for(msg)
        Orchestrator._receive(self, msg)

    def _start(self, msg) -> None:
        self._lock_for(msg)
        Service._start(self, msg)

    def _lock_for(self, msg) -> None:
        store = self.store
        if not store.up:
            return
        wf_id = self._workflow_of_message(msg)
        if wf_id is None:
            return
        now = self._sys.sim.now
        if may_lock(store.locks.get(wf_id), self.name, self.incarnation, now, False):
            store.locks.take(wf_id, self.name, self.incarnation, now)
            self._held[msg.id] = wf_id

    def _workflow_of_message(self, msg) -> str | None:
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        if msg.type in ("TaskCompleted", "TaskFailed") or (msg.type == COMPLETE_TASK and "taskId" in payload):
            run = self.store.state.tasks.get(payload.get("taskId"))
            return run.inst.id if run is not None else None
        if msg.type in (COMPLETE_TASK, TERMINATE_WORKFLOW):
            return payload.get("workflowId")
        return None

    def _workflow_of_event(self, event) -> str | None:
        kind = type(event)
        if kind is TaskResult or kind is CompleteTask or kind is Terminate:
            return self._workflow_of_message(event.msg) if event.msg is not None else None
        if kind is TimerFired:
            return event.workflow_id
        return None  # a start makes a new workflow; a lease (Polled) changes one task, as Conductor's poll

    # -- handling: refused while the store is down -----------------------------------------

    def _refusal(self, msg):
        """Every node of a cluster decides; none can while the store is down."""
        return self.store.refusal(self.name)

    def _refuse(self, msg, reason: str) -> None:
        """Refuse a request while the store is down; its sender tries again later."""
        store = self.store
        store.refused += 1
        self._stale(msg, reason, store=store.name)
        if msg.type == POLL:
            # "No task; wait": the worker parks its loop until the store is back.
            self.reply(msg, NO_TASK, {"taskType": (msg.payload or {}).get("taskType"), "idle": True})
        elif msg.type in REQUESTS:
            self._retry_later(msg)

    def handle(self, msg) -> None:
        """Handle a request, unless the store is down: then refuse it, and its sender retries later."""
        self._open.pop(msg.id, None)
        store_up = self.store.up
        try:
            Orchestrator.handle(self, msg)
        finally:
            wf_id = self._held.pop(msg.id, None)
            if wf_id is not None and store_up:
                self.store.locks.release(wf_id, self.name, self.incarnation)

    def _decide(self, event) -> None:
        store = self.store
        wf_id = self._workflow_of_event(event)
        if wf_id is None:
            Orchestrator._decide(self, event)
            return
        now = self._sys.sim.now
        lease = store.locks.get(wf_id)
        if not may_lock(lease, self.name, self.incarnation, now, self._deciding(lease)):
            # The try times out (lockTimeToTry): keep the update, let the sweeper decide.
            store.pending.setdefault(wf_id, []).append((event, self._context))
            self._locked_out(wf_id, lease, now + decide_backoff(store.lock_time_to_try), self._context,
                             self._context)
            return
        store.locks.take(wf_id, self.name, self.incarnation, now)
        try:
            Orchestrator._decide(self, event)
        finally:
            store.locks.release(wf_id, self.name, self.incarnation)
        inst = store.state.instances.get(wf_id)
        if inst is not None and inst.status == "RUNNING" and wf_id not in store.decider:
            store.sweep_at(wf_id, next_sweep(None, now, store.workflow_offset_timeout, store.max_postpone))

    def _locked_out(self, wf_id: str, lease, again: float, cause, msg) -> None:
        """Another node holds the workflow's lock: count it, sweep the workflow at ``again``, record it."""
        store = self.store
        store.locks.refused += 1
        store.sweep_at(wf_id, again, cause)
        self._sys.trace.record(self._sys.sim.now, rec.LOCK, self.name, msg, correlation=self._correlation_of(wf_id),
                               workflow_id=wf_id, holder=lease.node, node=self.name, expires=lease.expires)

    def _deciding(self, lease) -> bool:
        """Whether a lock's holder is up, in the life that took it (then its decision ends soon)."""
        if lease is None:
            return False
        node = self.cluster_node(lease.node)
        return node is not None and node.up and node.incarnation == lease.incarnation

    def _correlation_of(self, wf_id: str):
        inst = self.store.state.instances.get(wf_id)
        return inst.correlation if inst is not None else None

    # -- deadlines live in the store's decider queue ----------------------------------------

    def _set_wake(self, wf_id: str, due) -> None:
        store = self.store
        inst = store.state.instances.get(wf_id)
        if inst is None or inst.status != "RUNNING":
            store.decider.remove(wf_id)
            return
        now = self._sys.sim.now
        store.sweep_at(wf_id, next_sweep(due, now, store.workflow_offset_timeout, store.max_postpone), self._context)

    def sweep(self, wf_id: str, cause=None) -> None:
        """The sweeper: decide a workflow from the decider queue under its lock (Conductor's ``sweep``)."""
        store = self.store
        now = self._sys.sim.now
        store.sweeps += 1
        lease = store.locks.get(wf_id)
        if not may_lock(lease, self.name, self.incarnation, now, self._deciding(lease)):
            self._locked_out(wf_id, lease, now + sweep_backoff(store.locks.lease_time, store.max_postpone),
                             cause, None)
            return
        pending = store.pending.pop(wf_id, [])
        if pending:
            store.resumed += 1
            self._sys.trace.record(now, rec.SWEEP, self.name, None, correlation=self._correlation_of(wf_id),
                                   workflow_id=wf_id, pending=len(pending))
        saved = self._context
        try:
            for event, ctx in pending:
                self._context = ctx
                self._decide(event)
            self._context = cause
            self._decide(TimerFired(wf_id))
        finally:
            self._context = saved

    # -- crash and restart: nothing to replay ------------------------------------------------

    def on_crash(self) -> None:
        """Lose only what was in flight: requests fail at their senders; held locks stay until they expire."""
        system = self._sys
        self._to_serve = []
        lost = list(self._open.values())
        lost.extend(self._polls_in.values())
        self._open.clear()
        self._polls_in.clear()
        self._held.clear()  # the locks themselves stay leased in the store: orphaned
        # Messages on the wire to this node fail in the order they would have arrived.
        lost.extend(system.network.on_the_wire_to(self.name))
        for msg in lost:
            if msg.type in REQUESTS:
                self._retry_later(msg)
        # Long polls held here break; their workers notice at once and poll again.
        self.polls.break_polls(lost)

    def _retry_later(self, msg) -> None:
        """The sender's client saw the request fail: it tries again through the load balancer.

        Only for senders whose client library would: workers (their updates) and the
        system's client. A service with its own retry (the scenarios' order owner asks
        again every second with an idempotency key) is left to it.
        """
        sender = self._sys.services.get(msg.source)
        if not isinstance(sender, (Worker, Client)):
            return
        first = self.nodes[0]
        attempt = first._attempts.pop(msg.id, 0) + 1
        if attempt > self.knobs["request_retries"]:
            return
        self._sys.sim.schedule(self.knobs["request_retry_delay"], first._resend, (msg, attempt))

    def _resend(self, args) -> None:
        msg, attempt = args
        sender = self._sys.services.get(msg.source)
        if sender is None or not sender.up:
            return
        target = self.route()
        if target is None:
            self._attempts[msg.id] = attempt
            self._retry_later(msg)
            return
        again = sender.send(target, msg.type, msg.payload, kind=REPLY if msg.kind == REPLY else COMMAND,
                            correlation=msg.correlation)
        self._attempts[again.id] = attempt
        self._sys.trace.record(self._sys.sim.now, rec.STALE, sender.name, again, correlation=msg.correlation,
                               reason=f"request #{msg.id} failed (a node crashed or the store was down); "
                                      f"sent again, try {attempt + 1}", resent_of=msg.id)

    def on_restart(self) -> None:
        """A node comes back empty-handed and serves at once (it has nothing to replay)."""
        system = self._sys
        system.trace.record(system.sim.now, rec.ROLE, self.name, role="node", active=None)
        self.store.arm()
        self._wake_pollers()
