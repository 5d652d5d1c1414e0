"""The causation graph: who reacted to what, rebuilt from the trace as plain data.

Every message records the message whose handling sent it (``causation``). Following
those links gives a forest: a client's command, the event its reaction published, the
broker's delivery of that event to each subscriber, the events their reactions
published, and so on. Nodes are messages; an edge ``(cause, effect)`` says that
``effect`` was sent while ``cause`` was being handled (or, for a broker delivery, that
it carries the published event ``cause``).

The graph also carries what the trace says happened to each message at its
destination (handled, failed, dropped, lost in a crash, ignored as a duplicate), the
business effects its handling applied, the events a crash lost while handling it, and
the subscribers that dead-lettered it. It works on any trace (orchestration too), uses
no graph library (the figures layer draws it), and its order is deterministic: nodes in
the order they were first sent, edges in the order their effect was sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..trace import DROP, EFFECT, END, FAIL, LOST, SEND
from .kinds import (DEAD_LETTER, DUPLICATE_IGNORED, EVENT_LOST, PROTOCOL_PREFIXES, PUBLISH,
                    REDELIVER, SUBSCRIBE)

_OUTCOMES = {END: "handled", FAIL: "failed", DROP: "dropped", LOST: "lost",
             DUPLICATE_IGNORED: "duplicate_ignored"}
#: The outcomes that end a message's handling at its destination (``Node.ended``).
_ENDINGS = (END, FAIL, LOST, DROP)


@dataclass
class Node:
    """One message in the causation graph.

    ``role`` is ``"publish"`` (an event sent to a broker), ``"delivery"`` (a broker's
    copy of it for one subscriber), ``"command"``, ``"reply"``, ``"event"`` (an event
    sent straight to a service) or ``"protocol"`` (acks and confirms, only when asked
    for). ``time`` is when it was first sent; ``sends`` counts re-sends of the same
    message (an outbox relay's retries); ``attempt`` numbers a delivery's redeliveries;
    ``ended`` is when its handling first ended at its destination (handled, failed or
    lost there, or dropped on the way), None while it has not.
    """

    id: int
    role: str
    kind: str
    type: str
    source: str
    destination: str
    topic: str | None
    correlation: object
    causation: int | None
    time: float
    sends: int = 1
    attempt: int = 1
    ended: float | None = None
    outcomes: list = field(default_factory=list)
    effects: list = field(default_factory=list)
    lost_events: list = field(default_factory=list)
    dead_lettered: list = field(default_factory=list)

    @property
    def service(self) -> str:
        """The service that sent it (for a delivery, the broker)."""
        return self.source

    def to_dict(self) -> dict:
        """The node as a plain dict."""
        return asdict(self)


@dataclass
class CausationGraph:
    """Messages (nodes, by id) and cause -> effect edges, plus lost events and dead letters.

    Built whole from a trace by :func:`causation_graph` (no part has a default: a graph
    with nodes but no edges would be a wrong answer, not an empty one).
    """

    nodes: dict
    edges: list
    #: One dict per ``event_lost`` record: service, type, correlation, time, cause.
    lost: list
    #: One dict per ``dead_letter`` record: event, type, subscriber, receives, time.
    dead_letters: list

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, message_id) -> bool:
        return message_id in self.nodes

    def roots(self) -> list[Node]:
        """Nodes with no cause in the graph (what started each chain)."""
        return [n for n in self.nodes.values() if n.causation not in self.nodes]

    def children(self, message_id) -> list[Node]:
        """The messages sent because of ``message_id``, in the order they were sent."""
        return [self.nodes[b] for a, b in self.edges if a == message_id]

    def chain(self, message_id) -> list[Node]:
        """The path from the root of its chain down to ``message_id`` (inclusive)."""
        path = []
        node = self.nodes.get(message_id)
        while node is not None:
            path.append(node)
            node = self.nodes.get(node.causation)
        return path[::-1]

    def reactions(self) -> list[dict]:
        """Who reacted to what: one row per delivery of a published event.

        Each row: the event (id, type, publisher), the consumer, the delivery (id,
        attempt, outcomes, effects) and what the consumer's reaction sent
        (``published``: ids and ``published_types``).
        """
        rows = []
        children: dict = {}
        for a, b in self.edges:
            children.setdefault(a, []).append(b)
        for node in self.nodes.values():
            if node.role != "delivery":
                continue
            event = self.nodes.get(node.causation)
            sent = [self.nodes[c] for c in children.get(node.id, ())]
            rows.append({
                "event": node.causation, "type": node.type,
                "publisher": event.source if event is not None else None,
                "consumer": node.destination, "delivery": node.id, "attempt": node.attempt,
                "outcomes": list(node.outcomes), "effects": list(node.effects),
                "published": [m.id for m in sent], "published_types": [m.type for m in sent],
                "correlation": node.correlation, "time": node.time,
            })
        return rows

    def reaction_edges(self) -> list[tuple]:
        """The graph without the broker hop: ``(event, effect, via)`` triples.

        ``event`` is a published event or a command, ``effect`` a message sent by the
        service ``via`` while reacting to it (through one of its deliveries, for events).
        """
        out = []
        for a, b in self.edges:
            cause = self.nodes[a]
            if cause.role == "delivery":
                if cause.causation in self.nodes:
                    out.append((cause.causation, b, cause.destination))
            elif self.nodes[b].role != "delivery":
                out.append((a, b, cause.destination))
        return out

    def to_dict(self) -> dict:
        """Plain data: ``nodes`` (list of dicts), ``edges`` (pairs), ``lost``, ``dead_letters``."""
        return {"nodes": [n.to_dict() for n in self.nodes.values()],
                "edges": [list(e) for e in self.edges],
                "lost": list(self.lost), "dead_letters": list(self.dead_letters)}


def causation_graph(trace, correlation=None, *, protocol: bool = False,
                    brokers=("broker",)) -> CausationGraph:
    """Build the causation graph of a trace (or of a system's trace).

    ``correlation`` keeps one business transaction; ``protocol=True`` keeps acks and
    confirms too. Brokers are recognised by name (``brokers``) and by the ``publish``
    and ``subscribe`` records they write.
    """
    # Imported here: the analysis package pulls numpy, which the engine must not need to import.
    from ..analysis.transactions import transaction_records
    records = getattr(trace, "trace", trace).records
    broker_names = set(brokers)
    for r in records:
        if r[1] == PUBLISH or r[1] == SUBSCRIBE:
            broker_names.add(r[2])
    nodes: dict = {}
    edges: list = []
    lost: list = []
    dead_letters: list = []
    for time, kind, service, msg, detail in transaction_records(records, correlation):
        if kind == SEND:
            node = nodes.get(msg.id)
            if node is not None:
                node.sends += 1
                continue
            is_protocol = msg.type.startswith(PROTOCOL_PREFIXES)
            if is_protocol and not protocol:
                continue
            nodes[msg.id] = Node(msg.id, _role(msg, broker_names, is_protocol), msg.kind, msg.type,
                                 msg.source, msg.destination, msg.topic, msg.correlation,
                                 msg.causation, time)
            if msg.causation in nodes:
                edges.append((msg.causation, msg.id))
            continue
        node = nodes.get(msg.id) if msg is not None else None
        if kind in _OUTCOMES:
            if node is not None:
                node.outcomes.append(_OUTCOMES[kind])
                if node.ended is None and kind in _ENDINGS and (kind == DROP or service == node.destination):
                    node.ended = time
        elif kind == EFFECT:
            if node is not None:
                node.effects.append(detail["effect"])
        elif kind == REDELIVER:
            if node is not None:
                node.attempt = detail["attempt"]
        elif kind == EVENT_LOST:
            if node is not None:
                node.lost_events.append(detail["type"])
            lost.append({"service": service, "type": detail["type"], "correlation": detail.get("correlation"),
                         "time": time, "cause": msg.id if msg is not None else None})
        elif kind == DEAD_LETTER:
            if node is not None:
                node.dead_lettered.append(detail["subscriber"])
            dead_letters.append({"event": msg.id, "type": msg.type, "subscriber": detail["subscriber"],
                                 "receives": detail["receives"], "correlation": msg.correlation,
                                 "time": time})
    return CausationGraph(nodes, edges, lost, dead_letters)


def _role(msg, brokers: set, is_protocol: bool) -> str:
    if is_protocol:
        return "protocol"
    if msg.kind == "event":
        if msg.destination in brokers:
            return "publish"
        if msg.source in brokers:
            return "delivery"
        return "event"
    return msg.kind
