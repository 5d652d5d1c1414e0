"""Polling against push: the same saturation sweep with workers that poll and with pushed commands.

Conductor's workers poll (``dispatch="poll"``): a scheduled task waits in its type's
queue on the server until a worker asks for it. Under load that queue is where the
backlog grows, and each step pays the wait for a poll. Pushed commands
(``dispatch="push"``) leave at once and queue in the worker's mailbox instead.
:func:`polling_vs_push` runs both on one flow; :func:`format_rows` prints them side by side.
"""

from __future__ import annotations

from .sweep import sweep

#: The two ways a task reaches its worker, in the order the rows list them.
DISPATCHES = ("push", "poll")


def polling_vs_push(flow="order", rates=(5, 20, 40), *, orders: int = 200, **knobs) -> list[dict]:
    """Sweep ``flow`` under orchestration at each rate, pushed and polled; one row per run.

    Rows are :func:`~microlab.scenarios.sweep.sweep`'s with a ``dispatch`` key:
    ``task_queue`` is the longest task queue a poll saw, ``queue_wait`` a task's mean wait
    in its queue (both 0 under push, where nothing waits for a poll).
    """
    if "dispatch" in knobs:
        raise ValueError("polling_vs_push runs both dispatches itself; leave dispatch out")
    rows = []
    for dispatch in DISPATCHES:
        for row in sweep(flow, rates, patterns=("orchestration",), orders=orders, dispatch=dispatch, **knobs):
            rows.append({"dispatch": dispatch, **row})
    return rows


def format_rows(rows: list[dict]) -> str:
    """One line per row: rate in and out, p50, the longest task queue and the wait for a poll."""
    lines = [f"{'dispatch':8} {'orders/s':>8} {'out/s':>6} {'p50 ms':>7} {'task queue':>10} {'poll wait ms':>12}"]
    for r in rows:
        lines.append(f"{r['dispatch']:8} {r['rate']:>8} {r['throughput']:>6.1f} {r['p50'] * 1000:>7.0f} "
                     f"{r['task_queue']:>10} {r['queue_wait'] * 1000:>12.1f}")
    return "\n".join(lines)
