"""Simulated against real: the same choreographed order saga in the simulator, on NATS JetStream and on Kafka.

Same flow, same orders (the simulator's arrival generator, same seed), same switches
(outbox and idempotency on), no faults. Printed side by side: latency percentiles,
messages and hops per order, and what each message is. A broker that is not installed
(``nats-server``; Kafka's jars from ``make kafka-jars``) gets a column saying how to
enable it; without either, the section prints one row.
"""

from __future__ import annotations

from collections import Counter

from microlab import metrics, scenarios

from .table import Table

#: The real brokers, how to enable each, and the column each gets.
BACKENDS = (("nats", "NATS", "install nats-server (apt-get install nats-server) and nats-py"),
            ("kafka", "Kafka", "make kafka-jars (Maven, Java 17+) and pip install confluent-kafka"))


def _available(backend: str) -> bool:
    if backend == "kafka":
        from microlab.real.kafka_server import kafka_available

        return kafka_available()
    from microlab.real.broker import nats_available

    return nats_available()


def run(options) -> list[Table]:
    """One simulated run and one real run per installed broker of the order saga, side by side."""
    from microlab.real.broker import run_choreography

    orders = 3 if options.quick else 40
    rate = 5.0
    present = [(b, label) for b, label, _ in BACKENDS if _available(b)]
    title = (f"real-broker: the choreographed order saga, {orders} orders at {rate:g}/s, seed {options.seed}, "
             "simulated vs on NATS JetStream and on Apache Kafka (one process per service)")
    labels = [label for _, label, _ in BACKENDS]
    table = Table(title, ["figure", "simulated", *[f"real ({l})" for l in labels],
                          *[f"{l} / simulated" for l in labels]])
    if not present:
        table.columns = ["section", "status"]
        table.add("real-broker", "skipped: " + "; or ".join(how for _, _, how in BACKENDS))
        return [table]
    sim = scenarios.order_saga("choreography", orders=orders, arrival_rate=rate, seed=options.seed)
    reals = {b: run_choreography("order", orders=orders, arrival_rate=rate, seed=options.seed, timeout=120,
                                 backend=b) for b, _ in present}

    def row(label, s_value, values, ratio=True):
        cells = [values.get(b, "skipped") for b, _, _ in BACKENDS]
        ratios = [_ratio(values[b], s_value) if ratio and b in values else "" for b, _, _ in BACKENDS]
        table.add(label, s_value, *cells, *ratios)

    s_lat = metrics.percentiles(sim.latencies)
    r_lat = {b: metrics.percentiles(r.latencies) for b, r in reals.items()}
    for p in ("p50", "p90", "p95", "p99"):
        row(f"latency {p} (ms)", s_lat[p] * 1000, {b: v[p] * 1000 for b, v in r_lat.items()})
    for key, label in (("messages_per_transaction", "messages per order"),
                       ("hops_per_transaction", "hops per order (longest causation chain)")):
        row(label, sim.metrics[key], {b: r.metrics[key] for b, r in reals.items()})
    s_kind = _by_kind(sim.trace, orders)
    r_kind = {b: _by_kind(r.trace, orders) for b, r in reals.items()}
    for kind, count in s_kind.items():
        row(f"  of which {kind} per order", count, {b: k.get(kind, 0.0) for b, k in r_kind.items()}, ratio=False)
    row("completed", sim.metrics["completed"], {b: r.metrics["completed"] for b, r in reals.items()}, ratio=False)
    word = {True: "consistent", False: "NOT consistent"}
    row("verdict", word[sim.checks.ok], {b: word[r.checks.ok] for b, r in reals.items()}, ratio=False)
    for b, label, how in BACKENDS:
        if b in reals:
            table.notes.append(f"Real run on {label}: {reals[b].system.wall_time:.1f} s wall clock for the whole "
                               "run (processes started, orders placed, settled, processes and broker stopped; the "
                               "broker's start is not counted).")
        else:
            table.notes.append(f"{label} skipped: {how}.")
    table.notes.append(f"Simulated: {sim.metrics['sim_time']:.2f} simulated seconds. Latency is from the "
                       "client's send of PlaceOrder to the order service's 'complete' effect, in all three. "
                       "See benchmarks/README.md for why they differ.")
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
