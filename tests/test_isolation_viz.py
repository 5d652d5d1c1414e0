"""The isolation figures: the counted and the true stock, and the violations per countermeasure."""

import pytest

from microlab import scenarios
from microlab.viz.isolation import isolation_violations, stock_over_time


def test_the_true_stock_goes_below_zero_where_inventory_counts_zero():
    result = scenarios.last_piano("choreography", "none", seed=6)
    fig = stock_over_time(result)
    counted, true = fig.data[0].y, fig.data[1].y
    assert counted[0] == true[0] == 1
    assert min(true) == -1 and min(counted) == 0


def test_refusals_are_crosses_at_the_count_they_read():
    result = scenarios.last_piano("orchestration", "none", seed=2)
    refusals = [t for t in stock_over_time(result).data if t.name == "an order refused"]
    assert refusals and set(refusals[0].y) == {0}
    assert all("refused: sold out" in text for text in refusals[0].text)


def test_a_run_without_stock_is_refused_with_a_message():
    with pytest.raises(ValueError, match="keeps no stock"):
        stock_over_time(scenarios.order_saga("choreography", orders=1))


def test_violation_bars_are_the_table():
    rows = scenarios.isolation_table(seeds=range(1, 4))
    fig = isolation_violations(rows)
    assert {t.name for t in fig.data} == {"oversold", "lost update", "dirty read", "charged for a returned item"}
    first = [t for t in fig.data if t.name == "dirty read"][0]
    assert list(first.y) == [r["dirty read"] for r in rows if r["pattern"] == "orchestration"]
    with pytest.raises(ValueError, match="isolation_table"):
        isolation_violations([])
