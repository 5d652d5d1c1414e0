"""Benchmark: the wait a learner sees in the browser, from a control change to the figure settled.

For each lab of :data:`TIMINGS`, JupyterLab (on 127.0.0.1, no token, a throwaway folder)
runs a notebook holding only the course's one-line call of that lab, and headless Debian
Chromium changes the lab's default control ``options.repeats`` times (at least 5), one
change at a time (:mod:`tools.lab_timing`). Each change is timed from the input event to
the last redraw of the lab's figures once nothing moves any more (plotly's
``plotly_afterplot`` events, quiet for ``SETTLE_MS`` with the kernel idle). Beside it:

- the kernel's own time for the same update, measured inside that kernel;
- the Python-side time of the same update outside any browser (as ``bench_labs`` times it),
  in this process, so the gap between the simulation and the wait is visible;
- how many redraws and how many kilobytes of websocket traffic each change caused.

Targets: a median under 300 ms for every lab's default change, under 150 ms for the
lightest. Run it alone with ``python -m benchmarks --only browser``; ``--quick`` times one
lab twice. ``--baseline REV`` (or ``MICROLAB_BENCH_BASELINE=REV``) measures microlab as it
was at git revision REV too (default :data:`BASELINE`), lab by lab alternating with the current
code, so that a before/after comparison shares the machine's load; the notes say, per version,
whether the targets are met. Without Chromium the section prints a row saying so. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tools import browser, notebook_run
from tools.lab_timing import SETTLE_MS, LabTiming, frames_recorder, time_lab, timing_notebook

from .options import Options
from .table import Table

#: The repository: its ``microlab`` is the code measured as "now".
REPO = Path(__file__).resolve().parent.parent

#: Each lab and its default change: the control a learner touches first.
TIMINGS = [
    LabTiming("compare", "labs.compare_patterns()", "slider", "orders"),
    LabTiming("explorer", "labs.workflow_explorer()", "select", "example"),
    LabTiming("scrubber", 'labs.time_scrubber("choreography", "payment_crash")', "slider", "orders"),
    LabTiming("scrubber", 'labs.time_scrubber("choreography", "payment_crash")', "button", "next event",
              method="show_time"),
    # "Crash it" twice at the same t is refused (the service is already down): the
    # failure lab's repeatable default change is its orders slider.
    LabTiming("failure", "labs.failure_lab()", "slider", "orders"),
    LabTiming("load", "labs.load_lab()", "slider", "orders/s"),
    LabTiming("spof", "labs.spof_lab()", "slider", "crash at t"),
    # "steps per sub-workflow" starts at 3 of 6: five steps right would hit its end.
    LabTiming("change", "labs.change_lab()", "slider", "services in the flow"),
]

#: In ``--quick`` mode: only the lightest change, twice.
QUICK = [TIMINGS[3]]

#: Median wait targets (ms): every lab's default change, and the lightest change.
TARGET_MS, LIGHTEST_TARGET_MS = 300.0, 150.0

#: The revision measured as "before" unless told otherwise: main before the load and spof labs'
#: cuts (the load lab keeps recent rates' runs; the spof lab reads each run's spans once).
#: ``MICROLAB_BENCH_BASELINE=none`` measures the current code alone.
BASELINE = "77ae474"

COLUMNS = ["lab", "change", "browser median (ms)", "browser p90 (ms)", "first redraw median (ms)",
           "last kernel message median (ms)", "kernel median (ms)", "Python-side median (ms)", "plotly redraw events per change", "KB from kernel per change",
           "KB to kernel per change", "changes", "under 300 ms"]


def p90(values: list[float]) -> float:
    """The 90th percentile (nearest rank): with 5 samples, the slowest but none."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]


def python_side(timing: LabTiming, repeats: int, code: Path = REPO) -> float | None:
    """Median ms of the same update with no browser (as ``bench_labs`` times it), run with the
    ``microlab`` package found in folder ``code``, in a fresh Python process."""
    script = (f"import gc, statistics, time\nfrom microlab import labs\nlab = {timing.call}\n"
              f"m = lab.{timing.method}\nsamples = []\n"
              f"for _ in range({repeats}):\n    gc.collect(); s = time.perf_counter(); m()\n"
              "    samples.append((time.perf_counter() - s) * 1000)\nprint(statistics.median(samples))")
    env = dict(os.environ, PYTHONPATH=str(code))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600,
                          cwd=tempfile.gettempdir())
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _median(values) -> int | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known)) if known else None


def _label(t: LabTiming) -> str:
    verb = {"slider": "slider", "button": "button", "select": "dropdown"}[t.action]
    return f"{t.control} ({verb})"


def export_revision(ref: str, into: Path) -> Path:
    """Write the ``microlab`` package as it is at git revision ``ref`` into folder ``into``."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref, "microlab"], cwd=REPO, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} microlab failed: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _measure(server, context, t: LabTiming, name: str, changes: int):
    page = context.new_page()
    frames = frames_recorder(page)
    try:
        notebook_run.open_notebook(page, server, name)
        ran = notebook_run.run_all_cells(page, name, timeout=300)
        if ran.problems:
            raise browser.BrowserError("; ".join(ran.problems))
        return time_lab(page, t, changes=changes, frames=frames)
    finally:
        page.close()
        server.close_notebook(name)


def run(options: Options, baseline: str | None = None) -> Table:
    """Time each lab's default change in the browser; one row per change kind (see the module docstring).

    ``baseline`` (a git revision; default: the ``MICROLAB_BENCH_BASELINE`` variable) adds a
    row per change measured with ``microlab`` as it was at that revision, in a second
    JupyterLab, alternating lab by lab with the current code so both see the same load.
    """
    baseline = baseline or os.environ.get("MICROLAB_BENCH_BASELINE") or BASELINE
    if baseline == "none" or options.quick:
        baseline = None
    columns = ["code", *COLUMNS] if baseline else COLUMNS
    table = Table("Browser: input to repainted-and-settled figure, in JupyterLab in headless Chromium", columns)
    timings = QUICK if options.quick else TIMINGS
    changes = 2 if options.quick else max(options.repeats, 5)
    if browser.find_chromium() is None:
        table.add(*([None] if baseline else []), "all", browser.missing_chromium_message(),
                  *[None] * (len(COLUMNS) - 2))
        return table
    loads = []
    medians: dict = {}
    with tempfile.TemporaryDirectory(prefix="microlab-bench-browser-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        root = tmp / "labs"
        root.mkdir()
        names = [timing_notebook(t, root / f"{i:02d}_{t.name}.ipynb").name for i, t in enumerate(timings)]
        codes = {"now": REPO}
        if baseline:
            codes = {f"before ({baseline})": export_revision(baseline, tmp / "baseline"), "now": REPO}
        servers = {label: stack.enter_context(browser.JupyterLab(root, workdir=tmp / f"server{i}",
                                                                 env={"PYTHONPATH": str(code)}))
                   for i, (label, code) in enumerate(codes.items())}
        chromium = stack.enter_context(browser.chromium())
        context = chromium.new_context(viewport=browser.VIEWPORT)
        blocked = browser.block_network(context)
        for t, name in zip(timings, names):
            for label, server in servers.items():
                lead = [label] if baseline else []
                try:
                    times = _measure(server, context, t, name, changes)
                except browser.BrowserError as e:
                    table.add(*lead, t.name, _label(t), None, None, None, None, None, None, None, None, None, 0,
                              f"FAILED: {str(e)[:200]}")
                    continue
                loads.append(os.getloadavg()[0])
                settled = [c.settled_ms for c in times.changes]
                median = statistics.median(settled)
                medians.setdefault(label, {})[f"{t.name} {_label(t)}"] = median
                print(f"  browser: {label} {t.name} {_label(t)}: median {median:.0f} ms "
                      f"({', '.join(f'{x:.0f}' for x in settled)})", file=sys.stderr, flush=True)
                n = len(times.changes)
                table.add(*lead, t.name, _label(t), round(median), round(p90(settled)),
                          round(statistics.median(c.first_ms for c in times.changes)),
                          _median([c.last_in_ms for c in times.changes]),
                          round(statistics.median(times.kernel_ms), 1) if times.kernel_ms else None,
                          python_side(t, changes, codes[label]),
                          round(sum(c.redraws for c in times.changes) / n, 1),
                          round(sum(c.bytes_in for c in times.changes) / n / 1024, 1),
                          round(sum(c.bytes_out for c in times.changes) / n / 1024, 1),
                          n, "yes" if median < TARGET_MS else "no")
        context.close()
        if blocked:
            table.notes.append(f"blocked {len(blocked)} request(s) off this machine, e.g. {blocked[0]}")
    table.notes.append(
        f"browser: from the input event (key, click, pick) to the lab's last figure redraw (a plotly redraw "
        "event or a change to a figure's SVG), "
        f"once the kernel is idle and nothing redrew for {SETTLE_MS} ms; first redraw: to the first one; "
        "last kernel message: to the last websocket frame from the kernel (what follows is the browser "
        "drawing alone). "
        "kernel: the lab's update inside the notebook's kernel; Python-side: the same update in a plain "
        "Python process with no browser attached. KB: websocket frames between the page and the kernel "
        f"during the change. Targets: median < {TARGET_MS:g} ms for every lab, < {LIGHTEST_TARGET_MS:g} ms for "
        "the lightest."
        + (f" 1-minute load average while measuring: {min(loads):.2f} to {max(loads):.2f}." if loads else "")
        + (" Quick mode: one change kind, twice; the figures mean nothing." if options.quick else ""))
    for label, by_change in medians.items():
        table.notes.append(verdict(label, by_change))
    return table


def verdict(label: str, medians: dict) -> str:
    """Whether the targets are met by one code version's medians ``{change: ms}``."""
    if not medians:
        return f"{label}: nothing measured."
    worst = max(medians, key=medians.get)
    lightest = min(medians, key=medians.get)
    every = "met" if medians[worst] < TARGET_MS else "NOT met"
    light = "met" if medians[lightest] < LIGHTEST_TARGET_MS else "NOT met"
    return (f"Targets, {label}: every lab's median < {TARGET_MS:g} ms {every} (slowest: {worst}, "
            f"{medians[worst]:.0f} ms); the lightest < {LIGHTEST_TARGET_MS:g} ms {light} ({lightest}, "
            f"{medians[lightest]:.0f} ms).")


def main(argv=None) -> int:
    """``python -m benchmarks.bench_browser [--baseline REV] [--only LAB ...] [--changes N]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="also measure microlab as it was at this git revision, alternating")
    parser.add_argument("--only", nargs="*", help="only these labs (compare, explorer, ...)")
    parser.add_argument("--changes", type=int, default=5, help="changes per lab (at least 5 counts)")
    args = parser.parse_args(argv)
    global TIMINGS
    if args.only:
        TIMINGS = [t for t in TIMINGS if t.name in args.only]
    print(run(Options(repeats=args.changes), baseline=args.baseline).to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
