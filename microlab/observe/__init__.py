"""Observing a distributed flow: a trace as spans, trace context, OTLP export, a status view.

- :mod:`.spans`: every handled message of a trace becomes a span; the business
  transaction (the correlation) is the trace, the message that caused it is the parent;
- :mod:`.context`: the W3C ``traceparent`` header a span's children would carry;
- :mod:`.otlp`: spans as OpenTelemetry's OTLP JSON, built with ``opentelemetry-proto``;
- :mod:`.status`: an event-sourced projection that answers "how far along is order X?"
  under choreography, and counts what it costs.
"""

from .context import parse_traceparent, traceparent
from .otlp import to_otlp_dict, to_otlp_json, to_otlp_request
from .spans import Span, Shape, shape, spans_from_trace, tree
from .status import StatusView, add_status_view

__all__ = ["Span", "Shape", "spans_from_trace", "tree", "shape", "traceparent", "parse_traceparent",
           "to_otlp_request", "to_otlp_dict", "to_otlp_json", "StatusView", "add_status_view"]
