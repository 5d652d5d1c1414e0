"""The load lab: raise the arrival rate until a pattern saturates; give the orchestrator workers.

One call in a notebook cell::

    from microlab import labs
    lab = labs.load_lab()

The lab draws the saturation curve of both patterns (a load sweep,
:func:`microlab.scenarios.sweep`: throughput and latency against the offered load) and
marks the current arrival rate on it, measured by a run of each pattern at that rate.
Every service but the orchestrator has :data:`SERVICE_WORKERS` workers, so the
orchestrator (one worker to start with) is the first component to saturate; the
orchestrator workers slider moves its knee to the right. Three toggles set the fair
fight's knobs (:data:`FAIR_KNOBS`): how tasks reach the workers (``dispatch``), the
orchestrator's work time per message, and whether the workflow waits for its listener.

The sweep is the slow part (about a second): it runs again only when the orchestrator's
workers change, with a progress bar, and the notebook's stop button interrupts it.
"""

from __future__ import annotations

import html
import math
import warnings

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import scenarios, viz
from ..distributions import Exponential
from ..flows import ORDER
from ..scenarios import KnobError
from ..system import HandlerFailureWarning
from ..viz import style
from .base import Lab
from .compare import preset

#: Workers of every service but the orchestrator (and the broker, whose work is tiny).
SERVICE_WORKERS = 4
#: The offered loads (orders per second) of the sweep.
RATES = (10, 20, 40, 60, 80, 100, 140, 180)
#: Orders per run of the sweep and of the current point.
SWEEP_ORDERS = 60
#: How many current points (both patterns' runs at one rate and setting) the lab keeps, so
#: that going back to a rate seen before redraws without simulating again.
POINT_CACHE = 32
#: The fair-fight knobs the lab offers (:data:`microlab.scenarios.FAIRNESS`): a control
#: per knob, its choices as ``{label: value}``, the default first.
FAIR_KNOBS = {
    "dispatch": {"poll": "poll", "push": "push"},
    "orchestrator_work_time": {"4 ms": Exponential(0.004), "0.5 ms (the broker's)": Exponential(0.0005)},
    "notification": {"blocking": "blocking", "fire-and-forget": "fire-and-forget"},
}
#: The controls' descriptions, per knob.
FAIR_LABELS = {"dispatch": "dispatch", "orchestrator_work_time": "orchestrator work",
               "notification": "notification"}


class LoadLab(Lab):
    """Load both patterns until one saturates; the orchestrator is the bottleneck.

    What to try first: move "orders/s" right, to 40 or more (the knee is near 25), and
    watch the marked point: the orchestration's throughput stops following the offered
    load (it leaves the dotted line) and its latency shoots up, while the choreography
    keeps up. The table names the
    busiest component: the orchestrator, at nearly 100%. Then give the orchestrator 2 or
    3 workers (the sweep runs again) and see its knee move right.

    ``run`` is a dict ``{pattern: RunResult}`` at the current rate; ``curve`` the sweep's
    rows (one per pattern and rate); ``point`` the current rate's row per pattern.
    """

    name = "load"
    title = "Load: where does each pattern saturate?"
    try_first = ("Move orders/s to 40 or more (past the knee near 25) and watch orchestration leave "
                 "the dotted line; then give the orchestrator a second worker.")

    def __init__(self, *, rate: float = 20, workers: int = 1, seed: int = 1, rates=RATES,
                 orders: int = SWEEP_ORDERS, **fair):
        super().__init__()
        rates = tuple(rates)
        if not rates or any(isinstance(r, bool) or not isinstance(r, (int, float)) or r <= 0 for r in rates):
            raise KnobError(f"rates must be a non-empty list of positive numbers (orders/s), got {rates!r}")
        if isinstance(orders, bool) or not isinstance(orders, int) or orders < 1:
            raise KnobError(f"orders (per run of the sweep) must be a whole number >= 1, got {orders!r}")
        #: The offered loads of the sweep, ascending; and the orders of each run.
        self.rates, self.orders = tuple(sorted(rates)), orders
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        c = self.controls
        c["rate"] = widgets.IntSlider(value=20, min=1, max=int(max(200, max(self.rates))), step=1,
                                      description="orders/s", **slider)
        c["workers"] = widgets.IntSlider(value=1, min=1, max=4, description="orchestrator workers", **slider)
        c["seed"] = widgets.IntSlider(value=1, min=1, max=100, description="seed", **slider)
        for knob, choices in FAIR_KNOBS.items():
            c[knob] = widgets.ToggleButtons(options=list(choices), description=FAIR_LABELS[knob],
                                            style={"description_width": "initial", "button_width": "auto"})
        unknown = sorted(set(fair) - set(FAIR_KNOBS))
        if unknown:
            raise KnobError(f"the load lab has no knob {unknown[0]!r}; its fair-fight knobs are "
                            f"{', '.join(FAIR_KNOBS)}")
        preset(self, rate=rate, workers=workers, seed=seed, **fair)
        #: The sweep's rows of the current settings, and every finished sweep by settings.
        self.curve: list[dict] = []
        self._curves: dict = {}
        #: The current rate's measured row, per pattern.
        self.point: dict = {}
        #: The runs at the current rate of recent settings, oldest first (see POINT_CACHE).
        self._runs: dict = {}
        self.table = widgets.HTML()
        self.figure("saturation", height=520)
        self.watch(*c)

    def layout(self) -> widgets.Widget:
        """Controls, then the current point's table, then the saturation curve."""
        c = self.controls
        note = widgets.HTML(f"<span style='color:#555'>Every other service has {SERVICE_WORKERS} workers; "
                            f"each point of the curve is a run of {self.orders} orders.</span>")
        # The row wraps: three sliders with usable tracks (see base.fit_sliders) are wider
        # than a notebook cell, and a row that cannot wrap squeezed their tracks to ~100 px.
        row = widgets.HBox([c["rate"], c["workers"], c["seed"]], layout=widgets.Layout(flex_flow="row wrap"))
        fair = widgets.HBox([c[k] for k in FAIR_KNOBS], layout=widgets.Layout(flex_flow="row wrap"))
        return widgets.VBox([row, fair, note, self.table, *self.figures.values()])

    def knobs(self) -> dict:
        """The scenario knobs shared by the sweep and the current point."""
        c = self.controls
        workers = {name: SERVICE_WORKERS for name in ORDER.services}
        workers["orchestrator"] = c["workers"].value
        fair = {knob: choices[c[knob].value] for knob, choices in FAIR_KNOBS.items()}
        return dict(workers=workers, seed=c["seed"].value, **fair)

    def sweep(self) -> tuple[list[dict], bool]:
        """The curve for the current settings (cached), and whether it is complete."""
        c = self.controls
        key = (c["workers"].value, c["seed"].value, *(c[k].value for k in FAIR_KNOBS))
        if key in self._curves:
            return self._curves[key], True
        self.step_progress(0, len(self.rates) * len(scenarios.PATTERNS))
        try:
            rows = scenarios.sweep(ORDER, self.rates, orders=self.orders, progress=self.step_progress,
                                   **self.knobs())
        finally:
            self.step_progress(1, 1)   # hide the bar, even if the sweep raised
        complete = len(rows) == len(self.rates) * len(scenarios.PATTERNS)
        if complete:   # an interrupted sweep is shown, not kept: the next change retries it
            self._curves[key] = rows
        return rows, complete

    def runs_at(self, rate: float) -> dict:
        """Both patterns' runs at ``rate`` with the current settings: simulated, or the same
        runs kept from an earlier visit to this rate (the simulator is deterministic, so the
        numbers are the ones a new run would give)."""
        c = self.controls
        key = (rate, c["workers"].value, c["seed"].value, *(c[k].value for k in FAIR_KNOBS))
        runs = self._runs.pop(key, None)
        if runs is None:
            runs = {p: scenarios.order_saga(p, orders=self.orders, arrival_rate=rate, **self.knobs())
                    for p in scenarios.PATTERNS}
        self._runs[key] = runs   # now the newest
        while len(self._runs) > POINT_CACHE:
            del self._runs[next(iter(self._runs))]
        return runs

    def refresh(self) -> None:
        """Sweep if the settings are new, run both patterns at the current rate, redraw."""
        rate = self.controls["rate"].value
        if not rate > 0:
            raise KnobError(f"orders/s must be positive, got {rate!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HandlerFailureWarning)
            rows, complete = self.sweep()
            if not rows:
                self.curve = []
                raise KeyboardInterrupt   # stopped before the first point: Lab.update says so
            runs = self.runs_at(rate)
        self.curve, self.run = rows, runs
        self.point = {p: point_row(r, rate) for p, r in runs.items()}
        curve = marked_curve(rows, self.point)
        self.figure("saturation", curve)
        self.table.value = point_html(self.point, curve_unit(curve))
        busiest = self.point["orchestration"]
        text = (f"At {rate:g} orders/s, orchestration completes {busiest['throughput']:.1f}/s "
                f"(busiest: {busiest['busiest']} at {busiest['utilization'] * 100:.0f}%); "
                f"choreography {self.point['choreography']['throughput']:.1f}/s.")
        if not complete:
            self.say(f"Sweep interrupted: the curve shows {len(rows)} of "
                     f"{len(self.rates) * len(scenarios.PATTERNS)} points. Change a setting to run it again. "
                     + text, "bad")
        else:
            self.say(text)


def point_row(result, rate: float) -> dict:
    """The sweep's row for one run: rate, throughput, latency p50/p95, busiest service."""
    m = result.metrics
    util = result.utilization()
    busiest = max(sorted(util), key=lambda name: util[name]) if util else None
    return {"pattern": result.pattern, "rate": rate, "throughput": m["throughput"], "p50": m["latency_p50"],
            "p95": m["latency_p95"], "completed": m["completed"], "orders": len(result.correlations),
            "busiest": busiest, "utilization": util.get(busiest, math.nan) if busiest else math.nan}


def marked_curve(rows: list[dict], point: dict) -> go.Figure:
    """The saturation curve with the current rate marked on both panels (a star per pattern)."""
    fig = viz.saturation_curve(rows, title="Saturation: throughput and latency as the load grows")
    fig.layout.title.subtitle.text = f"{viz.charts.SATURATION_LINES}; stars: the current rate"
    unit = curve_unit(fig)
    scale = {"s": 1.0, "ms": 1000.0, "µs": 1e6, "us": 1e6}.get(unit, 1000.0)
    for pattern, row in point.items():
        colour = style.PATTERN_COLOURS.get(pattern, style.BLACK)
        star = {"symbol": "star", "size": 18, "color": colour, "line": {"color": style.BLACK, "width": 1.5}}
        fig.add_trace(go.Scatter(x=[row["rate"]], y=[row["throughput"]], mode="markers", marker=star,
                                 name=f"{pattern} now", legendgroup=pattern, showlegend=False,
                                 hovertemplate=f"<b>{pattern}, current rate</b><br>offered %{{x:g}}/s<br>"
                                               "completed %{y:.4g}/s<extra></extra>"))
        if row["p95"] > 0 and not math.isnan(row["p95"]):
            fig.add_trace(go.Scatter(x=[row["rate"]], y=[row["p95"] * scale], mode="markers", marker=star,
                                     xaxis="x2", yaxis="y2", name=f"{pattern} now p95", legendgroup=pattern,
                                     showlegend=False,
                                     hovertemplate=f"<b>{pattern}, current rate</b> p95<br>%{{y:.4g}} "
                                                   f"{unit}<extra></extra>"))
    rate = next(iter(point.values()))["rate"] if point else None
    if rate is not None:
        for xref, yref in (("x", "y domain"), ("x2", "y2 domain")):
            fig.add_shape(type="line", x0=rate, x1=rate, y0=0, y1=1, xref=xref, yref=yref,
                          line={"color": style.GREY, "width": 1})
    return fig


def curve_unit(fig: go.Figure) -> str:
    """The time unit of the saturation curve's latency axis ("ms" or "s"): the figure chooses
    it from the latencies; the stars and the table use the same one, so the numbers agree."""
    text = fig.layout.yaxis2.title.text or "latency (ms"
    return text.split("(")[1].split(",")[0].split(")")[0].strip()


def point_html(point: dict, unit: str = "ms") -> str:
    """The current rate's measurements as a small HTML table, one row per pattern, latencies
    in ``unit`` (``"ms"`` or ``"s"``: the saturation curve's, see :func:`curve_unit`)."""
    if unit not in ("ms", "s"):
        raise ValueError(f"unit must be 'ms' or 's' (the saturation curve's latency unit), got {unit!r}")
    fmt = (lambda v: f"{v * 1000:,.0f} ms") if unit == "ms" else (lambda v: f"{v:,.2f} s")
    head = ("<tr><th style='padding:2px 10px;text-align:left'>pattern</th>"
            + "".join(f"<th style='padding:2px 10px;text-align:right'>{h}</th>"
                      for h in ("offered (orders/s)", "completed (orders/s)", "latency p50", "latency p95",
                                "busiest component"))
            + "</tr>")
    body = "".join(
        f"<tr><td style='padding:2px 10px'>{html.escape(p)}</td>"
        f"<td style='padding:2px 10px;text-align:right'>{r['rate']:g}</td>"
        f"<td style='padding:2px 10px;text-align:right'>{r['throughput']:.1f}</td>"
        f"<td style='padding:2px 10px;text-align:right'>{fmt(r['p50'])}</td>"
        f"<td style='padding:2px 10px;text-align:right'>{fmt(r['p95'])}</td>"
        f"<td style='padding:2px 10px;text-align:right'>{html.escape(str(r['busiest']))} "
        f"({r['utilization'] * 100:.0f}% busy)</td></tr>" for p, r in point.items())
    return f"<table style='border-collapse:collapse;font-size:14px;margin:6px 0'>{head}{body}</table>"


def load_lab(*, rate: float = 20, workers: int = 1, seed: int = 1, rates=RATES,
             orders: int = SWEEP_ORDERS, **fair) -> LoadLab:
    """The load lab, swept and run once with these settings (see :class:`LoadLab`).

    ``rates`` and ``orders`` size the sweep (smaller is faster, rougher). ``fair`` presets
    the fair-fight toggles by label, e.g. ``dispatch="push"``,
    ``orchestrator_work_time="0.5 ms (the broker's)"``, ``notification="fire-and-forget"``
    (:data:`FAIR_KNOBS`).
    """
    lab = LoadLab(rate=rate, workers=workers, seed=seed, rates=rates, orders=orders, **fair)
    lab.update()
    return lab
