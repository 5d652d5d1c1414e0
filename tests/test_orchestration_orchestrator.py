"""The orchestrator: every task type, retries, timeouts, failure workflows, statuses in the trace."""

import os
import subprocess
import sys

import pytest

from microlab import Constant, Duplicate, HandlerFailureWarning, Service, System
from microlab.orchestration import (Orchestrator, TaskFailed, ToyWorker, execution, load_workflows,
                                    set_variable, simple, terminate, workflow)
from microlab.orchestration import model as m
from microlab.orchestration import orchestrator as orchestrator_module
from microlab.orchestration import records as rec
from microlab.trace import DELIVER, SEND, START

LATENCY = 0.01


class Echo(ToyWorker):
    """Answers every task with its input, reference name and attempt."""

    def default_task(self, input):
        call = self.task_call
        if call.request:
            return super().default_task(input)
        return {"echo": input, "ref": call.ref, "attempt": call.attempt}


def setup(*defs, seed=1, latency=LATENCY, worker_kw=None, **orch_kw):
    system = System(seed=seed, latency=latency)
    names = {t.name for wf in defs for _, t in wf.walk() if t.type == m.SIMPLE}
    orch_kw.setdefault("task_routes", {n: "w" for n in names})
    orch_kw.setdefault("http_routes", lambda uri: "w")
    # These tests read the commands the orchestrator sends: pushed dispatch (polling has
    # its own tests in test_orchestration_polling.py).
    orch_kw.setdefault("dispatch", "push")
    orchestrator = system.add(Orchestrator(**orch_kw))
    worker = system.add(Echo("w", **(worker_kw or {})))
    orchestrator.register(*defs)
    return system, orchestrator, worker


def run(*defs, input=None, correlation="tx", until=None, **kw):
    system, orchestrator, worker = setup(*defs, **kw)
    orchestrator.start(defs[0].name, input or {}, correlation=correlation)
    system.run(until=until)
    return system, orchestrator, worker, execution(system, correlation)


def task_records(system, ref=None):
    return [r for r in system.trace.of_kind(rec.TASK) if ref is None or r.detail["ref"] == ref]


# -- SIMPLE ---------------------------------------------------------------------------------------

def test_simple_tasks_are_commands_named_after_the_task_and_outputs_wire_into_inputs():
    wf = (workflow("w").simple("reserve", input={"order": "${workflow.input.orderId}"})
          .simple("charge", input={"from": "${reserve.output.echo.order}"})
          .output(last="${charge.output.echo}").build())
    system, orchestrator, worker, ex = run(wf, input={"orderId": "o-1"})
    commands = [r.message for r in system.trace.of_kind(SEND) if r.message.destination == "w"]
    assert [c.type for c in commands] == ["reserve", "charge"]
    assert commands[0].payload["input"] == {"order": "o-1"} and commands[0].payload["attempt"] == 1
    assert commands[0].correlation == "tx" and commands[0].payload["workflowId"] == "w-1"
    replies = [r.message.type for r in system.trace.of_kind(SEND) if r.message.source == "w"]
    assert replies == ["TaskCompleted", "TaskCompleted"]
    assert ex.status == m.COMPLETED and ex.output == {"last": {"from": "o-1"}}


def test_every_status_change_is_in_the_trace():
    system, *_ = run(workflow("w").simple("a").build())
    assert [r.detail["status"] for r in task_records(system)] == ["SCHEDULED", "IN_PROGRESS", "COMPLETED"]
    flows = [r.detail["status"] for r in system.trace.of_kind(rec.WORKFLOW)]
    assert flows == ["RUNNING", "COMPLETED"]
    assert all(r.detail["correlation"] == "tx" for r in system.trace.of_kind(rec.TASK, rec.WORKFLOW))
    assert len(system.trace.for_correlation("tx")) == len(system.trace)  # one business transaction


def test_the_orchestrator_queues_like_any_service_and_becomes_the_bottleneck():
    wf = workflow("w").simple("a").simple("b").build()
    system, orchestrator, worker = setup(wf, workers=1, work_time=Constant(0.1))
    for i in range(5):
        orchestrator.start("w", {}, correlation=f"o{i}")
    system.run()
    handled = [r for r in system.trace.of_kind(START) if r.service == "orchestrator"]
    assert len(handled) == 5 * 3  # one StartWorkflow and one reply per step, per workflow
    waited = [r for r in system.trace.of_kind(DELIVER) if r.service == "orchestrator"]
    # With one worker busy 0.1 s per decision, 15 decisions take at least 1.5 s.
    assert max(execution(system, f"o{i}").end for i in range(5)) >= 1.5
    assert len(waited) == 15


# -- HTTP -----------------------------------------------------------------------------------------

def test_http_tasks_send_the_request_and_wrap_the_answer_as_a_response():
    wf = (workflow("w").http("charge", "http://localhost/payment/charge?status=200",
                             body={"amount": "${workflow.input.amount}"},
                             headers={"Idempotency-Key": "${workflow.input.id}-charge"})
          .build())
    system, orchestrator, worker = setup(wf, http_routes={"payment": "w"})
    worker.outputs["charge"] = {"chargeId": "ch-1"}
    orchestrator.start("w", {"amount": 30, "id": "o-1"}, correlation="tx")
    system.run()
    [command] = [r.message for r in system.trace.of_kind(SEND) if r.message.destination == "w"]
    assert command.type == "charge" and command.payload["type"] == "HTTP"
    request = command.payload["request"]
    assert request["method"] == "POST" and request["path"] == "/payment/charge"
    assert request["headers"] == {"Idempotency-Key": "o-1-charge"} and request["body"] == {"amount": 30}
    task = execution(system, "tx").task("charge")
    assert task.output == {"response": {"statusCode": 200, "body": {"chargeId": "ch-1"}, "headers": {},
                                        "reasonPhrase": "OK"}}


def test_an_http_error_status_fails_the_task():
    wf = workflow("w").http("book", "/shipping/book?status=${workflow.input.status}").build()
    *_, ex = run(wf, input={"status": "503"})
    task = ex.task("book")
    assert ex.status == m.FAILED and task.status == m.FAILED
    assert task.output["response"]["statusCode"] == 503 and "HTTP 503" in task.reason


# -- SWITCH and DECISION ---------------------------------------------------------------------------

def test_switch_value_param_takes_the_case_and_then_goes_on():
    wf = (workflow("w")
          .switch("route", on="${workflow.input.kind}",
                  cases={"express": [simple("fast"), simple("faster")]}, default=[simple("slow")])
          .simple("after").build())
    *_, express = run(wf, input={"kind": "express"})
    *_, other = run(wf, input={"kind": "parcel"})
    assert express.refs() == ["route", "fast", "faster", "after"]
    assert express.task("route").output == {"evaluationResult": ["express"], "selectedCase": "express"}
    assert other.task("route").output == {"evaluationResult": ["parcel"], "selectedCase": "parcel"}
    assert other.refs() == ["route", "slow", "after"]


def test_switch_javascript_and_a_case_with_no_tasks():
    wf = (workflow("w")
          .switch("size", javascript="$.amount > 100 ? 'big' : 'small'",
                  input={"amount": "${workflow.input.amount}"}, cases={"big": [simple("review")], "small": []})
          .simple("ship").build())
    *_, big = run(wf, input={"amount": 500})
    *_, small = run(wf, input={"amount": 5})
    assert big.refs() == ["size", "review", "ship"] and small.refs() == ["size", "ship"]


def test_a_bad_javascript_expression_fails_the_task_quoting_it():
    wf = workflow("w").switch("s", javascript="$.amount >", cases={}).build()
    *_, ex = run(wf)
    assert ex.status == m.FAILED
    assert "'$.amount >'" in ex.task("s").reason and "SyntaxError" in ex.task("s").reason


def test_decision_with_case_value_param_and_case_expression():
    wf = (workflow("w")
          .decision("d1", on="${workflow.input.flag}", cases={"true": [simple("yes")]}, default=[simple("no")])
          .decision("d2", javascript="$.n % 2 == 0 ? 'even' : 'odd'", input={"n": "${workflow.input.n}"},
                    cases={"odd": [simple("odd_task")]})
          .build())
    *_, ex = run(wf, input={"flag": True, "n": 3})
    assert ex.refs() == ["d1", "yes", "d2", "odd_task"]
    assert ex.task("d2").output == {"caseOutput": ["odd"]}


# -- FORK_JOIN and JOIN ----------------------------------------------------------------------------

def test_fork_runs_branches_in_parallel_and_join_waits_for_the_slowest():
    wf = (workflow("w")
          .fork([simple("a1"), simple("a2")], [simple("b1")], ref="f")
          .simple("after", input={"joined": "${f_join.output}"}).build())
    system, orchestrator, worker, ex = run(wf)
    starts = {t.ref: t.start for t in ex.tasks}
    assert starts["a1"] == starts["b1"]                       # both branches at once
    join = ex.task("f_join")
    assert join.end == ex.task("a2").end and ex.task("after").scheduled == join.end
    assert set(join.output) == {"a2", "b1"} and join.input["joinOn"] == ["a2", "b1"]
    assert ex.task("after").input["joined"]["a2"]["ref"] == "a2"
    assert ex.status == m.COMPLETED


def test_a_failing_branch_fails_the_workflow_and_cancels_the_other_branch():
    wf = workflow("w").fork([simple("bad", retries=0)], [simple("slow"), simple("slower")], ref="f").build()
    system = System(seed=1, latency=LATENCY)
    orchestrator = system.add(Orchestrator(task_routes={"bad": "w", "slow": "silent", "slower": "w"}))
    worker = system.add(Echo("w"))
    system.add(Silent("silent"))
    orchestrator.register(wf)
    worker.fail("bad")
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.FAILED
    statuses = {t.reference_task_name: t.status for t in ex.tasks}
    assert statuses == {"f": "COMPLETED", "bad": "FAILED", "slow": "CANCELED", "f_join": "CANCELED"}


# -- DO_WHILE ---------------------------------------------------------------------------------------

def test_do_while_repeats_its_body_and_names_iterations_as_conductor_does():
    wf = (workflow("w")
          .do_while("loop", condition="$.loop['iteration'] < $.times", input={"times": "${workflow.input.n}"},
                    body=[simple("step", input={"i": "${loop.output.iteration}"})])
          .simple("after").build())
    *_, ex = run(wf, input={"n": 3})
    assert ex.refs() == ["loop", "step__1", "step__2", "step__3", "after"]
    assert [t.input["i"] for t in ex.attempts("step")] == [1, 2, 3]
    out = ex.task("loop").output
    assert out["iteration"] == 3 and out["2"]["step"]["echo"] == {"i": 2}


def test_an_endless_loop_of_system_tasks_fails_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(orchestrator_module, "MAX_SYNC_STEPS", 40)  # the old module-level knob still works
    wf = workflow("w").do_while("loop", condition="true", body=[set_variable("v", x=1)]).build()
    *_, ex = run(wf)
    assert ex.status == m.FAILED and "loopCondition never becomes false" in ex.reason


# -- SUB_WORKFLOW --------------------------------------------------------------------------------------

def test_a_sub_workflow_runs_in_the_same_transaction_and_returns_its_output():
    child = workflow("child").simple("inner").output(got="${workflow.input.x}").build()
    parent = workflow("parent").sub_workflow("call", "child", input={"x": "${workflow.input.x}"}).build()
    system, orchestrator, worker, ex = run(parent, child, input={"x": 42})
    [sub] = ex.sub_workflows
    assert sub.correlation == "tx" and sub.parent == ex.workflow_id and sub.status == m.COMPLETED
    assert ex.task("call").output == {"got": 42, "subWorkflowId": sub.workflow_id}


def test_a_failing_sub_workflow_fails_its_task():
    child = workflow("child").terminate("stop", "FAILED", reason="out of stock").build()
    parent = workflow("parent").sub_workflow("call", "child").build()
    *_, ex = run(parent, child)
    assert ex.status == m.FAILED and "out of stock" in ex.task("call").reason


def test_a_failed_sub_workflow_task_keeps_the_sub_workflows_output_as_in_conductor():
    child = workflow("child").set_variable("note", seen=True).terminate(
        "stop", "FAILED", output={"left": "${workflow.input.x}"}).build()
    parent = workflow("parent").sub_workflow("call", "child", input={"x": 7}).build()
    *_, ex = run(parent, child)
    [sub] = ex.sub_workflows
    assert ex.task("call").output == {"left": 7, "subWorkflowId": sub.workflow_id}
    assert ex.output == ex.task("call").output   # no outputParameters: the failed task's output


# -- TERMINATE, WAIT, SET_VARIABLE, INLINE, LAMBDA, JSON_JQ_TRANSFORM -----------------------------

def test_terminate_completed_sets_the_output_and_skips_the_rest():
    wf = workflow("w").terminate("stop", "COMPLETED", output={"why": "${workflow.input.why}"}).simple("never").build()
    *_, ex = run(wf, input={"why": "done early"})
    assert ex.status == m.COMPLETED and ex.output == {"why": "done early"} and ex.refs() == ["stop"]


def test_terminate_terminated_cancels_the_tasks_in_progress():
    wf = (workflow("w").fork([simple("slow")], [terminate("stop", "TERMINATED", reason="enough")], ref="f")
          .build())
    *_, ex = run(wf, worker_kw={"work_time": Constant(1.0)})
    assert ex.status == m.TERMINATED and ex.reason == "enough"
    assert ex.task("slow").status == m.CANCELED


def test_wait_waits_in_simulated_time():
    wf = workflow("w").simple("a").wait("pause", "1m 30s").simple("b").build()
    *_, ex = run(wf)
    pause = ex.task("pause")
    assert pause.end - pause.start == pytest.approx(90) and ex.task("b").scheduled == pause.end


def test_wait_without_duration_waits_for_a_complete_task_message():
    wf = workflow("w").wait("approval").simple("b", input={"by": "${approval.output.by}"}).build()
    system, orchestrator, worker = setup(wf)
    orchestrator.start("w", {}, correlation="tx")
    system.inject("orchestrator", "CompleteTask", {"ref": "approval", "output": {"by": "ana"}},
                  correlation="tx", at=5.0)
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.COMPLETED and ex.task("approval").end == pytest.approx(5.0 + LATENCY)
    assert ex.task("b").input == {"by": "ana"}


def test_set_variable_and_workflow_variables():
    wf = (workflow("w", variables={"tries": 0}).set_variable("v", tries=3, who="${workflow.input.who}")
          .simple("a", input={"t": "${workflow.variables.tries}"}).output(vars="${workflow.variables}").build())
    *_, ex = run(wf, input={"who": "bo"})
    assert ex.task("a").input == {"t": 3} and ex.output == {"vars": {"tries": 3, "who": "bo"}}


def test_inline_lambda_and_jq_compute_inside_the_orchestrator():
    lam = {"name": "lam", "taskReferenceName": "lam", "type": "LAMBDA",
           "inputParameters": {"v": "${workflow.input.v}", "scriptExpression": "return {double: $.v * 2};"}}
    wf = (workflow("w")
          .inline("calc", "$.a + $.b", input={"a": "${workflow.input.v}", "b": 1})
          .jq("shape", "{total: (.items | map(.n) | add)}", input={"items": "${workflow.input.items}"})
          .add(load_workflows({"name": "x", "tasks": [lam]})[0].tasks[0])
          .build())
    system, orchestrator, worker, ex = run(wf, input={"v": 4, "items": [{"n": 2}, {"n": 5}]})
    assert ex.task("calc").output == {"result": 5}
    assert ex.task("shape").output == {"result": {"total": 7}, "resultList": [{"total": 7}]}
    assert ex.task("lam").output == {"result": {"double": 8}}
    sent = [r.message.type for r in system.trace.of_kind(SEND)]
    assert sent == ["StartWorkflow", "WorkflowStarted"]  # no service was involved


def test_a_failing_jq_query_fails_its_task_with_the_query_quoted():
    wf = workflow("w").jq("bad", ".a | error(\"nope\")").build()
    *_, ex = run(wf)
    assert ex.status == m.FAILED and "nope" in ex.task("bad").reason and ".a | error" in ex.task("bad").reason


# -- retries -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("logic, scale", [("FIXED", 1), ("LINEAR_BACKOFF", 2), ("EXPONENTIAL_BACKOFF", 1)])
def test_retries_wait_as_the_retry_logic_says(logic, scale):
    wf = workflow("w").simple("flaky", retries=3, retry_logic=logic, retry_delay=2,
                              backoff_scale_factor=scale).build()
    system, orchestrator, worker = setup(wf)
    worker.fail("flaky", times=3)
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    attempts = ex.attempts("flaky")
    assert [a.status for a in attempts] == ["FAILED", "FAILED", "FAILED", "COMPLETED"]
    td = wf.tasks[0].task_definition
    expected = [td.retry_delay(n) for n in range(3)]
    retries = system.trace.of_kind(rec.RETRY)
    assert [r.detail["delay"] for r in retries] == expected
    # The next attempt's command goes out exactly that long after the failure was known.
    assert [b.start - a.end for a, b in zip(attempts, attempts[1:])] == pytest.approx(expected)
    assert [a.attempt for a in attempts] == [1, 2, 3, 4] and ex.status == m.COMPLETED


def test_retries_run_out_and_fail_the_workflow():
    wf = workflow("w").simple("flaky", retries=1, retry_delay=1).build()
    system, orchestrator, worker = setup(wf)
    worker.fail("flaky")
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert [a.status for a in ex.attempts("flaky")] == ["FAILED", "FAILED"]
    assert ex.status == m.FAILED and "after 2 attempts" in ex.reason


def test_a_terminal_failure_is_not_retried():
    class Declines(Echo):
        def default_task(self, input):
            raise TaskFailed("card declined", terminal=True)
    wf = workflow("w").simple("charge", retries=5, retry_delay=1).build()
    system = System(seed=1, latency=LATENCY)
    orchestrator = system.add(Orchestrator(task_routes={"charge": "w"}))
    system.add(Declines("w"))
    orchestrator.register(wf)
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    [only] = execution(system, "tx").attempts("charge")
    assert only.status == m.FAILED_WITH_TERMINAL_ERROR and not system.trace.of_kind(rec.RETRY)


def test_an_optional_task_that_keeps_failing_lets_the_workflow_go_on():
    wf = workflow("w").simple("extra", optional=True, retries=1, retry_delay=1).simple("main").build()
    system, orchestrator, worker = setup(wf)
    worker.fail("extra")
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert [a.status for a in ex.attempts("extra")] == ["FAILED", m.COMPLETED_WITH_ERRORS]
    assert ex.status == m.COMPLETED and ex.task("main").status == m.COMPLETED


def test_a_tasks_retry_count_overrides_its_definition():
    wf = workflow("w").simple("flaky", retries=5, retry_delay=1).build()
    wf.tasks[0].retry_count = 0
    system, orchestrator, worker = setup(wf)
    worker.fail("flaky")
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    assert len(execution(system, "tx").attempts("flaky")) == 1


# -- timeouts -------------------------------------------------------------------------------------------

class Silent(Service):
    """Receives task commands and never answers (a worker that hangs)."""

    def handle(self, msg):
        pass


def hang(wf, **kw):
    system = System(seed=1, latency=LATENCY)
    orchestrator = system.add(Orchestrator(task_routes={t.name: "silent" for _, t in wf.walk()},
                                           http_routes=lambda uri: "silent", **kw))
    system.add(Silent("silent"))
    orchestrator.register(wf)
    orchestrator.start(wf.name, {}, correlation="tx")
    system.run()
    return system, execution(system, "tx")


def test_response_timeout_times_the_attempt_out_and_retries_it():
    wf = workflow("w").simple("slow", retries=1, retry_delay=1, response_timeout=5).build()
    system, ex = hang(wf)
    first, second = ex.attempts("slow")
    assert first.status == second.status == m.TIMED_OUT
    assert first.end - first.start == pytest.approx(5) and second.end - second.start == pytest.approx(5)
    assert [r.detail["which"] for r in system.trace.of_kind(rec.TIMEOUT)] == ["response", "response"]
    assert ex.status == m.TIMED_OUT  # the last attempt timed out


def test_task_timeout_with_retry_policy_is_retried():
    wf = workflow("w").simple("slow", retries=1, retry_delay=1, timeout=3, response_timeout=3,
                              timeout_policy="RETRY").build()
    system, ex = hang(wf)
    attempts = ex.attempts("slow")
    assert [a.status for a in attempts] == ["TIMED_OUT", "TIMED_OUT"]
    assert [a.end - a.start for a in attempts] == pytest.approx([3, 3])
    # On a tie with the response timeout, the task timeout (and its policy) wins, as in Conductor.
    assert [r.detail["which"] for r in system.trace.of_kind(rec.TIMEOUT)] == ["task", "task"]


def test_task_timeout_with_time_out_wf_times_the_workflow_out_without_retry():
    wf = workflow("w").simple("slow", retries=3, retry_delay=1, timeout=4, response_timeout=4).build()
    system, ex = hang(wf)
    [only] = ex.attempts("slow")
    assert only.status == m.TIMED_OUT and only.end - only.start == pytest.approx(4)
    assert ex.status == m.TIMED_OUT and "Timeout policy configured to TIME_OUT_WF" in ex.reason
    assert [r.detail["which"] for r in system.trace.of_kind(rec.TIMEOUT)] == ["task"]


def test_task_timeout_alert_only_records_and_the_response_timeout_still_applies():
    wf = workflow("w").simple("slow", retries=0, timeout=2, response_timeout=2, timeout_policy="ALERT_ONLY").build()
    system, ex = hang(wf)
    start = ex.task("slow").start
    seen = [(r.detail["which"], r.detail["policy"], r.time) for r in system.trace.of_kind(rec.TIMEOUT)]
    assert seen == [("task", "ALERT_ONLY", pytest.approx(start + 2)), ("response", None, pytest.approx(start + 2))]
    assert ex.task("slow").status == m.TIMED_OUT


def test_http_read_timeout_fails_the_attempt():
    wf = workflow("w").http("call", "/silent/x", read_timeout_ms=250).build()
    system, ex = hang(wf)
    [only] = ex.attempts("call")
    assert only.status == m.FAILED and "Read timed out" in only.reason
    assert only.end - only.start == pytest.approx(0.25)


def test_workflow_timeout_times_it_out_and_starts_its_failure_workflow():
    undo = workflow("undo").simple("cleanup").build()
    wf = workflow("w", timeout_seconds=10, timeout_policy="TIME_OUT_WF", failure_workflow="undo").simple("slow").build()
    system = System(seed=1, latency=LATENCY)
    orchestrator = system.add(Orchestrator(task_routes={"slow": "silent", "cleanup": "w"}))
    system.add(Silent("silent"), Echo("w"))
    orchestrator.register(wf, undo)
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.TIMED_OUT and ex.end == pytest.approx(ex.start + 10)
    assert ex.task("slow").status == m.CANCELED
    assert ex.failure_workflow.status == m.COMPLETED and ex.outcome == "COMPENSATED"


def test_workflow_timeout_alert_only_just_records():
    wf = workflow("w", timeout_seconds=1, timeout_policy="ALERT_ONLY").wait("pause", 3).build()
    system, orchestrator, worker, ex = run(wf)
    assert ex.status == m.COMPLETED
    [alert] = system.trace.of_kind(rec.TIMEOUT)
    assert alert.detail["which"] == "workflow" and alert.time == pytest.approx(ex.start + 1)


# -- failure workflows -----------------------------------------------------------------------------------

def test_the_failure_workflow_receives_the_failed_execution_as_conductor_sends_it():
    undo = workflow("undo").simple("cleanup", input={"got": "${workflow.input}"}).build()
    wf = workflow("w", failure_workflow="undo").simple("a").simple("b", retries=0).build()
    system, orchestrator, worker = setup(wf, undo)
    worker.fail("b", reason="b broke")
    orchestrator.start("w", {"orderId": 9}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    got = ex.failure_workflow.task("cleanup").input["got"]
    assert got["workflowId"] == ex.workflow_id and got["failureStatus"] == "FAILED"
    assert got["orderId"] == 9    # the failed workflow's input fields come along, as in Conductor
    assert "b broke" in got["reason"] and got["failureTaskId"] == ex.task("b").task_id
    failed = got["failedWorkflow"]
    assert failed["input"] == {"orderId": 9} and failed["correlationId"] == "tx"
    assert [(t["referenceTaskName"], t["status"]) for t in failed["tasks"]] == [("a", "COMPLETED"), ("b", "FAILED")]
    assert failed["tasks"][0]["outputData"]["ref"] == "a"
    assert ex.output["conductor.failure_workflow"] == ex.failure_workflow.workflow_id
    [comp] = system.trace.of_kind(rec.COMPENSATE)
    assert comp.detail["completed"] == ["a"] and comp.detail["failure_workflow_id"] == ex.failure_workflow.workflow_id
    assert all(r.detail.get("compensation") for r in task_records(system, "cleanup"))


def test_conclusions_record_complete_or_reject_for_the_checker():
    undo = workflow("undo").simple("cleanup").build()
    wf = workflow("w", failure_workflow="undo").simple("a").build()
    system, orchestrator, worker = setup(wf, undo, conclusions=("complete", "reject"))
    orchestrator.start("w", {}, correlation="ok")
    system.run()
    worker.fail("a")
    orchestrator.start("w", {}, correlation="bad")
    system.run()
    effects = {(r.correlation, r.detail["effect"]) for r in system.trace.of_kind("effect")}
    assert effects == {("ok", "complete"), ("bad", "reject")}


# -- messages the orchestrator cannot use -----------------------------------------------------------------

def test_duplicate_replies_are_recorded_as_stale_and_change_nothing():
    wf = workflow("w").simple("a").simple("b").build()
    system, orchestrator, worker = setup(wf)
    system.network.add_fault(Duplicate(types=("TaskCompleted",)))
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    stale = system.trace.of_kind(rec.STALE)
    assert len(stale) == 2 and all("is already COMPLETED" in r.detail["reason"] for r in stale)
    assert execution(system, "tx").status == m.COMPLETED


def test_starting_an_unknown_workflow_explains_what_is_registered():
    wf = workflow("order").simple("a").build()
    system, orchestrator, worker = setup(wf)
    system.inject("orchestrator", "StartWorkflow", {"name": "ordre"}, correlation="tx")
    with pytest.warns(HandlerFailureWarning):
        system.run()
    assert "no workflow called 'ordre' is registered; did you mean 'order'?" in system.failures[0].error
    with pytest.raises(Exception, match="did you mean 'order'"):
        orchestrator.start("ordre")


# -- determinism -------------------------------------------------------------------------------------------

SCRIPT = """
from microlab import System, Exponential
from microlab.orchestration import Orchestrator
from microlab.orchestration.toys import saga_services, load_order_fulfillment
system = System(seed=5, latency=Exponential(0.01))
orchestrator = system.add(Orchestrator())
inventory, payment, shipping = system.add(*saga_services())
shipping.fail_rate("book_shipment", 0.5)
orchestrator.register(load_order_fulfillment())
for i in range(30):
    orchestrator.start("order_fulfillment", {"orderId": i, "amount": 5}, correlation=f"o{i}", at=i * 0.005)
system.run()
print(system.trace.digest())
"""


def test_same_seed_same_trace_across_processes_with_different_hash_seeds():
    digests = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


# -- requests from outside -----------------------------------------------------------------------------

def test_the_starter_can_be_told_when_its_workflow_ends():
    wf = workflow("w").simple("a").build()
    system, orchestrator, worker = setup(wf, notify_starter=True)
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    started, ended = system.client.received
    assert started.type == "WorkflowStarted" and started.payload == {"workflowId": "w-1"}
    assert ended.type == "WorkflowEnded" and ended.kind == "reply" and ended.correlation == "tx"
    assert ended.payload["status"] == m.COMPLETED and ended.payload["workflowId"] == "w-1"


def test_a_repeated_start_with_the_same_idempotency_key_starts_nothing_new():
    wf = workflow("w").simple("a").build()
    system, orchestrator, worker = setup(wf)
    for at in (0, 1):
        system.inject("orchestrator", "StartWorkflow", {"name": "w", "idempotencyKey": "k1"},
                      correlation="tx", at=at)
    system.inject("orchestrator", "StartWorkflow", {"name": "w", "idempotencyKey": "k2"}, correlation="tx", at=2)
    system.run()
    answers = [m_.payload for m_ in system.client.received]
    assert answers == [{"workflowId": "w-1"}, {"workflowId": "w-1", "existing": True}, {"workflowId": "w-2"}]
    assert [i.id for i in orchestrator.workflows("tx")] == ["w-1", "w-2"]
    assert "already started with idempotencyKey 'k1'" in system.trace.of_kind(rec.STALE)[0].detail["reason"]


def test_terminate_workflow_message_ends_a_running_instance():
    wf = workflow("w").wait("forever").build()
    system, orchestrator, worker = setup(wf)
    orchestrator.start("w", {}, correlation="tx")
    system.inject("orchestrator", "TerminateWorkflow", {"reason": "customer cancelled"}, correlation="tx", at=3)
    system.inject("orchestrator", "TerminateWorkflow", {}, correlation="tx", at=4)
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.TERMINATED and ex.reason == "customer cancelled" and ex.end == pytest.approx(3.01)
    assert ex.task("forever").status == m.CANCELED
    [stale] = system.trace.of_kind(rec.STALE)
    assert "no running workflow" in stale.detail["reason"]
