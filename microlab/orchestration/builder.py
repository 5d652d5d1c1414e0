"""The Python builder: workflow definitions in a few lines, the same model as Conductor JSON.

A workflow, one task per line::

    order = (workflow("order", inputs=["orderId", "amount"])
             .simple("reserve_inventory", service="inventory", retries=2, retry_delay=1)
             .simple("charge_payment", input={"amount": "${workflow.input.amount}"})
             .switch("route", on="${workflow.input.express}",
                     cases={"true": [simple("ship_express")]}, default=[simple("ship_standard")])
             .build())

Tasks inside SWITCH cases, FORK branches and DO_WHILE bodies are made with the module
functions of the same names (``simple``, ``http``, ``switch``, ``fork``, ...). Retry and
timeout keywords (``retries``, ``retry_logic``, ``retry_delay``, ``timeout``,
``response_timeout``, ``timeout_policy``, ``backoff_scale_factor``, ``max_retry_delay``,
``jitter_ms``; for polled tasks ``poll_timeout``, ``rate_limit`` per ``rate_limit_window``
seconds and ``concurrency``) become the task's inline ``taskDefinition``. ``build()`` checks the
definition as the Conductor loader does and raises the same errors, with the JSON
paths the definition has once exported (``order.to_conductor()``).

A saga, each step naming its compensation::

    order = (saga("order", inputs=["orderId", "amount"])
             .step("reserve_inventory", service="inventory", compensate="release_inventory")
             .step("charge_payment", service="payment", compensate="refund_payment")
             .step("book_shipment", service="shipping", compensate="cancel_shipment")
             .build())

``build()`` returns a :class:`Saga`: the main workflow, whose ``failureWorkflow`` is a
generated compensation workflow (plain Conductor JSON too) that finds the steps that
completed (or timed out: their work may have happened) in the failed execution it
receives, and runs their compensations in reverse order; so a compensation must be
idempotent and harmless when there is nothing to undo. A compensating task's input holds the step's input and output (``stepInput``,
``stepOutput``), the saga's input fields, and the failure ``reason``.

One unit, longer than most modules, because each task function and its
:class:`WorkflowBuilder` method are one vocabulary, written side by side so they match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import DefinitionError, did_you_mean
from . import model as m
from .model import SubWorkflowParam, TaskDef, WorkflowDef, WorkflowTask
from .validate import check_workflow

#: Builder keyword -> TaskDef field.
POLICY = {
    "retries": "retry_count",
    "retry_logic": "retry_logic",
    "retry_delay": "retry_delay_seconds",
    "timeout": "timeout_seconds",
    "response_timeout": "response_timeout_seconds",
    "timeout_policy": "timeout_policy",
    "backoff_scale_factor": "backoff_scale_factor",
    "max_retry_delay": "max_retry_delay_seconds",
    "jitter_ms": "backoff_jitter_ms",
    "poll_timeout": "poll_timeout_seconds",
    "rate_limit": "rate_limit_per_frequency",
    "rate_limit_window": "rate_limit_frequency_in_seconds",
    "concurrency": "concurrent_exec_limit",
}


def task_def(name: str, **policy) -> TaskDef | None:
    """A TaskDef from builder keywords (Conductor defaults for the rest); None when none given."""
    if not policy:
        return None
    fields = {}
    for key, value in policy.items():
        if key not in POLICY:
            guess = did_you_mean(key, POLICY)
            raise TypeError(f"unknown retry/timeout keyword {key!r} for task {name!r}{guess} "
                            f"Known: {', '.join(POLICY)}")
        fields[POLICY[key]] = value
    return TaskDef(name, **fields)


# -- one task ------------------------------------------------------------------------------------

def simple(name: str, ref: str | None = None, *, input: dict | None = None, service: str | None = None,
           optional: bool = False, **policy) -> WorkflowTask:
    """A SIMPLE task: a command to the service that serves task ``name``."""
    return WorkflowTask(name, ref or name, m.SIMPLE, dict(input or {}), optional=optional,
                        task_definition=task_def(name, **policy), service=service)


def http(name: str, uri: str, ref: str | None = None, *, method: str = "POST", body=None,
         headers: dict | None = None, read_timeout_ms: float | None = None, optional: bool = False,
         **policy) -> WorkflowTask:
    """An HTTP task; the URI's first path segment names the service (``/payment/charge``)."""
    request = {"uri": uri, "method": method}
    if headers:
        request["headers"] = dict(headers)
    if body is not None:
        request["body"] = body
    if read_timeout_ms is not None:
        request["readTimeOut"] = read_timeout_ms
    return WorkflowTask(name, ref or name, m.HTTP, {"http_request": request}, optional=optional,
                        task_definition=task_def(name, **policy))


def switch(ref: str, *, on=None, javascript: str | None = None, input: dict | None = None,
           cases: dict | None = None, default=(), name: str | None = None) -> WorkflowTask:
    """A SWITCH: ``on`` a value (value-param, e.g. ``"${workflow.input.kind}"``) or a ``javascript``
    expression over ``$`` (the task's ``input``); ``cases`` maps values to lists of tasks."""
    if (on is None) == (javascript is None):
        raise TypeError(f"switch {ref!r}: give exactly one of on=... (a value) or javascript=... (an expression)")
    params = dict(input or {})
    if on is not None:
        params["switchCaseValue"] = on
        evaluator, expression = "value-param", "switchCaseValue"
    else:
        evaluator, expression = "javascript", javascript
    task = WorkflowTask(name or ref, ref, m.SWITCH, params, evaluator_type=evaluator, expression=expression)
    task.decision_cases = {str(k): _tasks(v) for k, v in (cases or {}).items()}
    task.default_case = _tasks(default)
    return task


def decision(ref: str, *, on=None, javascript: str | None = None, input: dict | None = None,
             cases: dict | None = None, default=(), name: str | None = None) -> WorkflowTask:
    """The legacy DECISION task (as ``switch``, with caseValueParam / caseExpression)."""
    if (on is None) == (javascript is None):
        raise TypeError(f"decision {ref!r}: give exactly one of on=... or javascript=...")
    params = dict(input or {})
    task = WorkflowTask(name or ref, ref, m.DECISION, params)
    if on is not None:
        params["case"] = on
        task.case_value_param = "case"
    else:
        task.case_expression = javascript
    task.decision_cases = {str(k): _tasks(v) for k, v in (cases or {}).items()}
    task.default_case = _tasks(default)
    return task


def fork(*branches, ref: str = "fork", join_ref: str | None = None, join_on=None) -> tuple:
    """A FORK_JOIN and its JOIN: each branch a list of tasks; by default the JOIN waits for
    the last task of every branch."""
    lists = [_tasks(b) for b in branches]
    if join_on is None:
        join_on = [b[-1].task_reference_name for b in lists if b]
    start = WorkflowTask(ref, ref, m.FORK_JOIN, {}, fork_tasks=lists)
    join = WorkflowTask(join_ref or f"{ref}_join", join_ref or f"{ref}_join", m.JOIN, {}, join_on=list(join_on))
    return start, join


def do_while(ref: str, *, condition, body, input: dict | None = None, name: str | None = None) -> WorkflowTask:
    """A DO_WHILE: run ``body`` then repeat while ``condition`` (javascript) holds; an int N
    means "N iterations" (``$.<ref>['iteration'] < N``)."""
    if isinstance(condition, int) and not isinstance(condition, bool):
        condition = f"$.{ref}['iteration'] < {condition}"
    return WorkflowTask(name or ref, ref, m.DO_WHILE, dict(input or {}), loop_condition=condition,
                        loop_over=_tasks(body))


def sub_workflow(ref: str, workflow: str, *, version: int | None = None, input: dict | None = None,
                 optional: bool = False, name: str | None = None, **policy) -> WorkflowTask:
    """A SUB_WORKFLOW task that starts ``workflow`` with ``input`` and waits for it."""
    return WorkflowTask(name or ref, ref, m.SUB_WORKFLOW, dict(input or {}), optional=optional,
                        sub_workflow_param=SubWorkflowParam(workflow, version),
                        task_definition=task_def(name or ref, **policy))


def terminate(ref: str, status: str = m.COMPLETED, *, reason: str | None = None, output=None,
              name: str | None = None) -> WorkflowTask:
    """A TERMINATE task: end the workflow with ``status`` (COMPLETED, FAILED or TERMINATED)."""
    params = {"terminationStatus": status}
    if reason is not None:
        params["terminationReason"] = reason
    if output is not None:
        params["workflowOutput"] = output
    return WorkflowTask(name or ref, ref, m.TERMINATE, params)


def wait(ref: str, duration=None, *, name: str | None = None) -> WorkflowTask:
    """A WAIT task: ``duration`` seconds (or text such as ``"10s"``); without it, until a
    ``CompleteTask`` message completes it."""
    if duration is None or isinstance(duration, str) or duration != duration or abs(duration) == float("inf"):
        params = {} if duration is None else {"duration": duration}  # validation names a bad number
    else:
        params = {"duration": f"{duration}s"}
    return WorkflowTask(name or ref, ref, m.WAIT, params)


def set_variable(ref: str, name: str | None = None, **values) -> WorkflowTask:
    """A SET_VARIABLE task: ``workflow.variables`` gets ``values``."""
    return WorkflowTask(name or ref, ref, m.SET_VARIABLE, dict(values))


def inline(ref: str, script: str, *, input: dict | None = None, name: str | None = None) -> WorkflowTask:
    """An INLINE javascript task: its output is ``{"result": value of script}``, ``$`` = its input."""
    params = dict(input or {})
    params.update(evaluatorType="javascript", expression=script)
    return WorkflowTask(name or ref, ref, m.INLINE, params)


def jq(ref: str, query: str, *, input: dict | None = None, name: str | None = None) -> WorkflowTask:
    """A JSON_JQ_TRANSFORM task: ``{"result": first, "resultList": all}`` of ``query`` over its input."""
    params = dict(input or {})
    params["queryExpression"] = query
    return WorkflowTask(name or ref, ref, m.JSON_JQ_TRANSFORM, params)


def event(ref: str, sink: str, *, input: dict | None = None, async_complete: bool = False,
          name: str | None = None) -> WorkflowTask:
    """An EVENT task: publish ``input`` (with the workflow's metadata) to ``sink``.

    ``sink`` is ``"conductor"``, ``"conductor:<name>"`` or a broker subject such as
    ``"nats:OrderPlaced"`` (see :mod:`~microlab.orchestration.sinks`); with
    ``async_complete=True`` the task stays IN_PROGRESS until something completes it.
    """
    task = WorkflowTask(name or ref, ref, m.EVENT, dict(input or {}))
    task.sink = sink
    task.async_complete = async_complete
    return task


def _tasks(items) -> list:
    """A list of tasks from tasks and (fork, join) pairs."""
    out = []
    for item in items or ():
        if isinstance(item, tuple):
            out.extend(item)
        elif isinstance(item, WorkflowTask):
            out.append(item)
        else:
            raise TypeError(f"expected a task (from simple(), switch(), ...), got {item!r}")
    return out


# -- a workflow ----------------------------------------------------------------------------------

def workflow(name: str, *, version: int = 1, description: str | None = None, inputs=(),
             timeout_seconds: float = 0, timeout_policy: str = m.ALERT_ONLY,
             failure_workflow: str | None = None, variables: dict | None = None) -> "WorkflowBuilder":
    """Start building a workflow called ``name`` (see the module docstring)."""
    return WorkflowBuilder(name, version=version, description=description, inputs=inputs,
                           timeout_seconds=timeout_seconds, timeout_policy=timeout_policy,
                           failure_workflow=failure_workflow, variables=variables)


class WorkflowBuilder:
    """Adds tasks in order; ``build()`` checks and returns the :class:`~.model.WorkflowDef`."""

    def __init__(self, name, *, version=1, description=None, inputs=(), timeout_seconds=0,
                 timeout_policy=m.ALERT_ONLY, failure_workflow=None, variables=None):
        self.definition = WorkflowDef(name, [], version=version, description=description,
                                      input_parameters=list(inputs), timeout_seconds=timeout_seconds,
                                      timeout_policy=timeout_policy, failure_workflow=failure_workflow,
                                      variables=dict(variables or {}))

    def add(self, *tasks) -> "WorkflowBuilder":
        """Append tasks made with the module functions (a fork's pair counts as one item)."""
        self.definition.tasks.extend(_tasks(tasks))
        return self

    def simple(self, name, ref=None, **kw) -> "WorkflowBuilder":
        """Append a SIMPLE task (see :func:`simple`)."""
        return self.add(simple(name, ref, **kw))

    def http(self, name, uri, ref=None, **kw) -> "WorkflowBuilder":
        """Append an HTTP task (see :func:`http`)."""
        return self.add(http(name, uri, ref, **kw))

    def switch(self, ref, **kw) -> "WorkflowBuilder":
        """Append a SWITCH (see :func:`switch`)."""
        return self.add(switch(ref, **kw))

    def decision(self, ref, **kw) -> "WorkflowBuilder":
        """Append a DECISION (see :func:`decision`)."""
        return self.add(decision(ref, **kw))

    def fork(self, *branches, **kw) -> "WorkflowBuilder":
        """Append a FORK_JOIN and its JOIN (see :func:`fork`)."""
        return self.add(fork(*branches, **kw))

    def do_while(self, ref, **kw) -> "WorkflowBuilder":
        """Append a DO_WHILE (see :func:`do_while`)."""
        return self.add(do_while(ref, **kw))

    def sub_workflow(self, ref, workflow_name, **kw) -> "WorkflowBuilder":
        """Append a SUB_WORKFLOW (see :func:`sub_workflow`)."""
        return self.add(sub_workflow(ref, workflow_name, **kw))

    def terminate(self, ref, status=m.COMPLETED, **kw) -> "WorkflowBuilder":
        """Append a TERMINATE (see :func:`terminate`)."""
        return self.add(terminate(ref, status, **kw))

    def wait(self, ref, duration=None, **kw) -> "WorkflowBuilder":
        """Append a WAIT (see :func:`wait`)."""
        return self.add(wait(ref, duration, **kw))

    def set_variable(self, ref, **values) -> "WorkflowBuilder":
        """Append a SET_VARIABLE (see :func:`set_variable`)."""
        return self.add(set_variable(ref, **values))

    def inline(self, ref, script, **kw) -> "WorkflowBuilder":
        """Append an INLINE javascript task (see :func:`inline`)."""
        return self.add(inline(ref, script, **kw))

    def jq(self, ref, query, **kw) -> "WorkflowBuilder":
        """Append a JSON_JQ_TRANSFORM (see :func:`jq`)."""
        return self.add(jq(ref, query, **kw))

    def event(self, ref, sink, **kw) -> "WorkflowBuilder":
        """Append an EVENT task (see :func:`event`)."""
        return self.add(event(ref, sink, **kw))

    def output(self, **params) -> "WorkflowBuilder":
        """Set the workflow's outputParameters (``${...}`` expressions allowed)."""
        self.definition.output_parameters.update(params)
        return self

    def build(self) -> WorkflowDef:
        """The checked definition (raises DefinitionError, with JSON paths, if it cannot run)."""
        wf = self.definition
        faults = check_workflow(wf)
        routes: dict = {}
        for path, task in wf.walk():
            if task.service is not None:
                if routes.get(task.name, task.service) != task.service:
                    faults.append((f"{path}.name", f"task {task.name!r} is sent to {routes[task.name]!r} "
                                                   f"elsewhere and to {task.service!r} here"))
                routes[task.name] = task.service
        if faults:
            raise DefinitionError(faults, what=f"workflow {wf.name!r}")
        wf.routes = routes
        return wf


# -- a saga --------------------------------------------------------------------------------------

@dataclass
class Saga:
    """A saga: the main ``workflow`` and its generated ``compensation`` (its failure workflow)."""

    workflow: WorkflowDef
    compensation: WorkflowDef

    @property
    def workflows(self) -> list[WorkflowDef]:
        """``[workflow, compensation]``: what ``orchestrator.register(saga)`` registers."""
        return [self.workflow, self.compensation]

    @property
    def name(self) -> str:
        """The main workflow's name (what ``StartWorkflow`` names)."""
        return self.workflow.name

    def to_conductor(self) -> list[dict]:
        """Both definitions as Conductor JSON (a list, main first)."""
        return [wf.to_conductor() for wf in self.workflows]

    def to_json(self, indent: int = 2) -> str:
        """:meth:`to_conductor` as JSON text."""
        return json.dumps(self.to_conductor(), indent=indent)


def saga(name: str, *, version: int = 1, inputs=(), description: str | None = None,
         compensation: str | None = None, timeout_seconds: float = 0,
         timeout_policy: str = m.ALERT_ONLY) -> "SagaBuilder":
    """Start building a saga called ``name`` (see the module docstring)."""
    return SagaBuilder(name, version=version, inputs=inputs, description=description,
                       compensation=compensation, timeout_seconds=timeout_seconds,
                       timeout_policy=timeout_policy)


class SagaBuilder:
    """Adds saga steps in order; ``build()`` returns a :class:`Saga`."""

    #: The reference name of the compensation workflow's first task.
    COMPLETED_STEPS = "completed_steps"

    def __init__(self, name, *, version=1, inputs=(), description=None, compensation=None,
                 timeout_seconds=0, timeout_policy=m.ALERT_ONLY):
        self.name = name
        self.inputs = list(inputs)
        self.compensation_name = compensation or f"{name}_compensation"
        self.main = WorkflowBuilder(name, version=version, description=description, inputs=self.inputs,
                                    timeout_seconds=timeout_seconds, timeout_policy=timeout_policy,
                                    failure_workflow=self.compensation_name)
        self.version = version
        self.steps: list = []

    def step(self, name: str, *, service: str | None = None, compensate: str | None = None,
             compensate_service: str | None = None, ref: str | None = None, input: dict | None = None,
             compensate_policy: dict | None = None, **policy) -> "SagaBuilder":
        """Add a step: SIMPLE task ``name`` at ``service``, undone by task ``compensate``.

        ``input`` defaults to the saga's input fields (``inputs=``); a step without
        ``compensate`` is not undone (a pivot or a read). ``compensate_policy`` holds
        retry/timeout keywords for the compensating task.
        """
        if input is None:
            input = {k: f"${{workflow.input.{k}}}" for k in self.inputs}
        task = simple(name, ref, input=input, service=service, **policy)
        self.main.add(task)
        self.steps.append((task, compensate, compensate_service or service, dict(compensate_policy or {})))
        return self

    def output(self, **params) -> "SagaBuilder":
        """Set the main workflow's outputParameters."""
        self.main.output(**params)
        return self

    def build(self) -> Saga:
        """Check both workflows and return the :class:`Saga`."""
        main = self.main.build()
        # A step to undo is one that COMPLETED, and also one that TIMED_OUT: a timeout
        # does not mean the work did not happen (the reply may be what was lost), so its
        # compensation runs too, and must be harmless when there is nothing to undo.
        query = ('((.failedWorkflow.tasks // []) '
                 '| map(select(.status == "COMPLETED" or .status == "TIMED_OUT")) '
                 '| map({key: .referenceTaskName, value: {done: "yes", input: .inputData, '
                 'output: .outputData, status: .status}}) | from_entries)')
        comp = WorkflowBuilder(self.compensation_name, version=self.version,
                               description=f"Undoes the completed steps of a failed {self.name}, "
                                           "most recent first",
                               inputs=["workflowId", "reason", "failureStatus", "failureTaskId",
                                       "failedWorkflow"])
        comp.jq(self.COMPLETED_STEPS, query, input={"failedWorkflow": "${workflow.input.failedWorkflow}"})
        used: set = set()
        for task, undo, service, undo_policy in reversed(self.steps):
            if not undo:
                continue
            ref = task.task_reference_name
            done = f"${{{self.COMPLETED_STEPS}.output.result.{ref}"
            undo_ref = undo if undo not in used else f"{undo}_{ref}"
            used.add(undo_ref)
            # The failed saga's input fields arrive as the failure workflow's own input (as
            # Conductor sends them); Conductor 3.21 resolves no path *inside* failedWorkflow.
            undo_input = {k: f"${{workflow.input.{k}}}" for k in self.inputs}
            undo_input.update(step=ref, stepInput=done + ".input}", stepOutput=done + ".output}",
                              reason="${workflow.input.reason}")
            comp.switch(f"if_{ref}_done", on=done + ".done}",
                        cases={"yes": [simple(undo, undo_ref, input=undo_input, service=service,
                                              **undo_policy)]})
        comp.output(workflowId="${workflow.input.workflowId}", reason="${workflow.input.reason}",
                    undone=f"${{{self.COMPLETED_STEPS}.output.result}}")
        return Saga(main, comp.build())
