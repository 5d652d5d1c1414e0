"""Event handlers: an event on a topic starts a workflow, or completes or fails a task.

Conductor's event handler (``EventHandler``) listens on one event queue, ``event``
(``nats:ShipmentBooked``, ``conductor:order_flow:placed``: see
:mod:`~microlab.orchestration.sinks`). For each message it evaluates ``condition``
(JavaScript with ``$`` bound to the payload, or with ``evaluatorType`` ``value-param``
the payload field it names; no condition means true); when it holds, it runs
``actions`` in order:

- ``start_workflow`` ``{"name", "version"?, "input"?, "correlationId"?}``: starts the
  workflow; its input is ``input`` resolved against the payload (``${orderId}``) plus
  ``conductor.event.messageId`` and ``conductor.event.name``;
- ``complete_task`` / ``fail_task`` ``{"taskId"}`` or ``{"workflowId", "taskRefName"}``
  (plus ``output``, and for fail_task ``reasonForIncompletion``): ends that task, which
  must be IN_PROGRESS (a WAIT, an EVENT with asyncComplete, ...). The task's output is
  those fields resolved against the payload, plus the two ``conductor.event.*`` fields.

Conductor's OSS processor implements exactly these three actions (``terminate_workflow``
and ``update_workflow_variables`` are in its model but not carried out, so microlab
refuses them with that reason). Each action is recorded by ``(message id, handler,
action index)``, as Conductor records an event execution, so an event the broker
delivers twice acts once. A condition that is false skips the handler (recorded as
SKIPPED); a condition that throws is recorded as FAILED with its reason.

The definitions are plain data here; :mod:`~microlab.orchestration.conductor` reads and
writes their JSON, the decider (:mod:`~microlab.orchestration.decider`) carries them out,
and the orchestrator's shell subscribes to their topics on the broker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from . import sinks
from .params import as_text, dig, parse_path

START_WORKFLOW = "start_workflow"
COMPLETE_TASK = "complete_task"
FAIL_TASK = "fail_task"
#: The actions Conductor OSS carries out.
ACTIONS = (START_WORKFLOW, COMPLETE_TASK, FAIL_TASK)
#: Actions in Conductor's model that its OSS processor does not carry out.
NOT_IN_OSS = {"terminate_workflow": "Conductor OSS does not carry it out (only Orkes does)",
              "update_workflow_variables": "Conductor OSS does not carry it out (only Orkes does)",
              "start_agent": "agents are not simulated"}
#: Condition evaluators: Conductor's script evaluator (the default), and value-param.
EVALUATORS = (None, "javascript", "graaljs", "value-param")
#: Trace record kind of a handler's execution (see :mod:`~microlab.orchestration.records`).
EXECUTED, SKIPPED, FAILED, DUPLICATE = "COMPLETED", "SKIPPED", "FAILED", "DUPLICATE"


@dataclass
class HandlerAction:
    """One action of an event handler: ``action`` and the parameters of that action."""

    action: str
    #: ``start_workflow``'s ``{"name", "version"?, "input"?, "correlationId"?}``, or the task
    #: details of ``complete_task`` / ``fail_task`` (``taskId`` or ``workflowId`` + ``taskRefName``).
    params: dict = field(default_factory=dict)
    expand_inline_json: bool = False


@dataclass
class EventHandler:
    """An event handler (Conductor's EventHandler): ``actions`` run when ``condition`` holds.

    ``active`` defaults to False in Conductor JSON, as in Conductor (an inactive handler
    listens to nothing); :func:`event_handler` makes active ones.
    """

    name: str
    event: str
    actions: list
    condition: str | None = None
    evaluator_type: str | None = None
    active: bool = False
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def topic(self) -> str:
        """The broker topic this handler listens on."""
        return sinks.broker_topic(self.event, f"event handler {self.name!r}: event")


def event_handler(name: str, event: str, *actions: HandlerAction, condition: str | None = None,
                  evaluator_type: str | None = None, active: bool = True) -> EventHandler:
    """An active event handler in one line, e.g.
    ``event_handler("shipped", "nats:OrderShipped", complete_task(workflow_id="${workflowId}", ref="await"))``.
    """
    return EventHandler(name, event, list(actions), condition, evaluator_type, active)


def start_workflow(name: str, *, input: dict | None = None, version: int | None = None,
                   correlation: str | None = None) -> HandlerAction:
    """A ``start_workflow`` action (``input`` and ``correlation`` may hold ``${...}`` of the payload)."""
    params: dict = {"name": name, "input": dict(input or {})}
    if version is not None:
        params["version"] = version
    if correlation is not None:
        params["correlationId"] = correlation
    return HandlerAction(START_WORKFLOW, params)


def complete_task(*, workflow_id: str | None = None, ref: str | None = None, task_id: str | None = None,
                  output: dict | None = None) -> HandlerAction:
    """A ``complete_task`` action: by ``task_id``, or by ``workflow_id`` and ``ref`` (taskRefName)."""
    return HandlerAction(COMPLETE_TASK, _task_details(workflow_id, ref, task_id, output, None))


def fail_task(*, workflow_id: str | None = None, ref: str | None = None, task_id: str | None = None,
              output: dict | None = None, reason: str | None = None) -> HandlerAction:
    """A ``fail_task`` action (see :func:`complete_task`), with ``reason`` (reasonForIncompletion)."""
    return HandlerAction(FAIL_TASK, _task_details(workflow_id, ref, task_id, output, reason))


def _task_details(workflow_id, ref, task_id, output, reason) -> dict:
    details = {"workflowId": workflow_id, "taskRefName": ref, "taskId": task_id, "output": dict(output or {})}
    if reason is not None:
        details["reasonForIncompletion"] = reason
    return {k: v for k, v in details.items() if v is not None}


# -- checking ------------------------------------------------------------------------------

def check_handler(handler: EventHandler, path: str = "$") -> list:
    """Faults of one handler, as ``(json_path, message)`` pairs, each naming the handler."""
    faults: list = []
    who = f"event handler {handler.name!r}" if handler.name else "an event handler"
    if not isinstance(handler.name, str) or not handler.name.strip():
        faults.append((f"{path}.name", "an event handler needs a name (Conductor: 'Missing event handler name')"))
    try:
        sinks.split(handler.event, f"{who}: event")
    except sinks.SinkError as exc:
        faults.append((f"{path}.event", str(exc)))
    if handler.evaluator_type not in EVALUATORS:
        faults.append((f"{path}.evaluatorType", f"{who}: evaluatorType must be javascript, graaljs or "
                                                f"value-param (or absent), got {handler.evaluator_type!r}"))
    if handler.condition is not None and not isinstance(handler.condition, str):
        faults.append((f"{path}.condition", f"{who}: condition must be a string such as \"$.status == 'OK'\""))
    if not handler.actions:
        faults.append((f"{path}.actions", f"{who} has no actions; give at least one of {', '.join(ACTIONS)}"))
    for i, action in enumerate(handler.actions):
        faults.extend(_check_action(action, f"{path}.actions[{i}]", who))
    return faults


def _check_action(action: HandlerAction, path: str, who: str) -> list:
    kind = action.action
    if kind in NOT_IN_OSS:
        return [(f"{path}.action", f"{who}: action {kind!r} is not supported: {NOT_IN_OSS[kind]}; "
                                   f"use one of {', '.join(ACTIONS)}")]
    if kind not in ACTIONS:
        return [(f"{path}.action", f"{who}: unknown action {kind!r}; the actions are {', '.join(ACTIONS)}")]
    params = action.params
    where = f"{path}.{kind}"
    if not isinstance(params, dict):
        return [(where, f"{who}: action {kind} needs its parameters in {kind!r}, a JSON object")]
    if kind == START_WORKFLOW:
        faults = []
        if not isinstance(params.get("name"), str) or not params.get("name"):
            faults.append((f"{where}.name", f"{who}: start_workflow needs the name of the workflow to start"))
        if params.get("input") is not None and not isinstance(params.get("input"), dict):
            faults.append((f"{where}.input", f"{who}: start_workflow.input must be a JSON object"))
        return faults
    by_id = bool(params.get("taskId"))
    by_ref = bool(params.get("workflowId")) and bool(params.get("taskRefName"))
    if not by_id and not by_ref:
        have = ", ".join(k for k in ("workflowId", "taskRefName") if params.get(k)) or "neither"
        return [(where, f"{who}: {kind} needs taskId, or both workflowId and taskRefName (it has {have}); "
                        "e.g. {\"workflowId\": \"${workflowId}\", \"taskRefName\": \"await_shipment\"}")]
    if params.get("output") is not None and not isinstance(params.get("output"), dict):
        return [(f"{where}.output", f"{who}: {kind}.output must be a JSON object")]
    return []


# -- carrying out (pure helpers the decider uses) -----------------------------------------------

def resolve(value, payload):
    """``value`` with every ``${path}`` replaced from ``payload`` (Conductor's ParametersUtils.replace).

    A string that is one expression takes the value (a number stays a number); inside a
    longer string it reads as text; a missing path gives None.
    """
    if isinstance(value, dict):
        return {k: resolve(v, payload) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, payload) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    from .params import _EXPR  # one grammar of ${...} for the whole package
    matches = list(_EXPR.finditer(value))
    if len(matches) == 1 and matches[0].span() == (0, len(value)):
        return _lookup(matches[0].group(1), payload)
    return _EXPR.sub(lambda m: as_text(_lookup(m.group(1), payload)), value)


def _lookup(expr: str, payload):
    path = parse_path(expr.strip().removeprefix("$."))
    return dig(payload, path) if path is not None else None


def expand_inline_json(value):
    """Strings in ``value`` that hold JSON objects or lists, parsed (Conductor's expandInlineJSON)."""
    if isinstance(value, dict):
        return {k: expand_inline_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_inline_json(v) for v in value]
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return expand_inline_json(json.loads(value))
        except ValueError:
            return value
    return value


def holds(value) -> bool:
    """How Conductor reads a condition's value (``ScriptEvaluator.toBoolean``): true, or a number above 0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    return False


def syntax_probe(condition: str) -> str:
    """A script that parses ``condition`` without running it (for checking it at registration)."""
    return f"void function () {{ return ({condition}\n); }}; 0"


class EventHandlers:
    """The handlers an orchestrator knows, by name and by broker topic (registration order)."""

    def __init__(self):
        self.by_name: dict[str, EventHandler] = {}
        self.by_topic: dict[str, list] = {}

    def add(self, handler: EventHandler) -> None:
        """Add (or replace, by name) one checked handler."""
        old = self.by_name.get(handler.name)
        if old is not None:
            self.by_topic[old.topic].remove(old)
        self.by_name[handler.name] = handler
        self.by_topic.setdefault(handler.topic, []).append(handler)

    def for_topic(self, topic: str) -> list:
        """The active handlers listening on ``topic``."""
        return [h for h in self.by_topic.get(topic, ()) if h.active]

    def topics(self) -> list:
        """Every topic an active handler listens on."""
        return [t for t, hs in self.by_topic.items() if any(h.active for h in hs)]

    def __len__(self) -> int:
        return len(self.by_name)
