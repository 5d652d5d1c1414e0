"""Checks that a workflow definition can run, before anything runs.

:func:`check_workflow` returns ``(json_path, message)`` faults for one definition:
unknown or unsupported task types, missing or duplicate taskReferenceNames, references
(``${ref.output...}``, ``joinOn``) to tasks that do not exist, a JOIN on a task outside
its fork, a FORK_JOIN without its JOIN, malformed SWITCH/DECISION/DO_WHILE/INLINE/
JSON_JQ_TRANSFORM/HTTP/TERMINATE/WAIT/EVENT tasks (an EVENT's sink), and timeouts that contradict each other.
:func:`check_references` checks the sub-workflows and failure workflows that a set of
definitions names, and :func:`check_cycles` rejects definitions that start each other in a
circle (as sub-workflows or failure workflows), which would nest without end. Routing (which service runs each task) is checked when a definition
is registered on an orchestrator in a system (:mod:`~microlab.orchestration.routing`).

The builder and the Conductor loader both run these checks, so a fault is reported
with the JSON path it has (or would have) in Conductor JSON.
"""

from __future__ import annotations

from ..errors import did_you_mean
from . import model as m
from . import sinks
from .params import ITERATION_SUFFIX, compile_template, has_expression
from .durations import parse_duration

SWITCH_EVALUATORS = ("value-param", "javascript", "graaljs")
INLINE_EVALUATORS = ("javascript", "graaljs", "value-param")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def check_workflow(wf: m.WorkflowDef, path: str = "$") -> list:
    """Every fault in one definition, as ``(json_path, message)`` pairs."""
    faults: list = []
    first_seen: dict = {}
    tasks = list(wf.walk(path))
    for tpath, task in tasks:
        ref = task.task_reference_name
        if ref:
            if ref in first_seen:
                faults.append((f"{tpath}.taskReferenceName",
                               f"duplicate taskReferenceName {ref!r}: {first_seen[ref]} already uses it; "
                               "each task needs its own reference name"))
            else:
                first_seen[ref] = tpath
    refs = list(first_seen)
    for tpath, task in tasks:
        faults.extend(_check_task(task, tpath, refs))
    faults.extend(_check_lists(wf.tasks, f"{path}.tasks", refs, in_loop=False))
    out = compile_template(wf.output_parameters, f"{path}.outputParameters")
    faults.extend(out.faults)
    faults.extend(_unknown_refs(out.refs, refs))
    if wf.failure_workflow == wf.name:
        faults.append((f"{path}.failureWorkflow", f"workflow {wf.name!r} names itself as its failure "
                                                  "workflow: a failure would start it again forever"))
    return faults


def check_task_def(td: m.TaskDef, path: str = "$") -> list:
    """Faults of one task definition (Conductor's TaskTimeoutConstraint and friends)."""
    faults = []
    if td.timeout_seconds > 0 and td.response_timeout_seconds > td.timeout_seconds:
        faults.append((f"{path}.responseTimeoutSeconds",
                       f"responseTimeoutSeconds ({td.response_timeout_seconds:g}) must not exceed "
                       f"timeoutSeconds ({td.timeout_seconds:g}) of task {td.name!r}"))
    if td.response_timeout_seconds <= 0:
        faults.append((f"{path}.responseTimeoutSeconds",
                       "responseTimeoutSeconds must be positive: it is how long the orchestrator "
                       "waits for a worker's answer before it retries"))
    return faults


def check_references(workflows: list) -> list:
    """Faults where ``(path, definition)`` pairs name sub-workflows or failure workflows
    that none of them defines (names given by a ``${...}`` expression are not checked)."""
    names = {wf.name for _, wf in workflows}
    faults = []
    for path, wf in workflows:
        failure = wf.failure_workflow
        if failure and not failure.startswith("$") and failure not in names:
            faults.append((f"{path}.failureWorkflow", _missing("failure workflow", failure, names)))
        for tpath, task in wf.walk(path):
            param = task.sub_workflow_param
            if task.type == m.SUB_WORKFLOW and param is not None and not has_expression(param.name) \
                    and param.name not in names:
                faults.append((f"{tpath}.subWorkflowParam.name", _missing("sub-workflow", param.name, names)))
    faults.extend(check_cycles(workflows))
    return faults


def workflow_links(wf: m.WorkflowDef, path: str = "$") -> list:
    """``(json_path, name, how)`` for every workflow that ``wf`` starts by a fixed name:
    its sub-workflows (``how`` "sub-workflow") and its failure workflow."""
    links = []
    failure = wf.failure_workflow
    if isinstance(failure, str) and failure and not failure.startswith("$"):
        links.append((f"{path}.failureWorkflow", failure, "failure workflow"))
    for tpath, task in wf.walk(path):
        param = task.sub_workflow_param
        if task.type == m.SUB_WORKFLOW and param is not None and isinstance(param.name, str) \
                and not has_expression(param.name):
            links.append((f"{tpath}.subWorkflowParam.name", param.name, "sub-workflow"))
    return links


def check_cycles(workflows: list) -> list:
    """Faults for every circle of ``(path, definition)`` pairs that start each other by
    fixed names (a SUB_WORKFLOW of itself, a -> b -> a, failure workflows that name each
    other). Run, such a circle nests instances until a limit stops it; a name given by a
    ``${...}`` expression is not followed (the run-time depth limit catches those)."""
    by_name = {}
    for path, wf in workflows:
        by_name.setdefault(wf.name, (path, wf))
    edges = {name: workflow_links(wf, path) for name, (path, wf) in by_name.items()}
    faults, reported = [], set()
    for start in by_name:
        # Depth-first search for a way back to ``start``; each circle is reported once,
        # from its alphabetically first member.
        stack = [(start, [])]
        seen = set()
        while stack:
            name, trail = stack.pop()
            for link in edges.get(name, []):
                jpath, target, how = link
                step = trail + [(name, target, how, jpath)]
                if target == start:
                    if len(step) == 1 and how == "failure workflow":
                        continue  # check_workflow says it in its own words
                    members = frozenset(n for n, *_ in step)
                    if members in reported or min(members) != start:
                        continue
                    reported.add(members)
                    chain = " -> ".join([start] + [f"{t} (as {h})" for _, t, h, _ in step])
                    where = next((p for *_, p in step if p.startswith("$")), step[0][3])
                    faults.append((where, f"workflows start each other in a circle: {chain}. Run, "
                                               "this nests instances without end; break the circle, or "
                                               "give the name as ${workflow.input.x} if a condition "
                                               "stops it (a run-time depth limit then applies)"))
                elif target in by_name and target not in seen:
                    seen.add(target)
                    stack.append((target, step))
    return faults


def _missing(what: str, name: str, names) -> str:
    guess = did_you_mean(name, sorted(names))
    return (f"{what} {name!r} is not defined{guess} Define it in the same file (a JSON list of "
            "definitions) or register it on the orchestrator too.")


def _check_task(task: m.WorkflowTask, path: str, refs: list) -> list:
    faults: list = []
    ttype = task.type
    if ttype not in m.TASK_TYPES:
        if ttype in m.UNSUPPORTED_TYPES:
            faults.append((f"{path}.type", f"task type {ttype!r} is not supported by microlab: "
                                           f"{m.UNSUPPORTED_TYPES[ttype]}. Supported types: "
                                           f"{', '.join(m.TASK_TYPES)}"))
        else:
            guess = did_you_mean(ttype.upper(), m.TASK_TYPES, sentence=True)
            faults.append((f"{path}.type", f"unknown task type {ttype!r}.{guess} Supported types: "
                                           f"{', '.join(m.TASK_TYPES)}"))
        return faults
    params = compile_template(task.input_parameters, f"{path}.inputParameters")
    faults.extend(params.faults)
    faults.extend(_unknown_refs(params.refs, refs))
    inp = task.input_parameters
    if task.task_definition is not None:
        faults.extend(check_task_def(task.task_definition, f"{path}.taskDefinition"))
    if ttype == m.SWITCH:
        if task.evaluator_type not in SWITCH_EVALUATORS:
            faults.append((f"{path}.evaluatorType", f"a SWITCH needs evaluatorType, one of "
                                                    f"{', '.join(SWITCH_EVALUATORS)}; got {task.evaluator_type!r}"))
        if not task.expression:
            faults.append((f"{path}.expression", "a SWITCH needs an expression: for value-param the name "
                                                 "of an inputParameter, for javascript a script"))
        elif task.evaluator_type == "value-param" and task.expression not in inp:
            faults.append((f"{path}.expression", f"value-param expression {task.expression!r} names no "
                                                 f"inputParameter of this task (it has: "
                                                 f"{', '.join(inp) or 'none'})"))
    if ttype == m.DECISION:
        if bool(task.case_value_param) == bool(task.case_expression):
            faults.append((path, "a DECISION needs exactly one of caseValueParam (the name of an "
                                 "inputParameter) or caseExpression (javascript)"))
        elif task.case_value_param and task.case_value_param not in inp:
            faults.append((f"{path}.caseValueParam", f"caseValueParam {task.case_value_param!r} names no "
                                                     f"inputParameter of this task (it has: "
                                                     f"{', '.join(inp) or 'none'})"))
    if ttype == m.FORK_JOIN and (not task.fork_tasks or not all(task.fork_tasks)):
        faults.append((f"{path}.forkTasks", "a FORK_JOIN needs forkTasks: a list of branches, each a "
                                            "non-empty list of tasks"))
    if ttype == m.DO_WHILE:
        if not task.loop_over:
            faults.append((f"{path}.loopOver", "a DO_WHILE needs loopOver, the tasks of one iteration"))
        if not task.loop_condition:
            faults.append((f"{path}.loopCondition", "a DO_WHILE needs a loopCondition (javascript), e.g. "
                                                    f"\"$.{task.task_reference_name}['iteration'] < 3\""))
    if ttype == m.INLINE:
        if inp.get("evaluatorType") not in INLINE_EVALUATORS:
            faults.append((f"{path}.inputParameters.evaluatorType",
                           f"an INLINE task needs inputParameters.evaluatorType, one of "
                           f"{', '.join(INLINE_EVALUATORS)}; got {inp.get('evaluatorType')!r}"))
        if not isinstance(inp.get("expression"), str) or not inp.get("expression"):
            faults.append((f"{path}.inputParameters.expression",
                           "an INLINE task needs inputParameters.expression, the script to run"))
    if ttype == m.LAMBDA and not isinstance(inp.get("scriptExpression"), str):
        faults.append((f"{path}.inputParameters.scriptExpression",
                       "a LAMBDA task needs inputParameters.scriptExpression, a function body"))
    if ttype == m.JSON_JQ_TRANSFORM and (not isinstance(inp.get("queryExpression"), str)
                                        or not inp.get("queryExpression").strip()):
        faults.append((f"{path}.inputParameters.queryExpression",
                       "a JSON_JQ_TRANSFORM task needs inputParameters.queryExpression, a jq query"))
    if ttype == m.HTTP:
        faults.extend(_check_http(inp, f"{path}.inputParameters"))
    if ttype == m.TERMINATE:
        status = inp.get("terminationStatus")
        if not (isinstance(status, str) and has_expression(status)) and status not in m.TERMINATION_STATUSES:
            faults.append((f"{path}.inputParameters.terminationStatus",
                           f"a TERMINATE task needs inputParameters.terminationStatus, one of "
                           f"{', '.join(m.TERMINATION_STATUSES)}; got {status!r}"))
    if ttype == m.WAIT:
        if "until" in inp:
            faults.append((f"{path}.inputParameters.until", "WAIT until a date is not simulated (the "
                                                            "simulation has no calendar); use duration"))
        duration = inp.get("duration")
        if duration is not None and not (isinstance(duration, str) and has_expression(duration)):
            try:
                parse_duration(duration)
            except ValueError as exc:
                faults.append((f"{path}.inputParameters.duration", str(exc)))
    if ttype == m.EVENT:
        faults.extend(_check_sink(task, path))
    if ttype == m.SUB_WORKFLOW and task.sub_workflow_param is None:
        faults.append((f"{path}.subWorkflowParam", "a SUB_WORKFLOW task needs subWorkflowParam.name"))
    return faults


def _check_sink(task: m.WorkflowTask, path: str) -> list:
    """An EVENT task's sink: present, and a provider microlab can publish to (unless computed)."""
    sink = task.sink
    if not isinstance(sink, str) or not sink.strip():
        return [(f"{path}.sink", f"the EVENT task {task.task_reference_name!r} needs a sink: 'conductor' "
                                 "(an event handler listens on conductor:<workflow>:<taskReferenceName>), "
                                 "'conductor:<name>', or a broker subject such as 'nats:OrderPlaced'")]
    if has_expression(sink):
        return []  # resolved when the task runs; a bad value fails the task then
    try:
        sinks.split(sinks.expand_sink(sink, "workflow", task.task_reference_name))
    except sinks.SinkError as exc:
        return [(f"{path}.sink", str(exc))]
    return []


def _check_http(inp: dict, path: str) -> list:
    request = inp.get("http_request")
    if not isinstance(request, dict):
        return [(f"{path}.http_request", "an HTTP task needs inputParameters.http_request with a uri "
                                         "(e.g. /payment/charge) and a method")]
    faults = []
    uri = request.get("uri")
    if not isinstance(uri, str) or not uri:
        faults.append((f"{path}.http_request.uri", "http_request needs a uri; its first path segment "
                                                   "names the service, as in /payment/charge"))
    method = request.get("method", "GET")
    if not (isinstance(method, str) and (method.upper() in HTTP_METHODS or has_expression(method))):
        faults.append((f"{path}.http_request.method", f"method must be one of {', '.join(HTTP_METHODS)}; "
                                                      f"got {method!r}"))
    for key in ("readTimeOut", "connectionTimeOut"):
        value = request.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
            faults.append((f"{path}.http_request.{key}", f"{key} is a positive number of milliseconds"))
    return faults


def _unknown_refs(found: list, refs: list) -> list:
    faults = []
    known = set(refs)
    for path, ref in found:
        if ref in known or ITERATION_SUFFIX.sub("", ref) in known:
            continue
        guess = did_you_mean(ref, refs)
        faults.append((path, f"refers to task {ref!r}, but no task has that taskReferenceName{guess}"))
    return faults


def _check_lists(tasks: list, path: str, refs: list, in_loop: bool) -> list:
    """Structure: FORK_JOIN then JOIN, joinOn inside the fork, no DO_WHILE in a DO_WHILE."""
    faults: list = []
    for i, task in enumerate(tasks):
        tpath = f"{path}[{i}]"
        if task.type == m.FORK_JOIN:
            after = tasks[i + 1] if i + 1 < len(tasks) else None
            if after is None or after.type != m.JOIN:
                faults.append((tpath, f"FORK_JOIN {task.task_reference_name!r} must be followed directly "
                                      "by its JOIN (in the same list of tasks)"))
        if task.type == m.JOIN:
            before = tasks[i - 1] if i > 0 else None
            if before is None or before.type != m.FORK_JOIN:
                faults.append((tpath, f"JOIN {task.task_reference_name!r} must come directly after the "
                                      "FORK_JOIN whose branches it waits for"))
            else:
                inside = {t.task_reference_name: p for p, t in
                          m.walk([before], f"{path}[{i - 1}]") if t is not before}
                for j, ref in enumerate(task.join_on):
                    jpath = f"{tpath}.joinOn[{j}]"
                    if ref in inside:
                        continue
                    if ref in refs:
                        faults.append((jpath, f"JOIN {task.task_reference_name!r} waits for {ref!r}, which "
                                              f"is outside its fork {before.task_reference_name!r}: a JOIN "
                                              "can only wait for tasks in the branches of its FORK_JOIN"))
                    else:
                        guess = did_you_mean(ref, sorted(inside))
                        faults.append((jpath, f"joinOn names {ref!r}, but no task has that "
                                              f"taskReferenceName{guess}"))
                if not task.join_on:
                    faults.append((f"{tpath}.joinOn", f"JOIN {task.task_reference_name!r} waits for nothing: "
                                                      "list in joinOn the last task of each branch"))
        if task.type == m.DO_WHILE and in_loop:
            faults.append((f"{tpath}.type", "a DO_WHILE inside another DO_WHILE is not supported "
                                            "(Conductor does not support it either); use a SUB_WORKFLOW"))
        for suffix, children in task.children():
            faults.extend(_check_lists(children, tpath + suffix, refs,
                                       in_loop or task.type == m.DO_WHILE))
    return faults
