"""The choreography engine's vocabulary: its trace record kinds and protocol messages.

Everything the engine writes into the trace, and every message it adds to the
business events, is named here, in one place, so that checks, metrics and figures
can import the names instead of spelling strings.

Trace record kinds (``system.trace.record(time, kind, service, message, **detail)``);
records without a message always carry ``correlation=`` in their detail:

==================== ============ ===================================================
kind                 service      what happened (message; detail)
==================== ============ ===================================================
``subscribe``        broker       a subscription was made (none; subscriber, topic)
``publish``          broker       the broker accepted a published event and fanned it
                                  out (the published event; topic, subscribers)
``redeliver``        broker       no ack came within the ack timeout: a new delivery
                                  of the same event (the new delivery; subscriber,
                                  event, attempt)
``ack``              broker       a consumer acknowledged a delivery (the ack; subscriber,
                                  event, attempt, and ``late=True`` if the delivery was
                                  already settled)
``dead_letter``      broker       the maximum receive count was reached: the event went
                                  to the subscription's dead-letter queue (the published
                                  event; subscriber, receives)
``redrive``          broker       a dead letter was sent back for delivery (the published
                                  event; subscriber)
``duplicate_publish`` broker      a broker with ``deduplicate=True`` received an event it
                                  had already accepted (the event; topic)
``duplicate_ignored`` participant an idempotent consumer recognised an event (or
                                  command) it had already processed (the message; event)
``outbox_store``     participant  an event was committed to the outbox together with the
                                  state change (none; type, entry, correlation)
``outbox_relay``     participant  the relay sent an outbox entry to the broker (the event
                                  message; entry, attempt)
``outbox_confirm``   participant  the broker confirmed an outbox entry; it leaves the
                                  outbox (the event message; entry, attempts)
``outbox_stuck``     participant  the relay gave up for now after ``relay_attempts``
                                  tries; the entry stays in the outbox (the event
                                  message; entry, attempts)
``event_lost``       participant  a crash hit after the state change and before the
                                  publish, without an outbox: the event was never sent
                                  (the message being handled; type, correlation, reason)
==================== ============ ===================================================

Protocol messages (kind ``reply``; never business events, and left out of causation
graphs by default):

- ``Ack:<Type>``: a consumer acknowledges a delivery of a ``<Type>`` event; a reply
  to the delivery, so its causation is the delivery's id.
- ``Confirm:<Type>``: the broker confirms to a publisher that it accepted a
  ``<Type>`` event; a reply to the published event. The outbox relay waits for it.

They name the event they are about, so that a trace reads well and an event-storm
error names the business events that loop rather than "Ack".
"""

from __future__ import annotations

from ..messages import EVENT, Message

SUBSCRIBE = "subscribe"
PUBLISH = "publish"
REDELIVER = "redeliver"
ACK = "ack"
DEAD_LETTER = "dead_letter"
REDRIVE = "redrive"
DUPLICATE_PUBLISH = "duplicate_publish"
DUPLICATE_IGNORED = "duplicate_ignored"
OUTBOX_STORE = "outbox_store"
OUTBOX_RELAY = "outbox_relay"
OUTBOX_CONFIRM = "outbox_confirm"
OUTBOX_STUCK = "outbox_stuck"
EVENT_LOST = "event_lost"

#: Every record kind the choreography engine writes, in the order of the table above.
KINDS = (SUBSCRIBE, PUBLISH, REDELIVER, ACK, DEAD_LETTER, REDRIVE, DUPLICATE_PUBLISH,
         DUPLICATE_IGNORED, OUTBOX_STORE, OUTBOX_RELAY, OUTBOX_CONFIRM, OUTBOX_STUCK,
         EVENT_LOST)

ACK_PREFIX = "Ack:"
CONFIRM_PREFIX = "Confirm:"
PROTOCOL_PREFIXES = (ACK_PREFIX, CONFIRM_PREFIX)


def ack_type(event_type: str) -> str:
    """The message type of an acknowledgement of ``event_type`` (``"Ack:OrderPlaced"``)."""
    return ACK_PREFIX + event_type


def confirm_type(event_type: str) -> str:
    """The message type of a publish confirmation of ``event_type``."""
    return CONFIRM_PREFIX + event_type


def is_protocol(msg: Message) -> bool:
    """True for the engine's own acks and confirms, False for business messages."""
    return msg.type.startswith(PROTOCOL_PREFIXES)


def event_id(msg: Message, broker: str = "broker"):
    """The identity of the business event (or command) that ``msg`` carries.

    An event's identity is the id of the message its publisher sent to the broker.
    The outbox relay re-sends that same message when it retries, and the broker gives
    every delivery and redelivery of it that id as its causation. So:

    - for a delivery from ``broker``: its ``causation`` (the published event's id);
    - for anything else (a published event, a command): its own ``id``.

    An idempotent consumer remembers these ids. A network duplicate is the same
    message, so it has the same identity too.
    """
    if msg.source == broker and msg.kind == EVENT:
        return msg.causation
    return msg.id
