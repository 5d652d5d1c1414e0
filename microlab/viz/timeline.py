"""The timeline (a Gantt chart): what each service, or each workflow task, was doing when.

A timeline draws *spans*: plain dicts with

- ``lane``: the row (a service name, or a workflow task's reference name);
- ``start``, ``end``: simulated seconds;
- ``status``: what the span was (``waiting``, ``handled``, ``failed``, ``lost`` for
  message handlings; Conductor's task statuses such as ``SCHEDULED``, ``IN_PROGRESS``,
  ``COMPLETED``, ``FAILED``, ``TIMED_OUT``, ``CANCELED``, ``SKIPPED`` for task
  attempts; ``retry_wait`` for a retry's back-off; ``compensation``); see
  :data:`microlab.viz.style.STATUS_COLOURS`;
- optional ``label`` (text on the bar), ``attempt`` (1, 2, ...: a retry is attempt 2)
  and ``hover`` (a sentence for the hover box).

A timeline can also shade the time a service was *down* (``down=``, crash to restart):
a band across every row, labelled "<service> down" above the plot and in the legend.
:func:`workflow_timeline` shades, by default, every crash that overlaps the workflow's
tasks, read from the trace's CRASH and RESTART records (:func:`microlab.analysis.down_spans`):
a task whose worker is down waits in its queue, and the band says why. A service that
never restarted is shaded to the right end of the time axis, and its label says so.

:func:`transaction_timeline` gets its spans from a trace (the time each message waited
in a mailbox and was handled); :func:`workflow_timeline` gets them from the
orchestration engine's task records (each task attempt, its back-off, its
compensation). Anything else that produces spans in this format can use
:func:`timeline` directly.
"""

from __future__ import annotations

import math
import re

import plotly.graph_objects as go

from ..modules import callable_module
from . import style
from .data import down_spans, handling_spans, workflow_spans

#: Bars shorter than this fraction of the time axis are widened to stay visible (their
#: hover text still gives the true times).
MIN_VISIBLE = 0.004
#: Statuses drawn as thin bars: time spent waiting rather than working.
THIN = ("waiting", "scheduled", "retry_wait", "skipped")

_REQUIRED = ("lane", "start", "end", "status")
#: The fill of a down service's band: the sequence diagram's crash shading (light vermillion).
DOWN_FILL = "rgba(213,94,0,0.16)"
#: The edge of each down service's bands, one per service in order of first crash: two services
#: down at once share the fill, so the edges (and the labels) tell them apart.
DOWN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
#: Room left and right of the bars when bands are drawn (the axis range is then set, so that a
#: band that runs on past the tasks is cut at the plot's edge rather than stretching the axis).
PAD = 0.04
#: A band label's width as a fraction of the time axis per character (12 px text on a plot
#: about 950 px wide), to keep labels inside the figure and off one another.
LABEL_CHAR = 7 / 950


def timeline(spans, *, title: str = "Timeline", lanes=None, lane_title: str = "service",
             colours: dict | None = None, height: int | None = None, down=None) -> go.Figure:
    """Draw ``spans`` (see the module doc) as horizontal bars, one row per lane.

    ``lanes``: the rows, top to bottom (default: in order of first appearance).
    ``colours``: extra or different status colours, e.g. ``{"paused": "#999999"}``.
    ``down``: when services were down, ``(service, crashed at, restarted at)`` tuples (a
    fourth item, the reason, is allowed: :func:`microlab.analysis.down_spans` gives them;
    ``math.inf`` for a service that never restarted); each is a shaded band across every
    row, labelled "<service> down". The time axis still covers the spans only: a band that
    began before them or ends after them is cut at the plot's edge.
    """
    spans = list(spans)
    _check(spans)
    down = [tuple(d[:3]) for d in (down or ())]
    order = list(dict.fromkeys(s["lane"] for s in spans))
    if lanes is not None:
        lanes = list(dict.fromkeys(lanes))
        missing = [lane for lane in order if lane not in lanes]
        if missing:
            raise ValueError(f"lanes leaves out {', '.join(map(repr, missing))}, which has spans; "
                             "add it to lanes or leave lanes out")
        order = lanes
    t0 = min((s["start"] for s in spans), default=0.0)
    t1 = max((s["end"] for s in spans), default=1.0)
    unit, scale = style.time_scale(t1 - t0)
    least = max(t1 - t0, 1e-9) * MIN_VISIBLE

    by_status: dict = {}
    for s in spans:
        key = str(s["status"]).lower()
        style.status_colour(key, colours)  # raises a teaching error for an unknown status
        by_status.setdefault(key, []).append(s)
    data = []
    # Legend in the palette's order of statuses, then any the caller added.
    known = list(style.STATUS_COLOURS) + [k.lower() for k in (colours or {})]
    for status in sorted(by_status, key=lambda k: known.index(k)):
        group = by_status[status]
        colour = style.status_colour(status, colours)
        base, width, text, hover = [], [], [], []
        for s in group:
            base.append(s["start"] * scale)
            width.append(max(s["end"] - s["start"], least) * scale)
            label = str(s.get("label", ""))
            attempt = s.get("attempt")
            if attempt is not None and attempt != 1:
                label = f"{label} (attempt {attempt})" if label else f"attempt {attempt}"
            text.append(label)
            times = (f"{style.format_time(s['start'], unit)} → {style.format_time(s['end'], unit)}"
                     f" ({style.format_time(s['end'] - s['start'], unit)})")
            head = f"<b>{s['lane']}</b>: {status.replace('_', ' ')}"
            extra = s.get("hover") or label
            hover.append(f"{head}<br>{times}" + (f"<br>{extra}" if extra else ""))
        dark = colour in (style.BLUE, style.BLACK, style.VERMILLION, style.GREEN, style.PURPLE)
        data.append({
            "type": "bar", "orientation": "h", "name": status.replace("_", " "),
            "legendgroup": status,
            "y": [s["lane"] for s in group], "base": base, "x": width,
            "width": 0.35 if status in THIN else 0.7,
            "marker": {"color": colour, "line": {"color": style.INK, "width": 0.5}},
            "text": text, "textposition": "inside", "insidetextanchor": "start",
            "textfont": {"color": "#FFFFFF" if dark else style.INK, "size": style.SMALL_SIZE},
            "hovertext": hover, "hoverinfo": "text",
        })
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title},
        "barmode": "overlay",
        "xaxis": {"title": {"text": f"simulated time ({unit})"}},
        # Long lane names (a compensation's "order_fulfillment_compensation: refund_payment") are
        # broken into lines, and the legend runs along the bottom: on the right, the two
        # squeezed the bars into a quarter of the width.
        "yaxis": {"title": {"text": lane_title}, "categoryorder": "array",
                  "categoryarray": order, "autorange": "reversed", "type": "category",
                  "tickmode": "array", "tickvals": order, "ticktext": [wrap_lane(lane) for lane in order]},
        "legend": {"title": {"text": "status"}, "orientation": "h", "yref": "container", "y": 0,
                   "yanchor": "bottom", "x": 0, "xanchor": "left"},
        "margin": {"b": 100},
        # Labels that do not fit inside their bar are hidden rather than spilling over.
        "uniformtext": {"minsize": style.SMALL_SIZE, "mode": "hide"},
        # Tall enough for every row and for the whole legend (a legend must not scroll).
        "height": height or max(300, 190 + 48 * len(order) + 12 * sum("<br>" in wrap_lane(x) for x in order)),
    }
    if down:
        pad = max(t1 - t0, 1e-9) * PAD
        lo, hi = t0 - pad, t1 + pad
        layout["xaxis"]["range"] = [lo * scale, hi * scale]
        layout["shapes"], layout["annotations"], levels = _down_bands(down, lo, hi, scale, unit)
        # Room above the plot for the bands' labels, one line per level of overlap.
        layout["margin"]["t"] = 70 + LABEL_LINE_PX * levels
        # The number of label lines, for a figure that lays this one out among others
        # (real.notebook.side_by_side): read from here, not worked out from the yshifts.
        layout["meta"] = {BAND_LABEL_LINES: levels + 1 if layout["annotations"] else 0}
    return go.Figure(data=data, layout=layout)


#: Height of one line of down-band labels above a timeline (px): a label that overlaps an
#: earlier one goes this much higher.
LABEL_LINE_PX = 18
#: The key of a timeline's ``layout.meta`` that says how many lines of band labels it stacks
#: above its plot (0 without a band).
BAND_LABEL_LINES = "band_label_lines"


def band_label_lines(fig) -> int:
    """How many lines of down-band labels the timeline ``fig`` stacks above its plot (0 without a band)."""
    return int((fig.layout.meta or {}).get(BAND_LABEL_LINES, 0))


def _down_bands(down, lo, hi, scale, unit) -> tuple[list[dict], list[dict], int]:
    """A shaded band per down interval within the axis ``lo``..``hi`` (s), in the legend once
    per service, and its label above the plot: a label whose band overlaps an earlier one goes
    a line higher, so both read. Returns the shapes, the labels and the number of extra lines."""
    shapes, notes, placed, dashes = [], [], [], {}
    for service, start, end in sorted(down, key=lambda d: (d[1], d[0])):
        if end < lo or start > hi:
            continue          # outside the time drawn
        first = service not in dashes
        dash = dashes.setdefault(service, DOWN_DASHES[len(dashes) % len(DOWN_DASHES)])
        # Three significant digits: the label says roughly when; the trace's CRASH and RESTART say exactly.
        if math.isinf(end):
            when, legend = f"from t = {_short(start * scale)} {unit}, never restarted", "crashed, never restarted"
        else:
            when, legend = f"t = {_short(start * scale)} to {_short(end * scale)} {unit}", "crash to restart"
        x0, x1 = max(start, lo), min(end, hi)
        text = f"<b>{service} down</b> ({when})"
        # The label starts at the crash, or ends at the band's end if it would leave the plot.
        width = (len(service) + len(when) + 8) * LABEL_CHAR * (hi - lo)
        right = x0 + width > hi
        left_end = max(x1 - width, lo) if right else x0
        # A label that would overlap an earlier band or label goes a line higher.
        reach = (min(left_end, x0), max(left_end + width, end))
        busy = {level for (a, b, level) in placed if a <= reach[1] and reach[0] <= b}
        level = min(set(range(len(busy) + 1)) - busy)
        placed.append((*reach, level))
        x0, x1 = x0 * scale, x1 * scale
        shapes.append({"type": "rect", "layer": "below", "xref": "x", "yref": "paper",
                       "x0": x0, "x1": x1, "y0": 0, "y1": 1, "fillcolor": DOWN_FILL,
                       "line": {"color": style.VERMILLION, "width": 1, "dash": dash},
                       "name": f"{service} down ({legend})", "legendgroup": f"down {service}",
                       "showlegend": first})
        notes.append({"xref": "x", "yref": "paper", "x": x1 if right else x0, "y": 1, "yanchor": "bottom",
                      "xanchor": "right" if right else "left", "yshift": 2 + LABEL_LINE_PX * level, "showarrow": False,
                      "text": text,
                      "font": {"size": style.SMALL_SIZE, "color": style.VERMILLION}})
    return shapes, notes, max((p[2] for p in placed), default=0)


def _short(value: float) -> str:
    """``value`` to three significant digits, never in exponent notation (1234.5 gives 1235)."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


#: Characters per line of a lane's name on the axis.
LANE_CHARS = 24


def wrap_lane(name, width: int = LANE_CHARS) -> str:
    """A lane name broken into lines of about ``width`` characters, after ": " or "_" (task
    names have no spaces), never cut short."""
    text = str(name)
    if len(text) <= width:
        return text
    lines, line = [], ""
    for piece in re.split(r"(?<=[: _/])", text):
        if line and len(line) + len(piece) > width:
            lines.append(line.strip())
            line = ""
        line += piece
    lines.append(line.strip())
    return "<br>".join(lines)


def transaction_timeline(source, correlation, *, title: str | None = None, **options) -> go.Figure:
    """The timeline of one business transaction: at each service, the time each of its
    messages waited in the mailbox (thin bars) and was handled (thick bars)."""
    spans = handling_spans(source, correlation)
    return timeline(spans, title=title or f"Where transaction {correlation} spent its time", **options)


def workflow_timeline(source, correlation, *, title: str | None = None,
                      control_tasks: bool = False, downtime=True, **options) -> go.Figure:
    """The task attempts of the orchestrated workflow of one transaction: one row per task,
    a bar per attempt coloured by its status, yellow back-offs before retries, purple
    compensations (see :func:`microlab.viz.data.workflow_spans`).

    ``downtime``: shade the time services were down (crash to restart; a service that never
    restarted, to the end of the time axis) while the workflow's tasks ran: ``True`` (default)
    for every such service, a list of service names for those only, ``False`` for none.
    """
    spans = workflow_spans(source, correlation, control_tasks=control_tasks)
    if not spans:
        raise ValueError(f"transaction {correlation!r} ran no workflow task: is it orchestrated? "
                         "For a choreography, use transaction_timeline instead")
    if downtime and "down" not in options:
        first, last = min(s["start"] for s in spans), max(s["end"] for s in spans)
        wanted = None if downtime is True else set([downtime] if isinstance(downtime, str) else downtime)
        options["down"] = [d for d in down_spans(source, until=math.inf) if d[1] <= last and d[2] >= first
                           and (wanted is None or d[0] in wanted)]
    options.setdefault("lane_title", "workflow task")
    return timeline(spans, title=title or f"Workflow tasks of transaction {correlation}: attempts, "
                    "retries and compensations", **options)


def _check(spans) -> None:
    for i, s in enumerate(spans):
        if not isinstance(s, dict):
            raise TypeError(f"span {i} must be a dict with keys {', '.join(_REQUIRED)}, got {s!r}")
        missing = [k for k in _REQUIRED if k not in s]
        if missing:
            raise ValueError(f"span {i} has no {', '.join(map(repr, missing))}; a span needs "
                             f"{', '.join(_REQUIRED)} (it has {', '.join(map(repr, s)) or 'nothing'})")
        for k in ("start", "end"):
            if not isinstance(s[k], (int, float)):
                raise TypeError(f"span {i} ({s['lane']}): {k} must be a number of seconds, got {s[k]!r}")
        if s["end"] < s["start"]:
            raise ValueError(f"span {i} ({s['lane']}) ends at {s['end']} before it starts at {s['start']}")


# `from microlab.viz import timeline` gives this module, which calls timeline(): see microlab.modules.
callable_module(__name__, timeline)
