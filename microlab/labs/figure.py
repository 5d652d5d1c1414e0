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
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.serializers import custom_serializers
from traitlets import Dict, observe


def _quiet_message():
    # A browser-to-kernel message that the kernel does not echo back to the browser.
    return Dict(allow_none=True).tag(sync=True, echo_update=False, **custom_serializers)


class LabFigure(go.FigureWidget):
    """A FigureWidget whose browser-side defaults are acknowledged, not echoed nor merged."""

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
