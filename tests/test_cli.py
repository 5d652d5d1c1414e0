"""The command line: python -m microlab validate|run FILE.json."""

import json
import subprocess
import sys

import pytest

from microlab.cli import main
from microlab.orchestration.toys import workflow_file

SAGA = str(workflow_file("order_fulfillment"))


def cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path, data, name="wf.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_validate_a_valid_file(capsys):
    status, out, _ = cli(capsys, "validate", SAGA)
    assert status == 0
    assert out.strip() == (f"{SAGA}: valid: order_fulfillment v1 (3 tasks), order_fulfillment_compensation v1 (5 tasks)")


def test_validate_prints_each_fault_with_its_json_path(tmp_path, capsys):
    bad = write(tmp_path, [
        {"name": "main", "failureWorkflow": "undo", "tasks": [
            {"name": "a", "taskReferenceName": "a", "type": "KAFKA_PUBLISH"},
            {"name": "b", "taskReferenceName": "a", "inputParameters": {"x": "${zz.output.y}"}}]},
        {"name": "other", "tasks": [{"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW",
                                     "subWorkflowParam": {"name": "mian"}}]}])
    status, out, _ = cli(capsys, "validate", bad, SAGA)
    assert status == 1
    lines = out.splitlines()
    assert lines[0] == f"{bad}: invalid (5 faults)"
    faults = dict(line.strip().split(": ", 1) for line in lines[1:6])
    assert sorted(faults) == ["$[0].failureWorkflow", "$[0].tasks[0].type", "$[0].tasks[1].inputParameters.x",
                              "$[0].tasks[1].taskReferenceName", "$[1].tasks[0].subWorkflowParam.name"]
    assert "'KAFKA_PUBLISH' is not supported" in faults["$[0].tasks[0].type"]
    assert "did you mean 'main'?" in faults["$[1].tasks[0].subWorkflowParam.name"]
    assert "failure workflow 'undo' is not defined" in faults["$[0].failureWorkflow"]
    assert lines[6].startswith(f"{SAGA}: valid")


def test_validate_checks_task_definitions_too(tmp_path, capsys):
    defs = write(tmp_path, [{"name": "a", "retryLogic": "NOPE"}], "defs.json")
    status, out, _ = cli(capsys, "validate", SAGA, "--task-defs", defs)
    assert status == 1 and "$[0].retryLogic: retryLogic must be one of" in out


def test_run_prints_tasks_in_scheduling_order_then_status_and_output(capsys):
    status, out, _ = cli(capsys, "run", SAGA, "--input", '{"orderId": "o-1", "amount": 30}',
                         "--worker-output", 'charge_payment={"chargeId": "ch-9"}')
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"run of {SAGA} (seed 1)"
    rows = [line.split() for line in lines[3:6]]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("reserve_inventory", "SIMPLE", "COMPLETED", "1"), ("charge_payment", "SIMPLE", "COMPLETED", "1"),
        ("book_shipment", "SIMPLE", "COMPLETED", "1")]
    assert lines[6].startswith("  status: COMPLETED at t=")
    assert json.loads(lines[7].split("output: ", 1)[1]) == {
        "orderId": "o-1", "chargeId": "ch-9", "reservationId": None, "trackingId": None}


def test_run_json_with_a_failure_shows_retries_and_the_compensation(capsys):
    status, out, _ = cli(capsys, "run", SAGA, "--json", "--fail", "book_shipment", "--fail", "charge_payment:1",
                         "--input", '{"orderId": "o-2", "amount": 5}', "--seed", "3")
    assert status == 1
    doc = json.loads(out)
    assert doc["status"] == "FAILED" and doc["outcome"] == "COMPENSATED"
    assert [(t["referenceTaskName"], t["status"], t["retryCount"]) for t in doc["tasks"]] == [
        ("reserve_inventory", "COMPLETED", 0), ("charge_payment", "FAILED", 0), ("charge_payment", "COMPLETED", 1),
        ("book_shipment", "FAILED", 0), ("book_shipment", "FAILED", 1), ("book_shipment", "FAILED", 2)]
    assert all(t["startTime"] <= t["endTime"] for t in doc["tasks"])
    undo = [t["referenceTaskName"] for t in doc["failureWorkflow"]["tasks"] if t["taskType"] == "SIMPLE"]
    assert undo == ["refund_payment", "release_inventory"]


def test_run_uses_task_definitions_from_a_file(tmp_path, capsys):
    wf = write(tmp_path, {"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a"}]})
    defs = write(tmp_path, [{"name": "a", "retryCount": 1, "retryDelaySeconds": 4}], "defs.json")
    status, out, _ = cli(capsys, "run", wf, "--task-defs", defs, "--fail", "a", "--json")
    tasks = json.loads(out)["tasks"]
    gap = tasks[1]["startTime"] - tasks[0]["endTime"]
    assert status == 1 and len(tasks) == 2 and 4 <= gap <= 4.25  # the delay, then the wait for a poll


def test_run_defaults_to_conductors_task_definition(tmp_path, capsys):
    wf = write(tmp_path, {"name": "w", "tasks": [{"name": "a", "taskReferenceName": "a"}]})
    status, out, _ = cli(capsys, "run", wf, "--fail", "a:2", "--json", "--latency", "0")
    tasks = json.loads(out)["tasks"]
    assert status == 0 and [t["status"] for t in tasks] == ["FAILED", "FAILED", "COMPLETED"]
    starts = [t["startTime"] for t in tasks]
    # 60 s FIXED, Conductor's default; each start is when a worker polled the task.
    assert [round(b - a) for a, b in zip(starts, starts[1:])] == [60, 60] and starts[0] < 0.25


def test_the_first_definition_runs_and_the_others_serve_as_sub_workflows(tmp_path, capsys):
    wf = write(tmp_path, [
        {"name": "parent", "tasks": [{"name": "call", "taskReferenceName": "call", "type": "SUB_WORKFLOW",
                                      "subWorkflowParam": {"name": "child"}}]},
        {"name": "child", "tasks": [{"name": "inner", "taskReferenceName": "inner"}],
         "outputParameters": {"v": "${inner.output.v}"}}])
    status, out, _ = cli(capsys, "run", wf, "--worker-output", 'inner={"v": 7}')
    assert status == 0 and "workflow child v1 (sub-workflow): child-1" in out and '"v": 7' in out


@pytest.mark.parametrize("argv, message", [
    (["--fail", "shipment"], "no SIMPLE or HTTP task has taskReferenceName 'shipment'; did you mean 'book_shipment'?"),
    (["--fail", "book_shipment:two"], "TIMES must be a whole number"),
    (["--worker-output", "book_shipment={oops"], "not valid JSON"),
    (["--input", "[1]"], "--input must be a JSON object"),
])
def test_bad_options_exit_2_with_a_hint(capsys, argv, message):
    status, out, err = cli(capsys, "run", SAGA, *argv)
    assert status == 2 and message in err


def test_running_an_invalid_definition_prints_its_faults(tmp_path, capsys):
    wf = write(tmp_path, {"name": "w", "tasks": [{"name": "a"}]})
    status, out, _ = cli(capsys, "run", wf)
    assert status == 2 and "$.tasks[0].taskReferenceName: every task needs a taskReferenceName" in out


def test_help_is_useful():
    out = subprocess.run([sys.executable, "-m", "microlab", "--help"], capture_output=True, text=True).stdout
    assert "validate" in out and "run" in out and "order_fulfillment.json" in out
    out = subprocess.run([sys.executable, "-m", "microlab", "run", "--help"], capture_output=True, text=True).stdout
    for option in ("--input", "--worker-output", "--fail", "--seed", "--json", "--task-defs"):
        assert option in out
    assert "Exit status: 0 when the workflow COMPLETED" in out
