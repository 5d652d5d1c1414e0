"""The workflow diagram's layout: where each task of a definition goes, and the path an execution took.

Pure: a definition in, a :class:`Layout` out (nodes on a grid of columns and rows, edges as
polylines); an execution and a layout in, a :class:`Path` out (the status category of each
node, the edges taken). :mod:`microlab.viz.workflow` draws them with plotly; this module
imports no plotting, so tests and other views can use the geometry alone.

The layout is computed from the definition's structure, not by a force simulation: a
sequence goes one row down; a branching task gives each branch a band of columns as
wide as the branch needs; an edge leaving a short branch runs straight down its own
band to the bottom of the block before it turns to the next task, so that no edge
crosses a node. The same definition and execution give the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..orchestration import model as m
from ..orchestration.execution import Execution
from ..orchestration.model import WorkflowDef

#: The status category of each Conductor task status.
TASK_STATUS_CATEGORY = {
    m.COMPLETED: "completed",
    m.COMPLETED_WITH_ERRORS: "completed_with_errors",
    m.SCHEDULED: "running",
    m.IN_PROGRESS: "running",
    m.FAILED: "failed",
    m.FAILED_WITH_TERMINAL_ERROR: "failed",
    m.TIMED_OUT: "failed",
    m.CANCELED: "canceled",
    m.SKIPPED: "not_taken",
}

#: The status category of the end node, by workflow status.
WORKFLOW_STATUS_CATEGORY = {
    m.COMPLETED: "completed",
    m.FAILED: "failed",
    m.TIMED_OUT: "failed",
    m.TERMINATED: "canceled",
    m.RUNNING: "not_reached",
}

#: How far below a branching node (in rows) its edges fan out, and above a node they
#: converge: below and above the two-line labels, which take about a third of a row.
BUS = 0.4
#: Extra width a DO_WHILE box takes for its arrow back up (in columns).
LOOP_MARGIN = 0.4

_START, _END = "__start__", "__end__"




# -- the layout: nodes on a grid of (column, row), edges as polylines --------------------------

@dataclass
class Node:
    """A node of the diagram: a task, or the start or end of the workflow."""

    key: str
    task: m.WorkflowTask | None
    x: float
    row: int
    #: The (switch ref, case) choices that must all be made for this node to be on the path.
    conditions: tuple = ()


@dataclass
class Edge:
    """A polyline from node ``src`` to node ``dst`` through ``points`` (``(x, row)`` pairs).

    ``kind`` is ``flow``, ``case`` (a SWITCH's case; ``case`` holds its key, None for the
    default), ``fork``, ``loop`` (a DO_WHILE's arrow back up) or ``terminate``.
    """

    src: str
    points: list
    dst: str | None = None
    kind: str = "flow"
    label: str | None = None
    case: tuple | None = None
    #: Where the label goes (a case edge's value, on its drop into the branch).
    label_at: tuple | None = None


@dataclass
class Layout:
    """Where every node and edge of one workflow definition goes (plain data, no plotly)."""

    definition: WorkflowDef
    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    #: One ``(ref, left, right, top_row, bottom_row)`` per DO_WHILE.
    loops: list = field(default_factory=list)
    width: float = 1.0
    rows: int = 0


def layout(definition: WorkflowDef) -> Layout:
    """Lay ``definition`` out top to bottom (see the module docstring)."""
    return _Planner(definition).plan()


class _Planner:
    def __init__(self, definition: WorkflowDef):
        self.out = Layout(definition)
        self._widths: dict = {}

    def plan(self) -> Layout:
        out = self.out
        out.width = self.list_width(out.definition.tasks)
        self.node(_START, None, 0.0, 0, ())
        exits, row = self.place_list(out.definition.tasks, 0.0, 1, [Edge(_START, [(0.0, 0)])], ())
        end = self.node(_END, None, 0.0, row, ())
        for e in exits:
            self.connect(e, end)
        for node in list(out.nodes.values()):
            if node.task is not None and node.task.type == m.TERMINATE:
                out.edges.append(self.terminate_edge(node, end))
        out.rows = row + 1
        return out

    # widths, in columns
    def list_width(self, tasks) -> float:
        return max([self.task_width(t) for t in tasks] or [1.0])

    def task_width(self, task) -> float:
        known = self._widths.get(id(task))
        if known is not None:
            return known
        if task.type in (m.SWITCH, m.DECISION):
            w = sum(self.list_width(b) if b else 1.0 for _, b in _cases(task))
        elif task.type == m.FORK_JOIN:
            w = sum(self.list_width(b) for b in task.fork_tasks) or 1.0
        elif task.type == m.DO_WHILE:
            w = self.list_width(task.loop_over) + LOOP_MARGIN
        else:
            w = 1.0
        self._widths[id(task)] = w
        return w

    # placing
    def node(self, key, task, x, row, conditions) -> Node:
        if key in self.out.nodes:
            raise ValueError(f"workflow {self.out.definition.name!r} uses the taskReferenceName {key!r} "
                             "twice; each task needs its own reference name")
        node = self.out.nodes[key] = Node(key, task, round(x, 6), row, conditions)
        return node

    def connect(self, edge: Edge, node: Node) -> None:
        x, r = edge.points[-1]
        if x != node.x:     # converge on a bus just above the node, then drop into it
            edge.points += [(x, node.row - BUS), (node.x, node.row - BUS)]
        edge.points.append((node.x, node.row))
        edge.dst = node.key
        self.out.edges.append(edge)

    def place_list(self, tasks, cx, row, incoming, conditions):
        for task in tasks:
            incoming, row = self.place_task(task, cx, row, incoming, conditions)
        return incoming, row

    def place_task(self, task, cx, row, incoming, conditions):
        kind = task.type
        x = round(cx + LOOP_MARGIN / 2 if kind == m.DO_WHILE else cx, 6)
        node = self.node(task.task_reference_name, task, x, row, conditions)
        for e in incoming:
            self.connect(e, node)
        key = node.key
        if kind in (m.SWITCH, m.DECISION) or kind == m.FORK_JOIN:
            is_switch = kind != m.FORK_JOIN
            branches = _cases(task) if is_switch else [(None, b) for b in task.fork_tasks]
            widths = [self.list_width(b) if b else 1.0 for _, b in branches]
            left = cx - sum(widths) / 2
            exits, bottom = [], row + 1
            for (case, branch), w in zip(branches, widths):
                bx = round(left + w / 2, 6)
                left += w
                # Leave the node straight down, fan out on a bus below its label, drop into the branch.
                points = [(x, row)] if bx == x else [(x, row), (x, row + BUS), (bx, row + BUS)]
                if is_switch:
                    e = Edge(key, points, kind="case", label="default" if case is None else case,
                             case=(key, case), label_at=(bx, row + BUS + 0.2))
                    inner = conditions + ((key, case),)
                else:
                    e, inner = Edge(key, points, kind="fork"), conditions
                if branch:
                    out, nxt = self.place_list(branch, bx, row + 1, [e], inner)
                else:      # an empty case: the edge passes a waypoint in its own column
                    e.points.append((bx, row + 1))
                    out, nxt = [e], row + 2
                exits += out
                bottom = max(bottom, nxt)
            return _down_to(exits, bottom - 1), bottom
        if kind == m.DO_WHILE:
            body_exits, nxt = self.place_list(task.loop_over, x, row + 1, [Edge(key, [(x, row)])], conditions)
            w = self.task_width(task)
            left = round(cx - w / 2, 6)
            self.out.loops.append((key, left, round(cx + w / 2, 6), row, nxt - 1))
            # The arrow back up runs down the box's left side: labels are on the right of nodes.
            lane = round(left + LOOP_MARGIN / 2, 6)
            back = nxt - 1 + BUS * 0.6
            self.out.edges.append(Edge(key, [(x, back), (lane, back), (lane, row), (x, row)], key, kind="loop"))
            return _down_to(body_exits, nxt - 1), nxt
        if kind == m.TERMINATE:
            return [], row + 1
        return [Edge(key, [(x, row)])], row + 1

    def terminate_edge(self, node: Node, end: Node) -> Edge:
        """From a TERMINATE to the end: straight down when nothing is in the way, else
        just under its label to the left edge of the drawing, down, and in."""
        blocked = any(abs(n.x - node.x) < 0.5 and node.row < n.row < end.row
                      for n in self.out.nodes.values())
        if not blocked:
            points = [(node.x, node.row)]
            if node.x != end.x:
                points += [(node.x, end.row - BUS), (end.x, end.row - BUS)]
        else:
            side = round(-self.out.width / 2 - 0.15, 6)
            # Just under the node's label, above the buses that gather edges into the next row.
            points = [(node.x, node.row), (node.x, node.row + 0.3), (side, node.row + 0.3), (side, end.row)]
        return Edge(node.key, points + [(end.x, end.row)], end.key, kind="terminate")


def _cases(task) -> list:
    """A SWITCH's branches as ``(case, tasks)``: its cases in order, then the default (None)."""
    return list(task.decision_cases.items()) + [(None, task.default_case)]


def _down_to(exits, row) -> list:
    """Extend each exit straight down its own column to ``row`` (the bottom of its block)."""
    for e in exits:
        x, r = e.points[-1]
        if r < row:
            e.points.append((x, row))
    return exits


# -- the path an execution took ----------------------------------------------------------------

@dataclass
class Path:
    """What an execution did to each node of a layout (plain data, no plotly)."""

    #: Status category (a key of :data:`STATUS_STYLES`) by node key.
    status: dict
    #: The case keys each SWITCH chose (several in a loop), by switch ref.
    chosen: dict
    #: Task attempts by reference name, in scheduling order.
    attempts: dict
    #: How many iterations each DO_WHILE ran, by its ref.
    iterations: dict = field(default_factory=dict)


def path(lay: Layout, ex: Execution | None) -> Path:
    """The status of every node of ``lay`` in execution ``ex`` (``definition`` if None)."""
    if ex is None:
        return Path({k: "definition" for k in lay.nodes}, {}, {})
    attempts: dict = {}
    for t in ex.tasks:
        if t.ref not in lay.nodes:
            raise ValueError(f"execution {ex.workflow_id} ran a task {t.ref!r} ({t.type}) that workflow "
                             f"{lay.definition.name!r} does not define: draw it with the definition it ran "
                             f"(workflow {ex.name!r} v{ex.version})")
        attempts.setdefault(t.ref, []).append(t)
    chosen: dict = {}
    for ref, runs in attempts.items():
        task = lay.nodes[ref].task
        if task.type not in (m.SWITCH, m.DECISION):
            continue
        for t in runs:
            for value in (t.output or {}).get("evaluationResult", (t.output or {}).get("caseOutput", ())):
                case = value if value in task.decision_cases else None
                chosen.setdefault(ref, [])
                if case not in chosen[ref]:
                    chosen[ref].append(case)
    # Iterations are numbered on the tasks of a loop's body (Conductor's ref__N); the
    # DO_WHILE's own record carries none.
    iterations = {}
    for ref, *_ in lay.loops:
        body = [t.task_reference_name for _, t in m.walk(lay.nodes[ref].task.loop_over, "$")]
        iterations[ref] = max((t.iteration or 0 for r in body for t in attempts.get(r, ())), default=0)
    status = {}
    for key, node in lay.nodes.items():
        if key == _START:
            status[key] = "completed"
        elif key == _END:
            status[key] = WORKFLOW_STATUS_CATEGORY.get(ex.status, "not_reached")
        elif key in attempts:
            status[key] = TASK_STATUS_CATEGORY.get(attempts[key][-1].status, "running")
        elif any(ref in chosen and case not in chosen[ref] for ref, case in node.conditions):
            status[key] = "not_taken"
        else:
            status[key] = "not_reached"
    return Path(status, chosen, attempts, iterations)


def edge_taken(edge: Edge, p: Path, ex: Execution | None) -> bool:
    """Whether the execution went along ``edge``."""
    if ex is None:
        return False
    if edge.kind == "loop":
        return p.iterations.get(edge.src, 0) > 1
    if edge.case is not None:
        ref, case = edge.case
        if case not in p.chosen.get(ref, ()):
            return False
    src_ran = edge.src == _START or edge.src in p.attempts
    if edge.dst == _END:
        if edge.kind == "terminate":
            return src_ran
        src_ok = edge.src == _START or (src_ran and p.attempts[edge.src][-1].status in m.TASK_SUCCESSFUL)
        return src_ok and ex.status == m.COMPLETED
    return src_ran and edge.dst in p.attempts


# -- drawing ----------------------------------------------------------------------------------
