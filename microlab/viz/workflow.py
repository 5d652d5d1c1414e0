"""The workflow diagram: a definition drawn as a graph, and the path one execution took.

In the spirit of Netflix Conductor's UI: a start node, the tasks top to bottom, an end
node. A SWITCH (or DECISION) puts its cases side by side, each edge labelled with its
case value; a FORK_JOIN puts its branches side by side and joins them at its JOIN; a
DO_WHILE draws its body in a dashed box with an arrow back up to the loop; a TERMINATE
leads straight to the end; a SUB_WORKFLOW is one node (hover names the workflow it
starts). The shape of a node says its task type (the legend lists them).

Given an execution (:func:`microlab.orchestration.execution`), the diagram colours what
happened: the path taken in green, the failed (or timed-out) task in red, tasks still
scheduled or in progress in amber, branches a SWITCH did not take greyed out, and tasks
never reached light grey. Hover a node for its reference name, task name, type,
status, attempts, service, times, input and output (truncated).

Where each node goes, and which nodes and edges the execution took, is computed by
:mod:`microlab.viz.workflow_layout` (pure, no plotting); this module draws it. The same
definition and execution give the same figure JSON. The drawing is one unit, longer
than most modules, because the panels, the legend, the labels and the hover text of one
diagram share its scale and status styles and change together.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

from ..errors import DefinitionError
from ..orchestration import model as m
from ..orchestration.builder import Saga
from ..orchestration.conductor import parse_workflow
from ..orchestration.execution import Execution
from ..orchestration.model import WorkflowDef
from ..orchestration.validate import check_workflow
from . import style
# `layout` and `path` are imported for callers too (tests, the explorer): the geometry lives there.
from .workflow_layout import _END, _START, Layout, Node, Path, edge_taken, layout, path

# -- how the diagram looks -------------------------------------------------------------------

#: Node colour and legend text of each status category, in legend order.
STATUS_STYLES = {
    "completed": (style.GREEN, "completed: the path taken"),
    "completed_with_errors": (style.YELLOW, "optional task failed; the workflow went on"),
    "running": (style.ORANGE, "scheduled or in progress"),
    "failed": (style.VERMILLION, "failed or timed out"),
    "canceled": (style.GREY, "canceled or terminated"),
    "not_taken": ("#F5F5F5", "skipped: a branch not taken"),
    "not_reached": (style.LIGHT_GREY, "not reached"),
    "definition": ("#FFFFFF", "task (no execution given)"),
}

#: Marker symbol and legend text of each task type (start and end are circles).
TYPE_STYLES = {
    "START": ("circle", "start / end of the workflow"),
    m.SIMPLE: ("square", "SIMPLE: done by a service's worker"),
    m.HTTP: ("square-open-dot", "HTTP: a call to a service"),
    m.SWITCH: ("diamond", "SWITCH: takes one case"),
    m.DECISION: ("diamond", "DECISION: takes one case"),
    m.FORK_JOIN: ("triangle-down", "FORK_JOIN: starts branches in parallel"),
    m.JOIN: ("triangle-up", "JOIN: waits for the branches"),
    m.DO_WHILE: ("hexagon", "DO_WHILE: repeats its body"),
    m.SUB_WORKFLOW: ("square-dot", "SUB_WORKFLOW: runs another workflow"),
    m.TERMINATE: ("octagon", "TERMINATE: ends the workflow"),
    m.WAIT: ("hourglass", "WAIT: waits for time or a signal"),
    m.SET_VARIABLE: ("pentagon", "SET_VARIABLE, INLINE, LAMBDA, JQ: computed by the orchestrator"),
    m.INLINE: ("pentagon", None),
    m.LAMBDA: ("pentagon", None),
    m.JSON_JQ_TRANSFORM: ("pentagon", None),
}

NODE_SIZE = 24
#: Pixels per row and (at least) per column of the layout: a column holds a node and its label.
ROW_PX = 78
COLUMN_PX = 160
#: Columns of room left of the leftmost and right of the rightmost column (for its labels).
PAD_LEFT, PAD_RIGHT = 0.45, 0.95
#: Width of a legend on the right, and the width below which the figure is left to autosize.
LEGEND_PX, DEFAULT_WIDTH = 360, 850
#: Widest the figure ever gets: JupyterLab's output area is about 850 to 900 px wide on a laptop, and
#: a wider figure is clipped on the right (its legend with it). A wider layout is scaled down.
MAX_WIDTH = 850
#: Longest reference name shown on a node (hover has the full name).
LABEL_CHARS = 26
#: Longest input/output text in the hover box.
HOVER_CHARS = 160


# -- drawing ----------------------------------------------------------------------------------

def workflow_diagram(definition, execution: Execution | None = None, *, failure_workflow=None,
                     title: str | None = None, height: int | None = None) -> go.Figure:
    """Draw a workflow definition as a graph, and the path ``execution`` took through it.

    ``definition``: a :class:`~microlab.orchestration.WorkflowDef`, a Conductor JSON dict,
    or a :class:`~microlab.orchestration.Saga` (its main workflow; or its compensation
    workflow when ``execution`` is a failure workflow's execution).
    ``execution``: from ``microlab.orchestration.execution(system, correlation)``; None
    draws the definition alone.
    ``failure_workflow``: also draw the failure workflow, to the right, with the path of
    ``execution.failure_workflow``: a definition (as ``definition``), or ``True`` to take
    it from a Saga.
    """
    main, fail_def = _definitions(definition, execution, failure_workflow)
    panels = [(main, execution)]
    if fail_def is not None:
        fail_ex = execution.failure_workflow if execution is not None else None
        panels.append((fail_def, fail_ex))
    lays = [layout(d) for d, _ in panels]
    _check_execution(panels)
    # Each panel: its columns, half a column on the left, room for labels on the right.
    spans = [lay.width + PAD_LEFT + PAD_RIGHT for lay in lays]
    rows = max(lay.rows for lay in lays)   # one row height in both panels
    unit, scale = _time_unit([ex for _, ex in panels])
    data, shapes, notes, axes = [], [], [], {}
    shown: set = set()
    gap = 0.05
    usable = 1.0 - gap * (len(panels) - 1)
    left = 0.0
    for i, ((defn, ex), lay, span) in enumerate(zip(panels, lays, spans)):
        suffix = "" if i == 0 else str(i + 1)
        share = usable * span / sum(spans)
        domain = [round(left, 6), round(min(1.0, left + share), 6)]
        left += share + gap
        d, s, n = _panel(lay, ex, "x" + suffix, "y" + suffix, shown, unit, scale)
        data += d
        shapes += s
        notes += n
        x0 = -lay.width / 2 - PAD_LEFT
        axes["xaxis" + suffix] = {"visible": False, "fixedrange": True, "domain": domain,
                                  "range": [round(x0, 6), round(x0 + span, 6)]}
        axes["yaxis" + suffix] = {"visible": False, "fixedrange": True, "range": [-(rows - 1) - 0.55, 0.55]}
        if len(panels) > 1:
            role = "failure workflow" if i else "workflow"
            status = f": {ex.status}" if ex is not None else ""
            notes.append({"text": f"<b>{role} {defn.name}</b>{status}", "xref": "paper", "yref": "paper",
                          "x": domain[0], "y": 1.0, "xanchor": "left", "yanchor": "bottom",
                          "showarrow": False, "font": {"size": style.FONT_SIZE + 1}})
    data += _type_legend(lays)
    entries = sum(1 for t in data if t.get("showlegend", True))
    # One drawing keeps its legend on the right while that fits in the output area; two
    # drawings side by side, or one wide drawing, put it underneath, to leave them the width.
    side_legend = len(panels) == 1 and sum(spans) * COLUMN_PX + LEGEND_PX <= DEFAULT_WIDTH
    top = 60 if len(panels) == 1 else 85
    if side_legend:
        legend = {"title": {"text": "status (colour)"}, "itemsizing": "constant", "tracegroupgap": 12}
        fig_height = max(ROW_PX * rows, 28 * entries + 40) + top + 20
        needed = sum(spans) * COLUMN_PX + LEGEND_PX
    else:
        legend = {"title": {"text": "status (colour)"}, "itemsizing": "constant", "orientation": "h",
                  "x": 0.0, "xanchor": "left", "y": -0.01, "yanchor": "top", "tracegroupgap": 6}
        fig_height = ROW_PX * rows + top + 40 + 26 * ((entries + 2) // 3)
        needed = sum(spans) * COLUMN_PX + 60
    fig_layout = {
        "template": style.TEMPLATE,
        "title": {"text": title or _title(panels)},
        **axes,
        "shapes": shapes,
        "annotations": notes,
        "legend": legend,
        "height": height or fig_height,
        "margin": {"l": 20, "r": 20, "t": top, "b": 20},
    }
    if needed > DEFAULT_WIDTH:   # keep every column as wide as the output area allows
        fig_layout["width"] = int(min(needed, MAX_WIDTH))
    return go.Figure(data=data, layout=fig_layout)


def _definitions(definition, execution, failure_workflow):
    """(main definition, failure workflow definition or None), checked."""
    if execution is not None and not isinstance(execution, Execution):
        raise TypeError(f"execution must be an Execution, from microlab.orchestration.execution(system, "
                        f"correlation); got {type(execution).__name__}")
    saga = definition if isinstance(definition, Saga) else None
    if saga is not None:
        is_failure = execution is not None and execution.failure_of is not None
        main = saga.compensation if is_failure else saga.workflow
    else:
        main = _as_definition(definition, "definition")
    fail_def = None
    if failure_workflow is True:
        if saga is None:
            raise TypeError("failure_workflow=True takes the compensation workflow of a Saga, but the "
                            "definition is not a Saga: pass the failure workflow's definition instead")
        fail_def = saga.compensation
    elif failure_workflow not in (None, False):
        fail_def = _as_definition(failure_workflow, "failure_workflow")
    if execution is not None and execution.name != main.name:
        raise ValueError(f"the execution is of workflow {execution.name!r}, but the definition is "
                         f"{main.name!r}: pass the definition that ran (for a failure workflow, its own "
                         "definition, or the Saga)")
    return main, fail_def


def _as_definition(obj, what: str) -> WorkflowDef:
    if isinstance(obj, WorkflowDef):
        return obj
    if isinstance(obj, Saga):
        return obj.workflow
    if isinstance(obj, dict):
        # Parse and check the one definition, as the loader does, but without asking that
        # the workflows it names (failure workflow, sub-workflows) be in the same dict:
        # drawing does not need them.
        wf, faults = parse_workflow(obj, "$")
        if wf is not None:
            faults = faults + check_workflow(wf, "$")
        if faults:
            raise DefinitionError(faults, what=f"Conductor workflow definition ({what})")
        return wf
    if isinstance(obj, list):
        raise TypeError(f"{what} is a list of {len(obj)} definitions; pass one of them "
                        "(e.g. load_workflows(...)[0]), or a Saga")
    raise TypeError(f"{what} must be a WorkflowDef, a Conductor JSON dict or a Saga; got "
                    f"{type(obj).__name__}. Build one with microlab.orchestration.workflow(...) or saga(...)")


def _check_execution(panels) -> None:
    for defn, ex in panels:
        if ex is not None and ex.name != defn.name:
            raise ValueError(f"the failure workflow's execution is of workflow {ex.name!r}, but "
                             f"failure_workflow is {defn.name!r}: pass the definition that ran")


def _title(panels) -> str:
    defn, ex = panels[0]
    if ex is None:
        return f"Workflow {defn.name} v{defn.version}: the definition"
    # Short enough to fit an 850 px output area (the workflow id is in the hover and the
    # execution's format()); the outcome is last, and must not be the part that is cut.
    # The status is Conductor's (FAILED stays FAILED after compensation): the same words as
    # orchestrator.progress(), e.g. "FAILED, compensation ran".
    return f"Workflow {defn.name} v{defn.version}, transaction {ex.correlation}: {ex.status_words}"


def _time_unit(executions) -> tuple[str, float]:
    times = [t for ex in executions if ex is not None for x in ex.walk() for t in (x.start, x.end)
             if t is not None]
    return style.time_scale((max(times) - min(times)) if times else 0.0)


def _panel(lay: Layout, ex, xref, yref, shown: set, unit, scale):
    """Traces, shapes and annotations of one workflow (one pair of axes)."""
    p = path(lay, ex)
    data, shapes, notes = [], [], []
    for ref, left, right, top, bottom in lay.loops:
        shapes.append({"type": "rect", "xref": xref, "yref": yref, "layer": "below",
                       "x0": left, "x1": right, "y0": -top + 0.3, "y1": -bottom - 0.42,
                       "line": {"color": style.GREY, "width": 1, "dash": "dash"},
                       "fillcolor": "rgba(86,180,233,0.06)"})
    # Edges: one trace per look, polylines separated by None, an arrowhead at each end.
    groups: dict = {}
    for e in lay.edges:
        taken = edge_taken(e, p, ex)
        state = "plain" if ex is None else ("taken" if taken else "idle")
        groups.setdefault((state, EDGE_KIND.get(e.kind, "flow")), []).append(e)
        if e.label is not None:
            x, r = e.label_at
            # Beside the edge's drop into its branch: below the bus, above the arrowhead.
            notes.append({"text": _short(e.label, LABEL_CHARS), "x": x, "y": -r, "xref": xref, "yref": yref,
                          "xanchor": "left", "xshift": 4, "showarrow": False, "bgcolor": "rgba(255,255,255,0.9)", "borderpad": 1,
                          "font": {"size": style.SMALL_SIZE,
                                   "color": style.GREEN if taken else style.GREY}})
    # Grey first, so that the green path is drawn over the edges it shares a bus with.
    for rank, state in enumerate(("plain", "idle", "taken")):
        for kind, (dash, what) in EDGE_DASHES.items():
            edges = groups.get((state, kind))
            if not edges:
                continue
            colour, width, name = EDGE_STATES[state]
            xs, ys, sizes, standoff = [], [], [], []
            for e in edges:
                for x, r in e.points:
                    xs.append(x)
                    ys.append(-r)
                    sizes.append(0)
                    standoff.append(0)
                # Only the last point carries an arrowhead, kept clear of the node it points
                # at (plotly also trims the line by the standoff, so the others need none).
                sizes[-1] = 10 + 1.5 * width
                standoff[-1] = NODE_SIZE / 2
                xs.append(None)
                ys.append(None)
                sizes.append(0)
                standoff.append(0)
            look = f"{state}-{kind}"
            data.append({"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys,
                         "xaxis": xref, "yaxis": yref,
                         "line": {"color": colour, "width": width, "dash": dash},
                         "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes, "color": colour,
                                    "standoff": standoff, "line": {"width": 0}},
                         "name": name + what, "legendgroup": "edge-" + look, "showlegend": look not in shown,
                         "legendrank": 100 + 10 * (2 - rank) + list(EDGE_DASHES).index(kind),
                         "hoverinfo": "skip"})
            shown.add(look)
    # Nodes: one trace per status category.
    by_status: dict = {}
    for key, node in lay.nodes.items():
        by_status.setdefault(p.status[key], []).append(node)
    for status in STATUS_STYLES:
        nodes = by_status.get(status)
        if not nodes:
            continue
        colour, label = STATUS_STYLES[status]
        faded = status in ("not_taken", "not_reached")
        data.append({
            "type": "scatter", "mode": "markers+text", "xaxis": xref, "yaxis": yref,
            "x": [n.x for n in nodes], "y": [-n.row for n in nodes],
            "marker": {"size": NODE_SIZE, "color": colour,
                       "symbol": [TYPE_STYLES.get(n.task.type if n.task else "START", ("square",))[0]
                                  for n in nodes],
                       "line": {"color": style.GREY if faded else style.INK, "width": 1.5}},
            "text": [_label(n, p) for n in nodes], "textposition": "middle right",
            "textfont": {"size": style.SMALL_SIZE, "color": style.GREY if faded else style.INK},
            "hovertext": [_hover(n, p, ex, lay, unit, scale) for n in nodes], "hoverinfo": "text",
            "name": label, "legendgroup": "status-" + status, "showlegend": status not in shown,
            "legendrank": 200 + list(STATUS_STYLES).index(status),
            "cliponaxis": False,
        })
        shown.add(status)
    return data, shapes, notes


#: Colour, width and legend text of an edge by what the execution did with it.
EDGE_STATES = {
    "taken": (style.GREEN, 3.0, "path taken"),
    "idle": ("#A6A6A6", 1.5, "not taken"),
    "plain": (style.INK, 1.5, "flow"),
}
#: Dash and legend suffix of each kind of edge.
EDGE_DASHES = {"flow": ("solid", ""), "loop": ("dash", ": loop back (DO_WHILE)"),
               "end": ("dot", ": TERMINATE → end")}
EDGE_KIND = {"loop": "loop", "terminate": "end"}


def _type_legend(lays) -> list:
    """Legend entries (no points) that explain the node shapes present."""
    present: dict = {"START": None}
    for lay in lays:
        for node in lay.nodes.values():
            if node.task is not None:
                t = node.task.type
                # Types that share a shape share the legend entry of the first of them.
                present[t if TYPE_STYLES.get(t, (None, "?"))[1] is not None else m.SET_VARIABLE] = None
    out = []
    for t in TYPE_STYLES:
        if t not in present or TYPE_STYLES[t][1] is None:
            continue
        symbol, text = TYPE_STYLES[t]
        out.append({"type": "scatter", "mode": "markers", "x": [None], "y": [None],
                    "marker": {"symbol": symbol, "size": 14, "color": "#FFFFFF",
                               "line": {"color": style.INK, "width": 1.5}},
                    "name": text, "legendgroup": "types", "hoverinfo": "skip", "legendrank": 300 + len(out),
                    **({"legendgrouptitle": {"text": "task type (shape)"}} if not out else {})})
    return out


def _label(node: Node, p: Path) -> str:
    if node.key == _START:
        return "start"
    if node.key == _END:
        return "end"
    ref = _short(node.key, LABEL_CHARS)
    task = node.task
    kind = task.type
    runs = p.attempts.get(node.key, [])
    tries = max((t.attempt for t in runs), default=0)
    extra = f" · {tries} attempts" if tries > 1 else ""
    if kind == m.DO_WHILE and p.iterations.get(node.key, 0) > 0:
        n = p.iterations[node.key]
        extra += f" · {n} iteration{'s' if n > 1 else ''}"
    return f"<b>{ref}</b><br>{kind}{extra}"


def _hover(node: Node, p: Path, ex, lay: Layout, unit, scale) -> str:
    if node.task is None:
        return _end_hover(node, ex, lay)
    task = node.task
    lines = [f"<b>{node.key}</b>" + (f" (task {task.name})" if task.name != node.key else "") + f" · {task.type}"]
    status = p.status[node.key]
    runs = p.attempts.get(node.key, [])
    if runs:
        last = runs[-1]
        failed = sum(1 for t in runs if t.status not in m.TASK_SUCCESSFUL and t.status in m.TASK_TERMINAL)
        lines.append(f"status: <b>{last.status}</b>, attempt {last.attempt}"
                     + (f" ({len(runs)} attempts in all, {failed} unsuccessful)" if len(runs) > 1 else ""))
        if last.iteration:
            lines.append(f"loop iteration {last.iteration} (Conductor's {last.reference_task_name})")
        if last.service:
            lines.append(f"service: {last.service}")
        if last.start is not None:
            end = style.format_time(last.end, unit) if last.end is not None else "not finished"
            lines.append(f"last attempt: {style.format_time(last.start, unit)} → {end}")
        if last.reason and last.status not in m.TASK_SUCCESSFUL:
            lines.append(f"reason: {_short(last.reason, HOVER_CHARS)}")
        if last.input:
            lines.append(f"input: {_json(last.input)}")
        if last.output:
            lines.append(f"output: {_json(last.output)}")
    elif status == "not_taken":
        why = [f"{ref} took {', '.join(_case_name(c) for c in p.chosen[ref])}"
               for ref, case in node.conditions if ref in p.chosen and case not in p.chosen[ref]]
        lines.append("skipped: on a branch not taken (" + "; ".join(why) + ")")
    elif status == "not_reached":
        lines.append("not reached by this execution")
    lines += _task_notes(task, p, ex)
    return "<br>".join(lines)


def _task_notes(task, p: Path, ex) -> list[str]:
    """What a control task does, for its hover text."""
    kind = task.type
    if kind in (m.SWITCH, m.DECISION):
        on = task.input_parameters.get("switchCaseValue") if task.evaluator_type == "value-param" else None
        expr = on or task.expression or task.case_expression or task.input_parameters.get(task.case_value_param or "")
        lines = [f"decides on: {_short(str(expr), 80)}",
                 "cases: " + ", ".join(list(task.decision_cases) + ["default"])]
        if task.task_reference_name in p.chosen:
            lines.append("took: " + ", ".join(_case_name(c) for c in p.chosen[task.task_reference_name]))
        return lines
    if kind == m.FORK_JOIN:
        return [f"starts {len(task.fork_tasks)} branches in parallel"]
    if kind == m.JOIN:
        return [f"waits for: {', '.join(task.join_on) or 'nothing'}"]
    if kind == m.DO_WHILE:
        return [f"repeats its body while: {_short(str(task.loop_condition), 80)}"]
    if kind == m.SUB_WORKFLOW:
        lines = [f"starts workflow {task.sub_workflow_param.name}"]
        runs = p.attempts.get(task.task_reference_name, [])
        if ex is not None and runs:
            ids = {t.task_id for t in runs}
            for sub in ex.sub_workflows:
                if sub.parent_task in ids:
                    lines.append(f"sub-workflow {sub.workflow_id}: {sub.status_words}")
        return lines
    if kind == m.TERMINATE:
        return [f"ends the workflow as {task.input_parameters.get('terminationStatus', m.COMPLETED)}"]
    if kind == m.WAIT:
        d = task.input_parameters.get("duration")
        return [f"waits {d}" if d else "waits for a CompleteTask message"]
    return []


def _end_hover(node: Node, ex, lay: Layout) -> str:
    wf = lay.definition
    if node.key == _START:
        lines = [f"<b>start</b> of workflow {wf.name} v{wf.version}"]
        if wf.input_parameters:
            lines.append(f"inputs: {', '.join(map(str, wf.input_parameters))}")
        if ex is not None:
            lines.append(f"{ex.workflow_id}, transaction {ex.correlation}")
            if ex.input:
                lines.append(f"input: {_json(ex.input)}")
        return "<br>".join(lines)
    lines = [f"<b>end</b> of workflow {wf.name}"]
    if wf.failure_workflow:
        lines.append(f"on failure, runs workflow {wf.failure_workflow}")
    if ex is not None:
        lines.append(f"status: <b>{ex.status_words}</b>")
        if ex.reason:
            lines.append(f"reason: {_short(ex.reason, HOVER_CHARS)}")
        if ex.failure_workflow is not None:
            lines.append(f"failure workflow {ex.failure_workflow.workflow_id}: {ex.failure_workflow.status}")
        if ex.output:
            lines.append(f"output: {_json(ex.output)}")
    return "<br>".join(lines)


def _case_name(case) -> str:
    return "default" if case is None else repr(case)


def _json(value) -> str:
    return _short(json.dumps(value, sort_keys=True, default=repr), HOVER_CHARS)


def _short(text: str, limit: int) -> str:
    text = str(text).replace("<", "&lt;")
    return text if len(text) <= limit else text[:limit - 1] + "…"
