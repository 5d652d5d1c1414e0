"""Toy services for the order saga: inventory, payment and shipping workers.

They serve the SIMPLE tasks of the project's own ``order_saga`` definition
(``microlab/data/workflows/order_saga.json``, :func:`order_saga`) and of the builder's
saga form, and record each business effect in the trace, so that a consistency check
can tell, per order, what was done and what was undone:

=========  ===========================  =====================================
service    task -> effect               undo task -> effect
=========  ===========================  =====================================
inventory  reserve_inventory -> reserve  release_inventory -> release
payment    charge_payment -> charge      refund_payment -> refund
shipping   book_shipment -> ship         cancel_shipment -> cancel_shipment
=========  ===========================  =====================================

Every effect's detail has ``order`` (the ``orderId`` input). Fail them with the
:class:`~microlab.orchestration.workers.Worker` switches (``shipping.fail("book_shipment")``).
"""

from __future__ import annotations

from pathlib import Path

from .workers import Worker

#: Where the project's own Conductor workflow files live.
WORKFLOWS_DIR = Path(__file__).resolve().parent.parent / "data" / "workflows"

#: Each effect and the effect that undoes it.
UNDO = {"reserve": "release", "charge": "refund", "ship": "cancel_shipment"}


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
    """The path of one of the project's own Conductor files (``order_saga`` -> ``.../order_saga.json``)."""
    path = WORKFLOWS_DIR / f"{name}.json"
    if not path.exists():
        known = sorted(p.stem for p in WORKFLOWS_DIR.glob("*.json"))
        raise FileNotFoundError(f"no workflow file called {name!r}; the project has: {', '.join(known)}")
    return path


def order_saga() -> list:
    """The project's order saga as Conductor JSON, loaded: ``[order_saga, order_saga_compensation]``."""
    from .conductor import load_workflows
    return load_workflows(workflow_file("order_saga"))
