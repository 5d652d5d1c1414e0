"""What every lab shares: controls, figures that update in place, a message line, a progress bar.

A lab is an object that holds its widgets (``controls``), its current run (``run``)
and its current figures (``figures``, plotly FigureWidgets), and displays itself. Its
``refresh()`` re-simulates and redraws; every control change calls ``update()``,
which runs ``refresh()`` and turns any error into a readable message *inside the lab*
(ipywidgets would otherwise swallow it, and the learner would see nothing happen).

Without a browser (tests), setting ``lab.controls["rate"].value = 50`` runs the same
observers synchronously, so a test can assert on ``lab.run`` and ``lab.figures``.

When the environment variable ``MICROLAB_STATIC`` is set (the static course site),
a lab displays its current figures as plain plotly figures and a note on how to run it
live, since widgets cannot run without a kernel.
"""

from __future__ import annotations

import html
import os
import traceback

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import HTML, display

from ..errors import MicrolabError
from .figure import LabFigure

#: A message's tone: its colour, its mark, and the mark's spoken label.
TONES = {"info": ("#333", "ℹ", "note:"), "good": ("#1b7837", "✔", "good:"), "bad": ("#b2182b", "✘", "problem:")}
#: Marks a message may start with by itself.
MARKS = "✔✘ℹ⚠"

#: CSS width of a lab's figures.
FIGURE_WIDTH = "100%"


class Lab:
    """Base class of the labs (see the module docstring). Subclasses set ``name`` and ``title``,
    fill ``controls`` and ``figures`` in ``__init__`` and implement ``refresh``."""

    name = "lab"
    title = "Lab"
    #: One sentence on what to try first (shown under the title).
    try_first = ""

    def __init__(self):
        self.controls: dict[str, widgets.Widget] = {}
        self.figures: dict[str, go.FigureWidget] = {}
        self.run = None
        #: The last error shown in the lab (None when the last update succeeded).
        self.error: str | None = None
        self.message = widgets.HTML(layout=widgets.Layout(min_height="1.6em"))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="running",
                                            layout=widgets.Layout(visibility="hidden", width="50%"))
        self._root = None

    # -- for subclasses -------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-simulate with the current controls and redraw every figure (override)."""
        raise NotImplementedError

    def layout(self) -> widgets.Widget:
        """The lab's body: controls and figures (override for a custom arrangement)."""
        controls = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        return widgets.VBox([controls, *self.figures.values()])

    def figure(self, key: str, fig: go.Figure | None = None, height: int = 420,
               keep_slots: bool = False) -> go.FigureWidget:
        """Create (or replace the contents of) the figure widget called ``key``.

        ``keep_slots``: hide surplus traces instead of deleting them (see :func:`replace_figure`),
        for a figure whose number of traces goes up and down between updates.
        """
        if key not in self.figures:
            fw = LabFigure(fig if fig is not None else go.Figure())
            fw.layout.height = fw.layout.height or height
            self.figures[key] = fw
        elif fig is not None:
            watch = getattr(self, "width_watch", None)
            if watch is not None and watch.width >= 200 and fig.layout.width != watch.width:
                # The cell's width wins over a width the figure asks for (the workflow diagram
                # caps its own at 850 px): it fills the cell, and no update resizes it.
                fig.layout.width = watch.width
            replace_figure(self.figures[key], fig, keep_slots=keep_slots)
        return self.figures[key]

    def watch(self, *names: str) -> None:
        """Re-run ``update`` whenever one of the named controls changes value."""
        for name in names:
            self.controls[name].observe(self.update, names="value")

    # -- running --------------------------------------------------------------------------

    def update(self, change=None) -> None:
        """Refresh, showing any error as a message in the lab instead of losing it."""
        try:
            self.refresh()
        except MicrolabError as exc:
            self.show_error(str(exc))
        except KeyboardInterrupt:
            self.show_error("Interrupted. Change a setting to run again.")
        except Exception as exc:  # a bug or a learner's mistake: say so, in the lab
            self.show_error(f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        else:
            self.error = None

    def say(self, text: str, tone: str = "info") -> None:
        """Show a message line (tone: info, good, bad) above the figures.

        The tone is told by a word-like mark too (✔, ✘, ℹ), not by colour alone, and the
        line is a polite live region, so a screen reader announces what changed.
        """
        colour, mark, label = TONES.get(tone, TONES["info"])
        if text[:1] in MARKS:
            mark = ""   # the text brings its own mark
        lead = f'<span aria-label="{label}">{mark}</span> ' if mark else ""
        self.message.value = (f'<div role="status" aria-live="polite" data-tone="{tone}" '
                              f'style="color:{colour};font-size:14px">{lead}{text}</div>')

    def show_error(self, text: str, detail: str | None = None) -> None:
        """Show ``text`` as the lab's error (kept in ``self.error``)."""
        self.error = text
        extra = (f"<details><summary>details</summary><pre style='font-size:11px'>{html.escape(detail)}</pre>"
                 "</details>") if detail else ""
        self.message.value = (f'<div role="alert" data-tone="error" style="color:#b2182b;font-size:14px;'
                              f'white-space:pre-wrap"><b>✘ Could not run this:</b> '
                              f"{html.escape(text)}{extra}</div>")

    def step_progress(self, done: int, total: int) -> None:
        """Advance the progress bar (shown while ``done < total``)."""
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.progress.layout.visibility = "visible" if done < total else "hidden"

    # -- showing --------------------------------------------------------------------------

    @property
    def root(self) -> widgets.Widget:
        """The whole lab as one widget (with CSS class ``microlab-lab-<name>``)."""
        if self._root is None:
            head = widgets.HTML(f"<h3 style='margin:4px 0'>{html.escape(self.title)}</h3>"
                                + (f"<div style='color:#555'>{html.escape(self.try_first)}</div>"
                                   if self.try_first else ""))
            from .a11y import ControlLabels
            from .resize import WidthWatch

            #: Reports the lab's width and makes its figures fit it (see microlab.labs.resize).
            self.width_watch = WidthWatch()
            self.width_watch.observe(self._fit_width, names="width")
            #: Names each control after its visible label for screen readers (microlab.labs.a11y).
            self.control_labels = ControlLabels()
            fit_sliders(self.controls.values())
            self._root = widgets.VBox([head, self.layout(), self.progress, self.message, self.width_watch,
                                       self.control_labels])
            self._root.add_class(f"microlab-lab-{self.name}")
        return self._root

    def _fit_width(self, change) -> None:
        # The browser reported the lab's width: draw every figure that wide (see
        # microlab.labs.resize); replace_figure keeps the width across updates.
        width = int(change["new"])
        if width < 200:
            return
        for fw in self.figures.values():
            if fw.layout.width != width:
                fw.layout.width = width

    def _ipython_display_(self):
        if os.environ.get("MICROLAB_STATIC"):
            display(HTML(f"<p><i>{html.escape(self.title)}: this lab runs live in JupyterLab "
                         "(<code>make course</code>). Below are its figures with the default settings.</i></p>"))
            for fw in self.figures.values():
                display(go.Figure(fw))
            return
        display(self.root)


#: Width (px) of a slider's track and readout, beside its description.
SLIDER_TRACK = 310
#: About how wide one character of a description is (px, at the widgets' font size).
CHAR_WIDTH = 7.5


def fit_sliders(controls) -> None:
    """Give each slider whose description takes its own width ("initial") room for a
    usable track: without a width, a long description left the track 40-110 px."""
    for control in controls:
        if not isinstance(control, (widgets.IntSlider, widgets.FloatSlider)) or control.layout.width:
            continue
        if control.style.description_width == "initial":
            control.layout.width = f"{round(len(control.description) * CHAR_WIDTH) + SLIDER_TRACK}px"


def replace_figure(target: go.FigureWidget, fig: go.Figure, keep_slots: bool = False) -> None:
    """Make ``target`` show ``fig``, sending the browser only what changed.

    A full resend (delete every trace, add them again, replace the layout) costs the
    browser three redraws and the comm channel the whole figure each time; most lab
    updates change a few arrays and a title. So: the traces both figures share (same
    position, same type) get only their changed properties, and the layout only its changed
    top-level keys, assigned inside ``batch_update`` (one ``plotly_update`` message). Extra traces are then added, or surplus ones deleted, in one message each. The
    browser redraws once when the shape of the figure did not change.

    With ``keep_slots``, surplus traces of a matching type are hidden (``visible=False``,
    their data cleared) in the same message instead of deleted, and reused by a later
    figure with more traces: a figure whose trace count goes up and down (the workflow
    explorer's diagram, 5 to 8 traces by example) then redraws once per update, not three
    times (delete, update, add). ``target.data`` then holds those hidden traces too.
    """
    # The figure's own validated dicts: ``to_plotly_json`` would turn numpy arrays into
    # base64 dicts, which then compare and read back as something else.
    new_data, new_layout = list(fig._data), dict(fig._layout)
    for size in ("height", "width"):   # the widget's own size stays unless the figure sets one
        if new_layout.get(size) is None and target.layout[size] is not None:
            new_layout[size] = target.layout[size]
    old_data = target._data
    if keep_slots and len(new_data) < len(old_data):
        new_data += [{"type": t.get("type", "scatter"), "visible": False} for t in old_data[len(new_data):]]
    shared = 0
    while (shared < min(len(old_data), len(new_data))
           and old_data[shared].get("type", "scatter") == new_data[shared].get("type", "scatter")):
        shared += 1
    if shared < len(old_data):
        target.data = target.data[:shared]
    restyle = trace_changes(target._data[:shared], new_data[:shared])
    relayout = layout_changes(target._layout, new_layout)
    # Assignments inside batch_update are collected into one plotly_update message; only the
    # changed properties are validated and sent.
    with target.batch_update():
        for key, values in restyle.items():
            for i, value in enumerate(values):
                if value is not _UNCHANGED:
                    target.data[i][key] = value
        for key, value in relayout.items():
            target.layout[key] = value
    if len(new_data) > shared:
        target.add_traces([_trace(t) for t in new_data[shared:]])


def resend_figure(target: go.FigureWidget, fig: go.Figure) -> None:
    """Replace a FigureWidget's traces and layout wholesale (three redraws: used when the
    figure gains a subplot, which :func:`replace_figure` cannot add in place)."""
    with target.batch_update():
        target.data = []
        target.add_traces(list(fig.data))
        height = target.layout.height
        target.layout = fig.layout
        if fig.layout.height is None and height is not None:
            target.layout.height = height


def _trace(spec: dict):
    # add_traces needs trace objects; a dict of an already-validated figure converts cheaply.
    return go.Figure(data=[spec]).data[0]


#: Marks a trace whose property did not change (``None`` would mean "remove it").
_UNCHANGED = object()

#: Trace keys never diffed: the type is matched first, the uid is the browser's handle.
_IDENTITY_KEYS = ("type", "uid")


def trace_changes(old: list[dict], new: list[dict]) -> dict:
    """The changed properties turning traces ``old`` into ``new``:
    ``{key: [new value, or _UNCHANGED, per trace]}``.

    A key present before and gone now is set to ``None`` (plotly removes it).
    """
    changes: dict = {}
    for i, (o, n) in enumerate(zip(old, new)):
        for key in {**o, **n}:
            if key in _IDENTITY_KEYS:
                continue
            value = n.get(key)
            if not same(o.get(key), value):
                changes.setdefault(key, [_UNCHANGED] * len(new))[i] = value
    return changes


def layout_changes(old: dict, new: dict) -> dict:
    """Relayout data turning layout ``old`` into ``new``, by top-level key (``None`` removes one)."""
    return {key: new.get(key) for key in {**old, **new} if not same(old.get(key), new.get(key))}


def same(a, b) -> bool:
    """Whether two plotly property values are equal (numpy arrays compared by value)."""
    if a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if hasattr(a, "shape") or hasattr(b, "shape"):   # numpy arrays
        import numpy as np

        try:
            return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        except TypeError:   # an array of objects: compare element by element
            return list(np.asarray(a).tolist()) == list(np.asarray(b).tolist())
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:
        return False
