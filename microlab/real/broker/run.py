"""Run a choreographed flow for real: every participant its own process, NATS JetStream between them.

::

    from microlab.real.broker import run_choreography, RealPlan
    run = run_choreography("order", orders=10, faults=RealPlan().kill("payment", at=0.5))
    print(run.checks.verdict())          # the simulator's checker, on the real trace
    viz.sequence_diagram(run.trace)      # the simulator's figures, on the real trace

The supervisor (this module, in the caller's process) starts ``nats-server`` (or uses
the one given), a client process and one process per participant, sends the start
signal, carries out the fault plan on the wall clock, and waits until the run
**settles**: every order placed, every process up, every fault carried out, every
outbox empty and every JetStream consumer with nothing pending and nothing awaiting
an ack, for ``quiet`` seconds. A run that does not settle within ``timeout`` seconds
stops with :class:`RunDidNotSettle`, which names what it was still waiting for.
Whatever happens (an error, Ctrl-C), every process is killed and reaped before the call
returns, and a server the run started is stopped.

Times in the trace are seconds since the start signal, on the machine's monotonic
clock (one clock for every process). The result is the simulator's
:class:`~microlab.scenarios.result.RunResult`, so ``checks``, ``metrics`` and
``latencies`` are computed by the same code for a real run as for a simulated one.

The supervisor is one unit: starting the processes, carrying out the fault plan and
waiting for the run to settle share one set of live processes and one deadline, and
the cleanup that must follow any of them (an error, Ctrl-C, a run that never settles)
is only correct when it sees all three.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

from ...errors import MicrolabError, UnknownServiceError
from ...faults import FaultPlan
from ...scenarios.knobs import Knobs
from ...scenarios.result import RunResult
from ...trace import CRASH, RESTART, Trace
from ...words import count
from ..nats_server import BrokerUnreachable, NatsServer
from ..server_process import port_answers
from . import naming
from .faults import Kill, RealPlan
from .flows import real_flow, subscriptions
from .merge import merge
from .processes import Processes
from .store import killed_itself, outbox_size, read_trace


class RealRunError(MicrolabError):
    """A real run could not start or finish; the message names the process or what it waited for."""


class ProcessDiedOnStart(RealRunError):
    """A process of the run exited before it was ready."""


class ProcessDied(RealRunError):
    """A process of the run exited during the run without the fault plan killing it."""


class RunDidNotSettle(RealRunError):
    """The run was still busy when its wall-clock limit ran out."""


@dataclass
class _Service:
    name: str
    workers: int = 1


@dataclass
class RealSystem:
    """What a :class:`~microlab.scenarios.result.RunResult` reads from a system, for a real run."""

    trace: Trace
    services: dict
    now: float
    #: Every process id the run started (service and client processes).
    pids: list = field(default_factory=list)
    #: The broker's process ids (one per start, when the run started its own).
    broker_pids: list = field(default_factory=list)
    #: Wall-clock seconds from the first process start to the end of the run.
    wall_time: float = 0.0
    #: The broker it ran on: "nats" (NATS JetStream) or "kafka" (Apache Kafka).
    backend: str = "nats"

    def conservation(self):
        """Where every message copy ended up (nothing is in flight after a settled run)."""
        return self.trace.conservation()


def arrivals(flow_name: str, orders: int, arrival_rate: float, seed: int) -> list[tuple[str, float]]:
    """The simulator's arrivals: the same generator, so real and simulated runs see the same orders."""
    rng = random.Random(seed)
    t = 0.0
    out = []
    for i in range(orders):
        t += rng.expovariate(arrival_rate)
        out.append((f"{flow_name}-{i + 1}", t))
    return out


def run_choreography(flow="order", *, orders: int = 5, arrival_rate: float = 5.0, seed: int = 1,
                     failure: dict | None = None, retries: int = 2, compensation: bool = True,
                     outbox: bool = True, idempotent: bool = True, faults=None, broker=None,
                     ack_wait: float = 1.0, max_deliver: int = 5, relay_interval: float = 0.2,
                     timeout: float = 60.0, start_timeout: float = 30.0, quiet: float = 0.3,
                     backend: str = "nats") -> RunResult:
    """Run ``flow`` ("order", "travel", "content", "order_flow") for real; see the module docstring.

    ``faults`` is a :class:`~microlab.real.broker.faults.RealPlan` or a simulator
    ``FaultPlan`` of crashes; ``broker`` is None (start a server for this run), a
    :class:`~microlab.real.nats_server.NatsServer`, or a ``nats://host:port`` URL of a
    server whose monitoring port is 8222. ``ack_wait`` and ``max_deliver`` configure
    every durable consumer.
    """
    if backend not in ("nats", "kafka"):
        raise MicrolabError(f"backend {backend!r} is not available: choose 'nats' (NATS JetStream) or "
                            "'kafka' (Apache Kafka, KRaft, one node)")
    rf = real_flow(flow)
    knobs = Knobs.make(orders=orders, arrival_rate=arrival_rate, seed=seed, failure=dict(failure or {}),
                       retries=retries, compensation=compensation, outbox=outbox, idempotent=idempotent)
    participants = rf.participants(knobs)
    names = [p.name for p in participants]
    knobs.check_services(names)
    subs = subscriptions(participants)
    run = uuid.uuid4().hex[:10]
    check = naming.check_kafka_names if backend == "kafka" else naming.check_names
    check({s: [t for t, _ in topics] for s, topics in subs.items()}, *([run] if backend == "kafka" else []))
    plan = _plan(faults, names)
    if ack_wait <= 0 or max_deliver < 1:
        raise MicrolabError(f"ack_wait must be > 0 seconds and max_deliver >= 1, got {ack_wait!r}, {max_deliver!r}")
    server, owned = _kafka_broker(broker, plan) if backend == "kafka" else _broker(broker, plan)
    owner = participants[0].name
    request = next(r.event for r in participants[0].reactions.values() if r.command)
    workdir = tempfile.mkdtemp(prefix="microlab-real-")
    os.mkdir(os.path.join(workdir, "ready"))
    t0 = time.monotonic()
    config = {
        "run": run, "url": server.url, "t0": t0, "dir": workdir, "flow": rf.name,
        "knobs": {"orders": orders, "arrival_rate": arrival_rate, "seed": seed, "failure": dict(failure or {}),
                  "retries": retries, "compensation": compensation, "outbox": outbox, "idempotent": idempotent},
        "ack_wait": ack_wait, "max_deliver": max_deliver, "relay_interval": relay_interval,
        "backend": backend, "start_timeout": start_timeout,
        "subscribers": _subscribers(subs), "owner": owner, "request": request,
        "consumers": {naming.consumer_name(s, t, c): [s, t] for s, topics in subs.items() for t, c in topics},
        "arrivals": [[c, at, rf.request(c)] for c, at in arrivals(rf.business.name if not rf.example else "order",
                                                                  orders, arrival_rate, seed)],
    }
    config_path = os.path.join(workdir, "run.json")
    with open(config_path, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    procs = None
    supervisor: list = []
    kills: list = []
    broker_pids = [server.pid] if owned and server.pid else []
    try:
        if backend == "kafka":
            server.create_topics(_kafka_topics(run, participants, subs))
        procs = Processes(config_path, workdir)
        for name in ["client"] + names:
            procs.spawn(name, plan.process_faults(name))
        _wait_ready(procs, ["client"] + names, start_timeout)
        go = time.monotonic() - t0
        open(os.path.join(workdir, "go"), "w").close()
        end = _supervise(procs, server, plan, names, workdir, run, t0, go, timeout, quiet,
                         supervisor, kills, broker_pids)
    finally:
        if procs is not None:
            procs.stop_all()
        if owned:
            server.stop()
        elif backend == "kafka":
            server.release(_kafka_groups(run, config["consumers"]))
    sources = [(name, read_trace(os.path.join(workdir, f"{name}.sqlite"))) for name in ["client"] + names]
    shutil.rmtree(workdir, ignore_errors=True)
    sources = [(name, [(s, i, t - go, k, sv, m, d) for s, i, t, k, sv, m, d in rows]) for name, rows in sources]
    trace = merge(sources, [(t - go, k, s, d) for t, k, s, d in supervisor], [(p, i, t - go) for p, i, t in kills])
    services = {"client": _Service("client"), "broker": _Service("broker"),
                **{n: _Service(n) for n in names}}
    system = RealSystem(trace, services, end - go, list(procs.pids), broker_pids, time.monotonic() - t0,
                        backend)
    correlations = [c for c, _ in arrivals(rf.business.name if not rf.example else "order", orders,
                                           arrival_rate, seed)]
    result = RunResult(rf.business, "choreography", knobs, system, correlations,
                       dict(arrivals(rf.business.name if not rf.example else "order", orders, arrival_rate, seed)))
    result.plan = plan
    result.flow_spec = rf.spec
    if rf.example:
        # The example's saga has no notification and no refund: judge it by its own rules.
        from ...checks import check_saga

        result.__dict__["checks"] = check_saga(trace, rf.spec, correlations, conservation=trace.conservation())
    return result


def _plan(faults, names) -> RealPlan:
    if faults is None:
        return RealPlan()
    if isinstance(faults, FaultPlan):
        faults = RealPlan.from_fault_plan(faults)
    if not isinstance(faults, RealPlan):
        raise TypeError(f"faults must be a RealPlan (or a FaultPlan of crashes), got {faults!r}")
    for service in faults.services():
        if service != "broker" and service not in names:
            raise UnknownServiceError(service, names + ["broker"], context="fault plan: ")
    return faults


def _broker(broker, plan: RealPlan):
    kills_broker = any(isinstance(f, Kill) and f.service == "broker" for f in plan)
    if broker is None:
        return NatsServer.start(), True
    if isinstance(broker, NatsServer):
        if broker.pid is None:
            raise BrokerUnreachable(f"the NATS server {broker.url} is not running; start it (NatsServer.start()) "
                                    "or pass broker=None to let the run start its own")
        return broker, False
    if isinstance(broker, str):
        url = urllib.parse.urlparse(broker)
        host, port = url.hostname or "127.0.0.1", url.port or 4222
        if not port_answers(host, port, timeout=1.0):
            raise BrokerUnreachable(f"nothing answers at {broker}: start a server with "
                                    f"`nats-server -js -a {host} -p {port} -m 8222`, or pass broker=None "
                                    "to let the run start its own")
        if kills_broker:
            raise RealRunError("the fault plan kills the broker, which a run can only do to a server it can "
                               "restart: pass broker=None or a NatsServer")
        return _RemoteServer(broker, host), False
    raise TypeError(f"broker must be None, a NatsServer or a nats:// URL, got {broker!r}")


class _RemoteServer:
    """A server given by URL: its monitoring page on the default port 8222."""

    def __init__(self, url: str, host: str):
        self.url = url
        self.host = host
        self.pid = None

    def jsz(self) -> dict:
        import urllib.request

        page = f"http://{self.host}:8222/jsz?accounts=true&streams=true&consumers=true"
        with urllib.request.urlopen(page, timeout=1.0) as response:
            return json.loads(response.read())


def _kafka_broker(broker, plan: RealPlan):
    from ..kafka_server import KafkaServer

    if broker is None:
        return KafkaServer.start(), True
    if isinstance(broker, KafkaServer):
        if broker.pid is None:
            raise BrokerUnreachable(f"the Kafka broker {broker.url} is not running; start it (KafkaServer.start()) "
                                    "or pass broker=None to let the run start its own")
        return broker, False
    if isinstance(broker, str):
        host, _, port = broker.rpartition(":")
        if not port.isdigit() or not port_answers(host or "127.0.0.1", int(port), timeout=1.0):
            raise BrokerUnreachable(f"no Kafka broker answers at {broker}: start one (KafkaServer.start(), or "
                                    "`make kafka-jars` once and pass broker=None to let the run start its own)")
        raise RealRunError("a Kafka run needs a KafkaServer it can read consumer offsets from and restart: "
                           "pass broker=None or a KafkaServer")
    raise TypeError(f"broker must be None or a KafkaServer for backend='kafka', got {broker!r}")


def _kafka_topics(run: str, participants, subs: dict) -> list[str]:
    """Every topic a Kafka run uses: commands, events published or consumed, dead letters."""
    topics = []
    for p in participants:
        for r in p.reactions.values():
            topics += [naming.event_subject(run, t) for t in r.publishes]
        topics += [naming.event_subject(run, t) for t in getattr(p, "extra_publishes", ())]
    for service, consumed in subs.items():
        for topic, command in consumed:
            topics.append(naming.command_subject(run, service, topic) if command else naming.event_subject(run, topic))
            topics.append(naming.dead_letter_subject(run, naming.consumer_name(service, topic, command)))
    return topics


def _subscribers(subs: dict) -> dict:
    out: dict = {}
    for service, topics in subs.items():
        for topic, command in topics:
            if not command:
                out.setdefault(topic, []).append(service)
    return out


def _wait_ready(procs: Processes, names, limit: float) -> None:
    deadline = time.monotonic() + limit
    waiting = list(names)
    while waiting:
        for name, status in procs.exited():
            raise ProcessDiedOnStart(f"the {name} process exited with status {status} before it was ready: "
                                     f"{procs.stderr(name) or '(nothing on stderr)'}")
        waiting = [n for n in waiting if not procs.is_ready(n)]
        if waiting and time.monotonic() > deadline:
            raise ProcessDiedOnStart(f"{', '.join(waiting)} did not get ready within {limit:g} s "
                                     f"(connect to the broker and bind its consumers)")
        time.sleep(0.02)


def _supervise(procs, server, plan, names, workdir, run, t0, go, timeout, quiet,
               supervisor, kills, broker_pids) -> float:
    """Carry out the plan and wait until the run settles; returns the end time (run clock)."""
    due = [(go + k.at, "kill", k) for k in plan.kills()]
    self_killed: set = set()
    down: set = set()
    quiet_since = None
    deadline = go + timeout
    while True:
        now = time.monotonic() - t0
        for item in [d for d in due if d[0] <= now]:
            due.remove(item)
            _, what, fault = item
            service = fault.service if what != "restart-self" else fault
            if what == "kill" and (service in down or (service != "broker" and (
                    not procs.is_ready(service) or procs.has_ended(service)))):
                # (has_ended: the process killed itself between commit and publish a moment
                # ago, and the loop below has not yet seen it; killing the dead incarnation
                # again would record a second crash with one restart.)
                # Already down (or still starting): kill it once it is back, so every kill happens.
                due.append((now + 0.05, what, fault))
                continue
            if what == "kill":
                down.add(service)
                if service == "broker":
                    server.kill()
                    supervisor.append((time.monotonic() - t0, CRASH, "broker", {"reason": "kill -9 (fault plan)"}))
                else:
                    inc = procs.kill(service)
                    if service not in self_killed and plan.restart_after_self_kill(service) is not None \
                            and killed_itself(os.path.join(workdir, f"{service}.sqlite")):
                        # It had killed itself between commit and publish a moment before, and
                        # the launcher had not yet said so: that is its planned self-kill, and
                        # this kill waits for the next incarnation (one crash, one restart each).
                        self_killed.add(service)
                        due.append((now + plan.restart_after_self_kill(service), "restart-self", service))
                        due.append((now + 0.05, what, fault))
                        continue
                    at = time.monotonic() - t0
                    kills.append((service, inc, at))
                    supervisor.append((at, CRASH, service, {"reason": "kill -9 (fault plan)"}))
                if fault.restart_after is not None:
                    due.append((now + fault.restart_after, "restart", fault))
            else:
                down.discard(service)
                if service == "broker":
                    server.launch()
                    broker_pids.append(server.pid)
                else:
                    procs.spawn(service)
                supervisor.append((time.monotonic() - t0, RESTART, service, None))
        for name, status in procs.exited():
            after = plan.restart_after_self_kill(name)
            if status == -9 and after is not None and name not in self_killed:
                self_killed.add(name)
                down.add(name)
                procs.forget(name)
                due.append((now + after, "restart-self", name))
                continue
            raise ProcessDied(f"the {name} process exited with status {status} during the run: "
                              f"{procs.stderr(name) or '(nothing on stderr)'}")
        waiting = [] if not due else [f"{count(len(due), 'fault')} of the plan still to carry out"]
        if not waiting:
            waiting = _busy(procs, server, names, workdir, run, down)
        if waiting:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet:
            return now
        if now > deadline:
            raise RunDidNotSettle(f"the run did not settle within {timeout:g} s; it was waiting for: "
                                  + "; ".join(waiting or ["a quiet moment"]))
        # Kafka's settle check asks the broker for every group's offsets: not 20 times a second.
        time.sleep(0.2 if hasattr(server, "lags") else 0.05)


def _busy(procs, server, names, workdir, run, down=()) -> list[str]:
    """What the run still waits for (empty when it has settled)."""
    waiting = [f"{n} to be up again (killed and not restarted)" for n in sorted(down)]
    waiting += [f"{n} to be up and ready" for n in ["client"] + names if n not in down and not procs.is_ready(n)]
    client_db = os.path.join(workdir, "client.sqlite")
    if not _client_done(client_db):
        waiting.append("the client to place every order")
    for name in names:
        n = outbox_size(os.path.join(workdir, f"{name}.sqlite"))
        if n:
            waiting.append(f"{name}'s outbox to empty ({n} entries)")
    if hasattr(server, "lags"):
        if "broker" in down:  # a killed broker answers nothing: ask again once it is back
            return waiting
        return waiting + _kafka_busy(server, run, config_consumers(workdir))
    try:
        jsz = server.jsz()
    except Exception:
        return waiting + ["the broker to answer (it is down or restarting)"]
    stream = naming.stream_name(run)
    for account in jsz.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail.get("name") != stream:
                continue
            for consumer in detail.get("consumer_detail") or []:
                pending, unacked = consumer.get("num_pending", 0), consumer.get("num_ack_pending", 0)
                if pending or unacked:
                    waiting.append(f"consumer {consumer['name']} ({pending} pending, {unacked} awaiting an ack)")
    return waiting


def config_consumers(workdir: str) -> dict:
    """The run's consumers, ``{consumer: [service, topic]}``, from its config file."""
    with open(os.path.join(workdir, "run.json"), encoding="utf-8") as fh:
        return json.load(fh)["consumers"]


def _kafka_groups(run: str, consumers: dict) -> dict:
    """``{group id: topic}`` of the run's consumers on Kafka."""
    groups = {}
    for consumer, (service, topic) in consumers.items():
        command = consumer.startswith(f"{service}_cmd_")
        group = naming.kafka_group(run, consumer)
        groups[group] = naming.command_subject(run, service, topic) if command else naming.event_subject(run, topic)
    return groups


def _kafka_busy(server, run: str, consumers: dict) -> list[str]:
    groups = _kafka_groups(run, consumers)
    topic_of = {naming.kafka_group(run, consumer): consumer for consumer in consumers}
    from ..kafka_server import KafkaUnanswered

    try:
        lags = server.lags(groups)
    except KafkaUnanswered as exc:
        # (A crash of the probe, KafkaProbeDied, is no such moment: it ends the run.)
        return [f"the broker to answer (it is down or restarting; {exc})"]
    return [f"consumer group {topic_of[g]} ({end - committed} not committed)"
            for g, (end, committed) in sorted(lags.items()) if end > committed]


def _client_done(path: str) -> bool:
    import sqlite3

    if not os.path.exists(path):
        return False
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        return db.execute("SELECT 1 FROM meta WHERE key='done'").fetchone() is not None
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
