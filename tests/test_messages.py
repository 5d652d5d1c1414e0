"""The message envelope."""

from microlab import Service, System
from microlab.messages import COMMAND, EVENT, REPLY, Message


def test_envelope_fields_and_dict():
    msg = Message(1, COMMAND, "Charge", "orchestrator", "payment", None, {"amount": 5}, "order-1", None, 0.5)
    d = msg.to_dict()
    assert d["type"] == "Charge" and d["correlation"] == "order-1" and d["sent_at"] == 0.5
    assert set(d) == {"id", "kind", "type", "source", "destination", "topic", "payload",
                      "correlation", "causation", "sent_at"}
    assert "orchestrator->payment" in repr(msg)


def test_messages_sent_by_send_reply_and_emit_set_every_slot():
    # Service.send builds each message slot by slot (not through __init__), and reply and
    # emit go through it: a slot it forgot would raise AttributeError here.
    class Relay(Service):
        def on_Ask(self, msg):
            self.reply(msg, "Answer", msg.payload)
            self.emit("client", "Asked", msg.payload)

    system = System(latency=0)
    system.add(Relay("relay"))
    system.inject("relay", "Ask", 7, correlation="c1")
    system.run()
    ask, answer, asked = system.trace.messages().values()
    assert set(answer.to_dict()) == set(Message.__slots__)
    assert (answer.kind, answer.source, answer.destination, answer.topic) == (REPLY, "relay", "client", None)
    assert (asked.kind, asked.topic, asked.payload) == (EVENT, "Asked", 7)
    assert answer.causation == asked.causation == ask.id
    assert answer.correlation == asked.correlation == "c1"


def test_a_service_that_replaces_send_sees_its_events_too():
    class Audited(Service):
        def __init__(self):
            super().__init__("audited")
            self.sent = []

        def send(self, to, type, payload=None, **kw):
            self.sent.append((type, kw.get("kind")))
            return super().send(to, type, payload, **kw)

        def on_Ask(self, msg):
            self.emit("client", "Asked")

    system = System()
    audited = system.add(Audited())
    system.inject("audited", "Ask")
    system.run()
    assert audited.sent == [("Asked", EVENT)]
