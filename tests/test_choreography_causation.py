"""The causation graph: who reacted to what, as plain data rebuilt from the trace."""

import json
import subprocess
import sys

from microlab import Exponential, System
from microlab.choreography import Broker, causation_graph
from microlab.choreography.examples import order_flow


def _run(**kw):
    system = System(seed=41, latency=Exponential(0.01))
    flow = order_flow(**kw).add_to(system)
    flow.place(system, "good")
    flow.place(system, "bad", card="declined", at=0.5)
    system.run()
    return system, flow


def test_the_chain_of_a_completed_order_runs_from_the_command_to_the_last_event():
    system, _ = _run()
    graph = causation_graph(system, "good")
    [root] = graph.roots()
    assert (root.type, root.role, root.source) == ("PlaceOrder", "command", "client")
    [last] = [n for n in graph.nodes.values() if n.type == "OrderShipped" and n.role == "delivery"]
    chain = graph.chain(last.id)
    assert [(n.role, n.type) for n in chain] == [
        ("command", "PlaceOrder"),
        ("publish", "OrderPlaced"), ("delivery", "OrderPlaced"),
        ("publish", "StockReserved"), ("delivery", "StockReserved"),
        ("publish", "PaymentCompleted"), ("delivery", "PaymentCompleted"),
        ("publish", "OrderShipped"), ("delivery", "OrderShipped"),
    ]
    assert [n.service for n in chain[1::2]] == ["order", "inventory", "payment", "shipping"]
    assert all(n.destination == "broker" for n in chain[1::2])
    assert [n.effects for n in chain[2::2]] == [["reserve"], ["charge"], ["ship"], ["complete"]]
    assert all(n.outcomes == ["handled"] for n in chain)
    times = [n.time for n in chain]
    assert times == sorted(times)
    # Every edge links a message to the one whose handling caused it.
    assert all(graph.nodes[b].causation == a for a, b in graph.edges)



def test_each_message_says_when_its_handling_ended_at_its_destination():
    system, _ = _run()
    graph = causation_graph(system, "good")
    ends = {}
    for r in system.trace.records:
        if r[1] in ("end", "fail", "lost") and r[3] is not None and r[3].correlation == "good":
            ends.setdefault((r[3].id, r[2]), r[0])
    assert graph.nodes and all(n.ended == ends[(n.id, n.destination)] for n in graph.nodes.values())
    assert all(n.ended >= n.time for n in graph.nodes.values())
    dropped = System(seed=1, latency=0.01)
    dropped.add(Broker())
    dropped.network.partition(["client"], ["broker"])
    dropped.inject("broker", "Hello", correlation="cut")
    dropped.run()
    [node] = causation_graph(dropped, "cut").nodes.values()
    assert node.outcomes == ["dropped"] and node.ended == node.time

def test_reactions_show_who_reacted_to_what_and_the_broker_hop_can_be_skipped():
    system, _ = _run()
    graph = causation_graph(system, "bad")
    rows = [(r["publisher"], r["type"], r["consumer"], r["published_types"], r["effects"])
            for r in graph.reactions()]
    assert rows == [
        ("order", "OrderPlaced", "inventory", ["StockReserved"], ["reserve"]),
        ("inventory", "StockReserved", "payment", ["PaymentFailed"], []),
        ("payment", "PaymentFailed", "order", [], ["reject"]),
        ("payment", "PaymentFailed", "inventory", [], ["release"]),
    ]  # the broker delivers in subscription order: order was added before inventory
    types = {i: n.type for i, n in graph.nodes.items()}
    assert [(types[a], types[b], via) for a, b, via in graph.reaction_edges()] == [
        ("PlaceOrder", "OrderPlaced", "order"),
        ("OrderPlaced", "StockReserved", "inventory"),
        ("StockReserved", "PaymentFailed", "payment"),
    ]


def test_protocol_messages_are_left_out_unless_asked_for():
    system, _ = _run()
    plain = causation_graph(system)
    full = causation_graph(system, protocol=True)
    assert not any(n.type.startswith(("Ack:", "Confirm:")) for n in plain.nodes.values())
    protocol = [n for n in full.nodes.values() if n.role == "protocol"]
    assert {n.type.split(":")[0] for n in protocol} == {"Ack", "Confirm"}
    assert len(full) == len(plain) + len(protocol)
    # Both orders are in the unfiltered graph, and nothing else.
    assert {n.correlation for n in plain.nodes.values()} == {"good", "bad"}


def test_lost_events_redeliveries_and_dead_letters_are_in_the_graph():
    system = System(seed=42, latency=0.01)
    flow = order_flow(outbox=False, broker=Broker(ack_timeout=0.2, max_receive_count=2)).add_to(system)
    flow.inventory.crash_before_publish(downtime=1.0)  # down through both deliveries' timeouts
    flow.place(system, "order-1")
    system.run()
    graph = causation_graph(system, "order-1")
    assert graph.lost == [{"service": "inventory", "type": "StockReserved", "correlation": "order-1",
                           "time": graph.lost[0]["time"], "cause": graph.lost[0]["cause"]}]
    cause = graph.nodes[graph.lost[0]["cause"]]
    assert cause.type == "OrderPlaced" and cause.lost_events == ["StockReserved"]
    assert cause.effects == ["reserve"] and cause.outcomes == ["lost"]
    deliveries = [n for n in graph.nodes.values() if n.role == "delivery" and n.type == "OrderPlaced"]
    assert [n.attempt for n in deliveries] == [1, 2]
    assert deliveries[1].outcomes == ["dropped"]  # inventory was still down
    [dead] = graph.dead_letters
    assert dead["subscriber"] == "inventory" and dead["type"] == "OrderPlaced"
    assert graph.nodes[dead["event"]].dead_lettered == ["inventory"]


def test_an_outbox_retry_is_one_node_sent_several_times():
    system = System(seed=43, latency=0.01)
    flow = order_flow().add_to(system)
    flow.order.outbox_table.interval = 0.25
    system.crash("broker", at=0.0, duration=0.6)
    flow.place(system, "order-1", at=0.1)
    system.run()
    graph = causation_graph(system, "order-1")
    [placed] = [n for n in graph.nodes.values() if n.type == "OrderPlaced" and n.role == "publish"]
    assert placed.sends == 3 and placed.outcomes == ["dropped", "dropped", "handled"]


def test_the_graph_is_plain_deterministic_data():
    a = causation_graph(_run()[0]).to_dict()
    b = causation_graph(_run()[0]).to_dict()
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert [n["id"] for n in a["nodes"]] == sorted(n["id"] for n in a["nodes"])
    assert set(a) == {"nodes", "edges", "lost", "dead_letters"}


def test_the_engine_imports_no_drawing_library():
    code = ("import sys, microlab.choreography, microlab.choreography.examples; "
            "print(sorted(m for m in ('plotly', 'networkx', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
