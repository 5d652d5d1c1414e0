"""Toy services for the order saga: inventory, payment and shipping workers.

They serve the SIMPLE tasks of the project's own Conductor file
(``microlab/data/workflows/order_fulfillment.json``, loaded by :func:`load_order_fulfillment`)
and of the builder's saga form, and record each business effect in the trace, so that a
consistency check can tell, per order, what was done and what was undone:

=========  ===========================  =====================================
service    task -> effect               undo task -> effect
=========  ===========================  =====================================
inventory  reserve_inventory -> reserve  release_inventory -> release
payment    charge_payment -> charge      refund_payment -> refund
shipping   book_shipment -> ship         cancel_shipment -> cancel_shipment
=========  ===========================  =====================================

Every effect's detail has ``order`` (the ``orderId`` input). Fail them with the
:class:`~microlab.orchestration.workers.Worker` switches (``shipping.fail("book_shipment")``).

How this differs from the order saga the scenarios generate from
:data:`microlab.flows.ORDER` (the source), and why. The services, the effects, their
undo effects (:data:`UNDO` is read from the flow) and the order of the steps are the
flow's; a test runs the JSON file on these workers and holds it to the flow's steps.

- The task names are Conductor's verb_noun (``charge_payment``), not the flow's effect
  names (``charge``): chapters 02 and 08 teach a Conductor definition as a real server
  runs it, and ``order_fulfillment.json`` is checked against Conductor OSS.
- The JSON file gives each task its own retry policy (FIXED, EXPONENTIAL and LINEAR
  back-off), to show all three; the generated workflow (``order_workflow``) gives
  every step the knobs' ``retries``.
- The compensation is a failure workflow written out in JSON_JQ_TRANSFORM and SWITCH
  tasks (what a Conductor user writes); the generated one comes from the saga builder.
  Both undo the completed steps, most recent first, and never undo the last step.
- There is no owner service and no notification listener: the workflow is started
  directly, to show the workflow alone.
- The three workers are written out, a class a service with a method per task, and
  alike on purpose: chapter 02 points at the toy ``Payment`` (``charge_payment``,
  ``refund_payment``) as the example of a worker. Made from the flow's steps in a loop
  they would be one class fewer and no longer that example.

The names: :func:`load_order_fulfillment` loads the file's two workflows (``order_fulfillment``
and ``order_fulfillment_compensation``); :func:`microlab.scenarios.order_saga` *runs* the
flow's saga and returns a RunResult; the workflow it generates is ``order_workflow``.
"""

from __future__ import annotations

from pathlib import Path

from ..flows import ORDER
from .workers import Worker

#: Where the project's own Conductor workflow files live.
WORKFLOWS_DIR = Path(__file__).resolve().parent.parent / "data" / "workflows"

#: Each effect and the effect that undoes it: the order flow's (``reserve`` -> ``release``...).
UNDO = {step.effect: step.compensation for step in ORDER.steps}


class Inventory(Worker):
    """Reserves and releases the items of an order."""

    service_name = "inventory"

    def reserve_inventory(self, input):
        """Reserve the order's items."""
        order = input.get("orderId")
        self.effect("reserve", order=order)
        return {"reservationId": f"res-{order}"}

    def release_inventory(self, input):
        """Release a reservation (compensation)."""
        self.effect("release", order=input.get("orderId"))
        return {"released": True}


class Payment(Worker):
    """Charges and refunds an order's amount."""

    service_name = "payment"

    def charge_payment(self, input):
        """Charge the order's amount."""
        order = input.get("orderId")
        self.effect("charge", order=order, amount=input.get("amount"))
        return {"chargeId": f"ch-{order}"}

    def refund_payment(self, input):
        """Refund a charge (compensation)."""
        self.effect("refund", order=input.get("orderId"), amount=input.get("amount"))
        return {"refunded": True}


class Shipping(Worker):
    """Books and cancels an order's shipment."""

    service_name = "shipping"

    def book_shipment(self, input):
        """Book the shipment."""
        order = input.get("orderId")
        self.effect("ship", order=order)
        return {"trackingId": f"trk-{order}"}

    def cancel_shipment(self, input):
        """Cancel a shipment (compensation)."""
        self.effect("cancel_shipment", order=input.get("orderId"))
        return {"cancelled": True}


def saga_services(**kw) -> tuple:
    """One :class:`Inventory`, :class:`Payment` and :class:`Shipping` (keywords go to each)."""
    return Inventory(**kw), Payment(**kw), Shipping(**kw)


def workflow_file(name: str) -> Path:
    """The path of one of the project's own Conductor files (``order_fulfillment`` -> ``.../order_fulfillment.json``)."""
    path = WORKFLOWS_DIR / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in WORKFLOWS_DIR.glob("*.json"))
        raise FileNotFoundError(f"no workflow file called {name!r}; the project has: {', '.join(known)}")
    return path


def load_order_fulfillment() -> list:
    """The project's Conductor file ``order_fulfillment.json``, loaded: ``[order_fulfillment, order_fulfillment_compensation]``."""
    from .conductor import load_workflows
    return load_workflows(workflow_file("order_fulfillment"))

