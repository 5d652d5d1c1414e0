"""The single point of failure lab: crash the orchestrator (and, for comparison, the broker).

One call in a notebook cell::

    from microlab import labs
    lab = labs.spof_lab()

The orchestrator holds the state of every order in flight: when it crashes, they stall.
A standby that replays the orchestrator's durable log takes over after a failover delay.
The lab crashes the orchestrator of the orchestrated order saga, and the broker of the
choreographed one at the same moment (a broker is a shared component too), and shows
how many orders stalled, the availability customers saw and the time to recover.
"""

from __future__ import annotations

import html
import math
import warnings

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import metrics, scenarios, viz
from ..faults import FaultPlan
from ..scenarios import KnobError
from ..system import HandlerFailureWarning
from ..viz import style
from ..words import count
from .base import Lab
from .compare import preset

#: The shared component each pattern crashes.
CENTRAL = {"orchestration": "orchestrator", "choreography": "broker"}
#: A customer counts an order as served if it completed within this many seconds.
SLO_SECONDS = 1.0


class SpofLab(Lab):
    """Crash the orchestrator; watch in-flight orders stall; turn a standby on.

    What to try first: leave "never restarts" ticked and look at the orders chart: every
    order that arrived after the crash is stuck (red crosses at the top), under both
    patterns, since the broker is shared too. Then tick "standby": the standby replays the
    orchestrator's log and resumes every stalled order after the failover delay, and the
    recovery time is about that delay. Untick "never restarts" to see the broker's outage
    end too: with the outbox on, the choreography catches up by itself.

    ``run`` is a dict ``{pattern: RunResult}``; ``numbers`` the table as a dict
    ``{pattern: {"stuck", "availability", "recovery_time", ...}}``; ``stalled`` the
    stuck transactions of each pattern.
    """

    name = "spof"
    title = "Single point of failure: crash the orchestrator (and the broker, for comparison)"
    try_first = ("Look at the stuck orders (red crosses), then tick \"standby\" and watch them "
                 "resume after the failover delay.")

    def __init__(self, *, at: float = 1.0, duration: float = 2.0, never_restarts: bool = True,
                 standby: bool = False, failover_delay: float = 1.0, orders: int = 20, seed: int = 1):
        super().__init__()
        c = self.controls
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        c["at"] = widgets.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.1, description="crash at t (s)",
                                      **slider)
        c["duration"] = widgets.FloatSlider(value=2.0, min=0.1, max=5.0, step=0.1, description="down for (s)",
                                            **slider)
        c["never"] = widgets.Checkbox(value=True, description="never restarts", indent=False)
        c["standby"] = widgets.Checkbox(value=False, description="standby orchestrator", indent=False)
        c["failover_delay"] = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.1,
                                                  description="failover delay (s)", **slider)
        c["orders"] = widgets.IntSlider(value=20, min=1, max=60, description="orders", **slider)
        c["seed"] = widgets.IntSlider(value=1, min=1, max=100, description="seed", **slider)
        c["never"].observe(self._grey_out, names="value")
        c["standby"].observe(self._grey_out, names="value")
        preset(self, at=at, duration=duration, failover_delay=failover_delay, orders=orders, seed=seed)
        for name, value in (("never", never_restarts), ("standby", standby)):
            if not isinstance(value, bool):
                raise KnobError(f"{'never_restarts' if name == 'never' else name} is a switch: True or False, "
                                f"got {value!r}")
            c[name].value = value
        self._grey_out()
        #: The table's numbers: ``{pattern: {...}}``.
        self.numbers: dict = {}
        #: The stuck transactions of each pattern.
        self.stalled: dict = {}
        self.table = widgets.HTML()
        self.figure("orders", height=560)
        self.figure("sequence", height=460)
        self.watch(*c)

    def layout(self) -> widgets.Widget:
        """The crash on the left, the standby on the right; the table and figures below."""
        c = self.controls
        crash = widgets.VBox([widgets.HTML("<b>The crash</b>"), c["at"], c["duration"], c["never"]])
        cure = widgets.VBox([widgets.HTML("<b>The cure</b>"), c["standby"], c["failover_delay"],
                             widgets.HTML("<b>Run</b>"), c["orders"], c["seed"]])
        return widgets.VBox([widgets.HBox([crash, cure]), self.table, *self.figures.values()])

    def _grey_out(self, change=None) -> None:
        # Settings that cannot matter are greyed out, not silently ignored.
        c = self.controls
        c["duration"].disabled = c["never"].value
        c["failover_delay"].disabled = not c["standby"].value

    def refresh(self) -> None:
        """Crash the central component of each pattern, then measure and draw the damage."""
        c = self.controls
        at = c["at"].value
        duration = None if c["never"].value else c["duration"].value
        base = dict(orders=c["orders"].value, seed=c["seed"].value)
        if c["standby"].value:
            base.update(standby=True, failover_delay=c["failover_delay"].value)
        runs = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HandlerFailureWarning)
            for pattern, central in CENTRAL.items():
                knobs = dict(base, faults=FaultPlan().crash(central, at=at, duration=duration))
                if pattern == "choreography":
                    knobs.pop("standby", None)          # a broker has no standby in this course
                    knobs.pop("failover_delay", None)
                runs[pattern] = scenarios.order_saga(pattern, **knobs)
        arrivals = [t for r in runs.values() for t in r.arrivals.values()]
        if arrivals and at > max(arrivals) + 2.0:
            raise KnobError(f"the crash at t={at:g} s comes after the last order arrived "
                            f"(t={max(arrivals):.2f} s) and finished: nothing would stall. "
                            "Crash earlier, or add orders.")
        self.run = runs
        self.stalled = {p: [corr for corr in r.correlations if r.outcomes[corr] == "stuck"]
                        for p, r in runs.items()}
        self.numbers = {p: outage_numbers(r, at, duration) for p, r in runs.items()}
        self.table.value = numbers_html(self.numbers)
        self.figure("orders", orders_figure(runs, at, duration))
        self.figure("sequence", _one_order(runs["orchestration"], self.stalled["orchestration"], at, duration))
        self.say(*verdict(self.numbers))


def verdict(numbers: dict) -> tuple[str, str]:
    """The message line and its tone: "good" only if no order is stuck under either pattern.

    The words lead with the verdict, so the tone (colour, and the mark before it) and the
    sentence can never disagree.
    """
    o, ch = numbers["orchestration"], numbers["choreography"]
    stuck = o["stuck"] + ch["stuck"]
    head = ("✔ Every order concluded under both patterns." if not stuck
            else f"✘ {count(stuck, 'order')} stuck in all.")
    return (f"{head} Orchestration: {o['stuck']} of {o['orders']} stuck, recovery "
            f"{_seconds(o['recovery_time'])}. Choreography (the broker crashed): {ch['stuck']} of "
            f"{ch['orders']} stuck, recovery {_seconds(ch['recovery_time'])}."), ("bad" if stuck else "good")


def outage_numbers(result, at: float, duration: float | None) -> dict:
    """Stuck orders, availability during the outage and recovery time of one run.

    Availability: of the orders that arrived while the component was down (from ``at``
    to its restart, or to the end if it never restarts), the share completed within
    :data:`SLO_SECONDS`.
    """
    end = math.inf if duration is None else at + duration
    counts = result.checks.counts()
    return {
        "orders": len(result.correlations),
        "completed": counts["completed"],
        "stuck": counts["stuck"],
        "arrived_during_outage": sum(1 for t in result.arrivals.values() if at <= t < end),
        # The run's spans, computed once (each metric would otherwise read the whole trace again).
        "availability": metrics.availability(result, at, end, within=SLO_SECONDS),
        "recovery_time": metrics.recovery_time(result, at, served_after=True),
    }


def numbers_html(numbers: dict) -> str:
    """The outage numbers as a small HTML table, one column per pattern."""
    rows = (("orders completed", lambda n: f"{n['completed']} of {n['orders']}"),
            ("orders stuck", lambda n: str(n["stuck"])),
            ("orders that arrived during the outage", lambda n: str(n["arrived_during_outage"])),
            (f"availability during the outage (completed within {SLO_SECONDS:g} s)",
             lambda n: "n/a" if math.isnan(n["availability"]) else f"{n['availability'] * 100:.0f}%"),
            ("recovery time (crash to the first order placed after it concluding)",
             lambda n: _seconds(n["recovery_time"])))
    head = "".join(f"<th style='padding:2px 12px;text-align:right'>{p} ({CENTRAL[p]} crashed)</th>"
                   for p in numbers)
    body = "".join(f"<tr><td style='padding:2px 12px'>{html.escape(label)}</td>"
                   + "".join(f"<td style='padding:2px 12px;text-align:right'>{fmt(n)}</td>" for n in numbers.values())
                   + "</tr>" for label, fmt in rows)
    return (f"<table style='border-collapse:collapse;font-size:14px;margin:6px 0'><tr><th></th>{head}</tr>"
            f"{body}</table>")


def orders_figure(runs: dict, at: float, duration: float | None) -> go.Figure:
    """Per order: arrival time against latency, one panel per pattern; stuck orders as red
    crosses along the top of their panel; the outage shaded.

    Built as one dict (not with ``make_subplots`` and ``add_vrect``): plotly's object API
    validates every property one by one, which cost this figure about 150 ms.
    """
    done_all = [r.spans[c].latency for r in runs.values() for c in r.correlations
                if c in r.spans and r.spans[c].latency is not None]
    top = max(done_all, default=1.0) * 1.25 or 1.0
    last = max((t for r in runs.values() for t in r.arrivals.values()), default=at) + 0.5
    end = max(last, at + 0.5) if duration is None else at + duration
    n = len(runs)
    gap = 0.14
    height = (1 - gap * (n - 1)) / n
    data, shapes, notes, layout = [], [], [], {}
    for i, (pattern, r) in enumerate(runs.items()):
        suffix = "" if i == 0 else str(i + 1)
        x, y = f"x{suffix}", f"y{suffix}"
        bottom = 1 - (i + 1) * height - i * gap
        done = [c for c in r.correlations if c in r.spans and r.spans[c].latency is not None]
        stuck = [c for c in r.correlations if r.outcomes[c] == "stuck"]
        colour = style.PATTERN_COLOURS[pattern]
        data.append({"type": "scatter", "mode": "markers", "xaxis": x, "yaxis": y,
                     "x": [r.arrivals[c] for c in done], "y": [r.spans[c].latency for c in done],
                     "name": f"{pattern}: concluded", "marker": {"color": colour, "size": 9},
                     "text": [f"{c}: {r.outcomes[c]}" for c in done],
                     "hovertemplate": "%{text}<br>arrived t=%{x:.2f} s<br>took %{y:.2f} s<extra></extra>"})
        data.append({"type": "scatter", "mode": "markers", "xaxis": x, "yaxis": y,
                     "x": [r.arrivals[c] for c in stuck], "y": [top] * len(stuck),
                     "name": f"{pattern}: stuck (never concluded)", "text": stuck,
                     "marker": {"color": style.VERMILLION, "symbol": "x", "size": 11},
                     "hovertemplate": "%{text}: stuck<br>arrived t=%{x:.2f} s<extra></extra>"})
        shapes.append({"type": "rect", "xref": x, "yref": f"{y} domain", "x0": at, "x1": end, "y0": 0, "y1": 1,
                       "fillcolor": style.VERMILLION, "opacity": 0.10, "line": {"width": 0}, "layer": "below"})
        if stuck:   # the crosses sit above every latency: say that their height means "never"
            notes.append({"text": "× stuck: never concluded", "showarrow": False, "xref": f"{x} domain", "yref": y,
                          "x": 1, "y": top, "xanchor": "right", "yanchor": "bottom", "yshift": 6,
                          "font": {"size": style.SMALL_SIZE, "color": style.VERMILLION}})
        notes.append({"text": f"<b>{pattern}</b>: the {CENTRAL[pattern]} crashes", "showarrow": False,
                      "xref": "paper", "yref": "paper", "x": 0, "y": bottom + height, "xanchor": "left",
                      "yanchor": "bottom", "font": {"size": style.FONT_SIZE + 1}})
        layout[f"xaxis{suffix}"] = {"anchor": y, "range": [0, last], "matches": None if i == 0 else "x",
                                    "title": {"text": "order arrived at (simulated s)"} if i == n - 1 else None,
                                    "showticklabels": True}
        layout[f"yaxis{suffix}"] = {"anchor": x, "domain": [bottom, bottom + height], "range": [0, top * 1.2],
                                    "title": {"text": "latency (s)"}}
    outage = "never restarts" if duration is None else f"down for {duration:g} s"
    layout.update(
        template=style.TEMPLATE, height=560, margin={"t": 90, "b": 110}, shapes=shapes, annotations=notes,
        # The title stays short (a long one is cut at the output area's edge); details below it.
        title={"text": "Each order: when it arrived, how long it took",
               "subtitle": {"text": f"crash at t={at:g} s, {outage}; the outage is shaded"}},
        legend={"orientation": "h", "y": -0.18, "x": 0, "yanchor": "top"})
    return go.Figure(data=data, layout=layout)


def _one_order(result, stalled: list, at: float, duration: float | None) -> go.Figure:
    # The most telling transaction: the first stuck one, else the first that arrived
    # during the outage (it waited for the standby or the restart).
    end = math.inf if duration is None else at + duration
    if stalled:
        corr, why, detail = stalled[0], "stuck", "the orchestrator held its state, and is gone"
    else:
        during = [c for c in result.correlations if at <= result.arrivals[c] < end]
        if not during:
            return viz.sequence_diagram(result.system, title="No order arrived during the outage")
        corr, why, detail = during[0], result.outcomes[during[0]], "it arrived during the outage"
    fig = viz.sequence_diagram(result.system, correlation=corr, title=f"Order {corr} (orchestration): {why}")
    fig.layout.title.subtitle.text = detail   # short title, the why underneath: both fit at 850 px
    return fig


def _seconds(value) -> str:
    return "never" if value is None else f"{value:.2f} s"


def spof_lab(*, at: float = 1.0, duration: float = 2.0, never_restarts: bool = True, standby: bool = False,
             failover_delay: float = 1.0, orders: int = 20, seed: int = 1) -> SpofLab:
    """The single point of failure lab, run once with these settings (see :class:`SpofLab`)."""
    lab = SpofLab(at=at, duration=duration, never_restarts=never_restarts, standby=standby,
                  failover_delay=failover_delay, orders=orders, seed=seed)
    lab.update()
    return lab
