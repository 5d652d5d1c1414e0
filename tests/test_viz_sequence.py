"""microlab.viz.sequence: the swimlane (Lamport) diagram of a run."""

import math

import numpy as np
import pytest

from microlab import Drop, Duplicate, Exponential, Service, System
from microlab.trace import DELIVER, DROP
from microlab.viz import sequence, style
from microlab.viz.sequence import sequence_diagram


class Orchestrator(Service):
    def on_Order(self, msg):
        self.send("payment", "Charge", {"amount": msg.payload, "note": "x" * 200})

    def on_Charged(self, msg):
        self.send("client", "Done", msg.payload)

    def on_Declined(self, msg):
        refund = self.send("payment", "Refund", msg.payload)
        self.system.trace.record(self.now, "compensate", self.name, refund)

    def on_Refunded(self, msg):
        self.send("client", "Cancelled")


class Payment(Service):
    def on_Charge(self, msg):
        if msg.payload["amount"] == 13:
            raise RuntimeError("unlucky amount")
        kind = "Declined" if msg.payload["amount"] > 100 else "Charged"
        self.reply(msg, kind, msg.payload)

    def on_Refund(self, msg):
        self.reply(msg, "Refunded")


def run(seed=3, orders=(10, 200, 13, 20, 30), crash=True, faults=()):
    system = System(seed=seed, latency=Exponential(0.01), warn_on_failure=False)
    system.add(Orchestrator(), Payment())
    for fault in faults:
        system.network.add_fault(fault)
    for i, amount in enumerate(orders):
        system.inject("orchestrator", "Order", amount, correlation=f"o{i}", at=i * 0.05)
    if crash:
        system.crash("payment", at=0.16, duration=0.05)
    system.run()
    return system


def arrows(fig, group):
    """(x0, x1, y0, y1) of every arrow in the trace of one category."""
    [trace] = [t for t in fig.data if t.legendgroup == group]
    x, y = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
    assert np.isnan(x[2::3]).all()  # every arrow is (start, end, NaN)
    return list(zip(x[0::3], x[1::3], y[0::3], y[1::3]))


def groups(fig):
    return [t.legendgroup for t in fig.data]


def test_one_arrow_per_delivered_copy_and_one_x_per_drop():
    system = run(faults=[Drop(types=("Done",), rate=0.5), Duplicate(types=("Order",), rate=0.5)])
    fig = sequence_diagram(system)
    delivered = sum(1 for r in system.trace.records if r[1] == DELIVER)
    dropped = sum(1 for r in system.trace.records if r[1] == DROP)
    assert dropped > 0 and "duplicate" in groups(fig)
    drawn = sum(len(arrows(fig, g)) for g in groups(fig) if g not in ("dropped", "crash"))
    assert drawn == delivered
    assert len(arrows(fig, "dropped")) == dropped
    [drop_trace] = [t for t in fig.data if t.legendgroup == "dropped"]
    assert drop_trace.marker.symbol == "x"


def test_lanes_are_the_services_client_first_and_in_order():
    fig = sequence_diagram(run())
    assert list(fig.layout.yaxis.ticktext) == ["client", "orchestrator", "payment"]
    assert list(fig.layout.yaxis.tickvals) == [0, 1, 2]
    # Every arrow starts on the lane of its sender.
    assert {a[2] for a in arrows(fig, "command")} <= {0.0, 1.0}


def test_failed_handling_is_red_and_compensation_purple():
    fig = sequence_diagram(run(crash=False))
    failed = [t for t in fig.data if t.legendgroup == "failed"][0]
    assert failed.line.color == style.VERMILLION == style.CATEGORY_COLOURS["failed"]
    [(x0, x1, y0, y1)] = arrows(fig, "failed")
    assert (y0, y1) == (1.0, 2.0)  # orchestrator -> payment, the Charge of 13
    hover = [h for h in failed.hovertext if h]
    assert "FAILED: RuntimeError: unlucky amount" in hover[0]
    comp = [t for t in fig.data if t.legendgroup == "compensation"][0]
    assert comp.line.color == style.PURPLE and len(arrows(fig, "compensation")) == 1


def test_compensation_types_colour_by_message_type():
    fig = sequence_diagram(run(crash=False), compensation_types=("Refunded", "Refund"))
    assert len(arrows(fig, "compensation")) == 2


def test_hover_names_type_kind_ids_transaction_and_truncated_payload():
    fig = sequence_diagram(run(crash=False), correlation="o0")
    command = [t for t in fig.data if t.legendgroup == "command"][0]
    texts = [h for h in command.hovertext if h]
    charge = [h for h in texts if "Charge" in h][0]
    assert "<b>#" in charge and "(command)" in charge and "orchestrator → payment" in charge
    assert "transaction o0" in charge and "caused by #" in charge
    assert "…" in charge and "x" * 200 not in charge
    # Hover sits on the arrival end only: the start of each arrow has no text.
    assert all(h == "" for h in command.hovertext[0::3])


def test_correlation_filter_keeps_one_transaction_and_its_lanes():
    system = run(crash=False)
    fig = sequence_diagram(system, correlation="o3")
    n = sum(1 for r in system.trace.records if r[1] == DELIVER and r[3].correlation == "o3")
    assert sum(len(arrows(fig, g)) for g in groups(fig)) == n == 4
    assert "transaction o3" in fig.layout.title.text
    with pytest.raises(ValueError, match="no message belongs to transaction"):
        sequence_diagram(system, correlation="o99")


def test_crash_is_shaded_on_its_lane_from_crash_to_restart():
    fig = sequence_diagram(run())
    [rect] = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (rect.x0, rect.x1) == pytest.approx((160.0, 210.0))  # milliseconds
    assert (rect.y0 + rect.y1) / 2 == 2  # the payment lane
    crash = [t for t in fig.data if t.legendgroup == "crash"][0]
    assert list(crash.x) == pytest.approx([160.0]) and "payment crashed" in crash.hovertext[0]


def test_fault_windows_from_tuples_and_network_faults():
    window = Drop(types=("Done",), start=0.1, end=0.2, destination="client")
    system = run(crash=False, faults=[window, Duplicate(types=("Order",), rate=0.2)])
    fig = sequence_diagram(system, fault_windows=[*system.network.faults,
                                                  (0.05, 0.06, "slow disk", ["payment"])])
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    got = [v for r in rects for v in (r.x0, r.x1, (r.y0 + r.y1) / 2)]
    assert got == pytest.approx([100.0, 200.0, 0.0, 50.0, 60.0, 2.0])
    texts = [a.text for a in fig.layout.annotations]
    assert any("drop" in t and "t=0.1..0.2" in t for t in texts)
    assert any(t.startswith("faults active all run: duplicate 20%") for t in texts)
    assert any("slow disk" in t for t in texts)


def test_bad_fault_windows_and_lanes_say_what_is_wrong():
    system = run(crash=False)
    with pytest.raises(ValueError, match=r"fault_windows\[0\] must be \(start, end, label\)"):
        sequence_diagram(system, fault_windows=[(1, 2)])
    with pytest.raises(ValueError, match=r"start <= end"):
        sequence_diagram(system, fault_windows=[(2, 1, "backwards")])
    with pytest.raises(ValueError, match="'shipping', which has no lane"):
        sequence_diagram(system, fault_windows=[(0, 1, "x", "shipping")])
    with pytest.raises(ValueError, match="lanes leaves out 'client'"):
        sequence_diagram(system, lanes=["orchestrator", "payment"])
    fig = sequence_diagram(system, lanes=["payment", "orchestrator", "client"])
    assert list(fig.layout.yaxis.ticktext) == ["payment", "orchestrator", "client"]


def test_time_axis_unit_follows_the_span():
    assert sequence_diagram(run()).layout.xaxis.title.text == "simulated time (ms)"
    slow = System(seed=1, latency=1.0)
    slow.add(Payment())
    slow.inject("payment", "Charge", {"amount": 1})
    slow.run()
    fig = sequence_diagram(slow)
    assert fig.layout.xaxis.title.text == "simulated time (s)"
    assert arrows(fig, "command") == [(0.0, 1.0, 0.0, 1.0)]


def test_webgl_above_the_threshold(monkeypatch):
    system = run(crash=False)
    assert {t.type for t in sequence_diagram(system).data} == {"scatter"}
    monkeypatch.setattr(sequence, "WEBGL_THRESHOLD", 5)
    fig = sequence_diagram(system)
    assert {t.type for t in fig.data} == {"scattergl"}
    assert sequence_diagram(system, webgl=False).data[0].type == "scatter"


def test_arrowheads_point_along_their_segment():
    fig = sequence_diagram(run(crash=False))
    command = [t for t in fig.data if t.legendgroup == "command"][0]
    assert command.marker.symbol == "arrow" and command.marker.angleref == "previous"
    sizes = np.asarray(command.marker.size)
    assert (sizes[1::3] > 0).all() and (sizes[0::3] == 0).all()


def test_same_seed_same_json_other_seed_other_json():
    a = sequence_diagram(run(seed=9)).to_json()
    assert a == sequence_diagram(run(seed=9)).to_json()
    assert a != sequence_diagram(run(seed=10)).to_json()


def test_every_part_is_labelled():
    fig = sequence_diagram(run())
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.legend.title.text
    names = [t.name for t in fig.data]
    assert all(n for n in names) and len(set(names)) == len(names)
    assert any(n.startswith("command (") for n in names)  # counts in the legend


def test_an_empty_run_draws_lanes_and_says_so():
    system = System()
    system.add(Payment())
    system.run()
    fig = sequence_diagram(system)
    assert list(fig.layout.yaxis.ticktext) == ["payment"] and not fig.data
    assert "no messages" in fig.layout.annotations[0].text
    assert not math.isnan(fig.layout.height)


def test_payload_sets_are_shown_sorted_so_hover_text_is_the_same_in_every_process():
    assert sequence._payload_text({"tags": {"pen", "book", "ink"}}) == '{"tags": ["book", "ink", "pen"]}'
    assert sequence._payload_text("<script>") == '"&lt;script>"'


def test_failure_reports_are_patterned_red_and_named_in_the_legend():
    from microlab import scenarios
    run = scenarios.order_saga("orchestration", orders=4, failure={"shipping": 0.6}, seed=3)
    fig = sequence_diagram(run.system, correlation="order-2")
    report = next(t for t in fig.data if t.legendgroup == "failure_report")
    assert report.line.color == style.VERMILLION
    assert report.line.dash == style.CATEGORY_DASHES["failure_report"] != "solid"
    failed = sum(1 for r in run.trace.for_correlation("order-2")
                 if r.kind == "send" and r.message.type == "TaskFailed")
    assert failed >= 2 and report.name == f"{style.CATEGORY_LABELS['failure_report']} ({failed})"  # each one
    reply = next(t for t in fig.data if t.legendgroup == "reply")
    assert reply.line.dash == "dash"


def _look(trace) -> tuple:
    """What tells a trace's arrows apart without colour: line pattern, width, arrival mark."""
    return trace.line.dash, trace.line.width, trace.marker.symbol


def test_every_message_kind_is_told_apart_by_more_than_colour():
    from microlab import scenarios
    from microlab.faults import FaultPlan
    runs = [scenarios.order_saga("orchestration", orders=6, failure={"shipping": 0.6}, seed=3),
            scenarios.order_saga("choreography", orders=6, seed=2, idempotent=False,
                                 faults=FaultPlan().drop(rate=0.2).duplicate(rate=0.3))]
    looks = {}
    for run in runs:
        for t in sequence_diagram(run.system).data:
            if t.legendgroup in style.CATEGORY_COLOURS:
                looks.setdefault(t.legendgroup, set()).add(_look(t))
    assert {"command", "reply", "event", "duplicate", "dropped", "failure_report"} <= set(looks)
    assert all(len(v) == 1 for v in looks.values()), looks   # one look per kind, in every run
    firsts = {k: next(iter(v)) for k, v in looks.items()}
    assert len(set(firsts.values())) == len(firsts), firsts   # and no two kinds share one
    # The style tables themselves: every category, every pair distinct without its colour.
    table = {c: (style.CATEGORY_DASHES[c], style.CATEGORY_WIDTHS.get(c, 1.6), style.CATEGORY_HEADS.get(c, "arrow"))
             for c in style.CATEGORY_COLOURS}
    assert len(set(table.values())) == len(table)


def test_webgl_arrows_keep_a_named_line_pattern():
    from microlab import scenarios
    run = scenarios.order_saga("orchestration", orders=4, failure={"shipping": 0.6}, seed=3)
    fig = sequence_diagram(run.system, webgl=True)
    assert {t.type for t in fig.data if t.legendgroup in style.CATEGORY_COLOURS} == {"scattergl"}
    named = {"solid", "dot", "dash", "longdash", "dashdot", "longdashdot"}
    assert all(t.line.dash in named for t in fig.data if t.legendgroup in style.CATEGORY_COLOURS)


def test_lanes_client_then_entry_then_the_hub_then_the_rest():
    from microlab import scenarios
    chor = scenarios.order_saga("choreography", orders=2, seed=1)
    lanes = list(sequence_diagram(chor.system).layout.yaxis.ticktext)
    assert lanes[:3] == ["client", "order", "broker"]
    orch = scenarios.order_saga("orchestration", orders=2, seed=1)
    lanes = list(sequence_diagram(orch.system, correlation="order-1").layout.yaxis.ticktext)
    assert lanes[:3] == ["client", "order", "orchestrator"]


def test_one_transaction_zooms_to_its_own_messages_and_labels_each_arrow():
    from microlab import scenarios
    from microlab.faults import FaultPlan

    # The orchestrator crashes and never restarts: its down span lasts the rest of the run.
    run = scenarios.order_saga("orchestration", orders=20, seed=1, standby=True, failover_delay=1.0,
                               faults=FaultPlan().crash("orchestrator", at=1.0))
    corr = next(c for c in run.correlations if 1.0 <= run.arrivals[c])
    fig = sequence_diagram(run.system, correlation=corr)
    lo, hi = fig.layout.xaxis.range
    mine = [r for r in run.trace.records if r[3] is not None and getattr(r[3], "correlation", None) == corr]
    first, last = min(r[0] for r in mine), max(r[0] for r in mine)
    unit_scale = 1000.0 if fig.layout.xaxis.title.text.endswith("(ms)") else 1.0
    assert lo <= first * unit_scale and last * unit_scale <= hi
    assert (hi - lo) <= (last - first) * unit_scale * 1.2, "the axis spans this order, not the whole run"
    labels = [a.text for a in fig.layout.annotations if a.xref == "x" and a.yref == "y"]
    types = {r[3].type for r in mine}
    assert labels and set(labels) <= types
    # No two labels overlap (estimated boxes, as the figure places them): none run together.
    from microlab.viz.sequence import LABEL_CHAR_PX, LABEL_LINE_PX, LANE_PX, PLOT_PX
    per_px = (hi - lo) / PLOT_PX
    centres = [(a.x + (a.xshift or 0) * per_px, a) for a in fig.layout.annotations if a.xref == "x" and a.yref == "y"]
    boxes = [(x - len(a.text) * LABEL_CHAR_PX / 2 * per_px, x + len(a.text) * LABEL_CHAR_PX / 2 * per_px,
              a.y - LABEL_LINE_PX / 2 / LANE_PX, a.y + LABEL_LINE_PX / 2 / LANE_PX) for x, a in centres]
    clashes = [(i, j) for i, p in enumerate(boxes) for j, q in enumerate(boxes[:i])
               if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]]
    assert clashes == []
    # Every label inside the plot: one past the left edge would cover the lane names.
    outside = [a.text for (x, a), box in zip(centres, boxes) if box[0] < lo - 1e-9 or box[1] > hi + 1e-9]
    assert outside == []
    assert any(a.xshift for _, a in centres), "the first arrows, at the left edge, have their labels shifted in"
    whole = sequence_diagram(run.system)
    assert whole.layout.xaxis.range is None and not [a for a in whole.layout.annotations if a.yref == "y"]


def test_the_time_axis_says_which_clock_the_trace_was_measured_on():
    system = run()
    assert sequence_diagram(system).layout.xaxis.title.text.startswith("simulated time")
    real = sequence_diagram(system.trace, clock="real").layout.xaxis.title.text
    assert real.startswith("wall-clock time since the start signal")
    with pytest.raises(ValueError, match="clock is 'simulated' or 'real'"):
        sequence_diagram(system, clock="wall")


def test_point_to_point_compensation_labels_do_not_run_together_at_the_width_jupyterlab_gives():
    """Chapter 04's point-to-point saga (order-3): in JupyterLab the time axis is about 446 px
    wide (the legend takes the rest); at that width no two arrow labels may overlap, as they did
    ("PaymentCompleted" under "Ack:ShippingFailed") while the figure assumed 560 px."""
    from microlab import scenarios
    from microlab.viz.sequence import LABEL_CHAR_PX, LABEL_LINE_PX, LANE_PX

    run = scenarios.order_saga("choreography-p2p", orders=12, failure={"shipping": 0.6}, seed=3)
    fig = sequence_diagram(run.system, correlation="order-3")
    lo, hi = fig.layout.xaxis.range
    per_px = (hi - lo) / 446   # the plot width measured in the chapter's screenshot
    boxes = [(a.x - len(a.text) * LABEL_CHAR_PX / 2 * per_px, a.x + len(a.text) * LABEL_CHAR_PX / 2 * per_px,
              a.y - LABEL_LINE_PX / 2 / LANE_PX, a.y + LABEL_LINE_PX / 2 / LANE_PX, a.text)
             for a in fig.layout.annotations if a.xref == "x" and a.yref == "y"]
    assert len(boxes) >= 10, "most arrows keep their label"
    clashes = [(p[4], q[4]) for i, p in enumerate(boxes) for q in boxes[:i]
               if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]]
    assert clashes == []
