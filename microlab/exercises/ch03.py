"""Checks for the exercises of notebook 03, "Choreography in depth".

- :func:`check_shipping`: a shipping :class:`~microlab.choreography.Participant`,
  written by the learner, dropped into the choreographed order flow of
  :mod:`microlab.choreography.examples` in place of the shipped one; it must react to
  ``PaymentCompleted``, ship once, and publish ``OrderShipped``, also when the broker
  delivers the same event twice;
- :func:`check_unconsumed`: which events of :func:`loyalty_system` nobody consumes
  (judged by :func:`~microlab.choreography.describe`);
- :func:`check_double_charge_plan`: a :class:`~microlab.faults.FaultPlan` under which
  the choreographed order saga charges an order twice when consumers are not
  idempotent, and stays consistent when they are.
"""

from __future__ import annotations

from collections import Counter

from .. import scenarios
from ..choreography import Participant, describe, examples
from ..distributions import Exponential
from ..faults import FaultPlan
from ..system import System
from .feedback import Hint, checker

#: Orders placed by :func:`check_shipping`: (correlation, card); a declined card is rejected.
SHIPPING_ORDERS = (("order-1", "ok"), ("order-2", "declined"), ("order-3", "ok"))


def _shipping_run(factory, *, duplicate: bool):
    system = System(seed=2, latency=Exponential(0.01), warn_on_failure=False)
    flow = examples.order_flow()
    shipping = factory()
    if not isinstance(shipping, Participant):
        raise Hint(f"your function returned {shipping!r}; it must return the Participant it built "
                   "(end it with: return shipping)")
    taken = {s.name for s in flow.services if s is not flow.shipping}
    if shipping.name in taken:
        raise Hint(f"your participant is called {shipping.name!r}, like another service of the flow; "
                   "call it 'shipping'")
    flow.shipping = shipping
    flow.add_to(system)
    if duplicate:
        FaultPlan().duplicate(destination=shipping.name, types=["PaymentCompleted"]).apply(system)
    for i, (order, card) in enumerate(SHIPPING_ORDERS):
        flow.place(system, order, card=card, at=i * 0.2)
    system.run(max_events=100_000)
    return system, flow, shipping


@checker("Exercise 3.1: the shipping service")
def check_shipping(make_shipping) -> str:
    """Run the order flow with ``make_shipping()`` as its shipping service (see the module doc)."""
    if make_shipping is ... or make_shipping is None:
        raise Hint("write the function shipping_service() above and pass it: ch03.check_shipping(shipping_service)")
    if isinstance(make_shipping, Participant):
        raise Hint("pass the function that builds the participant (shipping_service), not the participant: "
                   "the check builds a fresh one for each of its runs")
    if not callable(make_shipping):
        raise Hint(f"pass a function that returns your Participant, got {make_shipping!r}")
    system, flow, shipping = _shipping_run(make_shipping, duplicate=False)
    if "PaymentCompleted" not in shipping.subscribes:
        reacts = ", ".join(shipping.subscribes) or "nothing"
        raise Hint(f"your shipping service reacts to {reacts}. Shipping must react to PaymentCompleted, the "
                   "event payment publishes once the order is paid: @shipping.on('PaymentCompleted', ...)")
    if system.failures:
        raise Hint(f"your reaction failed: {system.failures[0].error}")
    ships = Counter(r.correlation for r in system.trace.of_kind("effect")
                    if r.service == shipping.name and r.detail.get("effect") == "ship")
    for order, card in SHIPPING_ORDERS:
        if card == "declined":
            if ships[order]:
                raise Hint(f"{order} was never paid (its card was declined) but was shipped: react to "
                           "PaymentCompleted only, not to the order being placed")
            continue
        if not ships[order]:
            raise Hint(f"{order} was paid, but your reaction recorded no 'ship' effect; call "
                       "ctx.effect('ship') when you ship")
        if flow.status(order) != "completed":
            raise Hint(f"{order} was shipped but the order service still says {flow.status(order)!r}: it "
                       "completes an order when it hears OrderShipped. Declare publishes=('OrderShipped',) "
                       "and call ctx.publish('OrderShipped', event.payload)")
    system, flow, shipping = _shipping_run(make_shipping, duplicate=True)
    twice = sorted(o for o, n in Counter(r.correlation for r in system.trace.of_kind("effect")
                                         if r.service == shipping.name and r.detail.get("effect") == "ship").items()
                   if n > 1)
    if twice:
        raise Hint(f"when the broker delivers PaymentCompleted twice (it may: delivery is at least once), "
                   f"{', '.join(twice)} shipped twice. Leave the participant idempotent (idempotent=True, the "
                   "default): it remembers the events it has processed")
    return ("shipping reacts to PaymentCompleted, ships once even when the event arrives twice, and its "
            "OrderShipped completes the order. Nobody told it to: it listens.")


def loyalty_system() -> System:
    """The order flow plus a loyalty service that awards points on OrderShipped (not run)."""
    system = System(seed=1)
    flow = examples.order_flow().add_to(system)
    loyalty = Participant("loyalty")

    @loyalty.on("OrderShipped", publishes=("PointsAwarded",))
    def award(event, ctx):
        ctx.effect("award", points=int(event.payload["amount"]))
        ctx.publish("PointsAwarded", {"points": int(event.payload["amount"])})

    analytics = Participant("analytics")

    @analytics.on("OrderCancelled")
    def count(event, ctx):
        ctx.state["cancelled"] = ctx.state.get("cancelled", 0) + 1

    system.add(loyalty, analytics)
    del flow  # the participants live in the system
    return system


@checker("Exercise 3.2: events nobody consumes")
def check_unconsumed(answer) -> str:
    """Is ``answer`` (an event name, or a list of them) every event of :func:`loyalty_system` nobody consumes?"""
    if answer is ... or answer is None:
        raise Hint("replace the ... with the event name (a string), or a list of names if there are several")
    given = [answer] if isinstance(answer, str) else answer
    if not isinstance(given, (list, tuple, set)) or not all(isinstance(e, str) for e in given):
        raise Hint(f"answer with an event name or a list of event names, got {answer!r}")
    description = describe(loyalty_system())
    truth = sorted(w.event for w in description.warnings if w.kind == "unconsumed")
    events = description.to_dict()["events"]
    for e in given:
        if e not in events:
            raise Hint(f"{e!r} is not an event of this system; print(describe(system)) lists them all")
    if sorted(set(given)) != truth:
        extra = sorted(set(given) - set(truth))
        if extra:
            raise Hint(f"{', '.join(extra)}: somebody does consume that. Look for an event whose line in the "
                       "description ends with '-> (nobody)'")
        raise Hint("there is one more; look at the warnings at the end of print(describe(system))")
    return (f"yes: {', '.join(truth)}. Nothing fails at run time: the event is published, the broker "
            "delivers it to nobody, and nobody notices. Only a description of the whole system shows it.")


@checker("Exercise 3.3: a fault plan that charges twice")
def check_double_charge_plan(plan) -> str:
    """Does ``plan`` make the non-idempotent choreography charge twice, and the idempotent one not?"""
    if plan is ... or plan is None:
        raise Hint("replace the ... with a FaultPlan, e.g. FaultPlan().duplicate(...)")
    if not isinstance(plan, FaultPlan):
        raise Hint(f"expected a FaultPlan (from microlab.faults import FaultPlan), got {plan!r}")
    if not plan:
        raise Hint("your plan is empty: add a fault, e.g. .duplicate(destination=..., types=[...])")
    knobs = dict(orders=10, seed=1, faults=plan)
    unsafe = scenarios.order_saga("choreography", idempotent=False, **knobs)
    doubles = [v for v in unsafe.checks.by_check().get("effect applied twice", [])
               if "'charge' at payment" in v.explanation]
    if not doubles:
        raise Hint("with idempotency off, no order was charged twice under your plan. Payment charges when "
                   "it receives StockReserved: make the network deliver that event to payment twice, "
                   "FaultPlan().duplicate(destination='payment', types=['StockReserved'])")
    safe = scenarios.order_saga("choreography", idempotent=True, **knobs)
    if not safe.checks.ok:
        raise Hint("your plan charges twice, but it also breaks the protected system (idempotent=True): "
                   f"{safe.checks.violations[0].explanation}. Use a fault that idempotency is meant to absorb: "
                   "a duplicate delivery")
    return (f"{len(doubles)} of 10 orders charged twice with idempotency off; none with it on. The "
            "idempotent consumer remembers each event's id and ignores a second delivery.")
