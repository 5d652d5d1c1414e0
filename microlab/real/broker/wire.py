"""Messages on the wire: the envelope in a NATS header, the payload as the JSON body.

An envelope is the simulator's :class:`~microlab.messages.Message` as a plain dict
(id, kind, type, source, destination, topic, correlation, causation, payload). Ids are
strings made where the message is born (``<service>.<incarnation>.<n>``), so that no
two processes ever pick the same one; the merged trace renumbers them 1, 2, 3, ...
The header ``Nats-Msg-Id`` carries the id too: JetStream then drops a second publish
of the same event (an outbox relay that retries after a crash) within its duplicate
window, and says so in the publish acknowledgement.
"""

from __future__ import annotations

import json

from ...messages import Message

ENVELOPE = "Microlab-Envelope"
FIELDS = ("id", "kind", "type", "source", "destination", "topic", "correlation", "causation")


def envelope(id, kind, type, source, destination, topic, correlation, causation, payload=None) -> dict:
    """A message as a plain dict."""
    return {"id": id, "kind": kind, "type": type, "source": source, "destination": destination,
            "topic": topic, "correlation": correlation, "causation": causation, "payload": payload}


def encode(env: dict) -> tuple[dict, bytes]:
    """NATS headers and body for ``env``."""
    head = json.dumps({k: env[k] for k in FIELDS}, separators=(",", ":"))
    return {ENVELOPE: head, "Nats-Msg-Id": str(env["id"])}, json.dumps(env.get("payload")).encode()


def decode(headers: dict | None, data: bytes) -> dict:
    """The envelope of a message received from NATS."""
    if not headers or ENVELOPE not in headers:
        raise ValueError("a message without a microlab envelope header reached a microlab consumer")
    env = json.loads(headers[ENVELOPE])
    env["payload"] = json.loads(data) if data else None
    return env


def to_message(env: dict, sent_at: float | None = None) -> Message:
    """The envelope as a :class:`~microlab.messages.Message`."""
    return Message(env["id"], env["kind"], env["type"], env["source"], env["destination"], env["topic"],
                   env.get("payload"), env["correlation"], env["causation"], sent_at)
