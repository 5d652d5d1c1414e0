"""Participants: event-driven services with an outbox switch and an idempotency switch.

A participant reacts to events it subscribes to (and to commands sent straight to it)
and publishes events of its own through the broker. See
:mod:`microlab.choreography.reactions` for how reactions are declared.

How one reaction runs (its local transaction)
---------------------------------------------
1. A delivery arrives from the broker. Its identity is the published event's id
   (:func:`~microlab.choreography.kinds.event_id`). An **idempotent** participant that
   has processed that id already records ``duplicate_ignored``, acks, and stops.
2. The reaction runs: it changes the participant's state (``ctx.state``, attributes),
   records business effects (``ctx.effect("charge", amount=30)``) and publishes.
3. The state change is committed: the processed id is remembered (if idempotent) and

   - with the **outbox on**, the events it published are stored in the outbox in the
     same commit (``outbox_store``); the delivery is acked; the relay sends them to
     the broker and re-sends until the broker confirms (``outbox_relay``,
     ``outbox_confirm``). Nothing between the state change and the broker can lose them.
   - with the **outbox off**, each ``publish`` sends at once, after the state change
     (and the processed id) were committed: the classic dual write. The delivery is
     acked when the reaction returns.

4. If the reaction raises, nothing is acked, so the broker redelivers it (and after
   ``max_receive_count`` tries dead-letters it); the outbox entries of that attempt
   are discarded. The simulator cannot undo attribute changes, so a reaction should
   decide before it changes state.

Crashing between the state change and the publish
-------------------------------------------------
:meth:`Participant.crash_before_publish` arms a crash at the next publish: after the
state change is committed and before the event reaches the broker.

- Outbox off: the event only ever existed in memory. The trace records ``event_lost``
  and the crash. The delivery was not acked, so the broker redelivers it: an
  idempotent participant recognises it and does nothing (the event is lost for good,
  the business transaction is stuck); a non-idempotent one runs the reaction again
  (the effect is applied twice, but the event is published this time).
- Outbox on: the event is in the outbox, which survives the crash; the relay sends it
  when the participant restarts. Nothing is lost or applied twice.

What survives a crash
---------------------
Attributes are the service's database: ``state``, ``processed`` and the outbox table
survive. The mailbox and the work in progress are lost (as for every service).

One unit, longer than most modules, because the steps of a local transaction (dedupe,
react, outbox, publish, ack) all act on one participant's state and its crash rules.
"""

from __future__ import annotations

import functools

from ..errors import MicrolabError, did_you_mean
from ..messages import EVENT, REPLY, Message
from ..services import NoHandlerError, Service
from .kinds import DUPLICATE_IGNORED, EVENT_LOST, ack_type
from .outbox import Outbox, OutboxSender
from .reactions import Reaction, check_publishes, class_reactions, make_reaction


class UndeclaredEventError(MicrolabError):
    """A reaction published an event type that it did not declare in ``publishes``."""


class _Transaction:
    """The reaction being run: what it may publish, what it published, whether it committed."""

    __slots__ = ("reaction", "key", "outgoing", "committed")

    def __init__(self, reaction: Reaction, key):
        self.reaction = reaction
        self.key = key
        self.outgoing: list | None = None
        self.committed = False


class Participant(OutboxSender, Service):
    """An event-driven service: reactions, publishing, outbox and idempotent consumer.

    ``outbox`` (default True) commits published events with the state change and relays
    them until the broker confirms; ``idempotent`` (default True) remembers processed
    event ids and ignores duplicates. Both are switches that may be flipped between
    runs. ``broker`` names the broker service; ``publishes`` lists event types published
    outside reactions (from ``on_start`` or timers); ``relay_interval`` and
    ``relay_attempts`` tune the outbox relay.

    Lifecycle: construct, declare reactions (``@p.on(...)`` or ``on_<Type>`` methods),
    add to a system with a :class:`~microlab.choreography.broker.Broker`; when the
    system starts, it subscribes to every event it reacts to. It may crash and restart;
    on restart, the outbox relay resumes.
    """

    role = "participant"

    def __init__(self, name: str | None = None, *, outbox: bool = True, idempotent: bool = True,
                 broker: str = "broker", publishes=(), workers: int | None = None,
                 work_time=None, relay_interval: float = 1.0, relay_attempts: int = 20):
        super().__init__(name, workers=workers, work_time=work_time)
        self._outbox = _switch(outbox, "outbox", self.name)
        #: Idempotent-consumer switch: remember processed ids and ignore duplicates.
        self.idempotent = _switch(idempotent, "idempotent", self.name)
        #: The name of the broker service this participant publishes to and subscribes at.
        self.broker_name = broker
        #: Event types this participant may publish outside its reactions.
        self.extra_publishes = check_publishes(publishes, f"participant {self.name!r}")
        #: Reactions by event (or command) type, in declaration order.
        self.reactions: dict[str, Reaction] = class_reactions(self.handlers)
        #: The participant's own data (it survives a crash: it stands for its database).
        self.state: dict = {}
        #: Ids of the events and commands already processed (used when idempotent).
        self.processed: set = set()
        #: The outbox table and its relay (used when ``outbox`` is on).
        self.outbox_table = Outbox(self, interval=relay_interval, attempts=relay_attempts)
        self._tx: _Transaction | None = None
        self._crash_plan: list | None = None  # [times left, downtime]
        self._wired = False
        self._resumed = 0

    def __init_subclass__(cls, **kwargs):
        # A subclass that overrides on_start or on_restart and forgets super() would
        # silently lose its subscriptions or its outbox relay: wire them in regardless.
        super().__init_subclass__(**kwargs)
        for hook, first in (("on_start", "_wire"), ("on_restart", "_resume")):
            fn = cls.__dict__.get(hook)
            if fn is not None and not getattr(fn, "_participant_hook", False):
                setattr(cls, hook, _run_first(first, fn))

    # -- the switches ---------------------------------------------------------------------

    @property
    def outbox(self) -> bool:
        """Transactional-outbox switch (see the module docstring)."""
        return self._outbox

    @outbox.setter
    def outbox(self, on: bool) -> None:
        self._outbox = _switch(on, "outbox", self.name)
        if self._wired:
            self._broker().register_publisher(self.name, confirm=self._outbox or bool(self.outbox_table))

    # -- declaring ------------------------------------------------------------------------

    def on(self, event: str, fn=None, *, publishes=(), command: bool = False):
        """Declare a reaction to ``event``: ``fn(event, ctx)`` (or ``fn(event)``).

        ``publishes`` lists every event type the reaction may publish; ``command=True``
        makes it a reaction to a command sent straight to this service. Without
        ``fn``, returns a decorator.
        """
        if fn is None:
            def decorator(f):
                self.on(event, f, publishes=publishes, command=command)
                return f
            return decorator
        reaction = make_reaction(event, fn, publishes, command, where=f"{self.name}.on({event!r})")
        self.reactions[event] = reaction
        self.handlers[event] = fn
        if self._wired and not command:
            self._broker().subscribe(self.name, event)
        return fn

    @property
    def subscribes(self) -> list[str]:
        """The event types this participant subscribes to, in declaration order."""
        return [r.event for r in self.reactions.values() if not r.command]

    @property
    def commands(self) -> list[str]:
        """The command types this participant accepts, in declaration order."""
        return [r.event for r in self.reactions.values() if r.command]

    @property
    def publishes(self) -> list[str]:
        """Every event type this participant may publish, in declaration order."""
        seen: dict = {}
        for r in self.reactions.values():
            for event in r.publishes:
                seen.setdefault(event, None)
        for event in self.extra_publishes:
            seen.setdefault(event, None)
        return list(seen)

    def describe(self) -> dict:
        """This participant's definition as plain data (for change-impact comparisons).

        Its subscriptions are part of it: in choreography a consumer owns what it
        listens to.
        """
        return {"commands": sorted(self.commands), "publishes": sorted(self.publishes),
                "subscribes": sorted(self.subscribes),
                "reactions": [r.describe() for r in self.reactions.values()],
                "outbox": self._outbox, "idempotent": self.idempotent}

    # -- acting (call these from reactions) -------------------------------------------------

    def publish(self, type: str, payload=None, *, correlation=None) -> None:
        """Publish an event of ``type`` (its topic is its type) in the current transaction.

        Outbox on: stored with the state change, relayed when the reaction ends. Outbox
        off: sent to the broker now. Outside a reaction, ``correlation=`` is needed.
        """
        tx = self._tx
        allowed = tx.reaction.publishes if tx is not None else self.publishes
        if type not in allowed and type not in self.extra_publishes:
            self._undeclared(type, tx)
        if correlation is None:
            ctx = self._context
            if ctx is None:
                raise MicrolabError(f"{self.name}.publish({type!r}) outside a reaction needs "
                                    "correlation=... (the business transaction it belongs to)")
            correlation = ctx.correlation
        if self._outbox:
            if tx is not None:
                if tx.outgoing is None:
                    tx.outgoing = []
                tx.outgoing.append((type, payload, correlation))
                return
            entry = self.outbox_table.store(type, type, payload, correlation, self._context)
            if not self._maybe_crash(None):
                self.outbox_table.relay(entry)
            return
        if tx is not None and not tx.committed:
            self._commit(tx)
        if self._maybe_crash((type, correlation)):
            return
        self.emit(self.broker_name, type, payload, correlation=correlation)

    def crash_before_publish(self, times: int = 1, *, downtime: float | None = 1.0) -> None:
        """Crash at the next ``times`` publishes, after the state change, before the broker.

        The participant restarts ``downtime`` seconds later (never, if None). See the
        module docstring for what the outbox switch changes.
        """
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise ValueError(f"{self.name}.crash_before_publish: times must be an integer >= 0, got {times!r}")
        if downtime is not None and (isinstance(downtime, bool) or not isinstance(downtime, (int, float))
                                     or downtime < 0):
            raise ValueError(f"{self.name}.crash_before_publish: downtime must be seconds >= 0 or None, "
                             f"got {downtime!r}")
        self._crash_plan = [times, downtime] if times else None

    def relay_outbox(self) -> None:
        """Have the outbox relay try every unconfirmed entry again (e.g. after ``outbox_stuck``)."""
        self.outbox_table.resume()

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Subscribe to every event reacted to, and register as a publisher at the broker."""
        self._wire()

    def on_restart(self) -> None:
        """Resume the outbox relay (its timers died in the crash)."""
        self._resume()

    def on_crash(self) -> None:
        """Forget the reaction in progress (the outbox and processed ids are durable)."""
        self._tx = None

    # -- handling ----------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """Run the reaction to ``msg`` in a local transaction (see the module docstring)."""
        delivery = msg.kind == EVENT and msg.source == self.broker_name
        key = msg.causation if delivery else msg.id
        if self.idempotent and key in self.processed:
            self.system.trace.record(self.system.sim.now, DUPLICATE_IGNORED, self.name, msg, event=key)
            if delivery:
                self.reply(msg, ack_type(msg.type))
            return
        reaction = self.reactions.get(msg.type)
        if reaction is None:
            self._no_reaction(msg)
        tx = self._tx = _Transaction(reaction, key)
        try:
            if reaction.takes_ctx:
                reaction.fn(msg, self)
            else:
                reaction.fn(msg)
        finally:
            self._tx = None
        if not tx.committed:
            self._commit(tx)
        entries = None
        if tx.outgoing:
            store = self.outbox_table.store
            entries = [store(type, type, payload, correlation, msg)
                       for type, payload, correlation in tx.outgoing]
            self._maybe_crash(None)
        if delivery:
            self.reply(msg, ack_type(msg.type))
        if entries:
            relay = self.outbox_table.relay
            for entry in entries:
                relay(entry)

    # -- internals -------------------------------------------------------------------------------

    def _commit(self, tx: _Transaction) -> None:
        tx.committed = True
        if self.idempotent:
            self.processed.add(tx.key)

    def _maybe_crash(self, lost) -> bool:
        # Inside a handler or a timer, crash() unwinds it; elsewhere (on_start) it returns.
        plan = self._crash_plan
        if plan is None:
            return False
        plan[0] -= 1
        if plan[0] <= 0:
            self._crash_plan = None
        system = self.system
        if lost is not None:
            type, correlation = lost
            reason = (f"{self.name} crashed after its state change and before publishing {type}; "
                      "without an outbox the event existed only in memory")
            system.trace.record(system.sim.now, EVENT_LOST, self.name, self._context, type=type,
                                correlation=correlation, reason=reason)
            why = "injected crash before publish (event lost: no outbox)"
        else:
            why = "injected crash before publish (the event waits in the outbox)"
        if plan[1] is not None:
            system.sim.schedule(plan[1], self._restart_after_crash)
        self.crash(why)
        return True

    def _restart_after_crash(self, _unused) -> None:
        self.restart()

    def _first_send(self, entry) -> Message:
        # The relay's first send of an entry: the event message, to the broker.
        return self.emit(self.broker_name, entry.type, entry.payload, topic=entry.topic,
                         correlation=entry.correlation)

    def _receive(self, msg: Message) -> None:
        # The broker's confirms are for the outbox relay (see OutboxSender).
        if msg.kind == REPLY and msg.source == self.broker_name:
            self._confirm_beside_workers(msg)
            return
        super()._receive(msg)

    def _broker(self):
        from .broker import Broker  # a participant module that does not need a broker imports none

        system = self._system()
        broker = system.services.get(self.broker_name)
        if not isinstance(broker, Broker):
            found = "no such service" if broker is None else f"{broker!r}, which is not a Broker"
            raise MicrolabError(
                f"{self.name} publishes and subscribes through a broker called {self.broker_name!r}, "
                f"but the system has {found}. Add one: system.add(Broker()) (or pass broker='name' "
                "to the participant)")
        return broker

    def _wire(self) -> None:
        if self._wired:
            return
        if not self.subscribes and not self.publishes:
            self._wired = True
            return
        broker = self._broker()
        for event in self.subscribes:
            broker.subscribe(self.name, event)
        broker.register_publisher(self.name, confirm=self._outbox or bool(self.outbox_table))
        self._wired = True

    def _resume(self) -> None:
        if self._resumed == self.incarnation:
            return
        self._resumed = self.incarnation
        if self.outbox_table:
            self.outbox_table.resume()

    def _undeclared(self, type: str, tx: _Transaction | None):
        allowed = list(tx.reaction.publishes if tx is not None else self.publishes) + list(self.extra_publishes)
        where = (f"its reaction {tx.reaction.name!r} to {tx.reaction.event}" if tx is not None
                 else "outside a reaction")
        fix = (f"@{self.name}.on({tx.reaction.event!r}, publishes=(..., {type!r}))" if tx is not None
               else f"Participant({self.name!r}, publishes=({type!r},))")
        raise UndeclaredEventError(
            f"{self.name} published {type!r} from {where}, which declares publishes="
            f"{tuple(allowed)}." + did_you_mean(type, allowed, sentence=True)
            + f" If it is meant, declare it ({fix}), so that the system description knows "
            "who publishes it.")

    def _no_reaction(self, msg: Message):
        raise NoHandlerError(
            f"{self.name} has no reaction to {msg.type!r} ({msg.kind} from {msg.source})."
            + did_you_mean(msg.type, self.reactions, sentence=True)
            + f" Declare one with @{self.name}.on({msg.type!r}, publishes=(...))"
            + (" (command=True for a command)" if msg.kind != EVENT else "")
            + f". It reacts to: {', '.join(self.reactions) or 'nothing yet'}.")

    def __repr__(self) -> str:
        state = "up" if self.up else "DOWN"
        return (f"<Participant {self.name!r} {state} outbox={'on' if self._outbox else 'off'} "
                f"idempotent={'on' if self.idempotent else 'off'} reactions={list(self.reactions)} "
                f"outbox_pending={len(self.outbox_table)}>")


def _switch(value, name: str, service: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"participant {service!r}: the {name} switch is True or False, got {value!r}")
    return value


def _run_first(method: str, fn):
    @functools.wraps(fn)
    def hook(self):
        getattr(self, method)()
        fn(self)
    hook._participant_hook = True
    return hook
