"""The same kill, simulated and real, side by side: what a notebook shows in one call.

::

    demo = kill_side_by_side("payment", at=0.4)   # one line, and no failure, without NATS
    demo.verdicts()
    demo.sequence_diagram("real")

Both runs are the choreographed order saga with the same orders (same seed) and the
same fault: in the simulator a crash of ``service`` at ``at`` for ``restart_after``
seconds; on NATS JetStream a kill -9 of its process at ``at`` seconds after the first
order, restarted ``restart_after`` seconds later.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...choreography.kinds import DUPLICATE_IGNORED, REDELIVER
from ...faults import FaultPlan
from ...trace import LOST

MISSING = "NATS is not available here (apt-get install nats-server; pip install nats-py): only the simulated run."


@dataclass
class SideBySide:
    """A simulated and a real run of one fault (``real`` is None without NATS)."""

    simulated: object
    real: object | None
    service: str
    at: float
    restart_after: float

    def verdicts(self) -> None:
        """Print the checker's verdict on each run, and what the kill did for real."""
        print(f"simulated: {self.simulated.checks.verdict()}")
        if self.real is None:
            print(f"real: not run. {MISSING}")
            return
        t = self.real.trace
        print(f"real:      {self.real.checks.verdict()}")
        print(f"real messages: {t.conservation()}; {len(t.of_kind(LOST))} lost in the kill, "
              f"{len(t.of_kind(REDELIVER))} redelivered, {len(t.of_kind(DUPLICATE_IGNORED))} duplicates ignored; "
              f"{self.real.system.wall_time:.1f} s of wall clock")

    def affected(self, which: str = "real") -> str:
        """The first order whose records show the kill (a loss or a redelivery), else the first
        one in progress while the service was down, else the first order."""
        run = self._run(which)
        if run is None:
            return "order-1"
        for rec in run.trace.of_kind(LOST, REDELIVER, "dead_letter"):
            if rec.correlation is not None:
                return rec.correlation
        # The down window as it happened (a real kill lands a few ms after its planned time).
        down = [r.time for r in run.trace.of_kind("crash", "restart") if r.service == self.service]
        start = down[0] if down else self.at
        end = down[1] if len(down) > 1 else start + self.restart_after
        for corr, span in run.spans.items():
            if span.start <= end and (span.end is None or span.end >= start):
                return corr
        return run.correlations[0]

    def sequence_diagram(self, which: str = "real", correlation: str | None = None):
        """The sequence diagram of the affected order in one run (None, said in one line, without NATS)."""
        from ... import viz

        run = self._run(which)
        if run is None:
            print(MISSING)
            return None
        corr = correlation or self.affected(which)
        return viz.sequence_diagram(run.trace, correlation=corr, clock="real" if which == "real" else "simulated",
                                    title=f"{which}: {corr}, {self.service} killed at t={self.at:g} s")

    def _run(self, which: str):
        if which not in ("real", "simulated"):
            raise ValueError(f"which is 'real' or 'simulated', got {which!r}")
        return self.real if which == "real" else self.simulated


def kill_side_by_side(service: str = "payment", at: float = 0.4, restart_after: float = 0.6, *,
                      orders: int = 6, seed: int = 1, timeout: float = 60.0) -> SideBySide:
    """Run the order saga simulated and (when NATS is installed) real, with the same kill."""
    from ...scenarios import order_saga
    from . import nats_available
    from .faults import RealPlan
    from .run import run_choreography

    simulated = order_saga("choreography", orders=orders, seed=seed,
                           faults=FaultPlan().crash(service, at=at, duration=restart_after))
    real = None
    if nats_available():
        real = run_choreography("order", orders=orders, seed=seed, timeout=timeout,
                                faults=RealPlan().kill(service, at, restart_after))
    else:
        print(MISSING)
    return SideBySide(simulated, real, service, at, restart_after)
