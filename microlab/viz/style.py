"""The shared look of every microlab figure: one palette, one template, one time unit rule.

A colour means the same thing in every figure of the course, so that a learner who has
learnt "green is an event" in the sequence diagram reads the topology and the charts
without a legend hunt:

- blue is a **command** (and the orchestrator, and the orchestration pattern: the
  orchestrator is the one that sends commands);
- green is an **event** (and the broker, and the choreography pattern);
- sky blue is a **reply**; reddish purple a **compensation**;
- vermillion (the palette's red) is a **failure**: a handling that failed (solid line),
  or a reply or event that reports one, such as ``TaskFailed`` or ``PaymentFailed``
  (dashed line); black with an "x" a **drop**;
  orange a **duplicate** copy or a timeout.

The palette is Okabe and Ito's, chosen to stay distinguishable under the common forms
of colour blindness. Nothing here imports plotly: the template is a plain dict that
figures put in ``layout.template`` (a dict also keeps the figure JSON small, where
plotly's default template would add about 10 kB to every figure).
"""

from __future__ import annotations

import zlib

# -- the palette (Okabe & Ito 2008) -------------------------------------------------------
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
#: "Other" messages: a grey darker than GREY, which under deuteranopia came within ΔE 7 of GREEN
#: (events); this one keeps ΔE 19 or more from every kind (tools/colour_vision.py).
DARK_GREY = "#5A5A5A"
LIGHT_GREY = "#D9D9D9"
INK = "#222222"

#: Colour of each message category in the sequence diagram and the animation. The order
#: of this dict is the order of the legend.
CATEGORY_COLOURS = {
    "command": BLUE,
    "reply": SKY_BLUE,
    "event": GREEN,
    "compensation": PURPLE,
    "duplicate": ORANGE,
    "failure_report": VERMILLION,
    "failed": VERMILLION,
    "dropped": BLACK,
    "other": DARK_GREY,
}

#: Line pattern of each message category: kinds are told apart by more than colour, so a
#: learner who cannot tell two colours apart (or prints in grey) still can. Plotly dash
#: names, or a px pattern where the names run out.
CATEGORY_DASHES = {
    "command": "solid",
    "reply": "dash",
    "event": "dashdot",
    "compensation": "longdash",
    "duplicate": "longdashdot",
    "failure_report": "6px,3px,2px,3px,2px,3px",
    "failed": "solid",
    "dropped": "dot",
    "other": "1px,4px",
}

#: Marker at the arrival end of each category's arrows (SVG). A failed handling shares the
#: command's solid line but ends in a bar (it stopped there); a drop ends in an "x".
CATEGORY_HEADS = {"failed": "arrow-bar-up", "dropped": "x"}

#: Line width of each category (px; the default is 1.6): a failed handling is drawn heavier.
CATEGORY_WIDTHS = {"failure_report": 2.2, "failed": 2.6}

#: What each category means, as the legend says it.
CATEGORY_LABELS = {
    "command": "command",
    "reply": "reply",
    "event": "event",
    "compensation": "compensation",
    "duplicate": "duplicate copy",
    "failure_report": "reports a failure (…Failed, …Rejected)",
    "failed": "handling failed or lost",
    "dropped": "dropped (×)",
    "other": "other kind",
}

#: Colour of each status of a span in a timeline (a handling, a workflow task attempt).
#: Statuses are compared in lower case, so Conductor's ``COMPLETED`` or ``TIMED_OUT``
#: work as they are.
STATUS_COLOURS = {
    "waiting": LIGHT_GREY,        # in a mailbox or a queue, not started yet
    "scheduled": LIGHT_GREY,      # Conductor: in the task queue, not polled yet
    "in_progress": SKY_BLUE,      # started and not finished when the run stopped
    "handled": BLUE,              # a service handled the message
    "completed": BLUE,            # Conductor: the task attempt succeeded
    "retry_wait": YELLOW,         # waiting out a retry delay (backoff)
    "failed": VERMILLION,         # the handler raised; the task attempt failed
    "failed_with_terminal_error": VERMILLION,   # Conductor: failed, and no retry will help
    "completed_with_errors": ORANGE,            # Conductor: an optional task failed
    "timed_out": ORANGE,          # Conductor: no answer in time
    "lost": BLACK,                # destroyed by a crash
    "canceled": GREY,             # Conductor: the workflow stopped it
    "terminated": GREY,
    "skipped": LIGHT_GREY,        # Conductor: never ran (a switch went elsewhere)
    "compensation": PURPLE,       # undoing an earlier step
    "compensated": PURPLE,
}

#: Colour and marker symbol of each role in the topology.
ROLE_STYLES = {
    "orchestrator": {"color": BLUE, "symbol": "square", "size": 34},
    "broker": {"color": GREEN, "symbol": "diamond", "size": 34},
    "service": {"color": "#F2F2F2", "symbol": "circle", "size": 28},
    "client": {"color": "#FFFFFF", "symbol": "triangle-up", "size": 26},
}

#: Colour of each collaboration pattern in the charts (and of any other series, in order).
PATTERN_COLOURS = {"orchestration": BLUE, "choreography": GREEN}
SERIES_COLOURS = (BLUE, GREEN, ORANGE, PURPLE, SKY_BLUE, VERMILLION, YELLOW, BLACK)

FONT_FAMILY = "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif"
FONT_SIZE = 13        # >= 12 px everywhere: learners read these on laptops
TITLE_SIZE = 17
SMALL_SIZE = 12

#: The layout template applied to every figure (a plain dict: see the module docstring).
TEMPLATE = {
    "layout": {
        "font": {"family": FONT_FAMILY, "size": FONT_SIZE, "color": INK},
        "title": {"font": {"size": TITLE_SIZE}, "x": 0.01, "xanchor": "left"},
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "colorway": list(SERIES_COLOURS),
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": SMALL_SIZE}, "align": "left"},
        "legend": {"font": {"size": SMALL_SIZE}, "bgcolor": "rgba(255,255,255,0.85)"},
        "margin": {"l": 80, "r": 30, "t": 70, "b": 60},
        "xaxis": {"gridcolor": "#EBEBEB", "linecolor": "#BBBBBB", "zeroline": False,
                  "showline": True, "ticks": "outside", "automargin": True},
        "yaxis": {"gridcolor": "#EBEBEB", "linecolor": "#BBBBBB", "zeroline": False,
                  "showline": True, "ticks": "outside", "automargin": True},
    }
}


def time_scale(span: float) -> tuple[str, float]:
    """The unit to show a time span of ``span`` seconds in: ``("ms", 1000.0)`` or ``("s", 1.0)``.

    Simulated message latencies are milliseconds; loads and outages run for seconds.
    Below 2 s, milliseconds read better.
    """
    return ("ms", 1000.0) if span < 2.0 else ("s", 1.0)


def format_time(seconds: float, unit: str) -> str:
    """``seconds`` written in ``unit`` (``"ms"`` or ``"s"``) for hover text."""
    return f"{seconds * 1000:.3f} ms" if unit == "ms" else f"{seconds:.4f} s"


def status_colour(status: str, colours: dict | None = None) -> str:
    """The colour of a timeline status (case-insensitive), or a teaching error."""
    key = str(status).lower()
    table = STATUS_COLOURS if colours is None else {**STATUS_COLOURS, **{k.lower(): v for k, v in colours.items()}}
    try:
        return table[key]
    except KeyError:
        raise ValueError(
            f"unknown span status {status!r}; known statuses: {', '.join(table)}. "
            "Use one of them, or pass colours={" f"{key!r}" ": '#hex'} to give it a colour."
        ) from None


def series_colours(names) -> dict:
    """A colour for each chart series: a pattern keeps its own colour, others take the rest in order."""
    names = list(names)
    taken = {PATTERN_COLOURS[str(n).lower()] for n in names if str(n).lower() in PATTERN_COLOURS}
    free = [c for c in SERIES_COLOURS if c not in taken]
    out, i = {}, 0
    for name in names:
        colour = PATTERN_COLOURS.get(str(name).lower())
        if colour is None:
            colour = free[i % len(free)]
            i += 1
        out[name] = colour
    return out


#: The colour of each of the course's services in the per-service figures (the queues, the
#: spans): a service keeps it whichever others are drawn beside it (the orchestrator blue and the broker green, as in
#: every figure). No two of them are closer than ΔE 14 under deuteranopia or protanopia
#: (tools/colour_vision.py); the client is left out of the charts, and to :data:`OTHER_COLOURS`.
SERVICE_COLOURS = {
    "orchestrator": BLUE, "broker": GREEN, "order": ORANGE,
    "inventory": BLACK, "payment": PURPLE, "shipping": SKY_BLUE,
    "notification": DARK_GREY,
}
#: Colours for any other service, each name's own slot picked from the name (so it too keeps
#: its colour from one figure to the next), the next free one when that colour is taken.
#: (Yellow is left out: a thin yellow line is hard to see on white.)
OTHER_COLOURS = (ORANGE, SKY_BLUE, PURPLE, BLACK, DARK_GREY,
                 VERMILLION, BLUE, GREEN)


def service_colours(names) -> dict:
    """A colour for each service name: the course's services from :data:`SERVICE_COLOURS`,
    any other from :data:`OTHER_COLOURS` by a slot that depends on its name only (a name
    whose colour is taken in this figure moves to the next free one)."""
    names = list(names)
    out = {n: SERVICE_COLOURS[n] for n in names if n in SERVICE_COLOURS}
    for name in sorted((n for n in names if n not in out), key=str):
        slot = zlib.crc32(str(name).encode()) % len(OTHER_COLOURS)
        free = [c for c in OTHER_COLOURS[slot:] + OTHER_COLOURS[:slot] if c not in out.values()]
        out[name] = free[0] if free else OTHER_COLOURS[slot]
    return {n: out[n] for n in names}
