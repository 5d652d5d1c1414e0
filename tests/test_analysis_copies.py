"""microlab.analysis.copies: every copy of every message on the wire, as a columnar table."""

from __future__ import annotations

import pytest

from microlab import scenarios
from microlab.analysis import Flights, flights
from microlab.analysis.copies import PROTOCOL_PREFIXES, reports_failure
from microlab.faults import FaultPlan
from microlab.messages import Message
from microlab.trace import Trace
from microlab.viz import data


def _msg(mid, type_, kind="command", source="a", destination="b", payload=None, correlation="t1", sent_at=0.0):
    return Message(mid, kind, type_, source, destination, None, payload, correlation, None, sent_at)


def hand_trace() -> tuple[Trace, dict]:
    """A small trace written by hand with every fate a copy can meet, and its messages by name."""
    m = {
        "handled": _msg(1, "Charge"),
        "waiting": _msg(2, "Charged", "reply", "b", "a", sent_at=0.1),
        "dup_failed": _msg(3, "Reserve", sent_at=0.2),
        "dup": _msg(4, "Ship", sent_at=0.3),
        "drop_send": _msg(5, "Notify", "event", sent_at=0.4),
        "drop_dest": _msg(6, "Cancel", sent_at=0.5),
        "lost_working": _msg(7, "Packed", "event", "b", "a", sent_at=0.6, correlation="t2"),
        "lost_mailbox": _msg(8, "Pack", sent_at=0.7, correlation="t2"),
        "task_failed": _msg(9, "TaskFailed", "reply", "b", "a", sent_at=0.8),
        "status_failed": _msg(10, "TaskUpdate", "reply", "b", "a", {"status": "FAILED"}, sent_at=0.9),
        "late_comp": _msg(11, "Undo", sent_at=1.0),
        "early_comp": _msg(12, "Release", sent_at=1.1),
        "other": _msg(13, "Tick", "timer", sent_at=1.2),
        "dup_marked_late": _msg(14, "Bill", sent_at=1.3),
        "twice_unmarked": _msg(15, "Ping", sent_at=1.4),
    }
    t = Trace()
    t.record(0.0, "workflow", None, None, correlation="t1")   # a record without a message
    for name, msg in m.items():
        t.record(msg.sent_at, "send", msg.source, msg)
    h = m["handled"]
    t.record(0.01, "deliver", "b", h)
    t.record(0.02, "start", "b", h)
    t.record(0.03, "end", "b", h)
    t.record(0.11, "deliver", "a", m["waiting"])               # never started: waiting at the end
    for name in ("dup_failed", "dup"):
        msg = m[name]
        t.record(msg.sent_at, "duplicate", msg.source, msg)
        t.record(msg.sent_at + 0.01, "deliver", "b", msg)
        t.record(msg.sent_at + 0.02, "deliver", "b", msg)
        t.record(msg.sent_at + 0.03, "start", "b", msg)
        t.record(msg.sent_at + 0.04, "end", "b", msg)
        t.record(msg.sent_at + 0.05, "start", "b", msg)
        if name == "dup_failed":
            t.record(msg.sent_at + 0.06, "fail", "b", msg, error="RuntimeError: out of stock")
        else:
            t.record(msg.sent_at + 0.06, "end", "b", msg)
    t.record(0.4, "drop", "a", m["drop_send"], reason="network drop")
    t.record(0.51, "drop", "b", m["drop_dest"])                # at the destination, no reason given
    lw, lm = m["lost_working"], m["lost_mailbox"]
    t.record(0.61, "deliver", "a", lw)
    t.record(0.62, "start", "a", lw)
    t.record(0.71, "deliver", "b", lm)
    t.record(0.72, "crash", "a", None)
    t.record(0.72, "lost", "a", lw, reason="crash while in progress")
    t.record(0.73, "lost", "b", lm, reason="crash in the mailbox")
    t.record(0.74, "fail", "b", lm, error="a timer after the message was gone")   # matches nothing
    for name in ("task_failed", "status_failed", "other"):
        msg = m[name]
        t.record(msg.sent_at + 0.01, "deliver", msg.destination, msg)
    t.record(1.01, "deliver", "b", m["late_comp"])
    t.record(1.05, "compensate", "b", m["late_comp"])           # flagged after its delivery
    t.record(1.1, "effect", "a", m["early_comp"], compensation=True)
    t.record(1.11, "deliver", "b", m["early_comp"])
    d = m["dup_marked_late"]
    t.record(1.31, "deliver", "b", d)
    t.record(1.32, "duplicate", "a", d)                          # marked after the first copy
    t.record(1.33, "deliver", "b", d)
    p = m["twice_unmarked"]
    t.record(1.41, "deliver", "b", p)
    t.record(1.42, "deliver", "b", p)                            # no duplicate record: not a duplicate
    return t, m


def _rows_of(f: Flights, msg) -> list[dict]:
    return [f.row(i) for i in range(len(f)) if f.messages[i] is msg]


def test_every_fate_of_the_hand_written_trace():
    t, m = hand_trace()
    f = flights(t)
    assert len(f) == sum(1 for r in t.records if r[1] in ("deliver", "drop")) == 19
    cats = {name: [r["category"] for r in _rows_of(f, msg)] for name, msg in m.items()}
    assert cats == {
        "handled": ["command"], "waiting": ["reply"], "dup_failed": ["command", "failed"],
        "dup": ["command", "duplicate"], "drop_send": ["dropped"], "drop_dest": ["dropped"],
        "lost_working": ["failed"], "lost_mailbox": ["failed"], "task_failed": ["failure_report"],
        "status_failed": ["failure_report"], "late_comp": ["compensation"],
        "early_comp": ["compensation"], "other": ["other"],
        "dup_marked_late": ["command", "duplicate"], "twice_unmarked": ["command", "command"],
    }
    handlings = {name: [r["handling"] for r in _rows_of(f, msg)] for name, msg in m.items()}
    assert handlings["handled"] == ["handled"] and handlings["waiting"] == [None]
    assert handlings["dup_failed"] == ["handled", "failed"]
    assert handlings["lost_working"] == handlings["lost_mailbox"] == ["lost"]
    assert handlings["drop_send"] == [None]


def test_a_row_has_every_column():
    t, m = hand_trace()
    f = flights(t)
    [row] = _rows_of(f, m["handled"])
    assert row == {"messages": m["handled"], "sent": 0.0, "ended": 0.01, "target": "b",
                   "outcome": "delivered", "handling": "handled", "category": "command",
                   "note": None, "at_send": False}
    assert tuple(row) == Flights.COLUMNS


def test_drops_say_where_and_why():
    t, m = hand_trace()
    f = flights(t)
    [at_send] = _rows_of(f, m["drop_send"])
    [at_dest] = _rows_of(f, m["drop_dest"])
    assert (at_send["outcome"], at_send["at_send"], at_send["note"], at_send["ended"]) == \
        ("dropped", True, "network drop", 0.4)
    assert (at_dest["outcome"], at_dest["at_send"], at_dest["note"]) == ("dropped", False, "no reason given")


def test_a_crash_mid_handling_loses_the_copy_with_its_reason():
    t, m = hand_trace()
    f = flights(t)
    [working] = _rows_of(f, m["lost_working"])
    [mailbox] = _rows_of(f, m["lost_mailbox"])
    assert (working["handling"], working["note"], working["ended"]) == ("lost", "crash while in progress", 0.61)
    assert mailbox["note"] == "crash in the mailbox"   # the later fail record matched nothing
    failed = _rows_of(f, m["dup_failed"])[1]
    assert failed["note"] == "RuntimeError: out of stock"


def test_take_and_len_make_a_sub_table():
    t, _ = hand_trace()
    f = flights(t)
    sub = f.take([3, 0, 3])
    assert len(sub) == 3 and isinstance(sub, Flights)
    assert [sub.row(i) for i in range(3)] == [f.row(3), f.row(0), f.row(3)]
    assert len(f.take(range(0))) == 0 and len(Flights()) == 0
    assert f.take(range(len(f))) == f and f.take([0]) != f
    with pytest.raises(TypeError, match="no column or all 9"):
        Flights([], [])


def test_one_transaction_and_compensation_types():
    t, m = hand_trace()
    f = flights(t, "t2")
    assert f.messages == [m["lost_working"], m["lost_mailbox"]]
    g = flights(t, compensation_types="Charge")
    assert _rows_of(g, m["handled"])[0]["category"] == "compensation"
    assert g.count("compensation") == 3 and flights(t).count("compensation") == 2


def test_the_figures_import_the_same_table():
    assert data.flights is flights and data.Flights is Flights


def test_duplicated_deliveries_in_a_run():
    run = scenarios.order_saga("orchestration", orders=6, dispatch="push", seed=2,
                               faults=FaultPlan().duplicate(0.5))
    f = flights(run.trace)
    duplicated = {r[3].id for r in run.trace.records if r[1] == "duplicate"}
    dups = [i for i, c in enumerate(f.category) if c == "duplicate"]
    assert dups, "the run should deliver some message twice"
    for i in dups:
        mid = f.messages[i].id
        assert mid in duplicated and any(m.id == mid for m in f.messages[:i])
        assert f.outcome[i] == "delivered"
    assert f.take(dups).category == ["duplicate"] * len(dups)


def test_reports_failure_by_name_or_status():
    assert reports_failure(_msg(1, "PaymentFailed", "event"))
    assert reports_failure(_msg(1, "TaskUpdate", "reply", payload={"status": "TIMED_OUT"}))
    assert not reports_failure(_msg(1, "TaskCompleted", "reply", payload={"status": "COMPLETED"}))


def test_acks_of_a_failure_are_replies_and_a_point_to_point_failure_is_a_report():
    from microlab.choreography import kinds

    assert PROTOCOL_PREFIXES == kinds.PROTOCOL_PREFIXES   # the engine's, spelt in the analysis layer
    run = scenarios.order_saga("choreography-p2p", orders=12, failure={"shipping": 0.6}, seed=3)
    undone = next(c for c, outcome in run.outcomes.items() if outcome == "compensated")
    table = flights(run, correlation=undone)
    category = {m.type: c for m, c in zip(table.messages, table.category)}
    assert category["ShippingFailed"] == "failure_report" and category["PaymentCompleted"] == "command"
    assert category["Ack:ShippingFailed"] == category["Ack:OrderRejected"] == "reply"
    assert not reports_failure(_msg(1, "Confirm:PaymentFailed", "reply"))
    # a command's payload is its task's input: a status quoted there reports nothing
    assert not reports_failure(_msg(1, "notify", "command", payload={"status": "FAILED"}))
    assert reports_failure(_msg(1, "ShippingFailed", "command"))
