"""The workflow model: Conductor's defaults, retry delay formulas, JSON paths."""

import pytest

from microlab.orchestration import model as m
from microlab.orchestration.builder import fork, simple, workflow


def test_task_def_defaults_are_conductors():
    td = m.TaskDef("charge")
    assert (td.retry_count, td.retry_logic, td.retry_delay_seconds) == (3, "FIXED", 60)
    assert (td.timeout_seconds, td.response_timeout_seconds, td.timeout_policy) == (0, 3600, "TIME_OUT_WF")
    assert td.backoff_scale_factor == 1


@pytest.mark.parametrize("logic, scale, expected", [
    ("FIXED", 1, [3, 3, 3, 3]),
    ("LINEAR_BACKOFF", 1, [3, 6, 9, 12]),
    ("LINEAR_BACKOFF", 2, [6, 12, 18, 24]),
    ("EXPONENTIAL_BACKOFF", 1, [3, 6, 12, 24]),
])
def test_retry_delay_follows_conductors_formula(logic, scale, expected):
    td = m.TaskDef("t", retry_logic=logic, retry_delay_seconds=3, backoff_scale_factor=scale)
    assert [td.retry_delay(n) for n in range(4)] == expected


def test_max_retry_delay_caps_the_backoff():
    td = m.TaskDef("t", retry_logic="EXPONENTIAL_BACKOFF", retry_delay_seconds=1, max_retry_delay_seconds=5)
    assert [td.retry_delay(n) for n in range(5)] == [1, 2, 4, 5, 5]


def test_walk_gives_the_json_path_of_every_nested_task():
    wf = (workflow("w")
          .simple("a")
          .switch("s", on="${workflow.input.k}", cases={"x y": [simple("b")]}, default=[simple("c")])
          .add(fork([simple("d")], [simple("e")], ref="f"))
          .build())
    paths = {t.task_reference_name: p for p, t in wf.walk()}
    assert paths == {
        "a": "$.tasks[0]", "s": "$.tasks[1]", "b": "$.tasks[1].decisionCases['x y'][0]",
        "c": "$.tasks[1].defaultCase[0]", "f": "$.tasks[2]", "d": "$.tasks[2].forkTasks[0][0]",
        "e": "$.tasks[2].forkTasks[1][0]", "f_join": "$.tasks[3]",
    }
    assert wf.task("e").type == m.SIMPLE
    with pytest.raises(KeyError, match="no task with taskReferenceName 'zz'"):
        wf.task("zz")


def test_statuses_split_into_terminal_and_successful():
    assert m.COMPLETED_WITH_ERRORS in m.TASK_SUCCESSFUL and m.FAILED not in m.TASK_SUCCESSFUL
    assert m.TASK_TERMINAL >= m.TASK_SUCCESSFUL and m.IN_PROGRESS not in m.TASK_TERMINAL
    assert m.TASK_RETRIABLE == {m.FAILED, m.TIMED_OUT}
    assert m.RUNNING not in m.WORKFLOW_TERMINAL and len(m.WORKFLOW_STATUSES) == 5



def test_the_model_and_the_validator_import_no_serialiser_and_no_task_runner():
    # Issue 15's import cycle: model.py took its serialiser from conductor.py, validate.py
    # took parse_duration from tasks.py. Now conductor owns JSON in and out, durations.py
    # the small helper. Read each module's own relative imports (the package loads all).
    import ast
    from pathlib import Path
    import microlab.orchestration as pkg
    folder = Path(pkg.__file__).parent
    for name in ("model.py", "validate.py"):
        imported = set()
        for node in ast.walk(ast.parse((folder / name).read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module} if node.module else {a.name for a in node.names}
        assert not imported & {"conductor", "tasks"}, (name, imported)
        assert imported, name  # the walk did see the module's imports
