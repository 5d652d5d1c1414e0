"""The workflow explorer: runs examples and pasted JSON on toy workers, fails chosen tasks, shows faults."""

import json

import pytest

from microlab.errors import MicrolabError
from microlab.labs.explorer import WorkflowExplorerLab, examples, workflow_explorer


def test_default_run_completes_and_offers_its_tasks_to_fail():
    lab = workflow_explorer()
    assert isinstance(lab, WorkflowExplorerLab) and lab.error is None
    assert lab.run.execution.status == "COMPLETED"
    assert "book_shipment" in lab.controls["fail"].options
    assert {"diagram", "timeline"} <= set(lab.figures)
    assert "COMPLETED" in lab.figures["diagram"].layout.title.text
    assert "book_shipment" in lab.execution_text.value
    assert "microlab-lab-explorer" in lab.root._dom_classes


def test_failing_a_task_for_good_runs_the_compensation():
    lab = workflow_explorer()
    lab.controls["fail"].value = ("book_shipment",)
    ex = lab.run.execution
    assert lab.error is None and ex.status == "FAILED"
    assert len(ex.attempts("book_shipment")) == 3                    # the task was retried
    assert ex.failure_workflow is not None and ex.failure_workflow.status == "COMPLETED"
    undone = [r for r in ex.failure_workflow.refs("COMPLETED") if r in ("refund_payment", "release_inventory")]
    assert undone == ["refund_payment", "release_inventory"]          # undone, most recent first
    assert "failure workflow" in lab.message.value
    lanes = {t.y[0] for t in lab.figures["timeline"].data if t.y is not None and len(t.y)}
    assert any("compensation" in str(lane) for lane in lanes)


def test_failing_only_the_first_attempts_lets_the_retry_succeed():
    lab = workflow_explorer()
    lab.controls["fail"].value = ("book_shipment",)
    lab.controls["fail_times"].value = 2
    ex = lab.run.execution
    assert ex.status == "COMPLETED"
    assert [t.status for t in ex.attempts("book_shipment")] == ["FAILED", "FAILED", "COMPLETED"]
    assert ex.failure_workflow is None


@pytest.mark.parametrize("name", list(examples()))
def test_every_example_runs(name):
    lab = workflow_explorer(name)
    assert lab.error is None, lab.error
    assert lab.run.execution.status == "COMPLETED"
    assert lab.controls["fail"].options      # each example has tasks a toy worker answers


def test_picking_an_example_fills_the_box_and_runs_it():
    lab = workflow_explorer()
    name = next(n for n in examples() if n.startswith("switch"))
    lab.controls["example"].value = name
    assert "shipping_choice" in lab.controls["definition"].value
    assert lab.run.main.name == "shipping_choice"
    # The input picks the express case; the standard shipping never ran.
    refs = lab.run.execution.refs()
    assert "ship_express" in refs and "ship_standard" not in refs
    lab.controls["input"].value = json.dumps({"orderId": "o-2", "express": "no"})
    assert "ship_standard" in lab.run.execution.refs()


def test_invalid_json_shows_the_fault_in_the_lab(lab_errors):
    lab = workflow_explorer()
    before = lab.run
    lab.controls["definition"].value = '{"name": "x", "tasks": [}'
    lab.controls["run"].click()
    assert lab.error is not None and "not valid JSON" in lab.error
    assert lab.faults and lab.faults[0][0] == "$"
    assert lab.run is before                  # the last good run stays on show

    assert lab_errors and all('not valid JSON' in text for _, text, _ in lab_errors)   # only the expected error

def test_invalid_definition_lists_every_fault_with_its_json_path(lab_errors):
    lab = workflow_explorer()
    bad = {"name": "x", "version": 1, "tasks": [{"name": "a", "type": "SIMPL"}]}
    lab.controls["definition"].value = json.dumps(bad)
    lab.controls["run"].click()
    paths = [path for path, _ in lab.faults]
    assert "$.tasks[0].type" in paths and "$.tasks[0].taskReferenceName" in paths
    assert "$.tasks[0].type" in lab.error and "SIMPLE" in lab.error     # did you mean
    assert "white-space:pre-wrap" in lab.message.value                 # one fault a line

    assert lab_errors and all('$.tasks[0].type' in text for _, text, _ in lab_errors)   # only the expected error

def test_pasted_definition_runs_and_refreshes_the_tasks_to_fail():
    lab = workflow_explorer()
    mine = {"name": "mine", "version": 1, "tasks": [
        {"name": "pack", "taskReferenceName": "pack", "type": "SIMPLE"},
        {"name": "post", "taskReferenceName": "post", "type": "SIMPLE"}]}
    lab.controls["definition"].value = json.dumps(mine)
    lab.controls["run"].click()
    assert lab.error is None and lab.run.main.name == "mine"
    assert lab.controls["fail"].options == ("pack", "post")
    lab.controls["fail"].value = ("post",)
    assert lab.run.execution.status == "FAILED"


def test_bad_input_is_named(lab_errors):
    lab = workflow_explorer()
    lab.controls["input"].value = "[1, 2]"
    assert lab.error is not None and "workflow input" in lab.error

    assert lab_errors and all('workflow input' in text for _, text, _ in lab_errors)   # only the expected error

def test_unknown_example_is_named():
    with pytest.raises(MicrolabError, match="unknown example"):
        workflow_explorer("nope")


def test_the_diagram_keeps_the_cells_width_when_an_example_asks_for_its_own():
    lab = workflow_explorer()
    lab.root                                   # laid out: the width watch exists
    lab.width_watch.width = 968                # the browser reports the cell's width
    assert {fw.layout.width for fw in lab.figures.values()} == {968}
    for example in list(lab.controls["example"].options)[1:4]:
        lab.controls["example"].value = example
        assert {fw.layout.width for fw in lab.figures.values()} == {968}, example
