"""The topology: the services as a graph of who talked to whom, edges as thick as the traffic.

Under orchestration the picture is a star: every line runs to the orchestrator in the
middle. Under choreography every event also passes through the broker, so the *network*
picture is a star around the broker too; what differs is who reacts to whom. With
``logical=True`` an event forwarded by the broker is drawn from its publisher straight
to its consumer, and the choreography's mesh appears.

The layout is deterministic, not a force simulation: hubs (orchestrators and brokers
that carry traffic) sit in the middle, every other service on a circle in drawing
order (the client first, at the top). The same trace gives the same picture.
"""

from __future__ import annotations

import math

import networkx as nx
import plotly.graph_objects as go

from ..modules import callable_module
from . import style
from .polls import POLL_TYPES
from .data import SEND, as_trace, lane_order, live_services, roles as find_roles, talk_kinds

#: Edge widths in px for the least and the most used link.
MIN_WIDTH, MAX_WIDTH = 1.5, 9.0
#: Above this many edges, counts are left to the hover text (labels would overlap).
MAX_EDGE_LABELS = 24
#: Half the size of the drawing area, in layout units (nodes sit on a circle of radius 1).
EXTENT = 1.4


def talk_graph(source, *, logical: bool = False, roles: dict | None = None) -> nx.DiGraph:
    """The who-talked-to-whom graph: nodes are services (attribute ``role``), edges carry
    ``count`` (messages) and ``kinds`` (a dict kind -> messages).

    ``logical=True`` redraws broker traffic as publisher -> consumer (see
    :func:`microlab.viz.data.talk_counts`); services left without an edge are dropped.
    """
    trace = as_trace(source)
    role_of = find_roles(source, roles)
    brokers = [name for name, r in role_of.items() if r == "broker"]
    kinds = talk_kinds(trace, logical=logical, brokers=brokers)
    graph = nx.DiGraph()
    names = lane_order(list(live_services(source)) + list(role_of))
    if logical:
        used = {n for pair in kinds for n in pair}
        names = [n for n in names if n in used]
    for name in names:
        graph.add_node(name, role=role_of.get(name, "service"))
    for (src, dst), per_kind in kinds.items():
        graph.add_edge(src, dst, count=sum(per_kind.values()), kinds=per_kind)
    return graph


def positions(graph: nx.DiGraph) -> dict:
    """Node positions: hubs in the middle, the rest on a circle from the top, clockwise.

    A "hub" is an orchestrator or broker with at least one edge. With no hub, every
    node is on the circle (a mesh reads best that way: every link visible).
    """
    nodes = list(graph.nodes)
    if not nodes:
        return {}
    hubs = [n for n in nodes if graph.nodes[n]["role"] in ("orchestrator", "broker")
            and graph.degree(n) > 0]
    ring = [n for n in nodes if n not in hubs]
    shells = [hubs, ring] if hubs and ring else [nodes]
    if len(nodes) == 1:
        return {nodes[0]: (0.0, 0.0)}
    pos = nx.shell_layout(graph, nlist=shells, rotate=0)
    # networkx puts the outer ring at a radius that depends on the number of shells:
    # bring it to 1 so that every topology fills the same frame.
    outer = max(math.hypot(float(x), float(y)) for x, y in pos.values()) or 1.0
    # networkx starts its circles on the right and turns anticlockwise; swapping x and y
    # starts them at the top and turns clockwise, like a clock face, so that the first
    # service in drawing order (the client) is at 12 o'clock.
    # (+ 0.0 turns -0.0 into 0.0, which keeps the figure JSON tidy.)
    return {name: (round(float(y) / outer, 6) + 0.0, round(float(x) / outer, 6) + 0.0)
            for name, (x, y) in pos.items()}


#: The subtitle line of a run whose workers poll: its lines count what no order's figures do.
POLL_NOTE = ("the orchestrator's lines count its workers' polls too, empty ones included: "
             "they belong to no order, so no per-order message count includes them")


def has_polls(source) -> bool:
    """Whether any worker of the run polled for tasks (a ``Poll`` or ``NoTask`` was sent)."""
    return any(rec[1] == SEND and rec[3].type in POLL_TYPES for rec in as_trace(source).records)


def traffic_note(sources, logical: bool, roles_override: dict | None = None) -> str:
    """The subtitle of a topology: :func:`broker_note`, and :data:`POLL_NOTE` when a run's workers
    polled (chapter 01's table says 11 messages per order where the star's lines say 84-98),
    one line each."""
    notes = [broker_note(sources, logical, roles_override)]
    if any(has_polls(s) for s in sources):
        notes.append(POLL_NOTE)
    return "<br>".join(n for n in notes if n)


def broker_note(sources, logical: bool, roles_override: dict | None = None) -> str:
    """The subtitle of a "who reacts to whom" drawing of a run with a broker: the broker is not
    drawn, and that is on purpose (chapter 03 draws every message through it)."""
    if not logical:
        return ""
    if not any("broker" in find_roles(s, roles_override).values() for s in sources):
        return ""
    return ("the broker is left out: each event is drawn from its publisher to each consumer, "
            "though every one passes through the broker (drawn with logical=False)")


def topology(source, *, logical: bool = False, roles: dict | None = None,
             title: str | None = None, height: int = 560) -> go.Figure:
    """Draw the services as a graph; edge width = messages exchanged (see the module doc).

    ``source``: a System or a Trace. ``logical``: draw broker traffic as publisher ->
    consumer. ``roles``: override roles, e.g. ``{"saga": "orchestrator"}`` (by default
    from a service's ``role`` attribute, else its name).
    """
    graph = talk_graph(source, logical=logical, roles=roles)
    data, annotations = _draw(graph, "x", "y", set())
    view = "who reacts to whom (events drawn publisher → consumer)" if logical else "who sent messages to whom"
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or f"Topology: {view}", "subtitle": {"text": traffic_note([source], logical, roles)}},
        "xaxis": _hidden_axis(),
        "yaxis": {**_hidden_axis(), "scaleanchor": "x"},
        "annotations": annotations,
        "legend": {"title": {"text": "role / link"}, "itemsizing": "constant"},
        "height": height,
    }
    return go.Figure(data=data, layout=layout)


def topology_pair(a, b, *, titles=("orchestration", "choreography"), logical: bool = True,
                  roles: dict | None = None, title: str | None = None,
                  height: int = 600) -> go.Figure:
    """Two topologies side by side, e.g. the orchestration star beside the choreography mesh.

    ``a`` and ``b``: Systems or Traces. ``logical`` applies to both (it changes nothing
    for a run without a broker).
    """
    if len(titles) != 2:
        raise ValueError(f"titles must name the two runs, e.g. ('orchestration', 'choreography'); got {titles!r}")
    shown: set = set()   # one legend entry per role and link kind over both drawings
    left, notes_a = _draw(talk_graph(a, logical=logical, roles=roles), "x", "y", shown)
    right, notes_b = _draw(talk_graph(b, logical=logical, roles=roles), "x2", "y2", shown)
    heads = [{"text": f"<b>{t}</b>", "xref": "paper", "yref": "paper", "x": x, "y": 1.0,
              "xanchor": "center", "yanchor": "bottom", "showarrow": False,
              "font": {"size": style.FONT_SIZE + 2}}
             for t, x in zip(titles, (0.23, 0.77))]
    view = "who reacts to whom" if logical else "who sent messages to whom"
    note = traffic_note([a, b], logical, roles)
    layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or f"Topology side by side: {view} (line width = messages)",
                  "subtitle": {"text": note}},
        "xaxis": {**_hidden_axis(), "domain": [0.0, 0.46]},
        "yaxis": {**_hidden_axis(), "scaleanchor": "x"},
        "xaxis2": {**_hidden_axis(), "domain": [0.54, 1.0]},
        "yaxis2": {**_hidden_axis(), "scaleanchor": "x2"},
        "annotations": heads + notes_a + notes_b,
        "legend": {"title": {"text": "role / link"}, "orientation": "h", "itemsizing": "constant",
                   "x": 0.5, "xanchor": "center", "y": -0.02, "yanchor": "top"},
        "height": height,
        "margin": {"t": 90 + 40 * note.count("<br>"), "b": 70, "l": 20, "r": 20},
    }
    return go.Figure(data=left + right, layout=layout)


# -- drawing -------------------------------------------------------------------------------------

def _hidden_axis() -> dict:
    return {"visible": False, "range": [-EXTENT, EXTENT], "fixedrange": True}


def _edge_style(kinds: dict) -> tuple[str, str, str]:
    """(legend group, label, colour) of a link: events if most of its messages are events."""
    events = kinds.get("event", 0)
    if events * 2 > sum(kinds.values()):
        return "events", "events", style.CATEGORY_COLOURS["event"]
    return "requests", "commands and replies", style.CATEGORY_COLOURS["command"]


def _draw(graph, xref, yref, shown: set) -> tuple[list, list]:
    """Traces (links, arrowheads, nodes) and annotations (counts, names) for one graph.

    ``shown`` holds the legend groups that already have a legend entry (it is updated).
    """
    pos = positions(graph)
    data, notes = [], []
    counts = [d["count"] for _, _, d in graph.edges(data=True)]
    top = max(counts) if counts else 1
    pairs: dict = {}
    for src, dst in graph.edges:
        key = tuple(sorted((src, dst)))
        pairs.setdefault(key, []).append((src, dst))
    for (a, b), directions in pairs.items():
        total = sum(graph.edges[e]["count"] for e in directions)
        kinds: dict = {}
        for e in directions:
            for k, n in graph.edges[e]["kinds"].items():
                kinds[k] = kinds.get(k, 0) + n
        group, label, colour = _edge_style(kinds)
        width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * math.sqrt(total / top)
        xs, ys = [], []
        for src, dst in directions:
            (x0, y0), (x1, y1) = pos[src], pos[dst]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        # The arrowhead at each destination points along the link; standoff keeps it
        # outside the node's marker.
        size = [0, 10 + 1.6 * width, 0] * len(directions)
        data.append({
            "type": "scatter", "mode": "lines+markers", "x": xs, "y": ys,
            "xaxis": xref, "yaxis": yref, "hoverinfo": "skip",
            "line": {"color": colour, "width": width},
            "marker": {"symbol": "arrow", "angleref": "previous", "size": size,
                       "color": colour, "standoff": 17, "line": {"width": 0}},
            "name": label, "legendgroup": group,
            "showlegend": group not in shown,
        })
        shown.add(group)
        lines = [f"{s} → {d}: {graph.edges[s, d]['count']} messages ("
                 + ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in sorted(graph.edges[s, d]['kinds'].items()))
                 + ")" for s, d in directions]
        (x0, y0), (x1, y1) = pos[a], pos[b]
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        data.append({"type": "scatter", "mode": "markers", "x": [mx], "y": [my],
                     "xaxis": xref, "yaxis": yref, "showlegend": False,
                     "marker": {"size": 16, "color": "rgba(0,0,0,0)"},
                     "hovertext": ["<br>".join(lines)], "hoverinfo": "text", "name": f"{a}–{b}"})
        if len(pairs) <= MAX_EDGE_LABELS:
            notes.append({"text": str(total), "x": mx, "y": my, "xref": xref, "yref": yref,
                          "showarrow": False, "bgcolor": "rgba(255,255,255,0.9)",
                          "font": {"size": style.SMALL_SIZE, "color": colour}, "borderpad": 1})
    by_role: dict = {}
    for name in graph.nodes:
        by_role.setdefault(graph.nodes[name]["role"], []).append(name)
    for role in ("client", "orchestrator", "broker", "service"):
        names = by_role.get(role)
        if not names:
            continue
        look = style.ROLE_STYLES[role]
        hover = []
        for n in names:
            out_ = sum(d["count"] for _, _, d in graph.out_edges(n, data=True))
            in_ = sum(d["count"] for _, _, d in graph.in_edges(n, data=True))
            hover.append(f"<b>{n}</b> ({role})<br>sent {out_} messages, received {in_}")
        group = f"role-{role}"
        data.append({
            "type": "scatter", "mode": "markers", "xaxis": xref, "yaxis": yref,
            "x": [pos[n][0] for n in names], "y": [pos[n][1] for n in names],
            "marker": {"symbol": look["symbol"], "size": look["size"], "color": look["color"],
                       "line": {"color": style.INK, "width": 1.5}},
            "name": role, "legendgroup": group, "hovertext": hover, "hoverinfo": "text",
            "showlegend": group not in shown,
        })
        shown.add(group)
        for n in names:
            notes.append(_name_label(n, pos[n], role, xref, yref, _free_direction(pos, n)))
    return data, notes


def _free_direction(pos, name) -> tuple[float, float]:
    """The unit vector pointing away from the centre, or for a node at the centre, the
    direction half-way between the two ring neighbours with the widest gap (no link there)."""
    x, y = pos[name]
    r = math.hypot(x, y)
    if r > 1e-9:
        return x / r, y / r
    angles = sorted(math.atan2(py, px) for n, (px, py) in pos.items() if math.hypot(px, py) > 1e-9)
    if not angles:
        return 0.0, -1.0
    gaps = [((angles[(i + 1) % len(angles)] - a) % (2 * math.pi) or 2 * math.pi, a)
            for i, a in enumerate(angles)]
    width, start = max(gaps)
    mid = start + width / 2
    return math.cos(mid), math.sin(mid)


def _name_label(name, xy, role, xref, yref, direction) -> dict:
    """A node's name, pushed away from its links (see :func:`_free_direction`)."""
    x, y = xy
    hub = role in ("orchestrator", "broker")
    dx, dy = direction
    label = {"text": f"<b>{name}</b>" if hub else name, "x": x, "y": y, "xref": xref, "yref": yref,
             "showarrow": False, "xshift": 30 * dx, "yshift": 27 * dy,
             "xanchor": "left" if dx > 0.3 else ("right" if dx < -0.3 else "center"),
             "yanchor": "bottom" if dy > 0.3 else ("top" if dy < -0.3 else "middle"),
             "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": style.FONT_SIZE}}
    return label


# `from microlab.viz import topology` gives this module, which calls topology(): see microlab.modules.
callable_module(__name__, topology)
