"""Differential tests of the polling semantics: one scenario per task-definition field, run
on the real Conductor server and on the simulator with the same definitions.

A real run is not deterministic, so figures are compared with tolerances, each explained
from Conductor 3.21.14's source (https://github.com/conductor-oss/conductor, tag v3.21.14):

- ``DeciderService`` checks ``pollTimeoutSeconds`` and ``responseTimeoutSeconds`` only when
  it evaluates a workflow; nobody evaluates a waiting workflow but the ``WorkflowSweeper``,
  which should put it back in the decider queue ``pollTimeoutSeconds + 1`` or
  ``responseTimeoutSeconds + 1`` seconds later. On the sqlite queue it does not:
  ``SqliteQueueDAO.setUnackTimeout`` writes the seconds themselves into ``deliver_on`` and
  leaves the message popped, so a workflow is swept once, ``workflowOffsetTimeout`` (2 s
  in :mod:`microlab.real.conductor_server`) after its last decision, and then not again
  for a minute or more. A timeout due after that first sweep therefore waits for the next
  decision; these tests ask for it (``PUT /api/workflow/decide/{id}``, what a sweep does)
  just after the deadline, and compare what the check decides, not when a sweep came.
  The simulator re-checks its deadlines at the exact instant (a README row says so).
- Retry delays: ``DeciderService.retry`` gives the new attempt ``startDelayInSeconds``,
  whole seconds; ``SqliteExecutionDAO`` stamps its ``scheduledTime`` when it is created,
  and ``SqliteQueueDAO`` queues it with ``deliver_on = now + d`` at whole-second
  resolution, but pops anything due within the next second
  (``deliver_on <= datetime(CURRENT_TIMESTAMP, '+1 seconds')``): a delay ``d`` shows in
  the queue somewhere in ``(d - 2, d - 1]`` seconds after ``scheduledTime``. The test
  judges each retry against that window and a log of its own polls (the first poll begun
  once the retry shows must get it), not against a wall-clock allowance for a late poll.

The real server runs with sqlite persistence (see :mod:`microlab.real.conductor_server`),
and two semantics differ there from the simulator (the README's table "Where microlab
simplifies" has both rows): ``SqliteExecutionDAO.exceedsRateLimitPerFrequency`` always
answers false, so ``rateLimitPerFrequency`` gives out every task; and 3.21.14's
``TaskDef`` has no ``maxRetryDelaySeconds`` (later lines added it), so the cap is ignored.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from microlab import System
from microlab.orchestration import Orchestrator, ToyWorker, execution
from microlab.orchestration import records as rec
from microlab.orchestration.conductor import load_workflows, parse_task_def
from microlab.real.client import ConductorAPI
from microlab.real.convert import to_execution
from microlab.real.run import OWNER

#: How long after a deadline we ask for the decision a sweep would make: one HTTP round
#: trip of margin on a loaded 2-core machine (the check itself is exact to the millisecond:
#: ``now - scheduledTime >= pollTimeout``, ``now - updateTime >= responseTimeout``).
DECIDE_AFTER = 0.5
#: A decision asked for ``DECIDE_AFTER`` late ends the task at most this long after its deadline.
DECIDE_LATE = DECIDE_AFTER + 1.5
#: How long a timeout that ends the workflow may take to show on the workflow after it shows on
#: its task (s), on a loaded machine.
SETTLE = 6.0
#: The sqlite queue pops a delayed task up to 2 s early (whole-second ``deliver_on``, popped
#: when due within one second), and from ``d - 1`` s after it was queued at the latest.
RETRY_EARLY = 2.0
#: Between the decider creating a retry (its ``scheduledTime``) and queueing it: two writes
#: in one decision, on the server; our own polls' lateness is not in it (they are logged).
QUEUED_AFTER = 0.5


def _one_task_workflow(name: str) -> dict:
    return {"name": name, "version": 1, "schemaVersion": 2, "ownerEmail": OWNER,
            "tasks": [{"name": name, "taskReferenceName": "a", "type": "SIMPLE"}]}


def _name(tag: str) -> str:
    return f"poll_{tag}_{uuid.uuid4().hex[:6]}"   # a fresh task type: no other poller sees it


class Real:
    """One semantic on the real server, driven by hand through the REST API."""

    def __init__(self, api: ConductorAPI, tag: str, task_def: dict, n: int = 1):
        self.api = api
        self.name = _name(tag)
        self.workflow = _one_task_workflow(self.name)
        api.register([self.workflow], [{"name": self.name, "ownerEmail": OWNER, **task_def}])
        self.ids = [api.start(self.name, {}, version=1, correlation=f"{self.name}-{i}") for i in range(n)]

    def poll(self, count: int) -> list[dict]:
        return self.api.poll(self.name, "microlab-differential", count=count, wait_ms=1000)

    def queued(self, n: int, seconds: float = 10.0) -> int:
        """Wait until ``n`` tasks are in this type's queue (or ``seconds`` pass); the depth.

        Each start decides at once (``WorkflowExecutorOps.startWorkflow``), but on a loaded
        machine the last start's task may reach the queue after a poll has begun."""
        deadline = time.monotonic() + seconds
        while True:
            depth = self.api.request("GET", "/api/tasks/queue/size", params={"taskType": self.name}).json()
            if depth >= n or time.monotonic() > deadline:
                return depth
            time.sleep(0.1)

    def raw(self, i: int = 0) -> dict:
        return self.api.workflow(self.ids[i])

    def wait_for(self, test, seconds: float, i: int = 0) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            wf = self.raw(i)
            if test(wf) or time.monotonic() > deadline:
                return wf
            time.sleep(0.1)

    def timeout_check(self, deadline: float, *, workflow_ends: bool = False) -> tuple[dict, bool]:
        """The workflow once its timeout has been checked after ``deadline`` seconds from
        now, and whether the sweeper did it (else we asked for the decision a sweep makes).

        ``workflow_ends``: the timeout ends the workflow too; wait (at most ``SETTLE``
        seconds, asking for a decision again once) until the server says so."""
        wf = self.wait_for(lambda wf: wf["tasks"][0]["status"] not in ("SCHEDULED", "IN_PROGRESS"),
                           deadline + DECIDE_AFTER)
        swept = wf["tasks"][0]["status"] not in ("SCHEDULED", "IN_PROGRESS")
        if not swept:
            self.decide()
            wf = self.raw()
        # A decide that finds the workflow locked by a sweep returns without deciding
        # (Conductor's ExecutionLockService does not wait for the lock), and a read can land
        # while the sweep is still storing its decision: on a loaded machine CI once saw the
        # task timed out and the workflow still RUNNING.
        for _ in range(2 if workflow_ends else 0):
            wf = self.wait_for(lambda wf: wf["status"] != "RUNNING", SETTLE / 2)
            if wf["status"] != "RUNNING":
                break
            self.decide()
        return wf, swept

    def decide(self) -> None:
        """Ask the server for the decision its sweeper would take on the first workflow."""
        self.api.request("PUT", f"/api/workflow/decide/{self.ids[0]}").raise_for_status()

    def terminate(self) -> None:
        for wf_id in self.ids:
            if self.api.workflow(wf_id).get("status") == "RUNNING":
                self.api.terminate(wf_id, "microlab: differential test done")


def simulate(name: str, task_def: dict, n: int = 1, *, worker: dict | None = None, crash=None,
             fail: int | None = None, until: float | None = None, at: float = 0.0):
    """The same definitions in the simulator; returns (system, orchestrator)."""
    system = System(seed=1, latency=0.01)
    td, faults = parse_task_def({"name": name, **task_def})
    assert not faults, faults
    orchestrator = system.add(Orchestrator(task_routes={name: "w"}, task_defs={name: td}))
    toy = system.add(ToyWorker("w", **(worker or {})))
    orchestrator.register(*load_workflows(_one_task_workflow(name)))
    if fail is not None:
        toy.fail("a", times=fail)
    if crash is not None:
        system.crash("w", **crash)
    for i in range(n):
        orchestrator.start(name, {}, correlation=f"tx{i}", at=at)
    system.run(until=until)
    return system, orchestrator


def sim_leases(system) -> list:
    return [r for r in system.trace.of_kind(rec.TASK) if r.detail["status"] == "IN_PROGRESS"]


@pytest.fixture(scope="module")
def server(conductor):
    return ConductorAPI(conductor.url)


def test_a_worker_takes_up_to_its_free_capacity_per_poll(server):
    real = Real(server, "batch", {"responseTimeoutSeconds": 60}, n=5)
    try:
        assert real.queued(5) == 5      # all five queued before the first poll, as in the simulator
        got = [len(real.poll(3)), len(real.poll(3))]
    finally:
        real.terminate()
    system, _ = simulate(real.name, {"responseTimeoutSeconds": 60}, n=5,
                         worker={"workers": 3, "work_time": 1.0}, at=0.5)  # queued before the poll
    leased = [r.detail["leased"] for r in system.trace.of_kind(rec.POLL) if r.detail["leased"]]
    # Five queued tasks, three free threads: a poll gives out three, the next the other two.
    assert got == [3, 2]
    assert leased == [3, 2] and all(r.detail["count"] <= 3 for r in system.trace.of_kind(rec.POLL))


def test_poll_timeout_times_out_a_task_nobody_polls(server):
    td = {"retryCount": 0, "pollTimeoutSeconds": 2, "responseTimeoutSeconds": 1, "timeoutPolicy": "TIME_OUT_WF"}
    real = Real(server, "polltimeout", td)
    try:
        raw, swept = real.timeout_check(2.0)
    finally:
        real.terminate()
    ex = to_execution(raw, server.workflow)
    task = raw["tasks"][0]
    waited = (task["endTime"] - task["scheduledTime"]) / 1000
    # The worker is down from the start (as no real poller serves this type): it never
    # polls, so the 1 s responseTimeoutSeconds, which only an IN_PROGRESS (polled) task
    # has, never applies, on either side; only pollTimeoutSeconds ends the task.
    system, _ = simulate(real.name, td, crash={"at": 0.0}, until=20)
    sim = execution(system, "tx0")
    sim_timeout = [r for r in system.trace.of_kind(rec.TIMEOUT)]
    assert [r.detail["which"] for r in sim_timeout] == ["poll"]
    for e in (ex, sim):
        assert e.status == "TIMED_OUT"
        assert [(t.status, t.attempt) for t in e.tasks] == [("TIMED_OUT", 1)]
        assert e.tasks[0].reason.startswith("Task poll timed out")
    assert len(sim_timeout) == 1 and sim_timeout[0].time - sim.tasks[0].scheduled == pytest.approx(2.0)
    assert 2.0 <= waited <= 2.0 + DECIDE_LATE, (waited, swept)   # never before the deadline


def test_a_leased_task_whose_worker_goes_silent(server):
    td = {"retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 2, "timeoutSeconds": 0}
    real = Real(server, "silent", td)
    try:
        (leased,) = real.poll(1)          # leased, and the worker never answers
        raw, swept = real.timeout_check(2.0)
        retry = real.poll(1)              # the retry is queued at once (retryDelaySeconds 0)
        for task in retry:
            server.update_task(task, "COMPLETED", {}, "microlab-differential")
        done = real.wait_for(lambda wf: wf["status"] != "RUNNING", 10)
    finally:
        real.terminate()
    first = raw["tasks"][0]
    silent = (first["endTime"] - first["startTime"]) / 1000
    system, _ = simulate(real.name, td, worker={"work_time": 0.5}, crash={"at": 0.1, "duration": 0.5})
    sim = execution(system, "tx0")
    timeout = [r for r in system.trace.of_kind(rec.TIMEOUT) if r.detail["which"] == "response"]
    assert [(t.status, t.attempt) for t in sim.tasks] == [("TIMED_OUT", 1), ("COMPLETED", 2)]
    assert timeout[0].time == pytest.approx(sim_leases(system)[0].time + 2)
    assert first["status"] == "TIMED_OUT" and first["reasonForIncompletion"].startswith("responseTimeout: 2")
    assert timeout[0].detail["seconds"] == 2
    assert 2.0 <= silent <= 2.0 + DECIDE_LATE, (silent, swept)   # counted from the poll
    assert len(retry) == 1 and done["status"] == "COMPLETED"
    ex = to_execution(done, server.workflow)
    assert [(t.status, t.attempt) for t in ex.tasks] == [(t.status, t.attempt) for t in sim.tasks]


def test_rate_limit_per_frequency(server):
    td = {"rateLimitPerFrequency": 1, "rateLimitFrequencyInSeconds": 60, "responseTimeoutSeconds": 60}
    real = Real(server, "rate", td, n=3)
    try:
        got = len(real.poll(3))
    finally:
        real.terminate()
    system, _ = simulate(real.name, td, n=3, worker={"workers": 3}, until=30)
    # The simulator gives out one task per 60 s window (Conductor's rule with Redis); the
    # sqlite server ignores the limit (SqliteExecutionDAO.exceedsRateLimitPerFrequency
    # returns false): the documented difference.
    assert len(sim_leases(system)) == 1
    assert got == 3


def test_concurrent_exec_limit(server):
    td = {"concurrentExecLimit": 1, "responseTimeoutSeconds": 60}
    real = Real(server, "concurrency", td, n=3)
    try:
        first = real.poll(3)
        server.update_task(first[0], "COMPLETED", {}, "microlab-differential")
        # The other two were postponed by queueTaskMessagePostponeSecs (60 s) when refused.
        again = len(real.poll(3))
    finally:
        real.terminate()
    system, _ = simulate(real.name, td, n=3, worker={"workers": 3, "work_time": 0.5}, until=30)
    leases = sim_leases(system)
    assert len(first) == 1 and again == 0
    assert len(leases) == 1          # within the first 30 s: the postponed two wait 60 s
    done = [r for r in system.trace.of_kind(rec.TASK) if r.detail["status"] == "COMPLETED"]
    assert len(done) == 1


RETRIES = {   # retryLogic -> (task definition, delays Conductor 3.21.14 computes)
    "fixed": ({"retryLogic": "FIXED", "retryDelaySeconds": 1}, [1, 1]),
    "linear": ({"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 1, "backoffScaleFactor": 2}, [2, 4]),
    # EXPONENTIAL_BACKOFF ignores backoffScaleFactor in 3.21.14: retryDelaySeconds * 2^retryCount.
    "exponential": ({"retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 1, "backoffScaleFactor": 2},
                    [1, 2]),
    "capped": ({"retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 1, "backoffScaleFactor": 2,
                "maxRetryDelaySeconds": 3}, [2, 4]),
}


class Retrier:
    """One retry scenario on the real server: a poller of our own fails the first two
    attempts and completes the third, and logs every poll with the machine's clock (the
    server's clock too: ``startTime`` and ``scheduledTime`` are epoch milliseconds)."""

    def __init__(self, api: ConductorAPI, kind: str, task_def: dict):
        self.real = Real(api, kind, task_def)
        #: ``(began, ended, task ids)`` of every poll, in epoch seconds.
        self.polls: list = []

    def drive(self, seconds: float = 30.0) -> dict:
        api, real = self.real.api, self.real
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            began = time.time()
            tasks = api.poll(real.name, "microlab-differential", count=1, wait_ms=100)
            self.polls.append((began, time.time(), [t["taskId"] for t in tasks]))
            for task in tasks:
                done = task.get("retryCount", 0) >= 2
                api.update_task(task, "COMPLETED" if done else "FAILED", {}, "microlab-differential",
                                None if done else "failed on purpose (differential test)")
                if done:
                    return real.wait_for(lambda wf: wf["status"] != "RUNNING", 10)
        return real.raw()


def test_retry_delays_side_by_side(server):
    """Each retry is polled no earlier than its delay allows, and by the first poll begun once
    the sqlite queue shows it: judged against the server's own clock (the retry's
    ``scheduledTime``, set when the decider creates it) and the log of our own polls, so a
    loaded machine, a slow decision or a late poll cannot make it fail, and a wrong delay can."""
    drivers, raws, errors = {}, {}, []
    for kind, (td, _) in RETRIES.items():
        drivers[kind] = Retrier(server, kind, {"retryCount": 2, "responseTimeoutSeconds": 10, **td})

    def one(kind):
        try:
            raws[kind] = drivers[kind].drive()
        except Exception as exc:  # reported below, with the kind
            errors.append((kind, exc))
        finally:
            drivers[kind].real.terminate()

    threads = [threading.Thread(target=one, args=(kind,)) for kind in RETRIES]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for kind, (td, expected) in RETRIES.items():
        driver, raw = drivers[kind], raws[kind]
        ex = to_execution(raw, server.workflow)
        assert [(t.status, t.attempt) for t in ex.attempts("a")] == [("FAILED", 1), ("FAILED", 2), ("COMPLETED", 3)]
        attempts = sorted(raw["tasks"], key=lambda t: t["retryCount"])
        for before, retry, d in zip(attempts, attempts[1:], expected):
            scheduled, started = retry["scheduledTime"] / 1000, retry["startTime"] / 1000
            # The retry is created once the failure is in (the decision that follows the update).
            assert scheduled >= before["endTime"] / 1000, (kind, before, retry)
            # Never early: queued at deliver_on = whole second + d, popped from deliver_on - 1 s.
            assert started - scheduled >= d - RETRY_EARLY, (kind, d, started - scheduled)
            # Not late: the first poll we began after it showed (at most d - 1 s after its
            # creation, plus QUEUED_AFTER) got it.
            shown = scheduled + d - 1 + QUEUED_AFTER
            got = next(p for p in driver.polls if retry["taskId"] in p[2])
            missed = [p for p in driver.polls if shown <= p[0] < got[0]]
            assert not missed, (kind, d, started - scheduled, [(round(p[0] - scheduled, 2), p[2]) for p in driver.polls])
        system, _ = simulate(driver.real.name, {"retryCount": 2, "responseTimeoutSeconds": 10, **td}, fail=2)
        sim = [r.detail["delay"] for r in system.trace.of_kind(rec.RETRY)]
        assert execution(system, "tx0").status == "COMPLETED"
        if kind == "capped":
            # 3.21.14 has no maxRetryDelaySeconds (the definition it keeps has none, so it
            # waits 2 s and 4 s); the simulator caps, as later Conductor does (README row).
            kept = server.request("GET", f"/api/metadata/taskdefs/{driver.real.name}").json()
            assert kept["backoffScaleFactor"] == 2 and "maxRetryDelaySeconds" not in kept
            assert sim == [2, 3]
        else:
            assert sim == expected, (kind, sim)
