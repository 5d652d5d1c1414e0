"""The service and client processes on Apache Kafka: consumer groups, offset commits as acks.

The reaction, the outbox, the idempotency table and the trace are the NATS processes'
(:mod:`~microlab.real.broker.service`); what changes is the broker under them:

- one **consumer group per service and subscription** (``ml.<run>.<service>_<Topic>``),
  with static membership (``group.instance.id``), so a restarted process takes its
  partition back at once instead of waiting for the dead member's session to expire.
  Its session timeout (:data:`SESSION_TIMEOUT_MS`) outlasts any broker restart a run
  allows: a static member whose session runs out while the broker is down rejoins
  under the same ``group.instance.id``, the restarted coordinator fences the member
  it still knows, and librdkafka makes that fence a fatal error of the consumer. A
  fatal consumer error ends the process with that error (the supervisor names it),
  never a consumer that silently stops;
- an **ack is a synchronous offset commit** of the next offset. Kafka's commits are
  cumulative and it has no per-message ``ack_wait``: a message whose offset is not
  committed is delivered again only when its partition is assigned anew (after a
  crash or a rebalance). For a delivery that failed, was withheld or whose commit the
  broker did not confirm, the consumer does what Kafka client libraries do for a
  retry (Spring Kafka's ``DefaultErrorHandler``, for one): it waits ``ack_wait`` and
  seeks back to that offset, holding the partition meanwhile, so order is kept;
- **dead letters are counted by the consumer**: its own delivery count (in the
  service's database) reaching ``max_deliver`` sends the message to the topic
  ``ml.<run>.dlq.<consumer>`` and commits past it;
- **publishes** wait for the broker's acknowledgement with ``acks=all``. Kafka has no
  message-id deduplication across producer sessions, so an outbox relay that
  publishes again after a crash stores a second copy; the idempotent consumer absorbs it.

The confluent-kafka client is synchronous (librdkafka threads underneath); its
blocking calls run in a small thread pool beside the process's asyncio loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from ...choreography.kinds import DEAD_LETTER
from ...errors import MicrolabError
from ..kafka_server import quiet_logger
from . import naming
from .client import ClientProcess
from .service import ServiceProcess
from .wire import decode, encode

#: How long a publish may wait for the broker before it counts as not acknowledged.
MESSAGE_TIMEOUT_MS = 2000
#: The consumers' session timeout: longer than a broker restart may take (a start is
#: bounded by KafkaServer's 60 s START_TIMEOUT). With 6 s, a broker that took longer
#: than that to come back (5-20 s at load 15-20 on two cores) fenced the consumers whose
#: session librdkafka had timed out meanwhile, and their runs never settled. A dead
#: member's session matters little here: each group has one static member, whose
#: restarted process takes its partition back at once.
SESSION_TIMEOUT_MS = 120_000


def _headers(env: dict) -> list[tuple[str, bytes]]:
    headers, _ = encode(env)
    return [(k, v.encode()) for k, v in headers.items()]


def _decode(m) -> dict:
    return decode({k: v.decode() for k, v in (m.headers() or [])}, m.value())


class _KafkaSide:
    """What both Kafka processes share: the producer and the thread pool."""

    BROKER = "Kafka"

    async def connect(self) -> None:
        """Make the producer (librdkafka reconnects by itself while the broker restarts)."""
        from confluent_kafka import Producer

        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kafka")
        self.loop = asyncio.get_running_loop()
        self.producer = Producer({"bootstrap.servers": self.config["url"], "acks": "all",
                                  "linger.ms": 0, "message.timeout.ms": MESSAGE_TIMEOUT_MS,
                                  "reconnect.backoff.max.ms": 200, "log_level": 0}, logger=quiet_logger())
        try:
            await self.blocking(self.producer.list_topics, None, 10.0)
        except Exception as exc:
            raise MicrolabError(f"{self.name} cannot reach the Kafka broker at {self.config['url']}: "
                                f"{type(exc).__name__} {exc}") from None

    async def blocking(self, fn, *args):
        """Run a blocking client call in the pool."""
        return await self.loop.run_in_executor(self.pool, fn, *args)

    def topic_of(self, topic: str) -> str:
        """The Kafka topic of events of ``topic``."""
        return naming.event_subject(self.run, topic)

    async def store_on_broker(self, topic: str, env: dict) -> tuple[int, bool]:
        """Produce ``env`` and wait for the delivery report: ``(offset, False)``; raises if not stored."""
        return await self.blocking(self._produce, topic, json_body(env), _headers(env)), False

    def _produce(self, topic: str, data: bytes, headers) -> int:
        report: list = []
        self.producer.produce(topic, data, headers=headers, on_delivery=lambda err, m: report.append((err, m)))
        deadline = MESSAGE_TIMEOUT_MS / 1000 + 1.0
        while not report and deadline > 0:
            self.producer.poll(0.1)
            deadline -= 0.1
        if not report:
            raise TimeoutError("no delivery report")
        err, m = report[0]
        if err is not None:
            raise MicrolabError(str(err))
        return m.offset()


def json_body(env: dict) -> bytes:
    """The payload as the message's value (the envelope travels in the headers)."""
    return encode(env)[1]


class KafkaServiceProcess(_KafkaSide, ServiceProcess):
    """One participant on Kafka (see the module docstring)."""

    REDELIVERY = "Kafka redelivery {attempt}: offset not committed"

    async def main(self) -> None:
        """Connect, join one consumer group per subscription, say ready once assigned, consume."""
        from confluent_kafka import Consumer

        await self.connect()
        tasks, assigned = [], []
        for reaction in self.participant.reactions.values():
            if reaction.command:
                topic = naming.command_subject(self.run, self.name, reaction.event)
            else:
                topic = naming.event_subject(self.run, reaction.event)
            consumer_name = naming.consumer_name(self.name, reaction.event, reaction.command)
            group = naming.kafka_group(self.run, consumer_name)
            flag = asyncio.Event()
            assigned.append(flag)
            consumer = Consumer({"bootstrap.servers": self.config["url"], "group.id": group,
                                 "group.instance.id": group, "enable.auto.commit": False,
                                 "auto.offset.reset": "earliest", "session.timeout.ms": SESSION_TIMEOUT_MS,
                                 "heartbeat.interval.ms": 500, "reconnect.backoff.max.ms": 200,
                                 "fetch.wait.max.ms": 50, "log_level": 0}, logger=quiet_logger())
            consumer.subscribe([topic], on_assign=lambda c, parts, flag=flag: self.loop.call_soon_threadsafe(flag.set))
            tasks.append(asyncio.create_task(self._consume(consumer, topic, consumer_name, reaction.command)))
        if self.outbox:
            tasks.append(asyncio.create_task(self._relay()))
        await asyncio.wait_for(asyncio.gather(*(f.wait() for f in assigned)), self.config.get("start_timeout", 30))
        self.ready()
        await asyncio.gather(*tasks)

    async def _consume(self, consumer, topic: str, consumer_name: str, command: bool) -> None:
        from confluent_kafka import TopicPartition

        max_deliver, ack_wait = self.config["max_deliver"], self.config["ack_wait"]
        while True:
            m = await self.blocking(consumer.poll, 0.25)
            if m is None:
                continue
            if m.error():
                if m.error().fatal():
                    # The consumer is unusable from here on (librdkafka: destroy it); a
                    # consumer that silently stops would only show as a run that never settles.
                    raise MicrolabError(f"the Kafka consumer {consumer_name} of {self.name} had a fatal error: "
                                        f"{m.error().str()}")
                continue  # transient (the broker is down or restarting): poll again
            env = _decode(m)
            position = TopicPartition(m.topic(), m.partition(), m.offset())
            nxt = TopicPartition(m.topic(), m.partition(), m.offset() + 1)

            async def commit(nxt=nxt):
                await self.blocking(lambda: consumer.commit(offsets=[nxt], asynchronous=False))

            async with self.lock:
                counted = self.store.deliveries(consumer_name, env["id"])
                if counted >= max_deliver:
                    await self._dead_letter(env, consumer_name, counted, topic)
                    await self._commit_until_done(commit)
                    continue
                acked = await self._handle(env, command, consumer_name, commit)
            if not acked:
                # No ack_wait in Kafka: hold the partition, then read the same offset again.
                await asyncio.sleep(ack_wait)
                await self.blocking(consumer.seek, position)

    async def _commit_until_done(self, commit) -> None:
        while True:
            try:
                await commit()
                return
            except Exception:
                await asyncio.sleep(0.1)

    async def _dead_letter(self, env: dict, consumer_name: str, receives: int, topic: str) -> None:
        # The consumer counts; the broker only stores the dead letter on its own topic.
        self.record(DEAD_LETTER, "broker", env, subscriber=self.name, receives=receives, topic=env["type"])
        dlq = naming.dead_letter_subject(self.run, consumer_name)
        while True:
            try:
                await self.blocking(self._produce, dlq, json_body(env), _headers(env))
                return
            except Exception:
                await asyncio.sleep(0.1)


class KafkaClientProcess(_KafkaSide, ClientProcess):
    """Places the run's orders on Kafka (dead letters are the consumers' own on Kafka)."""

    async def main(self) -> None:
        """Connect, say ready, wait for the start signal, place every order."""
        await self.connect()
        self.ready()
        await self.place_orders(self._produce_command)
        await asyncio.Event().wait()

    async def _produce_command(self, topic: str, env: dict) -> None:
        while True:
            # A retry after an unconfirmed produce may store a second copy: the owner
            # records it as a duplicate and its idempotency table ignores it.
            try:
                await self.store_on_broker(topic, env)
                return
            except Exception:
                await asyncio.sleep(0.05)
