"""The broker: topics, subscriptions, acknowledgements, redelivery and dead letters.

The broker is a "dumb pipe", but a service of the simulation like any other: it has
``workers`` and a ``work_time``, so it queues and saturates, and it can crash.

Lifecycle of a published event
------------------------------
1. A publisher sends an event (kind ``event``, e.g. ``service.emit("broker", "OrderPlaced",
   payload)``) to the broker. The topic is the event's type unless ``topic=`` says
   otherwise.
2. When a worker handles it, the broker records ``publish``, confirms it to a
   registered publisher (a ``Confirm:<Type>`` reply, which the outbox relay waits
   for), and sends one delivery to each service subscribed to the topic, in the
   order the subscriptions were made. A delivery is a new event message with the same
   type, payload and correlation; its causation is the published event's id, which
   is the event's identity (:func:`~microlab.choreography.kinds.event_id`).
3. The consumer acknowledges with an ``Ack:<Type>`` reply to the delivery. If no ack
   arrives within the subscription's ``ack_timeout``, the broker delivers again
   (``redeliver``), as a new message with the same causation: at-least-once delivery.
4. After ``max_receive_count`` deliveries without an ack, the event goes to the
   subscription's dead-letter queue (``dead_letter``) and is not delivered again
   unless someone calls :meth:`Broker.redrive`. The receive count counts delivery
   attempts, including those the network dropped or a crashed consumer never saw.

Order of delivery
-----------------
The broker fans events out in the order its workers finish handling them, and to
subscribers in subscription order. With one broker worker and a constant latency,
each subscriber therefore receives a topic's events in publish order. With random
latencies, several broker workers, redeliveries or network faults, there is no
ordering guarantee at all, as with most real brokers at scale: consumers must not
rely on order.

Duplicates
----------
At-least-once means duplicates: a redelivery after a slow ack, a network
``Duplicate``, or an outbox relay that retries after a lost confirm. The broker does
not deduplicate by default (``deduplicate=True`` makes it drop a published event it
has already accepted, like a broker's de-duplication window). Consumers are expected
to be idempotent; see :class:`~microlab.choreography.participant.Participant`.

Crash
-----
Topics, subscriptions, unacknowledged deliveries and dead-letter queues are durable
(attributes survive a crash, as a broker's disk does). What is in the mailbox or being
handled is lost, as for any service: a publish waiting there is gone, and only a
publisher with an outbox sends it again (it retries until it gets its confirm).
While the broker is down, publishes and acks sent to it are dropped by the network.
On restart, every unacknowledged delivery gets a fresh ack timeout, after which it is
redelivered as usual.

One unit of about the size limit, because subscriptions, deliveries, acks, redelivery
and the dead-letter queue are one broker's bookkeeping and change together.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass, field

from ..errors import MicrolabError, UnknownServiceError
from ..messages import EVENT, REPLY, Message
from ..services import Service
from ..words import count
from .kinds import (ACK, ACK_PREFIX, CONFIRM_PREFIX, DEAD_LETTER, DUPLICATE_PUBLISH, PUBLISH,
                    REDELIVER, REDRIVE, SUBSCRIBE, confirm_type)


@dataclass
class DeadLetter:
    """An event that a subscriber never acknowledged within ``max_receive_count`` tries."""

    event: Message
    subscriber: str
    topic: str
    receives: int
    time: float

    def to_dict(self) -> dict:
        """Plain data: the event's id, type and correlation, who failed it, when."""
        return {"event": self.event.id, "type": self.event.type, "correlation": self.event.correlation,
                "subscriber": self.subscriber, "topic": self.topic, "receives": self.receives,
                "time": self.time}


@dataclass
class Subscription:
    """One service's subscription to one topic, with its own dead-letter queue.

    ``ack_timeout`` and ``max_receive_count`` default to the broker's.
    """

    topic: str
    service: str
    ack_timeout: float
    max_receive_count: int
    #: Events that exhausted their receives, oldest first.
    dead_letters: list = field(default_factory=list)
    #: Deliveries sent (first deliveries and redeliveries) and acknowledged.
    delivered: int = 0
    acked: int = 0

    def __repr__(self) -> str:
        return (f"<Subscription {self.service} <- {self.topic}: {self.delivered} delivered, "
                f"{self.acked} acked, {len(self.dead_letters)} dead letters>")


class Delivery:
    """The broker's record of one event owed to one subscription until it is acked."""

    __slots__ = ("event", "subscription", "receives", "message", "settled")

    def __init__(self, event: Message, subscription: Subscription):
        self.event = event
        self.subscription = subscription
        self.receives = 0
        #: The latest delivery message sent for it.
        self.message: Message | None = None
        #: None while owed; "acked" or "dead_letter" once settled.
        self.settled: str | None = None

    def __repr__(self) -> str:
        return (f"<Delivery of #{self.event.id} {self.event.type} to {self.subscription.service}, "
                f"{count(self.receives, 'receive')}, {self.settled or 'unacked'}>")


class Broker(Service):
    """A message broker with topics, acks, redelivery and dead-letter queues.

    ``ack_timeout`` (seconds) and ``max_receive_count`` are the defaults for new
    subscriptions; ``deduplicate`` drops re-sent publishes of an event already
    accepted. See the module docstring for the full lifecycle and crash semantics.
    """

    role = "broker"

    service_name = "broker"

    def __init__(self, name: str | None = None, *, ack_timeout: float = 1.0,
                 max_receive_count: int = 5, deduplicate: bool = False,
                 workers: int | None = None, work_time=None):
        super().__init__(name, workers=workers, work_time=work_time)
        self.ack_timeout = _positive(ack_timeout, f"broker {self.name!r}: ack_timeout")
        self.max_receive_count = _receive_count(max_receive_count, f"broker {self.name!r}")
        self.deduplicate = deduplicate
        #: Subscriptions per topic, in the order they were made.
        self.topics: dict[str, list[Subscription]] = {}
        #: Publishers that want a ``Confirm:<Type>`` for each event (registered participants).
        self.publishers: dict[str, bool] = {}
        #: Deliveries not yet settled, oldest first (durable: survives a crash).
        self.unacked: dict[int, Delivery] = {}
        self._deliveries: dict[int, Delivery] = {}  # delivery message id -> Delivery
        self._accepted: set[int] = set()            # published ids, only when deduplicating
        #: Events accepted (fanned out) so far.
        self.published = 0

    # -- configuring (not messages: subscriptions are set up like infrastructure) -----------

    def subscribe(self, service: str, topic: str, *, ack_timeout: float | None = None,
                  max_receive_count: int | None = None) -> Subscription:
        """Subscribe ``service`` (a name) to ``topic``; returns the subscription.

        Subscribing twice to the same topic returns the existing subscription: a
        service gets one delivery per event, however many reactions it has.
        """
        if not isinstance(service, str) or not isinstance(topic, str) or not topic:
            raise TypeError(f"broker.subscribe(service, topic) takes two names, got {service!r}, {topic!r}")
        if topic.startswith((ACK_PREFIX, CONFIRM_PREFIX)):
            raise MicrolabError(f"{service} cannot subscribe to {topic!r}: names starting with "
                                "'Ack:' or 'Confirm:' are the broker's own protocol messages")
        if self.system is not None and service not in self.system.services:
            raise UnknownServiceError(service, self.system.services,
                                      context=f"cannot subscribe to {topic!r}: ")
        subs = self.topics.setdefault(topic, [])
        for sub in subs:
            if sub.service == service:
                return sub
        sub = Subscription(
            topic, service,
            self.ack_timeout if ack_timeout is None else _positive(ack_timeout, f"subscription {service}<-{topic}: ack_timeout"),
            self.max_receive_count if max_receive_count is None
            else _receive_count(max_receive_count, f"subscription {service}<-{topic}"))
        subs.append(sub)
        if self.system is not None:
            self.system.trace.record(self.system.sim.now, SUBSCRIBE, self.name,
                                     subscriber=service, topic=topic, correlation=None)
        return sub

    def unsubscribe(self, service: str, topic: str) -> None:
        """Remove a subscription (events already owed to it are still delivered)."""
        subs = self.topics.get(topic, [])
        for i, sub in enumerate(subs):
            if sub.service == service:
                del subs[i]
                return
        raise MicrolabError(f"{service} is not subscribed to {topic!r}; its subscriptions: "
                            f"{', '.join(self.subscriptions_of(service)) or 'none'}")

    def register_publisher(self, service: str, confirm: bool = True) -> None:
        """Ask the broker to confirm every event ``service`` publishes (the outbox needs it)."""
        self.publishers[service] = confirm

    # -- reading -----------------------------------------------------------------------------

    def describe(self) -> dict:
        """The broker's own definition as plain data (for change-impact comparisons).

        Subscriptions are not part of it: each subscriber declares its own, so adding a
        consumer changes the consumer, not the broker.
        """
        return {"broker": True, "ack_timeout": self.ack_timeout,
                "max_receive_count": self.max_receive_count, "deduplicate": self.deduplicate}

    def subscription(self, service: str, topic: str) -> Subscription:
        """The subscription of ``service`` to ``topic`` (a clear error if there is none)."""
        for sub in self.topics.get(topic, ()):
            if sub.service == service:
                return sub
        raise MicrolabError(f"{service} is not subscribed to {topic!r}; its subscriptions: "
                            f"{', '.join(self.subscriptions_of(service)) or 'none'}")

    def subscriptions_of(self, service: str) -> list[str]:
        """The topics ``service`` subscribes to, in subscription order."""
        return [topic for topic, subs in self.topics.items() if any(s.service == service for s in subs)]

    def subscribers(self, topic: str) -> list[str]:
        """The services subscribed to ``topic``, in delivery order."""
        return [s.service for s in self.topics.get(topic, ())]

    def dead_letters(self, service: str | None = None, topic: str | None = None) -> list[DeadLetter]:
        """Dead letters of every subscription, or of one service and/or topic, oldest first."""
        out = []
        for t, subs in self.topics.items():
            if topic is not None and t != topic:
                continue
            for sub in subs:
                if service is None or sub.service == service:
                    out.extend(sub.dead_letters)
        out.sort(key=lambda d: (d.time, d.event.id))
        return out

    # -- operating ---------------------------------------------------------------------------

    def redrive(self, service: str, topic: str) -> int:
        """Send a subscription's dead letters back for delivery; returns how many.

        Each gets a fresh receive count. Call it between runs, or from a timer.
        """
        sub = self.subscription(service, topic)
        letters, sub.dead_letters = sub.dead_letters, []
        for letter in letters:
            self._record(REDRIVE, letter.event, subscriber=service)
            self._deliver(Delivery(letter.event, sub))
        return len(letters)

    # -- handling ----------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """Accept a published event, or settle a delivery on its ack."""
        if msg.kind == EVENT:
            self._publish(msg)
        elif msg.kind == REPLY and msg.type.startswith(ACK_PREFIX):
            self._ack(msg)
        else:
            raise MicrolabError(
                f"the broker {self.name!r} got {msg.kind} {msg.type!r} from {msg.source}; a broker "
                "only takes published events (kind 'event': participant.publish(...) or "
                f"service.emit({self.name!r}, type, payload)) and 'Ack:<Type>' replies to its deliveries")

    def _publish(self, msg: Message) -> None:
        system = self.system
        if self.deduplicate:
            if msg.id in self._accepted:
                self._record(DUPLICATE_PUBLISH, msg, topic=msg.topic)
                if self.publishers.get(msg.source):
                    self.reply(msg, confirm_type(msg.type))
                return
            self._accepted.add(msg.id)
        subs = self.topics.get(msg.topic, ())
        self.published += 1
        if system.trace.enabled:
            system.trace.record(system.sim.now, PUBLISH, self.name, msg, topic=msg.topic,
                                subscribers=[s.service for s in subs])
        if self.publishers.get(msg.source):
            self.reply(msg, confirm_type(msg.type))
        for sub in subs:
            self._deliver(Delivery(msg, sub))

    def _deliver(self, delivery: Delivery) -> None:
        # Runs in the publish handler, in a timer or on restart: the published event is
        # made the context, so that every (re)delivery's causation is the event's id.
        event = delivery.event
        sub = delivery.subscription
        saved, self._context = self._context, event
        try:
            msg = self.send(sub.service, event.type, event.payload, kind=EVENT,
                            topic=event.topic, correlation=event.correlation)
        finally:
            self._context = saved
        delivery.receives += 1
        delivery.message = msg
        sub.delivered += 1
        self._deliveries[msg.id] = delivery
        self.unacked[msg.id] = delivery
        if delivery.receives > 1:
            self._record(REDELIVER, msg, subscriber=sub.service, event=event.id,
                         attempt=delivery.receives)
        self.system.sim.schedule(sub.ack_timeout, self._ack_due, (self.incarnation, delivery))

    def _ack(self, msg: Message) -> None:
        delivery = self._deliveries.get(msg.causation)
        if delivery is None:
            raise self._unknown_ack(msg)
        sub = delivery.subscription
        if delivery.settled is not None:
            self._record(ACK, msg, subscriber=sub.service, event=delivery.event.id,
                         attempt=delivery.receives, late=True)
            return
        delivery.settled = "acked"
        sub.acked += 1
        del self.unacked[delivery.message.id]
        trace = self.system.trace
        if trace.enabled:
            trace.record(self.system.sim.now, ACK, self.name, msg, subscriber=sub.service,
                         event=delivery.event.id, attempt=delivery.receives)

    @staticmethod
    def _unknown_ack(msg: Message) -> MicrolabError:
        # An ack that answers no delivery of this broker: a consumer acknowledged with a
        # fresh message instead of a reply to the delivery it got.
        return MicrolabError(
            f"{msg.source} acknowledged message #{msg.causation} with {msg.type!r}, but the broker "
            f"never delivered a message #{msg.causation}: acknowledge with a reply to the delivery "
            f"itself (self.reply(delivery, 'Ack:<Type>'))")

    def _ack_due(self, token) -> None:
        incarnation, delivery = token
        if delivery.settled is not None or incarnation != self.incarnation or not self.up:
            return  # acked in time, or armed before a crash (restart re-arms it)
        sub = delivery.subscription
        del self.unacked[delivery.message.id]
        if delivery.receives >= sub.max_receive_count:
            delivery.settled = DEAD_LETTER
            sub.dead_letters.append(DeadLetter(delivery.event, sub.service, sub.topic,
                                               delivery.receives, self.system.sim.now))
            self._record(DEAD_LETTER, delivery.event, subscriber=sub.service,
                         receives=delivery.receives)
            return
        self._deliver(delivery)

    def on_start(self) -> None:
        """Check and record the subscriptions made before the broker joined the system."""
        for topic, subs in self.topics.items():
            for sub in subs:
                if sub.service not in self.system.services:
                    raise UnknownServiceError(sub.service, self.system.services,
                                              context=f"{self.name} has a subscription to {topic!r}, but ")
        trace, now = self.system.trace, self.system.sim.now
        for topic, subs in self.topics.items():
            for sub in subs:
                trace.record(now, SUBSCRIBE, self.name, subscriber=sub.service, topic=topic, correlation=None)
        if warn_about_wiring not in self.system.after_run:
            # Nobody calls describe() before a first run: say at the end of the run, once,
            # what it would have said (an event nobody hears, a subscription nobody feeds).
            self.system.after_run.append(warn_about_wiring)

    def on_restart(self) -> None:
        """Give every unacknowledged delivery a fresh ack timeout (its timer died in the crash)."""
        schedule = self.system.sim.schedule
        for delivery in self.unacked.values():
            schedule(delivery.subscription.ack_timeout, self._ack_due, (self.incarnation, delivery))

    def _record(self, kind: str, msg: Message, **detail) -> None:
        self.system.trace.record(self.system.sim.now, kind, self.name, msg, **detail)

    def __repr__(self) -> str:
        subs = sum(len(s) for s in self.topics.values())
        return (f"<Broker {self.name!r} {'up' if self.up else 'DOWN'} {len(self.topics)} topics, "
                f"{subs} subscriptions, {len(self.unacked)} unacked, mailbox={len(self.mailbox)}>")


def _positive(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{field} must be a positive number of seconds, got {value!r}")
    return float(value)


def _receive_count(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: max_receive_count must be an integer >= 1 (1 means no "
                         f"redelivery), got {value!r}")
    return value


class WiringWarning(UserWarning):
    """An event that no service subscribes to, or a subscription that nothing publishes."""


def warn_about_wiring(system) -> None:
    """After a run: warn once per system about each event that no service subscribes to
    and each subscription that nothing publishes (with ``describe()``'s did-you-mean)."""
    from .description import UNCONSUMED, UNPUBLISHED, describe  # description imports this module

    # getattr rather than system.__dict__: reading __dict__ would make CPython keep the
    # system's attributes in a real dict, slower to read for the rest of its runs.
    said = getattr(system, "_wiring_said", None)
    if said is None:
        said = system._wiring_said = set()
    for warning in describe(system).warnings:
        key = (warning.kind, warning.event)
        if key in said or warning.kind not in (UNCONSUMED, UNPUBLISHED):
            continue
        said.add(key)
        warnings.warn(WiringWarning(f"{warning.message} (Found after the run; "
                                    "microlab.choreography.describe(system) lists them all.)"), stacklevel=3)
