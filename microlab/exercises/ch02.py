"""Checks for the exercises of notebook 02, "Orchestration in depth".

- :func:`check_order_saga`: a saga written with the Python builder, run on the toy
  services of :mod:`microlab.orchestration.toys` twice: once with no failure (it must
  complete) and once where the charge fails twice and the shipment always fails (the
  charge must be retried until it succeeds, then everything compensated in reverse);
- :func:`check_shipping_switch`: a workflow written in Conductor's JSON that sends an
  order to ``ship_express`` or ``ship_standard`` with a SWITCH, wiring the order id
  into the task's input;
- :func:`check_backoff_total`: a prediction, the time from a first failure to the
  fourth attempt under EXPONENTIAL_BACKOFF.

Checks judge what a definition *does* when run, so any correct definition passes.
"""

from __future__ import annotations

import json

from ..distributions import Exponential
from ..errors import MicrolabError
from ..orchestration import Orchestrator, Saga, WorkflowDef, Worker, execution, load_workflows, task_def
from ..orchestration.toys import saga_services
from ..system import System
from ..words import count
from .feedback import Hint, checker

#: The tasks the toy services serve, and what undoes each.
SAGA_TASKS = {"reserve_inventory": "release_inventory", "charge_payment": "refund_payment",
              "book_shipment": "cancel_shipment"}
#: How many times the charge fails before it succeeds, in the failure run.
CHARGE_FAILURES = 2


def _definitions(answer, what: str) -> list:
    if answer is ... or answer is None:
        raise Hint(f"replace the ... with {what}")
    if isinstance(answer, Saga):
        return answer.workflows
    if isinstance(answer, WorkflowDef):
        return [answer]
    if hasattr(answer, "build") and not isinstance(answer, type):
        raise Hint("you passed a builder; call .build() at the end to get the definition")
    if isinstance(answer, (list, tuple)) and answer and all(isinstance(d, WorkflowDef) for d in answer):
        return list(answer)
    raise Hint(f"expected {what}, got {type(answer).__name__}: {answer!r:.80}")


def _saga_run(definitions, *, fail: bool, seed: int = 1):
    system = System(seed=seed, latency=Exponential(0.01), warn_on_failure=False)
    orchestrator = system.add(Orchestrator(conclusions=("complete", "reject")))
    inventory, payment, shipping = system.add(*saga_services())
    try:
        orchestrator.register(*definitions)
    except MicrolabError as exc:
        raise Hint(f"the orchestrator refused your definition: {exc}") from None
    name = definitions[0].name
    if fail:
        payment.fail("charge_payment", times=CHARGE_FAILURES)
        shipping.fail("book_shipment")
    orchestrator.start(name, {"orderId": 7, "amount": 30}, correlation="order-7")
    system.run(max_events=100_000)
    return system


#: Effects that conclude a transaction (recorded by the orchestrator), not done by a step.
CONCLUSIONS = ("complete", "reject")


def _effects(system) -> list:
    """The business effects the services applied, in order (conclusions left out)."""
    return [r.detail["effect"] for r in system.trace.of_kind("effect") if r.detail["effect"] not in CONCLUSIONS]


@checker("Exercise 2.1: an order saga with the builder")
def check_order_saga(answer) -> str:
    """Run the learner's saga (a ``Saga`` from ``saga(...).build()``) with and without failures."""
    definitions = _definitions(answer, "the saga you built: saga('...', inputs=[...]).step(...).build()")
    main = definitions[0]
    names = [t.name for _, t in main.walk()]
    for task in SAGA_TASKS:
        if task not in names:
            raise Hint(f"the workflow has no {task!r} task (it has: {', '.join(names) or 'none'}). "
                       f"The toy services serve {', '.join(SAGA_TASKS)}; add a step for each, in that order")
    order = [n for n in names if n in SAGA_TASKS]
    if order != list(SAGA_TASKS):
        raise Hint(f"the steps run in the order {', '.join(order)}: reserve first, charge second, "
                   "ship last (nobody ships an unpaid order)")
    happy = _saga_run(definitions, fail=False)
    run = execution(happy, "order-7")
    if run.status != "COMPLETED":
        raise Hint(f"with no failure at all your workflow ended {run.status}: {run.reason}")
    if sorted(_effects(happy)) != ["charge", "reserve", "ship"]:
        raise Hint(f"with no failure the effects were {', '.join(_effects(happy))}; expected one "
                   "reserve, one charge and one ship")
    system = _saga_run(definitions, fail=True)
    effects = _effects(system)
    run = execution(system, "order-7")
    charges = run.attempts("charge_payment")
    if "charge" not in effects:
        raise Hint(f"payment fails the first {CHARGE_FAILURES} attempts of charge_payment, and your saga "
                   f"gave up after {count(len(charges), 'attempt')}. Give that step retries={CHARGE_FAILURES} "
                   "or more (e.g. .step('charge_payment', ..., retries=3, retry_delay=1))")
    charge = next(t for _, t in main.walk() if t.name == "charge_payment")
    if charge.task_definition is None and charge.retry_count is None:
        raise Hint(f"the charge succeeded on attempt {len(charges)}, but only because a task with no "
                   "task definition gets Conductor's default one (retryCount 3, 60 s apart). The saga "
                   "depends on those retries: say so in it, with retries=... (and retry_delay=...) on "
                   "the charge_payment step.")
    missing = [undo for step, undo in (("reserve", "release"), ("charge", "refund")) if undo not in effects]
    if missing:
        need = {"release": "release_inventory", "refund": "refund_payment"}
        raise Hint(f"shipping always fails, so the saga must undo what it did; but {', '.join(missing)} "
                   f"never happened (effects: {', '.join(effects)}). Give each step its compensation: "
                   + ", ".join(f"compensate={need[u]!r}" for u in missing))
    if effects.index("refund") > effects.index("release"):
        raise Hint("the compensations ran in the order they were done; undo in reverse: refund first, "
                   "then release")
    return (f"your saga completed on a good day, and on a bad one retried the charge {len(charges) - 1} "
            "times, then refunded and released, most recent first. All of it is in the orchestrator.")


class ShippingDesk(Worker):
    """Ships orders express or standard; remembers the order ids it was given."""

    service_name = "shipping"

    def __init__(self, **kw):
        super().__init__(**kw)
        #: (task, orderId) of every shipment, in order.
        self.shipped: list = []

    def ship_express(self, input):
        """Ship by courier."""
        self.shipped.append(("ship_express", input.get("orderId")))
        self.effect("ship_express", order=input.get("orderId"))
        return {"carrier": "courier"}

    def ship_standard(self, input):
        """Ship by post."""
        self.shipped.append(("ship_standard", input.get("orderId")))
        self.effect("ship_standard", order=input.get("orderId"))
        return {"carrier": "post"}


#: The inputs tried, and the task each must reach.
SWITCH_CASES = (("express", "ship_express"), ("standard", "ship_standard"), ("drone", "ship_standard"))


@checker("Exercise 2.2: a SWITCH in Conductor's JSON")
def check_shipping_switch(answer) -> str:
    """Load ``answer`` (JSON text or a dict) and run it for each speed in :data:`SWITCH_CASES`."""
    if answer is ... or answer is None:
        raise Hint("replace the ... with your workflow: a dict (or JSON text) with name, tasks, ...")
    if isinstance(answer, str):
        try:
            json.loads(answer)
        except json.JSONDecodeError as exc:
            raise Hint(f"that is not valid JSON: {exc}") from None
    elif not isinstance(answer, dict):
        raise Hint(f"give the workflow as a dict (or JSON text), got {type(answer).__name__}")
    try:
        definitions = load_workflows(answer)
    except MicrolabError as exc:
        raise Hint(f"Conductor would reject this definition: {exc}") from None
    name = definitions[0].name
    for i, (speed, want) in enumerate(SWITCH_CASES):
        system = System(seed=1, latency=Exponential(0.01), warn_on_failure=False)
        orchestrator = system.add(Orchestrator())
        desk = system.add(ShippingDesk())
        try:
            orchestrator.register(*definitions)
        except MicrolabError as exc:
            raise Hint(f"the orchestrator refused your definition: {exc}") from None
        orchestrator.start(name, {"orderId": 40 + i, "speed": speed}, correlation=f"order-{40 + i}")
        system.run(max_events=100_000)
        run = execution(system, f"order-{40 + i}")
        if not desk.shipped:
            raise Hint(f"with speed={speed!r} nothing was shipped (the workflow ended {run.status}"
                       + (f": {run.reason}" if run.reason else "") + f"). It should reach {want}")
        tasks = [t for t, _ in desk.shipped]
        if tasks != [want]:
            raise Hint(f"with speed={speed!r} the workflow ran {', '.join(tasks)}; it should run {want} only."
                       + (" Any speed other than 'express' goes to the default case"
                          if speed == "drone" else " Switch on \"${workflow.input.speed}\""))
        order = desk.shipped[0][1]
        if order != 40 + i:
            raise Hint(f"{want} received orderId={order!r}, not {40 + i}: wire the workflow's input into the "
                       'task: "inputParameters": {"orderId": "${workflow.input.orderId}"}')
        if run.status != "COMPLETED":
            raise Hint(f"with speed={speed!r} the workflow ended {run.status}: {run.reason}")
    return "express goes by courier, everything else by post, and each task got its order id."


@checker("Exercise 2.3: exponential back-off")
def check_backoff_total(seconds, *, delay: float = 2, retries: int = 3) -> str:
    """Seconds from the first failure to the start of attempt ``retries + 1`` (EXPONENTIAL_BACKOFF)."""
    if seconds is ... or seconds is None:
        raise Hint("replace the ... with a number of seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise Hint(f"answer with a number of seconds, got {seconds!r}")
    policy = task_def("charge_payment", retries=retries, retry_delay=delay, retry_logic="EXPONENTIAL_BACKOFF")
    waits = [policy.retry_delay(k) for k in range(retries)]
    total = sum(waits)
    if abs(seconds - total) < 1e-9:
        return (f"yes: {' + '.join(f'{w:g}' for w in waits)} = {total:g} s. Each wait doubles: "
                "retryDelaySeconds x 2^retryCount.")
    if abs(seconds - waits[-1]) < 1e-9:
        raise Hint(f"{seconds:g} s is the wait before the last retry alone; add the waits before the "
                   "earlier retries too")
    if abs(seconds - delay * retries) < 1e-9:
        raise Hint(f"{seconds:g} s would be FIXED ({retries} waits of {delay:g} s); under EXPONENTIAL_BACKOFF "
                   "each wait is twice the one before")
    raise Hint(f"not {seconds:g} s. Write down the {retries} waits: the first is retryDelaySeconds "
               f"({delay:g} s), and each next one doubles. Then add them up")
