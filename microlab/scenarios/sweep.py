"""A load sweep: run a scenario at increasing arrival rates, under both patterns.

Each row says how many transactions per second went in (``rate``), how many came
out (``throughput``) and how long they took (``p50``, ``p95``). Where throughput stops
following the rate and latency shoots up, that pattern has saturated: its busiest
component (the orchestrator, a service, the broker) cannot keep up.
"""

from __future__ import annotations

import math

from ..modules import callable_module
from ..orchestration.pollstats import poll_summary, queue_waits
from .knobs import PATTERNS


def sweep(flow, rates, patterns=PATTERNS, *, progress=None, orders: int = 200, **knobs) -> list[dict]:
    """Run ``flow`` at each rate in ``rates`` under each pattern; one row per run.

    ``patterns`` defaults to the two the course compares; pass
    ``scenarios.ALL_PATTERNS`` to add point-to-point choreography.

    Rows: ``{"pattern", "rate", "throughput", "p50", "p95", "completed", "orders",
    "busiest", "utilization", "task_queue", "queue_wait"}`` where ``busiest`` names the
    most utilised service, ``task_queue`` is the longest task queue a poll saw (0 unless
    workers poll, ``dispatch="poll"``) and ``queue_wait`` the mean time a task waited in
    its queue for a poll (s).
    ``progress(done, total)`` is called after each run (a lab's progress bar). A
    KeyboardInterrupt (the notebook's stop button) ends the sweep early and returns the
    rows measured so far.
    """
    from . import run  # late import: the package imports this module

    rates = list(rates)
    if not rates or any(not isinstance(r, (int, float)) or r <= 0 for r in rates):
        raise ValueError(f"rates must be a non-empty list of positive numbers, got {rates!r}")
    rows: list[dict] = []
    total = len(rates) * len(patterns)
    try:
        for pattern in patterns:
            for rate in rates:
                result = run(flow, pattern, orders=orders, arrival_rate=rate, **knobs)
                m = result.metrics
                util = result.utilization()
                busiest = max(sorted(util), key=lambda name: util[name]) if util else None
                rows.append({
                    "pattern": pattern, "rate": rate, "throughput": m["throughput"],
                    "p50": m["latency_p50"], "p95": m["latency_p95"], "completed": m["completed"],
                    "orders": orders, "busiest": busiest,
                    "utilization": util.get(busiest, math.nan) if busiest else math.nan,
                    **_queueing(result.trace),
                })
                if progress is not None:
                    progress(len(rows), total)
    except KeyboardInterrupt:
        pass
    return rows


def _queueing(trace) -> dict:
    # Polling's queueing: the server's task queues, and each task's wait for a poll.
    polls = poll_summary(trace).values()
    waits = [w for *_, w in queue_waits(trace)]
    return {"task_queue": max((p.max_queue for p in polls), default=0),
            "queue_wait": sum(waits) / len(waits) if waits else 0.0}


# `from microlab.scenarios import sweep` gives this module, which calls sweep(): see microlab.modules.
callable_module(__name__, sweep)
