"""Orchestration: an orchestrator service that runs workflows, as Netflix Conductor does.

The shape, in a few lines (the toy workers of :mod:`.toys` have a method per task, such
as ``def charge_payment(self, input)``, see :class:`Worker`)::

    from microlab import System
    from microlab.orchestration import Orchestrator, saga, execution
    from microlab.orchestration.toys import saga_services

    system = System(seed=1)
    orchestrator = system.add(Orchestrator(standby=True))   # a service: mailbox, workers, work_time
    inventory, payment, shipping = system.add(*saga_services())
    orchestrator.register(saga("order_saga", inputs=["orderId"])
                          .step("reserve_inventory", compensate="release_inventory")
                          .step("charge_payment", compensate="refund_payment")
                          .step("book_shipment", compensate="cancel_shipment").build())
    shipping.fail("book_shipment")
    system.inject("orchestrator", "StartWorkflow", {"name": "order_saga", "input": {"orderId": 7}},
                  correlation="order-7")       # or orchestrator.start(name, input, correlation=...)
    system.run()
    print(execution(system, "order-7").format())   # retries, then the compensation in reverse

Definitions (:mod:`.model`) come from the Python builder (:mod:`.builder`: ``workflow``,
``saga`` and task functions) or from Conductor JSON (:mod:`.conductor`:
``load_workflows``, ``load_task_defs``; ``WorkflowDef.to_conductor()`` writes it back).
Invalid definitions raise :class:`~microlab.errors.DefinitionError` with JSON paths
(:mod:`.validate`), before anything runs; routing to services is checked by
``orchestrator.register`` (:mod:`.routing`).

Messages (the correlation id of every message of an instance is the instance's
correlation; sub-workflows and failure workflows inherit it):

- to the orchestrator: ``StartWorkflow`` ``{"name", "input", "version"?, "idempotencyKey"?}``,
  answered by a ``WorkflowStarted`` ``{"workflowId"}`` reply (a repeated idempotencyKey
  starts nothing new and answers with the existing id, as Conductor's RETURN_EXISTING);
  ``TerminateWorkflow`` ``{"workflowId"?, "reason"?}``; ``CompleteTask`` (finishes a WAIT);
- orchestrator -> service: a command whose type is the **task name** (``charge_payment``),
  payload ``{"taskId", "workflowId", "ref", "name", "type", "attempt", "input"}`` (plus
  ``request`` for HTTP, ``compensation: true`` inside a failure workflow);
- service -> orchestrator: reply ``TaskCompleted`` ``{"taskId", "output"}`` or
  ``TaskFailed`` ``{"taskId", "reason", "terminal"?}`` (:class:`Worker` sends them).

Trace records (kinds in :mod:`.records`, every one with ``correlation`` in its detail):
``workflow`` and ``task`` status changes, ``retry``, ``timeout``, ``compensate``,
``stale``, ``takeover``, ``resume``, ``role``. :func:`execution` rebuilds an execution
(tasks in scheduling order with status, attempt, times, output; sub-workflows; failure
workflow) from the trace alone.

Reliability: retries (FIXED / LINEAR_BACKOFF / EXPONENTIAL_BACKOFF), response, task,
HTTP read and workflow timeouts, all in simulated time; ``optional`` tasks; failure
workflows receiving the failed execution; a :class:`DurableLog` and a standby
(``Orchestrator(standby=True, failover_delay=5)``) that replays it and resumes running
instances after a crash. Queries: ``orchestrator.status(key)``, ``.progress(key)``,
``.instances``, ``.workflows(correlation)``, ``.active``. Bounds: :class:`Limits`
(``Orchestrator(limits=Limits(max_loop_iterations=...))``) caps nesting depth, instances
per started workflow, DO_WHILE iterations and retry delays, naming the limit it hits.

The command line (``python -m microlab validate|run FILE.json``) uses the same pieces.
"""

from .builder import (Saga, WorkflowBuilder, decision, do_while, event, fork, http, inline, jq, saga,
                      set_variable, simple, sub_workflow, switch, task_def, terminate, wait, workflow)
from .conductor import dumps, load_task_defs, load_workflow, load_workflows
# The package's `execution` is the module .execution, callable as its function (microlab.modules).
from .execution import Execution, TaskExecution, executions
from .expressions import ExpressionError
from .limits import Limits
from .log import DurableLog
from .model import TaskDef, WorkflowDef, WorkflowTask
from .orchestrator import Orchestrator
from .progress import Progress
from .workers import TaskFailed, ToyWorker, Worker

__all__ = [
    "Orchestrator", "Limits", "DurableLog", "Worker", "ToyWorker", "TaskFailed",
    "WorkflowDef", "WorkflowTask", "TaskDef",
    "workflow", "WorkflowBuilder", "saga", "Saga", "task_def",
    "simple", "http", "switch", "decision", "fork", "do_while", "sub_workflow", "terminate",
    "wait", "set_variable", "inline", "jq", "event",
    "load_workflows", "load_workflow", "load_task_defs", "dumps",
    "execution", "executions", "Execution", "TaskExecution", "Progress", "ExpressionError",
]
