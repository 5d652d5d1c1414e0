"""Figures of a system changed while it ran: each order's latency against its arrival, with the deploys."""

from __future__ import annotations

import plotly.graph_objects as go

from . import style

#: Colours of the workflow versions, and of the outcomes under choreography.
VERSION_COLOURS = {1: style.BLUE, 2: style.ORANGE}
OUTCOME_COLOURS = {"completed": style.GREEN, "stuck": style.VERMILLION}


def orders_over_time(evolution, *, title: str | None = None) -> go.Figure:
    """One marker per order: when it arrived (x) and how long it took (y, ms). Orders that never
    ended are crosses on a "never" line above the rest. Under orchestration the colour is the
    workflow version the order ran; under choreography, its outcome. A dashed line marks each deploy."""
    result = evolution.result
    spans, outcomes = result.spans, result.outcomes
    versions = evolution.versions() if result.pattern == "orchestration" else {}
    done = [spans[c].latency * 1000 for c in result.correlations
            if c in spans and spans[c].outcome == "completed"]
    never = (max(done) if done else 100.0) * 1.2
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
    layout = {"template": style.TEMPLATE, "height": 430,
              "title": {"text": title or f"Each order's latency, and the deploys ({evolution.change}, {evolution.deploy})"},
              "xaxis": {"title": {"text": "the order arrived at (simulated s)"}},
              "yaxis": {"title": {"text": "latency (ms)"}, "range": [0, top]},
              "shapes": shapes, "annotations": notes,
              "legend": {"orientation": "h", "x": 0, "y": -0.3, "yanchor": "top"}, "margin": {"b": 120, "r": 110}}
    return go.Figure(data=data, layout=layout)


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
