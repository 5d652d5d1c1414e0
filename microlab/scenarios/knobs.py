"""The knobs a notebook turns on a scenario, checked before anything runs.

The modelling choices behind the headline comparison are listed, with their defaults
and the reasons for them, in :data:`FAIRNESS` and in :mod:`microlab.scenarios`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..distributions import Distribution, Exponential, LogNormal, as_distribution
from ..errors import MicrolabError, did_you_mean
from ..faults import FaultPlan
from .stock import ISOLATION

#: The two patterns the course's labs and notebooks put side by side: a central
#: orchestrator, or services that react to each other's events through a broker.
PATTERNS = ("orchestration", "choreography")
#: Every pattern a scenario can be built under: the two above, and services that call
#: each other directly, with no broker (point-to-point choreography).
ALL_PATTERNS = PATTERNS + ("choreography-p2p",)
#: How an orchestrated workflow tells the flow's listeners (knob ``notification``).
NOTIFICATIONS = ("blocking", "fire-and-forget")
#: Who records that an orchestrated transaction is over (knob ``conclusion``).
CONCLUDERS = ("orchestrator", "owner")
#: Which messages the metrics count (knob ``count_messages``).
COUNTS = ("all", "no-confirms", "business")


#: The modelling choices that drive the headline comparison of the patterns, one row each:
#: ``(knob, default, what it decides, why the default, the setting of a fair fight)``.
#: The README's table "What decides the comparison" shows the same rows.
FAIRNESS = (
    ("orchestrator_work_time", "Exponential(4 ms)",
     "time the orchestrator spends on each message it handles (a start, a task result)",
     "a Conductor server stores the workflow and moves task queues on every task update: "
     "a store round trip per step",
     "the broker's: compare the patterns, not two products"),
    ("broker_work_time", "Exponential(0.5 ms)",
     "time the broker spends on each publish or ack",
     "a broker appends to a log and fans out; NATS JetStream did one acknowledged round trip "
     "in 0.4-0.7 ms on the course's machine",
     "the orchestrator's"),
    ("notification", "\"blocking\"",
     "whether an orchestrated workflow waits for its listeners (a last task) or hands the "
     "outcome off and completes (\"fire-and-forget\")",
     "the first edition drew the notification as the workflow's last task; choreography's "
     "listeners always hear after the fact",
     "\"fire-and-forget\", as choreography's listeners"),
    ("conclusion", "\"orchestrator\"",
     "who records that an orchestrated transaction is over, where its latency ends: the "
     "orchestrator when the workflow ends, or the owner once told (\"owner\"); under "
     "choreography the owner, always",
     "in Conductor the workflow's status is the transaction's: anyone who asks the server "
     "learns the outcome at once",
     "\"owner\", as in choreography"),
    ("receipt_work", "True",
     "whether the owner spends a worker and a work time on the orchestrator's WorkflowStarted "
     "receipt; choreography's outbox relay takes the broker's confirms beside the workers",
     "the first edition's model (a reply like any other); the cost shows as queueing at a "
     "busy owner",
     "False, as the relay and a real HTTP client"),
    ("count_messages", "\"all\"",
     "which messages metrics count: all, all but the broker's publish confirms "
     "(\"no-confirms\"), or only those with business content (\"business\")",
     "every message crosses the network and costs a handling",
     "\"business\" to compare what each pattern has to say"),
    ("work_time, latency", "Exponential(10 ms), LogNormal(5 ms)",
     "each service's work per message; every link's latency",
     "the same in every pattern", "leave them equal"),
    ("workers", "1 each",
     "how many messages a service (the orchestrator, the broker) handles at once",
     "one worker shows queueing and saturation at classroom loads",
     "the same for the orchestrator and the broker"),
    ("dispatch", "\"poll\"",
     "how an orchestrated task reaches its worker: the worker polls the task's queue "
     "(\"poll\"), or the orchestrator sends it a command (\"push\")",
     "Conductor's workers poll the server for tasks of their type and the server never pushes "
     "([architecture](https://docs.conductor-oss.org/devguide/architecture/index.html), "
     "[workers](https://docs.conductor-oss.org/devguide/concepts/workers.html)): the queue is its "
     "backpressure, and each task costs a poll at the orchestrator and the wait for one, see "
     "\"Polling against push\" in the README",
     "\"push\", as the broker delivers to its consumers; leave \"poll\" to measure Conductor itself"),
    ("polling_interval, poll_timeout", "100 ms, 100 ms",
     "a polling worker's longest back-off after empty polls; how long the server holds a "
     "poll open for a task (a long poll)",
     "conductor-python's defaults (poll_interval, poll_timeout: "
     "[worker_task](https://github.com/conductor-sdk/conductor-python/blob/main/src/conductor/client/worker/worker_task.py))",
     "leave them (under \"push\" nothing polls)"),
    ("thread_count", "1",
     "threads per task type of each polling worker, the tasks it takes per poll at most "
     "(a service's workers, when set, are its thread count)",
     "conductor-python's thread_count ([worker_task](https://github.com/conductor-sdk/conductor-python/blob/main/src/conductor/client/worker/worker_task.py)) and the Java client's per-type "
     "thread count ([TaskRunnerConfigurer](https://github.com/conductor-oss/conductor/blob/main/client/src/main/java/com/netflix/conductor/client/automator/TaskRunnerConfigurer.java)) default to 1: "
     "as one worker per service under push",
     "the same as the services' workers"),
)


def fairness_table() -> str:
    """:data:`FAIRNESS` as a Markdown table (the README holds the same one)."""
    head = ("| knob | default | what it decides | why this default | in a fair fight |\n"
            "|---|---|---|---|---|\n")
    return head + "".join(f"| `{k}` | {d} | {what} | {why} | {fair} |\n" for k, d, what, why, fair in FAIRNESS)


class KnobError(MicrolabError, ValueError):
    """A scenario knob has a value that cannot work; the message names the knob."""


@dataclass
class Knobs:
    """Everything a scenario run depends on. Times are in seconds.

    - ``orders``: how many business transactions arrive; ``arrival_rate``: per second
      (exponential inter-arrival times);
    - ``latency``: network latency of every link (number or distribution);
    - ``work_time``: time a service spends per message; ``orchestrator_work_time`` and
      ``broker_work_time`` for the two central components;
    - ``workers``: workers per service, e.g. ``{"orchestrator": 2}`` (default 1);
    - ``failure``: probability that one attempt of a step fails, per service,
      e.g. ``{"payment": 0.2}``;
    - ``retries``: extra attempts per step (the orchestrator retries after
      ``retry_delay``; a choreographed service retries locally);
    - ``response_timeout``: how long the orchestrator waits for a reply before retrying;
    - ``compensation``: undo completed steps when a later one fails;
    - ``outbox``, ``idempotent``: the choreography's two protections (idempotent also
      makes orchestration workers answer duplicate commands without redoing them).
      Under ``"choreography-p2p"`` they are the caller's and the callee's: with the
      outbox a caller re-sends each call every ``response_timeout`` until the callee
      acknowledges it; an idempotent callee ignores a call it has processed;
    - ``notification``: how an orchestrated workflow tells the flow's listeners (the
      notification service). ``"blocking"`` (default): a last SIMPLE task, which the
      workflow waits for before it completes. ``"fire-and-forget"``: no task; when the
      workflow ends the orchestrator tells the owner (``WorkflowEnded``) and the owner
      tells each listener, with nobody waiting. Real Conductor offers three ways not to
      wait: a START_WORKFLOW task starts another workflow and completes as soon as it
      runs (https://docs.conductor-oss.org/documentation/configuration/workflowdef/operators/start-workflow-task.html),
      an EVENT task publishes to a queue or broker and completes once published
      (https://docs.conductor-oss.org/documentation/configuration/workflowdef/systemtasks/event-task.html),
      and a workflow status listener publishes every workflow's end
      (https://docs.conductor-oss.org/devguide/advanced/extend.html). microlab's
      orchestrator has none of the three yet, so the owner relays the end: one more
      handling at the owner per transaction. Choreography's listeners always hear
      after the fact; the knob changes nothing there;
    - ``conclusion``: who records that an orchestrated transaction is over, the instant
      its latency ends: ``"orchestrator"`` (default) when the workflow ends, or
      ``"owner"``, when the orchestrator has told the owner (``WorkflowEnded``, one
      hop and one handling later), as the owner concludes under both choreographies.
      The orchestrator tells the owner once: a lost ``WorkflowEnded`` leaves the
      transaction unconcluded (a real owner would ask Conductor for the status);
    - ``receipt_work``: whether the owner spends one of its workers and a work time on
      the orchestrator's ``WorkflowStarted`` receipt (default True), or takes it beside
      its workers (False), as a choreographed participant's outbox relay takes the
      broker's confirms and a real client reads the start API's HTTP answer;
    - ``count_messages``: which messages ``metrics["messages"]`` and
      ``messages_per_transaction`` count: ``"all"`` (default, every message sent),
      ``"no-confirms"`` (all but the broker's ``Confirm:<Type>`` to an outbox relay) or
      ``"business"`` (also without the receipts that carry no business data: the
      ``Ack:<Type>`` of a delivery or a call, the orchestrator's ``WorkflowStarted``,
      and a polling worker's ``Poll`` and empty ``NoTask`` answers).
      Counting never changes the run, only the figure;
    - ``orchestrator_work_time`` and ``broker_work_time`` drive the latency and the
      saturation headline; their defaults and a fair setting are in :data:`FAIRNESS`;
    - ``standby``, ``failover_delay``: a standby orchestrator that takes over after a crash;
    - ``servers``: the number of orchestrator nodes (default 1). Two or more make a
      Conductor-style cluster: stateless nodes ``orchestrator``, ``orchestrator-2``, ...
      over one store ``orchestrator-store``, with workflow locks and a sweeper; a crashed
      node leaves the others serving at once, a crashed store stalls everything. Needs
      ``dispatch="poll"`` and no standby (see :mod:`microlab.orchestration.cluster`);
    - ``dispatch``: how the orchestrator's tasks reach the workers, in the patterns with
      a Conductor-style orchestrator (``"orchestration"`` and ``"hybrid"``; the
      choreographies have none): ``"poll"`` (default: workers poll task queues, as
      Conductor's do) or ``"push"`` (commands, as other orchestrators send them, and as
      the broker delivers events);
      ``polling_interval`` and ``poll_timeout`` are a polling worker's longest back-off
      after empty polls and the server's long-poll wait (conductor-python: 100 ms each);
      ``thread_count`` is each polling worker's threads per task type (conductor-python
      and the Java client: 1), and ``workers[service]``, when given, sets that service's
      instead. A poll costs the orchestrator one ``orchestrator_work_time``, like any
      message it handles;
    - ``stock``: a count per item held by the service of the flow's first step (the
      inventory), e.g. ``{"piano": 1}``; a reservation reads the count when a worker
      takes it and writes it when done, and refuses when it read zero (the step fails,
      the saga compensates). None (default): unlimited stock, no count kept, as before;
    - ``isolation``: how that service keeps concurrent sagas from seeing each other's
      intermediate state (needs ``stock``): ``"none"`` (read, then write: lost updates
      and oversold stock), ``"commutative"`` (increments and decrements where the count
      is now), ``"reread"`` (refuse when the count changed since it was read) or
      ``"semantic-lock"`` (a PENDING hold; an order that finds the last unit held is
      told to retry, not "sold out"). See :mod:`microlab.scenarios.stock`;
    - ``faults``: a :class:`~microlab.faults.FaultPlan`;
    - ``seed``: the one seed of the run.
    """

    orders: int = 20
    arrival_rate: float = 5.0
    latency: Distribution | float = field(default_factory=lambda: LogNormal(0.005, 0.5))
    work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.01))
    orchestrator_work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.004))
    broker_work_time: Distribution | float | None = field(default_factory=lambda: Exponential(0.0005))
    workers: dict = field(default_factory=dict)
    failure: dict = field(default_factory=dict)
    retries: int = 2
    retry_delay: float = 0.05
    response_timeout: float = 1.0
    compensation: bool = True
    outbox: bool = True
    idempotent: bool = True
    standby: bool = False
    failover_delay: float = 1.0
    servers: int = 1
    notification: str = "blocking"
    conclusion: str = "orchestrator"
    receipt_work: bool = True
    count_messages: str = "all"
    dispatch: str = "poll"
    polling_interval: float = 0.1
    poll_timeout: float = 0.1
    thread_count: int = 1
    stock: dict | None = None
    isolation: str = "none"
    faults: FaultPlan | None = None
    seed: int = 1

    @classmethod
    def make(cls, **values) -> "Knobs":
        """Build knobs from keywords, naming any unknown knob with a did-you-mean."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in values:
            if key not in names:
                raise KnobError(f"unknown knob {key!r}" + did_you_mean(key, names)
                                + f" The knobs are: {', '.join(names)}.")
        knobs = cls(**values)
        knobs.validate()
        return knobs

    def validate(self) -> None:
        """Raise :class:`KnobError` naming the first knob whose value cannot work."""
        _whole(self.orders, "orders", minimum=0)
        _whole(self.retries, "retries", minimum=0)
        _whole(self.seed, "seed", minimum=None)
        _whole(self.servers, "servers", minimum=1)
        if self.servers > 1 and self.standby:
            raise KnobError(f"servers={self.servers} and standby=True are two designs for one problem: a cluster "
                            "has no standby (every node serves); pick one")
        if self.servers > 1 and self.dispatch != "poll":
            raise KnobError(f"servers={self.servers} needs dispatch='poll': a worker's update may reach any node "
                            "of the cluster, so workers poll, as Conductor's do")
        _whole(self.thread_count, "thread_count", minimum=1)
        for name in ("arrival_rate",):
            if not _number(getattr(self, name)) or getattr(self, name) <= 0:
                raise KnobError(f"{name} must be a positive number (orders per second), got {getattr(self, name)!r}")
        if self.dispatch not in ("poll", "push"):
            raise KnobError(f"dispatch is 'poll' (workers poll, as in Conductor) or 'push' (the orchestrator "
                            f"sends commands), got {self.dispatch!r}")
        for name in ("polling_interval", "poll_timeout"):
            if not _number(getattr(self, name)) or getattr(self, name) <= 0:
                raise KnobError(f"{name} must be a number of seconds > 0, got {getattr(self, name)!r}")
        if self.poll_timeout > 5:
            raise KnobError(f"poll_timeout is at most 5 seconds (Conductor refuses a longer long poll), "
                            f"got {self.poll_timeout!r}")
        for name in ("retry_delay", "response_timeout", "failover_delay"):
            if not _number(getattr(self, name)) or getattr(self, name) < 0:
                raise KnobError(f"{name} must be a number of seconds >= 0, got {getattr(self, name)!r}")
        for name in ("latency", "work_time", "orchestrator_work_time", "broker_work_time"):
            try:
                setattr(self, name, as_distribution(getattr(self, name), name))
            except (TypeError, ValueError) as exc:
                text = str(exc)
                raise KnobError(text if text.startswith(name) else f"{name}: {text}") from None
        if self.latency is None:
            raise KnobError("latency cannot be None; use 0 for an instant network")
        for name, example in (("failure", "{'payment': 0.2}"), ("workers", "{'payment': 2}")):
            if not isinstance(getattr(self, name), dict):
                raise KnobError(f"{name} maps service names to values, e.g. {name}={example}; "
                                f"got {getattr(self, name)!r}")
        for service, p in self.failure.items():
            if not _number(p) or not 0 <= p <= 1:
                raise KnobError(f"failure[{service!r}] must be a probability between 0 and 1, got {p!r}")
        for service, n in self.workers.items():
            _whole(n, f"workers[{service!r}]", minimum=1)
        for name in ("compensation", "outbox", "idempotent", "standby", "receipt_work"):
            if not isinstance(getattr(self, name), bool):
                raise KnobError(f"{name} is a switch: True or False, got {getattr(self, name)!r}")
        for name, choices in (("notification", NOTIFICATIONS), ("conclusion", CONCLUDERS),
                              ("count_messages", COUNTS)):
            if getattr(self, name) not in choices:
                raise KnobError(f"{name} must be one of {', '.join(map(repr, choices))}, got "
                                f"{getattr(self, name)!r}" + did_you_mean(getattr(self, name), choices))
        if self.stock is not None:
            if not isinstance(self.stock, dict) or not self.stock:
                raise KnobError(f"stock maps items to counts, e.g. stock={{'piano': 1}}; got {self.stock!r}")
            for item, n in self.stock.items():
                _whole(n, f"stock[{item!r}]", minimum=0)
        if self.isolation not in ISOLATION:
            raise KnobError(f"isolation must be one of {', '.join(map(repr, ISOLATION))}, got "
                            f"{self.isolation!r}" + did_you_mean(self.isolation, ISOLATION))
        if self.isolation != "none" and self.stock is None:
            raise KnobError(f"isolation={self.isolation!r} protects a stock: give one, e.g. stock={{'piano': 1}}")
        if self.faults is not None and not isinstance(self.faults, FaultPlan):
            raise KnobError(f"faults must be a FaultPlan, got {self.faults!r}")

    def check_services(self, services) -> None:
        """Check that ``failure`` and ``workers`` name services of the scenario."""
        known = list(services)
        for knob in ("failure", "workers"):
            for name in getattr(self, knob):
                if name not in known:
                    raise KnobError(f"{knob} names {name!r}, which is not a service of this scenario"
                                    + did_you_mean(name, known)
                                    + f" Its services: {', '.join(known)}.")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _whole(x, name, minimum):
    if isinstance(x, bool) or not isinstance(x, int) or (minimum is not None and x < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise KnobError(f"{name} must be a whole number{bound}, got {x!r}")
