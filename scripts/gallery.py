"""Write every microlab figure to HTML and PNG, to look at them as a learner would.

Usage::

    python scripts/gallery.py OUTDIR [--no-png] [--only NAME ...]

Every figure is drawn from what the notebooks run: the scenarios of
:mod:`microlab.scenarios` (the order saga of :data:`microlab.flows.ORDER` under each
pattern, a load sweep, the change impact and the orchestrator's growth), with the
settings of the notebook cell named beside each run in :data:`RUNS` (fewer orders,
so that the gallery stays quick). Numbers come from the runs themselves (a RunResult's
latencies, checks and sweeps' rows), never from code of the gallery's own. It writes
``OUTDIR/<name>.html`` (plotly.js embedded: works offline) and ``OUTDIR/<name>.png``
(a screenshot by headless Chromium, through playwright).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

from microlab import scenarios, viz
from microlab.exercises import ch07
from microlab.faults import FaultPlan
from microlab.flows import FRAUD_CHECK, ORDER
from microlab.orchestration import execution, task_def

CHROMIUM = "/usr/bin/chromium"
#: Animations whose screenshot shows a later frame (by frame name) than the first.
SHOW_FRAME = {"animation": "24"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: The crash the fault-window figures show (as notebook 06 crashes a service for a while).
CRASH = FaultPlan().crash("payment", at=0.4, duration=0.5)
#: The front door of notebook 05's sweep: the order service takes two orders at once.
FRONT_DOOR = {"order": 2}

#: Each run the gallery draws: ``name -> (scenario function, its knobs, the notebook cell
#: it mirrors)``. The figures draw these runs and nothing else.
RUNS = {
    # 04, "Retry, then compensate": shipping fails often, so some orders are undone.
    "orchestration": ("order_saga", dict(pattern="orchestration", orders=12, failure={"shipping": 0.6}, seed=3),
                      "04_failures_and_sagas: run = scenarios.order_saga('orchestration', ...)"),
    "choreography": ("order_saga", dict(pattern="choreography", orders=12, failure={"shipping": 0.6}, seed=3),
                     "04_failures_and_sagas: chain = scenarios.order_saga('choreography', ...)"),
    # 06: a crash window drawn over the messages.
    "orchestration_crash": ("order_saga", dict(pattern="orchestration", orders=8, arrival_rate=10, seed=2,
                                               faults=CRASH),
                            "06_single_point_of_failure: a crash drawn with fault_windows"),
    # 01 and 05: the light-load comparison.
    "light_orchestration": ("order_saga", dict(pattern="orchestration", orders=40, seed=1),
                            "01_two_ways / 05_performance: orch = scenarios.order_saga(...)"),
    "light_choreography": ("order_saga", dict(pattern="choreography", orders=40, seed=1),
                           "01_two_ways / 05_performance: chor = scenarios.order_saga(...)"),
    # 05, "Where the queue builds": the orchestrator near saturation.
    "busy": ("order_saga", dict(pattern="orchestration", orders=80, arrival_rate=70, seed=1, workers=FRONT_DOOR),
             "05_performance: busy = scenarios.order_saga(..., arrival_rate=70, workers=front_door)"),
    # Thousands of messages: the sequence diagram switches to WebGL.
    "heavy": ("order_saga", dict(pattern="choreography", orders=150, arrival_rate=60, seed=1),
              "05_performance: many orders at once"),
}
#: Notebook 05's load sweep, on fewer rates and orders.
SWEEP = dict(rates=[10, 40, 70, 100], orders=60, workers=FRONT_DOOR)


def runs() -> dict:
    """Every run of :data:`RUNS`, by name: RunResults of :mod:`microlab.scenarios`."""
    out = {}
    for name, (function, knobs, _cell) in RUNS.items():
        knobs = dict(knobs)
        out[name] = getattr(scenarios, function)(knobs.pop("pattern"), **knobs)
    return out


def compensated(run) -> str:
    """The first transaction of ``run`` that was undone (the figures of one order show it)."""
    return next(c for c, outcome in run.outcomes.items() if outcome == "compensated")


def retry_schedules(retries: int = 5, delay: float = 1.0) -> dict:
    """The delay before each retry under each of Conductor's retry logics (notebook 02's cell)."""
    return {logic: [task_def("charge_payment", retries=retries, retry_delay=delay, retry_logic=logic).retry_delay(k)
                    for k in range(retries)]
            for logic in ("FIXED", "LINEAR_BACKOFF", "EXPONENTIAL_BACKOFF")}


def figures() -> dict:
    """Every figure of the gallery, by file name (built in a fixed order: deterministic)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the runs fail orders on purpose
        run = runs()
        rows = scenarios.sweep("order", **SWEEP)
        growth = scenarios.growth(max_services=12, split_every=4)
    orch, chor = run["orchestration"], run["choreography"]
    undone, rolled_back = compensated(orch), compensated(chor)
    definition = orch.system["orchestrator"].definition(ORDER.workflow)
    compensation = orch.system["orchestrator"].definition(definition.failure_workflow)
    light = {"orchestration": run["light_orchestration"], "choreography": run["light_choreography"]}
    crashed = run["orchestration_crash"]
    return {
        "sequence_orchestration": viz.sequence_diagram(crashed.system, fault_windows=CRASH.windows()),
        "sequence_one_order": viz.sequence_diagram(orch.system, correlation=undone),
        "sequence_choreography": viz.sequence_diagram(chor.system, correlation=rolled_back),
        "sequence_10k": viz.sequence_diagram(run["heavy"].system, title="Messages under heavy load (WebGL)"),
        "topology_orchestration": viz.topology(orch.system),
        "topology_pair_network": viz.topology_pair(orch.system, chor.system, logical=False),
        "topology_pair_logical": viz.topology_pair(orch.system, chor.system, logical=True),
        "timeline_order": viz.transaction_timeline(light["orchestration"].system, "order-7"),
        "timeline_workflow": viz.workflow_timeline(orch.system, undone),
        "latency": viz.latency_distributions({p: r.latencies for p, r in light.items()}),
        "saturation": viz.saturation_curve(rows),
        "queues": viz.queue_and_utilization(run["busy"].system,
                                            services=["orchestrator", "order", "payment", "shipping"]),
        "outcomes": viz.outcome_counts({"orchestration": orch.checks.counts(),
                                        "choreography": chor.checks.counts()}),
        "change_impact": viz.change_impact(ch07.impact_rows({
            "add a fraud check mid-flow": ORDER.insert(FRAUD_CHECK, after="payment"),
            "add an analytics listener": ORDER.with_listener("analytics"),
        })),
        "orchestrator_growth": viz.orchestrator_growth(growth),
        "retry_backoff": viz.retry_backoff(retry_schedules(),
                                           title="Conductor's retry logics: the wait before each retry "
                                                 "(retryDelaySeconds = 1)"),
        "animation": viz.message_animation(orch.system),
        "workflow_definition": viz.workflow_diagram(definition),
        "workflow_saga": viz.workflow_diagram(definition, execution(orch.system, undone),
                                              failure_workflow=compensation),
        "causation_choreography": viz.causation_figure(chor.system, rolled_back),
    }


def write(figs: dict, outdir: Path, png: bool = True) -> list[Path]:
    """Write each figure as HTML, then (if ``png``) screenshot each HTML file in Chromium."""
    outdir.mkdir(parents=True, exist_ok=True)
    pages = []
    for name, fig in figs.items():
        path = outdir / f"{name}.html"
        # plotly.js (4.8 MB) once, in OUTDIR/plotly.min.js, rather than in every page.
        fig.write_html(path, include_plotlyjs="directory", full_html=True,
                       config={"displaylogo": False}, default_width="1100px")
        pages.append(path)
    if png:
        screenshots(pages)
    return pages


def screenshots(pages: list[Path]) -> None:
    """PNG of each page's figure, by headless Chromium (Debian's, driven by playwright)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        print(f"no Chromium at {CHROMIUM}: HTML written, PNG skipped (apt-get install chromium)",
              file=sys.stderr)
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1180, "height": 900})
        for path in pages:
            page.goto(path.resolve().as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg")
            if path.stem in SHOW_FRAME:   # an animation's first frame is nearly empty
                page.evaluate("([f]) => { const gd = document.querySelector('.js-plotly-plot');"
                              " return Plotly.animate(gd, [f], {frame: {duration: 0, redraw: false},"
                              " transition: {duration: 0}, mode: 'immediate'}); }", [SHOW_FRAME[path.stem]])
            page.wait_for_timeout(400)     # WebGL traces draw a moment after the SVG
            page.locator(".js-plotly-plot").first.screenshot(path=str(path.with_suffix(".png")))
        browser.close()


def main(argv=None) -> int:
    """Parse the command line and write the gallery."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder to write the HTML and PNG files into")
    parser.add_argument("--no-png", action="store_true", help="write HTML only")
    parser.add_argument("--only", nargs="*", help="figure names to write (default: all)")
    args = parser.parse_args(argv)
    figs = figures()
    if args.only:
        unknown = [n for n in args.only if n not in figs]
        if unknown:
            parser.error(f"unknown figure {', '.join(unknown)}; choose from {', '.join(figs)}")
        figs = {n: figs[n] for n in args.only}
    pages = write(figs, args.outdir, png=not args.no_png)
    print(f"wrote {len(pages)} figures to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
