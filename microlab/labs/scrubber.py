"""The time scrubber: stop the clock anywhere in a run and see what every service is doing.

In the spirit of RaftScope: a small order saga runs once (under orchestration or
choreography, with a failure of your choice); a slider over *simulated* time then
shows, at that instant, each service's state (up or down, busy workers, messages
waiting in its mailbox), the messages in flight (sent, not yet delivered) drawn
between their sender and receiver, and the last few trace records. Moving the slider
only redraws: the run is not simulated again, so it follows the slider smoothly.

The state at an instant is computed from the trace alone by
:class:`microlab.analysis.instants.RunStates`, which draws nothing (tests and exercises
can use it); this module is the lab around it. It is one unit because its controls,
its three figures and the redraw that keeps them on one instant change together.
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import scenarios, viz
from ..errors import MicrolabError
from ..faults import FaultPlan
from ..trace import Trace
from ..viz import style
# The state at an instant is the analysis layer's; re-exported for the course's older imports.
from ..analysis.instants import RECENT, RunStates, ServiceState, Wire, wires  # noqa: F401
from ..viz.topology import positions, talk_graph
from ..words import count
from .base import Lab

#: What can go wrong in the run, as the "failure" dropdown offers it.
FAILURES = {
    "nothing": "nothing goes wrong",
    "payment_fails": "payment fails 30% of attempts",
    "payment_crash": "payment crashes at t=0.2 s for 0.5 s",
    "central_crash": "the orchestrator (or the broker) crashes at t=0.2 s for 0.5 s",
    "drops": "the network drops 10% of messages",
}
#: Orders per second: fast enough that several orders are under way when something fails.
ARRIVAL_RATE = 20.0
#: Positions of the play button (the slider is divided into this many steps).
PLAY_STEPS = 100
#: How far (in layout units) a message in flight is drawn off its link, so that the two
#: directions of one link do not hide each other.
LANE_OFFSET = 0.035


def failure_knobs(failure: str, pattern: str) -> dict:
    """The scenario knobs for one of :data:`FAILURES` under ``pattern``."""
    if failure not in FAILURES:
        raise MicrolabError(f"unknown failure {failure!r}; pick one of: "
                            + "; ".join(f"{k!r} ({v})" for k, v in FAILURES.items()))
    if failure == "payment_fails":
        return {"failure": {"payment": 0.3}}
    if failure == "payment_crash":
        return {"faults": FaultPlan().crash("payment", at=0.2, duration=0.5)}
    if failure == "central_crash":
        central = "orchestrator" if pattern == "orchestration" else "broker"
        # A standby takes over under orchestration; the broker simply comes back.
        return {"faults": FaultPlan().crash(central, at=0.2, duration=0.5)}
    if failure == "drops":
        return {"faults": FaultPlan().drop(rate=0.1)}
    return {}


# -- the lab -----------------------------------------------------------------------------------

class TimeScrubberLab(Lab):
    """Scrub simulated time and watch services work, queue, crash and recover.

    Try first: choose "payment crashes", then drag the time slider across t=0.2 s: the
    payment service turns red, commands pile up in flight towards it or are lost, and
    (under orchestration) the orchestrator retries them once it is back. Press "next
    event" to step one trace record at a time. Then switch the pattern to choreography
    and find the same moment.
    """

    name = "scrubber"
    title = "Time scrubber: the system at one instant"
    try_first = ("Pick \"payment crashes\" and drag the time across t=0.2 s; then step event by event "
                 "with \"next event\".")

    def __init__(self, pattern: str = "orchestration", failure: str = "payment_crash", *,
                 orders: int = 8, seed: int = 1):
        super().__init__()
        if pattern not in scenarios.PATTERNS:
            raise MicrolabError(f"pattern must be 'orchestration' or 'choreography', got {pattern!r}")
        failure_knobs(failure, pattern)      # a teaching error now rather than at the first run
        c = self.controls
        c["pattern"] = widgets.ToggleButtons(options=list(scenarios.PATTERNS), value=pattern, description="pattern")
        c["failure"] = widgets.Dropdown(options=[(text, key) for key, text in FAILURES.items()], value=failure,
                                        description="failure", layout=widgets.Layout(width="480px"))
        c["orders"] = widgets.IntSlider(value=orders, min=1, max=30, description="orders", continuous_update=False)
        c["seed"] = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="160px"))
        # Moving the time only redraws (no simulation): continuous updates are cheap.
        c["time"] = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.001, description="time (s)",
                                        readout_format=".3f", continuous_update=True,
                                        layout=widgets.Layout(width="70%"))
        c["previous"] = widgets.Button(description="previous event", icon="step-backward")
        c["next"] = widgets.Button(description="next event", icon="step-forward")
        c["play"] = widgets.Play(value=0, min=0, max=PLAY_STEPS, step=1, interval=150, description="play")
        self.figure("topology", height=520)
        self.figure("state", height=340)
        self.records = widgets.HTML()
        self.states: RunStates | None = None
        self._pos: dict = {}
        self._n_base = 0
        #: The bars' fixed y range over the whole run (set with the bars' next redraw).
        self._bars_range = [0, 1.5]
        #: The services the bar chart was drawn for.
        self.states_shown: list = []
        self._quiet = False
        self.watch("pattern", "failure", "orders", "seed")
        #: The instant the figures show (None before the first run).
        self._shown: float | None = None
        c["time"].observe(self._time_moved, names="value")
        c["next"].on_click(lambda _b: self._safely(self.step, +1))
        c["previous"].on_click(lambda _b: self._safely(self.step, -1))
        c["play"].observe(self._played, names="value")

    def layout(self) -> widgets.Widget:
        """Run settings, then the time controls, then the figures and the recent records."""
        c = self.controls
        run_row = widgets.HBox([c["pattern"], c["failure"], c["orders"], c["seed"]],
                               layout=widgets.Layout(flex_flow="row wrap"))
        time_row = widgets.HBox([c["play"], c["previous"], c["time"], c["next"]],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        return widgets.VBox([run_row, time_row, self.figures["topology"], self.figures["state"], self.records])

    # -- running ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Run the saga with the current settings, then show the chosen instant."""
        c = self.controls
        pattern = c["pattern"].value
        run = scenarios.order_saga(pattern, orders=c["orders"].value, seed=c["seed"].value,
                                   arrival_rate=ARRIVAL_RATE, standby=True,
                                   **failure_knobs(c["failure"].value, pattern))
        states = RunStates(run.system)
        first = self.run is None
        self.run, self.states = run, states
        self._pos = positions(talk_graph(run.system))
        topology = base_topology(run.system)
        if self.states_shown != states.services:
            # The bars depend only on which services there are: redraw them only when that changes.
            self.figure("state", state_bars(states.services))
            self.states_shown = list(states.services)
        # A fixed scale over the whole run, so that the bars do not rescale as the time moves.
        self._bars_range = [0, max(states.peak(), 1) + 0.5]
        self._n_base = len(topology.data) - len(OVERLAYS)
        slider = c["time"]
        t = states.opening() if first else min(slider.value, states.end)
        self._quiet = True
        try:
            # Widen before narrowing so that ipywidgets never clamps the value on the way.
            slider.max = max(states.end, slider.max)
            slider.value = t
            slider.max = states.end
            slider.step = max(states.end / 2000, 1e-4)
        finally:
            self._quiet = False
        # The instant is drawn into the new topology before it is sent: one update of each
        # figure per run, not a resend of the topology followed by its overlays.
        self.show_time(topology)
        self.figure("topology", topology)

    @property
    def time(self) -> float:
        """The instant shown (simulated seconds)."""
        value = self.controls["time"].value
        return self._shown if self._is_shown(value) else value

    def _is_shown(self, value: float) -> bool:
        # The browser snaps a time the lab set (an event's, a crash's) to the slider's step and
        # sends it back: within half a step of the instant shown, that is no move by the learner.
        return self._shown is not None and abs(value - self._shown) <= self.controls["time"].step / 2

    def _time_moved(self, change) -> None:
        if not self._is_shown(change["new"]):   # a redraw of the same instant cost a whole update
            self._safely(self.show_time)

    def show_time(self, topology: go.Figure | None = None) -> None:
        """Redraw the state, the messages in flight and the recent records at the slider's time
        (the messages and services into ``topology`` if given, else into the lab's figure)."""
        if self._quiet or self.states is None:
            return
        t = self.time
        self._shown = t
        st = self.states
        services = st.services_at(t)
        flying = st.in_flight(t)
        topo = topology if topology is not None else self.figures["topology"]
        pos = self._pos
        with topo.batch_update():
            overlays = topo.data[self._n_base:]
            _draw_flying(overlays[0], flying, t, pos)
            _draw_services(overlays[1], overlays[2], services, pos)
            topo.layout.title.text = (f"t = {t:.3f} s: {count(len(flying), 'message')} in flight"
                                      f" ({self.run.pattern}, {FAILURES[self.controls['failure'].value]})")
        bars = self.figures["state"]
        with bars.batch_update():
            bars.data[0].y = [s.busy for s in services]
            bars.data[1].y = [s.mailbox for s in services]
            down = [s for s in services if not s.up]
            bars.data[2].x = [s.name for s in down]
            bars.data[2].y = [0.5] * len(down)
            bars.layout.title.text = f"Each service at t = {t:.3f} s: busy workers and waiting messages"
            if list(bars.layout.yaxis.range or ()) != self._bars_range:
                bars.layout.yaxis.range = self._bars_range
        self.records.value = records_html(st.recent(t), t)
        down_names = ", ".join(s.name for s in services if not s.up)
        lost = ""
        if down_names:
            # While a service is down, what is sent to it is dropped on arrival (a few ms in
            # flight): "0 in flight" then means "nothing reaches it", which the line says.
            crashed = [(s, a) for s, a, b in st.down if a <= t < b]
            n = sum(st.dropped_at(s, a, t) for s, a in crashed)
            lost = (f"Since it went down, {count(n, 'message')} sent to it "
                    + ("was dropped on arrival; its sender retries" if n == 1 else
                       "were dropped on arrival; their senders retry") + " after a timeout. ")
        self.say(f"t = {t:.3f} s of {st.end:.3f} s. " + (f"Down: {down_names}. {lost}" if down_names
                                                          else "All services up. ")
                 + f"In flight: {len(flying)}; waiting in mailboxes: {sum(s.mailbox for s in services)}; "
                 f"busy workers: {sum(s.busy for s in services)}.", "bad" if down_names else "info")

    def step(self, direction: int) -> None:
        """Move the time to the next (+1) or previous (-1) trace record."""
        if self.states is None:
            return
        t = self.time
        target = self.states.next_event(t) if direction > 0 else self.states.previous_event(t)
        if target == t:
            return
        # Moved quietly, then drawn at the event's own instant: two events closer than half a
        # slider step would otherwise pass for the browser's snapped echo of the first, and
        # "next event" stayed on the first for ever (0.2429 s and 0.2432 s, payment_crash).
        self._quiet = True
        try:
            self.controls["time"].value = target
        finally:
            self._quiet = False
        self._shown = None
        self.show_time()

    def _played(self, change) -> None:
        if self.states is not None:
            self._safely(lambda: setattr(self.controls["time"], "value",
                                         self.states.end * change["new"] / PLAY_STEPS))

    def _safely(self, action, *args) -> None:
        """Run ``action`` showing any error in the lab, as :meth:`Lab.update` does for refresh."""
        try:
            action(*args)
        except MicrolabError as exc:
            self.show_error(str(exc))
        except Exception as exc:  # shown in the lab rather than swallowed by ipywidgets
            import traceback
            self.show_error(f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        else:
            self.error = None


# -- figures -----------------------------------------------------------------------------------

#: The traces added on top of the topology, in order: messages in flight, down marks, state labels.
OVERLAYS = ("in flight", "down", "state")


def base_topology(system) -> go.Figure:
    """:func:`microlab.viz.topology` of the whole run, faded, with empty overlay traces on top."""
    fig = viz.topology(system, title="t = 0")
    # Say what the numbers on the links are: whole-run totals, not the instant's.
    fig.layout.title.subtitle.text = ("numbers on the links: messages sent over the whole run; "
                                      "dots: messages in flight at this instant")
    # The links are the background: faded, out of the legend (their numbers are whole-run totals).
    fig.update_traces(opacity=0.3, showlegend=False, selector={"mode": "lines+markers"})
    ring = {"width": 1, "color": "white"}
    overlays = [{"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": f"{kind} in flight",
                 "legendgroup": "flight", "hoverinfo": "skip",
                 "marker": {"color": style.CATEGORY_COLOURS[kind], "size": 11, "line": ring}}
                for kind in ("command", "reply", "event")]
    # The three overlays the lab redraws at each instant (see OVERLAYS), last.
    overlays += [
        {"type": "scatter", "x": [], "y": [], "mode": "markers", "name": "message in flight",
         "showlegend": False, "hoverinfo": "text", "marker": {"size": 11, "line": ring}},
        {"type": "scatter", "x": [], "y": [], "mode": "markers", "name": "down (crashed)", "hoverinfo": "skip",
         "marker": {"symbol": "x-thin-open", "size": 44, "color": style.VERMILLION,
                    "line": {"width": 5, "color": style.VERMILLION}}},
        {"type": "scatter", "x": [], "y": [], "mode": "text", "showlegend": False, "hoverinfo": "skip",
         "textposition": "middle center", "textfont": {"size": style.SMALL_SIZE, "color": style.INK}},
    ]
    fig.add_traces(overlays)
    fig.update_layout(legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0.5, "xanchor": "center"},
                      margin={"t": 80, "b": 40, "l": 10, "r": 10})
    return fig


def _draw_flying(trace, flying: list, t: float, pos: dict) -> None:
    xs, ys, colours, symbols, hover = [], [], [], [], []
    for w in flying:
        msg = w.message
        a, b = pos.get(msg.source), pos.get(msg.destination)
        if a is None or b is None:
            continue
        end = w.ended if w.ended is not None else math.inf
        frac = 0.5 if not math.isfinite(end) or end <= w.sent else (t - w.sent) / (end - w.sent)
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy) or 1.0
        # Each direction of a link travels on its own side of the line.
        ox, oy = -dy / length * LANE_OFFSET, dx / length * LANE_OFFSET
        xs.append(a[0] + frac * dx + ox)
        ys.append(a[1] + frac * dy + oy)
        colours.append(style.CATEGORY_COLOURS.get(msg.kind, style.GREY))
        doomed = w.outcome == "dropped"
        symbols.append("x" if doomed else "circle")
        fate = (f"will be dropped ({w.note})" if doomed else
                f"arrives at t={w.ended:.3f} s" if w.ended is not None else "still in flight at the end")
        hover.append(f"#{msg.id} <b>{html.escape(msg.type)}</b> ({msg.kind})<br>{msg.source} → {msg.destination}"
                     f"<br>sent at t={w.sent:.3f} s, {fate}<br>transaction {msg.correlation}")
    trace.x, trace.y = xs, ys
    trace.marker.color, trace.marker.symbol = colours, symbols
    trace.hovertext = hover


def _draw_services(down_trace, label_trace, services: list, pos: dict) -> None:
    down = [s for s in services if not s.up and s.name in pos]
    down_trace.x = [pos[s.name][0] for s in down]
    down_trace.y = [pos[s.name][1] for s in down]
    shown = [s for s in services if s.name in pos]
    spots = [_label_spot(pos[s.name], s.name) for s in shown]
    label_trace.x = [x for x, _ in spots]
    label_trace.y = [y for _, y in spots]
    label_trace.text = [_state_text(s) for s in shown]
    label_trace.textposition = [_label_anchor(pos[s.name]) for s in shown]
    label_trace.textfont.color = [style.VERMILLION if not s.up else (style.BLUE if s.busy or s.mailbox else style.GREY)
                                  for s in shown]


def _state_text(s: ServiceState) -> str:
    if not s.up:
        return "<b>DOWN</b>"
    if not s.busy and not s.mailbox:
        return "idle"
    return f"busy {s.busy}/{s.workers}" + (f", {s.mailbox} waiting" if s.mailbox else "")


def _label_spot(xy, name: str = "") -> tuple[float, float]:
    """Where a node's state goes: just under the node, or just above it for the nodes at the
    bottom of the ring (whose names sit underneath)."""
    x, y = xy
    if _central(xy):
        # The hub of the star (orchestrator or broker): under it runs a link, and its big
        # marker would hide the text. Its name is on its right: the state follows it, on the
        # same line, in the free wedge between the links going up-right and down-right.
        return (x + HUB_LABEL_DX + HUB_CHAR_DX * len(name), y)
    return (x, y + 0.17) if y < -0.5 else (x, y - 0.17)


#: How far right of the hub its state label starts, in layout units: past the marker, plus
#: about a bold character's width per letter of its name (the name is written there).
HUB_LABEL_DX, HUB_CHAR_DX = 0.22, 0.07


def _central(xy) -> bool:
    """Is this node the hub at the centre of the star layout?"""
    return abs(xy[0]) < 0.05 and abs(xy[1]) < 0.05


def _label_anchor(xy) -> str:
    """The text position of a node's state label: centred under or over it, or starting right
    of the hub (see :func:`_label_spot`)."""
    return "middle right" if _central(xy) else "middle center"


def state_bars(services: list) -> go.Figure:
    """Busy workers and mailbox length per service (values filled in by the lab at each instant)."""
    names = list(services)
    data = [
        {"type": "bar", "x": names, "y": [0] * len(names), "name": "busy workers",
         "marker": {"color": style.BLUE}},
        {"type": "bar", "x": names, "y": [0] * len(names), "name": "messages waiting in the mailbox",
         "marker": {"color": style.ORANGE}},
        {"type": "scatter", "x": [], "y": [], "mode": "markers+text", "name": "down (crashed)",
         "texttemplate": "DOWN", "textposition": "top center", "textfont": {"color": style.VERMILLION},
         "marker": {"symbol": "x", "size": 18, "color": style.VERMILLION}},
    ]
    # A toy service handles a message in about a millisecond: most instants show no bar.
    why = "a toy service handles a message in ~1 ms, so most instants show none; \"next event\" finds one"
    layout = {"template": style.TEMPLATE, "barmode": "group",
              "title": {"text": "Each service: busy workers and waiting messages", "subtitle": {"text": why}},
              "yaxis": {"title": {"text": "count"}, "rangemode": "tozero", "dtick": 1},
              "xaxis": {"title": {"text": "service"}, "categoryorder": "array", "categoryarray": names},
              "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
              "margin": {"t": 80, "b": 90}}
    return go.Figure(data=data, layout=layout)


def records_html(records: list, t: float) -> str:
    """The last trace records up to ``t``, as :meth:`microlab.trace.Trace.format` prints them."""
    shown = Trace()
    shown.records = list(records)
    text = shown.format(limit=None) if records else "(nothing has happened yet)"
    return (f"<div style='font-size:12px;color:#555'>The last {len(records)} trace records at or before "
            f"t = {t:.3f} s:</div><pre style='font-size:11px;line-height:1.3;overflow-x:auto'>"
            f"{html.escape(text)}</pre>")


def time_scrubber(pattern: str = "orchestration", failure: str = "payment_crash", **options) -> TimeScrubberLab:
    """The time scrubber, run once (``failure``: a key of :data:`FAILURES`)."""
    lab = TimeScrubberLab(pattern, failure, **options)
    lab.update()
    return lab
