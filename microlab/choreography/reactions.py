"""Reactions: "on OrderPlaced: reserve stock, then publish StockReserved or StockRejected".

A reaction is the unit of a choreography. It names the event it reacts to, the code
that reacts, and every event type that code may publish. The declaration is what a
system description reads, so it must be true: publishing a type that the reaction did
not declare is an error, not a silent surprise.

Two ways to write one. On an instance, with a decorator (reads well in a notebook)::

    inventory = Participant("inventory")

    @inventory.on("OrderPlaced", publishes=("StockReserved", "StockRejected"))
    def reserve(event, ctx):
        ...
        ctx.publish("StockReserved", event.payload)

or in a class, with methods named after the event (``ctx`` is then ``self``)::

    class Inventory(Participant):
        @reaction(publishes=("StockReserved", "StockRejected"))
        def on_OrderPlaced(self, event):
            ...
            self.publish("StockReserved", event.payload)

``event`` is the delivered :class:`~microlab.messages.Message` (``event.payload``,
``event.correlation``, ...); ``ctx`` is the participant itself (``ctx.publish``,
``ctx.effect``, ``ctx.state``, ``ctx.now``, ``ctx.random``). A reaction may take just
``event`` if it needs no context. ``command=True`` declares a reaction to a command
sent straight to the service (``system.inject("order", "PlaceOrder", ...)``) rather
than to an event it subscribes to.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ..errors import DefinitionError
from .kinds import PROTOCOL_PREFIXES

_MARK = "_microlab_reaction"


@dataclass(frozen=True)
class Reaction:
    """What a participant does on one event (or command) type, and what it may publish.

    ``takes_ctx`` says whether ``fn`` is called as ``fn(event, ctx)`` or ``fn(event)``.
    """

    event: str
    fn: Callable
    publishes: tuple = ()
    command: bool = False
    takes_ctx: bool = True

    @property
    def name(self) -> str:
        """The name of the reacting function (``reserve``, ``on_OrderPlaced``)."""
        return getattr(self.fn, "__name__", repr(self.fn))

    def describe(self) -> str:
        """E.g. ``on OrderPlaced: reserve, then publish StockReserved or StockRejected``."""
        what = f"on {'command ' if self.command else ''}{self.event}: {self.name}"
        if self.publishes:
            what += ", then publish " + " or ".join(self.publishes)
        return what

    def __str__(self) -> str:
        return self.describe()


def reaction(*, publishes=(), command: bool = False):
    """Declare what an ``on_<Type>`` method of a Participant subclass may publish.

    ``publishes`` is a tuple of event types; ``command=True`` makes ``<Type>`` a
    command sent straight to the service instead of an event it subscribes to.
    """
    declared = check_publishes(publishes, "@reaction")

    def mark(fn):
        setattr(fn, _MARK, (declared, bool(command)))
        return fn

    return mark


def make_reaction(event: str, fn: Callable, publishes=(), command: bool = False,
                  where: str = "reaction") -> Reaction:
    """Build a checked :class:`Reaction` (used by ``Participant.on`` and class methods)."""
    check_event_type(event, where)
    if not callable(fn):
        raise TypeError(f"{where}: the reaction to {event!r} must be a function, got {fn!r}")
    return Reaction(event, fn, check_publishes(publishes, where), bool(command),
                    _takes_ctx(fn, event, where))


def class_reactions(handlers: dict) -> dict[str, Reaction]:
    """Reactions of the ``on_<Type>`` methods found by :class:`~microlab.services.Service`."""
    out = {}
    for event, method in handlers.items():
        publishes, command = getattr(method, _MARK, ((), False))
        out[event] = make_reaction(event, method, publishes, command,
                                   where=f"{type(getattr(method, '__self__', None)).__name__}.on_{event}")
    return out


def check_event_type(event, where: str) -> str:
    """An event type must be a non-empty string that is not a protocol message type."""
    if not isinstance(event, str) or not event:
        raise TypeError(f"{where}: an event type must be a non-empty string such as "
                        f"'OrderPlaced', got {event!r}")
    if event.startswith(PROTOCOL_PREFIXES):
        raise DefinitionError([(where, f"{event!r} starts with 'Ack:' or 'Confirm:', which the "
                                        "broker reserves for its own protocol messages")], "reaction")
    return event


def check_publishes(publishes, where: str) -> tuple:
    """Normalise a ``publishes`` declaration to a tuple of event types."""
    if publishes is None:
        return ()
    if isinstance(publishes, str):
        # ("StockReserved") without a comma is a string, not a tuple: accept it as one type.
        publishes = (publishes,)
    try:
        declared = tuple(publishes)
    except TypeError:
        raise TypeError(f"{where}: publishes must be a tuple of event types, "
                        f"e.g. ('StockReserved', 'StockRejected'), got {publishes!r}") from None
    for event in declared:
        check_event_type(event, f"{where}: publishes")
    if len(set(declared)) != len(declared):
        raise DefinitionError([(where, f"publishes lists an event type twice: {declared}")], "reaction")
    return declared


def _takes_ctx(fn, event: str, where: str) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin or a C callable: assume (event, ctx)
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional:
        raise TypeError(f"{where}: the reaction {getattr(fn, '__name__', fn)!r} to {event!r} takes no "
                        "arguments; write it as def react(event, ctx): ... (or def react(event))")
    return len(positional) >= 2
