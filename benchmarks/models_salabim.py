"""The order saga in idiomatic salabim: a component per order.

salabim's own way to write a process is a :class:`salabim.Component` whose ``process``
method holds for each delay; since salabim 24 a component runs *yieldless* by default
(``self.hold(d)`` without ``yield``, on greenlets), and that is the form written here.
An order is a component that holds one latency per message, as SimPy's process per
order does (:func:`benchmarks.models_simpy.per_order`); an arrivals component creates
the orders. salabim keeps no trace here (``trace=False``), and its monitors stay as
a component has them by default: that is what a salabim user gets.

The draws come from one ``random.Random(seed)`` in the same order as every other
model (:mod:`benchmarks.saga`), so the run is the same one: ``random_seed=""`` keeps
salabim from reseeding Python's global random generator, which this model never uses.
"""

from __future__ import annotations

import random

import salabim as sim

from .models_simpy import HOPS
from .saga import Load, Outcome


def per_order(pattern: str, load: Load) -> Outcome:
    """The saga as one yieldless component per order, a ``hold`` per message."""
    env = sim.Environment(trace=False, random_seed="", yieldless=True)
    rng = random.Random(load.seed)
    latency = 1.0 / load.mean_latency
    arrival = 1.0 / load.mean_interarrival
    hops = HOPS[pattern]
    tally = [0, 0]  # completed orders, messages

    class Order(sim.Component):
        def process(self):
            for _ in range(hops):
                tally[1] += 1
                self.hold(rng.expovariate(latency))
            tally[0] += 1

    class Arrivals(sim.Component):
        def process(self):
            # The next arrival is drawn before the new order's first latency (the
            # order starts once this component holds), as in the other models.
            for _ in range(load.orders):
                self.hold(rng.expovariate(arrival))
                Order()

    Arrivals()
    env.run()
    return Outcome(tally[0], tally[1], env.now())
