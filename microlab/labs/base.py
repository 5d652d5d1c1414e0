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

    def figure(self, key: str, fig: go.Figure | None = None, height: int = 420) -> go.FigureWidget:
        """Create (or replace the contents of) the figure widget called ``key``."""
        if key not in self.figures:
            fw = go.FigureWidget(fig if fig is not None else go.Figure())
            fw.layout.height = fw.layout.height or height
            self.figures[key] = fw
        elif fig is not None:
            replace_figure(self.figures[key], fig)
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
        """Show a message line (tone: info, good, bad) above the figures."""
        colour = {"info": "#333", "good": "#1b7837", "bad": "#b2182b"}.get(tone, "#333")
        self.message.value = f'<div style="color:{colour};font-size:14px">{text}</div>'

    def show_error(self, text: str, detail: str | None = None) -> None:
        """Show ``text`` as the lab's error (kept in ``self.error``)."""
        self.error = text
        extra = (f"<details><summary>details</summary><pre style='font-size:11px'>{html.escape(detail)}</pre>"
                 "</details>") if detail else ""
        self.message.value = (f'<div style="color:#b2182b;font-size:14px;white-space:pre-wrap"><b>Could not run this:</b> '
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
            self._root = widgets.VBox([head, self.layout(), self.progress, self.message])
            self._root.add_class(f"microlab-lab-{self.name}")
        return self._root

    def _ipython_display_(self):
        if os.environ.get("MICROLAB_STATIC"):
            display(HTML(f"<p><i>{html.escape(self.title)}: this lab runs live in JupyterLab "
                         "(<code>make course</code>). Below are its figures with the default settings.</i></p>"))
            for fw in self.figures.values():
                display(go.Figure(fw))
            return
        display(self.root)


def replace_figure(target: go.FigureWidget, fig: go.Figure) -> None:
    """Replace a FigureWidget's traces and layout in one update (no flicker, no pile-up)."""
    with target.batch_update():
        target.data = []
        target.add_traces(list(fig.data))
        height = target.layout.height
        target.layout = fig.layout
        if fig.layout.height is None and height is not None:
            target.layout.height = height
