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
    """The workflow timelines of a real and a simulated run, the real one on top."""
    from plotly.subplots import make_subplots

    from .. import viz
    top = viz.workflow_timeline(real_trace, real_correlation)
    bottom = viz.workflow_timeline(sim_source, sim_correlation)
    fig = make_subplots(rows=2, cols=1, subplot_titles=("real Conductor OSS (seconds from the workflow's start)",
                                                        "microlab's simulator (simulated seconds)"),
                        vertical_spacing=0.12)
    for row, part in ((1, top), (2, bottom)):
        for trace in part.data:
            trace.showlegend = row == 1 and trace.showlegend is not False
            fig.add_trace(trace, row=row, col=1)
    fig.update_layout(height=720, title="The order saga, failing book_shipment: real and simulated")
    return fig
