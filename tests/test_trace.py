"""The trace: queries, export, digest, conservation."""

import json

from microlab.trace import DELIVER, SEND, Trace


def test_queries(rally):
    rally.run()
    trace = rally.trace
    assert trace.services() == ["ping", "pong"]
    assert trace.correlations() == ["rally"]
    assert len(trace.messages()) == 6
    assert all(r.service == "pong" for r in trace.for_service("pong"))
    first = trace.for_message(1)
    assert [r.kind for r in first] == ["send", "deliver", "start", "end"]


def test_export_as_dicts_and_json_lines(rally, tmp_path):
    rally.run()
    dicts = rally.trace.to_dicts()
    assert dicts[0]["kind"] == SEND and dicts[0]["payload"] == {"n": 1}
    assert dicts[0]["correlation_id"] == "rally" and dicts[0]["causation_id"] is None
    path = tmp_path / "trace.jsonl"
    text = rally.trace.to_jsonl(path)
    lines = path.read_text().splitlines()
    assert len(lines) == len(rally.trace) and json.loads(lines[1])["kind"] == DELIVER
    assert text == path.read_text()


def test_digest_changes_with_any_record(rally):
    rally.run()
    before = rally.trace.digest()
    rally.trace.record(rally.now, "note", "ping", hello=1)
    assert rally.trace.digest() != before


def test_conservation_reports_a_message_with_no_outcome(rally):
    rally.run()
    assert rally.conservation().ok
    report = rally.conservation()
    assert report.sent == 6 and report.delivered == 6
    # Remove the delivery of message 3: it is now neither delivered, dropped nor in flight.
    rally.trace.records = [r for r in rally.trace.records
                           if not (r[1] == DELIVER and r[3].id == 3)]
    report = rally.conservation()
    assert report.unaccounted == [3] and "UNACCOUNTED" in str(report)


def test_messages_on_the_wire_count_as_in_flight(rally):
    rally.run(until=0.001)
    report = rally.conservation()
    assert report.ok and report.in_flight == 1 and report.delivered == 0


def test_disabled_trace_records_nothing():
    trace = Trace(enabled=False)
    trace.record(0.0, "note", "x")
    assert len(trace) == 0
