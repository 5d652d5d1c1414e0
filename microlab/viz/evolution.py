"""Figures of a system changed while it ran: each order's latency against its arrival, with the deploys."""

from __future__ import annotations

import plotly.graph_objects as go

from . import style

#: Colours of the workflow versions, and of the outcomes under choreography.
VERSION_COLOURS = {1: style.BLUE, 2: style.ORANGE}
OUTCOME_COLOURS = {"completed": style.GREEN, "stuck": style.VERMILLION}


def orders_over_time(evolution, *, title: str | None = None, highlight=None) -> go.Figure:
    """One marker per order: when it arrived (x) and how long it took (y, ms). Orders that never
    ended are crosses on a "never" line above the rest. Under orchestration the colour is the
    workflow version the order ran; under choreography, its outcome. A dashed line marks each deploy.

    ``highlight``: orders to point out, each ringed and labelled with an arrow: a list of
    correlations (``["order-17"]``: the label says the order, its version or outcome and its
    latency) or a dict ``{correlation: label}`` for labels of your own, e.g. for the order
    that was in flight when the new version came (``list(evolution.in_flight(at))`` gives
    those). An order that ended also gets a line from its arrival to its end, at its height:
    it crosses every deploy the order was in flight for.
    """
    result = evolution.result
    spans, outcomes = result.spans, result.outcomes
    versions = evolution.versions() if result.pattern == "orchestration" else {}
    done = [spans[c].latency * 1000 for c in result.correlations
            if c in spans and spans[c].outcome == "completed"]
    never = (max(done) if done else 100.0) * 1.2
    marked = _highlights(highlight, result.correlations)
    groups: dict = {}
    for corr in result.correlations:
        span = spans.get(corr)
        ended = span is not None and span.outcome == "completed"
        key = f"version {versions.get(corr, '?')}" if versions else outcomes.get(corr, "stuck")
        groups.setdefault((key, ended), []).append((result.arrivals[corr], span.latency * 1000 if ended else never, corr))
    data = []
    span_x = (max(result.arrivals.values()) - min(result.arrivals.values())) if result.arrivals else 0.0
    for (key, ended), points in sorted(groups.items()):
        colour = (VERSION_COLOURS.get(int(key.split()[-1]), style.GREY) if versions and key[-1].isdigit()
                  else OUTCOME_COLOURS.get(key, style.GREY))
        if not ended:
            points = sorted(points)  # by arrival, for the staggering
        ys = [p[1] for p in points] if ended else _staggered([p[0] for p in points], never, span_x)
        for (x, _, corr), y in zip(points, ys):
            if corr in marked:       # (where, its label, its colour, when it ended)
                marked[corr] = (x, y, marked[corr] or _default_label(corr, key, ended, y), colour,
                                x + spans[corr].latency if ended else None)
        # The legend counts the markers: crosses that arrive close together would hide one another.
        name = f"{key} ({len(points)})" if ended else f"{key}: never ended ({len(points)})"
        data.append({"type": "scatter", "mode": "markers", "name": name,
                     "x": [p[0] for p in points], "y": ys, "text": [p[2] for p in points],
                     "marker": {"color": colour, "size": 9 if ended else 12, "symbol": "circle" if ended else "x"},
                     "hovertemplate": "%{text}: arrived t=%{x:.2f} s" + (", took %{y:.0f} ms" if ended else ", never ended")
                                      + "<extra></extra>"})
    # The deploy labels sit in a band above every marker (the y range leaves room), staggered
    # so that two deploys close in time do not print over each other.
    top = never * (1.25 if any(not ended for _, ended in groups) else 1.1) + 0.12 * never * len(evolution.deploys)
    shapes, notes = [], []
    if any(not ended for _, ended in groups):
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": never, "y1": never,
                       "line": {"color": style.GREY, "dash": "dot", "width": 1}})
        notes.append({"xref": "paper", "x": 1.0, "y": never, "text": "never ended", "showarrow": False,
                      "xanchor": "left", "xshift": 4, "font": {"size": style.SMALL_SIZE, "color": style.VERMILLION}})
    for i, (what, when) in enumerate(sorted(evolution.deploys.items(), key=lambda kv: kv[1])):
        shapes.append({"type": "line", "x0": when, "x1": when, "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"color": style.INK, "dash": "dash", "width": 1.5}})
        notes.append({"x": when, "y": top - 0.12 * never * i, "text": f"{what} (t={when:g} s)",
                      "showarrow": False, "xanchor": "left", "xshift": 4, "yanchor": "top",
                      "font": {"size": style.SMALL_SIZE}, "bgcolor": "rgba(255,255,255,0.85)"})
    if marked:
        data += _rings(marked)
        notes += _pointers(marked, result.arrivals.values(), top)
    layout = {"template": style.TEMPLATE, "height": 430,
              "title": {"text": title or f"Each order's latency, and the deploys ({evolution.change}, {evolution.deploy})"},
              "xaxis": {"title": {"text": "the order arrived at (simulated s)"}},
              "yaxis": {"title": {"text": "latency (ms)"}, "range": [0, top]},
              "shapes": shapes, "annotations": notes,
              "legend": {"orientation": "h", "x": 0, "y": -0.3, "yanchor": "top"}, "margin": {"b": 120, "r": 110}}
    return go.Figure(data=data, layout=layout)


def _highlights(highlight, correlations) -> dict:
    """``{correlation: label or None}`` from ``highlight`` (a list, or a dict of labels), checked."""
    if highlight is None:
        return {}
    if isinstance(highlight, str):
        highlight = [highlight]
    labels = dict(highlight) if isinstance(highlight, dict) else dict.fromkeys(highlight)
    unknown = [c for c in labels if c not in correlations]
    if unknown:
        known = list(correlations)
        raise ValueError(f"highlight names {', '.join(map(repr, unknown))}, not an order of this run; "
                         f"its orders are {known[0]!r} to {known[-1]!r}" if known else "this run has no order")
    return {c: (None if label is None else str(label)) for c, label in labels.items()}


def _default_label(corr, key, ended, y) -> str:
    return f"<b>{corr}</b>: {key}, {y:.0f} ms<br>(the line: arrival to end)" if ended else f"<b>{corr}</b>: {key}, never ended"


def _rings(marked) -> list[dict]:
    """A ring round each highlighted marker (the marker below keeps its own hover) and, for an
    order that ended, a line from its arrival to its end at its height: it crosses the deploys
    the order was in flight for."""
    points = list(marked.values())
    runs = [p for p in points if p[4] is not None]
    xs, ys, hover = [], [], []
    for x, y, label, _, end in runs:
        xs += [x, end, None]
        ys += [y, y, None]
        hover += [f"{label}<br>ran from t={x:.2f} s to t={end:.2f} s"] * 2 + [None]
    ring = {"type": "scatter", "mode": "markers", "name": "highlighted", "showlegend": False,
            "x": [p[0] for p in points], "y": [p[1] for p in points], "hoverinfo": "skip",
            "marker": {"symbol": "circle-open", "size": 18, "color": style.INK, "line": {"width": 2}}}
    if not runs:
        return [ring]
    return [{"type": "scatter", "mode": "lines+markers", "name": "highlighted order, arrival to end",
             "showlegend": False, "x": xs, "y": ys, "hovertext": hover, "hoverinfo": "text",
             "line": {"color": style.INK, "width": 2},
             # A tick at the end only: the ring marks the arrival.
             "marker": {"symbol": "line-ns", "size": [0, 12, 0] * len(runs), "color": style.INK,
                        "line": {"width": 2, "color": style.INK}}}, ring]


def _pointers(marked, arrivals, top: float) -> list[dict]:
    """A label per highlighted order, pointing at it with an arrow; the label lies towards the
    middle of the plot (above the order, below one in the upper half of the y range: the
    "never ended" line, the deploy labels), so that it stays inside the figure."""
    arrivals = list(arrivals)
    middle = (min(arrivals) + max(arrivals)) / 2 if arrivals else 0.0
    notes = []
    for x, y, label, colour, _ in marked.values():
        left = x > middle
        notes.append({"x": x, "y": y, "text": label, "showarrow": True, "arrowhead": 2,
                      "arrowwidth": 1.5, "arrowcolor": style.INK, "standoff": 10,
                      "ax": -40 if left else 40, "ay": 70 if y > top / 2 else -80, "xanchor": "right" if left else "left",
                      "font": {"size": style.SMALL_SIZE, "color": style.INK},
                      "bgcolor": "rgba(255,255,255,0.9)", "bordercolor": colour, "borderwidth": 1.5,
                      "borderpad": 3})
    return notes


def _staggered(xs: list, level: float, span: float) -> list:
    """The heights of crosses on the "never ended" line at ``level``: one that arrived within 2%
    of the run's span of the cross before it goes a little higher, so that both show."""
    ys, previous, up = [], None, False
    for x in xs:
        up = previous is not None and x - previous < 0.02 * span and not up
        ys.append(level * (1.06 if up else 1.0))
        previous = x
    return ys


__all__ = ["orders_over_time", "VERSION_COLOURS", "OUTCOME_COLOURS"]
