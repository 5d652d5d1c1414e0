"""The analysis layer: what figures and labs compute from a trace, pure, trace in and plain data out.

Written once, drawn many times: the figures (:mod:`microlab.viz`) draw what these
functions compute and the labs (:mod:`microlab.labs`) call them; none of them draws
or imports plotting, so checks, exercises and tests can use them too.

- :mod:`.source`: what the analysis reads (a Trace, or a System for its trace and services);
- :mod:`.lanes`: the services of a run, the role each engine declares for them, the
  order every figure draws them in;
- :mod:`.transactions`: the records of one business transaction (the execution view and
  the causation graph read them), or of every transaction at once (the checks, the spans);
- :mod:`.handlings`: every delivered copy of a message matched with its handling;
- :mod:`.copies`: every copy of every message on the wire, its fate and colour category
  (the sequence diagram's data), as a columnar table;
- :mod:`.downtime`: when each service was down;
- :mod:`.queues`: mailbox lengths and busy workers over time;
- :mod:`.instants`: every service's state and the messages in flight at an instant
  (the time scrubber's model).
"""

from .copies import Flights, flights
from .downtime import down_spans
from .handlings import Delivery, deliveries
from .instants import RunStates, ServiceState, Wire, wires
from .queues import QueueSeries, queue_series, time_average
from .lanes import FIGURE_ROLES, lane_order, roles, services_in
from .source import as_trace, check_correlation, live_services
from .transactions import by_transaction, raw_records, transaction_records

__all__ = [
    "as_trace", "live_services", "check_correlation", "raw_records", "transaction_records", "by_transaction",
    "services_in", "lane_order", "roles", "FIGURE_ROLES",
    "Delivery", "deliveries", "Flights", "flights", "down_spans", "QueueSeries", "queue_series", "time_average",
    "RunStates", "ServiceState", "Wire", "wires",
]
