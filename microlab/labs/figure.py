"""A lab's figure widget: plotly's FigureWidget without the round trips a lab never reads.

After every update it draws, plotly's browser side sends the kernel the properties plotly.js
filled in by default: ``_js2py_traceDeltas``, every trace's computed defaults (20-30 kB for
the time scrubber's topology). The kernel then (1) echoes that message back to the browser
(ipywidgets 8 echoes every change a browser makes, so that other views of the widget hear
of it), and (2) merges the defaults into the Python figure, 10-60 ms of kernel time during
which the next update waits. Labs never read those defaults: they compare and send the
figures they built (:func:`microlab.labs.base.replace_figure`), and in tests, with no
browser, the defaults never arrive at all. :class:`LabFigure` therefore turns the echo off
for the browser-to-kernel messages and only acknowledges the deltas, so a lab behaves in
JupyterLab exactly as it does in a test. Clicks, hovers and selections in the browser still
reach Python (``_js2py_pointsCallback``, ``_js2py_restyle`` ... keep their handlers).

Plotly's widget code (a 5 MB JavaScript module) would travel with every figure widget, and
the browser would compile it once per figure. anywidget gives each widget 2 s to load its
code and drops every message of a widget that took longer, for good (its figure stays empty
or stops answering): on a busy machine a lab of three figures compiled 15 MB at once and
lost figures. A :class:`LabFigure` therefore carries a loader of a few lines; the module
itself travels once per kernel, in one :class:`PlotlyCode` widget, and the browser compiles
it once per page (:data:`LOADER`).
"""

from __future__ import annotations

import hashlib
from copy import deepcopy
from pathlib import Path

import anywidget
import plotly
import plotly.graph_objects as go
from plotly.serializers import custom_serializers
from traitlets import Dict, Unicode, default, observe

#: Plotly's own widget module (what ``go.FigureWidget`` sends as its ``_esm``).
PLOTLY_WIDGET_JS = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"

#: The ``_esm`` of every LabFigure: plotly's widget, compiled once per page from the source
#: the :class:`PlotlyCode` widget carries (keyed by its digest, so a kernel restarted with
#: another plotly gets its own), then initialised and rendered exactly as plotly's own.
#: ``initialize`` returns at once and keeps the edits that come meanwhile (see inside).
LOADER = """
const compiled = (globalThis.__microlabPlotly ??= new Map());

async function codeModel(manager, id) {
  // The code widget opened its comm before any figure did; on a page reload the models come
  // back together, so give it a moment to be registered.
  for (let i = 0; ; i++) {
    try { return await manager.get_model(id); }
    catch (e) { if (i >= 100) throw e; await new Promise(r => setTimeout(r, 100)); }
  }
}

function plotlyModule(model) {
  const digest = model.get('_plotly_digest');
  if (!compiled.has(digest)) {
    const load = codeModel(model.widget_manager, model.get('_plotly_code').slice('IPY_MODEL_'.length))
      .then(code => {
        const url = URL.createObjectURL(new Blob([code.get('source')], {type: 'text/javascript'}));
        return import(url).finally(() => URL.revokeObjectURL(url));
      });
    load.catch(() => compiled.delete(digest));   // a later figure tries again
    compiled.set(digest, load);
  }
  return compiled.get(digest);
}

// The kernel's edit messages to a figure (plotly's FigureModel listens to their changes).
const EDITS = ['_py2js_addTraces', '_py2js_deleteTraces', '_py2js_moveTraces', '_py2js_restyle',
               '_py2js_relayout', '_py2js_update', '_py2js_animate', '_py2js_removeLayoutProps',
               '_py2js_removeTraceProps'];

export default () => {
  let loaded;
  return {
    // Returns at once: anywidget drops every message of a widget whose initialize takes over
    // 2 s. Edits that arrive while plotly's module still compiles are kept, then replayed to
    // plotly's own model code, in order, once it listens.
    initialize(context) {
      const {model} = context;
      const early = [], keep = {};
      for (const name of EDITS) {
        keep[name] = () => { const v = model.get(name); if (v !== null && v !== undefined) early.push([name, v]); };
        model.on('change:' + name, keep[name]);
      }
      const listeners = new Map();
      let replaying = null;
      const proxy = {...model,
        get: (name) => (replaying && replaying[0] === name ? replaying[1] : model.get(name)),
        on: (event, callback) => {
          if (!listeners.has(event)) listeners.set(event, []);
          listeners.get(event).push(callback);
          model.on(event, callback);
        }};
      loaded = plotlyModule(model).then(mod => {
        const plotly = mod.default();
        plotly.initialize({...context, model: proxy});
        for (const name of EDITS) model.off('change:' + name, keep[name]);
        for (const edit of early) {
          replaying = edit;
          try { for (const callback of listeners.get('change:' + edit[0]) || []) callback(); }
          finally { replaying = null; }
        }
        return plotly;
      });
    },
    async render(context) {
      const plotly = await loaded;
      return plotly.render(context);
    },
  };
};
"""


class PlotlyCode(anywidget.AnyWidget):
    """Carries plotly's widget module to the browser once per kernel, for every LabFigure.

    Never displayed: figures find it by its model id (see :data:`LOADER`).
    """

    _esm = "export default {};"
    source = Unicode().tag(sync=True)


_code: PlotlyCode | None = None


def plotly_code() -> PlotlyCode:
    """The kernel's one :class:`PlotlyCode` widget (made again if something closed it)."""
    global _code
    if _code is None or _code.comm is None:
        source = PLOTLY_WIDGET_JS.read_text(encoding="utf-8")
        _code = PlotlyCode(source=source)
        #: Names this version of the module in the browser's cache of compiled ones.
        _code.digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return _code


def _quiet_message():
    # A browser-to-kernel message that the kernel does not echo back to the browser.
    return Dict(allow_none=True).tag(sync=True, echo_update=False, **custom_serializers)


class LabFigure(go.FigureWidget):
    """A FigureWidget whose browser-side defaults are acknowledged, not echoed nor merged, and
    whose widget code is loaded once per page (see the module docstring)."""

    _esm = LOADER
    _plotly_code = Unicode().tag(sync=True)
    _plotly_digest = Unicode().tag(sync=True)

    # Defaults, not assignments after __init__: they must be in the state the widget opens
    # with, since the browser needs them to load the code that handles any later message.
    @default("_plotly_code")
    def _default_plotly_code(self):
        return f"IPY_MODEL_{plotly_code().model_id}"

    @default("_plotly_digest")
    def _default_plotly_digest(self):
        return plotly_code().digest

    _js2py_traceDeltas = _quiet_message()
    _js2py_layoutDelta = _quiet_message()
    _js2py_restyle = _quiet_message()
    _js2py_relayout = _quiet_message()
    _js2py_update = _quiet_message()

    @observe("_js2py_traceDeltas")
    def _handler_js2py_traceDeltas(self, change):
        """Acknowledge the browser's trace defaults (the edit is done) without merging them."""
        if change["new"]:
            self._ack(trace=change["new"].get("trace_edit_id"))
        self._js2py_traceDeltas = None

    @observe("_js2py_layoutDelta")
    def _handler_js2py_layoutDelta(self, change):
        """Acknowledge the browser's layout defaults without merging them."""
        if change["new"]:
            self._ack(layout=change["new"].get("layout_edit_id"))
        self._js2py_layoutDelta = None

    def _ack(self, trace=None, layout=None) -> None:
        # What plotly's own handlers do once a delta of the latest edit has arrived.
        if trace is not None and trace == self._last_trace_edit_id:
            self._trace_edit_in_process = False
        if layout is not None and layout == self._last_layout_edit_id:
            self._layout_edit_in_process = False
        if not (self._trace_edit_in_process or self._layout_edit_in_process):
            while self._waiting_edit_callbacks:
                self._waiting_edit_callbacks.pop()()
