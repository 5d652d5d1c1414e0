"""Conductor semantics the differential suite (tests/real_conductor) found the simulator
missing, held here without a server: each is what Conductor OSS 3.21's decider, task
mappers or Join do (see the comments at each fix)."""

from __future__ import annotations

from microlab.orchestration.conductor import load_task_defs
from microlab.orchestration.toyrun import run_toy


def _simple(ref, **kw):
    return {"name": ref, "taskReferenceName": ref, "type": "SIMPLE", **kw}


def _wf(tasks, **kw):
    return {"name": "semantics", "version": 1, "schemaVersion": 2, "tasks": tasks, **kw}


def _switch(ref, cases, default, on="${workflow.input.c}"):
    return {"name": ref, "taskReferenceName": ref, "type": "SWITCH", "evaluatorType": "value-param",
            "expression": "c", "inputParameters": {"c": on}, "decisionCases": cases, "defaultCase": default}


def _fork(ref, branches):
    return [{"name": ref, "taskReferenceName": ref, "type": "FORK_JOIN", "forkTasks": branches},
            {"name": "join", "taskReferenceName": ref + "_join", "type": "JOIN",
             "joinOn": [b[-1]["taskReferenceName"] for b in branches]}]


def _run(wf, inp=None, **kw):
    kw.setdefault("latency", 0.0)
    return run_toy([wf], inp or {}, **kw).execution


def _status(ex):
    last = {}
    for t in ex.tasks:
        last[t.reference_task_name] = t
    return {ref: t.status for ref, t in last.items()}


def test_a_case_with_no_tasks_takes_the_default_case():
    ex = _run(_wf([_switch("sw", {"a": [_simple("in_a")], "b": []}, [_simple("dflt")])]), {"c": "b"})
    assert ex.status == "COMPLETED"
    assert [t.reference_task_name for t in ex.tasks] == ["sw", "dflt"]


def test_a_switch_that_ends_a_branch_with_nothing_to_do_lets_the_join_finish():
    tasks = _fork("f", [[_simple("a")], [_switch("sw", {"x": [_simple("bx")]}, [])]])
    ex = _run(_wf(tasks), {"c": "none"})
    assert ex.status == "COMPLETED", ex.format()
    assert _status(ex)["f_join"] == "COMPLETED"


def test_a_join_after_an_optional_failure_completes_with_errors_and_keeps_only_nonempty_outputs():
    tasks = _fork("f", [[_simple("a", optional=True)], [_simple("b")], [_simple("c")]]) + [_simple("after")]
    ex = _run(_wf(tasks), fail={"a": None}, outputs={"b": {"v": 1}})
    st = _status(ex)
    assert st["a"] == "COMPLETED_WITH_ERRORS" and st["f_join"] == "COMPLETED_WITH_ERRORS", ex.format()
    join = [t for t in ex.tasks if t.reference_task_name == "f_join"][-1]
    assert join.output == {"b": {"v": 1}}
    assert ex.status == "COMPLETED"


def test_an_optional_task_whose_failure_completes_the_workflow_is_reported_failed():
    ex = _run(_wf([_simple("first", optional=True), _simple("last", optional=True)]),
              fail={"first": None, "last": None})
    assert ex.status == "COMPLETED"
    assert _status(ex) == {"first": "COMPLETED_WITH_ERRORS", "last": "FAILED"}


def test_a_failed_workflow_without_output_parameters_ends_with_the_last_scheduled_tasks_output():
    # The JOIN is scheduled after the task that fails (a retry, after the other branch
    # ended); Conductor's terminateWorkflow takes the last task's output: the canceled
    # JOIN's, which holds what it had gathered (not the failed task's).
    tasks = _fork("f", [[_simple("bad")], [_simple("good")]])
    defs = load_task_defs([{"name": "bad", "retryCount": 1, "retryDelaySeconds": 1},
                           {"name": "good", "retryCount": 0}])
    ex = _run(_wf(tasks), fail={"bad": None}, outputs={"good": {"g": 1}}, task_defs=defs, latency=0.1)
    assert ex.status == "FAILED", ex.format()
    assert [t.reference_task_name for t in ex.tasks][-2:] == ["f_join", "bad"], ex.format()
    assert ex.output == {}, ex.format()             # the retried bad's output: it is last now
    simple = _run(_wf(_fork("f", [[_simple("good")], [_simple("bad")]])), fail={"bad": None},
                  outputs={"good": {"g": 1}}, task_defs=load_task_defs([{"name": "bad", "retryCount": 0},
                                                                         {"name": "good", "retryCount": 0}]))
    assert simple.tasks[-1].reference_task_name == "f_join"
    assert simple.output == {"good": {"g": 1}}, simple.format()


def test_a_switch_case_in_a_fork_is_scheduled_before_the_join():
    tasks = _fork("f", [[_switch("sw", {"a": [_simple("in_a")]}, [])], [_simple("b")]])
    ex = _run(_wf(tasks), {"c": "a"})
    order = [t.reference_task_name for t in ex.tasks]
    assert order.index("in_a") < order.index("f_join"), order
    assert ex.status == "COMPLETED"


def test_a_nested_fork_brings_its_branches_and_join_before_the_outer_join():
    inner = _fork("in", [[_simple("i1")], [_simple("i2")]])
    tasks = _fork("out", [inner, [_simple("o2")]])
    ex = _run(_wf(tasks))
    order = [t.reference_task_name for t in ex.tasks]
    assert order[:6] == ["out", "in", "i1", "i2", "in_join", "o2"], order
    assert order.index("out_join") > order.index("in_join")


def test_a_loop_iteration_gets_the_output_planned_for_its_task():
    loop = {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "inputParameters": {},
            "loopCondition": "$.loop['iteration'] < 2", "loopOver": [_simple("body")]}
    ex = _run(_wf([loop]), outputs={"body": {"y": 3}})
    bodies = [t for t in ex.tasks if t.reference_task_name.startswith("body")]
    assert len(bodies) == 2 and all(t.output == {"y": 3} for t in bodies)
    assert ex.output == {"y": 3}


def test_a_branch_that_goes_on_after_its_join_runs_to_its_end_before_the_workflow_completes():
    # The JOIN waits for the SWITCH, not for the case's tasks: the workflow completes
    # only when the case's last task has run (Conductor's checkForWorkflowCompletion).
    tasks = _fork("f", [[_switch("sw", {"a": [_simple("c1"), _simple("c2")]}, [])], [_simple("b")]])
    ex = _run(_wf(tasks), {"c": "a"}, outputs={"c2": {"last": True}}, fail={"c1": 1})  # b ends first
    assert _status(ex).get("c2") == "COMPLETED", ex.format()
    assert ex.status == "COMPLETED" and ex.output == {"last": True}
