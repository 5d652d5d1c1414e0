"""A trace's spans as a tracing tool draws them: a waterfall, one row per span, children under their parent."""

from __future__ import annotations

import plotly.graph_objects as go

from . import style


def _rows(spans):
    """(span, depth) in depth-first order, each span under its parent, siblings by start time."""
    from ..observe.spans import tree
    children = tree(spans)
    out = []
    stack = [(s, 0) for s in sorted(children[None], key=lambda s: s.start, reverse=True)]
    while stack:
        span, depth = stack.pop()
        out.append((span, depth))
        kids = sorted(children.get(span.span_id, ()), key=lambda s: s.start, reverse=True)
        stack.extend((k, depth + 1) for k in kids)
    return out


def span_waterfall(spans, *, title: str | None = None, height: int | None = None) -> go.Figure:
    """One bar per span from its start to its end, indented by its depth in the trace tree.

    Rows read top down in the order a tracing tool (Jaeger, Grafana Tempo) lists them: a
    span, then its children. The colour is the service. The gaps between a bar and its
    children's are the network and the queues.
    """
    rows = _rows(spans)
    if not rows:
        raise ValueError("no spans to draw: was the transaction in the trace? "
                         "spans_from_trace(result, 'order-1') gives one transaction's spans")
    first = min(s.start for s, _ in rows)
    last = max(s.end for s, _ in rows)
    unit, scale = style.time_scale(last - first)
    services = list(dict.fromkeys(s.service for s, _ in rows))
    colours = style.service_colours(services)
    labels = [f"{'· ' * depth}{span.name}" for span, depth in rows]
    fig = go.Figure()
    for service in services:
        mine = [(i, s) for i, (s, _) in enumerate(rows) if s.service == service]
        fig.add_trace(go.Bar(
            y=[labels[i] for i, _ in mine], base=[(s.start - first) * scale for _, s in mine],
            x=[max((s.end - s.start) * scale, (last - first) * scale / 300) for _, s in mine],
            orientation="h", name=service, marker_color=colours[service],
            hovertemplate=[f"{s.name}<br>start {style.format_time(s.start - first, unit)}, "
                           f"took {style.format_time(s.end - s.start, unit)}<extra></extra>" for _, s in mine]))
    fig.update_layout(template=style.TEMPLATE, title={"text": title or "Spans of one transaction"},
                      height=height or max(260, 26 * len(rows) + 120), barmode="overlay",
                      legend={"title": {"text": "service"}},
                      xaxis={"title": {"text": f"time since the first span ({unit})"}},
                      yaxis={"categoryorder": "array", "categoryarray": labels[::-1], "automargin": True})
    return fig
