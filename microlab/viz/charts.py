"""Charts of measurements: latency, saturation, queues, outcomes, change impact, growth, retries.

Most charts take plain data (lists and dicts with the keys each docstring names), so
that the metrics layer, a notebook or an exercise can feed them whatever it measured.
:func:`queue_and_utilization` reads a trace itself.

Each chart answers one question, and says it in its title:

- :func:`latency_distributions`: which pattern answers faster, and how long is the tail?
- :func:`saturation_curve`: at what load does each pattern stop keeping up?
- :func:`queue_and_utilization`: where do messages pile up, which service is saturated?
- :func:`outcome_counts`: how did the business transactions end?
- :func:`change_impact`: what had to change to add a feature?
- :func:`orchestrator_growth`: how big does the central definition get?
- :func:`retry_backoff`: when does each retry happen?

One unit, longer than most modules: a gallery of small charts (each under 50 lines)
that share the axis, legend and number-format helpers at the top, so they look alike.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import plotly.graph_objects as go

from . import style
from .data import as_trace, live_services, queue_series, time_average


# -- input checks ---------------------------------------------------------------------------

def _numbers(values, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a list of numbers, got {type(values).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat list of numbers")
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad):
        raise ValueError(f"{what}[{bad[0]}] is {float(arr[bad[0]])}; every value must be a finite number")
    return arr


def _rows(rows, required, chart: str, example: str) -> list[dict]:
    rows = list(rows)
    if not rows:
        raise ValueError(f"{chart} needs at least one row, e.g. {example}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"{chart}: row {i} must be a dict like {example}, got {row!r}")
        missing = [k for k in required if k not in row]
        if missing:
            raise ValueError(f"{chart}: row {i} has no {', '.join(map(repr, missing))} "
                             f"(it has {', '.join(map(repr, row))}); rows look like {example}")
        for k in required:
            if k in ("pattern", "series", "change"):
                continue
            v = row[k]
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                if not (k == "changed" and isinstance(v, (list, tuple))):
                    raise TypeError(f"{chart}: row {i}: {k!r} must be a number, got {v!r}")
    return rows


def _bottom_legend(title: str) -> dict:
    """A horizontal legend at the very bottom of the figure, clear of the x axis title."""
    return {"title": {"text": title}, "orientation": "h", "x": 0, "xanchor": "left",
            "y": 0.01, "yanchor": "bottom", "yref": "container"}


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks 1, 2, 5, 10, 20, 50, ... covering [low, high] (a log axis reads best so)."""
    ticks = []
    exp = math.floor(math.log10(low)) if low > 0 else -3
    while True:
        for m in (1, 2, 5):
            v = m * 10 ** exp
            if v > high * 1.5:
                return ticks
            if v >= low / 1.5:
                ticks.append(float(f"{v:.6g}"))
        exp += 1


def readable(value: float, digits: int = 3) -> str:
    """A number as a learner reads it: ``digits`` significant digits, never an exponent,
    thousands separated (``1,140``, ``31.2``, ``0.0412``)."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _layout(title: str, x_title: str, y_title: str, legend_title: str | None = None, **more) -> dict:
    layout = {"template": style.TEMPLATE, "title": {"text": title}, "height": 460,
              "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}}}
    if legend_title:
        layout["legend"] = {"title": {"text": legend_title}}
    layout.update(more)
    return layout


# -- latency ---------------------------------------------------------------------------------

def latency_distributions(samples: dict, *, title: str | None = None, bins: int = 40,
                          percentiles=(50, 95)) -> go.Figure:
    """Histograms of end-to-end latencies, one per pattern, on shared bins.

    ``samples``: ``{"orchestration": [seconds, ...], "choreography": [...]}`` (any names).
    Dotted and dashed lines mark the percentiles; the legend gives their values.
    """
    if not isinstance(samples, dict) or not samples:
        raise ValueError('latency_distributions needs a dict of name -> latencies in seconds, '
                         'e.g. {"orchestration": [0.031, 0.029], "choreography": [0.024]}')
    arrays = {}
    for name, values in samples.items():
        arr = _numbers(values, f"samples[{name!r}]")
        if not len(arr):
            raise ValueError(f"samples[{name!r}] is empty: a pattern needs at least one latency")
        if (arr < 0).any():
            raise ValueError(f"samples[{name!r}] holds a negative latency ({arr.min()}); latencies are durations")
        arrays[name] = arr
    everything = np.concatenate(list(arrays.values()))
    unit, scale = style.time_scale(float(everything.max()))
    edges = np.histogram_bin_edges(everything * scale, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = style.series_colours(arrays)
    data, tops = [], []
    dashes = ("dot", "dash", "dashdot", "longdash")
    for name, arr in arrays.items():
        counts, _ = np.histogram(arr * scale, bins=edges)
        share = counts / len(arr) * 100
        tops.append(share.max())
        marks = {p: float(np.percentile(arr, p)) * scale for p in percentiles}
        legend = ", ".join(f"p{p} {readable(v)} {unit}" for p, v in marks.items())
        data.append({
            "type": "bar", "x": centres, "y": share, "width": np.diff(edges),
            "name": f"{name} ({len(arr)}; {legend})", "legendgroup": name,
            "marker": {"color": colours[name], "opacity": 0.55,
                       "line": {"color": colours[name], "width": 1}},
            "customdata": np.column_stack([edges[:-1], edges[1:], counts]),
            # d3's "r" format: significant digits without an exponent (1,140, not 1.14e+3).
            "hovertemplate": (f"<b>{name}</b><br>%{{customdata[0]:,.3~r}}–%{{customdata[1]:,.3~r}} {unit}: "
                              "%{customdata[2]} transactions (%{y:.1f}%)<extra></extra>"),
        })
        marks_list = list(marks.items())
        for k, (p, v) in enumerate(marks_list):
            data.append({"type": "scatter", "mode": "lines", "x": [v, v], "y": [0, None],
                         "legendgroup": name, "showlegend": False,
                         "line": {"color": colours[name], "width": 2, "dash": dashes[k % len(dashes)]},
                         "hovertext": f"{name}: p{p} = {readable(v, 4)} {unit}", "hoverinfo": "text",
                         "name": f"{name} p{p}"})
    top = max(tops) * 1.08
    for trace in data:
        if trace["type"] == "scatter":
            trace["y"] = [0, top]
    p_text = ", ".join(f"{dashes[k % len(dashes)]}: p{p}" for k, p in enumerate(percentiles))
    return go.Figure(data=data, layout=_layout(
        title or f"End-to-end latency per transaction (vertical lines {p_text})",
        f"latency ({unit})", "share of transactions (%)", "pattern (count; percentiles)",
        barmode="overlay", bargap=0,
        legend=_bottom_legend("pattern (count; percentiles)"), margin={"b": 130}, height=480))


# -- saturation ------------------------------------------------------------------------------

def saturation_curve(rows, *, title: str | None = None, rate_unit: str = "orders/s") -> go.Figure:
    """Throughput and latency against offered load, per pattern: where does each saturate?

    ``rows``: dicts with ``pattern``, ``rate`` (offered load), ``throughput`` (completed
    per second) and ``p50``, ``p95`` (latency, seconds). Left: throughput against rate,
    with the line "throughput = offered load" that a system keeping up stays on.
    Right: median and 95th percentile latency against rate (log scale).
    """
    rows = _rows(rows, ("pattern", "rate", "throughput", "p50", "p95"), "saturation_curve",
                 '{"pattern": "orchestration", "rate": 100, "throughput": 99.5, "p50": 0.03, "p95": 0.08}')
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    colours = style.series_colours(patterns)
    worst = max(max(r["p95"], r["p50"]) for r in rows)
    unit, scale = style.time_scale(worst)
    positive = [v * scale for r in rows for v in (r["p50"], r["p95"]) if v > 0]
    ticks = _log_ticks(min(positive), max(positive)) if positive else []
    data = []
    rmax = max(r["rate"] for r in rows)
    data.append({"type": "scatter", "mode": "lines", "x": [0, rmax], "y": [0, rmax],
                 "line": {"color": style.GREY, "dash": "dot", "width": 1.5},
                 "name": "throughput = offered load", "hoverinfo": "skip"})
    for name in patterns:
        mine = sorted((r for r in rows if r["pattern"] == name), key=lambda r: r["rate"])
        rate = [r["rate"] for r in mine]
        colour = colours[name]
        data.append({"type": "scatter", "mode": "lines+markers", "x": rate,
                     "y": [r["throughput"] for r in mine], "name": name, "legendgroup": name,
                     "line": {"color": colour, "width": 2.5}, "marker": {"size": 8},
                     "hovertemplate": f"<b>{name}</b><br>offered %{{x:g}} {rate_unit}<br>"
                                      f"completed %{{y:.4g}} {rate_unit}<extra></extra>"})
        for key, dash in (("p50", "solid"), ("p95", "dash")):
            data.append({"type": "scatter", "mode": "lines+markers", "x": rate,
                         "y": [r[key] * scale for r in mine], "xaxis": "x2", "yaxis": "y2",
                         "name": f"{name} {key}", "legendgroup": name, "showlegend": False,
                         "line": {"color": colour, "width": 2, "dash": dash},
                         "marker": {"size": 7, "symbol": "circle" if key == "p50" else "diamond"},
                         "hovertemplate": f"<b>{name}</b> {key}<br>offered %{{x:g}} {rate_unit}<br>"
                                          f"%{{y:.4g}} {unit}<extra></extra>"})
    # One legend entry per pattern (its latency lines share its legend group, so a click hides
    # both panels' lines); the line styles are told in the subtitle. An entry per latency line
    # ("orchestration latency (solid p50, dashed p95)") wrapped the legend onto two rows.
    layout = _layout(title or "Saturation: throughput and latency as the load grows",
                     f"offered load ({rate_unit})", f"throughput ({rate_unit})", "pattern",
                     xaxis={"title": {"text": f"offered load ({rate_unit})"}, "domain": [0, 0.44]},
                     xaxis2={"title": {"text": f"offered load ({rate_unit})"}, "domain": [0.56, 1],
                             "anchor": "y2"},
                     yaxis2={"title": {"text": f"latency ({unit}, log scale)"}, "type": "log",
                             "anchor": "x2", "tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]},
                     legend=_bottom_legend("pattern"), margin={"b": 140}, height=500)
    layout["title"]["subtitle"] = {"text": SATURATION_LINES}
    return go.Figure(data=data, layout=layout)


#: What the saturation curve's latency lines mean (its subtitle, not a legend entry per line).
SATURATION_LINES = "right: latency, solid line p50, dashed p95"


# -- queues and utilization ---------------------------------------------------------------------

def bin_max(times: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The largest value in each bin ``[edges[k], edges[k+1])`` of the step function that takes
    ``values[i]`` from ``times[i]`` until the next time (and 0 before the first)."""
    times, values = np.asarray(times, dtype=float), np.asarray(values, dtype=float)
    at_start = np.searchsorted(times, edges[:-1], side="right") - 1     # the step in force at a bin's start
    out = np.where(at_start >= 0, values[np.maximum(at_start, 0)], 0.0)
    within = np.searchsorted(edges, times, side="right") - 1
    keep = (within >= 0) & (within < len(out))
    np.maximum.at(out, within[keep], values[keep])
    return out


def _axis_from_zero(top: float) -> dict:
    """A y axis from a little below 0, with its zero line drawn: a series that stays at 0 shows
    as a line on it, where on the axis's own edge the axis line would hide it."""
    top = max(float(top), 1.0)
    return {"range": [-0.05 * top, 1.06 * top], "zeroline": True, "zerolinecolor": "#9A9A9A",
            "zerolinewidth": 1.5}


def queue_and_utilization(source, *, services=None, bins: int = 60, title: str | None = None,
                          workers: dict | None = None) -> go.Figure:
    """Mailbox length (top) and worker utilization (bottom) of each service over time.

    ``source``: a System or Trace. The run is cut into ``bins`` equal slices; each point is
    a slice's mean (over time) of the messages waiting in the mailbox, and of the share of the
    service's workers that are busy (the hover adds the slice's longest mailbox). The share
    needs each service's number of workers, read from a System or given as
    ``workers={"payment": 2}``; without them, the bottom chart shows busy workers instead.
    A service keeps its colour whichever others are drawn (:func:`microlab.viz.style.service_colours`).
    """
    trace = as_trace(source)
    series = queue_series(trace, services)
    if services is None:
        series.pop("client", None)   # the outside world: it never queues, it only receives
    if not series:
        raise ValueError("no service handled a message in this trace: nothing to chart")
    live = live_services(source)
    counts = dict(workers or {})
    for name in series:
        if name not in counts and name in live:
            counts[name] = live[name].workers
    as_share = all(name in counts for name in series)
    t_end = max(float(s.times[-1]) for s in series.values())
    t_start = min(float(s.times[0]) for s in series.values())
    unit, scale = style.time_scale(t_end - t_start)
    edges = np.linspace(t_start, t_end if t_end > t_start else t_start + 1e-3, bins + 1)
    mids = (edges[:-1] + edges[1:]) / 2 * scale
    width = float(edges[1] - edges[0])
    slice_unit, slice_scale = style.time_scale(width)
    slice_text = f"{readable(width * slice_scale)} {slice_unit}"
    colours = style.service_colours(series)
    data, tops, empty = [], [0.0, 0.0], []
    for name, s in series.items():
        colour = colours[name]
        mean, most = time_average(s.times, s.queue, edges), bin_max(s.times, s.queue, edges)
        if not most.any():
            empty.append(name)
        data.append({"type": "scatter", "mode": "lines", "x": mids, "y": mean, "customdata": most,
                     "line": {"color": colour, "width": 1.8}, "name": name, "legendgroup": name,
                     "hovertemplate": f"<b>{name}</b>: %{{y:.1f}} messages waiting on average "
                                      "(at most %{customdata:.0f})<extra></extra>"})
        avg = time_average(s.times, s.busy, edges)
        y = avg / counts[name] * 100 if as_share else avg
        what = "%{y:.0f}% of workers busy" if as_share else "%{y:.2f} workers busy on average"
        data.append({"type": "scatter", "mode": "lines", "x": mids, "y": y, "xaxis": "x2",
                     "yaxis": "y2", "line": {"color": colour, "width": 1.8}, "name": name,
                     "legendgroup": name, "showlegend": False,
                     "hovertemplate": f"<b>{name}</b>: {what}<extra></extra>"})
        tops = [max(tops[0], float(mean.max())), max(tops[1], float(np.max(y)))]
    return go.Figure(data=data, layout=_queue_layout(title, unit, slice_text, as_share, tops, empty))


def _queue_layout(title, unit, slice_text, as_share, tops, empty) -> dict:
    y2 = ("utilization (% of workers busy)" if as_share else "busy workers (average)")
    # The hover's first line: the slice's middle, in the axis's unit (not a bare 1.870503).
    header = {"text": f"the {slice_text} around t = %{{x:.3~r}} {unit}"}
    layout = _layout(title or "Where messages wait: mailbox length and worker utilization",
                     "", "messages waiting (mean)", "service",
                     xaxis={"anchor": "y", "domain": [0, 1], "matches": "x2", "showticklabels": False,
                            "unifiedhovertitle": header},
                     yaxis={"title": {"text": "messages waiting (mean)"}, "domain": [0.55, 1.0],
                            **_axis_from_zero(tops[0])},
                     xaxis2={"title": {"text": f"simulated time ({unit})"}, "anchor": "y2",
                             "unifiedhovertitle": header},
                     yaxis2={"title": {"text": y2}, "domain": [0.0, 0.45], "anchor": "x2",
                             **_axis_from_zero(100 if as_share else tops[1])},
                     height=580, hovermode="x unified")
    layout["title"]["subtitle"] = {"text": f"each point: the mean over {slice_text} of the run "
                                           "(the hover adds the longest mailbox in it)"}
    layout["margin"] = {"t": 90}
    if empty:
        # Lines that stay at 0 lie on one another: the note names them.
        # It goes under the top panel's zero line, clear of the lines above it.
        layout["annotations"] = [{"xref": "x domain", "yref": "y domain", "x": 1, "y": 0, "xanchor": "right",
                                  "yanchor": "top", "yshift": -2, "showarrow": False,
                                  "text": f"mailbox empty throughout: {', '.join(map(str, empty))}",
                                  "font": {"size": style.SMALL_SIZE, "color": style.INK}}]
    return layout


# -- outcomes --------------------------------------------------------------------------------

def outcome_counts(counts: dict, *, title: str | None = None, unit: str = "transactions") -> go.Figure:
    """How the business transactions ended, per pattern, as grouped bars.

    ``counts``: ``{"orchestration": {"completed": 95, "compensated": 5}, "choreography":
    {...}}``. Outcomes appear in order of first appearance.
    """
    if not isinstance(counts, dict) or not counts:
        raise ValueError('outcome_counts needs {pattern: {outcome: count}}, e.g. '
                         '{"orchestration": {"completed": 95, "compensated": 5}}')
    outcomes: list = []
    for name, per in counts.items():
        if not isinstance(per, dict):
            raise TypeError(f"counts[{name!r}] must be a dict outcome -> count, got {per!r}")
        for outcome, n in per.items():
            if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
                raise TypeError(f"counts[{name!r}][{outcome!r}] must be a count (an integer >= 0), got {n!r}")
            if outcome not in outcomes:
                outcomes.append(outcome)
    colours = style.series_colours(counts)
    data = []
    for name, per in counts.items():
        total = sum(per.values()) or 1
        y = [per.get(o, 0) for o in outcomes]
        data.append({"type": "bar", "x": outcomes, "y": y, "name": name,
                     "marker": {"color": colours[name]}, "text": y, "textposition": "outside",
                     "customdata": [v / total * 100 for v in y],
                     "hovertemplate": f"<b>{name}</b><br>%{{x}}: %{{y}} {unit} "
                                      "(%{customdata:.1f}%)<extra></extra>"})
    top = max((max(t["y"]) for t in data), default=1)
    return go.Figure(data=data, layout=_layout(
        title or "How the business transactions ended", "outcome", f"{unit} (count)", "pattern",
        barmode="group", yaxis={"title": {"text": f"{unit} (count)"}, "range": [0, top * 1.15 + 1]}))


# -- change impact -----------------------------------------------------------------------------

def change_impact(rows, *, title: str | None = None) -> go.Figure:
    """What had to change to make each change, per pattern, as grouped bars.

    ``rows``: dicts with ``change`` (e.g. "add a fraud check"), ``pattern`` and
    ``changed``: the list of definitions or services that had to change (or just their
    number). The hover lists the names.
    """
    rows = _rows(rows, ("change", "pattern", "changed"), "change_impact",
                 '{"change": "add a fraud check", "pattern": "orchestration", "changed": ["order workflow", "fraud"]}')
    changes = list(dict.fromkeys(r["change"] for r in rows))
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    colours = style.series_colours(patterns)
    data = []
    for name in patterns:
        mine = {r["change"]: r["changed"] for r in rows if r["pattern"] == name}
        y, hover = [], []
        for c in changes:
            changed = mine.get(c, 0)
            names = list(changed) if isinstance(changed, (list, tuple)) else None
            n = len(names) if names is not None else changed
            y.append(n)
            listed = ("<br>• " + "<br>• ".join(map(str, names))) if names else ""
            hover.append(f"<b>{name}</b>: {c}<br>{n} changed{listed}")
        data.append({"type": "bar", "x": changes, "y": y, "name": name,
                     "marker": {"color": colours[name]}, "text": y, "textposition": "outside",
                     "hovertext": hover, "hoverinfo": "text"})
    top = max((max(t["y"]) for t in data), default=1)
    # A change is described in a sentence: wrap it on the axis (the data keep the whole
    # sentence), so a narrow figure does not cut it to "insert a fraud check betwee".
    ticks = {"tickmode": "array", "tickvals": changes, "ticktext": [wrap_label(c) for c in changes]}
    return go.Figure(data=data, layout=_layout(
        title or "Change impact: what had to change", "change",
        "definitions or services changed (count)", "pattern", barmode="group",
        xaxis={"title": {"text": "change"}, **ticks},
        yaxis={"title": {"text": "definitions or services changed (count)"}, "range": [0, top * 1.2 + 0.5],
               "dtick": 1 if top <= 10 else None}))


def wrap_label(text, width: int = 22) -> str:
    """``text`` broken into lines of at most about ``width`` characters (``<br>`` between them),
    at spaces, for a category axis; a word longer than ``width`` stays whole."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


# -- orchestrator growth ----------------------------------------------------------------------

def orchestrator_growth(rows, *, title: str | None = None, size_unit: str = "tasks in the largest definition") -> go.Figure:
    """How a size grows with the number of services, one line per series.

    ``rows``: dicts with ``series`` (e.g. "one orchestrator", "per-domain orchestrators"),
    ``services`` (how many services take part) and ``size`` (in ``size_unit``).
    """
    rows = _rows(rows, ("series", "services", "size"), "orchestrator_growth",
                 '{"series": "one orchestrator", "services": 4, "size": 9}')
    names = list(dict.fromkeys(r["series"] for r in rows))
    colours = style.series_colours(names)
    data = []
    for name in names:
        mine = sorted((r for r in rows if r["series"] == name), key=lambda r: r["services"])
        data.append({"type": "scatter", "mode": "lines+markers", "name": name,
                     "x": [r["services"] for r in mine], "y": [r["size"] for r in mine],
                     "line": {"color": colours[name], "width": 2.5}, "marker": {"size": 8},
                     "hovertemplate": f"<b>{name}</b><br>%{{x}} services: %{{y:g}} {size_unit}<extra></extra>"})
    return go.Figure(data=data, layout=_layout(
        title or "Does the orchestrator become a big service?", "services in the flow (count)",
        f"size ({size_unit})", "how the flow is run", xaxis={"title": {"text": "services in the flow (count)"}, "dtick": 1}))


# -- retries ---------------------------------------------------------------------------------

def retry_backoff(schedules: dict, *, title: str | None = None) -> go.Figure:
    """The delay before each retry, per retry policy, and when each retry happens.

    ``schedules``: ``{"FIXED": [1, 1, 1], "EXPONENTIAL_BACKOFF": [1, 2, 4]}``: the delay
    in seconds before retry 1, 2, .... Bars show each delay; the hover adds the time
    since the first failure.
    """
    if not isinstance(schedules, dict) or not schedules:
        raise ValueError('retry_backoff needs {policy: [delay before retry 1, 2, ...] in seconds}, '
                         'e.g. {"FIXED": [1, 1, 1], "EXPONENTIAL_BACKOFF": [1, 2, 4]}')
    arrays = {}
    for name, delays in schedules.items():
        arr = _numbers(delays, f"schedules[{name!r}]")
        if (arr < 0).any():
            raise ValueError(f"schedules[{name!r}] holds a negative delay; delays are seconds >= 0")
        arrays[name] = arr
    longest = max(len(a) for a in arrays.values())
    biggest = max((float(a.sum()) for a in arrays.values()), default=0.0)
    unit, scale = style.time_scale(biggest)
    colours = style.series_colours(arrays)
    data = []
    for name, arr in arrays.items():
        x = [f"retry {i + 1}" for i in range(len(arr))]
        data.append({"type": "bar", "x": x, "y": arr * scale, "name": name,
                     "marker": {"color": colours[name]},
                     "customdata": np.cumsum(arr) * scale,
                     "hovertemplate": f"<b>{name}</b><br>%{{x}}: wait %{{y:.3g}} {unit}<br>"
                                      f"%{{customdata:.3g}} {unit} after the first failure<extra></extra>"})
    return go.Figure(data=data, layout=_layout(
        title or "Retry back-off: the wait before each retry", "retry (in order)",
        f"delay before the retry ({unit})", "retry policy", barmode="group",
        xaxis={"title": {"text": "retry (in order)"}, "categoryorder": "array",
               "categoryarray": [f"retry {i + 1}" for i in range(longest)]}))
