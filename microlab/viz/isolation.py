"""Figures of saga isolation: the stock as inventory counts it and as it really is; the
violations left by each countermeasure."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..isolation import ISOLATION_CHECKS
from ..trace import EFFECT
from . import style

#: A colour per isolation violation (Okabe-Ito, distinct under colour-vision deficiencies).
CHECK_COLOURS = dict(zip(ISOLATION_CHECKS, (style.VERMILLION, style.ORANGE, style.SKY_BLUE, style.PURPLE)))


def stock_over_time(result, item: str = "piano", *, title: str | None = None) -> go.Figure:
    """Two step lines over the run: the count inventory wrote, and the true stock (the
    stock at the start minus the units customers hold), with a marker at each effect and
    a cross where an order was refused (at the count it read)."""
    stock = (result.knobs.stock or {}).get(item)
    if stock is None:
        raise ValueError(f"this run keeps no stock of {item!r}: run it with stock={{{item!r}: 1}}")
    times, counted, true, labels = [0.0], [stock], [stock], ["start"]
    refused: list = []   # (time, count read, label): a refusal is no change, so a marker shows it
    held: set = set()
    for rec in result.trace.records:
        detail = rec[4] or {}
        if rec[1] != EFFECT or detail.get("item") != item:
            continue
        corr = rec[3].correlation
        if detail.get("effect") == "out_of_stock":
            refused.append((rec[0], detail.get("read"), f"{corr} refused: {detail.get('reason')}"))
            continue
        if detail.get("effect") not in ("reserve", "release"):
            continue
        (held.add if detail["effect"] == "reserve" else held.discard)(corr)
        times.append(rec[0])
        counted.append(detail.get("stock", counted[-1]))
        true.append(stock - len(held))
        labels.append(f"{corr} {detail['effect']}s (read {detail.get('read')})")
    # End a little after the last change, not at the end of the run: the race lasts
    # milliseconds, and a run's tail (notifications, confirms) would squash it to the left.
    end = times[-1] * 1.25 + 0.005
    data = [
        {"type": "scatter", "x": times + [end], "y": counted + [counted[-1]], "mode": "lines+markers",
         "line": {"shape": "hv", "color": style.BLUE, "width": 3}, "name": "inventory's count",
         "text": labels + ["end"], "hovertemplate": "t=%{x:.3f} s: %{text}<br>count %{y}<extra></extra>"},
        {"type": "scatter", "x": times + [end], "y": true + [true[-1]], "mode": "lines",
         "line": {"shape": "hv", "color": style.VERMILLION, "width": 2, "dash": "dash"},
         "name": "true stock", "hovertemplate": "t=%{x:.3f} s: true stock %{y}<extra></extra>"},
    ]
    if refused:
        data.append({"type": "scatter", "x": [t for t, _, _ in refused], "y": [r for _, r, _ in refused],
                     "mode": "markers", "name": "an order refused",
                     "marker": {"symbol": "x", "size": 12, "color": style.INK},
                     "text": [label for _, _, label in refused],
                     "hovertemplate": "t=%{x:.3f} s: %{text}<extra></extra>"})
    low = min(true + counted)
    layout = {"template": style.TEMPLATE, "title": {"text": title or f"The {item} stock, counted and true"},
              "height": 380, "xaxis": {"title": {"text": "simulated time (s)"}},
              "yaxis": {"title": {"text": f"{item}s in stock"}, "dtick": 1, "range": [min(low, 0) - 0.5, stock + 0.5],
                        "zeroline": True, "zerolinewidth": 2},
              "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "yref": "paper"}}
    return go.Figure(data=data, layout=layout)


def isolation_violations(rows, *, title: str | None = None) -> go.Figure:
    """The rows of :func:`microlab.scenarios.isolation_table` as grouped bars: one panel per
    pattern, one group per countermeasure, one bar per violation."""
    rows = list(rows)
    if not rows:
        raise ValueError("isolation_violations needs the rows of scenarios.isolation_table()")
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    fig = make_subplots(rows=1, cols=len(patterns), subplot_titles=patterns, shared_yaxes=True,
                        horizontal_spacing=0.06)
    top = max(r[c] for r in rows for c in ISOLATION_CHECKS)
    for col, pattern in enumerate(patterns, start=1):
        mine = [r for r in rows if r["pattern"] == pattern]
        for check in ISOLATION_CHECKS:
            y = [r[check] for r in mine]
            fig.add_trace(go.Bar(x=[r["isolation"] for r in mine], y=y, name=check, text=y,
                                 textposition="outside", marker_color=CHECK_COLOURS[check],
                                 legendgroup=check, showlegend=col == 1,
                                 hovertemplate=f"<b>{pattern}</b>, %{{x}}<br>{check}: %{{y}}<extra></extra>"),
                          row=1, col=col)
    fig.update_layout(template=style.TEMPLATE, barmode="group", height=440,
                      title={"text": title or "Isolation violations left by each countermeasure"},
                      legend={"title": {"text": "violation"}, "orientation": "h", "x": 0, "xanchor": "left",
                              "y": 0.01, "yanchor": "bottom", "yref": "container"},
                      margin={"b": 110})
    fig.update_yaxes(range=[0, top * 1.2 + 1], row=1, col=1, title_text="violations over the seeds (count)")
    fig.update_xaxes(title_text="isolation")
    return fig


__all__ = ["stock_over_time", "isolation_violations", "CHECK_COLOURS"]
