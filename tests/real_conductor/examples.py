"""The shipped and example definitions as differential cases, with inputs and toy plans
that take each definition down its interesting paths."""

from __future__ import annotations

import json
from pathlib import Path

from microlab.real.conformance import Case
from microlab.real.run import simple_names

ROOT = Path(__file__).resolve().parents[2]
#: Conductor's own example workflows (see their README), beside the repository.
EXAMPLES = ROOT.parent.parent / "shared" / "conductor-examples"
SHIPPED = ROOT / "microlab" / "data" / "workflows"


def examples_dir() -> Path:
    """Where Conductor's example definitions are (../shared/conductor-examples)."""
    for candidate in (EXAMPLES, ROOT.parent / "shared" / "conductor-examples",
                      Path("/work/shared/conductor-examples")):
        if candidate.is_dir():
            return candidate
    return EXAMPLES


def _load(path: Path) -> list:
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else [data]


def _fast_defs(workflows, retry_count: int = 1) -> list:
    # Fast retries: the examples name no task definitions, and Conductor's default of
    # 60 s between retries would make the suite crawl; both sides get these.
    return [{"name": n, "retryCount": retry_count, "retryLogic": "FIXED", "retryDelaySeconds": 0,
             "responseTimeoutSeconds": 30, "timeoutSeconds": 0} for n in simple_names(workflows)]


#: file -> list of (label, input, outputs, fails)
PLANS = {
    "conditional_switch_task_workflow_integration_test.json": [
        ("nested-one", {"param1": "nested", "param2": "one"}, {}, {}),
        ("nested-two", {"param1": "nested", "param2": "two", "finalCase": "notify"}, {}, {}),
        ("three", {"param1": "three", "param2": "x"}, {}, {}),
        ("default", {"param1": "other", "param2": "x"}, {}, {})],
    "decision_and_terminate_integration_test.json": [
        ("one", {"param1": "p1", "param2": "p2", "case": "one"}, {"t1": {"op": "t1-out"}, "t3": {"op": "t3-out"}}, {}),
        ("two", {"param1": "p1", "param2": "p2", "case": "two"}, {"t1": {"op": "t1-out"}}, {}),
        ("default", {"param1": "p1", "param2": "p2", "case": "zzz"}, {"t3": {"op": "x"}}, {})],
    "do_while_five_loop_over_integration_test.json": [
        ("loop", {}, {}, {})],
    "fork_join_integration_test.json": [
        ("ok", {"param1": "a", "param2": "b"}, {"t4": {"done": True}}, {}),
        ("branch-fails", {"param1": "a"}, {}, {"t3": None})],
    "json_jq_transform_result_integration_test.json": [
        ("jq", {"requestedAction": "redeliver"}, {}, {})],
    "nested_fork_join_integration_test.json": [
        ("a", {"case": "a"}, {}, {}),
        ("b", {"case": "b"}, {}, {}),
        ("default", {"case": "zz"}, {}, {})],
    "saga-order-fulfillment.json": [
        ("ok", {"orderId": "o-1", "amount": 30, "shipmentStatus": 200}, {}, {}),
        ("compensated", {"orderId": "o-2", "amount": 30, "shipmentStatus": 503}, {}, {})],
    "simple_set_variable_workflow_integration_test.json": [
        ("set", {"var": "value"}, {}, {})],
    "simple_switch_task_integration_test.json": [
        ("c", {"case": "c", "param1": 1, "param2": 2}, {}, {}),
        ("default", {"case": "d", "param1": 1, "param2": 2}, {}, {})],
    "simple_workflow_1_integration_test.json": [
        ("ok", {"param1": "a", "param2": "b"}, {"t1": {"o": 1}}, {}),
        ("retried", {"param1": "a"}, {}, {"t1": 1}),
        ("failed-no-failure-workflow", {"param1": "a"}, {}, {"t2": None})],
    "simple_workflow_with_optional_task_integration_test.json": [
        ("ok", {}, {}, {}),
        ("optional-fails", {}, {}, {"t1": None})],
    "test_task_failed_parent_workflow.json": [
        ("terminated-sub", {}, {}, {})],
    "workflow_with_sub_workflow_1_integration_test.json": [
        ("ok", {"param1": "a", "param2": "b", "subwf": "sub_workflow"}, {}, {}),
        ("sub-fails", {"param1": "a", "subwf": "sub_workflow"}, {}, {"t1": None})],
}

#: The project's own definitions: file -> plans, as above.
SHIPPED_PLANS = {
    "order_fulfillment.json": [
        ("ok", {"orderId": "o-1", "amount": 30, "items": ["book"]}, {}, {}),
        ("compensated", {"orderId": "o-2", "amount": 30}, {}, {"book_shipment": None}),
        ("retried", {"orderId": "o-3", "amount": 30}, {}, {"charge_payment": 1})],
}


def example_cases() -> list[Case]:
    """One case per (file, plan) of Conductor's examples and the shipped workflows."""
    cases = []
    for folder, plans, tag in ((examples_dir(), PLANS, "example"), (SHIPPED, SHIPPED_PLANS, "shipped")):
        for file, runs in plans.items():
            path = folder / file
            if not path.is_file():
                continue
            workflows = _load(path)
            for label, inp, outputs, fails in runs:
                name = f"{path.stem}-{label}".replace("_", "-")
                cases.append(Case(name, workflows, inp, outputs, fails, _fast_defs(workflows),
                                  frozenset({tag})))
    return cases


def definition_files() -> list[Path]:
    """Every example and shipped workflow file (a test holds PLANS to cover them all)."""
    return sorted(examples_dir().glob("*.json")) + sorted(SHIPPED.glob("*.json"))
