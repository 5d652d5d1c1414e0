"""The order saga in idiomatic SimPy, written two ways.

- **A process per order** (``orchestration``, ``choreography``): a message's trip
  across the network is ``yield env.timeout(latency)``; the services answer at once,
  so an order is a process that waits out each hop in turn. This is the cheapest way
  to write the saga in SimPy. It has no services, mailboxes or envelopes, and no trace.
- **A Store per service** (``*_stores``): every service is a process that takes
  messages from its mailbox (a ``simpy.Store``) and answers; the network puts a
  message in the destination's Store when its latency has elapsed. This is the
  structural twin of microlab's model (services, mailboxes, messages).

Both draw from one ``random.Random(seed)`` in the same order as microlab (see
:mod:`benchmarks.saga`), so they simulate exactly the same run.
"""

from __future__ import annotations

import random

import simpy

from .saga import Load, Outcome

#: What each service does with each message type: (next destination, next type), or
#: None when the order is complete.
ROUTES = {
    "orchestration": {
        "orchestrator": {"Charged": ("inventory", "Reserve"), "Reserved": ("shipping", "Ship"),
                         "Shipped": None},
        "payment": {"Charge": ("orchestrator", "Charged")},
        "inventory": {"Reserve": ("orchestrator", "Reserved")},
        "shipping": {"Ship": ("orchestrator", "Shipped")},
    },
    "choreography": {
        "payment": {"OrderPlaced": ("inventory", "PaymentDone")},
        "inventory": {"PaymentDone": ("shipping", "Reserved")},
        "shipping": {"Reserved": None},
    },
}

#: The first message of every order.
FIRST = {"orchestration": ("payment", "Charge"), "choreography": ("payment", "OrderPlaced")}

HOPS = {"orchestration": 6, "choreography": 3}


def _arrivals(env, rng, load, order):
    """Start process ``order(n)`` for n = 1..orders at exponential intervals."""
    rate = 1.0 / load.mean_interarrival
    for n in range(1, load.orders + 1):
        yield env.timeout(rng.expovariate(rate))
        env.process(order(n))


def per_order(pattern: str, load: Load) -> Outcome:
    """The saga as one process per order, a timeout per message."""
    env = simpy.Environment()
    rng = random.Random(load.seed)
    rate = 1.0 / load.mean_latency
    hops = HOPS[pattern]
    tally = [0, 0]  # completed orders, messages

    def order(n):
        for _ in range(hops):
            tally[1] += 1
            yield env.timeout(rng.expovariate(rate))
        tally[0] += 1

    env.process(_arrivals(env, rng, load, order))
    env.run()
    return Outcome(tally[0], tally[1], env.now)


def per_service(pattern: str, load: Load) -> Outcome:
    """The saga as a mailbox Store and a serving process per service."""
    env = simpy.Environment()
    rng = random.Random(load.seed)
    rate = 1.0 / load.mean_latency
    routes = ROUTES[pattern]
    mailboxes = {name: simpy.Store(env) for name in routes}
    tally = [0, 0]  # completed orders, messages

    def send(to, type, order):
        tally[1] += 1
        wire = env.timeout(rng.expovariate(rate), value=(type, order))
        wire.callbacks.append(lambda ev: mailboxes[to].put(ev.value))

    def service(name):
        box, table = mailboxes[name], routes[name]
        while True:
            type, order = yield box.get()
            step = table[type]
            if step is None:
                tally[0] += 1
            else:
                send(step[0], step[1], order)

    def start(n):
        # A process rather than a plain call, so that the next arrival is drawn before
        # this order's first latency, as in the other models. It ends at once.
        send(*FIRST[pattern], n)
        yield from ()

    for name in routes:
        env.process(service(name))
    env.process(_arrivals(env, rng, load, start))
    env.run()
    return Outcome(tally[0], tally[1], env.now)


def orchestration(load: Load) -> Outcome:
    """orchestrator -> payment -> orchestrator -> ... -> orchestrator: 6 timeouts per order."""
    return per_order("orchestration", load)


def choreography(load: Load) -> Outcome:
    """OrderPlaced -> payment -> PaymentDone -> inventory -> Reserved -> shipping: 3 per order."""
    return per_order("choreography", load)


def orchestration_stores(load: Load) -> Outcome:
    """The orchestration saga with a Store and a process per service."""
    return per_service("orchestration", load)


def choreography_stores(load: Load) -> Outcome:
    """The choreography saga with a Store and a process per service."""
    return per_service("choreography", load)
