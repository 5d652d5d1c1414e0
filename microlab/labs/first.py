"""A first widget: re-run notebook 00's two-service exchange with another latency or seed.

One call in a notebook cell, with the learner's own service classes::

    from microlab import labs
    labs.first_exchange(Ping, Pong)

Two sliders, "latency (ms)" (the mean of an exponential network latency) and "seed",
re-run the exchange and redraw its sequence diagram; the message line says how long the
exchange took and the trace's digest, so the learner sees that the same seed gives the
same run and another seed another one. It is the smallest lab of the course: its job is
to let a learner try a widget before chapter 01.
"""

from __future__ import annotations

import ipywidgets as widgets

from .. import viz
from ..distributions import Exponential
from ..scenarios import KnobError
from ..services import Service
from ..system import System
from .base import Lab

#: The exchange notebook 00 runs first: 10 ms mean latency, seed 1.
DEFAULT_LATENCY_MS = 10.0
DEFAULT_SEED = 1


class FirstExchangeLab(Lab):
    """Re-run a small exchange between service classes (see the module docstring).

    ``run`` is the current :class:`~microlab.system.System` (already run); its trace is
    drawn in ``figures["sequence"]``.
    """

    name = "first"
    title = "Your first widget: the same exchange, another latency or seed"
    try_first = ("Drag \"latency (ms)\" and watch the arrows lean; then change the seed and "
                 "come back to 1: the run comes back too.")

    def __init__(self, *service_classes, latency_ms: float = DEFAULT_LATENCY_MS, seed: int = DEFAULT_SEED):
        super().__init__()
        if not service_classes:
            raise TypeError("first_exchange needs the service classes to run, "
                            "e.g. labs.first_exchange(Ping, Pong)")
        for cls in service_classes:
            if not (isinstance(cls, type) and issubclass(cls, Service)):
                raise TypeError(f"first_exchange takes service classes (subclasses of Service), "
                                f"got {cls!r}; pass the class itself: Ping, not Ping()")
        self.service_classes = service_classes
        c = self.controls
        c["latency_ms"] = widgets.FloatSlider(value=latency_ms, min=1.0, max=100.0, step=1.0,
                                              description="latency (ms)", continuous_update=False,
                                              style={"description_width": "initial"},
                                              tooltip="mean time a message takes on the network")
        c["seed"] = widgets.IntSlider(value=seed, min=1, max=20, description="seed", continuous_update=False)
        self.figure("sequence", height=300)
        self.watch("latency_ms", "seed")

    def refresh(self) -> None:
        """Build a fresh system with the sliders' latency and seed, run it, redraw."""
        latency_ms, seed = self.controls["latency_ms"].value, self.controls["seed"].value
        if not latency_ms > 0:
            raise KnobError(f"latency (ms) must be positive, got {latency_ms!r}")
        system = System(seed=seed, latency=Exponential(latency_ms / 1000.0))
        system.add(*(cls() for cls in self.service_classes))
        system.run(max_events=10_000)
        self.run = system
        sent = system.conservation()
        self.figure("sequence", viz.sequence_diagram(
            system, title=f"The exchange at {latency_ms:g} ms mean latency, seed {seed}", height=300))
        self.say(f"{sent.sent} messages, the last one handled at t={system.now * 1000:.0f} ms; "
                 f"trace digest {system.trace.digest()[:12]} (same seed, same digest)")


def first_exchange(*service_classes, latency_ms: float = DEFAULT_LATENCY_MS,
                   seed: int = DEFAULT_SEED) -> FirstExchangeLab:
    """Show the lab for ``service_classes`` (e.g. ``first_exchange(Ping, Pong)``), already run once."""
    lab = FirstExchangeLab(*service_classes, latency_ms=latency_ms, seed=seed)
    lab.update()
    return lab
