"""One participant as its own OS process: durable consumers, explicit acks, outbox, idempotency.

Run by the supervisor as ``python -m microlab.real.broker.process CONFIG NAME FAULTS``.
The process builds the flow's participants exactly as the simulator does, keeps the
one called NAME and runs its reactions on JetStream deliveries:

1. One **durable pull consumer per subscription** (``<service>_<Topic>``), explicit
   acks, ``ack_wait`` and ``max_deliver`` from the run. A delivery not acked in time
   is delivered again; after ``max_deliver`` tries JetStream gives up on it and the
   client process dead-letters it (see :mod:`~microlab.real.broker.client`).
2. One reaction at a time (one worker, as the simulator's default). Its effects, the
   participant's state, the processed id (idempotency on) and the outgoing events
   (outbox on) commit in ONE SQLite transaction (:mod:`~microlab.real.broker.store`).
3. Outbox on: the delivery is acked after the commit, and the relay (a task beside the
   worker) publishes each entry until JetStream acknowledges it, then deletes it.
   Outbox off: the events are published right after the commit, then the delivery is
   acked: the dual write, with its window between commit and publish.
4. Idempotency on: a delivery whose event id is in the processed table is acked and
   ignored (``duplicate_ignored``). Off: it runs again.

Every step appends a trace record with ``time.monotonic()`` minus the run's start
(one clock for every process on the machine) to the process's database.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import traceback

from ...choreography.kinds import (ACK, DUPLICATE_IGNORED, DUPLICATE_PUBLISH, EVENT_LOST,
                                   OUTBOX_CONFIRM, OUTBOX_RELAY, OUTBOX_STORE, PUBLISH, REDELIVER,
                                   ack_type, confirm_type)
from ...errors import MicrolabError
from ...messages import COMMAND, EVENT, REPLY
from ...scenarios.knobs import Knobs
from ...trace import CRASH, DELIVER, DROP, DUPLICATE, EFFECT, END, FAIL, SEND, START
from . import naming
from .flows import real_flow, restore_state
from .store import Store
from .wire import decode, encode, envelope, to_message

__all__ = ["Process", "ServiceProcess"]


async def _quiet(*_args) -> None:
    # nats-py prints every disconnect by default; a killed broker is part of the plan.
    return None


class Process:
    """What the service and client processes share: config, clock, store, connection."""

    def __init__(self, config: dict, name: str, faults: dict):
        self.config = config
        self.name = name
        self.faults = faults
        self.run = config["run"]
        self.stream = naming.stream_name(self.run)
        self.store = Store(os.path.join(config["dir"], f"{name}.sqlite"))
        self.t0 = config["t0"]
        self.nc = None
        self.js = None
        self._ids = 0

    def now(self) -> float:
        """Seconds since the run started, on the machine-wide monotonic clock."""
        return time.monotonic() - self.t0

    def record(self, kind, service, message=None, **detail) -> None:
        """Append a trace record now."""
        self.store.record(self.now(), kind, service, message, **detail)

    def new_id(self) -> str:
        """A message id no other process or incarnation can pick."""
        self._ids += 1
        return f"{self.name}.{self.store.incarnation}.{self._ids}"

    async def connect(self) -> None:
        """Connect to the broker (reconnecting for ever after) and make sure the stream exists."""
        import nats
        from nats.js.api import StorageType, StreamConfig

        try:
            self.nc = await nats.connect(self.config["url"], connect_timeout=2, max_reconnect_attempts=-1,
                                         reconnect_time_wait=0.05, allow_reconnect=True,
                                         error_cb=_quiet, disconnected_cb=_quiet, reconnected_cb=_quiet)
        except Exception as exc:
            raise MicrolabError(f"{self.name} cannot reach the broker at {self.config['url']}: "
                                f"{type(exc).__name__} {exc}") from None
        self.js = self.nc.jetstream(timeout=2.0)
        config = StreamConfig(name=self.stream, subjects=[naming.prefix(self.run) + ".>"],
                              storage=StorageType.FILE, duplicate_window=120.0)
        try:
            await self.js.add_stream(config)
        except Exception:
            await self.js.stream_info(self.stream)  # made by another process at the same moment

    def ready(self) -> None:
        """Tell the supervisor this incarnation is up."""
        path = os.path.join(self.config["dir"], "ready", f"{self.name}.{self.store.incarnation}")
        with open(path, "w") as fh:
            fh.write(str(os.getpid()))

    #: The broker's name in trace details.
    BROKER = "JetStream"

    def topic_of(self, topic: str) -> str:
        """The subject on which events of ``topic`` are published."""
        return naming.event_subject(self.run, topic)

    async def store_on_broker(self, subject: str, env: dict) -> tuple[int, bool]:
        """Publish ``env`` and wait for the broker to store it: ``(sequence, was a duplicate)``."""
        headers, data = encode(env)
        ack = await self.js.publish(subject, data, headers=headers, timeout=1.0)
        return ack.seq, ack.duplicate

    async def publish(self, env: dict, subject: str, entry: int | None = None, attempt: int = 1) -> bool:
        """Publish ``env``; record the broker's side when JetStream acknowledges it."""
        self.record(SEND, env["source"], env)
        if entry is not None:
            self.record(OUTBOX_RELAY, self.name, env, entry=entry, attempt=attempt)
        try:
            seq, duplicate = await self.store_on_broker(subject, env)
        except Exception as exc:
            self.record(DROP, "broker", env, reason=f"{self.BROKER} did not acknowledge the publish "
                                                    f"({type(exc).__name__}): the broker is down or unreachable")
            return False
        topic = env["topic"]
        # The broker's side, as the simulator's broker records it, written by the client
        # that observed it: JetStream's acknowledgement says the event was stored.
        self.record(DELIVER, "broker", env)
        self.record(START, "broker", env)
        if duplicate:
            self.record(DUPLICATE_PUBLISH, "broker", env, topic=topic or env["destination"])
        else:
            self.record(PUBLISH, "broker", env, topic=topic or env["destination"],
                        subscribers=self.config["subscribers"].get(topic or "", []), stream_seq=seq)
        self.record(END, "broker", env)
        if env["kind"] == EVENT:
            # The publish acknowledgement is JetStream's confirm, the simulator's Confirm:<Type>.
            confirm = envelope(f"{env['id']}.confirm.{self.store.incarnation}.{attempt}", REPLY,
                               confirm_type(env["type"]), "broker", env["source"], None,
                               env["correlation"], env["id"])
            self.record(SEND, "broker", confirm)
            self.record(DELIVER, env["source"], confirm)
            self.record(START, env["source"], confirm)
            if entry is not None:
                self.record(OUTBOX_CONFIRM, self.name, env, entry=entry, attempts=attempt)
            self.record(END, env["source"], confirm)
        return True


class _Context:
    """What a reaction sees as ``ctx``: the participant's state, publish, effect, random, now."""

    def __init__(self, process: "ServiceProcess", message: dict, reaction):
        self.process = process
        self.name = process.name
        self.state = process.participant.state
        self.random = process.random
        self.message = message
        self.reaction = reaction
        self.effects: list = []
        self.outgoing: list = []

    @property
    def now(self) -> float:
        """Seconds since the run started."""
        return self.process.now()

    def publish(self, type: str, payload=None, *, correlation=None) -> None:
        """Publish an event from the reaction (committed or sent when it returns)."""
        if type not in self.reaction.publishes and type not in self.process.participant.extra_publishes:
            raise MicrolabError(f"{self.name} published {type!r} from its reaction to "
                                f"{self.reaction.event}, which declares publishes={self.reaction.publishes}")
        corr = self.message["correlation"] if correlation is None else correlation
        self.outgoing.append(envelope(self.process.new_id(), EVENT, type, self.name, "broker", type, corr,
                                      self.message["id"], payload))

    def effect(self, name: str, **detail) -> None:
        """Record a business effect; it commits with the reaction's transaction."""
        self.effects.append((self.process.now(), EFFECT, self.name, self.message, dict(effect=name, **detail)))


class ServiceProcess(Process):
    """One participant of the flow on the real broker (see the module docstring)."""

    def __init__(self, config: dict, name: str, faults: dict):
        super().__init__(config, name, faults)
        knobs = Knobs.make(**config["knobs"])
        participants = {p.name: p for p in real_flow(config["flow"]).participants(knobs)}
        if name not in participants:
            raise MicrolabError(f"the flow has no participant called {name!r}; it has {', '.join(participants)}")
        self.participant = participants[name]
        saved = self.store.load_state()
        if saved:
            restore_state(self.participant.state, saved)
        self.outbox = knobs.outbox
        self.idempotent = knobs.idempotent
        # One generator per incarnation: a restarted service draws afresh, as a real one would.
        self.random = random.Random(f"{knobs.seed}:{name}:{self.store.incarnation}")
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.kill_before_publish = int(faults.get("kill_before_publish", 0))
        withhold = faults.get("withhold_acks") or {}
        self.withhold = int(withhold.get("count", 0))
        self.withhold_topic = withhold.get("topic")

    async def main(self) -> None:
        """Connect, bind the durable consumers, say ready, then consume for ever."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        await self.connect()
        tasks = []
        for reaction in self.participant.reactions.values():
            if reaction.command:
                subject = naming.command_subject(self.run, self.name, reaction.event)
            else:
                subject = naming.event_subject(self.run, reaction.event)
            durable = naming.consumer_name(self.name, reaction.event, reaction.command)
            cc = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                ack_wait=self.config["ack_wait"], max_deliver=self.config["max_deliver"],
                                deliver_policy=DeliverPolicy.ALL, filter_subject=subject)
            sub = await self.js.pull_subscribe(subject, durable=durable, stream=self.stream, config=cc)
            tasks.append(asyncio.create_task(self._pull(sub, reaction.command)))
        if self.outbox:
            tasks.append(asyncio.create_task(self._relay()))
        self.ready()
        await asyncio.gather(*tasks)

    async def _pull(self, sub, command: bool) -> None:
        import nats.errors

        while True:
            try:
                msgs = await sub.fetch(1, timeout=0.25)
            except nats.errors.TimeoutError:
                continue
            except Exception:  # the broker is down or restarting: try again shortly
                await asyncio.sleep(0.05)
                continue
            for m in msgs:
                async with self.lock:
                    # Not acked (withheld, failed or the ack lost): JetStream delivers it
                    # again after ack_wait by itself, and dead-letters it after max_deliver.
                    await self._handle(decode(m.headers, m.data), command, self._consumer_of(m),
                                       lambda m=m: m.ack_sync(timeout=1.0))

    @staticmethod
    def _consumer_of(m) -> str:
        return m.metadata.consumer or ""

    #: Why a command arrives again, as the DUPLICATE record says.
    REDELIVERY = "JetStream redelivery {attempt}: no ack within ack_wait"

    async def _handle(self, env: dict, command: bool, consumer: str, ack) -> bool:
        """Run the reaction to one delivery of ``env``; True when the delivery was acked.

        ``ack`` is a coroutine function that acknowledges the delivery to the broker (and
        raises if the broker does not confirm it). The attempt number is the service's own
        count (:meth:`~microlab.real.broker.store.Store.count_delivery`), committed in one
        transaction with the delivery's trace records.
        """
        store = self.store
        store.begin()
        try:
            attempt = store.count_delivery(consumer, env["id"])
            if command:
                msg = env
                if attempt > 1:
                    # A command delivered again is one more copy of the same message.
                    self.record(DUPLICATE, env["source"], msg, reason=self.REDELIVERY.format(attempt=attempt))
            else:
                msg = envelope(f"{env['id']}>{self.name}.{store.incarnation}.{attempt}", EVENT, env["type"],
                               "broker", self.name, env["topic"], env["correlation"], env["id"], env["payload"])
                if attempt > 1:
                    self.record(REDELIVER, "broker", msg, subscriber=self.name, event=env["id"], attempt=attempt)
                self.record(SEND, "broker", msg)
            self.record(DELIVER, self.name, msg)
            self.record(START, self.name, msg)
            store.commit()
        except BaseException:
            store.rollback()
            raise
        key = env["id"]
        if self.idempotent and self.store.was_processed(key):
            self.record(DUPLICATE_IGNORED, self.name, msg, event=key)
            acked = await self._ack_unless_withheld(ack, msg, key, attempt)
            self.record(END, self.name, msg)
            return acked
        reaction = self.participant.reactions[env["type"]]
        ctx = _Context(self, msg, reaction)
        try:
            if reaction.takes_ctx:
                reaction.fn(to_message(msg), ctx)
            else:
                reaction.fn(to_message(msg))
        except Exception as exc:
            # Not acked: delivered again later, and dead-lettered in the end.
            self.record(FAIL, self.name, msg, error=f"{type(exc).__name__}: {exc}")
            return False
        store.begin()
        try:
            for rec in ctx.effects:
                store.record(rec[0], rec[1], rec[2], rec[3], **rec[4])
            store.save_state(self.participant.state)
            if self.idempotent:
                store.mark_processed(key)
            if self.outbox:
                for out in ctx.outgoing:
                    entry = store.store_outgoing(out)
                    self.record(OUTBOX_STORE, self.name, msg, type=out["type"], entry=entry,
                                correlation=out["correlation"])
            store.commit()
        except BaseException:
            store.rollback()
            raise
        if ctx.outgoing and self.kill_before_publish > 0:
            self.kill_before_publish -= 1
            if self.kill_before_publish == 0:
                self._die_before_publish(msg, ctx.outgoing)
        if not self.outbox:
            for out in ctx.outgoing:
                await self.publish(out, self.topic_of(out["topic"]))
        acked = await self._ack_unless_withheld(ack, msg, key, attempt)
        self.record(END, self.name, msg)
        if self.outbox and ctx.outgoing:
            self.wake.set()
        return acked

    def _die_before_publish(self, msg: dict, outgoing: list) -> None:
        # The fault plan's "kill between commit and publish": the process kills itself with
        # SIGKILL here, after the commit and before any publish, which no test could time
        # from outside. Without an outbox the events existed only in memory.
        if not self.outbox:
            for out in outgoing:
                self.record(EVENT_LOST, self.name, msg, type=out["type"], correlation=out["correlation"],
                            reason=f"{self.name} was killed after its commit and before publishing "
                                   f"{out['type']}; without an outbox the event existed only in memory")
        self.record(CRASH, self.name, reason="kill -9 between its database commit and its publish")
        os.kill(os.getpid(), signal.SIGKILL)

    async def _ack_unless_withheld(self, ack, msg: dict, key: str, attempt: int) -> bool:
        if self.withhold > 0 and self.withhold_topic in (None, msg["type"]):
            self.withhold -= 1  # the fault plan's redelivery storm: handled, never acked
            return False
        return await self._ack(ack, msg, key, attempt)

    async def _ack(self, ack_fn, msg: dict, key: str, attempt: int) -> bool:
        ack = envelope(f"{msg['id']}.ack.{self.store.incarnation}.{attempt}", REPLY, ack_type(msg["type"]), self.name,
                       "broker", None, msg["correlation"], msg["id"])
        self.record(SEND, self.name, ack)
        try:
            await ack_fn()
        except Exception as exc:
            self.record(DROP, "broker", ack, reason=f"the broker did not confirm the ack ({type(exc).__name__})")
            return False
        self.record(DELIVER, "broker", ack)
        self.record(START, "broker", ack)
        self.record(ACK, "broker", ack, subscriber=self.name, event=key, attempt=attempt)
        self.record(END, "broker", ack)
        return True

    async def _relay(self) -> None:
        # The outbox relay: publish every entry until JetStream acknowledges it. It runs
        # beside the worker, and resumes on restart from what the table still holds.
        interval = self.config["relay_interval"]
        while True:
            try:
                await asyncio.wait_for(self.wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self.wake.clear()
            for entry, env, _attempts in self.store.pending():
                attempt = self.store.attempted(entry)
                if not await self.publish(env, self.topic_of(env["topic"]), entry, attempt):
                    break
                self.store.confirmed(entry)


def describe_failure(exc: BaseException) -> str:
    """One line for the supervisor's error message (the traceback's last frame, then the error)."""
    if isinstance(exc, MicrolabError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
