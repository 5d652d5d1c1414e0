"""The workflow explorer: run a Conductor workflow on toy services, with chosen failures.

Pick an example (the project's own Conductor files in ``microlab/data/workflows/`` and a
few built with the Python builder: the order saga, a switch, a fork/join, a
sub-workflow) or paste Conductor JSON into the box and press Run. Every SIMPLE task
is answered by a toy worker named after the task, every HTTP task by one named after
its URI's first path segment (as ``python -m microlab run`` does; see
:mod:`microlab.orchestration.toyrun`). Choose tasks whose worker fails, and how many
attempts fail, and watch the retries, the failure workflow and the compensation.

Shown: the workflow diagram with the path taken (when :func:`microlab.viz.workflow_diagram`
is available), the timeline of task attempts, the execution as Conductor would report
it, and the trace. An invalid definition shows every fault with its JSON path.
"""

from __future__ import annotations

import html
import json
import re

import ipywidgets as widgets
import plotly.graph_objects as go

from .. import viz
from ..errors import DefinitionError, MicrolabError
from ..orchestration import builder as b
from ..orchestration.toyrun import ToyRun, load, run_toy, toy_services
from ..orchestration.toys import WORKFLOWS_DIR
from ..words import count
from .base import Lab

#: Attempts that fail, as the "fails" dropdown offers them (None: every attempt).
FAIL_TIMES = (("every attempt", -1), ("the first attempt", 1), ("the first 2 attempts", 2),
              ("the first 3 attempts", 3))
#: Trace records shown under the execution (the whole trace of a small run).
TRACE_LIMIT = 400
#: A reference to a task's output in a definition: ``${charge_payment.output.chargeId}``.
OUTPUT_REF = re.compile(r"\$\{([A-Za-z0-9_-]+)\.output\.([A-Za-z0-9_]+)\}")


def toy_outputs(text: str, refs) -> dict:
    """What each toy worker returns: every output key the definition reads from its task, with
    a made-up value (``chargeId`` -> ``"charge-1"``).

    Without it a toy worker returns ``{}``, and a COMPLETED run's output shows
    ``chargeId: null``, which reads as broken wiring rather than as a toy.
    """
    out: dict = {}
    for ref, key in OUTPUT_REF.findall(text):
        if ref in refs:
            out.setdefault(ref, {})[key] = f"{key[:-2] if key.endswith('Id') and len(key) > 2 else key}-1"
    return out


def _builder_examples() -> dict:
    """Examples written with the Python builder, exported as Conductor JSON."""
    order = (b.saga("order_saga_built", inputs=["orderId", "amount"],
                    description="The order saga from the Python builder: each step names its compensation")
             .step("reserve_inventory", compensate="release_inventory")
             .step("charge_payment", compensate="refund_payment")
             .step("book_shipment", compensate="cancel_shipment").build())
    switch = (b.workflow("shipping_choice", inputs=["orderId", "express"],
                         description="A SWITCH on the input: express or standard shipping")
              .simple("charge_payment")
              .switch("route", on="${workflow.input.express}",
                      cases={"yes": [b.simple("ship_express")]}, default=[b.simple("ship_standard")])
              .simple("notify_customer").build())
    forked = (b.workflow("parallel_order", inputs=["orderId"],
                         description="A FORK_JOIN: reserve and charge in parallel, then ship once both are done")
              .fork([b.simple("reserve_inventory")], [b.simple("charge_payment"), b.simple("send_receipt")],
                    ref="reserve_and_charge")
              .simple("book_shipment").build())
    payment = (b.workflow("payment_flow", inputs=["orderId"])
               .simple("authorize_card").simple("capture_payment").build())
    parent = (b.workflow("order_with_payment_flow", inputs=["orderId"],
                         description="A SUB_WORKFLOW: the payment team owns its own workflow")
              .simple("reserve_inventory")
              .sub_workflow("pay", "payment_flow", input={"orderId": "${workflow.input.orderId}"})
              .simple("book_shipment").build())
    return {
        "order saga (Python builder: saga with compensations)": (order.to_json(), {"orderId": "o-1", "amount": 30}),
        "switch: express or standard shipping": (_dumps(switch.to_conductor()), {"orderId": "o-1", "express": "yes"}),
        "fork/join: reserve and charge in parallel": (_dumps(forked.to_conductor()), {"orderId": "o-1"}),
        "sub-workflow: payment as its own workflow": (
            _dumps([parent.to_conductor(), payment.to_conductor()]), {"orderId": "o-1"}),
    }


def examples() -> dict:
    """Example name -> ``(Conductor JSON text, workflow input)``; the project's files first."""
    out = {}
    for path in sorted(WORKFLOWS_DIR.glob("*.json")):
        out[f"{path.stem} (microlab/data/workflows/{path.name})"] = (
            path.read_text(encoding="utf-8"), {"orderId": "o-1", "amount": 30, "items": ["book"]})
    out.update(_builder_examples())
    return out


def _dumps(data) -> str:
    return json.dumps(data, indent=2)


def parse_definition(text: str):
    """Parsed Conductor JSON from the text box, or a DefinitionError that says what is wrong."""
    if not text.strip():
        raise DefinitionError([("$", "the box is empty: paste a Conductor workflow definition "
                                     "(a JSON object with name, version and tasks), or pick an example")],
                              what="Conductor workflow definition")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError([("$", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")],
                              what="Conductor workflow definition") from None


def parse_input(text: str) -> dict:
    """The workflow input from its text box: a JSON object."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise MicrolabError(f"workflow input: not valid JSON ({exc.msg} at column {exc.colno}); "
                            'write an object such as {"orderId": "o-1"}') from None
    if not isinstance(value, dict):
        raise MicrolabError(f'workflow input must be a JSON object such as {{"orderId": "o-1"}}, got {text!r}')
    return value


class WorkflowExplorerLab(Lab):
    """Run a Conductor workflow (an example, or your own JSON) on toy services.

    Try first: with the order saga selected, pick ``book_shipment`` under "fail" (every
    attempt): the task is tried three times, the workflow FAILS, and its failure workflow
    refunds the payment and releases the inventory, most recent first. Then choose
    "the first 2 attempts": the third attempt succeeds and nothing is undone.
    """

    name = "explorer"
    title = "Workflow explorer: run a Conductor workflow on toy services"
    try_first = ("Fail book_shipment on every attempt and watch the retries, then the compensation; "
                 "then fail only its first 2 attempts.")

    def __init__(self, example: str | None = None):
        super().__init__()
        self.examples = examples()
        names = list(self.examples)
        example = names[0] if example is None else example
        if example not in self.examples:
            raise MicrolabError(f"unknown example {example!r}; the examples are: {', '.join(names)}")
        text, inp = self.examples[example]
        c = self.controls
        c["example"] = widgets.Dropdown(options=names, value=example, description="example",
                                        layout=widgets.Layout(width="520px"))
        # The description fits its words ("initial" width): a fixed width cut it to "Conducto…".
        c["definition"] = widgets.Textarea(value=text, description="Conductor JSON", continuous_update=False,
                                           style={"description_width": "initial"},
                                           layout=widgets.Layout(width="98%", height="220px"))
        c["input"] = widgets.Text(value=json.dumps(inp), description="input", continuous_update=False,
                                  layout=widgets.Layout(width="520px"))
        c["fail"] = widgets.SelectMultiple(options=[], description="fail", rows=5,
                                           layout=widgets.Layout(width="300px"))
        c["fail_times"] = widgets.Dropdown(options=FAIL_TIMES, value=-1, description="fails",
                                           layout=widgets.Layout(width="260px"))
        c["seed"] = widgets.IntText(value=1, description="seed", layout=widgets.Layout(width="160px"))
        # Picking an example, a failure or a seed re-runs at once; an edit of the JSON or the
        # input waits for this button (a half-typed definition would only show faults).
        c["run"] = widgets.Button(description="Run the edited JSON", button_style="primary", icon="play",
                                  tooltip="run the definition and input as edited in the boxes above",
                                  layout=widgets.Layout(width="auto"))
        if diagram_function() is not None:
            self.figure("diagram", height=460)
        self.figure("timeline", height=360)
        self.execution_text = widgets.HTML()
        self.trace_text = widgets.HTML()
        #: The faults of the last invalid definition, as (JSON path, message) pairs.
        self.faults: list = []
        self._quiet = False          # True while the lab itself sets controls
        self._texts = None           # the accordion of texts, once laid out
        c["example"].observe(self._pick_example, names="value")
        for name in ("fail", "fail_times", "seed", "input"):
            c[name].observe(self._changed, names="value")
        c["run"].on_click(lambda _button: self.update())

    # -- layout ---------------------------------------------------------------------------

    def layout(self) -> widgets.Widget:
        """The example and the JSON on top, the failure controls, then the figures and texts."""
        c = self.controls
        row1 = widgets.HBox([c["example"], c["input"]], layout=widgets.Layout(flex_flow="row wrap"))
        row2 = widgets.HBox([c["fail"], widgets.VBox([c["fail_times"], c["seed"], c["run"]])])
        texts = widgets.Accordion(children=[self.execution_text, self.trace_text])
        texts.set_title(0, "execution (as Conductor reports it)")
        texts.set_title(1, "trace (every record of the run)")
        texts.selected_index = 0
        # The trace (12-16 kB of text a run) is written only while it is open: every run
        # would otherwise send it to the browser for a closed section.
        texts.observe(self._texts_opened, names="selected_index")
        self._texts = texts
        return widgets.VBox([row1, c["definition"], row2, *self.figures.values(), texts])

    # -- running --------------------------------------------------------------------------

    def _pick_example(self, change) -> None:
        text, inp = self.examples[change["new"]]
        self._quiet = True
        try:
            self.controls["definition"].value = text
            self.controls["input"].value = json.dumps(inp)
            self.controls["fail"].value = ()
        finally:
            self._quiet = False
        self.update()

    def _changed(self, change) -> None:
        if not self._quiet:
            self.update()

    def refresh(self) -> None:
        """Parse the definition, run it on toy workers with the chosen failures, redraw."""
        c = self.controls
        self.faults = []
        try:
            workflows = load(parse_definition(c["definition"].value))
        except DefinitionError as exc:
            self.faults = list(exc.faults)
            raise
        refs = list(toy_services(workflows).by_ref)
        self._offer_refs(refs)
        times = c["fail_times"].value
        fail = {ref: (None if times < 0 else times) for ref in c["fail"].value}
        run = run_toy(workflows, parse_input(c["input"].value), fail=fail, seed=c["seed"].value,
                      outputs=toy_outputs(c["definition"].value, refs))
        self.run = run
        self._draw(run)

    def _offer_refs(self, refs: list) -> None:
        """Offer the tasks of the current definition under "fail", keeping choices that still exist."""
        select = self.controls["fail"]
        if list(select.options) == refs:
            return
        kept = tuple(r for r in select.value if r in refs)
        self._quiet = True
        try:
            select.options = refs
            select.value = kept
        finally:
            self._quiet = False

    def _draw(self, run: ToyRun) -> None:
        ex = run.execution
        if "diagram" in self.figures:
            by_name = {wf.name: wf for wf in run.workflows}
            failure = by_name.get(run.main.failure_workflow) if run.main.failure_workflow else None
            # Examples draw 5 to 8 traces: hidden spare ones save two redraws per pick.
            self.figure("diagram", diagram_function()(run.main, execution=ex, failure_workflow=failure),
                        keep_slots=True)
        self.figure("timeline", timeline_figure(run), keep_slots=True)
        self.execution_text.value = _pre(ex.format())
        self._show_trace()
        attempts = sum(len(e.tasks) for e in ex.walk())
        when = f" at t={ex.end:.3f} s" if ex.end is not None else ""
        text = f"Workflow {html.escape(ex.name)} ended {ex.status}{when} after {count(attempts, 'task attempt')}"
        if ex.failure_workflow is not None:
            fw = ex.failure_workflow
            text += f"; its failure workflow {html.escape(fw.name)} ran and ended {fw.status}"
        if ex.reason:
            text += f". Reason: {html.escape(ex.reason)}"
        if run.storm is not None:
            text += f". Stopped: {html.escape(str(run.storm))}"
        self.say(text + ".", "good" if ex.status == "COMPLETED" and run.storm is None else "bad")


    def _texts_opened(self, change) -> None:
        self._show_trace()

    def _show_trace(self) -> None:
        """Write the trace text if its section is open (or no browser shows the lab yet)."""
        if self.run is None:
            return
        if self._texts is not None and self._texts.selected_index != 1:
            self.trace_text.value = _pre("(open this section to see the trace)")
            return
        self.trace_text.value = _pre(self.run.system.trace.format(limit=TRACE_LIMIT), height="360px")


def diagram_function():
    """:func:`microlab.viz.workflow_diagram`, or None in a version of microlab without it."""
    found = getattr(viz, "workflow_diagram", None)
    if found is None:
        try:
            from ..viz.workflow import workflow_diagram as found
        except ImportError:
            return None
    return found


def timeline_figure(run: ToyRun) -> go.Figure:
    """The timeline of the run's task attempts (control tasks too when they are all there is)."""
    try:
        return viz.workflow_timeline(run.system, run.correlation)
    except ValueError:
        try:
            return viz.workflow_timeline(run.system, run.correlation, control_tasks=True)
        except ValueError:
            return _placeholder("No task of this workflow ran: nothing to draw on a timeline")


def _placeholder(text: str) -> go.Figure:
    return go.Figure(layout={"title": {"text": text}, "xaxis": {"visible": False}, "yaxis": {"visible": False},
                             "height": 160})


def _pre(text: str, height: str = "none") -> str:
    # Long lines wrap (an execution's output line ran off the right edge of the lab).
    return (f"<pre style='font-size:11px;line-height:1.3;max-height:{height};overflow:auto;"
            f"white-space:pre-wrap;overflow-wrap:anywhere'>"
            f"{html.escape(text)}</pre>")


def workflow_explorer(example: str | None = None) -> WorkflowExplorerLab:
    """The workflow explorer, with ``example`` (default: the project's order saga) run once."""
    lab = WorkflowExplorerLab(example)
    lab.update()
    return lab
