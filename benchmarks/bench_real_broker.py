"""Simulated against real: the same choreographed order saga in the simulator and on NATS JetStream.

Same flow, same orders (the simulator's arrival generator, same seed), same switches
(outbox and idempotency on), no faults. Printed side by side: latency percentiles,
messages and hops per order, and what each message is. Without ``nats-server`` the
section prints one row saying how to enable it.
"""

from __future__ import annotations

from collections import Counter

from microlab import metrics, scenarios

from .table import Table


def run(options) -> list[Table]:
    """One real run and one simulated run of the order saga; their figures side by side."""
    from microlab.real.broker import nats_available, run_choreography

    orders = 3 if options.quick else 40
    rate = 5.0
    title = (f"real-broker: the choreographed order saga, {orders} orders at {rate:g}/s, seed {options.seed}, "
             "simulated vs on NATS JetStream (one process per service)")
    table = Table(title, ["figure", "simulated", "real (NATS)", "real / simulated"])
    if not nats_available():
        table.columns = ["section", "status"]
        table.add("real-broker", "skipped: install nats-server (apt-get install nats-server) and nats-py")
        return [table]
    sim = scenarios.order_saga("choreography", orders=orders, arrival_rate=rate, seed=options.seed)
    real = run_choreography("order", orders=orders, arrival_rate=rate, seed=options.seed, timeout=120)
    s_lat = metrics.percentiles(sim.latencies)
    r_lat = metrics.percentiles(real.latencies)
    for p in ("p50", "p90", "p95", "p99"):
        table.add(f"latency {p} (ms)", s_lat[p] * 1000, r_lat[p] * 1000, _ratio(r_lat[p], s_lat[p]))
    sm, rm = sim.metrics, real.metrics
    table.add("messages per order", sm["messages_per_transaction"], rm["messages_per_transaction"],
              _ratio(rm["messages_per_transaction"], sm["messages_per_transaction"]))
    table.add("hops per order (longest causation chain)", sm["hops_per_transaction"], rm["hops_per_transaction"],
              _ratio(rm["hops_per_transaction"], sm["hops_per_transaction"]))
    for label, count in _by_kind(sim.trace, orders).items():
        table.add(f"  of which {label} per order", count, _by_kind(real.trace, orders).get(label, 0.0), "")
    table.add("completed", sm["completed"], rm["completed"], "")
    table.add("verdict", "consistent" if sim.checks.ok else "NOT consistent",
              "consistent" if real.checks.ok else "NOT consistent", "")
    table.notes.append(f"Real run: {real.system.wall_time:.1f} s wall clock for the whole run (processes "
                       "started, orders placed, settled, processes stopped); simulated: "
                       f"{sim.metrics['sim_time']:.2f} simulated seconds.")
    table.notes.append("Latency is from the client's send of PlaceOrder to the order service's "
                       "'complete' effect, in both. See benchmarks/README.md for why they differ.")
    return [table]


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _by_kind(trace, orders: int) -> dict:
    """Messages per order by role: commands, publishes, deliveries, acks, confirms."""
    counts: Counter = Counter()
    for m in trace.messages().values():
        if m.type.startswith("Ack:"):
            counts["acks"] += 1
        elif m.type.startswith("Confirm:"):
            counts["publish confirms"] += 1
        elif m.kind == "command":
            counts["commands"] += 1
        elif m.source == "broker":
            counts["deliveries"] += 1
        else:
            counts["publishes"] += 1
    return {k: counts[k] / orders for k in ("commands", "publishes", "deliveries", "acks", "publish confirms")}
