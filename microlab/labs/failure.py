"""The failure lab: crash services, lose and repeat messages, cut the network; see who copes.

One call in a notebook cell::

    from microlab import labs
    lab = labs.failure_lab()

The lab runs the order saga under one pattern with a fault plan built from its controls
(:class:`microlab.faults.FaultPlan`, printed in the lab), and with the protections
switched on or off: retries, compensation, the outbox, idempotent consumers, a standby
orchestrator. The consistency checker's verdict is shown in plain words, and the first
transaction that broke a rule is drawn on its own.
"""

from __future__ import annotations

import html
import warnings

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import scenarios, viz
from ..faults import Crash, FaultPlan
from ..flows import ORDER
from ..scenarios import KnobError
from ..system import HandlerFailureWarning
from ..trace import DROP, DUPLICATE, LOST
from ..viz.charts import wrap_label
from .base import Lab
from .compare import preset

#: The central component of each pattern: a service like any other for crashing.
CENTRAL = {"orchestration": "orchestrator", "choreography": "broker"}
#: What the drop / duplicate target dropdown offers besides the services.
ANY = "any service"
#: Trace record kinds that show a fault hit a transaction, and how to say it.
HIT = {DROP: "dropped", LOST: "lost in a crash", DUPLICATE: "duplicated"}
#: Characters per line of the sentence under a figure's title (fits an 850 px output area).
WHY_CHARS = 100
#: Switches that only one pattern has (the other pattern disables them, visibly).
ONLY_IN = {"outbox": "choreography", "standby": "orchestration", "failover_delay": "orchestration"}


def services_of(pattern: str) -> list[str]:
    """The services a learner may crash under ``pattern``: the central one first, then the flow's."""
    return [CENTRAL[pattern], *ORDER.services]


class FailureLab(Lab):
    """Break things on purpose and let the consistency checker judge the result.

    What to try first: with orchestration selected, pick ``payment``, press "Crash it"
    and read the verdict: the orchestrator times out, retries and (if the retries run
    out) compensates, so every order still ends all-done or all-undone. Then switch to
    choreography, set "duplicate" to 0.3 with target ``payment`` and turn idempotency
    off: the checker finds double charges and draws one of them on its own. Turn the
    outbox off and crash the broker for 2 s: events are lost and orders get stuck.

    ``run`` is the current :class:`~microlab.scenarios.RunResult`; ``plan`` the fault
    plan it ran with; ``crashes`` the crashes added with "Crash it"; ``focus`` the
    transaction drawn on its own.
    """

    name = "failure"
    title = "Failure lab: crash, drop, duplicate, partition; does every order end all-done or all-undone?"
    try_first = ("Pick payment, press \"Crash it\" and read the verdict; then try choreography with "
                 "duplicates on payment and idempotency off.")

    def __init__(self, *, pattern: str = "orchestration", orders: int = 10, seed: int = 1,
                 retries: int = 2, compensation: bool = True, outbox: bool = True,
                 idempotent: bool = True, standby: bool = False):
        super().__init__()
        c = self.controls
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        c["pattern"] = widgets.ToggleButtons(options=list(scenarios.PATTERNS), value="orchestration",
                                             description="pattern")
        c["orders"] = widgets.IntSlider(value=10, min=1, max=40, description="orders", **slider)
        c["seed"] = widgets.IntSlider(value=1, min=1, max=100, description="seed", **slider)
        # -- crashes and partitions -----------------------------------------------------------
        c["service"] = widgets.Dropdown(options=services_of("orchestration"), value="payment",
                                        description="service")
        c["at"] = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.1, description="at t (s)", **slider)
        c["duration"] = widgets.FloatSlider(value=1.0, min=0.1, max=5.0, step=0.1, description="for (s)",
                                            **slider)
        c["crash"] = widgets.Button(description="Crash it", button_style="danger", icon="bolt",
                                    tooltip="add a crash of the service at t, restarted after the duration")
        c["clear"] = widgets.Button(description="Clear faults", icon="eraser",
                                    tooltip="remove every crash added with 'Crash it'")
        # A short description (a long one is cut at the widget's edge); the tooltip says the rest.
        c["partition"] = widgets.Checkbox(value=False, description="partition it", indent=False,
                                          tooltip="cut the service off from every other service "
                                                  "from t for the duration (a network partition)")
        # -- message faults ----------------------------------------------------------------------
        c["drop"] = widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05, description="drop rate", **slider)
        c["duplicate"] = widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05,
                                             description="duplicate rate", **slider)
        c["target"] = widgets.Dropdown(options=[ANY, *services_of("orchestration")], value=ANY,
                                       description="messages to", style={"description_width": "initial"})
        # -- protections -------------------------------------------------------------------------
        c["retries"] = widgets.IntSlider(value=2, min=0, max=3, description="retries", **slider)
        c["compensation"] = widgets.Checkbox(value=True, description="compensation", indent=False)
        c["outbox"] = widgets.Checkbox(value=True, description="outbox", indent=False)
        c["idempotent"] = widgets.Checkbox(value=True, description="idempotency", indent=False)
        c["standby"] = widgets.Checkbox(value=False, description="standby orchestrator", indent=False)
        self._syncing = False
        c["pattern"].observe(self._pattern_changed, names="value")
        preset(self, pattern=pattern, orders=orders, seed=seed, retries=retries)
        for name, value in dict(compensation=compensation, outbox=outbox, idempotent=idempotent,
                                standby=standby).items():
            if not isinstance(value, bool):
                raise KnobError(f"{name} is a switch: True or False, got {value!r}")
            c[name].value = value
        self._pattern_changed({"old": c["pattern"].value, "new": c["pattern"].value})
        #: The crashes added with "Crash it", in order.
        self.crashes: list[Crash] = []
        #: The fault plan of the current run.
        self.plan = FaultPlan()
        #: The transaction drawn on its own (a violation's, else a compensated one's).
        self.focus = None
        self.plan_text = widgets.HTML()
        self.figure("transaction", height=420)
        self.figure("sequence", height=520)
        c["crash"].on_click(self.add_crash)
        c["clear"].on_click(self.clear_faults)
        self.watch(*(n for n in c if n not in ("crash", "clear")))

    # -- controls ----------------------------------------------------------------------------

    def layout(self) -> widgets.Widget:
        """Faults on the left, protections on the right; the plan, the verdict and the figures below."""
        c = self.controls
        faults = widgets.VBox([widgets.HTML("<b>What goes wrong</b>"), c["service"], c["at"], c["duration"],
                               widgets.HBox([c["crash"], c["clear"]]), c["partition"],
                               c["drop"], c["duplicate"], c["target"]])
        guards = widgets.VBox([widgets.HTML("<b>Protections</b>"), c["retries"], c["compensation"],
                               c["outbox"], c["idempotent"], c["standby"],
                               widgets.HTML("<b>Run</b>"), c["orders"], c["seed"]])
        return widgets.VBox([c["pattern"], widgets.HBox([faults, guards]), self.plan_text,
                             *self.figures.values()])

    def _pattern_changed(self, change) -> None:
        # Runs before the lab's update (registered first): the dropdowns follow the
        # pattern, and the switches the other pattern lacks are greyed out, not ignored.
        pattern = change["new"]
        c = self.controls
        self._syncing = True
        try:
            old, new = CENTRAL[change["old"]], CENTRAL[pattern]
            for key, extra in (("service", []), ("target", [ANY])):
                value = c[key].value
                c[key].options = [*extra, *services_of(pattern)]
                c[key].value = new if value == old else value
        finally:
            self._syncing = False
        for name, only in ONLY_IN.items():
            if name in c:
                c[name].disabled = pattern != only
                c[name].tooltip = None if pattern == only else f"only {only} has this"

    def update(self, change=None) -> None:
        """Refresh (see :meth:`Lab.update`), except while the dropdowns follow a pattern change."""
        if not self._syncing:
            super().update(change)

    def add_crash(self, button=None) -> None:
        """Add a crash of the selected service at t for the duration, and re-run."""
        c = self.controls
        crash = Crash(c["service"].value, round(c["at"].value, 6), round(c["duration"].value, 6))
        try:
            _check_overlaps([*self.crashes, crash])
        except KnobError as exc:
            self.show_error(str(exc))   # refused: the plan stays as it was
            return
        self.crashes.append(crash)
        self.update()

    def clear_faults(self, button=None) -> None:
        """Remove every crash, switch the partition off, set drop and duplicate to 0, and re-run."""
        self.crashes = []
        self._syncing = True
        try:
            for name, value in (("partition", False), ("drop", 0.0), ("duplicate", 0.0)):
                self.controls[name].value = value
        finally:
            self._syncing = False
        self.update()

    # -- running -----------------------------------------------------------------------------

    def fault_plan(self) -> FaultPlan:
        """The fault plan the controls describe, checked against the chosen pattern."""
        c = self.controls
        pattern = c["pattern"].value
        known = services_of(pattern)
        plan = FaultPlan()
        for crash in self.crashes:
            if crash.service not in known:
                other = "choreography" if pattern == "orchestration" else "orchestration"
                raise KnobError(f"the fault plan crashes {crash.service!r}, which {pattern} does not have "
                                f"(it belongs to {other}). Press \"Clear faults\" or switch back to {other}.")
        _check_overlaps(self.crashes)
        for crash in self.crashes:
            plan.crash(crash.service, at=crash.at, duration=crash.duration)
        start, end = c["at"].value, c["at"].value + c["duration"].value
        if c["partition"].value:
            service = c["service"].value
            others = [s for s in known if s != service] + ["client"]
            plan.partition([service], others, start=start, end=end)
        where = {} if c["target"].value == ANY else {"destination": c["target"].value}
        if c["drop"].value > 0:
            plan.drop(rate=c["drop"].value, **where)
        if c["duplicate"].value > 0:
            plan.duplicate(rate=c["duplicate"].value, **where)
        return plan

    def settings(self) -> dict:
        """The scenario knobs of the current controls (the pattern excepted)."""
        c = self.controls
        pattern = c["pattern"].value
        knobs = dict(orders=c["orders"].value, seed=c["seed"].value, retries=c["retries"].value,
                     compensation=c["compensation"].value, idempotent=c["idempotent"].value,
                     faults=self.fault_plan())
        # A switch the pattern lacks keeps its default, so the run is exactly the pattern's own.
        if pattern == "choreography":
            knobs["outbox"] = c["outbox"].value
        else:
            knobs["standby"] = c["standby"].value
        return knobs

    def refresh(self) -> None:
        """Run the saga with the fault plan and protections; show the verdict and the figures."""
        pattern = self.controls["pattern"].value
        knobs = self.settings()
        with warnings.catch_warnings():
            # Handlers fail on purpose here; the verdict and the figures say what happened.
            warnings.simplefilter("ignore", HandlerFailureWarning)
            result = scenarios.order_saga(pattern, **knobs)
        self.run, self.plan = result, knobs["faults"]
        self.plan_text.value = ("<b>Fault plan</b><pre style='margin:2px 0;font-size:13px'>"
                                f"{html.escape(str(self.plan))}</pre>")
        checks = result.checks
        self.say(html.escape(checks.verdict()) + html.escape(_late_faults(result, self.plan)),
                 "good" if checks.ok else "bad")
        self.focus, why = focus(result)
        if self.focus is None:
            # Nothing to single out: a short note, not a second copy of the whole-run diagram.
            fig = note_figure("No transaction to single out",
                              "no rule broken, no fault touched an order, nothing compensated: "
                              "the whole run is drawn below")
        else:
            fig = viz.sequence_diagram(result.system, correlation=self.focus,
                                       fault_windows=result.system.network.faults,
                                       title=f"Transaction {self.focus} on its own")
            # The why can be a long sentence: under the title, wrapped, so none of it is cut.
            why_lines = wrap_label(why, WHY_CHARS)
            fig.layout.title.subtitle.text = why_lines
            fig.layout.margin.t = max(fig.layout.margin.t or 0, 70 + 16 * why_lines.count("<br>"))
        self.figure("transaction", fig)
        whole = viz.sequence_diagram(result.system, fault_windows=result.system.network.faults,
                                     title=f"The whole run ({pattern})")
        whole.layout.title.subtitle.text = "crashes shaded on their lane; fault windows shaded"
        self.figure("sequence", whole)


def note_figure(title: str, text: str) -> go.Figure:
    """A small figure that only says something (in place of a diagram with nothing new to show)."""
    # One empty trace: a figure with none is drawn as a bare frame (and the static site
    # checks that every figure it shows has a trace).
    empty = {"type": "scatter", "x": [], "y": [], "showlegend": False, "hoverinfo": "skip"}
    return go.Figure(data=[empty], layout={
        "template": viz.style.TEMPLATE, "title": {"text": title}, "height": 130,
        "margin": {"t": 50, "b": 10, "l": 20}, "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "annotations": [{"text": text, "showarrow": False, "xref": "paper", "yref": "paper",
                         "x": 0, "y": 0.5, "xanchor": "left", "font": {"size": viz.style.FONT_SIZE}}]})


def focus(result) -> tuple[object, str]:
    """The transaction worth drawing on its own, and why: the first violation's, else the
    first one a fault touched (a message of it dropped, lost or duplicated), else the
    first compensated one, else None."""
    if result.checks.violations:
        v = result.checks.violations[0]
        return v.correlation, f"{v.check}: {v.explanation}"
    touched: dict = {}
    for rec in result.trace.records:
        if rec[1] in HIT and rec[3] is not None and rec[3].correlation not in touched:
            touched[rec[3].correlation] = HIT[rec[1]]
    for corr in result.correlations:
        if corr in touched:
            return corr, f"a message of it was {touched[corr]}, yet it ended {result.outcomes[corr]}"
    for corr in result.correlations:
        if result.outcomes[corr] == "compensated":
            return corr, "compensated (every applied step undone: consistent)"
    return None, ""


def _check_overlaps(crashes) -> None:
    # A second crash of a service that is already down would restart it at the first
    # crash's restart time, earlier than the learner asked: refuse it.
    by_service: dict = {}
    for crash in crashes:
        by_service.setdefault(crash.service, []).append(crash)
    for service, mine in by_service.items():
        mine = sorted(mine, key=lambda c: c.at)
        for a, b in zip(mine, mine[1:]):
            if b.at < a.at + a.duration:
                raise KnobError(f"{service} is already down from t={a.at:g} to t={a.at + a.duration:g}; "
                                f"a second crash at t={b.at:g} overlaps it. Crash it after it restarts, "
                                "or press \"Clear faults\".")


def _late_faults(result, plan: FaultPlan) -> str:
    # A fault after the last order concluded changes nothing; say so rather than let the
    # learner wonder why the crash "did nothing".
    ends = [s.end for s in result.spans.values() if s.end is not None]
    if not plan or not ends or len(ends) < len(result.correlations):
        return ""
    last = max(ends)
    late = [label for start, _, label in plan.windows() if start > last]
    if not late:
        return ""
    return (f" Note: {'; '.join(late)} came after the last order concluded (t={last:.2f} s), so it "
            "disturbed nothing: move t earlier or add orders.")


def failure_lab(*, pattern: str = "orchestration", orders: int = 10, seed: int = 1, retries: int = 2,
                compensation: bool = True, outbox: bool = True, idempotent: bool = True,
                standby: bool = False) -> FailureLab:
    """The failure lab, run once with these settings and no faults (see :class:`FailureLab`)."""
    lab = FailureLab(pattern=pattern, orders=orders, seed=seed, retries=retries, compensation=compensation,
                     outbox=outbox, idempotent=idempotent, standby=standby)
    lab.update()
    return lab
