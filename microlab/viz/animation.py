"""The animation: messages moving along the topology's links over simulated time.

The picture is the network topology (see :mod:`microlab.viz.topology`): services placed
by role, links as thick as their traffic. Each frame shows the message copies in flight
during one slice of simulated time, as dots part-way along their link, coloured as in
the sequence diagram. Press Play, or drag the time slider.

How a slice is drawn: the run is cut into ``frames`` equal slices; a copy appears in
every slice its flight overlaps, at the fraction of its journey done at the middle of
that slice (a copy shorter than a slice shows once, on its way). A copy the network
dropped stops half-way, drawn as an "x". Only the moving dots change from frame to
frame (one trace per colour), so frames stay small.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from . import style
from .data import as_trace, flights
from .topology import EXTENT, _draw, _hidden_axis, positions, talk_graph

#: Default number of frames; more is smoother but the figure grows with it.
FRAMES = 60
#: Copies drawn at most (the earliest ones); an animation of more is unreadable anyway.
MAX_COPIES = 5000


def message_animation(source, *, frames: int = FRAMES, roles: dict | None = None,
                      compensation_types=(), correlation=None, title: str | None = None,
                      frame_ms: int = 150, height: int = 600) -> go.Figure:
    """Animate the messages of a run (or of one transaction) over the topology.

    ``frames``: slices of simulated time (2 to 500). ``frame_ms``: how long each frame
    shows when playing. ``roles`` and ``compensation_types`` as for the topology and
    the sequence diagram.

    Show the result as a plain figure (the last expression of a cell, or ``fig.show()``):
    plotly's ``FigureWidget`` does not support animation frames.
    """
    if not isinstance(frames, int) or not 2 <= frames <= 500:
        raise ValueError(f"frames must be an integer from 2 to 500, got {frames!r}")
    trace = as_trace(source)
    graph = talk_graph(source, roles=roles)
    pos = positions(graph)
    f = flights(trace, correlation, compensation_types)
    n = min(len(f), MAX_COPIES)
    still, notes = _draw(graph, "x", "y", set())
    for t in still:            # the static picture: a quiet background for the moving dots
        if t.get("mode") == "lines+markers":
            t["line"] = {**t["line"], "color": style.LIGHT_GREY}
            t["marker"] = {**t["marker"], "color": style.LIGHT_GREY}
            t["showlegend"] = False

    sent = np.asarray(f.sent[:n], dtype=float)
    ended = np.asarray(f.ended[:n], dtype=float)
    src = np.array([pos[m.source] for m in f.messages[:n]], dtype=float).reshape(-1, 2)
    dst = np.array([pos[t] for t in f.target[:n]], dtype=float).reshape(-1, 2)
    cats = np.asarray(f.category[:n], dtype=object)
    dropped = np.asarray(f.outcome[:n], dtype=object) == "dropped"
    labels = np.array([f"#{m.id} {m.type} ({m.kind})<br>{m.source} → {t}<br>transaction {m.correlation}"
                       for m, t in zip(f.messages[:n], f.target[:n])], dtype=object)

    t0 = float(sent.min()) if n else 0.0
    t1 = float(ended.max()) if n else 1.0
    if t1 <= t0:
        t1 = t0 + 1e-3
    t1 += (t1 - t0) * 1e-9     # so that a copy sent at the very end falls in the last slice
    unit, scale = style.time_scale(t1 - t0)
    step = (t1 - t0) / frames
    instant = ended - sent <= 0        # latency 0, or dropped as it was sent
    duration = np.maximum(ended - sent, 1e-12)
    present = [c for c in style.CATEGORY_COLOURS if (cats == c).any()]

    def dots(k: int) -> list[dict]:
        lo, hi = t0 + k * step, t0 + (k + 1) * step
        mid = (lo + hi) / 2
        # In flight during [lo, hi): sent before its end, and not arrived by its start
        # (an instant copy, sent and ended at once, belongs to the slice it happens in).
        live = (sent < hi) & ((ended > lo) | (sent >= lo))
        # Kept off the ends: a dot on a node's marker would be hidden by it.
        frac = np.clip((mid - sent) / duration, 0.12, 0.88)
        frac = np.where(instant, 0.5, frac)    # no journey to follow: show it mid-link
        frac = np.where(dropped, np.minimum(frac, 0.5), frac)
        out = []
        for cat in present:
            idx = np.flatnonzero(live & (cats == cat))
            if not len(idx):
                # An empty trace would drop out of the legend; one null point keeps it there.
                out.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                            "hovertext": [""], "hoverinfo": "text"})
                continue
            xy = src[idx] + (dst[idx] - src[idx]) * frac[idx, None]
            out.append({"type": "scatter", "mode": "markers",
                        "x": np.round(xy[:, 0], 5), "y": np.round(xy[:, 1], 5),
                        "hovertext": labels[idx], "hoverinfo": "text"})
        return out

    moving = []
    for cat in present:
        colour = style.CATEGORY_COLOURS[cat]
        moving.append({"type": "scatter", "mode": "markers", "x": [], "y": [],
                       "name": style.CATEGORY_LABELS[cat], "legendgroup": f"msg-{cat}",
                       "marker": {"color": colour, "size": 11,
                                  "symbol": "x" if cat == "dropped" else "circle",
                                  "line": {"color": "#FFFFFF", "width": 1}},
                       "hoverinfo": "text"})
    first = dots(0)
    for trace_, d in zip(moving, first):
        trace_.update(x=d["x"], y=d["y"], hovertext=d["hovertext"])
    indices = list(range(len(still), len(still) + len(moving)))
    names = [f"{(t0 + (k + 0.5) * step) * scale:.4g}" for k in range(frames)]
    frame_list = [{"name": str(k), "data": dots(k), "traces": indices} for k in range(frames)]

    play = {"frame": {"duration": frame_ms, "redraw": False}, "transition": {"duration": 0},
            "fromcurrent": True, "mode": "immediate"}
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or "Messages in flight over simulated time"
                  + (f" (first {n:,} of {len(f):,} copies)" if n < len(f) else "")},
        "xaxis": _hidden_axis(),
        "yaxis": {**_hidden_axis(), "scaleanchor": "x", "range": [-EXTENT - 0.25, EXTENT]},
        "annotations": notes,
        "legend": {"title": {"text": "service role / message in flight"}, "itemsizing": "constant"},
        "height": height,
        "margin": {"b": 120},
        "updatemenus": [{
            "type": "buttons", "direction": "left", "x": 0.0, "y": -0.02, "xanchor": "left",
            "yanchor": "top", "pad": {"t": 10, "r": 10}, "showactive": False,
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate",
                 "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
                                   "transition": {"duration": 0}}]},
            ],
        }],
        "sliders": [{
            "active": 0, "x": 0.2, "len": 0.8, "y": -0.02, "yanchor": "top",
            "pad": {"t": 10}, "currentvalue": {"prefix": "simulated time ≈ ", "suffix": f" {unit}",
                                               "font": {"size": style.FONT_SIZE, "color": style.INK}},
            # One tick per frame would print 60 labels on top of each other: the ticks'
            # labels are transparent, and the current time shows above the slider.
            "font": {"color": "rgba(0,0,0,0)"}, "ticklen": 4,
            "steps": [{"label": names[k], "method": "animate",
                       "args": [[str(k)], {"frame": {"duration": 0, "redraw": False},
                                             "mode": "immediate", "transition": {"duration": 0}}]}
                      for k in range(frames)],
        }],
    }
    return go.Figure(data=still + moving, layout=layout, frames=frame_list)
