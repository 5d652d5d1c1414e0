"""The same load, simulated and real: what a real broker's numbers are beside the simulator's.

::

    numbers = real_numbers(orders=20)     # one line, and no failure, without NATS
    numbers.table()

Both runs are the choreographed order saga with the same orders (the simulator's arrival
generator, same seed) and the same switches (outbox and idempotency on), no faults: once
in the simulator, once with every participant its own process over NATS JetStream
(:func:`~microlab.real.broker.run_choreography`). A real run is not deterministic: its
percentiles change from run to run with the machine's load, so compare the shape (which
figures match, which differ and by how much), not the digits.
"""

from __future__ import annotations

import textwrap

from dataclasses import dataclass

from ... import metrics
from .side_by_side import MISSING


@dataclass
class RealNumbers:
    """A simulated and a real run of the same load (``real`` is None without NATS)."""

    simulated: object
    real: object | None
    orders: int
    rate: float

    def rows(self) -> list[tuple[str, float, float | None]]:
        """``(figure, simulated, real)`` for the latency percentiles, messages and hops per order."""
        runs = [self.simulated] + ([self.real] if self.real is not None else [])
        lat = [metrics.percentiles(r.latencies) for r in runs]
        out = [(f"latency {p} (ms)", *(v[p] * 1000 for v in lat)) for p in ("p50", "p95")]
        for key, label in (("messages_per_transaction", "messages per order"),
                           ("hops_per_transaction", "hops per order")):
            out.append((label, *(r.metrics[key] for r in runs)))
        return [row if len(row) == 3 else (*row, None) for row in out]

    def table(self) -> None:
        """Print the figures side by side, with the real run's verdict and wall clock."""
        print(f"{self.orders} orders at {self.rate:g}/s, choreography (outbox and idempotency on)")
        print(f"{'':<20}{'simulated':>11}{'real (NATS)':>13}")
        for label, sim, real in self.rows():
            shown = "not run" if real is None else f"{real:.1f}"
            print(f"{label:<20}{sim:>11.1f}{shown:>13}")
        if self.real is None:
            print(f"real: not run. {MISSING}")
            return
        # Wrapped at 100 columns: a longer line wraps mid-word at JupyterLab's edge.
        print(textwrap.fill(f"real run: {self.real.system.wall_time:.1f} s of wall clock; "
                            f"{self.real.checks.verdict()}", 100))


def real_numbers(orders: int = 20, rate: float = 5.0, *, seed: int = 1, timeout: float = 60.0) -> RealNumbers:
    """Run the choreographed order saga simulated and (when NATS is installed) real, with the same load."""
    from ...scenarios import order_saga
    from . import nats_available
    from .run import run_choreography

    simulated = order_saga("choreography", orders=orders, arrival_rate=rate, seed=seed)
    real = None
    if nats_available():
        real = run_choreography("order", orders=orders, arrival_rate=rate, seed=seed, timeout=timeout)
    else:
        print(MISSING)
    return RealNumbers(simulated, real, orders, rate)
