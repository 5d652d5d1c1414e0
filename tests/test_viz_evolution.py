"""orders_over_time: a marker per order, coloured by version or outcome, a line per deploy."""

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
