"""The client process: places the run's orders on schedule, and dead-letters what JetStream gives up on.

Arrivals are the simulator's (same seed, same times from the start signal, same
correlation ids and payloads). Each request is a command published on the owner's
command subject; a publish the broker does not acknowledge is retried with the same
``Nats-Msg-Id``, so JetStream stores it once.

Dead letters: when a consumer reaches ``max_deliver`` without an ack, JetStream
publishes the advisory ``$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>``
(https://docs.nats.io/running-a-nats-service/nats_admin/monitoring/monitoring_jetstream).
This process reads the event back from the stream by its sequence number, records
``dead_letter`` for the broker, and republishes it on the consumer's dead-letter
subject (``ml.<run>.dlq.<consumer>``), where it stays in the stream for inspection.
"""

from __future__ import annotations

import asyncio
import json
import os

from ...choreography.kinds import DEAD_LETTER
from ...messages import COMMAND
from ...trace import SEND
from . import naming
from .service import Process
from .wire import decode, encode, envelope


class ClientProcess(Process):
    """Places orders and watches for dead letters (see the module docstring)."""

    async def main(self) -> None:
        """Connect, listen for advisories, say ready, wait for the start signal, place every order."""
        await self.connect()
        consumers = {c: tuple(st) for c, st in self.config["consumers"].items()}
        advisory = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.stream}.*"

        async def dead_letter(m) -> None:
            info = json.loads(m.data)
            service, topic = consumers.get(info.get("consumer"), (info.get("consumer"), None))
            raw = await self.js.get_msg(self.stream, info["stream_seq"])
            env = decode(raw.headers, raw.data)
            self.record(DEAD_LETTER, "broker", env, subscriber=service, receives=info.get("deliveries"),
                        topic=topic)
            headers, data = encode(env)
            headers["Nats-Msg-Id"] = f"{env['id']}.dlq.{info.get('consumer')}"
            await self._publish_until_acked(naming.dead_letter_subject(self.run, info["consumer"]), data, headers)

        await self.nc.subscribe(advisory, cb=dead_letter)
        self.ready()
        await self.place_orders(self._publish_command)
        await asyncio.Event().wait()  # keep dead-lettering until the supervisor stops us

    async def place_orders(self, place) -> None:
        """Wait for the start signal, then hand every order to ``await place(subject, env)`` at its time.

        The arrivals' times count from the start signal; each order is recorded as sent
        before it is placed. Marks the run's store done after the last.
        """
        go = os.path.join(self.config["dir"], "go")
        while not os.path.exists(go):
            await asyncio.sleep(0.01)
        start = self.now()
        owner, request = self.config["owner"], self.config["request"]
        subject = naming.command_subject(self.run, owner, request)
        for n, (corr, at, payload) in enumerate(self.config["arrivals"], 1):
            delay = start + at - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            env = envelope(f"client.{n}", COMMAND, request, "client", owner, None, corr, None, payload)
            self.record(SEND, "client", env)
            await place(subject, env)
        self.store.db.execute("INSERT OR REPLACE INTO meta VALUES ('done', '1')")

    async def _publish_command(self, subject: str, env: dict) -> None:
        headers, data = encode(env)
        await self._publish_until_acked(subject, data, headers)

    async def _publish_until_acked(self, subject: str, data: bytes, headers: dict) -> None:
        while True:
            try:
                await self.js.publish(subject, data, headers=headers, timeout=1.0)
                return
            except Exception:  # broker down: the same Nats-Msg-Id makes the retry safe
                await asyncio.sleep(0.05)
