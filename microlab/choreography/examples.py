"""The order saga as a choreography: order, inventory, payment and shipping react to events.

The happy path::

    client --PlaceOrder--> order --OrderPlaced--> inventory --StockReserved--> payment
        --PaymentCompleted--> shipping --OrderShipped--> order (completed)

Compensation, as events (nobody is in charge; each service knows its part):

- ``StockRejected``: the order service marks the order rejected;
- ``PaymentFailed``: inventory releases the stock it reserved, and the order service
  marks the order rejected.

Business effects recorded (``trace`` kind ``effect``), one per step per order in a
sound run: ``reserve`` / ``release`` (inventory), ``charge`` (payment), ``ship``
(shipping), ``complete`` / ``reject`` (order). The reactions are deliberately naive
(they do not check whether they already charged this order), so that the
idempotent-consumer switch is what prevents double effects.

Build it with :func:`order_flow`; every participant is also available on its own
(``inventory_service(...)``) to be changed in an exercise.

How it differs from the source
------------------------------
The order saga is defined once, as :data:`microlab.flows.ORDER`; what
``scenarios.order_saga("choreography")`` runs is generated from it
(:mod:`microlab.scenarios.choreographed`). This module writes a smaller choreography
out by hand, to be read in chapter 03. It uses the flow's services, effects and event
names (a test holds it to them), and differs in exactly these ways:

1. **Shipping cannot fail**: there is no ``ShippingFailed``, so payment never refunds
   (``PaymentRefunded``) and inventory releases its stock only on ``PaymentFailed``.
   The generated choreography undoes every earlier step when a later one fails. Why:
   chapter 03 shows what the missing failure event costs (its piano order stays paid
   and reserved, dead-lettered, never compensated) and exercise 3.4 asks what a
   choreography must add; the generated one adds exactly that.
2. **Failures come from the order's data**, a stock count and a declined card, not
   from a failure probability per step with local retries: the chapter places single
   orders by hand and predicts their fate.
3. **Concluding and undoing publish nothing**: no ``OrderCompleted``,
   ``OrderRejected`` or ``StockReleased``, and no notification listener, so the
   chapter's diagrams show the four steps and nothing else.
4. **The reactions are naive**: the order service does not check that an order is
   still pending, and inventory releases without checking that it reserved, so the
   idempotent-consumer switch alone prevents double effects. The generated services
   conclude once and count what they applied (:mod:`microlab.scenarios.steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .broker import Broker
from .participant import Participant


def order_service(**switches) -> Participant:
    """The order service: takes PlaceOrder, publishes OrderPlaced, records the outcome."""
    order = Participant("order", **switches)
    order.state["orders"] = {}

    @order.on("PlaceOrder", command=True, publishes=("OrderPlaced",))
    def place(command, ctx):
        ctx.state["orders"][command.correlation] = "pending"
        ctx.publish("OrderPlaced", dict(command.payload, order=command.correlation))

    @order.on("OrderShipped")
    def complete(event, ctx):
        ctx.state["orders"][event.correlation] = "completed"
        ctx.effect("complete")

    def reject(event, ctx):
        ctx.state["orders"][event.correlation] = "rejected"
        ctx.effect("reject", because=event.type)

    order.on("StockRejected", reject)
    order.on("PaymentFailed", reject)
    return order


def inventory_service(stock: dict | None = None, **switches) -> Participant:
    """Inventory: reserves stock on OrderPlaced; releases it on PaymentFailed."""
    inventory = Participant("inventory", **switches)
    inventory.state["stock"] = dict(stock if stock is not None else {"book": 100})

    @inventory.on("OrderPlaced", publishes=("StockReserved", "StockRejected"))
    def reserve(event, ctx):
        item, qty = event.payload["item"], event.payload["qty"]
        stock = ctx.state["stock"]
        if stock.get(item, 0) < qty:
            ctx.publish("StockRejected", dict(event.payload, reason=f"only {stock.get(item, 0)} {item} left"))
            return
        stock[item] -= qty
        ctx.effect("reserve", item=item, qty=qty)
        ctx.publish("StockReserved", event.payload)

    @inventory.on("PaymentFailed")
    def release(event, ctx):
        item, qty = event.payload["item"], event.payload["qty"]
        ctx.state["stock"][item] += qty
        ctx.effect("release", item=item, qty=qty)

    return inventory


def payment_service(failure_rate: float = 0.0, **switches) -> Participant:
    """Payment: charges on StockReserved; fails if the card is declined or by chance."""
    if not 0.0 <= failure_rate <= 1.0:
        raise ValueError(f"payment_service: failure_rate must be between 0 and 1, got {failure_rate!r}")
    payment = Participant("payment", **switches)
    payment.state["charged"] = {}

    @payment.on("StockReserved", publishes=("PaymentCompleted", "PaymentFailed"))
    def charge(event, ctx):
        # Draw only when a rate is set, so that a run without failures draws nothing extra.
        declined = event.payload.get("card") == "declined" or (
            failure_rate > 0.0 and ctx.random.random() < failure_rate)
        if declined:
            ctx.publish("PaymentFailed", dict(event.payload, reason="card declined"))
            return
        amount = event.payload["amount"]
        charged = ctx.state["charged"]
        charged[event.correlation] = charged.get(event.correlation, 0) + amount
        ctx.effect("charge", amount=amount)
        ctx.publish("PaymentCompleted", event.payload)

    return payment


def shipping_service(**switches) -> Participant:
    """Shipping: ships on PaymentCompleted and publishes OrderShipped."""
    shipping = Participant("shipping", **switches)

    @shipping.on("PaymentCompleted", publishes=("OrderShipped",))
    def ship(event, ctx):
        ctx.effect("ship")
        ctx.publish("OrderShipped", event.payload)

    return shipping


@dataclass
class OrderFlow:
    """The broker and the four participants of the order saga."""

    broker: Broker
    order: Participant
    inventory: Participant
    payment: Participant
    shipping: Participant

    @property
    def services(self) -> tuple:
        """Broker first, then the participants in the order of the flow."""
        return (self.broker, self.order, self.inventory, self.payment, self.shipping)

    @property
    def participants(self) -> tuple:
        """The four participants."""
        return self.services[1:]

    def add_to(self, system) -> "OrderFlow":
        """Add every service to ``system``; returns the flow."""
        system.add(*self.services)
        return self

    def place(self, system, order: str, *, item: str = "book", qty: int = 1, amount: float = 30,
              card: str = "ok", at: float | None = None) -> None:
        """Have the client send PlaceOrder for ``order`` (its correlation id) at time ``at``."""
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            raise ValueError(f"order {order!r}: qty must be a whole number >= 1, got {qty!r}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
            raise ValueError(f"order {order!r}: amount must be a number >= 0, got {amount!r}")
        if card not in ("ok", "declined"):
            raise ValueError(f"order {order!r}: card must be 'ok' or 'declined' (a declined card "
                             f"makes the payment fail), got {card!r}")
        system.inject("order", "PlaceOrder", {"item": item, "qty": qty, "amount": amount, "card": card},
                      correlation=order, at=at)

    def status(self, order: str) -> str | None:
        """``pending``, ``completed`` or ``rejected`` (None if never placed)."""
        return self.order.state["orders"].get(order)

    def statuses(self) -> dict:
        """Every order's status, in the order they were placed."""
        return dict(self.order.state["orders"])

    def set(self, **switches) -> "OrderFlow":
        """Flip a switch on every participant, e.g. ``flow.set(outbox=False)``."""
        for name, value in switches.items():
            if name not in ("outbox", "idempotent"):
                raise ValueError(f"unknown switch {name!r}: the switches are outbox and idempotent")
            for p in self.participants:
                setattr(p, name, value)
        return self


def order_flow(*, stock: dict | None = None, payment_failure_rate: float = 0.0,
               outbox: bool = True, idempotent: bool = True, work_time=None,
               broker: Broker | None = None) -> OrderFlow:
    """Build the choreographed order saga (add it with ``.add_to(system)``).

    ``stock`` maps items to quantities (default 100 books); ``payment_failure_rate``
    makes payments fail at random (cards marked ``"declined"`` always fail);
    ``outbox`` and ``idempotent`` are set on every participant; ``work_time`` is each
    participant's work time; ``broker`` replaces the default ``Broker()``.
    """
    switches = {"outbox": outbox, "idempotent": idempotent, "work_time": work_time}
    return OrderFlow(broker if broker is not None else Broker(),
                     order_service(**switches), inventory_service(stock, **switches),
                     payment_service(payment_failure_rate, **switches), shipping_service(**switches))
