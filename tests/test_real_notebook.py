"""microlab.real.notebook.side_by_side: two workflow timelines in one figure, each row with its
own shaded "down" bands (no real server needed: a simulated trace stands in for the real one)."""

import pytest

from microlab.orchestration.toyrun import run_toy
from microlab.orchestration.toys import workflow_file
from microlab.real.notebook import side_by_side
from microlab.viz import workflow_timeline
from tests.test_viz_timeline import shipping_down


@pytest.fixture(scope="module")
def runs():
    order = workflow_file("order_fulfillment")
    saga = run_toy(order, {"orderId": "o-1", "amount": 30, "items": ["book"]}, fail={"book_shipment": None})
    return saga, shipping_down()     # no crash; shipping down from t = 2.5 s to 4 s


def legend_entries(fig):
    return ([t.legendgroup for t in fig.data if t.showlegend is not False]
            + [s.legendgroup for s in fig.layout.shapes if s.showlegend])


def test_a_crash_in_the_bottom_run_is_shaded_in_the_bottom_row_only(runs):
    saga, down = runs
    fig = side_by_side(saga.system.trace, saga.correlation, down, "order-8")
    [band] = fig.layout.shapes
    assert (band.xref, band.yref, band.y0, band.y1) == ("x2", "y2 domain", 0, 1)   # across row 2's rows
    assert (band.x0, band.x1) == (2.5, 4.0)
    [label] = [a for a in fig.layout.annotations if "down" in a.text]
    assert (label.xref, label.yref, label.x) == ("x2", "y2 domain", 2.5)
    # The row keeps its timeline's time range (a band is cut at the edge, not stretching the axis).
    assert fig.layout.xaxis2.range == workflow_timeline(down, "order-8").layout.xaxis.range
    assert fig.layout.xaxis.range is None
    # The subplot titles come first, and the bottom one sits above the band's label.
    titles = fig.layout.annotations[:2]
    assert "real Conductor" in titles[0].text and "simulator" in titles[1].text
    assert titles[1].yshift > label.yshift and not titles[0].yshift


def test_a_crash_in_the_top_run_is_shaded_in_the_top_row(runs):
    saga, down = runs
    fig = side_by_side(down.trace, "order-8", saga.system, saga.correlation)
    [band] = fig.layout.shapes
    assert (band.xref, band.yref, band.x0, band.x1) == ("x", "y domain", 2.5, 4.0)
    assert fig.layout.margin.t > 90                       # room for its label above the top row


def test_each_status_and_each_band_is_in_the_legend_once(runs):
    saga, down = runs
    for fig in (side_by_side(saga.system.trace, saga.correlation, down, "order-8"),
                side_by_side(down.trace, "order-8", down, "order-8")):
        entries = legend_entries(fig)
        assert len(entries) == len(set(entries))
        assert set(entries) == {t.legendgroup for t in fig.data} | {s.legendgroup for s in fig.layout.shapes}
    both = side_by_side(down.trace, "order-8", down, "order-8")
    assert [s.xref for s in both.layout.shapes] == ["x", "x2"]   # a band per row, one legend entry
    assert [s.showlegend for s in both.layout.shapes] == [True, False]


def test_each_row_keeps_its_task_order_top_to_bottom(runs):
    saga, down = runs
    fig = side_by_side(saga.system.trace, saga.correlation, down, "order-8")
    assert fig.layout.yaxis2.autorange == "reversed"
    assert list(fig.layout.yaxis2.categoryarray) == ["reserve_inventory", "charge_payment", "book_shipment"]
    assert fig.layout.barmode == "overlay"
