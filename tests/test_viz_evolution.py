"""orders_over_time: a marker per order, coloured by version or outcome, a line per deploy."""

import pytest

from microlab import scenarios, viz


def test_orchestration_orders_are_coloured_by_the_version_they_ran():
    up = scenarios.upgrade_workflow("worker-first")
    fig = viz.orders_over_time(up)
    names = {t.name: len(t.x) for t in fig.data}
    ones = sum(1 for v in up.versions().values() if v == 1)
    twos = len(up.result.correlations) - ones
    assert names == {f"version 1 ({ones})": ones, f"version 2 ({twos})": twos}
    assert sorted(s.x0 for s in fig.layout.shapes) == sorted(up.deploys.values())


def test_choreography_orders_that_never_ended_are_crosses_above_the_rest():
    ev = scenarios.change_event("rename", "producer-first")
    fig = viz.orders_over_time(ev)
    stuck = ev.result.checks.counts()["stuck"]
    never = next(t for t in fig.data if t.name.endswith(f"never ended ({stuck})"))
    assert len(never.x) == stuck and never.marker.symbol == "x"
    done = next(t for t in fig.data if t.name.startswith("completed ("))
    assert min(never.y) > max(done.y)
    # Crosses that arrived close together are staggered, so each of them shows.
    xs, ys = list(never.x), list(never.y)
    span = max(ev.result.arrivals.values()) - min(ev.result.arrivals.values())
    close = [i for i in range(1, len(xs)) if xs[i] - xs[i - 1] < 0.02 * span]
    assert close and all(ys[i] != ys[i - 1] for i in close)


def test_a_highlighted_order_is_ringed_labelled_and_drawn_across_the_deploys_it_was_in_flight_for():
    up = scenarios.upgrade_workflow("worker-first", at=1.5, gap=0.5)
    [order] = up.in_flight(1.5)                     # chapter 12's order-17, which ran version 1
    plain = viz.orders_over_time(up)
    fig = viz.orders_over_time(up, highlight={order: f"{order} was in flight when v2 came"})
    [label] = [a for a in fig.layout.annotations if a.showarrow]
    assert label.text == f"{order} was in flight when v2 came"
    span = up.result.spans[order]
    assert (label.x, label.y) == (up.result.arrivals[order], span.latency * 1000)   # it points at the order
    [line, ring] = fig.data[len(plain.data):]
    assert list(ring.x) == [label.x] and ring.marker.symbol == "circle-open"
    start, end = line.x[0], line.x[1]
    assert start < up.deploys["workflow v2"] < end == start + span.latency   # it crosses the deploy
    # The figure without highlight is unchanged, and a list gives a default label.
    assert len(plain.layout.annotations) == len(fig.layout.annotations) - 1
    [default] = [a for a in viz.orders_over_time(up, highlight=[order]).layout.annotations if a.showarrow]
    assert default.text.startswith(f"<b>{order}</b>: version 1, ")


def test_highlight_of_an_order_that_never_ended_and_of_an_unknown_one():
    ev = scenarios.change_event("rename", "producer-first")
    stuck = next(c for c, outcome in ev.result.outcomes.items() if outcome == "stuck")
    fig = viz.orders_over_time(ev, highlight=[stuck])
    [label] = [a for a in fig.layout.annotations if a.showarrow]
    assert label.text == f"<b>{stuck}</b>: stuck, never ended" and label.ay > 0   # below the top band
    assert fig.data[-1].marker.symbol == "circle-open" and fig.data[-2].mode == "markers"  # no arrival-to-end line
    with pytest.raises(ValueError, match="'order-999', not an order of this run"):
        viz.orders_over_time(ev, highlight=["order-999"])
