"""What the orchestrator's own (system) tasks compute, as plain functions.

SWITCH, DECISION, INLINE, LAMBDA and JSON_JQ_TRANSFORM run inside the orchestrator,
not at a service: each is a function of the task's resolved input. These functions
hold the Conductor semantics; :mod:`~microlab.orchestration.orchestrator` calls them,
and turns an :class:`~microlab.orchestration.expressions.ExpressionError` into a FAILED
task whose reason quotes the expression.
"""

from __future__ import annotations

import json

from . import model as m
from .durations import MAX_DURATION, parse_duration  # noqa: F401  (kept importable from here)

def case_text(value) -> str:
    """A SWITCH/DECISION value as the case key it selects (Java's ``String.valueOf``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def switch_case(task: m.WorkflowTask, inp: dict, js) -> str:
    """The case a SWITCH or DECISION selects (raises ExpressionError for a bad script)."""
    if task.type == m.SWITCH:
        if task.evaluator_type == "value-param":
            return case_text(inp.get(task.expression))
        return case_text(js.evaluate(task.expression, inp, what="SWITCH expression"))
    if task.case_value_param:
        return case_text(inp.get(task.case_value_param))
    return case_text(js.evaluate(task.case_expression, inp, what="caseExpression"))


def inline(inp: dict, js) -> dict:
    """An INLINE task's output: ``{"result": value of the expression}``."""
    evaluator = inp.get("evaluatorType")
    expression = inp.get("expression")
    if evaluator == "value-param":
        return {"result": inp.get(expression)}
    return {"result": js.evaluate(expression, inp, what="INLINE expression", allow_undefined=False)}


def lambda_(inp: dict, js) -> dict:
    """A LAMBDA task's output: ``{"result": what the scriptExpression body returns}``."""
    return {"result": js.function_body(inp.get("scriptExpression"), inp)}


def jq_transform(inp: dict, jq) -> dict:
    """A JSON_JQ_TRANSFORM task's output: ``{"result": first value, "resultList": all}``."""
    results = jq.run(inp.get("queryExpression"), inp)
    return {"result": results[0] if results else None, "resultList": results}
