"""microlab.observe: spans from a trace, trace context, OTLP JSON, the status view."""

import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from microlab import scenarios
from microlab.exercises import ch08
from microlab.observe import (parse_traceparent, shape, spans_from_trace, to_otlp_dict, to_otlp_json,
                              to_otlp_request, traceparent)
from microlab.observe.status import ORDER_MEANING
from microlab.exercises.ch10 import status_run


@pytest.fixture(scope="module")
def runs():
    return {p: scenarios.order_saga(p, orders=3, seed=1) for p in ("orchestration", "choreography")}


def test_every_handled_message_of_a_transaction_is_a_span_in_one_trace(runs):
    for result in runs.values():
        spans = spans_from_trace(result, "order-1")
        handled = [r for r in result.system.trace.records if r[1] == "end" and r[3] is not None
                   and r[3].correlation == "order-1"]
        assert len(spans) == len(handled) > 0
        assert len({s.trace_id for s in spans}) == 1 and all(s.start <= s.end for s in spans)
        ids = {s.span_id for s in spans}
        assert len(ids) == len(spans)
        assert [s for s in spans if s.parent_id not in ids] == [spans[0]]   # one root: the first


def test_the_parent_is_the_span_that_sent_the_message(runs):
    result = runs["choreography"]
    spans = spans_from_trace(result, "order-1")
    by_message = {s.message_id: s for s in spans}
    messages = {r[3].id: r[3] for r in result.system.trace.records if r[1] == "send"}
    for s in spans[1:]:
        assert by_message[messages[s.message_id].causation].span_id == s.parent_id


def test_a_polled_task_is_the_child_of_the_decision_that_scheduled_it():
    system, _ = ch08.run_saga(orders=1)
    spans = spans_from_trace(system, "order-1")
    assert shape(spans).roots == 1            # the Poll (no transaction) does not break the tree
    by_id = {s.span_id: s for s in spans}
    charge = next(s for s in spans if s.name == "payment charge_payment")
    assert by_id[charge.parent_id].name == "orchestrator TaskCompleted"   # reserve's completion decided it


def test_shapes_both_are_deep_trees_through_a_hub_and_without_context_a_star(runs):
    orch = shape(spans_from_trace(runs["orchestration"], "order-1"))
    chor = shape(spans_from_trace(runs["choreography"], "order-1"))
    assert orch.roots == chor.roots == 1 and orch.depth >= 8 and chor.depth >= 8
    assert (orch.hub, chor.hub) == ("orchestrator", "broker")
    lost = shape(spans_from_trace(runs["choreography"], "order-1", context=False))
    assert lost.roots == lost.widest == chor.spans and lost.depth == 1


def test_spans_are_deterministic(runs):
    again = scenarios.order_saga("choreography", orders=3, seed=1)
    assert to_otlp_json(spans_from_trace(again)) == to_otlp_json(spans_from_trace(runs["choreography"]))


def test_traceparent_round_trips_and_bad_headers_say_what_is_wrong(runs):
    span = spans_from_trace(runs["orchestration"], "order-1")[2]
    header = traceparent(span)
    assert header == f"00-{span.trace_id}-{span.span_id}-01"
    assert parse_traceparent(header) == (span.trace_id, span.span_id)
    for bad, words in (("00-abc-def-01", "version-traceid-parentid-flags"),
                       ("ff-" + "1" * 32 + "-" + "2" * 16 + "-01", "version ff"),
                       ("00-" + "0" * 32 + "-" + "2" * 16 + "-01", "all-zero")):
        with pytest.raises(ValueError, match=words):
            parse_traceparent(bad)


def test_otlp_json_is_opentelemetrys_structure_with_hex_ids(runs, tmp_path):
    spans = spans_from_trace(runs["orchestration"], "order-1")
    path = tmp_path / "trace.json"
    data = json.loads(to_otlp_json(spans, path))
    assert json.loads(path.read_text()) == data
    services = {rs["resource"]["attributes"][0]["value"]["stringValue"] for rs in data["resourceSpans"]}
    assert services == {s.service for s in spans}
    out = [sp for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]]
    assert len(out) == len(spans)
    first = next(sp for sp in out if sp["spanId"] == spans[1].span_id)
    assert first["traceId"] == spans[1].trace_id and first["parentSpanId"] == spans[1].parent_id
    assert isinstance(first["kind"], int) and int(first["endTimeUnixNano"]) >= int(first["startTimeUnixNano"])
    # The protobuf form survives its own wire format.
    request = to_otlp_request(spans)
    assert ExportTraceServiceRequest.FromString(request.SerializeToString()) == request
    assert to_otlp_dict(spans) == data


def test_spans_from_trace_refuses_what_is_not_a_trace():
    with pytest.raises(TypeError, match="needs a Trace"):
        spans_from_trace(42)


def test_the_status_view_answers_from_the_events_it_heard_and_counts_its_cost():
    system, view = status_run(until=0.2)
    lines = [view.status(f"order-{i}") for i in range(1, 6)]
    assert "over" in lines[0] and "in flight" in lines[1] and lines[4].endswith("nothing heard yet")
    system.run()
    assert all("completed" in view.status(f"order-{i}") for i in range(1, 6))
    costs = view.costs(system)
    assert costs["deliveries"] == 25 and costs["messages sent"] == 25   # 5 events x 5 orders, each acked
    assert costs["events it must know"] == len(ORDER_MEANING) and 0 < costs["median lag (ms)"] <= costs["max lag (ms)"]
    # in milliseconds: the broker's delivery takes a few of them with the course's latencies
    assert 1 < costs["median lag (ms)"] < 100


def test_the_waterfall_draws_every_span_children_under_their_parent(runs):
    from microlab.viz.spans import span_waterfall
    spans = spans_from_trace(runs["choreography"], "order-1")
    fig = span_waterfall(spans)
    rows = [y for trace in fig.data for y in trace.y]
    assert len(rows) == len(spans) and {t.name for t in fig.data} == {s.service for s in spans}
    order = list(fig.layout.yaxis.categoryarray)[::-1]
    assert order[0] == "order PlaceOrder" and order[1].startswith("· ")
    with pytest.raises(ValueError, match="no spans"):
        span_waterfall([])
