"""Fuzzing: malformed workflow definitions, task definitions and inputs, through validate and run.

Whatever a learner's file holds, the command line answers with faults or a run, never a
traceback from microlab's internals, never a hang (each case is bounded by an alarm), and
never a crash of the process (expressions run in the sandbox).
"""

import json
import math
import signal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microlab.cli import main

TYPES = ["SIMPLE", "HTTP", "SWITCH", "DECISION", "FORK_JOIN", "JOIN", "DO_WHILE", "SUB_WORKFLOW",
         "TERMINATE", "WAIT", "SET_VARIABLE", "INLINE", "JSON_JQ_TRANSFORM", "LAMBDA", "KAFKA_PUBLISH", "", None, 3]
SCRIPTS = ["$.a > 1 ? 'x' : 'y'", "(function(){})", "undefined", "throw 1", "'x'.repeat(2**28).split('')",
           "Temporal.Now.instant()", "$.", "true", "1", "$.loop['iteration'] < 3", ".a | length",
           "$ENV", "def f: f; f", "now", "${workflow.input.a}", "${nosuch.output.x}", "$workflow.input.x"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.sampled_from([math.nan, math.inf, -math.inf, 0.5, -1.0, 1e308, 2000]),
                    st.sampled_from(SCRIPTS), st.text(max_size=8))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)
FIELDS = ["name", "taskReferenceName", "type", "inputParameters", "decisionCases", "defaultCase", "forkTasks",
          "joinOn", "loopCondition", "loopOver", "subWorkflowParam", "expression", "evaluatorType",
          "caseValueParam", "optional", "taskDefinition", "startDelay", "retryCount", "sink"]


@st.composite
def tasks(draw, depth=0):
    task = {"name": draw(st.sampled_from(["a", "b", "c", "step"])),
            "taskReferenceName": draw(st.sampled_from(["a", "b", "c", "loop", "r1", "r2"])),
            "type": draw(st.sampled_from(TYPES))}
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if key in ("loopOver", "defaultCase") and depth < 2:
            task[key] = draw(st.lists(tasks(depth + 1), max_size=2))
        elif key == "forkTasks" and depth < 2:
            task[key] = [draw(st.lists(tasks(depth + 1), max_size=2))]
        elif key == "decisionCases" and depth < 2:
            task[key] = {"x": draw(st.lists(tasks(depth + 1), max_size=2))}
        elif key == "subWorkflowParam":
            task[key] = {"name": draw(st.sampled_from(["w", "other", "${workflow.input.n}", 3]))}
        else:
            task[key] = draw(VALUES)
    return task


@st.composite
def workflow_files(draw):
    wf = {"name": draw(st.sampled_from(["w", "other", ""])), "version": draw(st.sampled_from([1, "1", -1])),
          "tasks": draw(st.lists(tasks(), max_size=4))}
    for key in draw(st.lists(st.sampled_from(["failureWorkflow", "timeoutSeconds", "timeoutPolicy",
                                              "outputParameters", "inputParameters", "variables"]),
                             max_size=2, unique=True)):
        wf[key] = draw(st.one_of(VALUES, st.sampled_from(["w", "$workflow.input.f", "${workflow.input.f}"])))
    extra = draw(st.lists(st.fixed_dictionaries({"name": st.just("other"), "tasks": st.lists(tasks(), max_size=2)}),
                          max_size=1))
    return [wf] + extra if extra else wf


TASK_DEFS = st.lists(st.dictionaries(st.sampled_from(["name", "retryCount", "retryLogic", "retryDelaySeconds",
                                                      "timeoutSeconds", "responseTimeoutSeconds",
                                                      "backoffScaleFactor", "bogus"]), VALUES, max_size=4),
                     max_size=2)


class Hang(Exception):
    """A case ran past its alarm."""


def _alarm(signum, frame):
    raise Hang("a case ran longer than its bound")


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(wf=workflow_files(), task_defs=TASK_DEFS, inp=VALUES)
def test_validate_and_run_answer_any_file_without_a_traceback(tmp_path_factory, wf, task_defs, inp):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "wf.json"
    path.write_text(json.dumps(wf))
    defs = folder / "defs.json"
    defs.write_text(json.dumps(task_defs))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)  # a bound per case: far above a normal case, far below a hang
    try:
        for argv in (["validate", str(path), "--task-defs", str(defs)],
                     ["run", str(path), "--task-defs", str(defs), "--input", json.dumps(inp), "--json"]):
            status = main(argv)
            assert status in (0, 1, 2), argv
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # capsys is read per case
@given(wf=workflow_files())
def test_run_reports_no_handler_failure_inside_the_orchestrator(tmp_path_factory, capsys, wf):
    path = tmp_path_factory.mktemp("fuzz") / "wf.json"
    path.write_text(json.dumps(wf))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    try:
        main(["run", str(path)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "handler failure: " not in err or "orchestrator failed" not in err, err
