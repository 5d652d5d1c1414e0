"""Compare the patterns: the same orders, orchestrated or choreographed, drawn and measured.

One call in a notebook cell::

    from microlab import labs
    lab = labs.compare_patterns()

The lab runs the order saga (:func:`microlab.scenarios.order_saga`) under the pattern
chosen with the toggle, or under both ("side by side"), and shows the sequence diagram
of each run, their topology, and a small table of metrics: latency, messages and hops
per transaction, success rate.
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import scenarios, viz
from ..distributions import LogNormal
from ..scenarios import KnobError
from .base import Lab

#: The toggle's choices: one pattern, or both.
BOTH = "side by side"
CHOICES = (*scenarios.PATTERNS, BOTH)
#: The "order" dropdown's choice that draws every order of the run.
ALL_ORDERS = "all orders"
#: Shape of the latency distribution (log-normal): the slider sets its median.
LATENCY_SIGMA = 0.5


class CompareLab(Lab):
    """Compare the patterns on the same orders.

    What to try first: switch the toggle to "side by side" and compare the two
    sequence diagrams. Orchestration's arrows all go to and from the orchestrator (a
    star: commands out, replies back); choreography's go through the broker as events,
    in fewer hops per step. Then look at the table: which pattern has the lower
    latency, which sends more messages per order? Move "latency (ms)" up and watch the
    gap grow: every extra hop pays the network's latency once more.

    ``run`` is a dict ``{pattern: RunResult}`` with one entry per pattern shown;
    ``table`` holds the metrics as rows (``metrics``) and as an HTML widget.
    """

    name = "compare"
    title = "Compare the patterns: orchestration and choreography on the same orders"
    try_first = ("Choose \"side by side\", compare the two sequence diagrams, then raise the "
                 "latency and watch which pattern slows down more.")

    def __init__(self, *, pattern: str = BOTH, orders: int = 10, rate: float = 5.0,
                 latency_ms: float = 5.0, seed: int = 1):
        super().__init__()
        c = self.controls
        c["pattern"] = widgets.ToggleButtons(options=list(CHOICES), value=BOTH, description="pattern")
        c["orders"] = widgets.IntSlider(value=10, min=1, max=60, description="orders",
                                        continuous_update=False)
        c["rate"] = widgets.FloatSlider(value=5.0, min=0.5, max=50.0, step=0.5,
                                        description="orders/s", continuous_update=False)
        c["latency_ms"] = widgets.FloatSlider(value=5.0, min=0.5, max=100.0, step=0.5,
                                              description="latency (ms)", continuous_update=False,
                                              tooltip="median network latency of every link (log-normal)",
                                              # The default width cut it to "latency (…" (a screenshot).
                                              style={"description_width": "initial"})
        c["seed"] = widgets.IntSlider(value=1, min=1, max=100, description="seed", continuous_update=False)
        # One order by default: ten orders' arrows drawn together are a dense bundle. The
        # metrics are always the whole run's.
        c["order"] = widgets.Dropdown(options=[ALL_ORDERS], value=ALL_ORDERS, description="draw",
                                      tooltip="the order the sequence diagrams draw (the table measures "
                                              "every order)")
        self._syncing = False
        preset(self, pattern=pattern, orders=orders, rate=rate, latency_ms=latency_ms, seed=seed)
        #: The metrics of the current runs: one dict per metric (row), one column per pattern.
        self.metrics: list[dict] = []
        self.table = widgets.HTML()
        for pattern_name in scenarios.PATTERNS:
            self.figure(f"sequence_{pattern_name}", height=460)
        self.figure("topology", height=560)
        self._boxes = {key: widgets.Box([fw], layout=widgets.Layout(width="100%"))
                       for key, fw in self.figures.items()}
        self.watch(*(n for n in c if n != "order"))
        c["order"].observe(self._order_picked, names="value")

    def layout(self) -> widgets.Widget:
        """Controls on top, then the metrics table, the sequence diagrams and the topology."""
        c = self.controls
        rows = [c["pattern"], widgets.HBox([c["orders"], c["rate"]]),
                widgets.HBox([c["latency_ms"], c["seed"]]), c["order"]]
        return widgets.VBox([*rows, self.table, *self._boxes.values()])

    def settings(self) -> dict:
        """The scenario knobs the controls stand for (checked before anything runs)."""
        c = self.controls
        latency = c["latency_ms"].value
        if not latency > 0:
            raise KnobError(f"latency (ms) must be positive, got {latency!r}: a network takes some time")
        return dict(orders=c["orders"].value, arrival_rate=c["rate"].value,
                    latency=LogNormal(latency / 1000.0, LATENCY_SIGMA), seed=c["seed"].value)

    def refresh(self) -> None:
        """Run the chosen pattern(s) and redraw the diagrams, the topology and the table."""
        choice = self.controls["pattern"].value
        if choice not in CHOICES:
            raise KnobError(f"pattern must be one of {', '.join(CHOICES)}, got {choice!r}")
        knobs = self.settings()
        shown = scenarios.PATTERNS if choice == BOTH else (choice,)
        runs = {p: scenarios.order_saga(p, **knobs) for p in shown}
        self._offer_orders(next(iter(runs.values())).correlations)
        self.draw_sequences(runs)
        if choice == BOTH:
            fig = viz.topology_pair(runs["orchestration"].system, runs["choreography"].system,
                                    logical=True, title="Who reacts to whom: the orchestrator's star, the "
                                                        "choreography's chain of events")
        else:
            fig = viz.topology(runs[choice].system, logical=True,
                               title=f"{choice.capitalize()}: who reacts to whom")
        self.figure("topology", fig)
        self.run = runs
        self.metrics = metric_rows(runs)
        self.table.value = metrics_html(self.metrics, list(runs))
        self.say(_summary(runs, knobs["orders"]))


    def _offer_orders(self, correlations) -> None:
        """Offer the run's orders (and "all orders") in the dropdown, keeping the choice if it
        still exists, else the first order."""
        control = self.controls["order"]
        options = [*correlations, ALL_ORDERS]
        if list(control.options) == options:
            return
        keep = control.value if control.value in options and control.value != ALL_ORDERS else None
        self._syncing = True
        try:
            control.options = options
            control.value = keep or (options[0] if correlations else ALL_ORDERS)
        finally:
            self._syncing = False

    def _order_picked(self, change) -> None:
        # Only the drawing changes: the runs and the table stay (no re-simulation).
        if self._syncing or not self.run:
            return
        try:
            self.draw_sequences(self.run)
        except Exception as exc:  # shown in the lab, as Lab.update does
            self.show_error(f"{type(exc).__name__}: {exc}")

    def draw_sequences(self, runs: dict) -> None:
        """The sequence diagram of each pattern shown, of the order picked (or of all orders)."""
        picked = self.controls["order"].value
        correlation = None if picked == ALL_ORDERS else picked
        what = "every order" if correlation is None else correlation
        for p in scenarios.PATTERNS:
            key = f"sequence_{p}"
            if p in runs:
                self.figure(key, viz.sequence_diagram(
                    runs[p].system, correlation=correlation,
                    title=f"{p.capitalize()}: messages between services, {what}"))
                self._boxes[key].layout.display = None
            else:
                # Emptied, not left stale: a hidden figure must not show another setting's run.
                self.figure(key, go.Figure(layout={"title": {"text": f"{p}: not selected"}}))
                self._boxes[key].layout.display = "none"


#: The rows of the metrics table: (label, metric key, how to format it).
METRICS = (
    ("latency p50", "latency_p50", "ms"),
    ("latency p95", "latency_p95", "ms"),
    ("messages per transaction", "messages_per_transaction", "number"),
    ("hops per transaction (longest chain)", "hops_per_transaction", "number"),
    ("success rate", "success_rate", "percent"),
)


def metric_rows(runs: dict) -> list[dict]:
    """One dict per metric: ``{"metric": label, "orchestration": value, ...}`` (raw values)."""
    return [{"metric": label, "key": key, "unit": unit, **{p: r.metrics[key] for p, r in runs.items()}}
            for label, key, unit in METRICS]


def metrics_html(rows: list[dict], patterns: list[str]) -> str:
    """The metrics as a small HTML table, one column per pattern."""
    head = "".join(f"<th style='padding:2px 12px;text-align:right'>{html.escape(p)}</th>" for p in patterns)
    body = []
    for row in rows:
        cells = "".join(f"<td style='padding:2px 12px;text-align:right'>{_fmt(row[p], row['unit'])}</td>"
                        for p in patterns)
        body.append(f"<tr><td style='padding:2px 12px'>{html.escape(row['metric'])}</td>{cells}</tr>")
    return ("<table style='border-collapse:collapse;font-size:14px;margin:6px 0'>"
            f"<tr><th style='padding:2px 12px;text-align:left'>metric</th>{head}</tr>{''.join(body)}</table>")


def _fmt(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "percent":
        return f"{value * 100:.0f}%"
    return f"{value:.3g}"


def _summary(runs: dict, orders: int) -> str:
    parts = []
    for p, r in runs.items():
        m = r.metrics
        parts.append(f"{p}: {m['completed']} of {orders} orders completed, "
                     f"median latency {_fmt(m['latency_p50'], 'ms')}")
    return "; ".join(parts) + "."


def preset(lab: Lab, **values) -> None:
    """Set initial control values, refusing any the control cannot hold.

    A slider silently clamps a value outside its range; a learner who asked for 500
    orders must hear that the lab goes up to 60, not get 60 without a word.
    """
    for name, value in values.items():
        control = lab.controls[name]
        options = getattr(control, "options", None)
        if options is not None and not isinstance(control, widgets.SelectionSlider):
            labels = [o[0] if isinstance(o, tuple) else o for o in options]
            if value not in labels:
                raise KnobError(f"{name} must be one of {', '.join(map(str, labels))}; got {value!r}")
        elif hasattr(control, "min") and hasattr(control, "max"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise KnobError(f"{name} must be a number, got {value!r}")
            if not control.min <= value <= control.max:
                raise KnobError(f"{name} must be between {control.min:g} and {control.max:g} in this lab, "
                                f"got {value!r}; for bigger runs call microlab.scenarios directly")
        control.value = value


def compare_patterns(*, pattern: str = BOTH, orders: int = 10, rate: float = 5.0,
                     latency_ms: float = 5.0, seed: int = 1) -> CompareLab:
    """The compare lab, run once with these settings (see :class:`CompareLab`)."""
    lab = CompareLab(pattern=pattern, orders=orders, rate=rate, latency_ms=latency_ms, seed=seed)
    lab.update()
    return lab
