"""The order saga in Amazon States Language, and a check of such a state machine.

A Task state per step, each with its ``Retry`` (a step's own retries), ``TimeoutSeconds``
and a ``Catch`` that leads to the compensations owed at that point, newest first: a
failed ``Charge`` goes to ``Release``; a failed ``Ship`` to ``Refund``, then ``Release``;
every compensation chain ends in the Fail state ``OrderRejected``. The last step has no
compensation state: once it is done the saga is done, and ASL forbids states that no
transition reaches.

:func:`problems` checks a state machine: a JSON schema of the fields this module uses
(written from the specification, https://states-language.net/spec.html), then what a
schema cannot say: every ``Next`` names a state, every state is reachable, and a
state that neither ends nor fails has a ``Next``.
"""

from __future__ import annotations

import json

from ..flows import ORDER, BusinessFlow

#: A step's retries (ASL counts retries, not attempts: 2 here is Conductor's retryCount 2).
STEP_RETRIES = 2
#: A compensation's retries (the Conductor JSON gives refund and release 5).
UNDO_RETRIES = 5
#: Seconds one attempt of a task may take (Conductor's responseTimeoutSeconds 5).
TASK_TIMEOUT_S = 5
#: Seconds the whole execution may take (Conductor's workflow timeoutSeconds 120).
EXECUTION_TIMEOUT_S = 120
#: The errors a Retry and a Catch handle: a task that failed, or timed out.
TASK_ERRORS = ["States.TaskFailed", "States.Timeout"]


def state_name(action: str) -> str:
    """``reserve`` -> ``Reserve``, ``cancel_shipment`` -> ``CancelShipment``."""
    return "".join(part.capitalize() for part in action.split("_"))


def _task(service: str, action: str, retries: int) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"{service}-{action}", "Payload.$": "$"},
        "ResultPath": f"$.results.{action}",
        "TimeoutSeconds": TASK_TIMEOUT_S,
        "Retry": [{"ErrorEquals": TASK_ERRORS, "IntervalSeconds": 1, "MaxAttempts": retries, "BackoffRate": 2.0}],
    }


def state_machine(flow: BusinessFlow = ORDER) -> dict:
    """The saga of ``flow`` as an ASL state machine (a dict, ready for ``json.dumps``)."""
    steps = flow.steps
    states: dict = {}
    # The compensation chain entered after step i failed: the undo of step i-1, then i-2, ...
    undo_names = [state_name(s.compensation) if s.compensation else None for s in steps]

    def undo_from(index: int) -> str:
        """The first state to run when step ``index`` failed for good."""
        for j in range(index - 1, -1, -1):
            if undo_names[j]:
                return undo_names[j]
        return flow.rejected

    for i, step in enumerate(steps):
        state = _task(step.service, step.effect, STEP_RETRIES)
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": undo_from(i)}]
        state["Next"] = state_name(steps[i + 1].effect) if i + 1 < len(steps) else flow.completed
        states[state_name(step.effect)] = state
    for j, step in enumerate(steps[:-1]):           # the last step is never undone
        if step.compensation:
            undo = _task(step.service, step.compensation, UNDO_RETRIES)
            undo["Next"] = undo_from(j)
            states[undo_names[j]] = undo
    states[flow.completed] = {"Type": "Succeed"}
    states[flow.rejected] = {"Type": "Fail", "Error": flow.rejected,
                             "Cause": "a step failed for good; what was done before it was undone"}
    return {"Comment": f"The {flow.name} saga of microlab (generated from microlab.flows): "
                       "each step retries, then the compensations owed run newest first.",
            "StartAt": state_name(steps[0].effect), "TimeoutSeconds": EXECUTION_TIMEOUT_S, "States": states}


def document(flow: BusinessFlow = ORDER) -> str:
    """The state machine as the JSON text one would deploy."""
    return json.dumps(state_machine(flow), indent=2) + "\n"


_RETRIER = {"type": "object", "required": ["ErrorEquals"], "additionalProperties": False, "properties": {
    "ErrorEquals": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "IntervalSeconds": {"type": "integer", "minimum": 1},
    "MaxAttempts": {"type": "integer", "minimum": 0},
    "BackoffRate": {"type": "number", "minimum": 1.0},
    "MaxDelaySeconds": {"type": "integer", "minimum": 1},
    "JitterStrategy": {"enum": ["FULL", "NONE"]}}}
_CATCHER = {"type": "object", "required": ["ErrorEquals", "Next"], "additionalProperties": False, "properties": {
    "ErrorEquals": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "Next": {"type": "string"}, "ResultPath": {"type": ["string", "null"]}}}
_COMMON = {"Type": {"type": "string"}, "Comment": {"type": "string"}}
_PATH = {"type": ["string", "null"]}

#: JSON schemas, by state type, of the part of ASL that :func:`state_machine` writes
#: (Task, Succeed and Fail states, Retry and Catch), from the specification's field rules.
STATE_SCHEMAS = {
    "Task": {"type": "object", "required": ["Type", "Resource"], "additionalProperties": False, "properties": {
        **_COMMON, "Resource": {"type": "string", "pattern": "^arn:"}, "Parameters": {"type": "object"},
        "ResultPath": _PATH, "InputPath": _PATH, "OutputPath": _PATH, "ResultSelector": {"type": "object"},
        "TimeoutSeconds": {"type": "integer", "minimum": 1}, "HeartbeatSeconds": {"type": "integer", "minimum": 1},
        "Retry": {"type": "array", "items": _RETRIER}, "Catch": {"type": "array", "items": _CATCHER},
        "Next": {"type": "string"}, "End": {"const": True}}},
    "Succeed": {"type": "object", "additionalProperties": False, "properties": {
        **_COMMON, "InputPath": _PATH, "OutputPath": _PATH}},
    "Fail": {"type": "object", "additionalProperties": False, "properties": {
        **_COMMON, "Error": {"type": "string"}, "Cause": {"type": "string"}}},
}
#: The top level of a state machine (each state is checked with :data:`STATE_SCHEMAS`).
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["StartAt", "States"], "additionalProperties": False,
    "properties": {
        "Comment": {"type": "string"}, "StartAt": {"type": "string"}, "Version": {"type": "string"},
        "TimeoutSeconds": {"type": "integer", "minimum": 1},
        "States": {"type": "object", "minProperties": 1, "propertyNames": {"maxLength": 80},
                   "additionalProperties": {"type": "object", "required": ["Type"]}}},
}


def problems(machine) -> list[str]:
    """What is wrong with an ASL state machine, each naming the state and field at fault
    (empty: it passes the schemas and the transition checks)."""
    from jsonschema import Draft202012Validator

    found = _schema_problems(SCHEMA, machine, "")
    if found:
        return found
    states = machine["States"]
    for name, state in states.items():
        schema = STATE_SCHEMAS.get(state["Type"])
        if schema is None:
            found.append(f"States/{name}: Type {state['Type']!r}: microlab checks {', '.join(STATE_SCHEMAS)} states only")
            continue
        found += _schema_problems(schema, state, f"States/{name}")
        ends = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        if state["Type"] == "Task" and ends == ("Next" in state):
            found.append(f"States/{name}: a Task state needs exactly one of Next and End")
    if found:
        return found
    if machine["StartAt"] not in states:
        found.append(f"StartAt: {machine['StartAt']!r} is not a state; the states are {', '.join(states)}")
    targets = {name: [s.get("Next")] + [c["Next"] for c in s.get("Catch", [])] for name, s in states.items()}
    for name, nexts in targets.items():
        for target in filter(None, nexts):
            if target not in states:
                found.append(f"States/{name}: Next {target!r} is not a state")
    reached, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reached or name not in states:
            continue
        reached.add(name)
        todo.extend(filter(None, targets[name]))
    for name in states:
        if name not in reached:
            found.append(f"States/{name}: no transition reaches this state")
    return found


def walk(machine: dict, fails=(), limit: int = 100) -> list[str]:
    """The states an execution visits when the Task states named in ``fails`` fail at
    every attempt (their ``Retry`` spent, the first ``Catch`` for a task failure taken)
    and every other one succeeds; ends at a Succeed or Fail state."""
    states, name, path = machine["States"], machine["StartAt"], []
    while len(path) < limit:
        path.append(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            return path
        if name in fails:
            catch = next((c for c in state.get("Catch", [])
                          if {"States.ALL", "States.TaskFailed"} & set(c["ErrorEquals"])), None)
            if catch is None:
                path.append("(execution failed: no Catch)")
                return path
            name = catch["Next"]
        else:
            name = state["Next"]
    raise ValueError(f"no end after {limit} states: {' -> '.join(path[-6:])} ... (a loop?)")


def _schema_problems(schema: dict, value, prefix: str) -> list[str]:
    from jsonschema import Draft202012Validator

    out = []
    for error in sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "/".join([prefix] * bool(prefix) + [str(p) for p in error.absolute_path]) or "(top level)"
        out.append(f"{where}: {error.message}")
    return out
