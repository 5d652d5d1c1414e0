"""Benchmark: how long the sequence diagram takes to build and serialise, and how big it is.

For 100, 1,000 and 10,000 messages it builds a run of that many messages (orders that
go client -> orchestrator -> payment and back, with a few drops and duplicates so that
every arrow category is exercised), then times ``sequence_diagram(trace)`` and
``fig.to_json()`` separately, ``repeats`` times, and reports medians. The target: at
1,000 messages, build plus serialisation under 20 ms (median).

Run it alone with ``python benchmarks/bench_viz.py``; the benchmark runner imports
:func:`run`. This is a measurement, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings

from microlab import Duplicate, Drop, Exponential, Service, System

#: Messages per order in the benchmark's run (order, charge, charged, done).
MESSAGES_PER_ORDER = 4


class _Orchestrator(Service):
    service_name = "orchestrator"

    def on_Order(self, msg):
        self.send("payment", "Charge", {"amount": msg.payload["amount"]})

    def on_Charged(self, msg):
        self.send("client", "OrderDone", {"amount": msg.payload["amount"]})


class _Payment(Service):
    service_name = "payment"

    def on_Charge(self, msg):
        self.reply(msg, "Charged", msg.payload)


def make_run(messages: int, seed: int = 1) -> System:
    """A finished run of about ``messages`` messages (orders arrive every 2 ms)."""
    system = System(seed=seed, latency=Exponential(0.005), warn_on_failure=False)
    system.add(_Orchestrator(), _Payment())
    system.network.add_fault(Drop(rate=0.01, types=("Charged",)))
    system.network.add_fault(Duplicate(rate=0.01, types=("Charge",)))
    for i in range(max(1, messages // MESSAGES_PER_ORDER)):
        system.inject("orchestrator", "Order", {"amount": 10 + i % 90},
                      correlation=f"order-{i}", at=i * 0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system.run()
    return system


def _median_ms(samples) -> float:
    return round(statistics.median(samples) * 1000, 2)


def run(sizes=(100, 1000, 10000), repeats: int = 7) -> list[dict]:
    """Time the sequence diagram at each size; one row per size.

    Row keys: ``messages`` (copies drawn), ``renderer`` (``svg`` or ``webgl``),
    ``build_ms``, ``json_ms``, ``total_ms`` (medians over ``repeats``), ``json_kb``
    (size of ``fig.to_json()``), ``traces`` (plotly traces in the figure).
    """
    from microlab.viz.data import flights
    from microlab.viz.sequence import sequence_diagram

    rows = []
    for size in sizes:
        system = make_run(size)
        copies = len(flights(system.trace))
        sequence_diagram(system.trace).to_json()  # warm caches (imports, validators)
        builds, dumps, totals = [], [], []
        text = ""
        for _ in range(repeats):
            t0 = time.perf_counter()
            fig = sequence_diagram(system.trace)
            t1 = time.perf_counter()
            text = fig.to_json()
            t2 = time.perf_counter()
            builds.append(t1 - t0)
            dumps.append(t2 - t1)
            totals.append(t2 - t0)
        rows.append({
            "messages": copies,
            "renderer": "webgl" if fig.data and fig.data[0].type == "scattergl" else "svg",
            "build_ms": _median_ms(builds),
            "json_ms": _median_ms(dumps),
            "total_ms": _median_ms(totals),
            "json_kb": round(len(text) / 1024, 1),
            "traces": len(fig.data),
        })
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table."""
    head = f"{'messages':>9} {'renderer':>8} {'build ms':>9} {'json ms':>8} {'total ms':>9} {'json kB':>8} {'traces':>6}"
    lines = [head]
    for r in rows:
        lines.append(f"{r['messages']:>9,} {r['renderer']:>8} {r['build_ms']:>9.2f} {r['json_ms']:>8.2f} "
                     f"{r['total_ms']:>9.2f} {r['json_kb']:>8.1f} {r['traces']:>6}")
    return "\n".join(lines)


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print("sequence diagram: build (sequence_diagram) and serialise (fig.to_json), medians")
    print(format_table(run(repeats=repeats)))
