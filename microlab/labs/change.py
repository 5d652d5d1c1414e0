"""The change lab: make a change to the order saga and count what must be edited, per pattern.

Pick a change (insert a fraud check between payment and shipping; add an analytics
service that listens to every outcome). The lab compares the system description
before and after the change under each pattern (:func:`microlab.scenarios.change_impact`)
and shows:

- how many *existing* definitions had to be edited under each pattern (a bar chart);
- the orchestrator's workflow before and after (its task list), and each choreographed
  service's subscriptions before and after: the definitions someone must edit, test
  and redeploy;
- how the orchestrator's definition grows with the number of services, in one workflow
  or split into sub-workflows, with the order saga before and after the change marked.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import viz
from ..errors import MicrolabError
from ..flows import ORDER, BusinessFlow
from ..impact import compare
from ..scenarios import CHANGES, growth
from ..scenarios.changes import apply_change, definition_size, describe
from ..viz import style
from ..words import count
from .base import Lab

#: The main workflow of the orchestrated order saga (the one a change edits).
MAIN_WORKFLOW = ORDER.workflow


@dataclass
class ChangeView:
    """Everything the change lab shows for one change (plain data, no widgets).

    ``impact``: pattern -> :class:`~microlab.impact.Impact`; ``before``/``after``:
    pattern -> system description (see :func:`microlab.scenarios.changes.describe`);
    ``growth``: the rows of :func:`microlab.scenarios.growth`; ``sizes``: ``"before"`` /
    ``"after"`` -> the order saga's size as :func:`definition_size` counts it, plus
    ``largest`` (tasks in its largest definition, the growth chart's measure) and
    ``undoable`` (its steps with a compensation: the growth line's services each have one,
    so this, not every service called, is where the saga sits on that line's axis).
    """

    change: str
    impact: dict
    before: dict
    after: dict
    growth: list = field(default_factory=list)
    sizes: dict = field(default_factory=dict)

    def edited(self, pattern: str) -> list[str]:
        """The existing definitions edited under ``pattern`` (services and workflows, by name)."""
        imp = self.impact[pattern]
        return sorted(imp.changed_services) + [f"workflow {w}" for w in imp.changed_workflows]


def view_change(change: str, flow: BusinessFlow = ORDER, *, max_services: int = 12,
                split_every: int = 4) -> ChangeView:
    """Compute what the change lab shows for ``change`` (one of :data:`microlab.scenarios.CHANGES`)."""
    if change not in CHANGES:
        raise MicrolabError(f"unknown change {change!r}; pick one of: "
                            + "; ".join(f"{k!r} ({v})" for k, v in CHANGES.items()))
    if split_every < 1:
        raise MicrolabError(f"steps per sub-workflow must be at least 1, got {split_every}: "
                            "a sub-workflow holds one domain's steps")
    if max_services < split_every:
        raise MicrolabError(f"services in the flow ({max_services}) must be at least the steps per "
                            f"sub-workflow ({split_every}), or the split never happens; "
                            "raise the number of services or lower the split")
    after_flow = apply_change(flow, change)
    before = {p: describe(flow, p) for p in ("orchestration", "choreography")}
    after = {p: describe(after_flow, p) for p in ("orchestration", "choreography")}
    sizes = {}
    for key, desc, f in (("before", before, flow), ("after", after, after_flow)):
        workflows = desc["orchestration"]["workflows"]
        main = definition_size(workflows[MAIN_WORKFLOW])
        main["largest"] = max(definition_size(wf)["tasks"] for wf in workflows.values())
        main["undoable"] = sum(step.compensation is not None for step in f.steps)
        sizes[key] = main
    # The same comparison as scenarios.change_impact, on the descriptions made above.
    impact = {p: compare(before[p], after[p]) for p in before}
    return ChangeView(change, impact, before, after, _growth(max_services, split_every), sizes)


@functools.lru_cache(maxsize=32)
def _growth_rows(max_services: int, split_every: int) -> tuple:
    return tuple(growth(max_services=max_services, split_every=split_every))


def _growth(max_services: int, split_every: int) -> list:
    # Growth depends only on the two sliders: computed once per setting (copies, so a
    # caller that edits the rows cannot spoil the cache).
    return [dict(row) for row in _growth_rows(max_services, split_every)]


class ChangeLab(Lab):
    """Pick a change and see which definitions change under each pattern.

    Try first: pick "insert a fraud check": orchestration edits one workflow, while four
    choreographed services must learn new events. Then pick "add an analytics service":
    now choreography edits nothing and orchestration edits its workflow. Last, slide
    "steps per sub-workflow" and watch the largest definition stop growing.
    """

    name = "change"
    title = "Change lab: what must be edited to change the flow?"
    try_first = ("Pick \"insert a fraud check\", then \"add an analytics service\": which pattern "
                 "edits fewer existing definitions each time?")

    # split_every starts at 4, not 3: 3 is exercise 7.3's answer, which the lab must not show
    # before the learner has looked for it.
    def __init__(self, change: str = "fraud_check", *, max_services: int = 12, split_every: int = 4):
        super().__init__()
        self.controls["change"] = widgets.Dropdown(
            options=[(text, key) for key, text in CHANGES.items()], value=change, description="change",
            layout=widgets.Layout(width="460px"))
        self.controls["split_every"] = widgets.IntSlider(
            value=split_every, min=1, max=6, description="steps per sub-workflow", continuous_update=False,
            style={"description_width": "initial"})
        self.controls["max_services"] = widgets.IntSlider(
            value=max_services, min=4, max=24, description="services in the flow, up to",
            continuous_update=False, style={"description_width": "initial"})
        self.figure("impact", height=340)
        self.figure("growth", height=420)
        self.definitions = widgets.HTML()
        self.watch("change", "split_every", "max_services")

    def layout(self) -> widgets.Widget:
        """Controls, the impact bars, the definitions before/after, then the growth chart.

        One above the other: side by side, a half-width column was too narrow for the bars
        and their labels (the HTML panel beside them covered the choreography bar)."""
        controls = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        panel = widgets.Box([self.definitions], layout=widgets.Layout(padding="0 0 8px 12px"))
        return widgets.VBox([controls, self.figures["impact"], panel, self.figures["growth"]])

    def refresh(self) -> None:
        """Compute the change's impact and redraw."""
        c = self.controls
        view = view_change(c["change"].value, max_services=c["max_services"].value,
                           split_every=c["split_every"].value)
        self.run = view
        label = CHANGES[view.change]
        rows = [{"change": label, "pattern": p, "changed": view.edited(p)} for p in ("orchestration", "choreography")]
        fig = viz.change_impact(rows, title="Existing definitions edited, per pattern")
        # Full width now: the legend fits on the right, the wrapped change label underneath.
        fig.update_layout(height=340, margin={"b": 70}, yaxis_title_text="definitions edited")
        self.figure("impact", fig)
        self.figure("growth", growth_figure(view))
        self.definitions.value = definitions_html(view)
        counts = {p: view.impact[p].existing_definitions_changed for p in view.impact}
        cheaper = min(counts, key=counts.get) if counts["orchestration"] != counts["choreography"] else None
        self.say(f"To {label}: orchestration edits {count(counts['orchestration'], 'existing definition')}, "
                 f"choreography {counts['choreography']}."
                 + (f" This change is cheaper under {cheaper}." if cheaper else " A tie.")
                 + " " + growth_note(view))


def growth_note(view: ChangeView) -> str:
    """One sentence on where the order saga sits on the growth chart, counted as its line counts."""
    before, after = view.sizes["before"], view.sizes["after"]
    grown = after["largest"] - before["largest"]
    still = "still " if after["undoable"] == before["undoable"] else ""
    return (f"On the growth chart the order saga is the star at {before['undoable']} services: the "
            f"chart counts services that each have a step to undo, and the saga has {before['undoable']} "
            f"such steps ({still}{after['undoable']} after the change). Its workflow calls "
            f"{after['task_names']} services after the change, but its largest definition "
            + (f"grows by {count(grown, 'task')}." if grown else
               f"stays at {after['largest']} tasks, because the new step has no compensation."))


def growth_figure(view: ChangeView) -> go.Figure:
    """:func:`microlab.viz.orchestrator_growth` with the order saga before and after the change marked.

    Like for like: the line's flows give every service a compensation, so the saga is placed
    at its number of steps *with a compensation*, not at every service its workflow calls (the
    fraud check and a listener have none: placed by services called, the saga sat far below
    the line, as if it had beaten it). When the change adds no compensation both stars share
    a point: the larger, open one is "now"."""
    fig = viz.orchestrator_growth(view.growth, title="Does the orchestrator become a big service? "
                                  "(largest definition an engineer must read)")
    points = [("order saga now", "the order saga today", view.sizes["before"], style.GREY,
               "star-open", 22),
              ("order saga after the change", f"after: {CHANGES[view.change]}", view.sizes["after"],
               style.VERMILLION, "star", 14)]
    for label, long, size, colour, symbol, px in points:
        fig.add_trace(go.Scatter(
            x=[size["undoable"]], y=[size["largest"]], mode="markers", name=label,
            marker={"symbol": symbol, "size": px, "color": colour, "line": {"color": colour, "width": 2}},
            hovertemplate=(f"<b>{html.escape(long)}</b><br>%{{x}} steps with an undo (its workflow calls "
                           f"{size['task_names']} services); its largest definition (the compensation "
                           "workflow) has %{y} tasks<extra></extra>")))
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"}, margin={"b": 120},
                      xaxis_title_text="services in the flow, each with an undo (count)")
    return fig


def definitions_html(view: ChangeView) -> str:
    """The orchestrator's workflow and the choreography's subscriptions, before and after."""
    before_wf = view.before["orchestration"]["workflows"].get(MAIN_WORKFLOW, {})
    after_wf = view.after["orchestration"]["workflows"].get(MAIN_WORKFLOW, {})
    old = [t["taskReferenceName"] for t in before_wf.get("tasks", [])]
    new = [t["taskReferenceName"] for t in after_wf.get("tasks", [])]
    orch = (f"<b>Orchestration</b>: workflow <code>{MAIN_WORKFLOW}</code> "
            f"({'edited' if old != new else 'unchanged'})<br>"
            f"before: {_chain(old, set())}<br>after: {_chain(new, set(new) - set(old))}")
    added = view.impact["orchestration"].added_services
    if added:
        orch += f"<br>new worker service: {', '.join(map(_code, added))}"

    rows = []
    b_svc = view.before["choreography"]["services"]
    a_svc = view.after["choreography"]["services"]
    for name in sorted(set(b_svc) | set(a_svc)):
        was = b_svc.get(name, {}).get("subscribes")
        now = a_svc.get(name, {}).get("subscribes")
        if was is None:
            state, cells = "new service", _events(now, set(now))
        elif was == now and b_svc[name] == a_svc[name]:
            state, cells = "unchanged", _events(now, set())
        else:
            gained = set(now) - set(was)
            lost = set(was) - set(now)
            state = "<b style='color:%s'>edited</b>" % style.VERMILLION
            cells = _events(now, gained) + ("" if not lost else
                                             " <s>" + ", ".join(map(html.escape, sorted(lost))) + "</s>")
        # Padded cells: unpadded, "notification" and "unchanged" ran together.
        pad = "style='padding:1px 14px 1px 0;vertical-align:top'"
        keep = "style='padding:1px 14px 1px 0;vertical-align:top;white-space:nowrap'"
        rows.append(f"<tr><td {pad}>{_code(name)}</td><td {keep}>{state}</td><td {pad}>{cells}</td></tr>")
    chor = ("<b>Choreography</b>: each service's subscriptions after the change "
            f"(<span style='color:{style.GREEN}'><b>new</b></span> in green)"
            "<table style='font-size:12px;border-collapse:collapse'>"
            "<tr><th align=left style='padding-right:14px'>service</th><th align=left style='padding-right:14px'>"
            "definition</th><th align=left>subscribes to</th></tr>"
            + "".join(rows) + "</table>")
    return f"<div style='font-size:13px;line-height:1.5'>{orch}<hr style='margin:6px 0'>{chor}</div>"


def _chain(refs, new) -> str:
    return " → ".join(f"<b style='color:{style.GREEN}'>{html.escape(r)}</b>" if r in new else html.escape(r)
                      for r in refs) or "(no tasks)"


def _events(events, new) -> str:
    return ", ".join(f"<b style='color:{style.GREEN}'>{html.escape(e)}</b>" if e in new else html.escape(e)
                     for e in events) or "(nothing)"


def _code(name: str) -> str:
    return f"<code>{html.escape(name)}</code>"


def change_lab(change: str = "fraud_check", **options) -> ChangeLab:
    """The change lab, drawn once with ``change`` (``"fraud_check"`` or ``"analytics"``)."""
    if change not in CHANGES:
        raise MicrolabError(f"unknown change {change!r}; pick one of: "
                            + "; ".join(f"{k!r} ({v})" for k, v in CHANGES.items()))
    lab = ChangeLab(change, **options)
    lab.update()
    return lab
