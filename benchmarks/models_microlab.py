"""The order saga written with microlab's core API, as a learner would write it.

Service subclasses with ``on_<Type>`` handlers, ``System(seed, latency=Exponential(...))``
and the trace on (unless a benchmark turns it off to measure what tracing costs).

A deliberate copy of the order saga, not :data:`microlab.flows.ORDER` (the course's
source, which the scenarios build): a kernel benchmark must run the SimPy and heapq
models' saga line for line, the same messages and the same random draws in the same
order (:meth:`benchmarks.saga.Outcome.same_run_as` checks it), so that the timings
compare kernels and nothing else. The scenarios' saga adds an owner, a broker or an
orchestrator, retries and compensation, which the SimPy model does not have.
"""

from __future__ import annotations

import contextlib

from microlab import Exponential, Service, System

from .saga import Load, Outcome


class OrderSource(Service):
    """Places ``load.orders`` orders at exponential intervals; ``start(n)`` begins order n.

    The next arrival is drawn before the order's first message is sent: that keeps the
    order of random draws identical to the SimPy and heapq versions of the saga.
    """

    def __init__(self, name: str, load: Load):
        super().__init__(name)
        self.load = load
        self.placed = 0
        self.completed = 0

    def on_start(self):
        self.after(self.random.expovariate(1.0 / self.load.mean_interarrival), self.place_order)

    def place_order(self):
        """Schedule the next arrival (if any is left), then start this order."""
        self.placed += 1
        if self.placed < self.load.orders:
            self.after(self.random.expovariate(1.0 / self.load.mean_interarrival), self.place_order)
        self.start(self.placed)

    def start(self, n: int):
        """Send the first message of order ``n``."""
        raise NotImplementedError


class Orchestrator(OrderSource):
    """Drives each order: payment, then inventory, then shipping, a command and a reply each."""

    def __init__(self, load: Load):
        super().__init__("orchestrator", load)

    def start(self, n):
        self.send("payment", "Charge", {"order": n}, correlation=f"order-{n}")

    def on_Charged(self, msg):
        self.send("inventory", "Reserve", msg.payload)

    def on_Reserved(self, msg):
        self.send("shipping", "Ship", msg.payload)

    def on_Shipped(self, msg):
        self.completed += 1


class Payment(Service):
    """Charges the order and replies."""

    def on_Charge(self, msg):
        self.reply(msg, "Charged", msg.payload)


class Inventory(Service):
    """Reserves stock and replies."""

    def on_Reserve(self, msg):
        self.reply(msg, "Reserved", msg.payload)


class Shipping(Service):
    """Ships the order and replies."""

    def on_Ship(self, msg):
        self.reply(msg, "Shipped", msg.payload)


class Orders(OrderSource):
    """Announces each new order with an OrderPlaced event to payment."""

    def __init__(self, load: Load):
        super().__init__("orders", load)

    def start(self, n):
        self.emit("payment", "OrderPlaced", {"order": n}, correlation=f"order-{n}")


class ReactivePayment(Service):
    """On OrderPlaced, charges and announces PaymentDone to inventory."""

    service_name = "payment"

    def on_OrderPlaced(self, msg):
        self.emit("inventory", "PaymentDone", msg.payload)


class ReactiveInventory(Service):
    """On PaymentDone, reserves and announces Reserved to shipping."""

    service_name = "inventory"

    def on_PaymentDone(self, msg):
        self.emit("shipping", "Reserved", msg.payload)


class ReactiveShipping(Service):
    """On Reserved, ships: the order is complete."""

    service_name = "shipping"

    def __init__(self):
        super().__init__()
        self.completed = 0

    def on_Reserved(self, msg):
        self.completed += 1


def build(pattern: str, load: Load, trace: bool = True) -> System:
    """A ready-to-run system for ``pattern`` ("orchestration" or "choreography")."""
    system = System(seed=load.seed, latency=Exponential(load.mean_latency), trace=trace,
                    max_events=10 * load.orders + 1_000)
    if pattern == "orchestration":
        system.add(Orchestrator(load), Payment(), Inventory(), Shipping())
    elif pattern == "choreography":
        system.add(Orders(load), ReactivePayment(), ReactiveInventory(), ReactiveShipping())
    else:
        raise ValueError(f"pattern must be 'orchestration' or 'choreography', got {pattern!r}")
    return system


def outcome(pattern: str, system: System) -> Outcome:
    """Completed orders, messages sent and the final clock of a finished run."""
    finisher = system["orchestrator"] if pattern == "orchestration" else system["shipping"]
    # Message ids are numbered from 1 by the system, so the last id is the count sent;
    # counting SEND records would only work with the trace on.
    return Outcome(finisher.completed, system._ids, system.now)


def run(pattern: str, load: Load, trace: bool = True, pure: bool = False) -> Outcome:
    """Build and run the saga; return what it produced (``pure``: on the pure-Python
    path even when the compiled one is built, see :mod:`microlab.hotpath`)."""
    if pure:
        # Imported here: benchmarks.compare_core rebuilds this module on an older microlab
        # (its "from microlab import" lines), which may have no hotpath; it never asks for pure.
        from microlab.hotpath import pure_python
    with pure_python() if pure else contextlib.nullcontext():
        system = build(pattern, load, trace)
        system.run()
    return outcome(pattern, system)
