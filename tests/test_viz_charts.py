"""microlab.viz.charts: latency, saturation, queues, outcomes, change impact, growth, retries."""

import numpy as np
import pytest

from microlab import Constant, Service, System
from microlab.viz import style
from microlab.viz.charts import (change_impact, latency_distributions, orchestrator_growth,
                                 outcome_counts, queue_and_utilization, retry_backoff,
                                 saturation_curve)


def test_latency_histograms_share_bins_and_report_percentiles():
    orch = [0.030, 0.032, 0.035, 0.040, 0.090]
    chor = [0.020, 0.022, 0.025]
    fig = latency_distributions({"orchestration": orch, "choreography": chor})
    bars = [t for t in fig.data if t.type == "bar"]
    assert [b.name.split(" (")[0] for b in bars] == ["orchestration", "choreography"]
    assert [b.marker.color for b in bars] == [style.BLUE, style.GREEN]
    assert list(bars[0].x) == list(bars[1].x)                        # shared bins
    for b in bars:
        assert float(np.sum(b.y)) == pytest.approx(100.0)            # shares of transactions
    p50 = np.percentile(orch, 50) * 1000
    assert f"p50 {p50:.3g} ms" in bars[0].name and "(5;" in bars[0].name
    lines = [t for t in fig.data if t.type == "scatter"]
    assert len(lines) == 4 and lines[0].x == (p50, p50)
    assert fig.layout.xaxis.title.text == "latency (ms)"


def test_latency_input_errors_name_the_pattern():
    with pytest.raises(ValueError, match="needs a dict of name -> latencies"):
        latency_distributions([0.1, 0.2])
    with pytest.raises(ValueError, match=r"samples\['choreography'\] is empty"):
        latency_distributions({"orchestration": [0.1], "choreography": []})
    with pytest.raises(ValueError, match=r"samples\['x'\] holds a negative latency"):
        latency_distributions({"x": [0.1, -0.2]})
    with pytest.raises(ValueError, match=r"samples\['x'\]\[1\] is nan"):
        latency_distributions({"x": [0.1, float("nan")]})


ROWS = [
    {"pattern": "orchestration", "rate": 50, "throughput": 50, "p50": 0.03, "p95": 0.05},
    {"pattern": "orchestration", "rate": 150, "throughput": 120, "p50": 0.4, "p95": 0.9},
    {"pattern": "choreography", "rate": 150, "throughput": 149, "p50": 0.02, "p95": 0.04},
    {"pattern": "choreography", "rate": 50, "throughput": 50, "p50": 0.02, "p95": 0.03},
]


def test_saturation_curve_draws_throughput_against_the_ideal_and_latency_on_a_log_axis():
    fig = saturation_curve(ROWS)
    ideal = fig.data[0]
    assert ideal.name == "throughput = offered load" and list(ideal.y) == [0, 150]
    chor = [t for t in fig.data if t.name == "choreography"][0]
    assert list(chor.x) == [50, 150] and list(chor.y) == [50, 149]     # sorted by rate
    p95 = [t for t in fig.data if t.yaxis == "y2" and t.line.dash == "dash" and t.legendgroup == "orchestration"][0]
    assert list(p95.y) == pytest.approx([50.0, 900.0])                # milliseconds
    assert fig.layout.yaxis2.type == "log"
    assert list(fig.layout.yaxis2.tickvals) == [20, 50, 100, 200, 500, 1000]
    assert fig.layout.xaxis.title.text == "offered load (orders/s)"
    # One legend row: the ideal line and a pattern each; the latency line styles are in the subtitle.
    assert [t.name for t in fig.data if t.showlegend is not False] == ["throughput = offered load",
                                                                       "orchestration", "choreography"]
    assert "solid line p50, dashed p95" in fig.layout.title.subtitle.text


def test_saturation_rows_are_checked():
    with pytest.raises(ValueError, match=r"row 1 has no 'p95'"):
        saturation_curve([ROWS[0], {k: v for k, v in ROWS[1].items() if k != "p95"}])
    with pytest.raises(TypeError, match=r"row 0: 'rate' must be a number, got 'fast'"):
        saturation_curve([{**ROWS[0], "rate": "fast"}])
    with pytest.raises(ValueError, match="needs at least one row"):
        saturation_curve([])


class Worker(Service):
    def on_Job(self, msg):
        pass


def busy_system():
    system = System(latency=0)
    system.add(Worker("one", work_time=Constant(1.0)), Worker("two", work_time=Constant(1.0), workers=2))
    for name in ("one", "two"):
        for _ in range(4):
            system.inject(name, "Job")
    system.run()
    return system


def test_queue_and_utilization_from_a_system():
    fig = queue_and_utilization(busy_system(), bins=4)
    queue = {t.name: t for t in fig.data if t.yaxis in (None, "y")}
    util = {t.legendgroup: t for t in fig.data if t.yaxis == "y2"}
    assert set(queue) == {"one", "two"}                     # the client is left out
    assert list(queue["one"].y) == [3, 2, 1, 0]             # 4 jobs, one worker, 1 s each: a mean per second
    assert list(queue["two"].y) == [2, 0, 0, 0]
    assert list(util["one"].y) == pytest.approx([100, 100, 100, 100])
    assert list(util["two"].y) == pytest.approx([100, 100, 0, 0])
    assert fig.layout.yaxis2.title.text == "utilization (% of workers busy)"
    assert fig.layout.xaxis2.title.text == "simulated time (s)"


def test_the_mailbox_is_a_mean_over_each_slice_and_the_hover_adds_its_longest():
    fig = queue_and_utilization(busy_system(), bins=2)      # two slices of 2 s
    one = [t for t in fig.data if t.name == "one" and t.yaxis in (None, "y")][0]
    assert list(one.x) == [1.0, 3.0]                        # one point per slice, at its middle
    assert list(one.y) == pytest.approx([2.5, 0.5])         # 3 then 2 waiting; 1 then none
    assert list(one.customdata) == [3, 1]                   # the longest in each slice
    assert "on average" in one.hovertemplate and "at most %{customdata" in one.hovertemplate
    assert fig.layout.yaxis.title.text == "messages waiting (mean)"
    assert fig.layout.xaxis2.unifiedhovertitle.text == "the 2 s around t = %{x:.3~r} s"
    assert "the mean over 2 s of the run" in fig.layout.title.subtitle.text


def test_bin_max_reads_the_step_in_force_at_a_slice_start_and_every_step_inside():
    from microlab.viz.charts import bin_max
    times, values = np.array([1.0, 1.5, 1.6, 4.0]), np.array([2, 5, 1, 0])
    assert list(bin_max(times, values, np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))) == [0, 5, 1, 1, 0]


def order_run():
    from microlab import scenarios
    return scenarios.order_saga("orchestration", orders=3, arrival_rate=20, seed=1)


def test_a_mailbox_that_stays_empty_is_drawn_on_a_visible_zero_line_and_named():
    fig = queue_and_utilization(order_run(), services=["orchestrator", "payment", "shipping"], bins=10)
    for axis in (fig.layout.yaxis, fig.layout.yaxis2):
        low, high = axis.range
        assert low < 0 < high and axis.zeroline              # 0 sits above the axis's edge, on a line
    payment = [t for t in fig.data if t.name == "payment" and t.yaxis in (None, "y")][0]
    assert not any(payment.y)
    [note] = fig.layout.annotations
    assert note.text == "mailbox empty throughout: payment, shipping"
    assert queue_and_utilization(busy_system()).layout.annotations == ()   # none when every mailbox filled


def test_a_service_keeps_its_colour_whichever_services_are_drawn():
    from microlab.viz.style import SERVICE_COLOURS
    run = order_run()

    def colours(services):
        fig = queue_and_utilization(run, services=services, bins=10)
        return {t.name: t.line.color for t in fig.data if t.yaxis in (None, "y")}

    assert colours(["payment", "shipping"])["payment"] == colours(["order", "payment"])["payment"]
    assert colours(["payment"])["payment"] == colours(None)["payment"] == SERVICE_COLOURS["payment"]
    assert colours(None)["orchestrator"] == style.BLUE
    every = colours(None)
    assert len(set(every.values())) == len(every) == 6       # the six services, six colours


def test_other_services_keep_their_colour_and_never_share_one():
    from microlab.viz.style import OTHER_COLOURS, service_colours
    alone = service_colours(["fraud"])["fraud"]
    assert service_colours(["order", "fraud"])["fraud"] == alone == service_colours(["fraud"])["fraud"]
    many = service_colours([f"service {i}" for i in range(len(OTHER_COLOURS))])
    assert len(set(many.values())) == len(OTHER_COLOURS)     # a taken colour moves a name on
    assert style.YELLOW not in OTHER_COLOURS


def test_queue_and_utilization_from_a_trace_needs_worker_counts_for_shares():
    system = busy_system()
    fig = queue_and_utilization(system.trace, bins=4)
    assert fig.layout.yaxis2.title.text == "busy workers (average)"
    util = {t.legendgroup: t for t in fig.data if t.yaxis == "y2"}
    assert list(util["two"].y) == pytest.approx([2, 2, 0, 0])
    fig = queue_and_utilization(system.trace, bins=4, workers={"one": 1, "two": 2})
    assert fig.layout.yaxis2.title.text == "utilization (% of workers busy)"


def test_outcome_counts_group_bars_by_pattern():
    fig = outcome_counts({"orchestration": {"completed": 9, "compensated": 1},
                          "choreography": {"completed": 8, "stuck": 2}})
    orch, chor = fig.data
    assert list(orch.x) == ["completed", "compensated", "stuck"]
    assert list(orch.y) == [9, 1, 0] and list(chor.y) == [8, 0, 2]
    assert orch.marker.color == style.BLUE and chor.marker.color == style.GREEN
    with pytest.raises(TypeError, match=r"counts\['choreography'\]\['stuck'\] must be a count"):
        outcome_counts({"choreography": {"stuck": 1.5}})


def test_change_impact_counts_and_lists_what_changed():
    fig = change_impact([
        {"change": "add fraud", "pattern": "orchestration", "changed": ["workflow", "fraud"]},
        {"change": "add fraud", "pattern": "choreography", "changed": ["fraud", "payment", "broker"]},
        {"change": "add analytics", "pattern": "choreography", "changed": 1},
    ])
    orch, chor = fig.data
    assert list(orch.y) == [2, 0] and list(chor.y) == [3, 1]
    assert "• workflow<br>• fraud" in orch.hovertext[0]
    with pytest.raises(ValueError, match=r"row 0 has no 'changed'"):
        change_impact([{"change": "x", "pattern": "y"}])


def test_orchestrator_growth_sorts_by_services():
    fig = orchestrator_growth([{"series": "one", "services": 4, "size": 9},
                               {"series": "one", "services": 2, "size": 5}])
    assert list(fig.data[0].x) == [2, 4] and list(fig.data[0].y) == [5, 9]
    # one line per series, split ones too: the size is that of the largest definition
    assert fig.layout.yaxis.title.text == "size (tasks in the largest definition)"


def test_retry_backoff_shows_each_wait_and_the_time_since_the_first_failure():
    fig = retry_backoff({"FIXED": [1, 1, 1], "EXPONENTIAL_BACKOFF": [1, 2, 4]})
    fixed, expo = fig.data
    assert list(expo.y) == [1, 2, 4] and list(expo.customdata) == [1, 3, 7]
    assert list(fixed.x) == ["retry 1", "retry 2", "retry 3"]
    assert fig.layout.yaxis.title.text == "delay before the retry (s)"
    with pytest.raises(ValueError, match="negative delay"):
        retry_backoff({"FIXED": [1, -1]})


def test_every_chart_has_title_axis_titles_legend_and_hover():
    figs = [latency_distributions({"a": [0.1, 0.2]}), saturation_curve(ROWS),
            queue_and_utilization(busy_system()), outcome_counts({"a": {"ok": 1}}),
            change_impact([{"change": "c", "pattern": "p", "changed": 1}]),
            orchestrator_growth([{"series": "s", "services": 1, "size": 1}]),
            retry_backoff({"FIXED": [1]})]
    for fig in figs:
        layout = fig.layout
        assert layout.title.text
        for axis in ("xaxis", "yaxis"):
            assert getattr(layout, axis).title.text or getattr(layout, axis + "2").title.text
        assert layout.legend.title.text
        for t in fig.data:
            assert t.hovertemplate or t.hovertext or t.hoverinfo == "skip"
        assert fig.to_json() == type(fig)(fig).to_json()


def test_latency_legend_numbers_are_readable_without_exponents():
    from microlab.viz.charts import readable
    fig = latency_distributions({"orchestration": [1.14, 1.2, 1.3], "choreography": [0.9, 1.0]})
    names = " ".join(t.name for t in fig.data if t.type == "bar")
    assert "e+" not in names and "p50 1,200 ms" in names
    assert readable(1140.3) == "1,140" and readable(31.234) == "31.2" and readable(0.04123) == "0.0412"


def test_change_impact_wraps_long_change_names_on_the_axis_only():
    from microlab.viz.charts import wrap_label
    long = "insert a fraud check between payment and shipping"
    fig = change_impact([{"change": long, "pattern": "orchestration", "changed": 1}])
    assert fig.data[0].x[0] == long                      # the data keep the whole sentence
    assert list(fig.layout.xaxis.tickvals) == [long]
    assert all(len(line) <= 22 for line in fig.layout.xaxis.ticktext[0].split("<br>"))
    assert wrap_label(long).replace("<br>", " ") == long
