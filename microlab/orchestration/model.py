"""The workflow model: definitions, task definitions, task types and statuses.

These are plain data, named as in Netflix Conductor (its documentation is the
reference) with Python spelling: a :class:`WorkflowDef` holds a list of
:class:`WorkflowTask` (Conductor's "task configurations"), and a :class:`TaskDef`
holds the retry and timeout policy of one task name. The Python builder
(:mod:`~microlab.orchestration.builder`) and the Conductor JSON loader
(:mod:`~microlab.orchestration.conductor`) both produce these objects, and
:meth:`WorkflowDef.to_conductor` writes them back as Conductor JSON (that method is
:mod:`~microlab.orchestration.conductor`'s, which owns JSON in and out: this module
imports nothing of the package, so nothing here can form an import cycle).

Nothing here runs anything; :mod:`~microlab.orchestration.plan` compiles a definition
for the orchestrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .limits import MAX_RETRY_DELAY, capped_delay

# -- workflow statuses (Conductor's Workflow.WorkflowStatus) ---------------------------------
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
TERMINATED = "TERMINATED"

WORKFLOW_STATUSES = (RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED)
#: Workflow statuses after which nothing more happens to the instance.
WORKFLOW_TERMINAL = frozenset((COMPLETED, FAILED, TIMED_OUT, TERMINATED))

# -- task statuses (Conductor's Task.Status) ------------------------------------------------
SCHEDULED = "SCHEDULED"
IN_PROGRESS = "IN_PROGRESS"
CANCELED = "CANCELED"
SKIPPED = "SKIPPED"
COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"

TASK_STATUSES = (SCHEDULED, IN_PROGRESS, COMPLETED, FAILED, TIMED_OUT, CANCELED, SKIPPED,
                 COMPLETED_WITH_ERRORS, FAILED_WITH_TERMINAL_ERROR)
#: Task statuses after which the attempt is over.
TASK_TERMINAL = frozenset((COMPLETED, FAILED, TIMED_OUT, CANCELED, SKIPPED,
                           COMPLETED_WITH_ERRORS, FAILED_WITH_TERMINAL_ERROR))
#: Terminal task statuses that let the workflow go on.
TASK_SUCCESSFUL = frozenset((COMPLETED, COMPLETED_WITH_ERRORS, SKIPPED))
#: Terminal task statuses that a retry can follow (Conductor: ``isRetriable``).
TASK_RETRIABLE = frozenset((FAILED, TIMED_OUT))

# -- task types ------------------------------------------------------------------------------
SIMPLE = "SIMPLE"
HTTP = "HTTP"
SWITCH = "SWITCH"
DECISION = "DECISION"
FORK_JOIN = "FORK_JOIN"
JOIN = "JOIN"
DO_WHILE = "DO_WHILE"
SUB_WORKFLOW = "SUB_WORKFLOW"
TERMINATE = "TERMINATE"
WAIT = "WAIT"
SET_VARIABLE = "SET_VARIABLE"
INLINE = "INLINE"
LAMBDA = "LAMBDA"
JSON_JQ_TRANSFORM = "JSON_JQ_TRANSFORM"
EVENT = "EVENT"

#: Every task type the orchestrator runs.
TASK_TYPES = (SIMPLE, HTTP, SWITCH, DECISION, FORK_JOIN, JOIN, DO_WHILE, SUB_WORKFLOW,
              TERMINATE, WAIT, SET_VARIABLE, INLINE, LAMBDA, JSON_JQ_TRANSFORM, EVENT)
#: Task types whose work a service does: the orchestrator sends a command and waits.
WORKER_TYPES = frozenset((SIMPLE, HTTP))
#: Conductor types that are not simulated, with the reason given in the error.
UNSUPPORTED_TYPES = {
    "KAFKA_PUBLISH": "it publishes to Kafka, which is not simulated",
    "FORK_JOIN_DYNAMIC": "dynamic forks are not simulated; write the branches out in a FORK_JOIN",
    "DYNAMIC": "dynamic tasks are not simulated; name the task in the definition",
    "EXCLUSIVE_JOIN": "use a JOIN",
    "HUMAN": "there are no humans in the simulation",
    "START_WORKFLOW": "use a SUB_WORKFLOW",
    "NOOP": "it does nothing; remove it",
    "JDBC": "databases are not simulated",
    "BUSINESS_RULE": "it reads rule files",
    "USER_DEFINED": "name the task SIMPLE",
    "WAIT_FOR_WEBHOOK": "webhooks are not simulated",
    "TERMINATE_WORKFLOW": "use a TERMINATE task",
    "UPDATE_TASK": "it updates other workflows",
    "GET_SIGNED_JWT": "it signs tokens",
    "SET_CORRELATION_ID": "the correlation id names the business transaction and stays fixed",
}

# Retry logics and timeout policies.
FIXED = "FIXED"
EXPONENTIAL_BACKOFF = "EXPONENTIAL_BACKOFF"
LINEAR_BACKOFF = "LINEAR_BACKOFF"
RETRY_LOGICS = (FIXED, EXPONENTIAL_BACKOFF, LINEAR_BACKOFF)
RETRY = "RETRY"
TIME_OUT_WF = "TIME_OUT_WF"
ALERT_ONLY = "ALERT_ONLY"
TASK_TIMEOUT_POLICIES = (RETRY, TIME_OUT_WF, ALERT_ONLY)
WORKFLOW_TIMEOUT_POLICIES = (TIME_OUT_WF, ALERT_ONLY)
TERMINATION_STATUSES = (COMPLETED, FAILED, TERMINATED)


@dataclass
class TaskDef:
    """Retry and timeout policy of one task name (Conductor's TaskDef).

    The defaults are Conductor's: 3 retries, FIXED, 60 s apart; no overall timeout;
    a response timeout of one hour; a timed-out task times the workflow out.
    """

    name: str
    retry_count: int = 3
    retry_logic: str = FIXED
    retry_delay_seconds: float = 60
    timeout_seconds: float = 0
    response_timeout_seconds: float = 3600
    timeout_policy: str = TIME_OUT_WF
    backoff_scale_factor: int = 1
    #: Cap on the computed delay (0: no cap), as in recent Conductor releases.
    max_retry_delay_seconds: float = 0
    #: Up to this many milliseconds of random jitter per delay (drawn from the system's random).
    backoff_jitter_ms: int = 0
    #: A queued task that no worker polls within this many seconds times out (0: never).
    poll_timeout_seconds: float = 0
    #: At most this many tasks of this name given to workers per window (0: no limit) ...
    rate_limit_per_frequency: int = 0
    #: ... of this many seconds (Conductor's rateLimitFrequencyInSeconds, default 1).
    rate_limit_frequency_in_seconds: float = 1
    #: At most this many tasks of this name IN_PROGRESS at once (0: no limit).
    concurrent_exec_limit: int = 0
    description: str | None = None
    #: Fields from a Conductor file that do not change the simulation (ownerEmail, ...).
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def retry_delay(self, retry_count: int, cap: float = MAX_RETRY_DELAY) -> float:
        """Seconds to wait before retrying an attempt whose ``retryCount`` was ``retry_count``.

        Conductor's formulas (``retry_count`` is 0 for the first attempt):
        FIXED ``d``; LINEAR_BACKOFF ``d * backoffScaleFactor * (retry_count + 1)``;
        EXPONENTIAL_BACKOFF ``d * 2 ** retry_count``; then capped by
        ``maxRetryDelaySeconds`` when that is positive. Jitter is added by the caller.
        microlab also caps every delay at ``cap`` seconds (a day by default, see
        :mod:`~microlab.orchestration.limits`): ``2 ** 2000`` does not fit a float.
        """
        d = float(self.retry_delay_seconds)
        if self.retry_logic == LINEAR_BACKOFF:
            d = d * self.backoff_scale_factor * (retry_count + 1)
        elif self.retry_logic == EXPONENTIAL_BACKOFF:
            d = d * 2.0 ** min(retry_count, 1023) if d > 0 else 0.0
        if self.max_retry_delay_seconds > 0:
            d = min(d, self.max_retry_delay_seconds)
        return capped_delay(d, cap)


@dataclass
class SubWorkflowParam:
    """Which workflow a SUB_WORKFLOW task starts (``name`` may be a ``${...}`` expression)."""

    name: str
    version: int | None = None


@dataclass
class WorkflowTask:
    """One task of a workflow definition (Conductor's WorkflowTask).

    Only the fields that matter for the task's ``type`` are used; the others keep
    their empty defaults.
    """

    name: str
    task_reference_name: str
    type: str = SIMPLE
    input_parameters: dict = field(default_factory=dict)
    optional: bool = False
    description: str | None = None
    #: An inline task definition; else the orchestrator's task definitions; else defaults.
    task_definition: TaskDef | None = None
    #: Overrides the task definition's retry count (Conductor's WorkflowTask.retryCount).
    retry_count: int | None = None
    #: Seconds to wait before the task is first dispatched.
    start_delay: float = 0
    # SWITCH
    evaluator_type: str | None = None
    expression: str | None = None
    # DECISION (legacy)
    case_value_param: str | None = None
    case_expression: str | None = None
    # SWITCH and DECISION
    decision_cases: dict = field(default_factory=dict)
    default_case: list = field(default_factory=list)
    # FORK_JOIN and JOIN
    fork_tasks: list = field(default_factory=list)
    join_on: list = field(default_factory=list)
    # DO_WHILE
    loop_condition: str | None = None
    loop_over: list = field(default_factory=list)
    # SUB_WORKFLOW
    sub_workflow_param: SubWorkflowParam | None = None
    # EVENT: where to publish (``conductor``, ``conductor:<name>``, ``nats:<subject>``, ...),
    # and whether the task stays IN_PROGRESS after publishing until someone completes it
    sink: str | None = None
    async_complete: bool = False
    #: microlab's own: the service that runs this SIMPLE task (the builder's ``service=``).
    #: Not part of Conductor JSON, where workers choose tasks by name.
    service: str | None = field(default=None, compare=False)
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> str:
        """Short for ``task_reference_name``."""
        return self.task_reference_name

    def __repr__(self) -> str:
        name = "" if self.name == self.task_reference_name else f" ({self.name})"
        return f"<{self.type} {self.task_reference_name}{name}>"

    def children(self):
        """The nested task lists of this task, as ``(json_path_suffix, tasks)`` pairs."""
        for key, tasks in self.decision_cases.items():
            yield f".decisionCases{_key(key)}", tasks
        if self.default_case:
            yield ".defaultCase", self.default_case
        for i, branch in enumerate(self.fork_tasks):
            yield f".forkTasks[{i}]", branch
        if self.loop_over:
            yield ".loopOver", self.loop_over


@dataclass
class WorkflowDef:
    """A workflow definition (Conductor's WorkflowDef, schemaVersion 2).

    ``routes`` maps task names to the services that run them (the builder fills it from
    ``service=``); it is microlab's own addition (Conductor's workers choose tasks by
    name), so it is not exported and does not take part in ``==``.
    """

    name: str
    tasks: list
    version: int = 1
    description: str | None = None
    input_parameters: list = field(default_factory=list)
    output_parameters: dict = field(default_factory=dict)
    failure_workflow: str | None = None
    timeout_seconds: float = 0
    timeout_policy: str = ALERT_ONLY
    variables: dict = field(default_factory=dict)
    input_template: dict = field(default_factory=dict)
    schema_version: int = 2
    routes: dict = field(default_factory=dict, compare=False)
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        count = sum(1 for _ in self.walk())
        return f"<WorkflowDef {self.name} v{self.version}: {count} task{'s' if count != 1 else ''}>"

    def walk(self, path: str = "$"):
        """Every task, depth first in definition order, as ``(json_path, task)`` pairs."""
        yield from walk(self.tasks, f"{path}.tasks")

    def task(self, ref: str) -> WorkflowTask:
        """The task with reference name ``ref`` (anywhere in the definition)."""
        for _, t in self.walk():
            if t.task_reference_name == ref:
                return t
        raise KeyError(f"workflow {self.name!r} has no task with taskReferenceName {ref!r}")


def walk(tasks: list, path: str):
    """Every task in ``tasks`` and below, as ``(json_path, task)`` pairs, depth first."""
    for i, task in enumerate(tasks):
        here = f"{path}[{i}]"
        yield here, task
        for suffix, children in task.children():
            yield from walk(children, here + suffix)


def _key(key: str) -> str:
    """A JSON-path member accessor: ``.name`` when it can be, ``['odd name']`` otherwise."""
    return f".{key}" if key.isidentifier() else f"[{key!r}]"
