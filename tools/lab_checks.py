"""Act on a lab's widgets in the browser and check that its figure changed.

A lab is found by its root widget's CSS class ``microlab-lab-<name>`` (the lab's code
calls ``lab.add_class("microlab-lab-<name>")``), by any CSS selector, or by a marker in
its cell's source. A :class:`LabCheck` (one row of a test's table) moves a slider, clicks
a button, flips a toggle or picks a dropdown's next option, then reads the plotly figures
before and after with a JavaScript probe: :func:`figure_title`, :func:`trace_count`,
:func:`point_count`, :func:`arrow_count`, :func:`figure_signature`, or any function of the
lab's root element. Works in JupyterLab and in Voila (the ``cell:`` marker needs
JupyterLab).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from tools.browser import BrowserError, wait_for
from tools.notebook_run import LAB_CLASS_PREFIX


def _graph(index: int) -> str:
    return (f"const gd = root.querySelectorAll('.js-plotly-plot')[{index}];"
            f" if (!gd || !gd._fullLayout) return null;")


def figure_title(figure: int = 0) -> str:
    """Probe: the title text of the ``figure``-th plotly figure inside the lab."""
    return f"(root) => {{ {_graph(figure)} return gd._fullLayout.title ? gd._fullLayout.title.text : ''; }}"


def trace_count(figure: int = 0) -> str:
    """Probe: how many traces the ``figure``-th plotly figure inside the lab draws."""
    return f"(root) => {{ {_graph(figure)} return gd.data.length; }}"


def point_count(figure: int = 0, trace: int = 0) -> str:
    """Probe: how many points (x values) trace ``trace`` of the ``figure``-th figure has."""
    return (f"(root) => {{ {_graph(figure)} const t = gd.data[{trace}];"
            f" return t && t.x ? t.x.length : (t && t.y ? t.y.length : 0); }}")


def arrow_count(figure: int = 0) -> str:
    """Probe: how many arrows (annotations with ``showarrow``) the ``figure``-th figure shows."""
    return (f"(root) => {{ {_graph(figure)}"
            f" return (gd._fullLayout.annotations || []).filter(a => a.showarrow).length; }}")


def figure_signature() -> str:
    """Probe: a short hash of everything the lab's plotly figures show.

    It covers every figure inside the lab: titles, each trace's data (x, y, z, text,
    marker colours), annotations and shapes. Use it when a control changes the data
    but not a title or a count (a moving marker, a re-simulated run).
    """
    return """(root) => {
  const graphs = [...root.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullLayout);
  if (!graphs.length) return null;
  const text = JSON.stringify(graphs.map(gd => [
    gd._fullLayout.title ? gd._fullLayout.title.text : '',
    gd.data.map(t => [t.x, t.y, t.z, t.text, t.marker && t.marker.color]),
    (gd._fullLayout.annotations || []).map(a => [a.x, a.y, a.text]),
    (gd._fullLayout.shapes || []).map(s => [s.x0, s.y0, s.x1, s.y1])]));
  let h = 5381;
  for (let i = 0; i < text.length; i++) h = ((h * 33) ^ text.charCodeAt(i)) >>> 0;
  return graphs.length + ' figure(s), ' + text.length + ' chars, #' + h.toString(16);
}"""


#: The element each action acts on inside the lab, unless a LabCheck names its own target.
ACTION_TARGETS = {
    "slider": ".widget-slider .noUi-handle",
    "button": "button.widget-button",
    "toggle": ".widget-toggle-button, .widget-checkbox input",
    "select": ".widget-dropdown select",
}


@dataclass(frozen=True)
class LabCheck:
    """One row of the lab-interaction table: act on a lab, expect its figure to change.

    - ``notebook``: the notebook's file name (in ``notebooks/``, or the server's root);
    - ``lab``: where the lab is: a lab name (its root widget has the class
      ``microlab-lab-<lab>``), a CSS selector (starting with ``.``, ``#`` or ``[``), or
      ``"cell:<text>"`` for the code cell whose source contains ``<text>``;
    - ``action``: ``"slider"`` (focus the handle, press ArrowRight ``times`` times),
      ``"button"`` (click it ``times`` times), ``"toggle"`` (click it) or ``"select"``
      (pick the next option of a dropdown, ``times`` times, wrapping round);
    - ``probe``: a JavaScript function of the lab's root element whose value must change,
      usually from :func:`figure_title`, :func:`trace_count`, :func:`point_count`,
      :func:`arrow_count` or :func:`figure_signature`;
    - ``target``: a CSS selector inside the lab when the default for the action
      (:data:`ACTION_TARGETS`) is ambiguous; ``nth`` picks among several matches;
    - ``expect``: optionally the exact value the probe must read afterwards.
    """

    notebook: str
    lab: str
    action: str
    probe: str
    target: str | None = None
    nth: int = 0
    times: int = 1
    expect: object = None

    def __post_init__(self):
        if self.action not in ACTION_TARGETS:
            raise ValueError(f"LabCheck for {self.notebook!r}: action {self.action!r} is not one of "
                             f"{sorted(ACTION_TARGETS)}")
        if not self.probe.lstrip().startswith("("):
            raise ValueError(f"LabCheck for {self.notebook!r}: probe must be a JavaScript function of the lab's "
                             f"root element, e.g. tools.lab_checks.figure_title(); got {self.probe[:60]!r}")
        if self.times < 1:
            raise ValueError(f"LabCheck for {self.notebook!r}: times must be at least 1, got {self.times}")

    @property
    def id(self) -> str:
        """A short name for test ids and screenshot files: ``<notebook>-<lab>-<action>``."""
        stem = Path(self.notebook).stem
        lab = re.sub(r"[^A-Za-z0-9]+", "_", self.lab.removeprefix(LAB_CLASS_PREFIX)).strip("_")
        return f"{stem}-{lab}-{self.action}" + (f"{self.nth}" if self.nth else "")

    def selector(self) -> str:
        """CSS selector of the lab's root element in JupyterLab or Voila."""
        if self.lab.startswith("cell:"):
            return f"[data-microlab-marker={json.dumps(self.lab[5:])}]"
        if self.lab[:1] in ".#[":
            return self.lab
        return f".{LAB_CLASS_PREFIX}{self.lab}"


#: JS: mark the code cell whose source contains a marker, so a CSS selector can find it.
_MARK_CELL = """(marker) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content) return 0;
  let n = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type === 'code' && cell.model.sharedModel.getSource().includes(marker)) {
      cell.node.setAttribute('data-microlab-marker', marker); n++;
    }
  }
  return n;
}"""


@dataclass
class LabOutcome:
    """What a :class:`LabCheck` saw: the probe before and after, and the screenshots."""

    check: LabCheck
    before: object
    after: object
    screenshots: list[Path]


def run_lab_check(page, check: LabCheck, timeout: float = 20.0,
                  screenshots: str | Path | None = None) -> LabOutcome:
    """Act on a lab as :class:`LabCheck` says and wait until its probe reads a new value.

    Raises :class:`BrowserError` when the lab, its control or its figure is missing, or
    when the probe still reads the old value (or not ``expect``) after ``timeout`` s.
    With ``screenshots`` (a folder), saves the lab before and after.
    """
    page.bring_to_front()
    if check.lab.startswith("cell:"):
        if not page.evaluate(_MARK_CELL, check.lab[5:]):
            raise BrowserError(f"{check.id}: no code cell's source contains {check.lab[5:]!r}")
    root = page.locator(check.selector())
    if root.count() == 0:
        raise BrowserError(f"{check.id}: no element matches {check.selector()!r}; a lab's root widget needs "
                           f"`lab.add_class('{LAB_CLASS_PREFIX}<name>')`")
    root = root.first
    target_css = check.target or ACTION_TARGETS[check.action]
    targets = root.locator(target_css)
    if targets.count() <= check.nth:
        raise BrowserError(f"{check.id}: found {targets.count()} element(s) matching {target_css!r} inside "
                           f"{check.selector()!r}, need #{check.nth}")
    target = targets.nth(check.nth)
    read = (f"(sel) => {{ const r = document.querySelector(sel); if (!r) return null;"
            f" const v = ({check.probe})(r);"
            f" return v === null || v === undefined ? null : {{v, s: JSON.stringify(v)}}; }}")
    # A lab may still be drawing its first figure: act only once the probe holds still
    # (two reads half a second apart agree), so "it changed" means the action changed it.
    deadline = time.monotonic() + timeout
    before = wait_for(page, read, arg=check.selector(), timeout=timeout,
                      what=f"{check.id}: the probe to read the lab's figure")
    while True:
        time.sleep(0.5)
        again = page.evaluate(read, check.selector())
        if again == before or time.monotonic() > deadline:
            break
        before = again
    if again != before:
        raise BrowserError(f"{check.id}: the lab's figure kept changing for {timeout:g} s before any action "
                           f"(last read {again and again['v']!r})")
    before, before_json = before["v"], before["s"]
    shots = []
    outdir = Path(screenshots) if screenshots else None
    if outdir:
        outdir.mkdir(parents=True, exist_ok=True)
        root.scroll_into_view_if_needed(timeout=10_000)
        shots.append(outdir / f"{check.id}-before.png")
        root.screenshot(path=str(shots[-1]), timeout=20_000)
    target.scroll_into_view_if_needed(timeout=10_000)
    for _ in range(check.times):
        act(target, check.action)
    changed = ("(a) => { const r = document.querySelector(a.sel); if (!r) return false;"
               f" const v = ({check.probe})(r);"
               " const s = JSON.stringify(v);"
               " if (a.expect !== undefined) return s === a.expect ? {v} : false;"
               " return (v !== null && v !== undefined && s !== a.before) ? {v} : false; }")
    arg = {"sel": check.selector(), "before": before_json}
    if check.expect is not None:
        arg["expect"] = json.dumps(check.expect, separators=(",", ":"))
    wanted = f"the probe to read {check.expect!r}" if check.expect is not None else f"the probe to change from {before!r}"
    after = wait_for(page, changed, arg=arg, timeout=timeout, what=f"{check.id}: {wanted} after the {check.action}",
                     seen=f"(a) => {{ const r = document.querySelector(a.sel); return r && ({check.probe})(r); }}")["v"]
    if outdir:
        shots.append(outdir / f"{check.id}-after.png")
        root.screenshot(path=str(shots[-1]), timeout=20_000)
    return LabOutcome(check=check, before=before, after=after, screenshots=shots)


#: JS: how each plotly figure inside a lab is laid out in the page, for the layout tests.
#: Per figure: its width and the width of the output area it sits in; the title's and the
#: subtitle's boxes (top and bottom, in page pixels); how many rows its legend takes; every text element (tick labels,
#: legend entries, annotations, titles) that reaches outside the figure's own box, and
#: every annotation's text, and every text shortened with an ellipsis; plus, for the lab,
#: every control whose label is cut off.
LAYOUT_REPORT = """(root) => {
  const box = el => { const r = el.getBoundingClientRect();
                      return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
  const out = [];
  for (const gd of root.querySelectorAll('.js-plotly-plot')) {
    if (!gd._fullLayout) continue;
    const r = box(gd);
    if (r.width === 0) continue;             // hidden (a choice not shown)
    const area = gd.closest('.jp-OutputArea-output, .jp-OutputArea, .output_subarea, body');
    const title = gd.querySelector('.gtitle');
    const sub = gd.querySelector('.gtitle-subtitle');
    const outside = [], cut = [];
    for (const t of gd.querySelectorAll('text')) {
      const b = box(t);
      if (!t.textContent.trim() || b.width === 0) continue;
      if (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1)
        outside.push(t.textContent.slice(0, 60));
      // A label shortened with an ellipsis ("Conducto…") reads as cut off, too.
      if (t.textContent.trim().endsWith('…')) cut.push(t.textContent.slice(0, 60));
    }
    // The legend's rows: its entries' distinct tops (a legend wrapped onto two rows squeezed the plot).
    const rows = new Set([...gd.querySelectorAll('.legend .traces')].map(e => Math.round(box(e).top / 4)));
    out.push({width: r.width, areaWidth: area ? box(area).width : null, legendRows: rows.size,
              title: title && title.textContent ? {text: title.textContent, ...box(title)} : null,
              subtitle: sub && sub.textContent ? {text: sub.textContent, ...box(sub)} : null,
              outside, cut, annotations: (gd._fullLayout.annotations || []).map(a => a.text),
              xrange: gd._fullLayout.xaxis ? gd._fullLayout.xaxis.range : null});
  }
  const clipped = [];
  for (const label of root.querySelectorAll('.widget-label')) {
    if (label.offsetParent && label.scrollWidth > label.clientWidth + 1) clipped.push(label.textContent);
  }
  // Buttons, toggle buttons and other controls whose own text is cut off at their edge.
  for (const el of root.querySelectorAll('button, .widget-toggle-button, select')) {
    if (el.closest('.js-plotly-plot') || !el.offsetParent) continue;
    if (el.scrollWidth > el.clientWidth + 1) clipped.push(el.textContent.trim().slice(0, 60));
  }
  // Sliders whose track is too short to drag (a long description left one 40 px).
  const narrow = [];
  for (const sl of root.querySelectorAll('.widget-slider')) {
    const track = sl.querySelector('.noUi-target');
    if (!sl.offsetParent || !track) continue;
    const w = track.getBoundingClientRect().width;
    if (w < MIN_TRACK) narrow.push(`${(sl.querySelector('.widget-label') || {}).textContent}: ${Math.round(w)} px`);
  }
  return {figures: out, clippedLabels: clipped, narrowSliders: narrow};
}"""


#: The shortest slider track (px) a learner can drag with any precision.
MIN_TRACK = 120

LAYOUT_REPORT = LAYOUT_REPORT.replace("MIN_TRACK", str(MIN_TRACK))


def layout_report(page, selector: str) -> dict:
    """:data:`LAYOUT_REPORT` of the lab whose root matches ``selector`` (``None`` if absent)."""
    return page.evaluate(f"(sel) => {{ const r = document.querySelector(sel); return r && ({LAYOUT_REPORT})(r); }}",
                         selector)


def act(target, action: str) -> None:
    """Change a lab's control once, as a learner would: a slider one step right, a select to
    its next option, a button clicked (the browser checks and the lab timings both do this)."""
    if action == "slider":
        target.focus()
        target.press("ArrowRight")
    elif action == "select":
        count, current = target.evaluate("(s) => [s.options.length, s.selectedIndex]")
        target.select_option(index=(current + 1) % count, timeout=10_000)
    else:
        target.click(timeout=10_000)


def settled_layout(page, selector: str, timeout: float = 15.0, every: float = 0.4) -> dict:
    """:func:`layout_report` once it holds still (two reads ``every`` s apart agree), or the
    last read after ``timeout`` s: a lab's figures are redrawn once it reports its width."""
    deadline = time.monotonic() + timeout
    report = layout_report(page, selector)
    while time.monotonic() < deadline:
        time.sleep(every)
        again = layout_report(page, selector)
        if again == report:
            break
        report = again
    return report


#: Roles of the controls a learner operates (in Chromium's accessibility tree).
CONTROL_ROLES = ("button", "checkbox", "combobox", "listbox", "radio", "slider", "spinbutton", "switch", "textbox")


def unnamed_controls(page, selector: str) -> list[str]:
    """The controls inside the lab that a screen reader would announce without a name, as
    lines of Chromium's accessibility tree (``- slider``), plotly's own toolbar aside."""
    tree = page.locator(selector).first.aria_snapshot()
    found = []
    for line in tree.splitlines():
        item = line.strip().removeprefix("- ").strip("'")
        role, _, rest = item.partition(" ")
        role = role.rstrip(":")
        if role not in CONTROL_ROLES:
            continue
        name = rest.split('"')[1] if rest.startswith('"') else ""
        if not name.strip():
            found.append(item[:80])
    return found
