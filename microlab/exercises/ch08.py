"""Checks for notebook 08, the Netflix Conductor case study: Conductor JSON, run unchanged.

- :func:`saga_json` gives a fresh, editable copy of the project's order saga in
  Conductor's JSON (``microlab/data/workflows/order_fulfillment.json``: the saga and its
  failure workflow);
- :func:`run_saga` runs Conductor definitions on the toy inventory, payment and
  shipping services (any other SIMPLE task gets a toy worker of its own name), for a
  few orders, and returns the system and the orchestrator;
- :func:`check_screening_saga` (exercise 8.1): a fraud screening inserted in the JSON;
- :func:`check_progress_report` (exercise 8.2): "how far along is order X?" as a query;
- :func:`compensation_names`: the failure workflow's tasks as the builder of chapter 02
  writes them beside those of the hand-written JSON (why they differ is told in the notebook);
- :func:`message_counts` and :func:`handled_by`: what a run's messages were, and which
  orchestrator node handled how many (polling workers; ``Orchestrator(servers=N)``);
- :func:`cluster_run`: the saga on a cluster of stateless servers over one store, with a
  node or the store crashed; :func:`failover`: how long, in its trace, the crashed node's
  work waited for another node to take it over;
- :func:`event_bridge` and :func:`check_event_handler` (exercise 8.3): an EVENT task
  publishes to a choreographed service, and an event handler hears its answer.
"""

from __future__ import annotations

import copy
import json
import math
import warnings

from ..distributions import Exponential
from ..choreography.broker import WiringWarning
from ..errors import DefinitionError
from ..orchestration import Orchestrator, ToyWorker, execution, load_workflows
from ..orchestration import toys
from ..orchestration.failover import failover  # re-exported: the notebook calls ch08.failover
from ..system import System
from .feedback import Hint, NotAnsweredYet, checker

#: The task the learner inserts in exercise 8.1.
SCREEN = "screen_order"
#: The toy services' tasks, which the toy workers of :mod:`microlab.orchestration.toys` serve.
TOY_TASKS = ("reserve_inventory", "release_inventory", "charge_payment", "refund_payment",
             "book_shipment", "cancel_shipment")


def saga_json() -> list[dict]:
    """The project's Conductor order saga as plain JSON data: ``[order_fulfillment, order_fulfillment_compensation]``."""
    return copy.deepcopy(json.loads(toys.workflow_file("order_fulfillment").read_text()))


def compensation_names() -> dict[str, list[str]]:
    """The failure workflow's tasks, ``reference (TYPE)`` in order, written two ways.

    ``"builder (chapter 02)"``: what ``saga(...)`` generates for the order saga of chapter 02
    (a ``completed_steps`` transform, then one ``if_<step>_done`` switch per step with a
    compensation, each holding its undo task); ``"order_fulfillment.json (this chapter)"``: the
    hand-written file (``completed``, ``was_charged``, ``was_reserved``).
    """
    from ..orchestration import saga

    built = (saga("order_saga", inputs=["orderId", "amount"])
             .step("reserve_inventory", compensate="release_inventory")
             .step("charge_payment", compensate="refund_payment")
             .step("book_shipment", compensate="cancel_shipment")
             .build()).workflows[1]
    written = load_workflows(saga_json())[1]
    return {label: [f"{t.task_reference_name} ({t.type})" for _, t in wf.walk()]
            for label, wf in (("builder (chapter 02)", built), ("order_fulfillment.json (this chapter)", written))}


def run_saga(workflows=None, *, orders: int = 1, fail: dict | None = None, until: float | None = None,
             spacing: float = 0.5, seed: int = 1):
    """Run Conductor definitions (default: :func:`saga_json`) on toy services; return ``(system, orchestrator)``.

    The first definition is started once per order (correlations ``order-1``, ``order-2``,
    ..., ``spacing`` seconds apart); the others serve as failure workflows.
    ``fail={"book_shipment": None}`` makes the worker of that task fail every attempt
    (a number: only the first that many attempts). ``until`` pauses the run at that time.
    """
    defs = load_workflows(saga_json() if workflows is None else workflows)
    # Sorted: a set's order changes between processes, and the order services are added matters.
    extra = sorted({t.name for wf in defs for _, t in wf.walk()
                    if t.type == "SIMPLE" and t.name not in TOY_TASKS})
    system = System(seed=seed, latency=Exponential(0.01))
    # Workers poll for their tasks (Conductor's model, the default dispatch).
    orchestrator = system.add(Orchestrator(task_routes={name: name for name in extra}))
    system.add(*toys.saga_services())
    for name in extra:
        system.add(ToyWorker(name))
    orchestrator.register(defs)
    for task, times in (fail or {}).items():
        service = _service_of(system, task, extra)
        service.fail(task, times=times)
    for i in range(1, orders + 1):
        orchestrator.start(defs[0].name, {"orderId": f"o-{i}", "amount": 30, "items": ["book"]},
                           correlation=f"order-{i}", at=spacing * i)
    system.run(until=until)
    return system, orchestrator


def _service_of(system, task: str, extra: list):
    if task in extra:
        return system.services[task]
    for service in system.services.values():
        if task in getattr(service, "serves", lambda: [])():
            return service
    raise ValueError(f"no toy service runs task {task!r}; the tasks are: {', '.join(list(TOY_TASKS) + extra)}")


def _names(ex, status: str) -> list[str]:
    """Task names (not reference names) of an execution that ended ``status``, each once."""
    last: dict = {}
    for t in ex.tasks:
        last[t.reference_task_name] = (t.name, t.status)
    return [name for name, s in last.values() if s == status]


@checker("Exercise 8.1: screen the order in Conductor JSON")
def check_screening_saga(workflows) -> str:
    """Pass Conductor definitions ``[saga, compensation]`` whose saga runs a SIMPLE task
    ``screen_order`` after ``charge_payment`` and before ``book_shipment``, and whose
    failure workflow still refunds and releases when the screening fails."""
    if not isinstance(workflows, list) or not workflows or not all(isinstance(w, dict) for w in workflows):
        raise Hint("pass the list of workflow definitions (dicts), as saga_json() returns it: "
                   "[the saga, its failure workflow].")
    if workflows == saga_json():
        raise NotAnsweredYet("the saga loaded above is unchanged so far: insert your screen_order task "
                             "into workflows[0]['tasks'], then run this cell again.")
    try:
        load_workflows(copy.deepcopy(workflows))
    except DefinitionError as exc:
        faults = "; ".join(f"{where}: {msg}" for where, msg in exc.faults[:3])
        raise Hint(f"Conductor would reject this JSON: {faults}. Compare your task with charge_payment's.")
    main = workflows[0]
    screens = [t for t in main.get("tasks", []) if t.get("name") == SCREEN]
    if not screens:
        raise Hint(f"the saga {main.get('name')!r} has no top-level task named {SCREEN!r}. Insert a dict "
                   f"with name, taskReferenceName, type SIMPLE and inputParameters into workflows[0]['tasks'].")
    if screens[0].get("type") != "SIMPLE":
        raise Hint(f"{SCREEN!r} has type {screens[0].get('type')!r}: a task that a worker service runs is SIMPLE.")
    if not main.get("failureWorkflow"):
        raise Hint("the saga lost its failureWorkflow: without it a failed order is never compensated. "
                   "Keep \"failureWorkflow\": \"order_fulfillment_compensation\".")
    system, _ = run_saga(workflows)
    ok = execution(system, "order-1")
    done = _names(ok, "COMPLETED")
    if ok.status != "COMPLETED":
        raise Hint(f"with no failure the saga ended {ok.status} ({ok.reason}). Run ch08.run_saga(workflows) "
                   "and print execution(system, 'order-1').format() to see which task went wrong.")
    order = [n for n in done if n in ("charge_payment", SCREEN, "book_shipment")]
    if order != ["charge_payment", SCREEN, "book_shipment"]:
        raise Hint(f"the tasks ran in the order {', '.join(order)}: screen the order after the card is "
                   f"charged and before the shipment is booked (insert it at index 2 of the tasks).")
    system, _ = run_saga(workflows, fail={SCREEN: None})
    bad = execution(system, "order-1")
    if "book_shipment" in _names(bad, "COMPLETED"):
        raise Hint("when the screening fails, the shipment is still booked: the task must run before "
                   "book_shipment, and its failure must stop the saga (do not mark it optional).")
    undo = _names(bad.failure_workflow, "COMPLETED") if bad.failure_workflow else []
    missing = [t for t in ("refund_payment", "release_inventory") if t not in undo]
    if bad.outcome != "COMPENSATED" or missing:
        raise Hint(f"when the screening fails the order ends {bad.status_words} and {', '.join(missing) or 'nothing'} "
                   "did not run: keep the failure workflow as it was, it finds the completed steps itself.")
    slow = ""
    if bad.status == "TIMED_OUT":
        # Conductor's defaults (3 retries, 60 s apart) outlast the saga's 120 s timeout.
        slow = (f" Note: it took {bad.failure_workflow.end:.0f} s, because with no taskDefinition the task "
                "retries 60 s apart until the whole saga times out; give it one like charge_payment's.")
    return (f"the saga ran reserve, charge, {SCREEN}, ship; when the screening failed, the unchanged "
            "failure workflow refunded and released. One definition changed, no service did." + slow)


@checker("Exercise 8.2: how far along is each order?")
def check_progress_report(report) -> str:
    """Pass a function ``report(orchestrator, correlations) -> {correlation: fraction}``
    giving each order's fraction done (0 to 1) at the moment it is called, with the
    denominator of the orchestrator's progress line ("1 of 3 tasks done": 1/3)."""
    if not callable(report):
        raise Hint("pass your function itself (report, without parentheses): "
                   "def report(orchestrator, correlations): return {c: ... for c in correlations}")
    correlations = [f"order-{i}" for i in range(1, 6)]
    system, orchestrator = run_saga(orders=5, spacing=0.02, until=0.12, fail={"book_shipment": 1})
    answer = report(orchestrator, list(correlations))
    if not isinstance(answer, dict):
        raise Hint(f"your function returned {type(answer).__name__}; return a dict {{correlation: fraction}}.")
    missing = [c for c in correlations if c not in answer]
    if missing:
        raise Hint(f"your report has no entry for {', '.join(missing)}: one entry per correlation asked for.")
    for c in correlations:
        truth = orchestrator.progress(c).estimate
        got = answer[c]
        if isinstance(got, bool) or not isinstance(got, (int, float)) or math.isnan(got):
            raise Hint(f"the entry for {c} is {got!r}; a fraction is a number between 0 and 1.")
        if abs(got - truth) > 0.01:
            p = orchestrator.progress(c)
            hint = (" You divided by the tasks reached so far; the line also counts those not reached yet."
                    if p.taken and abs(got - p.completed / p.taken) <= 0.01 else "")
            raise Hint(f"for {c} you said {got:.2f}, but its progress line reads '{p}'.{hint} "
                       "orchestrator.progress(c) has completed, taken, ahead and total.")
    return ("one query per order, answered from the orchestrator's state: the question Netflix "
            "could not answer systematically when its flows were scattered over pub/sub.")


# -- the architecture: polling, a cluster, events ------------------------------------------------

def message_counts(system) -> dict[str, int]:
    """How many messages of each type a run sent, most frequent first (ties by name)."""
    counts: dict[str, int] = {}
    for record in system.trace.records:
        if record[1] == "send":
            counts[record[3].type] = counts.get(record[3].type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def handled_by(system, prefix: str = "orchestrator") -> dict[str, int]:
    """Messages handled by each service whose name starts with ``prefix`` (the orchestrator nodes)."""
    counts: dict[str, int] = {}
    for record in system.trace.records:
        if record[1] == "end" and record[2].startswith(prefix) and not record[2].endswith("-store"):
            counts[record[2]] = counts.get(record[2], 0) + 1
    return dict(sorted(counts.items()))


def outcomes(orchestrator, orders: int = 20) -> dict[str, int]:
    """How many of the orders ``order-1`` .. ``order-<orders>`` ended in each status ("not started" if none)."""
    counts: dict[str, int] = {}
    for i in range(1, orders + 1):
        try:
            status = orchestrator.status(f"order-{i}")
        except KeyError:
            status = "not started"
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def cluster_run(servers: int = 3, *, crash: str | None = None, at: float = 0.5, orders: int = 20,
                spacing: float = 0.05, until: float = 120.0, seed: int = 1):
    """The project's saga for ``orders`` orders on ``Orchestrator(servers=servers)``; return ``(system, orchestrator)``.

    ``crash`` names a node (``"orchestrator-2"``) or the store (``"orchestrator-store"``)
    to crash at ``at`` seconds, for good. Workers poll, as in Conductor.
    """
    from ..faults import FaultPlan

    system = System(seed=seed, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator(servers=servers, js_timeout=None))
    system.add(*toys.saga_services())
    orchestrator.register(toys.load_order_fulfillment())
    for i in range(1, orders + 1):
        orchestrator.start("order_fulfillment", {"orderId": f"o-{i}", "amount": 30, "items": ["book"]},
                           correlation=f"order-{i}", at=spacing * i)
    if crash is not None:
        if crash not in system.services:
            raise ValueError(f"no service {crash!r} to crash; the cluster's are: "
                             f"{', '.join(n for n in sorted(system.services) if n.startswith('orchestrator'))}")
        FaultPlan().crash(crash, at=at).apply(system)
    system.run(until=until)
    return system, orchestrator


#: Exercise 8.3's workflow: publish that the order is paid, then wait to hear it shipped.
ORDER_FLOW = {"name": "order_flow", "version": 1, "inputParameters": ["orderId"], "tasks": [
    {"name": "order_paid", "taskReferenceName": "paid", "type": "EVENT", "sink": "nats:OrderPaid",
     "inputParameters": {"orderId": "${workflow.input.orderId}"}},
    {"name": "await_shipment", "taskReferenceName": "await_shipment", "type": "WAIT"}]}

#: An event handler that ends the wait when shipping says the order has shipped (the answer of 8.3).
ON_SHIPPED = {"name": "on_shipped", "event": "nats:OrderShipped", "active": True,
              "actions": [{"action": "complete_task",
                           "complete_task": {"workflowId": "${workflowId}", "taskRefName": "await_shipment",
                                             "output": {"tracking": "${tracking}"}}}]}


def event_bridge(handler=None, *, seed: int = 1, until: float = 30.0):
    """A workflow that publishes ``OrderPaid`` and waits; a choreographed ``shipping`` service
    that hears it and publishes ``OrderShipped``; ``handler`` (Conductor JSON, default none)
    on the orchestrator. Returns ``(system, orchestrator)`` after the run."""
    from ..choreography import Broker, Participant

    system = System(seed=seed, latency=Exponential(0.01))
    orchestrator = system.add(Orchestrator(js_timeout=None))
    system.add(Broker())
    shipping = system.add(Participant("shipping"))

    @shipping.on("OrderPaid", publishes=("OrderShipped",))
    def ship(event, ctx):
        ctx.effect("ship")
        ctx.publish("OrderShipped", {"workflowId": event.payload["workflowInstanceId"],
                                     "orderId": event.payload.get("orderId"), "tracking": "TRK-1"})

    orchestrator.register(load_workflows([copy.deepcopy(ORDER_FLOW)]))
    if handler is not None:
        orchestrator.add_event_handlers(copy.deepcopy(handler))
    orchestrator.start("order_flow", {"orderId": "o-1"}, correlation="order-1")
    with warnings.catch_warnings():
        # Without a handler nobody hears OrderShipped: the notebook and the check say so
        # in their own words, so the wiring warning would only repeat it.
        warnings.simplefilter("ignore", WiringWarning)
        system.run(until=until)
    return system, orchestrator


@checker("Exercise 8.4: let an event end the wait")
def check_event_handler(handler) -> str:
    """Pass a Conductor event handler (a dict) that completes ``order_flow``'s WAIT task
    ``await_shipment`` when shipping publishes ``OrderShipped``."""
    if not isinstance(handler, dict):
        raise Hint("pass one event handler as a dict, as Conductor's JSON has it: "
                   "{\"name\": ..., \"event\": ..., \"actions\": [...]}.")
    event = handler.get("event")
    if not isinstance(event, str) or not event.endswith(":OrderShipped"):
        raise Hint(f"your handler listens on {event!r}. Which event does shipping publish, and through "
                   "which queue provider does the workflow's EVENT task publish (look at its sink)?",
                   reveal="\"event\": \"nats:OrderShipped\"")
    try:
        system, orchestrator = event_bridge(handler)
    except DefinitionError as exc:
        faults = "; ".join(f"{where}: {msg}" for where, msg in exc.faults[:3])
        raise Hint(f"the orchestrator refused the handler: {faults}.",
                   reveal="an action is {\"action\": \"complete_task\", \"complete_task\": "
                          "{\"workflowId\": ..., \"taskRefName\": ...}}")
    wf = orchestrator.instance("order-1")
    if wf.status == "COMPLETED":
        return ("the workflow published OrderPaid, a choreographed service reacted, and your handler turned "
                "its OrderShipped into the end of the WAIT: orchestration and choreography joined by events.")
    executions = [r[4] for r in system.trace.records if r[1] == "event_handler"]
    if not executions:
        raise Hint("OrderShipped was published, but your handler never ran: is it active?",
                   reveal="set \"active\": true")
    reasons = "; ".join(sorted({str(e.get("reason") or e.get("status")) for e in executions}))
    raise Hint(f"your handler ran ({reasons}) but the workflow is still {wf.status}. Which task does it "
               "have to end, and how does it name that task's workflow? The event's payload carries "
               "workflowId.",
               reveal="\"complete_task\": {\"workflowId\": \"${workflowId}\", \"taskRefName\": \"await_shipment\"}")
