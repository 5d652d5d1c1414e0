"""What the orchestrator's own (system) tasks compute, as plain functions.

SWITCH, DECISION, INLINE, LAMBDA and JSON_JQ_TRANSFORM run inside the orchestrator,
not at a service: each is a function of the task's resolved input. These functions
hold the Conductor semantics; :mod:`~microlab.orchestration.orchestrator` calls them,
and turns an :class:`~microlab.orchestration.expressions.ExpressionError` into a FAILED
task whose reason quotes the expression.
"""

from __future__ import annotations

import json
import re

from . import model as m

_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*,?")
_UNITS = {
    "": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}


def parse_duration(value) -> float:
    """Seconds in a WAIT duration: a number, or text such as ``"10s"``, ``"1m 30s"``, ``"2 days"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _checked_seconds(float(value), value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a duration is a number of seconds or text such as '10s' or '1m 30s', got {value!r}")
    total = 0.0
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot read the duration {value!r}: write it like '10s', '1m 30s' or '2 hours'")
        number, unit = match.groups()
        factor = _UNITS.get(unit.lower())
        if factor is None:
            raise ValueError(f"unknown unit {unit!r} in the duration {value!r}: use s, m, h or d")
        total += float(number) * factor
        pos = match.end()
    return _checked_seconds(total, value)


#: The longest WAIT: about 31 years of simulated time (longer ones are typing mistakes).
MAX_DURATION = 1e9


def _checked_seconds(seconds: float, given) -> float:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"a duration must be a finite number of seconds, got {given!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {given!r}")
    if seconds > MAX_DURATION:
        raise ValueError(f"a duration of {seconds:g} s is more than {MAX_DURATION:g} s (about 31 years) of "
                         f"simulated time, got {given!r}")
    return seconds


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
