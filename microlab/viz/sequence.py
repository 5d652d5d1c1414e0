"""The sequence diagram (swimlanes, or a Lamport diagram): who sent what to whom, and when.

One horizontal lane per service; time runs left to right. Every copy of every message
is an arrow from (send time, sender's lane) to (delivery time, receiver's lane),
coloured by its kind (command, reply, event) or by what went wrong with it (dropped,
duplicated, failed, compensation). A dropped copy ends in an "x": where the network
lost it, or at the receiver that was down. Crashes shade the lane while the service is
down; fault windows shade the lanes they concern.

Why it is fast: all arrows of one colour are ONE plotly trace, built from numpy arrays
in which each arrow is three points, (send, delivery, NaN); the NaN breaks the line.
A figure has at most a dozen traces whatever the number of messages (one trace per
message costs about 170 ms per 1,000 messages; this costs a few). Above
``WEBGL_THRESHOLD`` copies the traces switch to WebGL (``scattergl``), which the
browser redraws fast; WebGL has no rotated arrowheads, so a dot marks the delivery end.

One unit, longer than most modules, because the lanes, the arrow traces, the poll
summaries and the hover text of one diagram share its scale and message styles.
"""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.graph_objects as go

from ..network import NetworkFault, Partition
from . import style
from .data import as_trace, down_spans, flights, lane_order, live_services, roles, services_in
from .polls import POLL_MODES, poll_marks, without_polls

#: Above this many message copies the diagram draws with WebGL (``scattergl``).
WEBGL_THRESHOLD = 2000
#: Characters of payload shown in hover text.
PAYLOAD_CHARS = 80
#: The x axis's title for each kind of clock a trace's times come from.
CLOCKS = {"simulated": "simulated time ({unit})",
          "real": "wall-clock time since the start signal ({unit})"}
#: Marker size of arrowheads (px).
ARROW_SIZE = 10


def sequence_diagram(source, *, correlation=None, lanes=None, fault_windows=(),
                     compensation_types=(), title: str | None = None,
                     webgl: bool | None = None, height: int | None = None,
                     polls: str = "summary", clock: str = "simulated") -> go.Figure:
    """Draw every message of a run (or of one transaction) between service lanes.

    ``source``: a System or its Trace. ``correlation``: draw only that transaction.
    ``lanes``: the services to draw, top to bottom (default: the client first, then the
    service it talks to, then the orchestrator or broker, then the others in order of
    appearance, see :func:`~microlab.viz.data.lane_order`; with a System, every service it has). ``fault_windows``: a
    list of ``(start, end, label)`` or ``(start, end, label, services)`` tuples, or
    network faults (``system.network.faults``), drawn as shaded spans.
    ``compensation_types``: message types to colour as compensations (the trace's
    ``compensate`` records are coloured too). ``webgl``: force WebGL on or off
    (default: on above ``WEBGL_THRESHOLD`` copies). ``polls``: ``"summary"`` (default)
    draws no ``Poll``/``NoTask`` arrows of polling workers, but one mark on a worker's
    lane per task it leased, "N polls, M empty" (see :mod:`.polls`); ``"all"`` draws
    every poll as an arrow. The trace keeps every poll either way. ``clock``:
    ``"simulated"`` (default) or ``"real"`` for a trace read back from real processes, whose
    times are wall-clock seconds since the run's start signal (the axis says which).
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock is 'simulated' or 'real' (a trace read back from real processes), got {clock!r}")
    if polls not in POLL_MODES:
        raise ValueError(f"polls is 'summary' (one mark per leased task) or 'all' (every poll an arrow), "
                         f"got {polls!r}")
    trace = as_trace(source)
    f = flights(trace, correlation, compensation_types)
    marks = []
    if polls == "summary":
        f, hidden = without_polls(f)
        # A transaction's polls are nobody's (they carry no correlation): marks only for the run.
        marks = poll_marks(trace) if hidden and correlation is None else []
    lanes = _lanes(source, trace, f, lanes, correlation)
    row = {name: i for i, name in enumerate(lanes)}
    crashes = [s for s in down_spans(trace) if s[0] in row and
               (correlation is None or _during(s, f))]
    windows, always_on = _fault_windows(fault_windows, lanes)

    sent = np.asarray(f.sent, dtype=float)
    ended = np.asarray(f.ended, dtype=float)
    times = [*f.sent, *f.ended, *(c[1] for c in crashes), *(c[2] for c in crashes),
             *(w[0] for w in windows), *(w[1] for w in windows if math.isfinite(w[1]))]
    t_min = min(times) if times else 0.0
    t_max = max(times) if times else 1.0
    unit, scale = style.time_scale(t_max - t_min)

    # A copy the network dropped as it was sent never travelled: draw a stub from the
    # sender, half a typical latency long, heading for its destination but stopping
    # short of the next lane (so that the "x" is not mistaken for a delivery there).
    delivered = [i for i, o in enumerate(f.outcome) if o == "delivered"]
    typical = float(np.median(ended[delivered] - sent[delivered])) if delivered else 0.0
    stub = typical / 2 if typical > 0 else max(t_max - t_min, 1e-3) / 100

    src_row = np.fromiter((row[m.source] for m in f.messages), dtype=float, count=len(f))
    dst_row = np.fromiter((row[t] for t in f.target), dtype=float, count=len(f))
    at_send = np.asarray(f.at_send, dtype=bool)
    end_x = np.where(at_send, sent + stub, ended)
    end_y = np.where(at_send, src_row + 0.4 * np.sign(dst_row - src_row), dst_row)

    gl = len(f) > WEBGL_THRESHOLD if webgl is None else bool(webgl)
    hover = np.asarray(_hover_texts(f, unit), dtype=object)
    categories = np.asarray(f.category, dtype=object)
    data = []
    for cat, colour in style.CATEGORY_COLOURS.items():
        idx = np.flatnonzero(categories == cat)
        if not len(idx):
            continue
        data.append(_arrows(cat, colour, idx, sent * scale, end_x * scale, src_row, end_y,
                            hover, gl))
    if marks:
        data.append(_poll_markers([mk for mk in marks if mk.worker in row], row, unit, scale, gl))
    shapes = []
    if crashes:
        data.append(_crash_markers(crashes, row, unit, scale, gl))
        shapes += _crash_shapes(crashes, row, scale)
    notes = []
    if windows:
        window_shapes, notes = _window_shapes(windows, row, t_min, t_max, scale)
        shapes += window_shapes

    what = f"transaction {correlation}" if correlation is not None else "the whole run"
    n = len(lanes)
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or f"Messages between services over time: {what}"},
        "xaxis": {"title": {"text": CLOCKS[clock].format(unit=unit)}},
        "yaxis": {"title": {"text": "service"}, "tickmode": "array",
                  "tickvals": list(range(n)), "ticktext": lanes,
                  "range": [n - 0.5, -0.5], "showgrid": True, "gridcolor": "#CFCFCF",
                  "zeroline": False, "fixedrange": True},
        "legend": {"title": {"text": "message (colour and line = kind or outcome)"}},
        "height": height or _height(n, len(data) + bool(windows), bool(always_on)),
        "shapes": shapes,
        "annotations": notes,
    }
    if always_on:
        notes.append({"text": "faults active all run: " + "; ".join(always_on),
                      "xref": "paper", "yref": "paper", "x": 0, "y": 0, "yshift": -72,
                      "xanchor": "left", "yanchor": "top", "showarrow": False,
                      "font": {"size": style.SMALL_SIZE}})
        layout["margin"] = {"b": 110}
    if notes:
        top = max([note["yshift"] for note in notes if note["yref"] == "paper" and note["y"] == 1.0] or [0])
        layout["margin"] = {**layout.get("margin", {}), "t": 80 + top}
    if not len(f):
        notes.append({"text": "no messages to draw", "showarrow": False,
                      "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5})
    elif correlation is not None:
        # One transaction: its own messages set the time axis (a crash that lasts the
        # rest of the run would otherwise squeeze them into one vertical bundle), and
        # each arrow says which message it is.
        layout["xaxis"]["range"] = transaction_range(f.sent, end_x, scale)
        if len(f) <= LABELLED_ARROWS:
            lo, hi = layout["xaxis"]["range"]
            notes += arrow_labels(f, sent * scale, end_x * scale, src_row, end_y, x_per_px=(hi - lo) / PLOT_PX,
                                  x_range=(lo, hi))
    return go.Figure(data=data, layout=layout)


#: A single-transaction diagram labels its arrows with their message types up to this many.
LABELLED_ARROWS = 40


def transaction_range(sent, ended, scale: float) -> list[float]:
    """The time axis of one transaction's diagram: its messages' span, padded 4% each side."""
    lo, hi = float(np.min(sent)), float(np.max(ended))
    pad = max((hi - lo) * 0.04, 1e-4)
    return [(lo - pad) * scale, (hi + pad) * scale]


#: About how wide a single transaction's plot area is (px), and one label character and one
#: label line (px at SMALL_SIZE), and one lane (px): to keep arrow labels from overlapping.
#: The plot width is measured in JupyterLab's screenshots (``make screenshots``): the legend
#: on the right leaves the time axis about 446 px, so 560 let neighbours run together there.
PLOT_PX, LABEL_CHAR_PX, LABEL_LINE_PX, LANE_PX = 440, 6.5, 14, 62
#: Where along its arrow a label may sit, tried in turn (the middle first).
LABEL_SPOTS = (0.5, 0.3, 0.7, 0.15, 0.85)


def arrow_labels(f, x0, x1, y0, y1, x_per_px: float | None = None, x_range=None) -> list[dict]:
    """A small label with the message type on each delivered arrow (for few arrows; a dropped
    copy's stub is too short to carry one, its hover says what it was).

    A label sits at the middle of its arrow, or further along it (:data:`LABEL_SPOTS`) where
    the middle would overlap a label already placed; an arrow with no free spot keeps only its
    hover. ``x_per_px``: x units per pixel of the plot (None: labels are not checked for overlap),
    so that two labels close in time never run together ("StWorkflowStarted"). ``x_range``
    (the axis range, with ``x_per_px``): a label that would stick out of the plot is shifted
    inside it, since one past the left edge covers the lane names ("orde" for "order").
    """
    placed: list[tuple[float, float, float, float]] = []   # boxes: left, right, bottom, top
    notes = []
    for m, a, b, c, d, outcome in zip(f.messages, x0, x1, y0, y1, f.outcome):
        if outcome != "delivered":
            continue
        for spot in (LABEL_SPOTS if x_per_px else LABEL_SPOTS[:1]):
            x, y = a + (b - a) * spot, c + (d - c) * spot
            shift = 0.0
            if x_per_px:
                half_w = (len(m.type) * LABEL_CHAR_PX / 2 + 3) * x_per_px
                # yshift 7 px lifts the label above the arrow: its box, in lanes.
                mid, half_h = y + 7 / LANE_PX, LABEL_LINE_PX / 2 / LANE_PX
                # Inside the plot: shift the box (and the label, in px) off an edge it crosses.
                if x_range is not None:
                    shift = max(x_range[0] - (x - half_w), 0.0) or min(x_range[1] - (x + half_w), 0.0)
                box = (x + shift - half_w, x + shift + half_w, mid - half_h, mid + half_h)
                if any(box[0] < o[1] and o[0] < box[1] and box[2] < o[3] and o[2] < box[3] for o in placed):
                    continue
                placed.append(box)
            note = {"text": m.type, "x": x, "y": y, "xref": "x", "yref": "y",
                    "showarrow": False, "font": {"size": style.SMALL_SIZE, "color": style.INK},
                    "bgcolor": "rgba(255,255,255,0.8)", "yshift": 7}
            if shift:
                note["xshift"] = round(shift / x_per_px, 1)
            notes.append(note)
            break
    return notes


# -- building blocks ------------------------------------------------------------------------

def _height(lanes: int, legend_entries: int, note: bool) -> int:
    """Tall enough for every lane and for the whole legend (which must not scroll)."""
    plot = max(62 * lanes, 34 * legend_entries + 30)
    return 150 + plot + (40 if note else 0)


def _lanes(source, trace, f, lanes, correlation) -> list[str]:
    involved = list(dict.fromkeys(n for m, t in zip(f.messages, f.target) for n in (m.source, t)))
    if lanes is not None:
        if isinstance(lanes, str):
            raise TypeError("lanes must be a list of service names, e.g. lanes=['client', 'payment']")
        lanes = list(dict.fromkeys(lanes))
        missing = [name for name in involved if name not in lanes]
        if missing:
            raise ValueError(f"lanes leaves out {', '.join(map(repr, missing))}, which "
                             f"{'sends or receives' if len(missing) == 1 else 'send or receive'} "
                             f"messages in this {'transaction' if correlation is not None else 'run'}; "
                             f"add {'it' if len(missing) == 1 else 'them'} to lanes or leave lanes out")
        return lanes
    # Client, the service it talks to, the orchestrator or broker, then the rest: the
    # same order in every figure (see lane_order).
    entry = next((t for m, t in zip(f.messages, f.target) if m.source == "client"), None)
    if correlation is not None:
        return lane_order(involved, roles(source), entry)
    live = list(live_services(source))
    return lane_order(live + services_in(trace), roles(source), entry)


def _during(span, f) -> bool:
    """Does a crash span overlap the transaction drawn (so that it matters to it)?"""
    if not len(f):
        return False
    return span[1] <= max(f.ended) and span[2] >= min(f.sent)


def _fault_windows(windows, lanes) -> tuple[list[tuple], list[str]]:
    """Normalise fault windows to ``(start, end, label, lanes or None)``.

    A network fault active for the whole run has no window to shade: it is returned in
    the second list, as its description, for a note under the figure.
    """
    out, always_on = [], []
    for i, w in enumerate(windows or ()):
        if isinstance(w, NetworkFault) and w.start <= 0 and not math.isfinite(w.end):
            always_on.append(w.describe())
            continue
        if isinstance(w, NetworkFault):
            if isinstance(w, Partition):
                names = [n for g in w.groups for n in g]
            else:
                names = [n for n in (w.source, w.destination) if n is not None]
            out.append((w.start, w.end, w.describe(), [n for n in names if n in lanes] or None))
            continue
        if not isinstance(w, (tuple, list)) or len(w) not in (3, 4):
            raise ValueError(f"fault_windows[{i}] must be (start, end, label) or "
                             f"(start, end, label, services) or a network fault, got {w!r}")
        start, end, label = w[0], w[1], w[2]
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)) or end < start:
            raise ValueError(f"fault_windows[{i}]: start and end must be seconds with "
                             f"start <= end, got start={start!r}, end={end!r}")
        names = None
        if len(w) == 4 and w[3] is not None:
            names = [w[3]] if isinstance(w[3], str) else list(w[3])
            unknown = [n for n in names if n not in lanes]
            if unknown:
                raise ValueError(f"fault_windows[{i}] ({label}) names {', '.join(map(repr, unknown))}, "
                                 f"which has no lane; lanes are: {', '.join(lanes)}")
        out.append((float(start), float(end), str(label), names))
    return out, always_on


def _arrows(cat, colour, idx, x0, x1, y0, y1, hover, gl) -> dict:
    """One trace drawing the copies ``idx`` as segments with a marker at the arrival end."""
    n = len(idx)
    x = np.empty(3 * n)
    y = np.empty(3 * n)
    x[0::3], x[1::3], x[2::3] = x0[idx], x1[idx], np.nan
    y[0::3], y[1::3], y[2::3] = y0[idx], y1[idx], np.nan
    # Hover text sits on the arrival end only (an empty text shows no label): it halves
    # the JSON, and an object array skips plotly's per-element list validation.
    text = np.full(3 * n, "", dtype=object)
    text[1::3] = hover[idx]
    dropped = cat == "dropped"
    head = ARROW_SIZE if not gl or dropped else 6
    sizes = np.tile(np.array([0.0, head + (2 if dropped else 0), 0.0]), n)
    symbol = style.CATEGORY_HEADS.get(cat, "arrow")
    if gl and not dropped:
        symbol = "circle"   # WebGL has no rotated arrowheads
    marker = {"color": colour, "size": sizes, "symbol": symbol}
    if not gl and not dropped:
        marker["angleref"] = "previous"   # the arrowhead points along its own segment
    return {
        "type": "scattergl" if gl else "scatter",
        "mode": "lines+markers",
        "name": f"{style.CATEGORY_LABELS[cat]} ({n})",
        "legendgroup": cat,
        "x": x, "y": y,
        # With thousands of arrows, thin translucent lines let the density show through.
        # Each kind has its own line pattern too (style.CATEGORY_DASHES): told apart by
        # more than colour, under colour-vision deficiencies or in grey.
        "line": {"color": _alpha(colour, 0.35) if gl else colour,
                 "width": 1.0 if gl else style.CATEGORY_WIDTHS.get(cat, 1.6),
                 "dash": _dash(cat, gl)},
        "marker": marker,
        "hovertext": text, "hoverinfo": "text",
    }


def _dash(cat: str, gl: bool) -> str:
    """The category's line pattern; WebGL takes only plotly's named patterns."""
    dash = style.CATEGORY_DASHES[cat]
    return dash if not gl or "px" not in dash else "dot"


def _alpha(colour: str, opacity: float) -> str:
    """``#RRGGBB`` as ``rgba(r,g,b,opacity)``."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{opacity})"


def _plain(obj):
    """JSON for what json cannot encode: sets sorted (their order varies between
    processes), anything else by its repr."""
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return repr(obj)


# Built once: json.dumps with options would build an encoder per call (twice as slow).
_ENCODE = json.JSONEncoder(sort_keys=True, default=_plain, ensure_ascii=False).encode


def _payload_text(payload) -> str:
    if payload is None:
        return "none"
    text = _ENCODE(payload)
    if len(text) > PAYLOAD_CHARS:
        text = text[:PAYLOAD_CHARS - 1] + "…"
    return text.replace("<", "&lt;")


def _hover_texts(f, unit) -> list[str]:
    """One hover sentence per copy: what it is, its ids, its times, its payload and fate."""
    # Written for speed (it runs once per copy): times are formatted with one bound
    # method rather than a call to style.format_time each.
    scale = 1000.0 if unit == "ms" else 1.0
    fmt = ("{:.3f} ms" if unit == "ms" else "{:.4f} s").format
    payloads: dict = {}
    out = []
    append = out.append
    for msg, sent, ended, target, outcome, handling, note, at_send in zip(
            f.messages, f.sent, f.ended, f.target, f.outcome, f.handling, f.note, f.at_send):
        payload = payloads.get(msg.id)
        if payload is None:
            payload = payloads[msg.id] = _payload_text(msg.payload)
        topic = f", topic {msg.topic}" if msg.topic is not None else ""
        if outcome == "dropped":
            where = "by the network as it was sent" if at_send else f"at {target}, t={fmt(ended * scale)}"
            fate = f"DROPPED {where}: {note}"
        else:
            took = fmt((ended - sent) * scale)
            if handling == "handled":
                fate = f"delivered after {took}, handled"
            elif handling is None:
                fate = f"delivered after {took}, not handled when the trace ends"
            else:
                fate = f"delivered after {took}, {handling.upper()}: {note}"
        cause = f"caused by #{msg.causation}" if msg.causation is not None else "first of its chain"
        append(f"<b>#{msg.id} {msg.type}</b> ({msg.kind}{topic})<br>{msg.source} → {target}, "
               f"sent t={fmt(sent * scale)}<br>{fate}<br>transaction {msg.correlation}, {cause}"
               f"<br>payload: {payload}")
    return out


def _crash_markers(crashes, row, unit, scale, gl) -> dict:
    fmt = style.format_time
    text = []
    for service, start, end, reason in crashes:
        why = f" ({reason})" if reason else ""
        text.append(f"<b>{service} crashed</b>{why} at t={fmt(start, unit)}<br>"
                    f"down until t={fmt(end, unit)}: its mailbox and work in progress are lost")
    return {
        "type": "scattergl" if gl else "scatter", "mode": "markers",
        "name": "crash (shaded: service down)", "legendgroup": "crash",
        "x": np.array([c[1] for c in crashes]) * scale,
        "y": np.array([row[c[0]] for c in crashes], dtype=float),
        "marker": {"symbol": "star", "size": 15, "color": style.VERMILLION,
                   "line": {"color": style.INK, "width": 1}},
        "hovertext": text, "hoverinfo": "text",
    }


def _poll_markers(marks, row, unit, scale, gl) -> dict:
    """One trace of marks: each says how many polls (and empty ones) a worker made for a task."""
    fmt = style.format_time
    polls = sum(mk.polls for mk in marks)
    empty = sum(mk.empty for mk in marks)
    text = [f"<b>{mk.worker}</b> polled for {mk.task_type}: {mk.label()}<br>"
            + (f"then leased {mk.leased} task{'s' * (mk.leased != 1)} at t={fmt(mk.time, unit)}" if mk.leased
               else f"no task after them (last at t={fmt(mk.time, unit)})")
            for mk in marks]
    labelled = len(marks) <= LABELLED_ARROWS
    return {
        "type": "scattergl" if gl else "scatter", "mode": "markers+text" if labelled else "markers",
        "name": f"polls ({polls}, {empty} empty), one mark per task leased",
        "legendgroup": "polls",
        "x": np.array([mk.time for mk in marks]) * scale,
        "y": np.array([row[mk.worker] for mk in marks], dtype=float),
        "text": [f"{mk.polls}p" for mk in marks] if labelled else None,
        "textposition": "top center", "textfont": {"size": style.SMALL_SIZE},
        "marker": {"symbol": "diamond-open", "size": 8, "color": style.GREY},
        "hovertext": text, "hoverinfo": "text",
    }


def _crash_shapes(crashes, row, scale) -> list[dict]:
    return [{"type": "rect", "layer": "below", "xref": "x", "yref": "y",
             "x0": start * scale, "x1": end * scale, "y0": row[s] - 0.42, "y1": row[s] + 0.42,
             "fillcolor": "rgba(213,94,0,0.16)", "line": {"width": 0}}
            for s, start, end, _ in crashes]


def _window_shapes(windows, row, t_min, t_max, scale) -> tuple[list[dict], list[dict]]:
    """Shaded rectangles for fault windows, and their labels above the plot.

    Labels of windows that overlap in time go on separate lines, so none hides another.
    """
    shapes, notes = [], []
    n = len(row)
    line_ends: list[float] = []      # for each label line, where its last label ends
    for k, (start, end, label, names) in enumerate(windows):
        end = end if math.isfinite(end) else t_max
        spans = [(row[nm] - 0.48, row[nm] + 0.48) for nm in names] if names else [(-0.5, n - 0.5)]
        for j, (y0, y1) in enumerate(spans):
            shapes.append({"type": "rect", "layer": "below", "xref": "x", "yref": "y",
                           "x0": start * scale, "x1": end * scale, "y0": y0, "y1": y1,
                           "fillcolor": "rgba(240,228,66,0.25)", "line": {"width": 0},
                           "legendgroup": "fault", "name": "fault window",
                           "showlegend": k == 0 and j == 0})
        # A label is about 7 px per character; in data units that depends on the plot
        # width, so reserve the label's own window plus a margin of 15% of the run.
        reach = max(end, start + 0.15 * (t_max - t_min))
        line = next((i for i, e in enumerate(line_ends) if e <= start), None)
        if line is None:
            line = len(line_ends)
            line_ends.append(reach)
        else:
            line_ends[line] = reach
        notes.append({"text": f"⚡ {label}", "xref": "x", "yref": "paper", "x": start * scale,
                      "y": 1.0, "yshift": 4 + 18 * line, "xanchor": "left", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": style.SMALL_SIZE}})
    return shapes, notes
