"""A compact trace (System(trace="compact")) holds the same records in less memory."""

import pickle
import random
import tracemalloc

import pytest

from microlab import Message, System, compact, scenarios
from microlab.compact import CompactRecords, StoredMessage
from microlab.errors import MicrolabError
from microlab.faults import FaultPlan
from microlab.trace import Trace

from .test_scenarios import GOLDEN_CASES

# Tiny chunks, so that the smallest runs already keep most of their records in columns.
TINY = 5


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(compact, "CHUNK", TINY)


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
@pytest.mark.parametrize("flow", sorted(GOLDEN_CASES))
def test_the_golden_runs_read_back_the_same_from_columns(flow, pattern, tiny_chunks):
    plain = scenarios.run(flow, pattern, **GOLDEN_CASES[flow])
    packed = scenarios.run(flow, pattern, trace="compact", **GOLDEN_CASES[flow])
    records = packed.system.trace.records
    assert isinstance(records, CompactRecords) and len(records) > 100
    assert list.__len__(records) < TINY  # all but the newest few are in the columns
    assert packed.trace.digest() == plain.trace.digest()
    assert packed.trace.to_jsonl() == plain.trace.to_jsonl()
    assert packed.summary() == plain.summary()
    assert packed.metrics == plain.metrics
    assert str(packed.checks) == str(plain.checks)
    assert packed.trace.services() == plain.trace.services()
    assert packed.trace.correlations() == plain.trace.correlations()
    assert str(packed.system.conservation()) == str(plain.system.conservation())


def test_a_long_run_settles_its_records_between_slices(monkeypatch):
    # Slices of 500 events instead of 100,000: the storm guard reads the newest records,
    # and the trace moves them into columns, many times during the run.
    monkeypatch.setattr("microlab.system.STORM_SLICE", 500)
    monkeypatch.setattr(compact, "CHUNK", 64)
    settled = []
    original = CompactRecords.settle
    monkeypatch.setattr(CompactRecords, "settle", lambda self: (settled.append(len(self)), original(self)))
    knobs = dict(orders=300, failure={"payment": 0.2}, retries=1)
    plain = scenarios.run("order", "orchestration", **knobs)
    packed = scenarios.run("order", "orchestration", trace="compact", **knobs)
    assert len(settled) > 10 and packed.system.sim.events > 20 * 500
    assert list.__len__(packed.system.trace.records) < 64
    assert packed.trace.digest() == plain.trace.digest()
    assert str(packed.checks) == str(plain.checks) and packed.summary() == plain.summary()


def test_a_short_budget_settles_too(monkeypatch):
    # max_events of 150,000 is too few for the storm guard's slices: the trace slices alone.
    monkeypatch.setattr(compact, "CHUNK", 64)
    settled = []
    original = CompactRecords.settle
    monkeypatch.setattr(CompactRecords, "settle", lambda self: (settled.append(len(self)), original(self)))
    plain = scenarios.run("order", "orchestration", orders=100, max_events=150_000)
    packed = scenarios.run("order", "orchestration", orders=100, max_events=150_000, trace="compact")
    assert len(settled) > 10 and packed.trace.digest() == plain.trace.digest()


def _records(seed: int = 3):
    """The records of a run with drops, duplicates, delays and crashes (details and all)."""
    faults = FaultPlan().drop(0.1).duplicate(0.1).crash("payment", at=0.3, duration=0.2)
    run = scenarios.run("order", "choreography", seed=seed, orders=20, faults=faults,
                        failure={"payment": 0.3})
    return run.trace.records


def _said(records) -> list:
    """What records say, as the export writes them (a read message is a copy, not the original)."""
    return list(map(Trace.as_dict, records))


def test_it_reads_like_the_list_it_was_filled_from():
    records = _records()
    assert any(r[4] for r in records), "the run should give some records a detail"
    packed = CompactRecords(records, chunk=7)
    n = len(records)
    assert len(packed) == n and list.__len__(packed) == n % 7
    assert _said(packed) == _said(records) and _said(reversed(packed)) == _said(records[::-1])
    rng = random.Random(0)
    for i in list(range(-n, n, 13)) + [0, n - 1, -1]:
        assert Trace.as_dict(packed[i]) == Trace.as_dict(records[i])
    for _ in range(200):
        a, b = rng.randrange(-n - 5, n + 5), rng.randrange(-n - 5, n + 5)
        step = rng.choice([None, 1, 2, -1, 3])
        assert _said(packed[a:b:step]) == _said(records[a:b:step])
    assert _said(packed[-2000:]) == _said(records[-2000:]) and _said(packed[:50]) == _said(records[:50])
    # Read twice, a record is equal to itself: its message copies are equal and hash alike.
    assert list(packed) == list(packed) and packed == list(packed)
    assert packed[123] in packed and packed.index(packed[123]) == 123
    assert packed.count(packed[5]) == 1 + sum(r == packed[5] for r in packed[6:])
    copied = pickle.loads(pickle.dumps(packed))
    assert isinstance(copied, CompactRecords) and _said(copied) == _said(records)
    with pytest.raises(IndexError, match=f"holds {n} records"):
        packed[n]
    with pytest.raises(TypeError, match="integers or slices"):
        packed["3"]


def test_a_read_message_is_a_copy_with_the_original_s_fields():
    records = _records()
    packed = CompactRecords(records, chunk=7)
    at = next(i for i, r in enumerate(records) if r[3] is not None)
    original, first, again = records[at][3], packed[at][3], next(iter(packed[at:]))[3]
    assert first == again and first is not again and hash(first) == hash(again) == hash(original.id)
    assert first.to_dict() == original.to_dict() and repr(first) == repr(original)
    assert first != original  # a copy never mixes with a live message (they hash differently)
    with pytest.raises(AttributeError):
        first.payload = None  # read-only
    # The newest records, still waiting as they came, read back as copies too.
    assert list.__len__(packed) and all(type(r[3]) is StoredMessage for r in packed[-list.__len__(packed):]
                                        if r[3] is not None)


def test_details_and_times_that_are_not_floats_come_back_as_given():
    detail = {"reason": "a drop"}
    plain = Trace()
    packed = Trace(compact=True)
    packed.records = CompactRecords(chunk=2)
    for trace in (plain, packed):
        trace.record(0.5, "note", "a")
        trace.record(10, "note", "b", **detail)  # a run resumed at until=10 stamps an int
        trace.record(10.25, "note", None)
    packed.records.settle()
    assert list.__len__(packed.records) == 1  # two in columns, one waiting
    assert packed.records[1][0] == 10 and type(packed.records[1][0]) is int
    assert packed.records[1][4] == detail and packed.records[0][4] is None
    assert packed.to_jsonl() == plain.to_jsonl() and '"time":10}' in packed.to_jsonl()


def test_more_services_than_two_bytes_can_number():
    records = [(float(i), "note", f"service-{i}", None, None) for i in range(70_000)]
    packed = CompactRecords(records, chunk=10_000)
    assert packed._chunks[0].services.typecode == "H" and packed._chunks[-1].services.typecode == "I"
    assert list(packed) == records


def test_a_compact_trace_only_grows():
    packed = CompactRecords([(0.0, "note", "a", None, None)] * 3, chunk=2)
    for change in (lambda: packed.insert(0, None), lambda: packed.pop(), packed.clear,
                   packed.sort, packed.reverse, lambda: packed.__setitem__(0, None),
                   lambda: packed.__delitem__(0), lambda: packed.remove(packed[0])):
        with pytest.raises(TypeError, match="only grows"):
            change()
    assert len(packed) == 3


def test_records_in_columns_take_a_quarter_of_the_bytes_of_tuples():
    records = scenarios.run("order", "orchestration", orders=1_000).trace.records
    assert len(records) > 30_000

    def kept(build):
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        copy = build()
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(copy) == len(records)
        return (size - base) / len(records)

    # New tuples (and list slots) over the same times, messages and details, against
    # columns over them: both keep the messages the records point to, neither copies them.
    tuples = kept(lambda: [(t, k, s, m, d) for t, k, s, m, d in records])
    columns = kept(lambda: CompactRecords(records, chunk=4_096))
    assert tuples > 80  # 80 bytes a 5-tuple, 8 its slot
    # Measured 23.2 against 88.1: 8 a time, 2 a kind, 2 a service, 8 a message, the details
    # of an orchestrated run (about one record in four has one), the newest tuples waiting.
    assert columns < 0.35 * tuples, f"columns took {columns:.1f} bytes per record, tuples {tuples:.1f}"


def test_trace_takes_true_false_or_compact():
    with pytest.raises(MicrolabError, match="trace must be True .* or 'compact'.*got 'fast'"):
        System(trace="fast")
    with pytest.raises(MicrolabError, match="got 1"):
        System(trace=1)
    assert System(trace="compact").trace.enabled


def test_records_of_odd_things_come_back_as_they_were_recorded():
    odd = Message(1, "command", ["not", "hashable"], "a", "b", None, {}, "c", None, 0.0)
    records = [(0.0, "note", "a", {"a": "dict"}, None), (1.0, "note", "a", odd, {}),
               (2.0, "note", "a", None, None), (3.0, "note", "a", "text", None)] * 3
    packed = CompactRecords(records, chunk=4)
    assert list.__len__(packed) == 0 and list(packed) == records
    assert packed[5][3] is odd and packed[5][4] == {}  # an empty detail stays a dict
