"""Point-to-point choreography: services call each other directly, with no broker.

This is choreography as the course's first definition has it: each service knows, by
agreed rules, whom to tell next ("after reserving stock, tell payment"), and sends its
message straight to that service. There is no broker in the middle, so nothing
redelivers a lost message and nothing fans an event out to whoever subscribes: the
caller must know every service that needs to hear, and the delivery guarantees belong
to the two ends of each call.

How one reaction runs
---------------------
1. A call arrives (a command whose type names what happened, e.g. ``StockReserved``).
   Its identity is its message id: a re-sent call is the same message. An
   **idempotent** peer that has processed that id already records
   ``duplicate_ignored``, acknowledges again, and stops.
2. The reaction runs: state changes, business effects (``ctx.effect(...)``) and calls
   (``ctx.call("payment", "StockReserved", payload)``), each declared in ``calls``.
3. The state change is committed (the processed id remembered, if idempotent) and the
   caller's call is acknowledged (an ``Ack:<Type>`` reply to it). Then

   - with the **outbox on** (the caller's retry), each call the reaction made is
     stored in the peer's outbox with the state change, sent, and re-sent every
     ``retry_after`` seconds until the callee acknowledges it (``outbox_store``,
     ``outbox_relay``, ``outbox_confirm``): at-least-once, so the callee had better be
     idempotent;
   - with the **outbox off**, each call is sent once. A callee that is down, or a
     network that drops the call, loses it for good: at-most-once.

Compared with the broker's choreography (:class:`~microlab.choreography.Participant`)
a call costs one hop instead of two and no broker work, but a callee that is down
cannot be covered for by anybody but its caller.
"""

from __future__ import annotations
from ..errors import MicrolabError, did_you_mean
from ..messages import REPLY, Message
from ..services import NoHandlerError, Service
from .kinds import ACK_PREFIX, DUPLICATE_IGNORED, ack_type
from .outbox import Outbox, OutboxSender


class UndeclaredCallError(MicrolabError):
    """A reaction called a service (or sent a type) that it did not declare in ``calls``."""


class _Call:
    """The reaction being run: what it may call, and the calls it made."""

    __slots__ = ("allowed", "where", "outgoing")

    def __init__(self, allowed, where):
        self.allowed = allowed
        self.where = where
        self.outgoing: list = []


class Peer(OutboxSender, Service):
    """A service of a point-to-point choreography (see the module docstring).

    ``outbox`` (default True) keeps every call in a durable outbox and re-sends it every
    ``retry_after`` seconds, up to ``attempts`` times, until the callee acknowledges;
    ``idempotent`` (default True) remembers processed call ids and ignores repeats.

    Lifecycle: construct, declare reactions with :meth:`on`, add to a system (no broker
    needed); it may crash and restart, and on restart its outbox resumes re-sending.
    """

    role = "participant"

    def __init__(self, name: str | None = None, *, outbox: bool = True, idempotent: bool = True,
                 workers: int | None = None, work_time=None, retry_after: float = 1.0,
                 attempts: int = 20):
        super().__init__(name, workers=workers, work_time=work_time)
        for switch, value in (("outbox", outbox), ("idempotent", idempotent)):
            if not isinstance(value, bool):
                raise TypeError(f"peer {self.name!r}: the {switch} switch is True or False, got {value!r}")
        #: The caller's retry switch: calls are kept in the outbox until acknowledged.
        self.outbox = outbox
        #: Idempotent-callee switch: remember processed call ids and ignore repeats.
        self.idempotent = idempotent
        #: Reactions by message type: ``(fn, calls)`` where calls are ``(service, type)`` pairs.
        self.reactions: dict[str, tuple] = {}
        #: The peer's own data (it survives a crash: it stands for its database).
        self.state: dict = {}
        #: Ids of the calls already processed (used when idempotent).
        self.processed: set = set()
        #: Calls not yet acknowledged by their callee (used when ``outbox`` is on).
        self.outbox_table = Outbox(self, interval=retry_after, attempts=attempts)
        self._tx: _Call | None = None

    # -- declaring ------------------------------------------------------------------------

    def on(self, type: str, fn=None, *, calls=()):
        """Declare a reaction ``fn(msg, ctx)`` to calls of ``type``; ``calls`` lists the
        ``(service, type)`` pairs it may send. Without ``fn``, returns a decorator."""
        if fn is None:
            def decorator(f):
                self.on(type, f, calls=calls)
                return f
            return decorator
        pairs = tuple(tuple(c) for c in calls)
        for pair in pairs:
            if len(pair) != 2 or not all(isinstance(x, str) and x for x in pair):
                raise TypeError(f"{self.name}.on({type!r}): calls lists (service, type) pairs, got {pair!r}")
        self.reactions[type] = (fn, pairs)
        self.handlers[type] = fn
        return fn

    def describe(self) -> dict:
        """This peer's definition as plain data (for change impact): what it accepts and whom it calls."""
        calls = sorted({f"{to}:{t}" for _, pairs in self.reactions.values() for to, t in pairs})
        return {"accepts": sorted(self.reactions), "calls": calls,
                "reactions": [{"on": t, "calls": [f"{to}:{c}" for to, c in pairs]}
                              for t, (_, pairs) in self.reactions.items()],
                "outbox": self.outbox, "idempotent": self.idempotent}

    # -- acting (call from reactions) --------------------------------------------------------

    def call(self, to: str, type: str, payload=None) -> None:
        """Tell service ``to`` that ``type`` happened, in the current transaction."""
        tx = self._tx
        if tx is None:
            raise MicrolabError(f"{self.name}.call({to!r}, {type!r}) belongs inside a reaction")
        if (to, type) not in tx.allowed:
            declared = [f"({a!r}, {b!r})" for a, b in tx.allowed]
            raise UndeclaredCallError(
                f"{self.name} called {to} with {type!r} from its reaction to {tx.where}, which declares "
                f"calls=[{', '.join(declared)}]."
                + did_you_mean(f"{to}:{type}", [f"{a}:{b}" for a, b in tx.allowed], sentence=True)
                + " Declare every call, so that the system description knows who talks to whom.")
        tx.outgoing.append((to, type, payload))

    # -- lifecycle ---------------------------------------------------------------------------

    def on_restart(self) -> None:
        """Resume re-sending the unacknowledged calls (their timers died in the crash)."""
        if self.outbox_table:
            self.outbox_table.resume()

    # -- handling ----------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """Run the reaction to the call ``msg`` (see the module docstring)."""
        system = self.system
        from_peer = isinstance(system.services.get(msg.source), Peer)
        if self.idempotent and msg.id in self.processed:
            system.trace.record(system.sim.now, DUPLICATE_IGNORED, self.name, msg, event=msg.id)
            if from_peer:
                self.reply(msg, ack_type(msg.type))
            return
        found = self.reactions.get(msg.type)
        if found is None:
            raise NoHandlerError(f"{self.name} has no reaction to {msg.type!r} (from {msg.source})."
                                 + did_you_mean(msg.type, self.reactions, sentence=True)
                                 + f" It reacts to: {', '.join(self.reactions) or 'nothing yet'}.")
        fn, allowed = found
        tx = self._tx = _Call(allowed, msg.type)
        try:
            fn(msg, self)
        finally:
            self._tx = None
        if self.idempotent:
            self.processed.add(msg.id)
        entries = None
        if self.outbox and tx.outgoing:
            store = self.outbox_table.store
            # For a direct call the outbox's "topic" is the callee.
            entries = [store(type, to, payload, msg.correlation, msg) for to, type, payload in tx.outgoing]
        if from_peer:
            self.reply(msg, ack_type(msg.type))
        if entries:
            for entry in entries:
                self.outbox_table.relay(entry)
        elif tx.outgoing:
            for to, type, payload in tx.outgoing:
                self.send(to, type, payload)

    # -- internals -------------------------------------------------------------------------------

    relay_verb = "re-send"

    def _first_send(self, entry) -> Message:
        # The relay's first send of an entry: the call itself (the outbox's "topic" is the callee).
        return self.send(entry.topic, entry.type, entry.payload, correlation=entry.correlation)

    def _receive(self, msg: Message) -> None:
        # Acknowledgements are for the outbox relay (see OutboxSender).
        if msg.kind == REPLY and msg.type.startswith(ACK_PREFIX):
            self._confirm_beside_workers(msg)
            return
        super()._receive(msg)

    def __repr__(self) -> str:
        state = "up" if self.up else "DOWN"
        return (f"<Peer {self.name!r} {state} outbox={'on' if self.outbox else 'off'} "
                f"idempotent={'on' if self.idempotent else 'off'} reactions={list(self.reactions)} "
                f"unacknowledged={len(self.outbox_table)}>")

