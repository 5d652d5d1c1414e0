"""Figures that read the trace.

Every function takes a run (a System, or its Trace) or plain data and returns a
``plotly.graph_objects.Figure``; the same run gives the same figure JSON. One module per
family of figures:

- :mod:`~microlab.viz.sequence`: :func:`sequence_diagram` (swimlanes / Lamport diagram);
- :mod:`~microlab.viz.topology`: :func:`topology`, :func:`topology_pair` (star vs mesh);
- :mod:`~microlab.viz.timeline`: :func:`timeline`, :func:`transaction_timeline`,
  :func:`workflow_timeline` (Gantt charts of handlings and of workflow task attempts);
- :mod:`~microlab.viz.charts`: :func:`latency_distributions`, :func:`saturation_curve`,
  :func:`queue_and_utilization`, :func:`outcome_counts`, :func:`change_impact`,
  :func:`orchestrator_growth`, :func:`retry_backoff`;
- :mod:`~microlab.viz.animation`: :func:`message_animation`;
- :mod:`~microlab.viz.workflow`: :func:`workflow_diagram` (a workflow definition as a graph,
  with the path an execution took);
- :mod:`~microlab.viz.causation`: :func:`causation_figure` (which event caused which reaction);
- :mod:`~microlab.viz.isolation`: :func:`stock_over_time`, :func:`isolation_violations` (saga
  isolation: the stock counted and true, the violations each countermeasure leaves);
- :mod:`~microlab.viz.evolution`: :func:`orders_over_time` (a system changed while it ran: each
  order's latency against its arrival, with the deploys);
- :mod:`~microlab.viz.style`: the shared palette and template;
- :mod:`~microlab.viz.data`: the trace computations behind the figures (no plotly).

Importing this package pulls in plotly and networkx; the kernel and the engines never do.
"""

from .animation import message_animation
from .causation import causation_figure
from .charts import (change_impact, latency_distributions, orchestrator_growth, outcome_counts,
                     queue_and_utilization, retry_backoff, saturation_curve)
from .evolution import orders_over_time
from .isolation import isolation_violations, stock_over_time
from .sequence import sequence_diagram
# `timeline` and `topology` are the modules, callable as their functions (microlab.modules).
from .timeline import transaction_timeline, workflow_timeline
from .topology import talk_graph, topology_pair
from .workflow import workflow_diagram

__all__ = [
    "sequence_diagram", "topology", "topology_pair", "talk_graph", "timeline",
    "transaction_timeline", "workflow_timeline", "latency_distributions", "saturation_curve",
    "queue_and_utilization", "outcome_counts", "change_impact", "orchestrator_growth",
    "retry_backoff", "message_animation",
    "workflow_diagram", "causation_figure", "stock_over_time", "isolation_violations",
    "orders_over_time",
]
