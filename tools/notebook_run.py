"""Run a notebook's cells in JupyterLab, in headless Chromium, and judge what rendered.

A run (:func:`run_all_cells`) clears the saved outputs, executes
``notebook:run-all-cells`` (JupyterLab must expose its app object, which
:class:`tools.browser.JupyterLab` does), and is finished when every non-empty code cell
has an execution count and the kernel is idle, or when a cell failed (the kernel then
skips the rest). It then waits, with a timeout, for every plotly figure and widget to
draw, and reports in words whatever went wrong (:class:`NotebookRun`). Everything is read
from JupyterLab's notebook model, not guessed from the page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.browser import BrowserError, JupyterLab, wait_for

#: CSS class prefix of a lab's root widget: ``lab.add_class(LAB_CLASS_PREFIX + "arrows")``.
LAB_CLASS_PREFIX = "microlab-lab-"


#: JS: a summary of the current notebook in JupyterLab, read from its model (not from
#: the DOM), plus any open dialog (a "Select kernel" or "kernel died" dialog blocks a run).
_NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const dialog = document.querySelector('.jp-Dialog');
  const state = {ready: false, dialog: dialog ? dialog.innerText.slice(0, 500) : null};
  if (!panel || !panel.content || !panel.content.widgets || !panel.sessionContext) return state;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  state.ready = true;
  state.path = panel.context.path;
  state.kernel = kernel ? kernel.status : 'none';
  state.cells = panel.content.widgets.map((cell, index) => {
    const model = cell.model;
    const out = {index, type: model.type, source: model.sharedModel.getSource()};
    if (model.type === 'code') {
      out.count = model.executionCount;
      out.outputs = model.outputs.toJSON();
    }
    return out;
  });
  return state;
}"""

#: JS, polled while a notebook opens or runs, so kept light (no output is serialised):
#: the kernel's status, the non-empty code cells without an execution count, whether a
#: cell failed, and any open dialog (a "Select kernel" or "kernel died" dialog blocks a run).
_PROGRESS = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const dialog = document.querySelector('.jp-Dialog');
  const p = {ready: false, dialog: dialog ? dialog.innerText.slice(0, 500) : null};
  if (!panel || !panel.content || !panel.content.widgets || !panel.sessionContext) return p;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  p.ready = true;
  p.kernel = kernel ? kernel.status : 'none';
  p.pending = [];
  p.code = 0;
  p.failed = false;
  p.outputs = 0;
  panel.content.widgets.forEach((cell, index) => {
    const m = cell.model;
    if (m.type !== 'code') return;
    p.outputs += m.outputs.length;
    if (!m.sharedModel.getSource().trim()) return;
    p.code++;
    if (m.executionCount === null) p.pending.push(index + 1);
    for (let i = 0; i < m.outputs.length; i++) if (m.outputs.get(i).type === 'error') p.failed = true;
  });
  return p;
}"""

#: JS: the run of all cells is over: an idle kernel and either every non-empty code cell
#: counted, or a failed cell (the kernel then skips the remaining ones).
_RUN_FINISHED = """(progress) => {
  const p = (new Function('return ' + progress))()();
  if (p.dialog) return {dialog: p.dialog};
  if (!p.ready || p.kernel !== 'idle') return false;
  return (p.failed || !p.pending.length) ? {done: true} : false;
}"""


@dataclass
class CellOutcome:
    """What one code cell produced in the browser.

    ``errors`` holds ``"EName: value"`` for each error output; ``plotly`` and
    ``widgets`` count the outputs of those kinds; ``classes`` lists the
    ``microlab-lab-*`` classes rendered in the cell.
    """

    index: int
    source: str
    count: int | None
    errors: list[str] = field(default_factory=list)
    plotly: int = 0
    widgets: int = 0
    classes: list[str] = field(default_factory=list)


@dataclass
class NotebookRun:
    """The outcome of running a notebook's cells in JupyterLab.

    ``problems`` lists, in words, everything that went wrong (errors, cells that never
    ran, figures or widgets that did not render); empty means the notebook is healthy.
    """

    name: str
    cells: list[CellOutcome]
    problems: list[str]
    seconds: float

    @property
    def labs(self) -> list[str]:
        """The ``microlab-lab-*`` classes of the labs that rendered, in cell order."""
        return [c for cell in self.cells for c in cell.classes]


#: JS: for each code cell (by index), how its outputs rendered: plotly graphs with a
#: non-zero size, widget outputs with content, widget error texts, lab classes.
_RENDERED = """(prefix) => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((cell, index) => {
    if (cell.model.type !== 'code') return null;
    const node = cell.node;
    const sized = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const plots = [...node.querySelectorAll('.js-plotly-plot')];
    // A widget view is an output whose own child is a widget (an Output widget nests
    // further output areas, which are not widget views themselves).
    const widgetOutputs = [...node.querySelectorAll('.jp-OutputArea-output')].filter(o =>
        [...o.children].some(ch => ch.classList.contains('jupyter-widgets')));
    const classes = new Set();
    node.querySelectorAll('[class*="' + prefix + '"]').forEach(el =>
        el.classList.forEach(c => { if (c.startsWith(prefix)) classes.add(c); }));
    return {
      index,
      plots: plots.length,
      sizedPlots: plots.filter(sized).length,
      widgetOutputs: widgetOutputs.length,
      emptyWidgets: widgetOutputs.filter(w => !sized(w)).length,
      // A widget that holds figures must draw at least one (others may sit in a hidden tab).
      blankFigureWidgets: widgetOutputs.filter(w => {
        const p = [...w.querySelectorAll('.js-plotly-plot')];
        return p.length && !p.some(sized); }).length,
      widgetErrors: [...node.querySelectorAll('.jp-OutputArea-output')]
          .map(o => o.innerText).filter(t => /Error displaying widget|Failed to (load|render)/.test(t)),
      classes: [...classes].sort(),
    };
  });
}"""

_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 60.0) -> None:
    """Open notebook ``name`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), timeout=timeout * 1000)
    state = wait_for(page, "(fn) => { const p = (new Function('return ' + fn))()(); "
                           "return p.dialog ? {dialog: p.dialog} : (p.ready && p.kernel === 'idle' && p); }",
                     arg=_PROGRESS, timeout=timeout, what=f"notebook {name!r} to open with an idle kernel",
                     seen=_PROGRESS)
    if state.get("dialog"):
        raise BrowserError(f"opening {name!r}, JupyterLab showed a dialog: {state['dialog']!r} "
                           "(does the notebook's metadata name the python3 kernel?)")


def notebook_state(page) -> dict:
    """The current notebook's cells, execution counts and outputs, from JupyterLab's model."""
    return page.evaluate(_NOTEBOOK_STATE)


def start_run(page, name: str = "the notebook") -> float:
    """Clear the open notebook's saved outputs and start running all its cells; return the start time.

    Returns at once: the kernel works while the caller does something else (opens the
    next notebook, say); :func:`finish_run` waits for the end.
    """
    start = time.monotonic()
    # Counts or errors saved in the file would make a run look finished before it starts.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    wait_for(page, "(fn) => { const p = (new Function('return ' + fn))()();"
                   " return p.ready && !p.outputs && p.pending.length === p.code; }", arg=_PROGRESS, timeout=10,
             what=f"the saved outputs of {name!r} to clear", seen=_PROGRESS)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return start


def run_all_cells(page, name: str = "the notebook", timeout: float = 180.0,
                  render_timeout: float = 30.0) -> NotebookRun:
    """Run every cell of the open notebook; wait for the run to end and outputs to render.

    Returns a :class:`NotebookRun` whose ``problems`` name each failed cell (with its
    error), each cell that never ran, and each figure or widget that did not render.
    """
    return finish_run(page, name, start_run(page, name), timeout=timeout, render_timeout=render_timeout)


def finish_run(page, name: str, start: float, timeout: float = 180.0, render_timeout: float = 30.0) -> NotebookRun:
    """Wait (at most ``timeout`` s) for a run begun by :func:`start_run`, then judge it (see :func:`run_all_cells`)."""
    finished = wait_for(page, _RUN_FINISHED, arg=_PROGRESS, timeout=timeout,
                        what=f"all cells of {name!r} to run (cells counted from 1)", seen=_PROGRESS)
    if finished.get("dialog"):
        raise BrowserError(f"running {name!r}, JupyterLab showed a dialog: {finished['dialog']!r}")
    state = notebook_state(page)
    cells = []
    problems = []
    for c in state["cells"]:
        if c["type"] != "code":
            continue
        outcome = CellOutcome(index=c["index"], source=c["source"], count=c["count"])
        for o in c["outputs"]:
            if o["output_type"] == "error":
                outcome.errors.append(f"{o.get('ename')}: {o.get('evalue')}")
            data = o.get("data") or {}
            outcome.plotly += _PLOTLY_MIME in data
            outcome.widgets += _WIDGET_MIME in data
        for e in outcome.errors:
            problems.append(f"cell {c['index'] + 1} raised {e}")
        if c["source"].strip() and c["count"] is None and not any(x.errors for x in cells + [outcome]):
            problems.append(f"cell {c['index'] + 1} never ran")
        cells.append(outcome)
    # Figures and widgets render after the kernel answered; give them time, then judge.
    expected = {c.index: c for c in cells}

    def render_problems():
        found = []
        for r in page.evaluate(_RENDERED, LAB_CLASS_PREFIX):
            if r is None:
                continue
            cell = expected[r["index"]]
            cell.classes = r["classes"]
            where = f"cell {r['index'] + 1}"
            if r["sizedPlots"] < cell.plotly:
                found.append(f"{where}: {cell.plotly} plotly figure(s) in its outputs, "
                             f"{r['sizedPlots']} drawn with a non-zero size")
            if r["widgetOutputs"] < cell.widgets or r["emptyWidgets"]:
                found.append(f"{where}: {cell.widgets} widget output(s), {r['widgetOutputs']} rendered, "
                             f"{r['emptyWidgets']} of them empty")
            if r["blankFigureWidgets"]:
                found.append(f"{where}: {r['blankFigureWidgets']} widget(s) hold plotly figures none of which drew")
            for text in r["widgetErrors"]:
                found.append(f"{where}: widget error {text[:200]!r}")
        return found

    deadline = time.monotonic() + render_timeout
    rendered = render_problems()
    while rendered and time.monotonic() < deadline:
        time.sleep(0.3)
        rendered = render_problems()
    problems += rendered
    return NotebookRun(name=name, cells=cells, problems=problems, seconds=time.monotonic() - start)


#: JS: how much taller than the notebook panel's visible area (the scroller that clips
#: every cell) this cell is, in CSS pixels; 0 when the cell fits.
_CELL_OVERFLOW = """(cell) => {
  let scroller = cell.parentElement;
  while (scroller && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowY)) scroller = scroller.parentElement;
  if (!scroller) return 0;
  return Math.max(0, Math.ceil(cell.getBoundingClientRect().height - scroller.clientHeight));
}"""

#: Chromium cannot paint a page taller than this (its largest texture is 16384 px).
MAX_VIEWPORT_HEIGHT = 16000


def screenshot_cell(page, cell, path: str | Path, margin: int = 24) -> Path:
    """Save a PNG of one cell (a playwright locator), whole however tall it is.

    JupyterLab's notebook panel scrolls inside the page, so a cell taller than the panel's
    visible area is clipped by it, and an element screenshot would show the panel's grey
    background below the clip. Such a cell gets a taller browser window for its picture
    (the panel grows with the window; the width, so the figures' layout, is unchanged),
    then the window is put back. Returns ``path``.
    """
    path = Path(path)
    overflow = cell.evaluate(_CELL_OVERFLOW)
    viewport = page.viewport_size
    if overflow and viewport:
        height = min(MAX_VIEWPORT_HEIGHT, viewport["height"] + overflow + margin)
        page.set_viewport_size({"width": viewport["width"], "height": height})
        try:
            # Lumino lays the panel out again on the window's resize, a frame or two later.
            deadline = time.monotonic() + 10
            while cell.evaluate(_CELL_OVERFLOW) and height < MAX_VIEWPORT_HEIGHT:
                if time.monotonic() > deadline:
                    raise BrowserError(f"the notebook panel did not grow to {path.name}'s cell height "
                                       f"({cell.evaluate(_CELL_OVERFLOW)} px still clipped)")
                time.sleep(0.05)
            cell.evaluate("(cell) => cell.scrollIntoView({block: 'start'})")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            cell.screenshot(path=str(path), timeout=20_000)
        finally:
            page.set_viewport_size(viewport)
        return path
    cell.scroll_into_view_if_needed(timeout=10_000)
    cell.screenshot(path=str(path), timeout=20_000)
    return path


def screenshot_cells(page, outdir: str | Path, prefix: str, only_rich: bool = False) -> list[Path]:
    """Save a PNG of each code cell with outputs (the cell element, not the page), whole
    however tall it is (:func:`screenshot_cell`).

    Files are ``<outdir>/<prefix>-cell<NN>.png``; with ``only_rich`` only cells showing a
    figure or a widget are taken. Returns the paths written.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    # The status bar floats over the bottom of a tall cell; a picture of a cell needs none.
    page.add_style_tag(content="#jp-main-statusbar { display: none !important; }")
    cells = page.locator(".jp-Notebook .jp-Cell")
    paths = []
    for i in range(cells.count()):
        cell = cells.nth(i)
        if not cell.locator(".jp-OutputArea-output").count():
            continue
        if only_rich and not cell.locator(".js-plotly-plot, .jupyter-widgets").count():
            continue
        paths.append(screenshot_cell(page, cell, outdir / f"{prefix}-cell{i + 1:02d}.png"))
    return paths
