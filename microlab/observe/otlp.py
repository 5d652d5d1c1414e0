"""Spans as OpenTelemetry's OTLP: a protobuf ``ExportTraceServiceRequest``, or its JSON.

Built with the ``opentelemetry-proto`` package's generated classes, so the structure is
OpenTelemetry's own: one ``ResourceSpans`` per service (resource attribute
``service.name``), one scope ``microlab``, one ``Span`` per handled message. The JSON
follows the OTLP/JSON encoding: lowerCamelCase keys, enums as integers, and trace and
span ids as hex strings (not protobuf's base64):
https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
A tool that reads OTLP/JSON can open the file. Simulated seconds become nanoseconds after ``epoch`` (a Unix time;
default 2026-01-01T00:00:00Z), so the same trace gives the same bytes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

#: 2026-01-01T00:00:00Z: simulated time 0.
EPOCH = 1_767_225_600
#: How each kind of message's handling shows in a tracing tool.
SPAN_KINDS = {"command": trace_pb2.Span.SPAN_KIND_SERVER, "event": trace_pb2.Span.SPAN_KIND_CONSUMER,
              "reply": trace_pb2.Span.SPAN_KIND_INTERNAL}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _value(v) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    return AnyValue(string_value=str(v))


def _nanos(seconds: float, epoch: int) -> int:
    return epoch * 1_000_000_000 + round(seconds * 1e9)


def to_otlp_request(spans, *, epoch: int = EPOCH) -> ExportTraceServiceRequest:
    """The spans (from :func:`~microlab.observe.spans.spans_from_trace`) as an OTLP export request."""
    request = ExportTraceServiceRequest()
    by_service: dict = {}
    for span in spans:
        if span.service not in by_service:
            resource_spans = request.resource_spans.add()
            resource_spans.resource.CopyFrom(Resource(attributes=[KeyValue(key="service.name",
                                                                           value=_value(span.service))]))
            scope = resource_spans.scope_spans.add()
            scope.scope.CopyFrom(InstrumentationScope(name="microlab"))
            by_service[span.service] = scope
        out = by_service[span.service].spans.add()
        out.trace_id = bytes.fromhex(span.trace_id)
        out.span_id = bytes.fromhex(span.span_id)
        if span.parent_id:
            out.parent_span_id = bytes.fromhex(span.parent_id)
        out.name = span.name
        out.kind = SPAN_KINDS.get(span.kind, trace_pb2.Span.SPAN_KIND_INTERNAL)
        out.start_time_unix_nano = _nanos(span.start, epoch)
        out.end_time_unix_nano = _nanos(span.end, epoch)
        out.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in sorted(span.attributes.items()))
        out.status.code = trace_pb2.Status.STATUS_CODE_UNSET
    return request


def _hex_ids(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


def to_otlp_dict(spans, *, epoch: int = EPOCH) -> dict:
    """The OTLP/JSON document of the spans, as Python data."""
    data = MessageToDict(to_otlp_request(spans, epoch=epoch), use_integers_for_enums=True)
    return _hex_ids(data)


def to_otlp_json(spans, path=None, *, epoch: int = EPOCH) -> str:
    """The OTLP/JSON text of the spans; written to ``path`` too when given."""
    text = json.dumps(to_otlp_dict(spans, epoch=epoch), indent=1, sort_keys=True)
    if path is not None:
        Path(path).write_text(text + "\n")
    return text
