"""The message envelope that every service, broker and orchestrator exchanges.

Three kinds, named as in the course's glossary:

- a **command** asks one service to do something ("ReserveStock");
- a **reply** answers a command ("StockReserved", "StockRejected");
- an **event** announces that something happened ("OrderPlaced"); it goes to a topic,
  and whoever subscribes reacts.

The ``correlation`` id names the business transaction (for example ``"order-7"``); the
``causation`` id is the id of the message whose handling sent this one, so the whole
"who caused what" chain can be rebuilt from the trace.
"""

from __future__ import annotations

COMMAND = "command"
REPLY = "reply"
EVENT = "event"

KINDS = (COMMAND, REPLY, EVENT)


class Message:
    """One message in flight or delivered.

    A message is created once, when it is sent, and never changed afterwards: a
    duplicate delivered by the network is the *same* message (same id), which is what
    lets an idempotent consumer recognise it.
    """

    __slots__ = (
        "id", "kind", "type", "source", "destination", "topic",
        "payload", "correlation", "causation", "sent_at",
    )
    #: The envelope's fields, in order (``__slots__`` itself, read through a subclass
    #: that adds no slot, would be that subclass's empty tuple).
    FIELDS = __slots__

    def __init__(self, id, kind, type, source, destination, topic, payload,
                 correlation, causation, sent_at):
        # Service.send builds the messages of a run slot by slot (a class call costs
        # about twice that); this constructor, for messages made elsewhere (decoded from
        # a real broker, built by a test), sets every slot from the parameter of the
        # same name, so that the slots are listed once, in ``__slots__``.
        fields = locals()
        for name in Message.FIELDS:
            setattr(self, name, fields[name])

    def to_dict(self) -> dict:
        """The envelope as a plain dict (payload included as is)."""
        return {name: getattr(self, name) for name in Message.FIELDS}

    def __repr__(self) -> str:
        target = self.destination if self.topic is None else f"{self.destination}[{self.topic}]"
        return (f"<{self.kind} #{self.id} {self.type} {self.source}->{target} "
                f"corr={self.correlation}>")
