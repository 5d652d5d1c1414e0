"""microlab.viz.topology: who talked to whom, the orchestration star and the choreography mesh."""

import math

import pytest

from microlab import Service, System
from microlab.viz import style
from microlab.viz.topology import positions, talk_graph, topology, topology_pair


class Orchestrator(Service):
    def on_Order(self, msg):
        self.send("stock", "Reserve")

    def on_Reserved(self, msg):
        self.send("pay", "Charge")

    def on_Charged(self, msg):
        self.send("client", "Done")


def star(orders=3):
    system = System(seed=1, latency=0.01)
    system.add(Orchestrator())
    system.add(Service("stock"), Service("pay"))
    system["stock"].on("Reserve", lambda m: system["stock"].reply(m, "Reserved"))
    system["pay"].on("Charge", lambda m: system["pay"].reply(m, "Charged"))
    for i in range(orders):
        system.inject("orchestrator", "Order", correlation=f"o{i}", at=i * 0.1)
    system.run()
    return system


class Broker(Service):
    subscribers = {"Placed": ("stock",), "Reserved": ("pay",), "Charged": ("orders",)}

    def handle(self, msg):
        if msg.type.startswith("Ack:"):
            return
        for name in self.subscribers.get(msg.topic, ()):
            self.send(name, msg.type, msg.payload, kind="event", topic=msg.topic)


class Reactor(Service):
    """Publishes ``then`` when it sees ``on``, and acknowledges to the broker."""

    def __init__(self, name, on, then):
        super().__init__(name)
        self.on(on, self.react)
        self.then = then

    def react(self, msg):
        self.reply(msg, f"Ack:{msg.type}")
        if self.then:
            self.emit("broker", self.then)


def mesh(orders=2):
    system = System(seed=1, latency=0.01)
    system.add(Broker(), Reactor("orders", "Order", "Placed"), Reactor("stock", "Placed", "Reserved"),
               Reactor("pay", "Reserved", "Charged"))
    system["orders"].on("Charged", lambda m: None)
    for i in range(orders):
        system.inject("orders", "Order", correlation=f"o{i}", at=i * 0.1)
    system.run()
    return system


def test_the_graph_counts_messages_per_link_and_knows_roles():
    g = talk_graph(star(orders=3))
    assert list(g.nodes) == ["client", "orchestrator", "stock", "pay"]
    assert g.nodes["orchestrator"]["role"] == "orchestrator" and g.nodes["client"]["role"] == "client"
    assert g.edges["orchestrator", "stock"]["count"] == 3
    assert g.edges["stock", "orchestrator"]["kinds"] == {"reply": 3}
    assert sorted(g.edges) == sorted([("client", "orchestrator"), ("orchestrator", "stock"),
                                      ("stock", "orchestrator"), ("orchestrator", "pay"),
                                      ("pay", "orchestrator"), ("orchestrator", "client")])


def test_logical_view_turns_the_broker_star_into_who_reacts_to_whom():
    system = mesh()
    network = talk_graph(system)
    assert all("broker" in e for e in network.edges if "client" not in e)
    logical = talk_graph(system, logical=True)
    assert "broker" not in logical.nodes   # every broker message was forwarded or protocol
    assert sorted(logical.edges) == [("client", "orders"), ("orders", "stock"), ("pay", "orders"),
                                     ("stock", "pay")]
    assert logical.edges["stock", "pay"]["kinds"] == {"event": 2}


def test_hub_in_the_middle_client_at_the_top_ring_of_radius_one():
    pos = positions(talk_graph(star()))
    assert pos["orchestrator"] == (0.0, 0.0)
    assert pos["client"] == pytest.approx((0.0, 1.0))
    assert all(math.hypot(*pos[n]) == pytest.approx(1.0) for n in ("client", "stock", "pay"))
    ring = positions(talk_graph(mesh(), logical=True))   # no hub left: everyone on the circle
    assert all(math.hypot(*xy) == pytest.approx(1.0) for xy in ring.values())
    assert ring["client"] == pytest.approx((0.0, 1.0))


def test_nodes_are_drawn_by_role_and_links_as_wide_as_their_traffic():
    fig = topology(star(orders=3))
    nodes = {t.name: t for t in fig.data if t.mode == "markers" and t.legendgroup}
    assert nodes["orchestrator"].marker.color == style.ROLE_STYLES["orchestrator"]["color"]
    assert nodes["orchestrator"].marker.symbol == "square"
    assert sorted(nodes["service"].hovertext) == ["<b>pay</b> (service)<br>sent 3 messages, received 3",
                                                   "<b>stock</b> (service)<br>sent 3 messages, received 3"]
    links = [t for t in fig.data if t.mode == "lines+markers"]
    assert len(links) == 3 and {t.line.color for t in links} == {style.CATEGORY_COLOURS["command"]}
    assert len({t.line.width for t in links}) == 1   # 6 messages on every link
    counts = sorted(a.text for a in fig.layout.annotations if a.text.isdigit())
    assert counts == ["6", "6", "6"]


def test_busier_links_are_wider():
    system = star(orders=2)
    system["stock"].on("Ping", lambda m: None)
    for i in range(6):
        system.inject("stock", "Ping", at=1 + i * 0.01)
    system.run()
    fig = topology(system)
    width = {t.name: t.line.width for t in fig.data if t.mode == "lines+markers"}
    hover = {t.name: t.hovertext[0] for t in fig.data if t.name and "–" in t.name}
    assert "client → stock: 6 messages (6 commands)" in hover["client–stock"]
    assert width["commands and replies"] > 0 and max(
        t.line.width for t in fig.data if t.mode == "lines+markers") == pytest.approx(9.0)


def test_pair_shows_both_with_one_legend_entry_per_thing():
    fig = topology_pair(star(), mesh(), titles=("orchestration", "choreography"))
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert len(shown) == len(set(shown))
    assert {t.xaxis for t in fig.data} == {"x", "x2"}
    heads = [a.text for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert "<b>orchestration</b>" in heads and "<b>choreography</b>" in heads
    events = [t for t in fig.data if t.xaxis == "x2" and t.mode == "lines+markers"
              and t.legendgroup == "events"]
    assert len(events) == 3   # orders -> stock -> pay -> orders: three links carry events
    with pytest.raises(ValueError, match="titles must name the two runs"):
        topology_pair(star(), mesh(), titles=("one",))


def test_role_overrides_and_determinism():
    fig = topology(star(), roles={"pay": "broker"})
    assert any(t.name == "broker" for t in fig.data)
    assert topology(star()).to_json() == topology(star()).to_json()
    assert fig.layout.title.text and fig.layout.legend.title.text


def test_who_reacts_to_whom_says_the_broker_is_left_out():
    from microlab import scenarios
    from microlab.viz import topology as topo
    chor = scenarios.order_saga("choreography", orders=2, seed=1)
    orch = scenarios.order_saga("orchestration", orders=2, seed=1)
    assert "broker is left out" in topo.topology(chor.system, logical=True).layout.title.subtitle.text
    assert "broker is left out" in topo.topology_pair(orch.system, chor.system).layout.title.subtitle.text
    assert not topo.topology(chor.system).layout.title.subtitle.text          # the broker is drawn
    # No broker to leave out; but its workers poll, and the note says so instead.
    assert "broker" not in topo.topology(orch.system, logical=True).layout.title.subtitle.text


def test_a_star_of_polling_workers_says_its_lines_count_polls_no_order_figure_counts():
    # Chapter 01: "messages per transaction" is 11 for orchestration, the star's lines 84-98 for
    # 20 orders, because every idle poll and NoTask answer is drawn; the subtitle says why.
    from microlab import scenarios
    from microlab.viz import topology as topo
    chor = scenarios.order_saga("choreography", orders=2, seed=1)
    orch = scenarios.order_saga("orchestration", orders=2, seed=1)
    pushed = scenarios.order_saga("orchestration", orders=2, seed=1, dispatch="push")
    pair = topo.topology_pair(orch.system, chor.system).layout
    assert pair.title.subtitle.text.split("<br>")[1] == topo.POLL_NOTE
    assert pair.margin.t == 130, "a second subtitle line gets room above the drawings' headings"
    assert topo.POLL_NOTE in topo.topology(orch.system).layout.title.subtitle.text
    assert not topo.topology(pushed.system).layout.title.subtitle.text     # pushed tasks: no polls
    assert topo.POLL_NOTE not in topo.topology(chor.system, logical=True).layout.title.subtitle.text
