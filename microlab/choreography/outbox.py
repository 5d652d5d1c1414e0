"""The transactional outbox: the event is committed with the state change, then relayed.

The problem it solves (the "dual write"): a service changes its own state and then
publishes an event. If it crashes in between, the state says "reserved" but nobody
ever hears "StockReserved", and the business transaction is stuck for ever.

With an outbox, the event is written into an outbox table in the *same* local
transaction as the state change, so either both happen or neither does. A relay then
sends each entry to the broker and re-sends it, every ``interval`` seconds, until the
broker confirms it (at-least-once; duplicates are for the consumer's idempotency to
absorb). The relay re-sends the *same* message (same id), as a real relay re-sends the
same outbox row, which is what gives the event a stable identity.

The table is an attribute of its participant, so it survives a crash; the relay
resumes when the participant restarts. After ``attempts`` tries without a confirm the
relay stops (``outbox_stuck``) so that a run with a dead broker still ends; the entry
stays in the table and :meth:`Outbox.resume` (or a restart) tries again.
"""

from __future__ import annotations

from ..errors import MicrolabError
from ..messages import Message
from ..trace import END, START
from ..words import count
from .kinds import OUTBOX_CONFIRM, OUTBOX_RELAY, OUTBOX_STORE, OUTBOX_STUCK


class OutboxEntry:
    """One event waiting in the outbox until the broker confirms it.

    ``cause`` is the message whose handling published it (its causation);
    ``message`` is the event message once the relay has sent it.
    """

    __slots__ = ("entry", "type", "topic", "payload", "correlation", "cause", "stored_at",
                 "message", "attempts", "tries", "token")

    def __init__(self, entry, type, topic, payload, correlation, cause, stored_at):
        self.entry = entry
        self.type = type
        self.topic = topic
        self.payload = payload
        self.correlation = correlation
        self.cause = cause
        self.stored_at = stored_at
        self.message: Message | None = None
        self.attempts = 0  # sends in total
        self.tries = 0     # sends since the last (re)start of the relay
        self.token = None  # the one live retry timer; older ones are ignored

    def __repr__(self) -> str:
        sent = f"sent as #{self.message.id}" if self.message is not None else "not sent yet"
        return f"<OutboxEntry {self.entry} {self.type} [{self.correlation}] {sent}, {count(self.attempts, 'attempt')}>"


class Outbox:
    """A participant's outbox table and its relay.

    Lifecycle: entries are ``store``-d at the end of a reaction (in its transaction),
    ``relay``-ed at once, re-sent every ``interval`` seconds, and removed when the
    broker's confirm arrives (``confirm``).
    """

    def __init__(self, owner, *, interval: float = 1.0, attempts: int = 20):
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ValueError(f"participant {owner.name!r}: relay_interval must be a positive number "
                             f"of seconds, got {interval!r}")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"participant {owner.name!r}: relay_attempts must be an integer >= 1, "
                             f"got {attempts!r}")
        self.owner = owner
        self.interval = float(interval)
        self.attempts = attempts
        #: Entries not yet confirmed, oldest first.
        self.entries: dict[int, OutboxEntry] = {}
        self.confirmed = 0
        self._by_message: dict[int, OutboxEntry] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(list(self.entries.values()))

    def store(self, type: str, topic: str, payload, correlation, cause: Message | None) -> OutboxEntry:
        """Add an event to the table (call it where the state change is committed)."""
        owner = self.owner
        system = owner.system
        self._seq += 1
        entry = OutboxEntry(self._seq, type, topic, payload, correlation, cause, system.sim.now)
        self.entries[entry.entry] = entry
        system.trace.record(system.sim.now, OUTBOX_STORE, owner.name, cause, type=type,
                            entry=entry.entry, correlation=correlation)
        return entry

    def relay(self, entry: OutboxEntry) -> None:
        """Send (or re-send) one entry to the broker and arm the retry."""
        owner = self.owner
        system = owner.system
        msg = owner._transmit(entry)
        if entry.message is None:
            entry.message = msg
            self._by_message[msg.id] = entry
        entry.attempts += 1
        entry.tries += 1
        system.trace.record(system.sim.now, OUTBOX_RELAY, owner.name, msg, entry=entry.entry,
                            attempt=entry.attempts)
        entry.token = token = (owner.incarnation, entry)
        system.sim.schedule(self.interval, self._due, token)

    def resume(self) -> None:
        """Relay every unconfirmed entry again, oldest first (after a restart or when stuck)."""
        for entry in list(self.entries.values()):
            entry.tries = 0
            self.relay(entry)

    def confirm(self, msg: Message) -> OutboxEntry | None:
        """The broker confirmed the event ``msg.causation``: the entry leaves the table.

        Returns None for a confirm of an entry already confirmed (a duplicate).
        """
        entry = self._by_message.get(msg.causation)
        if entry is None or entry.entry not in self.entries:
            return None
        del self.entries[entry.entry]
        self.confirmed += 1
        system = self.owner.system
        system.trace.record(system.sim.now, OUTBOX_CONFIRM, self.owner.name, entry.message,
                            entry=entry.entry, attempts=entry.attempts)
        return entry

    def _due(self, token) -> None:
        incarnation, entry = token
        owner = self.owner
        if (entry.entry not in self.entries or token is not entry.token
                or incarnation != owner.incarnation or not owner.up):
            return  # confirmed, superseded, or armed before a crash (a restart resumes the relay)
        if entry.tries >= self.attempts:
            system = owner.system
            system.trace.record(system.sim.now, OUTBOX_STUCK, owner.name, entry.message,
                                entry=entry.entry, attempts=entry.attempts)
            return
        self.relay(entry)


class OutboxSender:
    """The two ends of an outbox relay that a participant and a peer share (a mixin on a Service).

    ``_transmit`` is what the relay calls: the first send creates the message (caused by
    the message whose reaction stored the entry, through ``_first_send``), later sends
    re-send that same message, so the receiver recognises a repeat by its id.
    ``_confirm_beside_workers`` takes a confirmation: the relay runs beside the workers
    (as a relay process does), so it takes no worker and no work time, but it is still a
    start and an end in the trace, so every delivered message is seen handled (queue
    lengths and utilisation read these records).
    """

    #: What the relay does, in the error raised when the service is down ("relay", "re-send").
    relay_verb = "relay"

    def _first_send(self, entry: OutboxEntry) -> Message:
        raise NotImplementedError

    def _transmit(self, entry: OutboxEntry) -> Message:
        if entry.message is not None:
            if not self.up:
                raise MicrolabError(f"{self.name} is down and cannot {self.relay_verb} {entry.type!r}")
            self.system.network.transmit(entry.message)
            return entry.message
        saved, self._context = self._context, entry.cause
        try:
            return self._first_send(entry)
        finally:
            self._context = saved

    def _confirm_beside_workers(self, msg: Message) -> None:
        trace = self.system.trace
        now = self.system.sim.now
        trace.record(now, START, self.name, msg)
        self.outbox_table.confirm(msg)
        trace.record(now, END, self.name, msg)
