"""Conductor JSON: load and check workflow and task definitions, and write them back.

:func:`load_workflows` reads a WorkflowDef (schemaVersion 2), or a JSON list of them,
from a path, a JSON string or parsed JSON, and returns :class:`~.model.WorkflowDef`
objects; :func:`load_task_defs` reads a list of TaskDefs. Every fault in a file is
collected before anything is raised, so one :class:`~microlab.errors.DefinitionError`
lists them all, each with its JSON path (``$.tasks[2].taskReferenceName``, or
``$[1].tasks[0].type`` in a list). :func:`load_event_handlers` reads Conductor event
handlers (:mod:`~.handlers`) the same way, and :func:`event_handler_to_json` writes one.

Fields that do not change what the simulation does (``ownerEmail``, ``restartable``,
``workflowStatusListenerEnabled``, ``inputParameters`` of a workflow, timestamps, ...)
are accepted and kept for export. Fields that Conductor writes with empty values on
every task (``decisionCases: {}``, ``asyncComplete: false``, ...) are accepted when
empty; set to something on a task that cannot use it, or unknown altogether, they are
faults, so that a typo such as ``taskReferenceNmae`` is caught rather than ignored.

One unit, longer than most modules, because the field tables, the reader and the
writer must agree field by field: what ``load_workflows`` accepts, ``dumps`` writes back.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..errors import DefinitionError, did_you_mean
from . import model as m
from .limits import MAX_JSON_DEPTH
from .model import SubWorkflowParam, TaskDef, WorkflowDef, WorkflowTask

# -- field tables -------------------------------------------------------------------------

#: Workflow fields that do not affect the simulation (kept in ``extra``, exported again).
WORKFLOW_PASSIVE = ("ownerEmail", "restartable", "workflowStatusListenerEnabled",
                    "workflowStatusListenerSink", "ownerApp", "createTime", "updateTime",
                    "createdBy", "updatedBy", "accessPolicy", "tags", "metadata",
                    "inputSchema", "outputSchema", "enforceSchema", "maskedFields",
                    "rateLimitConfig")
WORKFLOW_FIELDS = ("name", "version", "description", "tasks", "inputParameters",
                   "outputParameters", "failureWorkflow", "timeoutSeconds", "timeoutPolicy",
                   "variables", "inputTemplate", "schemaVersion")

#: Task fields and the task types that use them.
TASK_TYPED_FIELDS = {
    "evaluatorType": (m.SWITCH,),
    "expression": (m.SWITCH,),
    "caseValueParam": (m.DECISION,),
    "caseExpression": (m.DECISION,),
    "decisionCases": (m.SWITCH, m.DECISION),
    "defaultCase": (m.SWITCH, m.DECISION),
    "forkTasks": (m.FORK_JOIN,),
    "joinOn": (m.JOIN,),
    "loopCondition": (m.DO_WHILE,),
    "loopOver": (m.DO_WHILE,),
    "subWorkflowParam": (m.SUB_WORKFLOW,),
}
TASK_COMMON_FIELDS = ("name", "taskReferenceName", "type", "inputParameters", "optional",
                      "description", "taskDefinition", "retryCount", "startDelay")
#: Task fields accepted only with these "nothing here" values.
TASK_EMPTY_FIELDS = {
    "asyncComplete": (False, None),
    "defaultExclusiveJoinTask": ([], None),
    "rateLimited": (False, None),
    "permissive": (False, None),
    "onStateChange": ({}, None),
    "dynamicTaskNameParam": (None, ""),
    "dynamicForkTasksParam": (None, ""),
    "dynamicForkTasksInputParamName": (None, ""),
    "dynamicForkJoinTasksParam": (None, ""),
    "sink": (None, ""),
    "scriptExpression": (None, ""),
    "cacheConfig": (None,),
    "isolationGroupId": (None, ""),
}
#: Fields of TASK_EMPTY_FIELDS that an EVENT task uses (Conductor's WorkflowTask.sink and asyncComplete).
EVENT_FIELDS = ("sink", "asyncComplete")

TASK_DEF_FIELDS = {
    "name": "name", "retryCount": "retry_count", "retryLogic": "retry_logic",
    "retryDelaySeconds": "retry_delay_seconds", "timeoutSeconds": "timeout_seconds",
    "responseTimeoutSeconds": "response_timeout_seconds", "timeoutPolicy": "timeout_policy",
    "backoffScaleFactor": "backoff_scale_factor",
    "maxRetryDelaySeconds": "max_retry_delay_seconds", "backoffJitterMs": "backoff_jitter_ms",
    "pollTimeoutSeconds": "poll_timeout_seconds", "rateLimitPerFrequency": "rate_limit_per_frequency",
    "rateLimitFrequencyInSeconds": "rate_limit_frequency_in_seconds",
    "concurrentExecLimit": "concurrent_exec_limit", "description": "description",
}
TASK_DEF_PASSIVE = ("ownerEmail", "inputKeys", "outputKeys", "createTime", "updateTime",
                    "createdBy", "updatedBy", "inputTemplate", "isolationGroupId",
                    "executionNameSpace", "inputSchema", "outputSchema",
                    "enforceSchema", "tags", "totalTimeoutSeconds")


# -- loading ------------------------------------------------------------------------------

def read_json(source, what: str = "workflow file"):
    """Parsed JSON from a path, a JSON string, or already-parsed data (returned as is).

    Anything unreadable (no such file, a directory, no permission, bytes that are not
    UTF-8, JSON that is invalid or nested deeper than ``MAX_JSON_DEPTH``) raises a
    :class:`~microlab.errors.DefinitionError` with one line saying what is wrong.
    """
    if isinstance(source, (dict, list)):
        _check_depth(source, "the definition", what)
        return source
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith(("{", "["))):
        path = Path(source)
        return _parse(read_text(path, what), str(path), what)
    if isinstance(source, str):
        return _parse(source, "the JSON text", what)
    raise TypeError(f"expected a path, a JSON string, a dict or a list, got {type(source).__name__}")


def read_text(path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a DefinitionError with one clear line if it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DefinitionError([("$", f"no such file: {path}")], what=what) from None
    except IsADirectoryError:
        raise DefinitionError([("$", f"{path} is a directory, not a JSON file")], what=what) from None
    except PermissionError:
        raise DefinitionError([("$", f"no permission to read {path}")], what=what) from None
    except OSError as exc:
        raise DefinitionError([("$", f"cannot read {path}: {exc.strerror or exc}")], what=what) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DefinitionError([("$", f"{path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} "
                                     f"(offset {exc.start}); save it as UTF-8")], what=what) from None


def _parse(text: str, where: str, what: str = "workflow file"):
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DefinitionError([("$", f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                     f"column {exc.colno}")], what=what) from None
    except _NotJSON as exc:
        raise DefinitionError([("$", f"{where} is not valid JSON: {exc} is not a JSON number; "
                                     "write a finite number")], what=what) from None
    except RecursionError:
        raise DefinitionError([("$", f"{where} nests lists and objects deeper than {MAX_JSON_DEPTH} levels "
                                     "(the limit microlab reads)")], what=what) from None
    _check_depth(data, where, what)
    return data


class _NotJSON(ValueError):
    """NaN or Infinity in JSON text (Python's json accepts them; JSON does not)."""


def _no_constant(name: str):
    raise _NotJSON(name)


def _check_depth(data, where: str, what: str) -> None:
    """Refuse data nested deeper than MAX_JSON_DEPTH (checked without recursion)."""
    stack = [(data, 1, "$")]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise DefinitionError([(path, f"{where} nests lists and objects deeper than {MAX_JSON_DEPTH} "
                                          "levels (the limit microlab reads): is it generated by a loop "
                                          "that does not stop?")], what=what)
        if isinstance(value, dict):
            stack.extend((v, depth + 1, f"{path}{m._key(k)}" if isinstance(k, str) else path)
                         for k, v in value.items() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value) if isinstance(v, (dict, list)))


def load_workflows(source) -> list[WorkflowDef]:
    """Workflow definitions from Conductor JSON: one WorkflowDef or a list of them.

    Raises :class:`~microlab.errors.DefinitionError` listing every fault with its JSON path.
    """
    from .validate import check_workflow, check_references
    data = read_json(source)
    faults: list = []
    workflows: list = []
    if isinstance(data, list):
        if not data:
            faults.append(("$", "the list holds no workflow definitions"))
        items = [(f"$[{i}]", item) for i, item in enumerate(data)]
    else:
        items = [("$", data)]
    for path, item in items:
        wf, found = parse_workflow(item, path)
        faults.extend(found)
        if wf is not None:
            faults.extend(check_workflow(wf, path))
            workflows.append((path, wf))
    faults.extend(check_references(workflows))
    if faults:
        raise DefinitionError(faults, what="Conductor workflow definition")
    return [wf for _, wf in workflows]


def load_workflow(source) -> WorkflowDef:
    """Exactly one workflow definition (see :func:`load_workflows`)."""
    workflows = load_workflows(source)
    if len(workflows) != 1:
        raise DefinitionError([("$", f"expected one workflow definition, found {len(workflows)}; "
                                     "use load_workflows for a list")])
    return workflows[0]


def load_task_defs(source) -> dict[str, TaskDef]:
    """Conductor TaskDefs (a list, or one) by task name."""
    data = read_json(source, what="task definitions file")
    items = data if isinstance(data, list) else [data]
    faults: list = []
    out: dict = {}
    for i, item in enumerate(items):
        path = f"$[{i}]" if isinstance(data, list) else "$"
        td, found = parse_task_def(item, path)
        faults.extend(found)
        if td is not None:
            if td.name in out:
                faults.append((f"{path}.name", f"task definition {td.name!r} appears twice"))
            out[td.name] = td
    if faults:
        raise DefinitionError(faults, what="Conductor task definitions")
    return out


# -- parsing --------------------------------------------------------------------------------

def parse_workflow(data, path: str = "$") -> tuple[WorkflowDef | None, list]:
    """One WorkflowDef from parsed JSON: ``(definition or None, faults)``."""
    faults: list = []
    if not isinstance(data, dict):
        return None, [(path, f"a workflow definition is a JSON object, got {_kind(data)}")]
    _unknown(data, WORKFLOW_FIELDS + WORKFLOW_PASSIVE, path, faults, "workflow definition")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        faults.append((f"{path}.name", "a workflow needs a name (a non-empty string)"))
        name = "?"
    schema = data.get("schemaVersion", 2)
    if schema != 2:
        faults.append((f"{path}.schemaVersion", f"schemaVersion {schema!r} is not supported; "
                                                "microlab reads schemaVersion 2"))
    tasks_data = data.get("tasks")
    if not isinstance(tasks_data, list) or not tasks_data:
        faults.append((f"{path}.tasks", "a workflow needs a non-empty list of tasks"))
        tasks_data = []
    tasks = _parse_tasks(tasks_data, f"{path}.tasks", faults)
    wf = WorkflowDef(
        name=name,
        tasks=tasks,
        version=_int(data, "version", 1, path, faults, minimum=1),
        description=_opt_str(data, "description", path, faults),
        input_parameters=_list(data, "inputParameters", path, faults),
        output_parameters=_dict(data, "outputParameters", path, faults),
        failure_workflow=_opt_str(data, "failureWorkflow", path, faults) or None,
        timeout_seconds=_number(data, "timeoutSeconds", 0, path, faults),
        timeout_policy=_choice(data, "timeoutPolicy", m.ALERT_ONLY, m.WORKFLOW_TIMEOUT_POLICIES, path, faults),
        variables=_dict(data, "variables", path, faults),
        input_template=_dict(data, "inputTemplate", path, faults),
        schema_version=2,
        extra={k: data[k] for k in WORKFLOW_PASSIVE if k in data},
    )
    return wf, faults


def _parse_tasks(items: list, path: str, faults: list) -> list:
    tasks = []
    for i, item in enumerate(items):
        task = _parse_task(item, f"{path}[{i}]", faults)
        if task is not None:
            tasks.append(task)
    return tasks


def _parse_task(data, path: str, faults: list) -> WorkflowTask | None:
    if not isinstance(data, dict):
        faults.append((path, f"a task is a JSON object, got {_kind(data)}"))
        return None
    allowed = TASK_COMMON_FIELDS + tuple(TASK_TYPED_FIELDS) + tuple(TASK_EMPTY_FIELDS)
    _unknown(data, allowed, path, faults, "task")
    ttype = data.get("type", m.SIMPLE)
    if not isinstance(ttype, str):
        faults.append((f"{path}.type", f"type must be a string such as 'SIMPLE', got {_kind(ttype)}"))
        ttype = m.SIMPLE
    for key, empty in TASK_EMPTY_FIELDS.items():
        if ttype == m.EVENT and key in EVENT_FIELDS:
            continue  # an EVENT task's own fields, read below
        if key in data and data[key] not in empty:
            faults.append((f"{path}.{key}", f"{key}={json.dumps(data[key])} is not simulated by microlab; "
                                            "remove it (or leave it empty)"))
    for key, types in TASK_TYPED_FIELDS.items():
        if key in data and ttype not in types and data[key] not in (None, "", [], {}):
            faults.append((f"{path}.{key}", f"{key} only means something on {' and '.join(types)} "
                                            f"tasks, and this task is {ttype}"))
    name = data.get("name")
    if not isinstance(name, str) or not name:
        faults.append((f"{path}.name", "every task needs a name (for a SIMPLE task, the task "
                                       "name that workers serve)"))
        name = ""
    ref = data.get("taskReferenceName")
    if not isinstance(ref, str) or not ref:
        faults.append((f"{path}.taskReferenceName", "every task needs a taskReferenceName, unique "
                                                    "in the workflow (other tasks use it in ${ref.output...})"))
        ref = ""
    task = WorkflowTask(
        name=name,
        task_reference_name=ref,
        type=ttype,
        input_parameters=_dict(data, "inputParameters", path, faults),
        optional=_bool(data, "optional", False, path, faults),
        description=_opt_str(data, "description", path, faults),
        retry_count=(_int(data, "retryCount", 0, path, faults, minimum=0)
                     if data.get("retryCount") is not None else None),
        start_delay=_number(data, "startDelay", 0, path, faults),
        extra={k: data[k] for k in TASK_EMPTY_FIELDS if k in data
               and not (ttype == m.EVENT and k in EVENT_FIELDS)},
    )
    if ttype == m.EVENT:
        task.sink = _opt_str(data, "sink", path, faults)
        task.async_complete = _bool(data, "asyncComplete", False, path, faults)
    if data.get("taskDefinition") is not None:
        td, found = parse_task_def(data["taskDefinition"], f"{path}.taskDefinition", default_name=name)
        faults.extend(found)
        task.task_definition = td
    if ttype == m.SWITCH:
        task.evaluator_type = _opt_str(data, "evaluatorType", path, faults)
        task.expression = _opt_str(data, "expression", path, faults)
    if ttype == m.DECISION:
        task.case_value_param = _opt_str(data, "caseValueParam", path, faults)
        task.case_expression = _opt_str(data, "caseExpression", path, faults)
    if ttype in (m.SWITCH, m.DECISION):
        cases = data.get("decisionCases") or {}
        if not isinstance(cases, dict):
            faults.append((f"{path}.decisionCases", "decisionCases maps each case value to a list of tasks"))
            cases = {}
        for key, tasks in cases.items():
            cpath = f"{path}.decisionCases{m._key(key)}"
            if not isinstance(tasks, list):
                faults.append((cpath, f"case {key!r} must be a list of tasks"))
                continue
            task.decision_cases[key] = _parse_tasks(tasks, cpath, faults)
        default = data.get("defaultCase") or []
        if not isinstance(default, list):
            faults.append((f"{path}.defaultCase", "defaultCase must be a list of tasks"))
            default = []
        task.default_case = _parse_tasks(default, f"{path}.defaultCase", faults)
    if ttype == m.FORK_JOIN:
        branches = data.get("forkTasks") or []
        if not isinstance(branches, list) or not all(isinstance(b, list) for b in branches):
            faults.append((f"{path}.forkTasks", "forkTasks is a list of branches, each a list of tasks"))
            branches = []
        task.fork_tasks = [_parse_tasks(b, f"{path}.forkTasks[{i}]", faults) for i, b in enumerate(branches)]
    if ttype == m.JOIN:
        join_on = data.get("joinOn") or []
        if not isinstance(join_on, list) or not all(isinstance(r, str) for r in join_on):
            faults.append((f"{path}.joinOn", "joinOn is a list of taskReferenceNames"))
            join_on = []
        task.join_on = list(join_on)
    if ttype == m.DO_WHILE:
        task.loop_condition = _opt_str(data, "loopCondition", path, faults)
        body = data.get("loopOver") or []
        if not isinstance(body, list):
            faults.append((f"{path}.loopOver", "loopOver must be a list of tasks"))
            body = []
        task.loop_over = _parse_tasks(body, f"{path}.loopOver", faults)
    if ttype == m.SUB_WORKFLOW:
        param = data.get("subWorkflowParam")
        if not isinstance(param, dict) or not isinstance(param.get("name"), str) or not param.get("name"):
            faults.append((f"{path}.subWorkflowParam", "a SUB_WORKFLOW task needs subWorkflowParam "
                                                       "with the name of the workflow to start"))
        else:
            _unknown(param, ("name", "version"), f"{path}.subWorkflowParam", faults, "subWorkflowParam",
                     hint=" (inline workflowDefinition and taskToDomain are not simulated; "
                          "put the sub-workflow in the same file and name it)")
            version = param.get("version")
            if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
                faults.append((f"{path}.subWorkflowParam.version", "version must be an integer"))
                version = None
            task.sub_workflow_param = SubWorkflowParam(param["name"], version)
    return task


def parse_task_def(data, path: str = "$", default_name: str | None = None) -> tuple[TaskDef | None, list]:
    """One TaskDef from parsed JSON: ``(definition or None, faults)``."""
    faults: list = []
    if not isinstance(data, dict):
        return None, [(path, f"a task definition is a JSON object, got {_kind(data)}")]
    _unknown(data, tuple(TASK_DEF_FIELDS) + TASK_DEF_PASSIVE, path, faults, "task definition")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        faults.append((f"{path}.name", "a task definition needs the name of its task"))
        name = "?"
    td = TaskDef(
        name=name,
        retry_count=_int(data, "retryCount", 3, path, faults, minimum=0),
        retry_logic=_choice(data, "retryLogic", m.FIXED, m.RETRY_LOGICS, path, faults),
        retry_delay_seconds=_number(data, "retryDelaySeconds", 60, path, faults),
        timeout_seconds=_number(data, "timeoutSeconds", 0, path, faults),
        response_timeout_seconds=_number(data, "responseTimeoutSeconds", 3600, path, faults),
        timeout_policy=_choice(data, "timeoutPolicy", m.TIME_OUT_WF, m.TASK_TIMEOUT_POLICIES, path, faults),
        backoff_scale_factor=_int(data, "backoffScaleFactor", 1, path, faults, minimum=1),
        max_retry_delay_seconds=_number(data, "maxRetryDelaySeconds", 0, path, faults),
        backoff_jitter_ms=_int(data, "backoffJitterMs", 0, path, faults, minimum=0),
        poll_timeout_seconds=_number(data, "pollTimeoutSeconds", 0, path, faults) or 0,
        rate_limit_per_frequency=_int(data, "rateLimitPerFrequency", 0, path, faults, minimum=0) or 0,
        rate_limit_frequency_in_seconds=_number(data, "rateLimitFrequencyInSeconds", 1, path, faults) or 1,
        concurrent_exec_limit=_int(data, "concurrentExecLimit", 0, path, faults, minimum=0) or 0,
        description=_opt_str(data, "description", path, faults),
        extra={k: data[k] for k in TASK_DEF_PASSIVE if k in data},
    )
    from .validate import check_task_def
    faults.extend(check_task_def(td, path))
    return td, faults


# -- exporting -------------------------------------------------------------------------------

def workflow_to_json(wf: WorkflowDef) -> dict:
    """A :class:`WorkflowDef` as Conductor JSON (schemaVersion 2)."""
    out: dict = {"name": wf.name}
    if wf.description is not None:
        out["description"] = wf.description
    out["version"] = wf.version
    out["schemaVersion"] = 2
    out["tasks"] = [task_to_json(t) for t in wf.tasks]
    if wf.input_parameters:
        out["inputParameters"] = list(wf.input_parameters)
    out["outputParameters"] = dict(wf.output_parameters)
    if wf.failure_workflow:
        out["failureWorkflow"] = wf.failure_workflow
    out["timeoutSeconds"] = wf.timeout_seconds
    out["timeoutPolicy"] = wf.timeout_policy
    if wf.variables:
        out["variables"] = dict(wf.variables)
    if wf.input_template:
        out["inputTemplate"] = dict(wf.input_template)
    out.update(wf.extra)
    return out


def task_to_json(t: WorkflowTask) -> dict:
    """One :class:`WorkflowTask` as Conductor JSON."""
    out: dict = {"name": t.name, "taskReferenceName": t.task_reference_name, "type": t.type}
    if t.description is not None:
        out["description"] = t.description
    out["inputParameters"] = t.input_parameters
    if t.optional:
        out["optional"] = True
    if t.retry_count is not None:
        out["retryCount"] = t.retry_count
    if t.start_delay:
        out["startDelay"] = t.start_delay
    if t.type == m.SWITCH:
        out["evaluatorType"] = t.evaluator_type
        out["expression"] = t.expression
    if t.type == m.DECISION:
        if t.case_value_param is not None:
            out["caseValueParam"] = t.case_value_param
        if t.case_expression is not None:
            out["caseExpression"] = t.case_expression
    if t.type in (m.SWITCH, m.DECISION):
        out["decisionCases"] = {k: [task_to_json(c) for c in v] for k, v in t.decision_cases.items()}
        out["defaultCase"] = [task_to_json(c) for c in t.default_case]
    if t.type == m.FORK_JOIN:
        out["forkTasks"] = [[task_to_json(c) for c in branch] for branch in t.fork_tasks]
    if t.type == m.JOIN:
        out["joinOn"] = list(t.join_on)
    if t.type == m.DO_WHILE:
        out["loopCondition"] = t.loop_condition
        out["loopOver"] = [task_to_json(c) for c in t.loop_over]
    if t.type == m.SUB_WORKFLOW and t.sub_workflow_param is not None:
        param = {"name": t.sub_workflow_param.name}
        if t.sub_workflow_param.version is not None:
            param["version"] = t.sub_workflow_param.version
        out["subWorkflowParam"] = param
    if t.type == m.EVENT:
        out["sink"] = t.sink
        out["asyncComplete"] = t.async_complete
    if t.task_definition is not None:
        out["taskDefinition"] = task_def_to_json(t.task_definition)
    out.update(t.extra)
    return out


def task_def_to_json(td: TaskDef) -> dict:
    """A :class:`TaskDef` as Conductor JSON (microlab-only fields only when set)."""
    out = {"name": td.name, "retryCount": td.retry_count, "retryLogic": td.retry_logic,
           "retryDelaySeconds": td.retry_delay_seconds, "timeoutSeconds": td.timeout_seconds,
           "responseTimeoutSeconds": td.response_timeout_seconds, "timeoutPolicy": td.timeout_policy}
    if td.backoff_scale_factor != 1:
        out["backoffScaleFactor"] = td.backoff_scale_factor
    if td.max_retry_delay_seconds:
        out["maxRetryDelaySeconds"] = td.max_retry_delay_seconds
    if td.backoff_jitter_ms:
        out["backoffJitterMs"] = td.backoff_jitter_ms
    if td.poll_timeout_seconds:
        out["pollTimeoutSeconds"] = td.poll_timeout_seconds
    if td.rate_limit_per_frequency:
        out["rateLimitPerFrequency"] = td.rate_limit_per_frequency
        out["rateLimitFrequencyInSeconds"] = td.rate_limit_frequency_in_seconds
    if td.concurrent_exec_limit:
        out["concurrentExecLimit"] = td.concurrent_exec_limit
    if td.description is not None:
        out["description"] = td.description
    out.update(td.extra)
    return out


def dumps(workflows, indent: int = 2) -> str:
    """Conductor JSON text for one definition or a list (a list stays a list)."""
    if isinstance(workflows, WorkflowDef):
        return json.dumps(workflows.to_conductor(), indent=indent)
    return json.dumps([w.to_conductor() for w in workflows], indent=indent)


# -- small readers that record faults instead of raising -------------------------------------

def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _unknown(data: dict, allowed, path: str, faults: list, what: str, hint: str = "") -> None:
    for key in data:
        if key not in allowed:
            guess = did_you_mean(key, allowed)
            faults.append((f"{path}{m._key(key)}", f"unknown {what} field {key!r}{guess}{hint}"))


def _int(data, key, default, path, faults, minimum=None) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        faults.append((f"{path}.{key}", f"{key} must be a whole number, got {json.dumps(value)}"))
        return default
    if minimum is not None and value < minimum:
        faults.append((f"{path}.{key}", f"{key} must be at least {minimum}, got {value}"))
        return default
    return value


def _number(data, key, default, path, faults) -> float:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        faults.append((f"{path}.{key}", f"{key} must be a number of seconds, got {json.dumps(value)}"))
        return default
    if not math.isfinite(value):
        faults.append((f"{path}.{key}", f"{key} must be a finite number of seconds, got {value!r}"))
        return default
    if value < 0:
        faults.append((f"{path}.{key}", f"{key} cannot be negative, got {value}"))
        return default
    return value


def _bool(data, key, default, path, faults) -> bool:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        faults.append((f"{path}.{key}", f"{key} must be true or false, got {json.dumps(value)}"))
        return default
    return value


def _opt_str(data, key, path, faults) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        faults.append((f"{path}.{key}", f"{key} must be a string, got {_kind(value)}"))
        return None
    return value


def _dict(data, key, path, faults) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        faults.append((f"{path}.{key}", f"{key} must be a JSON object, got {_kind(value)}"))
        return {}
    return value


def _list(data, key, path, faults) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        faults.append((f"{path}.{key}", f"{key} must be a list, got {_kind(value)}"))
        return []
    return value


def _choice(data, key, default, choices, path, faults) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if value not in choices:
        guess = did_you_mean(str(value).upper(), choices)
        faults.append((f"{path}.{key}", f"{key} must be one of {', '.join(choices)}, "
                                        f"got {json.dumps(value)}{guess}"))
        return default
    return value


def _to_conductor(self: WorkflowDef) -> dict:
    """This definition as Conductor JSON (a dict ready for ``json.dumps``)."""
    return workflow_to_json(self)


# JSON in and out is this module's business, so the model's export method is defined
# here and attached to the model's class: model.py then needs no import of this module
# (which imports the model), and the package imports this module on first use.
WorkflowDef.to_conductor = _to_conductor


# -- event handlers ----------------------------------------------------------------------------

HANDLER_FIELDS = ("name", "event", "condition", "evaluatorType", "actions", "active")
HANDLER_PASSIVE = ("description", "createdBy", "updatedBy", "createTime", "updateTime", "ownerApp", "tags")
ACTION_FIELDS = ("action", "start_workflow", "complete_task", "fail_task", "expandInlineJSON",
                 "terminate_workflow", "update_workflow_variables", "start_agent")
ACTION_PARAM_FIELDS = {"start_workflow": ("name", "version", "input", "correlationId", "taskToDomain"),
                       "complete_task": ("workflowId", "taskRefName", "taskId", "output", "reasonForIncompletion"),
                       "fail_task": ("workflowId", "taskRefName", "taskId", "output", "reasonForIncompletion")}


def load_event_handlers(source) -> list:
    """Conductor event handlers (one, or a JSON list) as :class:`~.handlers.EventHandler` objects.

    Raises :class:`~microlab.errors.DefinitionError` listing every fault with its JSON
    path and the handler's name (an unknown sink provider, an action without the fields
    it needs, ...). Conditions are checked when an orchestrator adds the handlers.
    """
    from .handlers import check_handler
    data = read_json(source, what="event handler file")
    items = [(f"$[{i}]", h) for i, h in enumerate(data)] if isinstance(data, list) else [("$", data)]
    faults: list = []
    out: list = []
    for path, item in items:
        handler, found = parse_event_handler(item, path)
        faults.extend(found)
        if handler is not None:
            faults.extend(check_handler(handler, path))
            out.append(handler)
    names = [h.name for h in out]
    for (path, _), name in zip(items, names):
        if names.count(name) > 1:
            faults.append((f"{path}.name", f"event handler name {name!r} appears {names.count(name)} times; "
                                           "each handler needs its own name"))
    if faults:
        raise DefinitionError(faults, what="Conductor event handler")
    return out


def parse_event_handler(data, path: str = "$"):
    """One EventHandler from parsed JSON: ``(handler or None, faults)`` (shape only; see check_handler)."""
    from .handlers import EventHandler, HandlerAction
    if not isinstance(data, dict):
        return None, [(path, f"an event handler is a JSON object, got {_kind(data)}")]
    faults: list = []
    _unknown(data, HANDLER_FIELDS + HANDLER_PASSIVE, path, faults, "event handler")
    actions = []
    for i, item in enumerate(_list(data, "actions", path, faults)):
        apath = f"{path}.actions[{i}]"
        if not isinstance(item, dict):
            faults.append((apath, f"an action is a JSON object, got {_kind(item)}"))
            continue
        _unknown(item, ACTION_FIELDS, apath, faults, "action")
        kind = item.get("action")
        params = item.get(kind) if isinstance(kind, str) else None
        if isinstance(params, dict) and kind in ACTION_PARAM_FIELDS:
            _unknown(params, ACTION_PARAM_FIELDS[kind], f"{apath}.{kind}", faults, f"{kind} field")
        actions.append(HandlerAction(kind if isinstance(kind, str) else repr(kind),
                                     params if params is not None else {},
                                     _bool(item, "expandInlineJSON", False, apath, faults)))
    name = data.get("name")
    event = data.get("event")
    handler = EventHandler(
        name=name if isinstance(name, str) else "",
        event=event if isinstance(event, str) else "",
        actions=actions,
        condition=_opt_str(data, "condition", path, faults) or None,
        evaluator_type=_opt_str(data, "evaluatorType", path, faults) or None,
        active=_bool(data, "active", False, path, faults),
        extra={k: data[k] for k in HANDLER_PASSIVE if k in data})
    return handler, faults


def event_handler_to_json(handler) -> dict:
    """An :class:`~.handlers.EventHandler` as Conductor JSON."""
    out = {"name": handler.name, "event": handler.event}
    if handler.condition is not None:
        out["condition"] = handler.condition
    if handler.evaluator_type is not None:
        out["evaluatorType"] = handler.evaluator_type
    out["actions"] = [{"action": a.action, a.action: a.params, "expandInlineJSON": a.expand_inline_json}
                      for a in handler.actions]
    out["active"] = handler.active
    out.update(handler.extra)
    return out
