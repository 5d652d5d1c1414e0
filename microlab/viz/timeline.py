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

:func:`transaction_timeline` gets its spans from a trace (the time each message waited
in a mailbox and was handled); :func:`workflow_timeline` gets them from the
orchestration engine's task records (each task attempt, its back-off, its
compensation). Anything else that produces spans in this format can use
:func:`timeline` directly.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go

from ..modules import callable_module
from . import style
from .data import handling_spans, workflow_spans

#: Bars shorter than this fraction of the time axis are widened to stay visible (their
#: hover text still gives the true times).
MIN_VISIBLE = 0.004
#: Statuses drawn as thin bars: time spent waiting rather than working.
THIN = ("waiting", "scheduled", "retry_wait", "skipped")

_REQUIRED = ("lane", "start", "end", "status")


def timeline(spans, *, title: str = "Timeline", lanes=None, lane_title: str = "service",
             colours: dict | None = None, height: int | None = None) -> go.Figure:
    """Draw ``spans`` (see the module doc) as horizontal bars, one row per lane.

    ``lanes``: the rows, top to bottom (default: in order of first appearance).
    ``colours``: extra or different status colours, e.g. ``{"paused": "#999999"}``.
    """
    spans = list(spans)
    _check(spans)
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
    return go.Figure(data=data, layout=layout)


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
                      control_tasks: bool = False, **options) -> go.Figure:
    """The task attempts of the orchestrated workflow of one transaction: one row per task,
    a bar per attempt coloured by its status, yellow back-offs before retries, purple
    compensations (see :func:`microlab.viz.data.workflow_spans`)."""
    spans = workflow_spans(source, correlation, control_tasks=control_tasks)
    if not spans:
        raise ValueError(f"transaction {correlation!r} ran no workflow task: is it orchestrated? "
                         "For a choreography, use transaction_timeline instead")
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
