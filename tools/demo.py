"""A tiny widget lab notebook that proves the browser tools, the site and Voila work.

The course's real labs follow the same conventions, which this notebook shows by example:

- the lab's root widget carries the CSS class ``microlab-lab-<name>``
  (``lab.add_class("microlab-lab-demo")``), so a browser test can find it and a
  :class:`tools.browser.LabCheck` can drive it;
- its figure is a :class:`microlab.labs.figure.LabFigure` (a plotly ``FigureWidget``) updated inside ``fig.batch_update()``
  from ``.observe`` / ``on_click`` callbacks (no ``Output`` + ``clear_output(wait=True)``);
- it reads ``MICROLAB_STATIC`` (see :data:`tools.build_site.STATIC_ENV`) only if it has
  something better to show on a static page; by default the site builder shows the
  lab's figure as it stands after the notebook ran.

``python -m tools.demo OUT.ipynb`` writes it, e.g. to try ``make present NB=OUT.ipynb``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

#: The lab's name, so its root widget's CSS class is ``microlab-lab-demo``.
DEMO_LAB = "demo"

#: Title of the demo notebook's first heading (the site's course map shows it).
DEMO_TITLE = "Demo lab: a slider, a button, a toggle, a dropdown"

_SETUP = """\
import ipywidgets as widgets
import plotly.graph_objects as go
from microlab.labs.figure import LabFigure"""

_STATIC_FIGURE = """\
go.Figure(go.Bar(x=["orchestration", "choreography"], y=[3, 5]),
          layout=dict(title=dict(text="hops per order"), height=300))"""

_LAB = """\
fig = LabFigure(go.Scatter(x=[0, 1, 2], y=[0, 1, 4], mode="lines+markers"),
                layout=dict(title=dict(text="n = 3"), height=320))
n = widgets.IntSlider(value=3, min=1, max=20, description="n", continuous_update=False)
more = widgets.Button(description="add trace")
arrows = widgets.ToggleButton(value=False, description="arrows")
colour = widgets.Dropdown(options=["royalblue", "darkorange"], description="colour")

def redraw(change):
    with fig.batch_update():
        fig.data[0].x = list(range(n.value))
        fig.data[0].y = [i * i for i in range(n.value)]
        fig.layout.title.text = f"n = {n.value}"

def add_trace(_button):
    fig.add_scatter(x=[0, 1], y=[len(fig.data), len(fig.data) + 1], name=f"trace {len(fig.data)}")

def show_arrows(change):
    fig.layout.annotations = [dict(x=1, y=1, text="here", showarrow=True)] if change.new else []

def recolour(change):
    fig.data[0].marker.color = change.new

n.observe(redraw, "value")
more.on_click(add_trace)
arrows.observe(show_arrows, "value")
colour.observe(recolour, "value")
lab = widgets.VBox([widgets.HBox([n, more, arrows, colour]), fig])
lab.add_class("microlab-lab-demo")
lab"""

_OUTPUT_WIDGET = """\
log = widgets.Output()
with log:
    display(go.Figure(go.Scatter(y=[2, 1, 3]), layout=dict(title=dict(text="inside an Output"), height=250)))
log"""


def demo_notebook(output_widget: bool = False) -> nbformat.NotebookNode:
    """Return the demo lab notebook (unexecuted).

    It has a heading, a static ``go.Figure`` and the ``microlab-lab-demo`` lab: a
    ``FigureWidget`` whose title follows a slider (``n = 3`` -> ``n = 4``), whose trace
    count grows with a button, whose arrow count follows a toggle and whose marker colour
    follows a dropdown. With
    ``output_widget`` it also shows a figure captured in an ``ipywidgets.Output``.
    """
    cells = [
        nbformat.v4.new_markdown_cell(f"# {DEMO_TITLE}\n\nA lab with a figure that answers its widgets."),
        nbformat.v4.new_code_cell(_SETUP),
        nbformat.v4.new_code_cell(_STATIC_FIGURE),
        nbformat.v4.new_markdown_cell("Move the slider, press the button, toggle the arrows, pick a colour:"),
        nbformat.v4.new_code_cell(_LAB),
    ]
    if output_widget:
        cells.append(nbformat.v4.new_code_cell(_OUTPUT_WIDGET))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_demo_notebook(path, output_widget: bool = False) -> Path:
    """Write :func:`demo_notebook` to ``path`` (a ``.ipynb`` file) and return the path."""
    path = Path(path)
    if path.suffix != ".ipynb":
        raise ValueError(f"demo notebook path {str(path)!r} must end in .ipynb (JupyterLab and Voila open only notebooks)")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(demo_notebook(output_widget=output_widget), path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.demo OUT.ipynb")
    print(write_demo_notebook(sys.argv[1]))
