"""Time what a learner waits for in a lab: from a control change to the figure repainted and settled.

A lab is measured in a notebook of its own (:func:`timing_notebook`): the course's one-line
call, with the lab's update method wrapped so the kernel records how long each update took
there. In JupyterLab, in headless Chromium, :func:`time_lab` then changes the lab's
default control (:class:`LabTiming`) several times, one change at a time, and for each
change records:

- ``t0``: the input event itself (the first ``keydown``, ``mousedown`` or ``change`` after
  the probe was armed, in the page's own clock);
- every redraw of a figure inside the lab: plotly's ``plotly_afterplot``, ``_restyle``,
  ``_relayout``, ``_update`` and ``_redraw`` events, and any change to a figure's SVG
  (a ``MutationObserver``: a restyle that only restyles fires no ``afterplot``);
- the bytes the kernel's websocket carried each way meanwhile (comm messages).

A change has *settled* when the figures show something new (:func:`figure_signature`),
the kernel is idle, and no figure has redrawn for :data:`SETTLE_MS`. Its wait is the
time from ``t0`` to the last redraw (``settled``); ``first`` is the time to the first
redraw. Afterwards the kernel's own update times are read back from the kernel.

This is a measurement for ``benchmarks/bench_browser.py``, never a timed assertion.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools.browser import BrowserError, wait_for
from tools.lab_checks import act, figure_signature
from tools.notebook_run import LAB_CLASS_PREFIX

#: A change has settled when no figure redrew for this long (ms) and the kernel is idle.
SETTLE_MS = 500

#: The kernel-side timing wrapper a timing notebook puts round the lab's ``refresh``.
_WRAP = """\
import time as _time
_microlab_update_seconds = []
_untimed = lab.METHOD
def _timed(*args, **kwargs):
    start = _time.perf_counter()
    try:
        return _untimed(*args, **kwargs)
    finally:
        _microlab_update_seconds.append(_time.perf_counter() - start)
lab.METHOD = _timed
lab"""


@dataclass(frozen=True)
class LabTiming:
    """How to time one lab: where it is, its call, and its default control change.

    - ``name``: the lab (its root widget has class ``microlab-lab-<name>``);
    - ``call``: the notebook's one-line call that builds it, e.g. ``labs.spof_lab()``;
    - ``action``: ``"slider"`` (ArrowRight on its handle), ``"button"`` (click) or
      ``"select"`` (the dropdown's next option, wrapping round);
    - ``control``: the control's description text (its visible label), which picks it
      among the lab's controls of that kind;
    - ``method``: the lab's method the change runs, timed in the kernel (``refresh``:
      re-simulate and redraw; the time scrubber's steps only redraw, in ``show_time``).
    """

    name: str
    call: str
    action: str
    control: str
    method: str = "refresh"

    def __post_init__(self):
        if self.action not in ("slider", "button", "select"):
            raise ValueError(f"LabTiming {self.name!r}: action {self.action!r} is not slider, button or select")


def timing_notebook(timing: LabTiming, path: str | Path) -> Path:
    """Write the notebook in which ``timing``'s lab is measured: import, build, wrap ``refresh``."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from microlab import labs"),
        nbformat.v4.new_code_cell(f"lab = {timing.call}\n" + _WRAP.replace("METHOD", timing.method)),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(path)
    nbformat.write(nb, path)
    return path


#: JS: start recording redraws of every figure under the lab's root and the next input event.
_INSTALL = """(sel) => {
  const root = document.querySelector(sel);
  if (!root) return false;
  const w = window.__microlabTiming = window.__microlabTiming || {armed: false, t0: null, redraws: []};
  const note = (e) => { if (w.t0 === null) return; w.redraws.push(performance.now()); if (e === 'plotly') w.events++; };
  // plotly's own events (a full replot fires afterplot; a restyle or relayout that only
  // restyles fires just its own event) ...
  root.querySelectorAll('.js-plotly-plot').forEach(gd => {
    if (gd.__microlabHooked || !gd.on) return;
    gd.__microlabHooked = true;
    for (const e of ['plotly_afterplot', 'plotly_restyle', 'plotly_relayout', 'plotly_update', 'plotly_redraw'])
      gd.on(e, () => note('plotly'));
  });
  // ... and any change to what a figure draws (its SVG), wherever it came from.
  if (!root.__microlabObserved) {
    root.__microlabObserved = true;
    new MutationObserver(records => {
      if (records.some(r => r.target.closest && r.target.closest('.js-plotly-plot'))) note('svg');
    }).observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  }
  if (!w.listening) {
    w.listening = true;
    const mark = () => { if (w.armed) { w.armed = false; w.t0 = performance.now(); } };
    for (const type of ['keydown', 'mousedown', 'change']) document.addEventListener(type, mark, true);
  }
  return root.querySelectorAll('.js-plotly-plot').length;
}"""

_ARM = "() => { const w = window.__microlabTiming; w.armed = true; w.t0 = null; w.redraws = []; w.events = 0; }"

#: JS: the state of the current change: input time, redraws, kernel status, what the figures show.
_STATE = """(a) => {
  const w = window.__microlabTiming;
  const root = document.querySelector(a.sel);
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {now: performance.now(), t0: w.t0, redraws: w.redraws.slice(), events: w.events,
          kernel: kernel ? kernel.status : 'none', sig: root ? (SIG)(root) : null};
}""".replace("SIG", figure_signature())


@dataclass
class Change:
    """One timed change: milliseconds from the input to the first and the last redraw, plotly's
    redraw events, and the websocket bytes and frames."""

    first_ms: float
    settled_ms: float
    redraws: int
    bytes_in: int
    bytes_out: int
    frames_in: int
    #: Milliseconds from the input to the last message from the kernel (after it, the wait is
    #: the browser's own drawing; ``None`` without a frame recorder).
    last_in_ms: float | None = None


@dataclass
class LabTimes:
    """Every change timed in one lab, and the kernel's own update times (ms)."""

    timing: LabTiming
    changes: list[Change] = field(default_factory=list)
    kernel_ms: list[float] = field(default_factory=list)


class _Frames:
    """Bytes and frames the page's websockets carried, with the monotonic time of each."""

    def __init__(self, page):
        self.received: list[tuple[float, int]] = []
        self.sent: list[tuple[float, int]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws):
        ws.on("framereceived", lambda payload: self.received.append((time.monotonic(), len(payload))))
        ws.on("framesent", lambda payload: self.sent.append((time.monotonic(), len(payload))))

    @staticmethod
    def between(frames, start, end):
        picked = [n for t, n in frames if start <= t <= end]
        return sum(picked), len(picked)


def _control(root, timing: LabTiming):
    kind = {"slider": ".widget-slider", "button": "button.widget-button", "select": ".widget-dropdown"}[timing.action]
    inner = {"slider": ".noUi-handle", "button": None, "select": "select"}[timing.action]
    found = root.locator(kind, has_text=timing.control)
    if found.count() == 0:
        raise BrowserError(f"lab {timing.name!r}: no {timing.action} labelled {timing.control!r}")
    control = found.first
    return control.locator(inner).first if inner else control


def time_lab(page, timing: LabTiming, changes: int = 5, timeout: float = 60.0, frames: _Frames | None = None) -> LabTimes:
    """Change ``timing``'s control ``changes`` times in the open notebook; time each change.

    The notebook (from :func:`timing_notebook`) must have run. Raises :class:`BrowserError`
    when the lab or its control is missing, or a change never shows in the figures.
    """
    sel = f".{LAB_CLASS_PREFIX}{timing.name}"
    wait_for(page, _INSTALL, arg=sel, timeout=timeout, what=f"lab {timing.name!r} to draw its figures")
    root = page.locator(sel).first
    target = _control(root, timing)
    target.scroll_into_view_if_needed(timeout=10_000)
    out = LabTimes(timing)
    for i in range(changes):
        page.evaluate(_INSTALL, sel)  # figures drawn since (a new trace keeps its div)
        before = page.evaluate(_STATE, {"sel": sel})["sig"]
        page.evaluate(_ARM)
        start = time.monotonic()
        act(target, timing.action)
        deadline = start + timeout
        while True:
            s = page.evaluate(_STATE, {"sel": sel})
            quiet = s["redraws"] and s["now"] - s["redraws"][-1] >= SETTLE_MS
            if s["t0"] is not None and s["sig"] != before and s["kernel"] == "idle" and quiet:
                break
            if time.monotonic() > deadline:
                raise BrowserError(f"lab {timing.name!r}, change {i + 1}: the figures did not repaint and settle "
                                   f"within {timeout:g} s (kernel {s['kernel']}, {len(s['redraws'])} redraws, "
                                   f"input seen: {s['t0'] is not None})")
            time.sleep(0.05)
        end = time.monotonic()
        t0 = s["t0"]
        bytes_in, frames_in = (frames.between(frames.received, start, end) if frames else (0, 0))
        bytes_out, _ = (frames.between(frames.sent, start, end) if frames else (0, 0))
        arrivals = [at for at, _n in frames.received if start <= at <= end] if frames else []
        out.changes.append(Change(first_ms=s["redraws"][0] - t0, settled_ms=s["redraws"][-1] - t0,
                                  redraws=s["events"], bytes_in=bytes_in, bytes_out=bytes_out,
                                  frames_in=frames_in,
                                  last_in_ms=(arrivals[-1] - start) * 1000 if arrivals else None))
        page.wait_for_timeout(300)   # let the page breathe: hover states, late widget messages
    out.kernel_ms = [x * 1000 for x in kernel_value(page, "_microlab_update_seconds")][-changes:]
    return out


_EXECUTE = """async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  let text = '';
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
  await future.done;
  return text;
}"""


def kernel_value(page, name: str):
    """The JSON value of variable ``name`` in the open notebook's kernel."""
    text = page.evaluate(_EXECUTE, f"import json as _json; print(_json.dumps({name}))")
    try:
        return json.loads(text)
    except ValueError:
        raise BrowserError(f"reading {name} from the kernel gave {text[:200]!r}") from None


def frames_recorder(page) -> _Frames:
    """Start recording the page's websocket traffic (call before the notebook opens)."""
    return _Frames(page)
