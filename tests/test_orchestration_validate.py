"""Bad definitions are rejected before anything runs, each with its specific error and JSON path."""

import copy

import pytest

from microlab import DefinitionError
from microlab.orchestration import load_workflow, load_workflows


def good():
    return {
        "name": "order", "version": 1, "schemaVersion": 2,
        "tasks": [
            {"name": "reserve", "taskReferenceName": "reserve", "type": "SIMPLE",
             "inputParameters": {"orderId": "${workflow.input.orderId}"}},
            {"name": "fan_out", "taskReferenceName": "fan_out", "type": "FORK_JOIN",
             "forkTasks": [[{"name": "charge", "taskReferenceName": "charge", "type": "SIMPLE"}],
                           [{"name": "notify", "taskReferenceName": "notify", "type": "SIMPLE"}]]},
            {"name": "join", "taskReferenceName": "fan_in", "type": "JOIN", "joinOn": ["charge", "notify"]},
            {"name": "ship", "taskReferenceName": "ship", "type": "SIMPLE",
             "inputParameters": {"chargeId": "${charge.output.chargeId}"}},
        ],
        "outputParameters": {"charge": "${charge.output}"},
    }


def faults_of(data) -> dict:
    with pytest.raises(DefinitionError) as info:
        load_workflows(data)
    return dict(info.value.faults)


def test_the_good_definition_loads():
    wf = load_workflow(good())
    assert [t.task_reference_name for _, t in wf.walk()] == ["reserve", "fan_out", "charge", "notify",
                                                               "fan_in", "ship"]


def test_unknown_task_type():
    data = good()
    data["tasks"][0]["type"] = "simple"
    faults = faults_of(data)
    assert "unknown task type 'simple'. Did you mean 'SIMPLE'?" in faults["$.tasks[0].type"]


@pytest.mark.parametrize("ttype, why", [("KAFKA_PUBLISH", "Kafka"), ("HUMAN", "humans")])
def test_unsupported_task_type_is_named(ttype, why):
    data = good()
    data["tasks"][3]["type"] = ttype
    message = faults_of(data)["$.tasks[3].type"]
    assert f"task type {ttype!r} is not supported by microlab" in message and why in message
    assert "Supported types: SIMPLE, HTTP, SWITCH" in message


def test_missing_task_reference_name():
    data = good()
    del data["tasks"][1]["forkTasks"][1][0]["taskReferenceName"]
    faults = faults_of(data)
    assert "every task needs a taskReferenceName" in faults["$.tasks[1].forkTasks[1][0].taskReferenceName"]


def test_duplicate_task_reference_name():
    data = good()
    data["tasks"][3]["taskReferenceName"] = "charge"
    message = faults_of(data)["$.tasks[3].taskReferenceName"]
    assert "duplicate taskReferenceName 'charge'" in message and "$.tasks[1].forkTasks[0][0]" in message


def test_reference_to_a_task_that_does_not_exist():
    data = good()
    data["tasks"][3]["inputParameters"]["chargeId"] = "${chrage.output.chargeId}"
    message = faults_of(data)["$.tasks[3].inputParameters.chargeId"]
    assert "refers to task 'chrage', but no task has that taskReferenceName; did you mean 'charge'?" in message


def test_join_on_a_task_that_does_not_exist():
    data = good()
    data["tasks"][2]["joinOn"] = ["charge", "notfy"]
    assert "joinOn names 'notfy'" in faults_of(data)["$.tasks[2].joinOn[1]"]


def test_join_on_a_task_outside_its_fork():
    data = good()
    data["tasks"][2]["joinOn"] = ["charge", "reserve"]
    message = faults_of(data)["$.tasks[2].joinOn[1]"]
    assert "waits for 'reserve', which is outside its fork 'fan_out'" in message


def test_fork_without_its_join():
    data = good()
    del data["tasks"][2]
    data["tasks"][2]["inputParameters"] = {}
    assert "must be followed directly by its JOIN" in faults_of(data)["$.tasks[1]"]


def test_unknown_field_suggests_the_right_one():
    data = good()
    data["tasks"][0]["inputParamters"] = data["tasks"][0].pop("inputParameters")
    message = faults_of(data)["$.tasks[0].inputParamters"]
    assert "unknown task field 'inputParamters'; did you mean 'inputParameters'?" in message


def test_a_field_that_belongs_to_another_type():
    data = good()
    data["tasks"][0]["joinOn"] = ["x"]
    assert "joinOn only means something on JOIN tasks" in faults_of(data)["$.tasks[0].joinOn"]


def test_paths_in_a_list_of_definitions_start_with_the_index():
    second = good()
    second["name"] = "other"
    second["tasks"][0]["type"] = "NOPE"
    faults = faults_of([good(), second])
    assert list(faults) == ["$[1].tasks[0].type"]


def test_every_fault_is_reported_at_once():
    data = good()
    data["tasks"][0]["type"] = "NOPE"
    data["tasks"][3]["taskReferenceName"] = "reserve"
    data["timeoutPolicy"] = "TIME_OUT"
    with pytest.raises(DefinitionError) as info:
        load_workflows(data)
    assert len(info.value.faults) == 3 and "invalid Conductor workflow definition (3 faults)" in str(info.value)
    assert "did you mean 'TIME_OUT_WF'?" in dict(info.value.faults)["$.timeoutPolicy"]


def test_response_timeout_longer_than_the_task_timeout():
    data = good()
    data["tasks"][0]["taskDefinition"] = {"name": "reserve", "timeoutSeconds": 10, "responseTimeoutSeconds": 30}
    message = faults_of(data)["$.tasks[0].taskDefinition.responseTimeoutSeconds"]
    assert "must not exceed timeoutSeconds (10)" in message


def test_switch_value_param_must_name_an_input():
    data = good()
    data["tasks"].insert(0, {"name": "s", "taskReferenceName": "s", "type": "SWITCH",
                             "evaluatorType": "value-param", "expression": "kind",
                             "inputParameters": {"knid": "${workflow.input.kind}"}, "decisionCases": {}})
    assert "names no inputParameter of this task (it has: knid)" in faults_of(data)["$.tasks[0].expression"]


def test_nested_do_while_is_rejected():
    inner = {"name": "inner", "taskReferenceName": "inner", "type": "DO_WHILE", "loopCondition": "false",
             "loopOver": [{"name": "x", "taskReferenceName": "x", "type": "SIMPLE"}]}
    outer = {"name": "outer", "taskReferenceName": "outer", "type": "DO_WHILE", "loopCondition": "false",
             "loopOver": [inner]}
    data = {"name": "loops", "tasks": [outer]}
    assert "DO_WHILE inside another DO_WHILE" in faults_of(data)["$.tasks[0].loopOver[0].type"]


def test_wait_until_a_date_is_not_simulated():
    data = {"name": "w", "tasks": [{"name": "w", "taskReferenceName": "w", "type": "WAIT",
                                    "inputParameters": {"until": "2030-01-01 00:00 GMT"}}]}
    assert "no calendar" in faults_of(data)["$.tasks[0].inputParameters.until"]


def test_the_original_data_is_not_changed_by_loading():
    data = good()
    before = copy.deepcopy(data)
    load_workflow(data)
    assert data == before
