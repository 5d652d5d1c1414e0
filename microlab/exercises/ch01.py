"""Checks for the exercises of notebook 01, "Two ways to collaborate".

- :func:`check_chattier`: which pattern sends more messages per order (a prediction,
  judged against a real run of both patterns);
- :func:`check_conductor`: a hand-written conductor, a plain
  :class:`~microlab.services.Service` that runs the order saga of
  :class:`Inventory` and :class:`Payment` and undoes the reservation when the charge
  is declined;
- :func:`check_busiest`: which service handles the most messages in each pattern.

The toy services of the conductor exercise live here too, so that the notebook cell
holds only the learner's code. They are a deliberate copy of the first two steps of
the order saga (:data:`microlab.flows.ORDER`, the source, whose effect names
``reserve``, ``release`` and ``charge`` they record), written with the core API as
commands and replies: chapter 01 runs before the engines are taught, and the learner's
conductor is a plain Service that sends a command and reads the reply, which the
generated workers (task calls from an orchestrator) would hide.
"""

from __future__ import annotations

from collections import Counter

from .. import scenarios
from ..checks import SagaSpec, Step, check_saga
from ..distributions import Exponential
from ..messages import COMMAND
from ..services import Service
from ..system import System
from ..trace import START
from .feedback import Hint, checker

PATTERNS = scenarios.PATTERNS

#: Orders placed by :func:`check_conductor`: (correlation, amount); 150 is declined.
CONDUCTOR_ORDERS = (("order-1", 30), ("order-2", 150), ("order-3", 45))
#: The payment service declines any amount above this.
CARD_LIMIT = 100


class Inventory(Service):
    """Answers ``Reserve`` with ``Reserved`` and ``Release`` with ``Released``."""

    def on_Reserve(self, msg):
        """Reserve the order's item."""
        self.effect("reserve")
        self.reply(msg, "Reserved", msg.payload)

    def on_Release(self, msg):
        """Give the reserved item back (the compensation of Reserve)."""
        self.effect("release")
        self.reply(msg, "Released", msg.payload)


class Payment(Service):
    """Answers ``Charge`` with ``Charged``, or ``Declined`` above :data:`CARD_LIMIT`."""

    def on_Charge(self, msg):
        """Charge the order's amount, unless the card limit is exceeded."""
        if msg.payload["amount"] > CARD_LIMIT:
            self.reply(msg, "Declined", msg.payload)
            return
        self.effect("charge", amount=msg.payload["amount"])
        self.reply(msg, "Charged", msg.payload)


#: What the checker expects of the conductor's saga.
CONDUCTOR_SAGA = SagaSpec("order", (Step("inventory", "reserve", "release"), Step("payment", "charge")))


def _pattern(answer, what: str) -> str:
    if answer is ... or answer is None:
        raise Hint(f"replace the ... with {what}: 'orchestration' or 'choreography'")
    if not isinstance(answer, str) or answer.strip().lower() not in PATTERNS:
        raise Hint(f"answer with one of the two pattern names, 'orchestration' or 'choreography' "
                   f"(as a string); got {answer!r}")
    return answer.strip().lower()


@checker("Exercise 1.1: which pattern is chattier?")
def check_chattier(answer) -> str:
    """Is ``answer`` the pattern that sends more messages per order? (judged on a real run)."""
    pattern = _pattern(answer, "the pattern that sends more messages per order")
    runs = {p: scenarios.order_saga(p, orders=10, seed=1) for p in PATTERNS}
    per_order = {p: r.metrics["messages_per_transaction"] for p, r in runs.items()}
    truth = max(per_order, key=per_order.get)
    if pattern != truth:
        raise Hint("count again: the lab's table has a row \"messages per transaction\" for each pattern. "
                   "Follow one event in the sequence diagram: where does it go first, and then?",
                   reveal=f"in a run of 10 orders, orchestration sent {per_order['orchestration']:.0f} "
                          f"messages per order and choreography {per_order['choreography']:.0f}. Every event "
                          "goes to the broker, then from the broker to each subscriber: two hops where a "
                          "command takes one, plus an acknowledgement per delivery.")
    return (f"yes: {per_order[truth]:.0f} messages per order against {per_order[_other(truth)]:.0f}. "
            "An event travels publisher -> broker -> each subscriber, and every delivery is acknowledged.")


def _other(pattern: str) -> str:
    return PATTERNS[1 - PATTERNS.index(pattern)]


@checker("Exercise 1.2: a conductor by hand")
def check_conductor(conductor_class) -> str:
    """Run ``conductor_class`` with :class:`Inventory` and :class:`Payment` on three orders.

    A correct conductor reserves, then charges, then records ``complete``; when payment
    answers ``Declined`` it sends ``Release`` to inventory and records ``reject``.
    """
    if conductor_class is ... or conductor_class is None:
        raise Hint("write the class Conductor(Service) in the cell above and pass the class itself: "
                   "ch01.check_conductor(Conductor)")
    if not (isinstance(conductor_class, type) and issubclass(conductor_class, Service)):
        raise Hint(f"pass the class itself (a subclass of Service), not {conductor_class!r}; "
                   "e.g. ch01.check_conductor(Conductor)")
    system = System(seed=1, latency=Exponential(0.01), warn_on_failure=False)
    conductor = conductor_class()
    if conductor.name in ("inventory", "payment", "client"):
        raise Hint(f"your conductor is called {conductor.name!r}, the name of another service; "
                   "give it its own, e.g. service_name = 'conductor'")
    system.add(conductor, Inventory(), Payment())
    for i, (order, amount) in enumerate(CONDUCTOR_ORDERS):
        system.inject(conductor.name, "PlaceOrder", {"order": order, "amount": amount},
                      correlation=order, at=i * 0.1)
    system.run(max_events=10_000)
    if system.failures:
        first = system.failures[0]
        raise Hint(f"a handler failed at {first.service}: {first.error}")
    _only_the_conductor_commands(system, conductor.name)
    report = check_saga(system.trace, CONDUCTOR_SAGA, [o for o, _ in CONDUCTOR_ORDERS])
    for order, amount in CONDUCTOR_ORDERS:
        outcome = report.outcomes[order]
        want = "completed" if amount <= CARD_LIMIT else "compensated"
        if outcome == want:
            continue
        effects = [r.detail["effect"] for r in system.trace.for_correlation(order) if r.kind == "effect"]
        raise Hint(_conductor_hint(order, amount, want, outcome, effects, report))
    return ("your conductor ran two orders to completion and undid the reservation of the declined one. "
            "All the knowledge of the flow (what comes next, what to undo) lives in this one class.")


def _only_the_conductor_commands(system, name: str) -> None:
    for m in system.trace.messages().values():
        if m.kind == COMMAND and m.destination in ("inventory", "payment") and m.source != name:
            raise Hint(f"{m.source} sent {m.type} to {m.destination}: in orchestration only the "
                       f"conductor ({name}) sends commands to the services")


def _conductor_hint(order, amount, want, outcome, effects, report) -> str:
    done = ", ".join(effects) or "no effect at all"
    if "reserve" not in effects:
        return (f"{order} was never reserved (effects: {done}). On PlaceOrder, send a Reserve "
                "command to 'inventory' with the order as payload: self.send('inventory', 'Reserve', msg.payload)")
    if want == "completed":
        if "charge" not in effects:
            return (f"{order} was reserved but never charged. When inventory replies Reserved, send "
                    "Charge to 'payment' with the same payload")
        return (f"{order} was reserved and charged, but nobody concluded it (effects: {done}). When payment "
                "replies Charged, record the conclusion: self.effect('complete')")
    # the declined order
    if "release" not in effects:
        return (f"{order} (amount {amount}) was declined by payment, but its stock was never released "
                f"(effects: {done}). Handle the Declined reply: send Release to 'inventory' (the "
                "compensation) and record self.effect('reject')")
    if "reject" not in effects:
        return (f"{order} was declined and its stock released, but never concluded (effects: {done}). "
                "Record self.effect('reject') when you handle Declined (or Released)")
    why = "; ".join(v.explanation for v in report.violations if v.correlation == order)
    return f"{order} ended {outcome}, not {want}: {why}"


def _busiest(result) -> str:
    counts = Counter(r[2] for r in result.trace.records if r[1] == START and r[2] != "client")
    return max(sorted(counts), key=counts.get)


@checker("Exercise 1.3: the busiest service")
def check_busiest(orchestration=..., choreography=...) -> str:
    """Name the service that handles the most messages under each pattern (judged on a run)."""
    answers = {"orchestration": orchestration, "choreography": choreography}
    for pattern, answer in answers.items():
        if answer is ... or answer is None:
            raise Hint(f"give a service name for {pattern}=..., e.g. {pattern}='payment'")
        if not isinstance(answer, str):
            raise Hint(f"{pattern}= takes a service name as a string, got {answer!r}")
    truth = {}
    for pattern in PATTERNS:
        result = scenarios.order_saga(pattern, orders=20, seed=1)
        truth[pattern] = _busiest(result)
        services = sorted(s for s in result.system.services if s != "client")
        if answers[pattern] not in services:
            raise Hint(f"{answers[pattern]!r} is not a service of the {pattern} run; its services are "
                       f"{', '.join(services)}")
        if answers[pattern] != truth[pattern]:
            raise Hint(f"under {pattern}, {answers[pattern]} is not the busiest. Count who handles a "
                       "message in every step of every order, including any part of the system that "
                       "carries messages for the others.",
                       reveal="draw the run with viz.sequence_diagram(...) and count the arrows that end "
                              "on each lane; the topology leaves out what carries the events.")
    return (f"yes: the {truth['orchestration']} and the {truth['choreography']}. Both patterns have a busy "
            "centre; the difference is what it knows: the orchestrator knows the flow, the broker only topics.")
