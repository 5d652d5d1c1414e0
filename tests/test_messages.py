"""The message envelope."""

from microlab.messages import COMMAND, Message


def test_envelope_fields_and_dict():
    msg = Message(1, COMMAND, "Charge", "orchestrator", "payment", None, {"amount": 5}, "order-1", None, 0.5)
    d = msg.to_dict()
    assert d["type"] == "Charge" and d["correlation"] == "order-1" and d["sent_at"] == 0.5
    assert set(d) == {"id", "kind", "type", "source", "destination", "topic", "payload",
                      "correlation", "causation", "sent_at"}
    assert "orchestrator->payment" in repr(msg)
