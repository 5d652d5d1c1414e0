"""What each engine makes explicit about the order saga: compensation, retries, timeouts,
versioning; each cell with where the saga's document says it and the source checked.

:data:`ROWS` is the table chapter 13 shows; :func:`markdown` renders it. Every claim
about a product links to its documentation (or specification) in :data:`SOURCES`.
"""

from __future__ import annotations

from dataclasses import dataclass

ENGINES = ("Conductor", "Temporal", "Step Functions", "BPMN (Camunda 8)")
ASPECTS = ("compensation", "retries", "timeouts", "versioning")

#: The pages each statement below was checked against.
SOURCES = {
    "conductor-workflowdef": "https://docs.conductor-oss.org/documentation/configuration/workflowdef/index.html",
    "conductor-lifecycle": "https://docs.conductor-oss.org/devguide/architecture/tasklifecycle.html",
    "temporal-retries": "https://docs.temporal.io/encyclopedia/retry-policies",
    "temporal-timeouts": "https://docs.temporal.io/evaluate/features/timeouts-and-retries",
    "temporal-versioning": "https://docs.temporal.io/develop/python/workflows/versioning.md",
    "temporal-patching": "https://docs.temporal.io/patching.md",
    "asl-spec": "https://states-language.net/spec.html",
    "sfn-versions": "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-cd-aliasing-versioning.html",
    "sfn-execution-version": "https://docs.aws.amazon.com/step-functions/latest/dg/execution-alias-version-associate.html",
    "camunda-compensation": "https://docs.camunda.io/docs/components/modeler/bpmn/compensation-events/",
    "camunda-service-tasks": "https://docs.camunda.io/docs/components/modeler/bpmn/service-tasks/",
    "camunda-problems": "https://docs.camunda.io/docs/components/best-practices/development/dealing-with-problems-and-exceptions/",
    "camunda-job-activation": "https://docs.camunda.io/docs/apis-tools/typescript/api-reference/index/type-aliases/JobActivationRequest/",
    "camunda-versioning": "https://docs.camunda.io/docs/components/best-practices/operations/versioning-process-definitions/",
    "camunda-timers": "https://docs.camunda.io/docs/8.0/components/modeler/bpmn/timer-events/",
}


@dataclass(frozen=True)
class Cell:
    """One engine's answer for one aspect: what it does, where the saga writes it, sources."""

    says: str
    written: str
    sources: tuple[str, ...]


ROWS: dict[str, dict[str, Cell]] = {
    "compensation": {
        "Conductor": Cell("a second workflow: `failureWorkflow` starts it with the failed execution, which it reads "
                          "to decide what to undo", "`order_fulfillment_compensation` in order_fulfillment.json",
                          ("conductor-workflowdef",)),
        "Temporal": Cell("ordinary code: the workflow keeps the compensations it owes and calls them, newest first, "
                         "in its `except` branch", "`OrderSaga.run` in microlab/real/temporal_saga.py", ()),
        "Step Functions": Cell("states you write: each Task's `Catch` names the first compensation state, which "
                               "names the next", "`Catch` of Charge and Ship, states Refund and Release",
                               ("asl-spec",)),
        "BPMN (Camunda 8)": Cell("in the model: a compensation boundary event per step, associated with a handler "
                                 "task; a compensation end event undoes what completed. Camunda 8 starts the "
                                 "handlers at once, in no specified order", "`charge_undo` -> `refund`; end event "
                                 "`OrderRejected`", ("camunda-compensation",)),
    },
    "retries": {
        "Conductor": Cell("per task definition: `retryCount` retries (2: three attempts), `retryLogic`, "
                          "`retryDelaySeconds`; the server reschedules the task", "`taskDefinition` of each task",
                          ("conductor-lifecycle",)),
        "Temporal": Cell("a `RetryPolicy` on each activity call; `maximum_attempts` counts attempts (3). Activities "
                         "retry by default, workflows do not", "`STEP_RETRY`, `UNDO_RETRY`", ("temporal-retries",)),
        "Step Functions": Cell("a `Retry` on each Task: `MaxAttempts` counts retries (2: three attempts), "
                               "`IntervalSeconds`, `BackoffRate`", "`Retry` of each Task", ("asl-spec",)),
        "BPMN (Camunda 8)": Cell("`retries` on `zeebe:taskDefinition` (3); at zero the engine raises an incident for "
                                 "a person, so a worker throws the BPMN error to take the compensation path",
                                 "`zeebe:taskDefinition retries=\"3\"`", ("camunda-service-tasks", "camunda-problems")),
    },
    "timeouts": {
        "Conductor": Cell("`responseTimeoutSeconds` and `timeoutSeconds` per task, `timeoutSeconds` per workflow",
                          "5 s per task, 120 s for the workflow", ("conductor-workflowdef", "conductor-lifecycle")),
        "Temporal": Cell("`start_to_close_timeout` per activity call (one attempt); the "
                         "workflow's execution timeout is infinite by default", "`STEP_TIMEOUT` (5 s)",
                         ("temporal-timeouts",)),
        "Step Functions": Cell("`TimeoutSeconds` per Task (60 s if absent) and for the whole machine; a timeout is "
                               "the error `States.Timeout`, which `Retry` and `Catch` can name",
                               "5 s per Task, 120 s in all",
                               ("asl-spec",)),
        "BPMN (Camunda 8)": Cell("an interrupting timer boundary event in the model, which terminates the activity; "
                                 "the job's own timeout is set by the worker when it activates the job, not in "
                                 "the model", "`*_timed_out`, PT5S", ("camunda-timers", "camunda-job-activation")),
    },
    "versioning": {
        "Conductor": Cell("a `version` number in the definition; a start without one uses the highest",
                          "`\"version\": 1`", ("conductor-workflowdef",)),
        "Temporal": Cell("the code is the definition: a change must replay the old histories the same way, so it "
                         "goes behind `workflow.patched(...)` or onto versioned workers", "`OrderV2` in "
                         "microlab/real/temporal_versioning.py: a fraud check behind `patched(\"fraud-check\")`",
                         ("temporal-versioning", "temporal-patching")),
        "Step Functions": Cell("outside the document: a published version is a numbered, immutable snapshot of the "
                               "machine (an alias points to versions); an execution is associated with the "
                               "version or alias its start named", "nothing in the JSON",
                               ("sfn-versions", "sfn-execution-version")),
        "BPMN (Camunda 8)": Cell("deploying a changed process registers a new version; running instances continue "
                                 "on theirs, new ones take the latest", "nothing in the XML", ("camunda-versioning",)),
    },
}


def markdown(aspects=ASPECTS) -> str:
    """The table as Markdown: for each aspect a short table, a row per engine (what it does,
    where the saga writes it, its sources as links), narrow enough for a notebook's width."""
    parts = []
    for aspect in aspects:
        rows = [f"**{aspect.capitalize()}**\n", "| engine | what it makes explicit | in the saga |", "|---|---|---|"]
        for engine in ENGINES:
            cell = ROWS[aspect][engine]
            links = " ".join(f"([source]({SOURCES[s]}))" for s in cell.sources)
            rows.append(f"| {engine} | {cell.says} {links} | {cell.written} |".replace("  ", " "))
        parts.append("\n".join(rows) + "\n")
    return "\n".join(parts)
