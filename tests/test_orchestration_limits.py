"""Bounded recursion, loops and back-off: runaway definitions fail with a reason, never fill memory."""

import json

import pytest

from microlab import System
from microlab.errors import DefinitionError
from microlab.orchestration import Limits, Orchestrator, TaskFailed, ToyWorker, execution, simple, workflow
from microlab.orchestration import model as m
from microlab.orchestration.expressions import JavaScript
from microlab.orchestration.limits import MAX_RETRY_DELAY, capped_delay
from microlab.orchestration.validate import check_cycles


def run(*defs, input=None, until=None, tasks=("step",), **kw):
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={t: "w" for t in tasks}, **kw))
    system.add(ToyWorker("w"))
    orchestrator.register(*defs)
    orchestrator.start(defs[0].name, input or {}, correlation="tx")
    system.run(until=until)
    return system, orchestrator, execution(system, "tx")


# -- static cycles ------------------------------------------------------------------------------

def test_validate_names_a_workflow_that_starts_itself():
    me = workflow("me").sub_workflow("again", "me").build()
    [(path, message)] = check_cycles([("$", me)])
    assert path == "$.tasks[0].subWorkflowParam.name"
    assert "me -> me (as sub-workflow)" in message and "without end" in message


def test_validate_names_sub_workflows_that_call_each_other():
    a = workflow("a").sub_workflow("call_b", "b").build()
    b = workflow("b").sub_workflow("call_a", "a").build()
    [(path, message)] = check_cycles([("$[0]", a), ("$[1]", b)])
    assert path == "$[0].tasks[0].subWorkflowParam.name"
    assert "a -> b (as sub-workflow) -> a (as sub-workflow)" in message


def test_validate_names_failure_workflows_that_point_at_each_other():
    a = workflow("a", failure_workflow="b").simple("step").build()
    b = workflow("b", failure_workflow="a").simple("step").build()
    [(path, message)] = check_cycles([("$[0]", a), ("$[1]", b)])
    assert path == "$[0].failureWorkflow"
    assert "a -> b (as failure workflow) -> a (as failure workflow)" in message


def test_register_rejects_a_circle_closed_with_an_earlier_registration():
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"step": "w"}))
    system.add(ToyWorker("w"))
    orchestrator.register(workflow("b").simple("step").build())
    orchestrator.register(workflow("a").sub_workflow("call_b", "b").build())
    b2 = workflow("b", version=2).sub_workflow("call_a", "a").build()
    with pytest.raises(DefinitionError, match=r"a -> b \(as sub-workflow\) -> a \(as sub-workflow\)"):
        orchestrator.register(b2)


def test_a_chain_without_a_circle_passes():
    a = workflow("a").sub_workflow("call_b", "b").build()
    b = workflow("b", failure_workflow="c").simple("step").build()
    c = workflow("c").simple("step").build()
    assert check_cycles([("$[0]", a), ("$[1]", b), ("$[2]", c)]) == []


# -- dynamic cycles -----------------------------------------------------------------------------

def recursive(name="r"):
    return (workflow(name).sub_workflow("again", "${workflow.input.next}", input={"next": "${workflow.input.next}"})
            .build())


def test_a_dynamic_self_call_stops_at_the_depth_limit_with_a_clear_reason():
    system, orchestrator, ex = run(recursive(), input={"next": "r"}, limits=Limits(max_depth=5))
    assert ex.status == m.FAILED
    assert len(orchestrator.instances) == 6  # the top one and five nested
    deepest = [i for i in orchestrator.instances.values() if i.depth == 5][0]
    reason = deepest.tasks[0].reason
    assert "would nest workflows 6 deep (limit Limits.max_depth=5)" in reason
    assert "r <- r <- r" in reason and "does a workflow start itself" in reason


def test_the_default_depth_limit_stops_a_self_call():
    system, orchestrator, ex = run(recursive(), input={"next": "r"})
    assert ex.status == m.FAILED and len(orchestrator.instances) == 33
    assert "Limits.max_depth=32" in ex.reason


def test_a_shallow_fan_out_stops_at_the_instance_limit():
    fan = (workflow("fan")
           .fork([workflow("x").sub_workflow("left", "${workflow.input.next}",
                                              input={"next": "${workflow.input.next}"}).build().tasks[0]],
                 [workflow("y").sub_workflow("right", "${workflow.input.next}",
                                              input={"next": "${workflow.input.next}"}).build().tasks[0]])
           .build())
    system, orchestrator, ex = run(fan, input={"next": "fan"}, limits=Limits(max_depth=30, max_tree=50))
    assert ex.status == m.FAILED
    assert len(orchestrator.instances) == 50
    assert any("already brought 50 instances into being (limit Limits.max_tree)" in (r.reason or "")
               for i in orchestrator.instances.values() for r in i.tasks)


def test_failure_workflows_that_start_each_other_dynamically_stop_at_the_depth_limit():
    # A failure workflow receives the failed one's reason as input.reason: here "a", so
    # every failure starts "a" again, a circle that no static check can see.
    a = workflow("a", failure_workflow="$workflow.input.reason").terminate("boom", "FAILED", reason="a").build()
    system, orchestrator, ex = run(a, input={"reason": "a"}, limits=Limits(max_depth=3))
    assert len(orchestrator.instances) == 4
    last = [i for i in orchestrator.instances.values() if i.depth == 3][0]
    assert last.status == m.FAILED and "its failure workflow was not started" in last.reason
    assert all(i.status != m.RUNNING for i in orchestrator.instances.values())


# -- failureWorkflow given as an expression that resolves to nothing (issue 13) ------------------

@pytest.mark.parametrize("given", ["$workflow.input.failureWfName", "${workflow.input.failureWfName}"])
def test_a_failure_workflow_expression_that_resolves_to_nothing_starts_none(given):
    wf = workflow("w", failure_workflow=given).terminate("boom", "FAILED", reason="out of stock").build()
    system, orchestrator, ex = run(wf)
    assert ex.status == m.FAILED and ex.reason == "out of stock"
    assert len(orchestrator.instances) == 1 and ex.failure_workflow is None


def test_a_failure_workflow_in_braces_resolves_from_the_input():
    wf = workflow("w", failure_workflow="${workflow.input.undo}").terminate("boom", "FAILED").build()
    undo = workflow("undo").simple("step").build()
    system, orchestrator, ex = run(wf, undo, input={"undo": "undo"})
    assert ex.failure_workflow is not None and ex.failure_workflow.status == m.COMPLETED


# -- DO_WHILE -----------------------------------------------------------------------------------

def test_an_endless_loop_waiting_on_a_worker_stops_at_the_iteration_cap():
    wf = workflow("w").do_while("loop", condition="true", body=[simple("step")]).build()
    system, orchestrator, ex = run(wf, limits=Limits(max_loop_iterations=25))
    assert ex.status == m.FAILED
    assert len(ex.attempts("step")) == 25
    assert "DO_WHILE 'loop' ran 25 iterations and its loopCondition 'true' is still true" in ex.reason
    assert "Limits.max_loop_iterations" in ex.reason


def test_a_loop_below_the_cap_runs_as_before():
    wf = workflow("w").do_while("loop", condition=7, body=[simple("step")]).build()
    system, orchestrator, ex = run(wf, limits=Limits(max_loop_iterations=7))
    assert ex.status == m.COMPLETED and len(ex.attempts("step")) == 7
    assert ex.task("loop").output["iteration"] == 7 and "7" in ex.task("loop").output


def test_each_loop_condition_costs_the_same_whatever_the_history(monkeypatch):
    sizes = []
    original = JavaScript.evaluate

    def spy(self, source, bindings, what="expression"):
        if what == "loopCondition":
            sizes.append(len(json.dumps(bindings)))
        return original(self, source, bindings, what)
    monkeypatch.setattr(JavaScript, "evaluate", spy)
    wf = (workflow("w").do_while("loop", condition=200, body=[simple("step")])
          .build())
    system, orchestrator, ex = run(wf)
    assert ex.status == m.COMPLETED and len(sizes) == 200
    # The counter's digits grow (1 -> 200), nothing else: earlier iterations are not re-sent.
    assert max(sizes) - min(sizes) <= 8
    assert len(ex.task("loop").output) == 201  # the history stays in the task's output


def test_a_loop_condition_reads_this_iterations_output_by_number():
    wf = (workflow("w").do_while("loop", condition="'step' in $.loop[String($.loop.iteration)] && $.loop.iteration < 3",
                                 body=[simple("step", input={"n": "${loop.output.iteration}"})]).build())
    system, orchestrator, ex = run(wf)
    assert ex.status == m.COMPLETED and len(ex.attempts("step")) == 3


# -- back-off ----------------------------------------------------------------------------------

def test_an_exponential_back_off_of_2000_retries_is_capped_not_overflowing():
    td = m.TaskDef("step", retry_count=2000, retry_logic=m.EXPONENTIAL_BACKOFF, retry_delay_seconds=1)
    assert td.retry_delay(0) == 1 and td.retry_delay(10) == 1024
    assert td.retry_delay(1999) == MAX_RETRY_DELAY
    assert td.retry_delay(1999, cap=30) == 30


def test_a_workflow_with_a_huge_back_off_ends_at_a_finite_time():
    class Failing(ToyWorker):
        def default_task(self, input):
            raise TaskFailed("down")
    wf = workflow("w").simple("step", retries=60, retry_logic="EXPONENTIAL_BACKOFF", retry_delay=1).build()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"step": "w"}, limits=Limits(max_retry_delay=10)))
    system.add(Failing("w"))
    orchestrator.register(wf)
    orchestrator.start("w", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.FAILED and len(ex.attempts("step")) == 61
    assert system.sim.now < 61 * 10 + 60


def test_capped_delay_turns_nan_and_overflow_into_the_cap():
    assert capped_delay(float("nan"), 5) == 5 and capped_delay(float("inf"), 5) == 5
    assert capped_delay(-1, 5) == 0 and capped_delay(3, 5) == 3


@pytest.mark.parametrize("field,value", [("max_depth", 0), ("max_loop_iterations", 1.5),
                                         ("max_retry_delay", float("inf")), ("max_tree", True)])
def test_limits_name_the_field_at_fault(field, value):
    with pytest.raises(ValueError, match=f"Limits.{field} must be"):
        Limits(**{field: value})
