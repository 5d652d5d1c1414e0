"""Polling workers, as in Conductor: task queues, long polls, leases, and the task-definition limits."""

import contextlib
import warnings

import pytest

from microlab import Constant, System, metrics, scenarios
from microlab.orchestration import Orchestrator, TaskFailed, ToyWorker, Worker, execution, workflow
from microlab.orchestration import model as m
from microlab.orchestration import records as rec
from microlab.orchestration.workers import UnpolledTaskWarning
from microlab.trace import SEND


def setup(*defs, worker_kw=None, seed=1, **orch_kw):
    system = System(seed=seed, latency=0.01)
    names = {t.name for wf in defs for _, t in wf.walk() if t.type == m.SIMPLE}
    orch_kw.setdefault("task_routes", {n: "w" for n in names})
    orchestrator = system.add(Orchestrator(**orch_kw))
    worker = system.add(ToyWorker("w", **(worker_kw or {})))
    orchestrator.register(*defs)
    return system, orchestrator, worker


def start_many(orchestrator, name, n, spacing=0.0, at=0.0):
    for i in range(n):
        orchestrator.start(name, {}, correlation=f"tx{i}", at=at + i * spacing)


def leases(system, ref=None):
    return [r for r in system.trace.of_kind(rec.TASK)
            if r.detail["status"] == m.IN_PROGRESS and (ref is None or r.detail["ref"] == ref)]


def test_polling_is_the_default_and_every_poll_lease_and_update_is_in_the_trace():
    system, orchestrator, worker = setup(workflow("wf").simple("a").build())
    assert orchestrator.dispatch == "poll"
    orchestrator.start("wf", {}, correlation="tx")
    system.run()
    assert execution(system, "tx").status == m.COMPLETED
    sent = [r.message for r in system.trace.of_kind(SEND)]
    polls = [msg for msg in sent if msg.type == "Poll"]
    assert polls and all(msg.source == "w" and msg.destination == "orchestrator" for msg in polls)
    lease = [msg for msg in sent if msg.type == "a"]
    # The lease answers a poll (it names it) but is caused by the decision that scheduled
    # the task: here the start.
    assert len(lease) == 1 and lease[0].kind == "reply" and lease[0].payload["pollId"] in {p.id for p in polls}
    assert lease[0].causation == next(msg.id for msg in sent if msg.type == "StartWorkflow")
    assert [msg.type for msg in sent if msg.source == "w" and msg.type != "Poll"] == ["TaskCompleted"]
    answered = system.trace.of_kind(rec.POLL)
    assert sum(r.detail["leased"] for r in answered) == 1
    assert any(r.detail["leased"] == 0 for r in answered)  # empty polls are recorded too
    assert [msg for msg in sent if msg.type == "NoTask"]
    assert leases(system)[0].detail["polled"] is True
    assert system.conservation().ok


def _chain(system, msg):
    """The causation chain ending at ``msg``, as ``source>destination:type``, first first."""
    sent = {r.message.id: r.message for r in system.trace.of_kind(SEND)}
    out = []
    while msg is not None:
        out.append(f"{msg.source}>{msg.destination}:{msg.type}")
        msg = sent.get(msg.causation)
    return out[::-1]


@pytest.mark.parametrize("dispatch", ["poll", "push"])
def test_a_task_s_causation_runs_from_the_decision_that_scheduled_it_to_its_update(dispatch):
    system, orchestrator, worker = setup(workflow("wf").simple("a").simple("b").simple("c", retries=1).build(),
                                         dispatch=dispatch)
    worker.fail("c", times=1)
    system.inject("orchestrator", "StartWorkflow", {"name": "wf", "input": {}}, correlation="tx", at=0.5)
    system.run()
    assert execution(system, "tx").status == m.COMPLETED
    sent = [r.message for r in system.trace.of_kind(SEND)]
    last = [msg for msg in sent if msg.type == "TaskCompleted" and msg.correlation == "tx"][-1]
    # Start, then each task and its update, the retry of c caused by c's failure: the
    # same chain whether the worker polls or is pushed to (polls are in no transaction).
    assert _chain(system, last) == [
        "client>orchestrator:StartWorkflow",
        "orchestrator>w:a", "w>orchestrator:TaskCompleted",
        "orchestrator>w:b", "w>orchestrator:TaskCompleted",
        "orchestrator>w:c", "w>orchestrator:TaskFailed",
        "orchestrator>w:c", "w>orchestrator:TaskCompleted"]
    assert metrics.hops_per_transaction(system.trace)["tx"] == 9


def test_the_order_saga_s_hops_are_the_same_under_poll_and_push():
    # Before the lease named the scheduling decision as its cause, polling showed 3 hops
    # (poll, task, update): the chain restarted at every poll.
    hops = {d: scenarios.order_saga(orders=5, dispatch=d).metrics["hops_per_transaction"] for d in ("poll", "push")}
    assert hops == {"poll": 10, "push": 10}


def test_push_stays_available_as_a_named_option():
    system, orchestrator, worker = setup(workflow("wf").simple("a").build(), dispatch="push")
    orchestrator.start("wf", {}, correlation="tx")
    system.run()
    types = [r.message.type for r in system.trace.of_kind(SEND)]
    assert "Poll" not in types and types.count("a") == 1
    assert execution(system, "tx").status == m.COMPLETED


def test_a_bad_dispatch_mode_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="dispatch is one of 'push', 'poll'"):
        Orchestrator(dispatch="pull")


def test_a_worker_takes_up_to_its_free_capacity_per_poll_and_the_queue_holds_the_rest():
    system, orchestrator, worker = setup(workflow("wf").simple("a").build(),
                                         worker_kw=dict(workers=3, work_time=Constant(1.0)))
    start_many(orchestrator, "wf", 7, at=0.5)  # the idle worker has stopped polling by then
    system.run()
    assert all(execution(system, f"tx{i}").status == m.COMPLETED for i in range(7))
    asked = [r.detail for r in system.trace.of_kind(rec.POLL) if r.detail["leased"]]
    assert max(d["count"] for d in asked) <= 3 and max(d["leased"] for d in asked) == 3
    assert max(d["queue"] for d in asked) >= 3  # the rest waited in the server's queue, not at the worker


def test_response_timeout_counts_from_the_poll_not_from_scheduling():
    # One slow worker slot: the second task waits in the queue longer than the response
    # timeout, and must not time out for that.
    wf = workflow("wf").simple("a", response_timeout=1.5, retries=0).build()
    system, orchestrator, worker = setup(wf, worker_kw=dict(workers=1, work_time=Constant(1.0)))
    start_many(orchestrator, "wf", 2)
    system.run()
    assert [execution(system, f"tx{i}").status for i in range(2)] == [m.COMPLETED, m.COMPLETED]
    second = leases(system, "a")[1]
    scheduled = [r for r in system.trace.of_kind(rec.TASK)
                 if r.detail["task_id"] == second.detail["task_id"] and r.detail["status"] == m.SCHEDULED][0]
    assert second.time - scheduled.time > 1.0  # it waited in the queue for the worker


def test_a_leased_task_whose_worker_goes_silent_times_out_after_response_timeout():
    wf = workflow("wf").simple("a", response_timeout=2, retries=1, retry_delay=0).build()
    system, orchestrator, worker = setup(wf, worker_kw=dict(work_time=Constant(0.5)))
    orchestrator.start("wf", {}, correlation="tx")
    system.crash("w", at=0.1, duration=0.5)  # it loses the task it leased
    system.run()
    timeouts = [r for r in system.trace.of_kind(rec.TIMEOUT) if r.detail["which"] == "response"]
    assert len(timeouts) == 1
    first = leases(system, "a")[0]
    assert timeouts[0].time == pytest.approx(first.time + 2)
    assert execution(system, "tx").status == m.COMPLETED  # the retry was polled after the restart


def test_poll_timeout_times_out_a_task_that_no_worker_polls():
    wf = workflow("wf").simple("a", poll_timeout=3, timeout_policy="RETRY", retries=0).build()
    system, orchestrator, worker = setup(wf)
    system.crash("w", at=0.0)
    orchestrator.start("wf", {}, correlation="tx", at=0.5)
    system.run(until=20)
    timeouts = [r for r in system.trace.of_kind(rec.TIMEOUT) if r.detail["which"] == "poll"]
    assert len(timeouts) == 1 and timeouts[0].time == pytest.approx(0.51 + 3, abs=0.02)
    ex = execution(system, "tx")
    assert ex.status == m.TIMED_OUT and "Task poll timed out" in ex.tasks[0].reason


def test_rate_limit_per_frequency_gives_out_at_most_n_tasks_per_window():
    wf = workflow("wf").simple("a", rate_limit=2, rate_limit_window=1).build()
    system, orchestrator, worker = setup(wf, worker_kw=dict(workers=10))
    orchestrator.queues.postpone = 0.5  # Conductor waits 60 s before offering a limited task again
    start_many(orchestrator, "wf", 6)
    system.run()
    times = sorted(r.time for r in leases(system, "a"))
    assert len(times) == 6
    for t in times:
        assert sum(1 for u in times if t - 1 < u <= t) <= 2


def test_concurrent_exec_limit_keeps_at_most_n_in_progress():
    wf = workflow("wf").simple("a", concurrency=1).build()
    system, orchestrator, worker = setup(wf, worker_kw=dict(workers=4, work_time=Constant(0.3)))
    orchestrator.queues.postpone = 0.1
    start_many(orchestrator, "wf", 4)
    system.run()
    ex = [execution(system, f"tx{i}") for i in range(4)]
    assert all(e.status == m.COMPLETED for e in ex)
    spans = sorted((e.tasks[0].start, e.tasks[0].end) for e in ex)
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 >= e1  # one at a time


def test_retry_delays_follow_backoff_scale_factor_and_the_cap():
    wf = workflow("wf").simple("a", retries=3, retry_logic="LINEAR_BACKOFF", retry_delay=1,
                               backoff_scale_factor=2, max_retry_delay=5).build()
    system, orchestrator, worker = setup(wf)
    worker.fail("a", times=3)
    orchestrator.start("wf", {}, correlation="tx")
    system.run()
    delays = [r.detail["delay"] for r in system.trace.of_kind(rec.RETRY)]
    assert delays == [2, 4, 5]  # 1 * 2 * (n + 1), capped at 5
    assert execution(system, "tx").status == m.COMPLETED


def test_idle_workers_stop_polling_so_a_run_ends():
    system, orchestrator, worker = setup(workflow("wf").simple("a").build())
    orchestrator.start("wf", {}, correlation="tx")
    system.run()
    assert system.sim.pending == 0
    assert system.now < 2.0


def test_after_a_takeover_the_queues_survive_and_nothing_is_resent():
    # An update sent to the crashed node is lost; its task times out and is retried.
    wf = workflow("wf").simple("a", response_timeout=5, retry_delay=0).simple("b").build()
    system, orchestrator, worker = setup(wf, standby=True, failover_delay=1.0,
                                         worker_kw=dict(work_time=Constant(0.3)))
    start_many(orchestrator, "wf", 3, spacing=0.05)
    system.crash("orchestrator", at=0.2)  # while tasks are queued and leased
    system.run(until=60)
    assert all(execution(system, f"tx{i}").status == m.COMPLETED for i in range(3))
    resumes = system.trace.of_kind(rec.RESUME)
    assert resumes and all(r.detail["resent"] == [] for r in resumes)
    polled_by = {r.message.destination for r in system.trace.of_kind(SEND) if r.message.type == "Poll"}
    assert polled_by == {"orchestrator", "orchestrator-standby"}


def test_a_plain_service_that_cannot_poll_is_pushed_to():
    from microlab import Service

    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"a": "p"}))
    plain = system.add(Service("p"))
    plain.on("a", lambda msg: plain.reply(msg, "TaskCompleted", {"taskId": msg.payload["taskId"]}))
    orchestrator.register(workflow("wf").simple("a").build())
    orchestrator.start("wf", {}, correlation="tx")
    system.run()
    assert execution(system, "tx").status == m.COMPLETED


# -- the worker's side: a thread pool per task type, polling as conductor-python's TaskRunner --

def _polls_of(system, task_type):
    return [r for r in system.trace.of_kind(rec.POLL) if r.detail["task_type"] == task_type]


def test_each_task_type_has_its_own_pool_of_thread_count_threads():
    from microlab.orchestration.builder import simple
    wf = workflow("wf").fork([simple("a")], [simple("b")]).build()
    system, orchestrator, worker = setup(wf, worker_kw=dict(thread_count=2, work_time=Constant(1.0)))
    assert worker.thread_count == 2 and worker.workers == 4   # two types, two threads each
    start_many(orchestrator, "wf", 5, at=0.5)
    system.run()
    assert all(execution(system, f"tx{i}").status == m.COMPLETED for i in range(5))
    for task_type in ("a", "b"):
        asked = [r.detail for r in _polls_of(system, task_type)]
        assert max(d["count"] for d in asked) == 2 and max(d["leased"] for d in asked) == 2
    # Both pools ran at once: four tasks in progress together at the worker.
    starts = sorted(r.time for r in system.trace.of_kind("start") if r.service == "w" and r.message.type in "ab")
    assert starts[3] - starts[0] < 0.1


def test_thread_count_defaults_to_workers_and_bad_values_are_refused():
    assert ToyWorker("w", workers=3).thread_count == 3
    assert ToyWorker("w").thread_count == 1       # conductor-python's thread_count=1
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="thread_count is the number of threads per task type"):
            ToyWorker("w", thread_count=bad)


def test_a_busy_worker_polls_again_the_moment_a_thread_frees_not_after_an_interval():
    system, orchestrator, worker = setup(workflow("wf").simple("a").build(),
                                         worker_kw=dict(work_time=Constant(0.5), polling_interval=2.0))
    start_many(orchestrator, "wf", 3, at=0.5)
    system.run()
    leased = [r for r in _polls_of(system, "a") if r.detail["leased"]]
    assert len(leased) == 3
    ends = sorted(r.time for r in system.trace.of_kind("end") if r.service == "w" and r.message.type == "a")
    sent = [r for r in system.trace.of_kind(SEND) if r.message.type == "Poll"]
    for done in ends[:2]:
        # The next poll leaves when the task ends (latency 0.01 s, far below the 2 s interval).
        assert any(done <= p.time < done + 1e-9 for p in sent)


def test_after_empty_polls_the_worker_backs_off_up_to_the_polling_interval():
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator(task_routes={"a": "w", "b": "slow"}))
    worker = system.add(ToyWorker("w", poll_timeout=0.0, polling_interval=0.05))
    system.add(ToyWorker("slow", work_time=Constant(5.0)))
    worker.idle_polls = 100
    orchestrator.register(workflow("wa").simple("a").build(), workflow("wb").simple("b").build())
    orchestrator.start("wb", {}, correlation="busy")   # a workflow runs, so the server is not idle
    system.run(until=0.1)              # the loop parked at once: nothing ran when it first polled
    worker.resume_polling("a")
    system.run(until=1.2)
    sent = [r.time for r in system.trace.of_kind(SEND) if r.message.type == "Poll" and r.message.source == "w" and r.time >= 0.1]
    gaps = [b - a for a, b in zip(sent, sent[1:])]
    # Each gap is a round trip (0.02 s) plus the back-off: 2, 4, 8, 16, 32 ms, then 50 ms.
    backoffs = [round(g - 0.02, 4) for g in gaps]
    assert backoffs[:6] == [0.002, 0.004, 0.008, 0.016, 0.032, 0.05]
    assert set(backoffs[6:]) == {0.05}


@pytest.mark.parametrize("poll_timeout", [3, 0])
def test_a_task_whose_worker_is_down_from_the_start_waits_for_its_poll_timeout_only(poll_timeout):
    # The worker is crashed at 0, the instant it would send its first poll: it never polls,
    # so the task stays SCHEDULED; the 1 s response timeout, which counts from a poll, never
    # applies (before crashes came first at their instant, the poll sent at 0 leased the
    # task to the dead worker and the response timeout ended it at 1 s).
    wf = workflow("wf").simple("a", response_timeout=1, poll_timeout=poll_timeout, retries=0).build()
    system, orchestrator, worker = setup(wf)
    system.crash("w", at=0.0, duration=None if poll_timeout else 5.0)
    orchestrator.start("wf", {}, correlation="tx")
    system.run(until=20)
    timeouts = [(r.time, r.detail["which"]) for r in system.trace.of_kind(rec.TIMEOUT)]
    assert not [msg for msg in (r.message for r in system.trace.of_kind(SEND)) if msg.type == "Poll"
                and msg.sent_at < (5.0 if not poll_timeout else 20)]
    ex = execution(system, "tx")
    if poll_timeout:
        assert timeouts == [(pytest.approx(ex.tasks[0].scheduled + 3), "poll")]
        assert ex.status == m.TIMED_OUT and ex.tasks[0].reason.startswith("Task poll timed out")
    else:
        # Never timed out: the restarted worker polls at 5 s and does it.
        assert timeouts == [] and ex.status == m.COMPLETED and leases(system)[0].time >= 5.0


def test_the_order_saga_with_payment_down_from_the_start_queues_its_charges_under_polling():
    from microlab.scenarios import FLOWS, build
    out = {}
    for dispatch in ("poll", "push"):
        system, correlations, _, _ = build(FLOWS["order"], "orchestration", orders=4, dispatch=dispatch)
        system.crash("payment", at=0.0)
        system.run(until=30)
        charges = [r for r in system.trace.of_kind(rec.TASK) if r.detail["ref"] == "charge"]
        out[dispatch] = ({r.detail["which"] for r in system.trace.of_kind(rec.TIMEOUT)},
                         {r.detail["status"] for r in charges})
    # Polling: nobody leases a charge, so nothing times out (the saga sets no poll timeout)
    # and every charge waits SCHEDULED in payment's queue. Push: each command goes to a
    # dead service, is IN_PROGRESS at once, and its response timeout ends it.
    assert out["poll"] == (set(), {"SCHEDULED"})
    assert out["push"][0] == {"response"} and "TIMED_OUT" in out["push"][1]


@pytest.mark.parametrize("servers", [1, 3])
def test_a_crashed_server_breaks_the_long_polls_it_holds_at_once(servers):
    # w's long polls are held 2 s; every node crashes at 1.0 while holding one and comes
    # back at 1.1. As when a server process dies, the worker's HTTP poll fails at once and
    # it polls again after its polling interval (0.3 s): at 1.3, not at the end of its
    # request's timeout (a plain orchestrator's held polls used to wait 2 + 1 s for that).
    system = System(seed=1, latency=Constant(0.001))
    kw = {"servers": servers} if servers > 1 else {}
    orchestrator = system.add(Orchestrator(task_routes={"a": "w", "b": "w2"}, **kw))
    system.add(ToyWorker("w", poll_timeout=2.0, polling_interval=0.3))
    system.add(ToyWorker("w2", work_time=Constant(3.0)))
    orchestrator.register(workflow("wf").simple("a").simple("b").build())
    orchestrator.start("wf", {}, correlation="tx")
    nodes = ["orchestrator"] + [f"orchestrator-{i}" for i in range(2, servers + 1)]
    for node in nodes:
        system.crash(node, at=1.0, duration=0.1)
    system.run()
    assert execution(system, "tx").status == m.COMPLETED
    polls = [r.message for r in system.trace.of_kind(SEND) if r.message.type == "Poll" and r.message.source == "w"]
    held = [p for p in polls if p.sent_at < 1.0 and p.sent_at + 2.0 > 1.0]
    assert held, "w had no long poll out at the crash"
    after = [p.sent_at for p in polls if p.sent_at >= 1.0]
    assert after and after[0] == pytest.approx(1.3)


class _Payment(Worker):
    """Serves charge only: capture (a renamed task) is routed to it before it has a method for it."""

    def charge(self, input):
        return {"charged": True}


def _renamed(poll_timeout=0):
    wf = workflow("wf").simple("charge").simple("capture", poll_timeout=poll_timeout, retries=0).build()
    system = System(seed=1, latency=0.01)
    orchestrator = system.add(Orchestrator(task_routes={"charge": "w", "capture": "w"}))
    worker = system.add(_Payment("w"))
    # Registering says so, once: a learner who forgot a method must not see a silent hang.
    with pytest.warns(UnpolledTaskWarning, match=r"task 'capture' is routed to worker 'w', which has no method"):
        orchestrator.register(wf)
    orchestrator.start("wf", {}, correlation="tx")
    return system, orchestrator, worker


def _polled_types(system):
    return {msg.payload["taskType"] for msg in (r.message for r in system.trace.of_kind(SEND)) if msg.type == "Poll"}


# Conductor's workers poll only for the task types they implement (conductor-python's
# TaskHandler runs one TaskRunner per worker, polling its task_definition_name:
# https://github.com/conductor-sdk/conductor-python/blob/main/src/conductor/client/automator/task_handler.py),
# so a task of a type no worker implements stays SCHEDULED in its queue until a worker for
# it polls, or its pollTimeoutSeconds times it out
# (https://github.com/conductor-oss/conductor/blob/main/docs/docs/how-tos/Tasks/task-timeouts.md,
# https://docs.conductor-oss.org/devguide/architecture/tasklifecycle).
def test_a_task_type_that_no_worker_implements_waits_scheduled_in_its_queue():
    system, orchestrator, worker = _renamed()
    with _no_warning():
        system.run(until=30)
    ex = execution(system, "tx")
    assert ex.status == m.RUNNING and ex.task("charge").status == m.COMPLETED
    assert ex.task("capture").status == m.SCHEDULED      # not leased to a worker that cannot do it
    assert _polled_types(system) == {"charge"}
    assert orchestrator.queues.depth(("capture", "w")) == 1


def test_a_task_type_that_no_worker_implements_times_out_after_its_poll_timeout():
    system, orchestrator, worker = _renamed(poll_timeout=3)
    with _no_warning():
        system.run(until=30)
    ex = execution(system, "tx")
    [timeout] = [r for r in system.trace.of_kind(rec.TIMEOUT) if r.detail["which"] == "poll"]
    assert timeout.time == pytest.approx(ex.task("capture").scheduled + 3)
    assert ex.status == m.TIMED_OUT and ex.task("capture").reason.startswith("Task poll timed out")


def test_a_worker_that_learns_a_task_type_starts_polling_for_it_and_the_queued_task_runs():
    system, orchestrator, worker = _renamed()
    # The worker's new version is deployed at 5 s: it implements capture from then on.
    system.sim.schedule_at(5.0, lambda _: worker.task("capture", lambda input: {"captured": True}))
    system.run(until=30)
    ex = execution(system, "tx")
    assert ex.status == m.COMPLETED and ex.task("capture").output == {"captured": True}
    assert leases(system, "capture")[0].time >= 5.0
    assert _polled_types(system) == {"charge", "capture"}


@contextlib.contextmanager
def _no_warning():
    """Fails if the run warns (a worker handed a task it has no method for warns of a handler failure)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert not [str(w.message) for w in caught]
