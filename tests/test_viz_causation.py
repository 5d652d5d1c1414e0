"""microlab.viz.causation: which event caused which reaction, left to right in time."""

import pytest

from microlab import System, scenarios
from microlab.choreography import Broker, causation_graph
from microlab.choreography.examples import order_flow
from microlab.viz import causation_figure, style
from microlab.viz.causation import CATEGORIES


@pytest.fixture(scope="module")
def run():
    # Seed 1: order-2's payment fails and inventory releases its stock (a compensated order).
    return scenarios.order_saga("choreography", orders=3, failure={"payment": 0.5}, seed=1)


def trace_of(fig, group, mode):
    [t] = [t for t in fig.data if t.legendgroup == group and t.mode == mode]
    return t


def test_a_compensated_order_shows_the_failure_and_the_compensation_in_their_colours(run):
    assert run.outcomes["order-2"] == "compensated"
    fig = causation_figure(run, "order-2")
    failure = trace_of(fig, "failure", "markers+text")
    assert failure.marker.color == style.VERMILLION
    assert set(failure.text) == {"PaymentFailed", "OrderRejected"}
    comp = trace_of(fig, "compensation", "markers+text")
    assert comp.marker.color == style.PURPLE and list(comp.text) == ["StockReleased"]
    lanes = list(fig.layout.yaxis.ticktext)
    assert lanes[0] == "client" and "broker" not in lanes   # the broker hop is left out
    assert comp.y[0] == lanes.index("inventory")            # on the lane of the service that sent it
    # x is simulated time in ms, as the graph says.
    graph = causation_graph(run.system, "order-2")
    [released] = [n for n in graph.nodes.values() if n.type == "StockReleased" and n.role == "publish"]
    assert comp.x[0] == pytest.approx(released.time * 1000)
    assert fig.layout.xaxis.title.text == "simulated time (ms)"
    assert "in reaction to PaymentFailed from payment (effects there: release)" in comp.hovertext[0]


def test_one_arrow_per_reaction_from_cause_to_effect(run):
    fig = causation_figure(run, "order-2")
    graph = causation_graph(run.system, "order-2")
    arrows = [t for t in fig.data if t.mode == "lines+markers"]
    segments = sum(len(t.x) // 3 for t in arrows)
    endings = sum(len(t.x) for t in fig.data if t.mode == "markers")
    assert segments == len(graph.reaction_edges()) + endings
    # The arrow into StockReleased starts at PaymentFailed and is purple, like its effect.
    comp_arrows = trace_of(fig, "compensation", "lines+markers")
    [failed] = [n for n in graph.nodes.values() if n.type == "PaymentFailed" and n.role == "publish"]
    assert comp_arrows.line.color == style.PURPLE and comp_arrows.x[0] == pytest.approx(failed.time * 1000)
    assert list(comp_arrows.marker.size) == [0, 9, 0]        # an arrowhead at the reaction's end only


def test_where_a_chain_ends_is_marked_on_the_consumers_lane(run):
    fig = causation_figure(run, "order-2")
    handled = trace_of(fig, "handled", "markers")
    lanes = list(fig.layout.yaxis.ticktext)
    assert sorted(lanes[int(y)] for y in handled.y) == ["notification", "order"]
    assert any("notification</b> got OrderRejected" in h and "notification_heard" in h
               for h in handled.hovertext)


def test_lost_events_and_dead_letters_are_marked_in_black():
    system = System(seed=42, latency=0.01)
    flow = order_flow(outbox=False, broker=Broker(ack_timeout=0.2, max_receive_count=2)).add_to(system)
    flow.inventory.crash_before_publish(downtime=1.0)
    flow.place(system, "order-1")
    system.run()
    fig = causation_figure(system, "order-1")
    lost = trace_of(fig, "event_lost", "markers")
    dead = trace_of(fig, "dead_letter", "markers")
    dropped = trace_of(fig, "dropped", "markers")
    assert lost.marker.color == dead.marker.color == style.BLACK
    lanes = list(fig.layout.yaxis.ticktext)
    assert [lanes[int(y)] for y in lost.y] == ["inventory"] and "StockReserved" in lost.hovertext[0]
    assert [lanes[int(y)] for y in dead.y] == ["inventory"] and "after 2 deliveries" in dead.hovertext[0]
    assert len(dropped.x) == 2       # the first delivery lost in the crash, the second dropped: still down
    assert trace_of(fig, "dead_letter", "lines+markers").line.dash == "dash"


def test_failure_and_compensation_types_can_be_named_and_a_bare_system_uses_the_known_flows(run):
    plain = causation_figure(run.system, "order-2")
    assert set(trace_of(plain, "failure", "markers+text").text) == {"PaymentFailed", "OrderRejected"}
    renamed = causation_figure(run.system, "order-2", failure_types=[], compensation_types=["OrderRejected"])
    assert not [t for t in renamed.data if t.legendgroup == "failure"]
    assert list(trace_of(renamed, "compensation", "markers+text").text) == ["OrderRejected"]


def test_every_trace_is_named_and_hoverable_and_the_same_seed_gives_the_same_json(run):
    fig = causation_figure(run, "order-2")
    assert fig.layout.title.text and fig.layout.legend.title.text and fig.layout.yaxis.title.text
    for t in fig.data:
        assert t.name and (t.hovertext is not None or t.hoverinfo == "skip")
        assert t.legendgroup in CATEGORIES
    again = scenarios.order_saga("choreography", orders=3, failure={"payment": 0.5}, seed=1)
    assert causation_figure(again, "order-2").to_json() == fig.to_json()


def test_labels_on_a_lane_do_not_overlap():
    from microlab.viz.causation import CHAR_PX, PLOT_PX
    system = scenarios.order_saga("choreography", orders=1, seed=2).system
    fig = causation_figure(system, "order-1")
    x0, x1 = fig.layout.xaxis.range
    placed = {}
    for t in fig.data:
        if t.mode != "markers+text":
            continue
        for x, y, text, pos in zip(t.x, t.y, t.text, t.textposition):
            if text:
                placed.setdefault((y, pos), []).append((x, len(text)))
    px = PLOT_PX / (x1 - x0)
    for spots in placed.values():
        spots.sort()
        for (xa, na), (xb, nb) in zip(spots, spots[1:]):
            assert (xb - xa) * px >= (na + nb) * CHAR_PX / 2 - 1


def test_bad_input_says_what_to_pass(run):
    with pytest.raises(ValueError, match="no message belongs to transaction .*'order-9'"):
        causation_figure(run, "order-9")
    with pytest.raises(ValueError, match="pass its correlation id"):
        causation_figure(run, None)
    with pytest.raises(TypeError, match="list of event types"):
        causation_figure(run, "order-2", failure_types="PaymentFailed")
    with pytest.raises(TypeError, match="Trace or System"):
        causation_figure({"not": "a trace"}, "order-2")
