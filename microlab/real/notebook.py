"""One call for a notebook: the course's order saga on a real Conductor, drawn beside
the simulated run (or one line saying why there is no real run)."""

from __future__ import annotations

import os


def real_beside_simulated(server: str | None = None, *, fail: str = "book_shipment", start: bool = False):
    """Run the order saga (failing ``fail`` every time) on a real Conductor server and in
    the simulator; return a figure of both timelines, one above the other.

    ``server``: a URL; default ``$MICROLAB_CONDUCTOR_URL``. ``start=True`` starts a local
    server when there is none (20-90 s). Without a server: prints one line, returns None.
    """
    from ..orchestration.toyrun import run_toy
    from ..orchestration.toys import workflow_file
    from .client import ConductorError
    from .conductor_server import ConductorServer, ConductorUnavailable
    from .run import RealRunError, run_real

    url = server or os.environ.get("MICROLAB_CONDUCTOR_URL")
    own = None
    try:
        if url is None and start:
            own = ConductorServer().start()
        if url is None and own is None:
            # One line of at most 100 columns: a longer one wraps mid-word at JupyterLab's edge.
            print("No real Conductor here: set MICROLAB_CONDUCTOR_URL or pass start=True "
                  "(Java 17, make conductor-jar).")
            return None
        order = workflow_file("order_fulfillment")
        inp = {"orderId": "o-1", "amount": 30, "items": ["book"]}   # every input the saga declares
        real = run_real(order, inp, fail={fail: None}, server=own or url)
    except (ConductorError, ConductorUnavailable, RealRunError) as exc:
        print(f"No real run: {str(exc).splitlines()[0]}")
        return None
    finally:
        if own is not None:
            own.stop()
    sim = run_toy(order, inp, fail={fail: None})
    return side_by_side(real.trace, real.correlation, sim.system, sim.correlation)


def side_by_side(real_trace, real_correlation, sim_source, sim_correlation):
    """The workflow timelines of a real and a simulated run, the real one on top.

    Each row keeps its timeline's shaded "down" bands and their labels (crash to restart),
    its time range and its task order; a status or a band is in the legend once.
    """
    from plotly.subplots import make_subplots

    from .. import viz
    from ..viz import style
    from ..viz.timeline import LABEL_LINE_PX as LINE, band_label_lines
    parts = (viz.workflow_timeline(real_trace, real_correlation),
             viz.workflow_timeline(sim_source, sim_correlation))
    lines = [band_label_lines(part) for part in parts]
    fig = make_subplots(rows=2, cols=1, subplot_titles=("real Conductor OSS (seconds from the workflow's start)",
                                                        "microlab's simulator (simulated seconds)"),
                        vertical_spacing=0.12 + 0.03 * lines[1])
    shown: set = set()
    for row, part in enumerate(parts, start=1):
        sub = fig.get_subplot(row, 1)
        axes = {"x": sub.xaxis.plotly_name.replace("axis", ""), "y": sub.yaxis.plotly_name.replace("axis", "")}
        for trace in part.data:
            trace.showlegend = _first_in_legend(trace.showlegend, trace.legendgroup or trace.name, shown)
            fig.add_trace(trace, row=row, col=1)
        for shape in part.layout.shapes:
            shape = _in_row(shape.to_plotly_json(), axes)
            shape["showlegend"] = _first_in_legend(shape.get("showlegend"), shape.get("legendgroup"), shown)
            fig.add_shape(shape)
        for note in part.layout.annotations:
            fig.add_annotation(_in_row(note.to_plotly_json(), axes))
        if part.layout.xaxis.range is not None:
            sub.xaxis.range = part.layout.xaxis.range
        y = part.layout.yaxis
        sub.yaxis.update(categoryorder=y.categoryorder, categoryarray=y.categoryarray, autorange=y.autorange,
                         type=y.type, tickmode=y.tickmode, tickvals=y.tickvals, ticktext=y.ticktext)
    # A row's title goes above its bands' labels, which sit just above the row's plot.
    for title, n in zip(fig.layout.annotations, lines):
        title.yshift = 4 + LINE * n if n else 0
    fig.update_layout(template=style.TEMPLATE, height=720 + LINE * sum(lines), barmode="overlay",
                      uniformtext=parts[0].layout.uniformtext,
                      margin={"t": 90 + LINE * lines[0]},
                      title="The order saga, failing book_shipment: real and simulated")
    return fig


def _in_row(item: dict, axes: dict) -> dict:
    """A layout shape or annotation of a one-plot figure, moved onto a subplot's ``axes``
    (``{"x": "x2", "y": "y2"}``): a reference to the plot's area becomes one to the subplot's."""
    for ref in ("xref", "yref"):
        axis = axes[ref[0]]
        value = item.get(ref, "paper")
        item[ref] = f"{axis} domain" if value in ("paper", f"{ref[0]} domain") else axis
    return item


def _first_in_legend(showlegend, key, shown: set) -> bool:
    """Whether an entry goes in the legend: only the first one of its group (a status, a band)."""
    if showlegend is False or key in shown:
        return False
    shown.add(key)
    return True
