"""``python -m microlab real-broker``: run a choreographed flow for real and print the verdict.

::

    python -m microlab real-broker --flow order --orders 10 --kill payment@0.5:1.0 --kill broker@1.0
    python -m microlab real-broker --outbox off --kill-before-publish inventory --json
    python -m microlab real-broker --backend kafka --orders 10 --kill payment@0.5:1.0

``--backend`` chooses the broker: ``nats`` (NATS JetStream, the default; needs
``nats-server``) or ``kafka`` (Apache Kafka in KRaft mode, one node; needs Java 17+ and
``make kafka-jars``). The run starts its own broker on a free loopback port either way.

``--kill NAME@AT[:RESTART_AFTER]`` kills a service (or ``broker``) with SIGKILL AT
seconds after the first order, and restarts it RESTART_AFTER seconds later (default 1).
Exit status: 0 when the checker finds the run consistent, 1 when it does not, 2 for
bad input or a run that could not start or settle.
"""

from __future__ import annotations

import json
import sys

from ...errors import MicrolabError

#: The brokers a real run can use, and how the command line names them.
BACKENDS = ("nats", "kafka")
BROKER_NAMES = {"nats": "NATS JetStream", "kafka": "Apache Kafka"}


def add_subcommand(sub) -> None:
    """Add ``real-broker`` to the ``python -m microlab`` subcommands."""
    p = sub.add_parser("real-broker", help="run a choreographed flow on a real broker (NATS JetStream or Kafka)",
                       description="Run a choreographed flow with every participant its own process on a real "
                                   "broker (NATS JetStream: nats-server must be installed; Apache Kafka: Java 17+ "
                                   "and `make kafka-jars`), inject kill -9 faults, and print the consistency "
                                   "checker's verdict on the real trace.")
    p.add_argument("--backend", choices=BACKENDS, default="nats",
                   help="the broker: nats (NATS JetStream, default) or kafka (Apache Kafka, KRaft, one node)")
    p.add_argument("--flow", default="order", help="order, travel, content or order_flow (default order)")
    p.add_argument("--orders", type=int, default=5, help="how many transactions (default 5)")
    p.add_argument("--rate", type=float, default=5.0, help="arrivals per second (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of arrivals and failure draws (default 1)")
    p.add_argument("--outbox", choices=("on", "off"), default="on")
    p.add_argument("--idempotent", choices=("on", "off"), default="on")
    p.add_argument("--kill", action="append", default=[], metavar="NAME@AT[:RESTART]",
                   help="kill -9 a service or the broker at AT s, restart RESTART s later (repeatable)")
    p.add_argument("--kill-before-publish", action="append", default=[], metavar="NAME[@NTH]",
                   help="NAME kills itself between its NTH commit (default 1) and its publish")
    p.add_argument("--withhold-acks", action="append", default=[], metavar="NAME[@COUNT]",
                   help="NAME handles its first COUNT deliveries (default 1) without acking them")
    p.add_argument("--timeout", type=float, default=60.0, help="wall-clock limit in seconds (default 60)")
    p.add_argument("--json", action="store_true", help="print metrics and verdict as one JSON document")
    p.set_defaults(func=run_command)


def plan_from_options(kills, before_publish, withhold):
    """A :class:`~microlab.real.broker.faults.RealPlan` from the command-line options."""
    from .faults import RealPlan

    plan = RealPlan()
    for spec in kills:
        name, _, when = spec.partition("@")
        at, _, after = when.partition(":")
        try:
            plan.kill(name, float(at), float(after) if after else 1.0)
        except ValueError:
            raise MicrolabError(f"--kill {spec!r}: write NAME@AT or NAME@AT:RESTART_AFTER, "
                                "e.g. payment@0.5:1.0") from None
    for spec in before_publish:
        name, _, nth = spec.partition("@")
        plan.kill_before_publish(name, int(nth) if nth.isdigit() else 1)
    for spec in withhold:
        name, _, count = spec.partition("@")
        plan.withhold_acks(name, int(count) if count.isdigit() else 1)
    return plan


def run_command(args) -> int:
    """Run the flow, print the verdict (or JSON); see the module docstring for the exit status."""
    from . import run_choreography

    try:
        plan = plan_from_options(args.kill, args.kill_before_publish, args.withhold_acks)
        run = run_choreography(args.flow, orders=args.orders, arrival_rate=args.rate, seed=args.seed,
                               outbox=args.outbox == "on", idempotent=args.idempotent == "on",
                               faults=plan, timeout=args.timeout, backend=args.backend)
    except MicrolabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = run.metrics
    if args.json:
        print(json.dumps({"backend": run.system.backend, "verdict": run.checks.verdict(), "ok": run.checks.ok,
                          "conservation": str(run.trace.conservation()),
                          "metrics": {k: v for k, v in m.items()}}, default=str))
    else:
        print(f"broker: {BROKER_NAMES[run.system.backend]}")
        print(f"plan: {plan}".replace("\n", "; "))
        print(run.checks.verdict())
        print(f"messages: {run.trace.conservation()}")
        print(f"latency p50 {m['latency_p50'] * 1000:.1f} ms, p95 {m['latency_p95'] * 1000:.1f} ms; "
              f"{m['messages_per_transaction']:.1f} messages and {m['hops_per_transaction']} hops per "
              f"transaction; {run.system.wall_time:.1f} s wall clock")
    return 0 if run.checks.ok else 1
