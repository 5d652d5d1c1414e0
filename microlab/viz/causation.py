"""The causation graph of one business transaction: which event caused which reaction.

Under choreography nobody holds the transaction: it *is* the chain of events and
reactions. This figure draws that chain from the trace
(:func:`microlab.choreography.causation_graph`), left to right in simulated time, one
row (lane) per service:

- a marker is a message a service sent (an event it published, a command, a reply), on
  the sender's lane at the time it was sent, labelled with its type;
- an arrow runs from a message to each message sent by a service *reacting* to it
  (the broker's hop is left out: the arrow goes from the publisher's event to the
  consumer's event);
- where a chain stops, a small marker on the consumer's lane says why: handled and
  nothing more to say, the handling failed, the message was dropped or lost in a
  crash, ignored as a duplicate, dead-lettered, or an event was lost because its
  publisher crashed before publishing it.

Colours follow :mod:`microlab.viz.style`: blue commands, sky-blue replies, green
events, vermillion failure events (a step that could not do its work), reddish-purple
compensations, black for what was lost. Which event types mean failure or
compensation comes from the business flow: a scenario's result knows it (pass the
``RunResult``); for a bare system or trace the flows of :mod:`microlab.flows` are used,
or pass ``failure_types=`` and ``compensation_types=``.
"""

from __future__ import annotations

from operator import itemgetter

import plotly.graph_objects as go

from ..choreography.causation import causation_graph
from ..flows import FLOWS, FRAUD_CHECK
from . import style
from .data import as_trace, check_correlation, lane_order

#: Colour, marker symbol and legend text of each category, in legend order.
CATEGORIES = {
    "command": (style.BLUE, "square", "command"),
    "reply": (style.SKY_BLUE, "square", "reply"),
    "event": (style.GREEN, "circle", "event"),
    "failure": (style.VERMILLION, "circle", "failure event (a step could not do its work)"),
    "compensation": (style.PURPLE, "diamond", "compensation event (a step undone)"),
    "handled": (style.GREY, "circle-open", "handled; the chain ends here"),
    "failed": (style.VERMILLION, "x", "handling failed"),
    "dropped": (style.BLACK, "x", "dropped or lost in a crash"),
    "event_lost": (style.BLACK, "star-triangle-down", "event lost: crash before publishing"),
    "dead_letter": (style.BLACK, "square-x", "dead-lettered (delivery given up)"),
    "duplicate": (style.ORANGE, "circle-open", "duplicate ignored (idempotent consumer)"),
    "pending": (style.GREY, "circle-open-dot", "not handled when the run stopped"),
}
#: Categories that mark the end of a chain (small markers, dashed arrows for the bad ones).
ENDINGS = ("handled", "failed", "dropped", "event_lost", "dead_letter", "duplicate", "pending")

MARKER_SIZE = 15
ENDING_SIZE = 13
#: Pixels per lane, and the plot width assumed when deciding whether two labels collide.
LANE_PX = 88
PLOT_PX = 700
CHAR_PX = 7.2

_OUTCOME_ORDER = (("failed", "failed"), ("lost", "dropped"), ("dropped", "dropped"),
                  ("duplicate_ignored", "duplicate"), ("handled", "handled"))


def known_types(source=None) -> tuple[list, list]:
    """(failure event types, compensation event types) of ``source``'s flow, if it has one
    (a scenario's RunResult), else of every flow in :mod:`microlab.flows`."""
    flow = getattr(source, "flow", None)
    flows = [flow] if flow is not None and hasattr(flow, "steps") else list(FLOWS.values())
    failures, compensations = [], []
    for f in flows:
        steps = list(f.steps) + ([FRAUD_CHECK] if flow is None else [])
        failures += [s.failed for s in steps] + [f.rejected]
        compensations += [s.undone for s in steps if s.undone]
    return list(dict.fromkeys(failures)), list(dict.fromkeys(compensations))


def causation_figure(trace_or_system, correlation, *, failure_types=None, compensation_types=None,
                     title: str | None = None, height: int | None = None) -> go.Figure:
    """Draw which message caused which reaction in transaction ``correlation`` (see the module doc).

    ``trace_or_system``: a System, a Trace, or a scenario's RunResult (whose flow names
    its failure and compensation events). ``failure_types`` / ``compensation_types``:
    event types to colour as failures / compensations (default: from the flow).
    """
    trace = as_trace(trace_or_system)
    if correlation is None:
        raise ValueError("causation_figure draws one business transaction: pass its correlation id, "
                         f"one of {trace.correlations()[:8]}")
    check_correlation(trace, correlation)
    fails, comps = known_types(trace_or_system)
    failure_types = set(fails if failure_types is None else _types(failure_types, "failure_types"))
    compensation_types = set(comps if compensation_types is None
                             else _types(compensation_types, "compensation_types"))
    graph = causation_graph(trace, correlation)
    nodes = graph.nodes
    children: dict = {}
    for a, b in graph.edges:
        children.setdefault(a, []).append(b)
    brokers = [n.source for n in nodes.values() if n.role == "delivery"]

    # What to draw: every message except a broker's copies (deliveries).
    drawn = [n for n in nodes.values() if n.role not in ("delivery", "protocol")]

    def category(n) -> str:
        if n.type in failure_types:
            return "failure"
        if n.type in compensation_types:
            return "compensation"
        return n.role if n.role in ("command", "reply") else "event"

    # Where each chain ends: a delivery (or a direct message) that caused nothing.
    endings = []   # (category, lane, time, cause id, hover)
    for n in nodes.values():
        if n.role in ("protocol", "publish") or children.get(n.id):
            continue
        cat = "pending"
        for outcome, c in _OUTCOME_ORDER:
            if outcome in n.outcomes:
                cat = c
                break
        cause = n.causation if n.role == "delivery" else n.id
        if cause not in nodes:
            continue
        t = n.time if n.ended is None else n.ended
        what = "; ".join(filter(None, [", ".join(n.outcomes) or "not handled yet",
                                       f"effects: {', '.join(n.effects)}" if n.effects else ""]))
        endings.append((cat, n.destination, t, cause,
                        f"<b>{n.destination}</b> got {n.type}" + (f" (delivery {n.attempt})" if n.attempt > 1 else "")
                        + f"<br>{what}<br>at {{time}}; published nothing"))
    for n in nodes.values():   # a publish the broker never got (dropped, or the broker crashed)
        if n.role == "publish" and not children.get(n.id) and any(o in n.outcomes for o in ("dropped", "lost")):
            endings.append(("dropped", n.destination, n.time if n.ended is None else n.ended, n.id,
                            f"<b>{n.type}</b> never reached {n.destination}: {', '.join(n.outcomes)}<br>at {{time}}"))
    for lost in graph.lost:
        cause = lost["cause"]
        if cause in nodes and nodes[cause].role == "delivery":
            cause = nodes[cause].causation
        endings.append(("event_lost", lost["service"], lost["time"], cause,
                        f"<b>{lost['service']}</b> crashed before publishing {lost['type']}: the event is lost"
                        "<br>(an outbox would have kept it)<br>at {time}"))
    for letter in graph.dead_letters:
        endings.append(("dead_letter", letter["subscriber"], letter["time"], letter["event"],
                        f"<b>{letter['type']}</b> dead-lettered for {letter['subscriber']} after "
                        f"{letter['receives']} deliveries<br>at {{time}}"))

    lanes = lane_order([n.source for n in drawn] + [e[1] for e in endings])
    # A broker lane only when something ended there (reaction arrows skip the broker).
    lanes = [s for s in lanes if s not in brokers or any(e[1] == s for e in endings)]
    row = {name: i for i, name in enumerate(lanes)}
    times = [n.time for n in drawn] + [e[2] for e in endings]
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    unit, scale = style.time_scale(t1 - t0)
    at = {n.id: (n.time * scale, row[n.source]) for n in drawn}

    data = []
    # Arrows, cause -> reaction, coloured like the reaction, one trace per category.
    arrows: dict = {}
    for cause, effect, _via in graph.reaction_edges():
        if cause in at and effect in at:
            arrows.setdefault(category(nodes[effect]), []).append((at[cause], at[effect], MARKER_SIZE / 2 + 1))
    for cat, lane, t, cause, _text in endings:
        if cause in at:
            arrows.setdefault(cat, []).append((at[cause], (t * scale, row[lane]), ENDING_SIZE / 2 + 1))
    for cat in CATEGORIES:
        if cat in arrows:
            data.append(_arrow_trace(cat, arrows[cat]))

    # Messages, one trace per category; then where each chain ended, one per category.
    texts = _labels(drawn, at, t0 * scale, t1 * scale)
    for cat, group in _by_category(drawn, category, CATEGORIES):
        colour = CATEGORIES[cat][0]
        data.append(_markers(
            cat, [at[n.id] for n in group], [_hover(n, nodes, children, unit) for n in group],
            MARKER_SIZE, {"color": style.INK, "width": 1}, mode="markers+text",
            text=[texts[n.id][0] for n in group], textposition=[texts[n.id][1] for n in group],
            textfont={"size": style.SMALL_SIZE, "color": colour if colour != style.YELLOW else style.INK}))
    for cat, group in _by_category(endings, itemgetter(0), ENDINGS):
        data.append(_markers(
            cat, [(t * scale, row[lane]) for _, lane, t, _, _ in group],
            [h.replace("{time}", style.format_time(t, unit)) for _, _, t, _, h in group],
            ENDING_SIZE, {"color": CATEGORIES[cat][0], "width": 2}))
    pad = max((t1 - t0) * scale * 0.06, 1e-9)
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or f"Who reacted to what: the causation graph of transaction {correlation}"},
        "xaxis": {"title": {"text": f"simulated time ({unit})"}, "range": [t0 * scale - pad, t1 * scale + pad]},
        "yaxis": {"title": {"text": "service"}, "tickmode": "array", "tickvals": list(range(len(lanes))),
                  "ticktext": lanes, "range": [len(lanes) - 0.4, -0.6], "zeroline": False},
        "legend": {"title": {"text": "message / how a chain ended"}, "itemsizing": "constant"},
        "height": height or max(320, 150 + LANE_PX * len(lanes), 130 + 30 * len(data)),
    }
    return go.Figure(data=data, layout=layout)


def _types(value, what: str) -> list:
    if isinstance(value, str):
        raise TypeError(f"{what} must be a list of event types, e.g. [{value!r}], not a single string")
    return list(value)


def _by_category(items, category_of, order) -> list:
    """``(category, its items)`` for each category of ``order`` that has any, in that order."""
    groups: dict = {}
    for item in items:
        groups.setdefault(category_of(item), []).append(item)
    return [(cat, groups[cat]) for cat in order if cat in groups]


def _markers(cat: str, points, hover, size: int, outline: dict, mode: str = "markers", **text) -> dict:
    """One scatter trace of the markers of category ``cat`` at ``points`` (x, y): its
    colour, symbol and legend entry from :data:`CATEGORIES`; ``text``: label properties."""
    colour, symbol, label = CATEGORIES[cat]
    return {"type": "scatter", "mode": mode, "name": label, "legendgroup": cat,
            "x": [x for x, _ in points], "y": [y for _, y in points],
            "marker": {"size": size, "color": colour, "symbol": symbol, "line": outline},
            **text, "hovertext": hover, "hoverinfo": "text", "cliponaxis": False}


def _arrow_trace(cat: str, segments) -> dict:
    colour = CATEGORIES[cat][0]
    xs, ys, sizes, standoff = [], [], [], []
    for (x0, y0), (x1, y1), gap in segments:
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        sizes += [0, 9, 0]
        standoff += [0, gap, 0]
    bad = cat in ("failed", "dropped", "event_lost", "dead_letter")
    return {"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "name": f"caused: {cat}",
            "legendgroup": cat, "showlegend": False, "hoverinfo": "skip",
            "line": {"color": colour, "width": 1.6, "dash": "dash" if bad else "solid"},
            "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes, "color": colour,
                       "standoff": standoff, "line": {"width": 0}},
            "opacity": 0.8}


def _labels(drawn, at, x_min, x_max) -> dict:
    """A label and its position for each message: above its marker, below when that would
    overlap the previous label on the same lane, and none (hover only) when both would."""
    px = PLOT_PX / max(x_max - x_min, 1e-9)
    last: dict = {}   # (lane, position) -> right edge in px of the last label there
    out = {}
    for n in sorted(drawn, key=lambda n: (at[n.id][0], n.id)):
        x, lane = at[n.id]
        half = len(n.type) * CHAR_PX / 2
        left, right = x * px - half, x * px + half
        for position in ("top center", "bottom center"):
            if last.get((lane, position), float("-inf")) + 6 <= left:
                last[(lane, position)] = right
                out[n.id] = (n.type, position)
                break
        else:
            out[n.id] = ("", "top center")
    return out


def _hover(n, nodes, children, unit) -> str:
    verb = {"publish": "published", "command": "sent", "reply": "sent", "event": "sent"}.get(n.role, "sent")
    lines = [f"<b>{n.type}</b> ({n.role}) · transaction {n.correlation}",
             f"{verb} by {n.source} at {style.format_time(n.time, unit)}"
             + (f" to {n.destination}" if n.role != "publish" else "")]
    if n.sends > 1:
        lines.append(f"sent {n.sends} times (re-sent by an outbox relay)")
    cause = nodes.get(n.causation)
    if cause is not None:
        origin = nodes.get(cause.causation) if cause.role == "delivery" else cause
        if origin is not None:
            effects = f" (effects there: {', '.join(cause.effects)})" if cause.effects else ""
            lines.append(f"in reaction to {origin.type} from {origin.source}{effects}")
    deliveries = [nodes[c] for c in children.get(n.id, ()) if nodes[c].role == "delivery"]
    if deliveries:
        parts = []
        for d in deliveries:
            how = ", ".join(d.outcomes) or "not handled yet"
            if d.effects:
                how += f"; effects: {', '.join(d.effects)}"
            parts.append(f"{d.destination}" + (f" (delivery {d.attempt})" if d.attempt > 1 else "") + f": {how}")
        lines.append("delivered to " + "; ".join(parts))
    elif n.role != "publish":
        how = ", ".join(n.outcomes) or "not handled yet"
        lines.append(f"at {n.destination}: {how}" + (f"; effects: {', '.join(n.effects)}" if n.effects else ""))
    if n.dead_lettered:
        lines.append(f"dead-lettered for: {', '.join(n.dead_lettered)}")
    if n.lost_events:
        lines.append(f"its handler crashed before publishing: {', '.join(n.lost_events)}")
    return "<br>".join(lines)

