"""The decider alone: one event in, the actions out, with no System, no network and no clock.

In the style of the consensus chapter of "500 Lines or Less": each test feeds one event
to the pure core and asserts on the actions it returns and on the state.
"""

import random
from types import SimpleNamespace

import pytest

from microlab.orchestration import workflow
from microlab.orchestration import model as m
from microlab.orchestration.actions import Commit, Dispatch, Enqueue, Lease, Record, Reply, Wake
from microlab.orchestration.decider import Context, Decider, decide
from microlab.orchestration.events import Polled, Start, TaskResult, TimerFired
from microlab.orchestration.registry import Registry
from microlab.orchestration.routing import Router
from microlab.orchestration.state import State


def registry(*defs):
    reg = Registry()
    names = {t.name for wf in defs for _, t in wf.walk() if t.type == m.SIMPLE}
    services = SimpleNamespace(services={"w": object()})
    reg.add(list(defs), Router(services, {n: "w" for n in names}))
    return reg


def decider(*defs, **context):
    return Decider(Context(registry(*defs), random=random.Random(0), **context))


def start(d, state, now=0.0, name="w"):
    return d.decide(state, Start({"name": name, "input": {"x": 1}}, "client",
                                 SimpleNamespace(id=1, correlation="tx")), now)


def kinds(actions):
    return [type(a).__name__ for a in actions]


def test_a_start_commits_schedules_and_dispatches_commit_first_then_send():
    d = decider(workflow("w").simple("a", response_timeout=30).build())
    state = State()
    actions = start(d, state, now=2.0)
    commits = [a.record[0] for a in actions if type(a) is Commit]
    assert commits == ["start", "schedule", "dispatch"]
    dispatch = next(i for i, a in enumerate(actions) if type(a) is Dispatch)
    committed = next(i for i, a in enumerate(actions) if type(a) is Commit and a.record[0] == "dispatch")
    assert committed < dispatch  # the outbox order: the log knows of the command before it goes out
    assert actions[dispatch].service == "w" and actions[dispatch].payload["name"] == "a"
    assert any(type(a) is Reply and a.payload == {"workflowId": "w-1"} for a in actions)
    # One wake-up for the instance: its earliest deadline, the response timeout.
    assert [a for a in actions if type(a) is Wake] == [Wake("w-1", 32.0)]
    assert state.instances["w-1"].status == m.RUNNING


def test_the_function_form_takes_state_definitions_event_and_now():
    reg = registry(workflow("w").simple("a").build())
    actions = decide(State(), reg, Start({"name": "w"}, "client"), 0.0)
    assert "Dispatch" in kinds(actions)


def test_a_failure_asks_for_a_wake_up_at_the_retry_delay_and_sends_nothing_yet():
    d = decider(workflow("w").simple("a", retries=2, retry_delay=5, response_timeout=100).build())
    state = State()
    start(d, state)
    actions = d.decide(state, TaskResult({"taskId": "w-1.1", "reason": "no"}, False), 1.0)
    assert "Dispatch" not in kinds(actions)
    assert [r.record[0] for r in actions if type(r) is Commit] == ["finish", "schedule"]
    assert actions[-1] == Wake("w-1", 6.0)
    retry = state.tasks["w-1.2"]
    assert retry.status == m.SCHEDULED and retry.attempt == 2 and retry.due == 6.0


def test_a_wake_up_re_checks_deadlines_against_now_so_an_early_one_does_nothing():
    d = decider(workflow("w").simple("a", retries=2, retry_delay=5, response_timeout=100).build())
    state = State()
    start(d, state)
    d.decide(state, TaskResult({"taskId": "w-1.1", "reason": "no"}, False), 1.0)
    early = d.decide(state, TimerFired("w-1"), 3.0)
    assert early == [Wake("w-1", 6.0)]  # nothing due yet: the same deadline stands
    due = d.decide(state, TimerFired("w-1"), 6.0)
    assert kinds(due).count("Dispatch") == 1 and state.tasks["w-1.2"].status == m.IN_PROGRESS
    assert due[-1] == Wake("w-1", 106.0)  # the retry's response timeout, counted from its sending


def test_a_response_timeout_times_the_attempt_out_and_retries_it():
    d = decider(workflow("w").simple("a", retries=1, retry_delay=0, response_timeout=10).build())
    state = State()
    start(d, state)
    actions = d.decide(state, TimerFired("w-1"), 10.0)
    timeouts = [a.detail for a in actions if type(a) is Record and a.kind == "timeout"]
    assert timeouts and timeouts[0]["which"] == "response"
    assert state.tasks["w-1.1"].status == m.TIMED_OUT
    assert state.tasks["w-1.2"].status == m.IN_PROGRESS  # retried at once (retry_delay=0)


def test_exponential_backoff_is_capped_by_max_retry_delay():
    d = decider(workflow("w").simple("a", retries=5, retry_logic="EXPONENTIAL_BACKOFF", retry_delay=2,
                                     max_retry_delay=5, response_timeout=100).build())
    state = State()
    start(d, state)
    dues = []
    now = 0.0
    for attempt in range(1, 5):
        d.decide(state, TaskResult({"taskId": f"w-1.{attempt}", "reason": "no"}, False), now)
        dues.append(state.tasks[f"w-1.{attempt + 1}"].due - now)
        now = state.tasks[f"w-1.{attempt + 1}"].due
        d.decide(state, TimerFired("w-1"), now)
    assert dues == [2, 4, 5, 5]  # 2 * 2**retryCount, then the cap


def test_polling_enqueues_the_task_and_a_poll_leases_it():
    d = decider(workflow("w").simple("a", response_timeout=30).build(), dispatch="poll")
    state = State()
    actions = start(d, state, now=1.0)
    assert "Dispatch" not in kinds(actions)
    enqueue = [a for a in actions if type(a) is Enqueue]
    assert len(enqueue) == 1 and enqueue[0].queue == ("a", "w")
    run = state.tasks["w-1.1"]
    assert run.status == m.SCHEDULED and run.queued
    assert actions[-1] == Wake("w-1", None)  # no poll timeout: nothing is due while it waits
    leased = d.decide(state, Polled("w-1.1", "w"), 4.0)
    assert kinds(leased)[:2] == ["Commit", "Lease"]  # the lease is committed before the task goes out
    assert run.status == m.IN_PROGRESS and run.start == 4.0 and not run.queued
    assert leased[-1] == Wake("w-1", 34.0)  # responseTimeoutSeconds counts from the poll


def test_a_poll_timeout_times_out_a_task_no_worker_polled():
    d = decider(workflow("w").simple("a", poll_timeout=5, timeout_policy="RETRY", retries=0).build(),
                dispatch="poll")
    state = State()
    actions = start(d, state)
    assert actions[-1] == Wake("w-1", 5.0)
    d.decide(state, TimerFired("w-1"), 5.0)
    assert state.tasks["w-1.1"].status == m.TIMED_OUT
    assert "Task poll timed out" in state.tasks["w-1.1"].reason
    assert state.instances["w-1"].status == m.TIMED_OUT  # retries used up, as for any timeout


def test_a_queued_task_never_polled_is_not_response_timed_out_only_poll_timed_out():
    # Conductor's DeciderService.isResponseTimedOut skips every task that is not IN_PROGRESS;
    # checkTaskPollTimeout is what covers a SCHEDULED one.
    d = decider(workflow("w").simple("a", response_timeout=1, poll_timeout=3, retries=0).build(),
                dispatch="poll")
    state = State()
    assert start(d, state)[-1] == Wake("w-1", 3.0)   # not 1.0: the response timeout waits for a poll
    assert d.decide(state, TimerFired("w-1"), 2.0) == [Wake("w-1", 3.0)]   # an early wake: nothing
    assert state.tasks["w-1.1"].status == m.SCHEDULED
    actions = d.decide(state, TimerFired("w-1"), 3.0)
    timeouts = [a.detail["which"] for a in actions if type(a) is Record and a.kind == "timeout"]
    assert timeouts == ["poll"] and state.tasks["w-1.1"].status == m.TIMED_OUT


def test_a_queued_task_without_a_poll_timeout_has_no_deadline_at_all():
    d = decider(workflow("w").simple("a", response_timeout=1).build(), dispatch="poll")
    state = State()
    assert start(d, state)[-1] == Wake("w-1", None)
    assert d.decide(state, TimerFired("w-1"), 100.0) == [Wake("w-1", None)]
    assert state.tasks["w-1.1"].status == m.SCHEDULED


def test_replaying_the_commits_rebuilds_the_same_state():
    d = decider(workflow("w").simple("a", retries=1, retry_delay=1).simple("b").build())
    state = State()
    records = []
    for event, now in [(None, 0.0), (TaskResult({"taskId": "w-1.1", "reason": "x"}, False), 1.0),
                       (TimerFired("w-1"), 2.0), (TaskResult({"taskId": "w-1.2", "output": {"k": 1}}, True), 3.0),
                       (TaskResult({"taskId": "w-1.3"}, True), 4.0)]:
        actions = start(d, state, now) if event is None else d.decide(state, event, now)
        records += [a.record for a in actions if type(a) is Commit]
    replayed = State.replay(records)
    assert replayed.instances["w-1"].status == state.instances["w-1"].status == m.COMPLETED
    assert [(r.task_id, r.status, r.attempt) for r in replayed.instances["w-1"].tasks] == \
        [(r.task_id, r.status, r.attempt) for r in state.instances["w-1"].tasks]


def test_a_stale_result_is_recorded_and_changes_nothing():
    d = decider(workflow("w").simple("a").build())
    state = State()
    start(d, state)
    d.decide(state, TaskResult({"taskId": "w-1.1"}, True), 1.0)
    again = d.decide(state, TaskResult({"taskId": "w-1.1"}, True), 2.0)
    assert [a.kind for a in again] == ["stale"] and "already COMPLETED" in again[0].detail["reason"]


def test_an_unknown_workflow_is_an_error_that_names_it():
    d = decider(workflow("w").simple("a").build())
    with pytest.raises(Exception, match="no workflow called 'nope'"):
        d.decide(State(), Start({"name": "nope"}, "client"), 0.0)
