"""A workflow definition compiled for the orchestrator: a plan of steps.

Compiling happens once, when a definition is registered: every task becomes a
:class:`Step` that knows what follows it, which list it sits in (the top, a SWITCH
case, a FORK branch, a DO_WHILE body), its compiled ``${...}`` input, its effective
task definition (retries and timeouts) and the service that runs it. At run time the
orchestrator then never searches the definition: deciding "what next" is following
a pointer.
"""

from __future__ import annotations

from . import model as m
from .params import Template, compile_template

TOP, CASE, BRANCH, LOOP = "top", "case", "branch", "loop"
#: Task types that Conductor never retries.
BUILT_IN = frozenset((m.SWITCH, m.DECISION, m.FORK_JOIN, m.JOIN, m.DO_WHILE))
#: Conductor's default HTTP read timeout (conductor.tasks.http.readTimeout), in seconds.
HTTP_READ_TIMEOUT = 0.150


class Step:
    """One task of a plan, with everything the orchestrator needs to run it."""

    __slots__ = ("task", "ref", "name", "type", "path", "params", "next", "owner", "container",
                 "loop", "task_def", "max_retries", "service", "cases", "default", "branches",
                 "body", "body_refs", "join_on", "sub_name", "sub_version", "start_delay",
                 "optional", "retriable")

    def __init__(self, task: m.WorkflowTask, path: str, owner, container: str, loop):
        self.task = task
        self.ref = task.task_reference_name
        self.name = task.name
        self.type = task.type
        self.path = path
        inputs = task.input_parameters
        if task.type == m.EVENT:
            # As Conductor's EventTaskMapper: the sink and asyncComplete join the task's input
            # (and are resolved with it), so they are in its input, its output and the message.
            inputs = {**inputs, "sink": task.sink, "asyncComplete": task.async_complete}
        self.params: Template = compile_template(inputs, f"{path}.inputParameters")
        self.next: Step | None = None
        self.owner: Step | None = owner
        self.container = container
        self.loop: Step | None = loop
        self.task_def: m.TaskDef | None = None
        self.max_retries = 0
        self.service: str | None = None
        self.cases: dict = {}
        self.default: Step | None = None
        self.branches: list = []
        self.body: Step | None = None
        self.body_refs: list = []
        self.join_on = list(task.join_on)
        self.sub_name: Template | None = None
        self.sub_version = None
        self.start_delay = task.start_delay
        self.optional = task.optional
        self.retriable = task.type not in BUILT_IN

    def __repr__(self) -> str:
        return f"<Step {self.type} {self.ref} at {self.path}>"


class Plan:
    """A compiled :class:`~.model.WorkflowDef`: ``first`` step, ``steps`` by reference name."""

    def __init__(self, definition: m.WorkflowDef, task_defs: dict | None = None):
        self.definition = definition
        self.name = definition.name
        self.version = definition.version
        self.steps: dict[str, Step] = {}
        self.output: Template | None = (compile_template(definition.output_parameters, "$.outputParameters")
                                        if definition.output_parameters else None)
        self.timeout_seconds = definition.timeout_seconds
        self.timeout_policy = definition.timeout_policy
        self.failure_workflow = definition.failure_workflow
        self.input_template = definition.input_template
        task_defs = task_defs or {}
        self.first = self._compile(definition.tasks, "$.tasks", None, TOP, None, task_defs)

    def _compile(self, tasks: list, path: str, owner, container: str, loop, task_defs) -> Step | None:
        steps = []
        for i, task in enumerate(tasks):
            here = f"{path}[{i}]"
            step = Step(task, here, owner, container, loop)
            self.steps[step.ref] = step
            td = task.task_definition or task_defs.get(task.name)
            if td is None and task.type == m.SIMPLE:
                td = m.TaskDef(task.name)  # Conductor's defaults
            step.task_def = td
            if td is not None and step.retriable:
                step.max_retries = task.retry_count if task.retry_count is not None else td.retry_count
            if task.type in (m.SWITCH, m.DECISION):
                step.cases = {key: self._compile(children, f"{here}.decisionCases{m._key(key)}",
                                                 step, CASE, loop, task_defs)
                              for key, children in task.decision_cases.items()}
                step.default = self._compile(task.default_case, f"{here}.defaultCase", step, CASE, loop, task_defs)
            elif task.type == m.FORK_JOIN:
                step.branches = [self._compile(branch, f"{here}.forkTasks[{b}]", step, BRANCH, loop, task_defs)
                                 for b, branch in enumerate(task.fork_tasks)]
            elif task.type == m.DO_WHILE:
                step.body = self._compile(task.loop_over, f"{here}.loopOver", step, LOOP, step, task_defs)
                step.body_refs = [t.task_reference_name for _, t in m.walk(task.loop_over, "")]
            elif task.type == m.SUB_WORKFLOW and task.sub_workflow_param is not None:
                step.sub_name = compile_template(task.sub_workflow_param.name, f"{here}.subWorkflowParam.name")
                step.sub_version = task.sub_workflow_param.version
            steps.append(step)
        for a, b in zip(steps, steps[1:]):
            a.next = b
        return steps[0] if steps else None

    def walk(self):
        """Every step, in definition order."""
        return iter(self.steps.values())

    def __repr__(self) -> str:
        return f"<Plan {self.name} v{self.version}: {len(self.steps)} steps>"
