"""The order saga written for Step Functions (ASL) and Camunda 8 (BPMN): generated from the
course's one flow, shipped, and checked as far as a library allows (JSON schema, the BPMN
2.0 XSD), plus the transitions and references a schema cannot check."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest

from microlab.flows import ORDER, TRAVEL
from microlab.orchestration.toys import workflow_file
from microlab.other_engines import asl, bpmn, compare, shipped
from microlab.real import temporal_saga


def test_the_shipped_documents_are_what_the_generators_write_from_the_one_flow():
    assert shipped("order_fulfillment.asl.json") == asl.document(ORDER)
    assert shipped("order_fulfillment.bpmn") == bpmn.document(ORDER)
    with pytest.raises(FileNotFoundError, match="order_fulfillment.asl.json"):
        shipped("order_saga.yaml")


def test_the_shipped_state_machine_passes_the_schema_and_the_transition_checks():
    machine = json.loads(shipped("order_fulfillment.asl.json"))
    assert asl.problems(machine) == []
    assert asl.problems(asl.state_machine(TRAVEL)) == []


@pytest.mark.parametrize("failing, undone", [("Reserve", []), ("Charge", ["Release"]), ("Ship", ["Refund", "Release"])])
def test_a_failed_step_runs_the_compensations_owed_newest_first(failing, undone):
    path = asl.walk(asl.state_machine(), fails={failing})
    assert path[-1] == ORDER.rejected
    assert path[path.index(failing) + 1:-1] == undone
    assert asl.walk(asl.state_machine())[-1] == ORDER.completed


def _broken(change):
    machine = asl.state_machine()
    change(machine["States"])
    return asl.problems(machine)


def test_the_asl_check_names_the_state_and_field_at_fault():
    assert _broken(lambda s: s["Charge"].pop("Next")) == ["States/Charge: a Task state needs exactly one of Next and End"]
    assert _broken(lambda s: s["Ship"]["Catch"][0].update(Next="Release")) == [
        "States/Refund: no transition reaches this state"]
    assert _broken(lambda s: s["Ship"]["Catch"][0].update(Next="Refnud")) == [
        "States/Ship: Next 'Refnud' is not a state", "States/Refund: no transition reaches this state"]
    misspelt = _broken(lambda s: s["Ship"]["Retry"][0].update(MaxAttemps=1))
    assert len(misspelt) == 1 and misspelt[0].startswith("States/Ship/Retry/0:") and "MaxAttemps" in misspelt[0]
    assert _broken(lambda s: s["Ship"]["Retry"][0].update(MaxAttempts=-1)) == [
        "States/Ship/Retry/0/MaxAttempts: -1 is less than the minimum of 0"]
    assert "Parallel" in _broken(lambda s: s.update(X={"Type": "Parallel"}))[0]
    assert asl.problems([]) == ["(top level): [] is not of type 'object'"]


def test_the_shipped_bpmn_is_well_formed_and_valid_against_the_bpmn_schema():
    text = shipped("order_fulfillment.bpmn")
    root = ET.fromstring(text)                    # well-formed
    assert root.tag == f"{{{bpmn.BPMN}}}definitions"
    assert bpmn.problems(text) == []
    assert bpmn.problems(bpmn.document(TRAVEL)) == []


def test_the_bpmn_draws_a_timeout_a_failure_and_an_undo_for_the_steps_that_need_them():
    ns = {"bpmn": bpmn.BPMN}
    process = ET.fromstring(shipped("order_fulfillment.bpmn")).find("bpmn:process", ns)
    events = {e.get("id") for e in process.findall("bpmn:boundaryEvent", ns)}
    for step in ORDER.steps:
        assert {f"{step.effect}_timed_out", f"{step.effect}_failed"} <= events
    handlers = {a.get("sourceRef"): a.get("targetRef") for a in process.findall("bpmn:association", ns)}
    assert handlers == {"reserve_undo": "release", "charge_undo": "refund"}      # ship is the last step
    assert process.find(f"bpmn:endEvent[@id='{ORDER.rejected}']/bpmn:compensateEventDefinition", ns) is not None


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t[:-40], "not well-formed XML"),
    (lambda t: t.replace("isForCompensation", "isForCompensaton", 1), "isForCompensaton"),
    (lambda t: t.replace('attachedToRef="charge"', 'attachedToRef="charged"', 1), "attachedToRef 'charged' names no element"),
    (lambda t: t.replace(' isForCompensation="true"', "", 1), "needs isForCompensation"),
    (lambda t: t.replace('<zeebe:taskDefinition type="ship" retries="3" />', ""), "'ship': no zeebe:taskDefinition"),
    (lambda t: t.replace('sourceRef="reserve" targetRef="charge"', 'sourceRef="reserve" targetRef="ship"'),
     "serviceTask 'charge': no sequence flow reaches it"),
])
def test_the_bpmn_check_finds_each_kind_of_fault(edit, expected):
    found = bpmn.problems(edit(shipped("order_fulfillment.bpmn")))
    assert found and any(expected in p for p in found), found


def test_every_engine_gives_a_step_three_attempts_though_each_writes_another_number():
    conductor = json.loads(workflow_file("order_fulfillment").read_text())[0]["tasks"]
    machine = asl.state_machine()
    process = ET.fromstring(shipped("order_fulfillment.bpmn"))
    zeebe = [int(t.get("retries")) for t in process.iter(f"{{{bpmn.ZEEBE}}}taskDefinition")
             if t.get("type") in {s.effect for s in ORDER.steps}]
    attempts = {
        "Conductor (retryCount + 1)": {t["taskDefinition"]["retryCount"] + 1 for t in conductor},
        "Temporal (maximum_attempts)": {temporal_saga.STEP_RETRY.maximum_attempts},
        "Step Functions (MaxAttempts + 1)": {machine["States"][asl.state_name(s.effect)]["Retry"][0]["MaxAttempts"] + 1
                                             for s in ORDER.steps},
        "BPMN (retries)": set(zeebe),
    }
    assert all(found == {3} for found in attempts.values()), attempts


def test_every_comparison_cell_links_its_sources_and_the_table_has_a_row_per_aspect():
    for aspect in compare.ASPECTS:
        assert set(compare.ROWS[aspect]) == set(compare.ENGINES)
        for engine, cell in compare.ROWS[aspect].items():
            assert all(s in compare.SOURCES for s in cell.sources)
            # A claim about a product links a source; only Temporal's compensation, our own code, needs none.
            assert cell.sources or (engine, aspect) == ("Temporal", "compensation")
    assert all(url.startswith("https://") for url in compare.SOURCES.values())
    table = compare.markdown()
    headings = [line for line in table.splitlines() if line.startswith("**")]
    assert headings == [f"**{a.capitalize()}**" for a in compare.ASPECTS]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "engine |" not in line]
    assert rows == list(compare.ENGINES) * len(compare.ASPECTS)
    assert table.count("](https://") == sum(len(c.sources) for row in compare.ROWS.values() for c in row.values())
