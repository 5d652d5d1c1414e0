"""The network: latency models, per-link overrides and the fault hooks."""

import pytest

from microlab import Constant, Delay, Drop, Duplicate, Exponential, Partition, Service, System
from microlab.trace import DELAY, DELIVER, DROP, DUPLICATE


class Sink(Service):
    def __init__(self, name):
        super().__init__(name)
        self.got = []

    def on_Note(self, msg):
        self.got.append((self.now, msg.id))


def _system(**kw):
    system = System(latency=Constant(1.0), **kw)
    system.add(Sink("a"), Sink("b"), Sink("c"))
    return system


def test_default_and_per_link_latency():
    system = _system()
    system.network.set_latency("client", "b", 5.0)
    system.inject("a", "Note")
    system.inject("b", "Note")
    system.run()
    assert system["a"].got[0][0] == 1.0 and system["b"].got[0][0] == 5.0


def test_drop_by_type_in_a_window_records_the_reason():
    system = _system()
    system.network.add_fault(Drop(types=("Note",), start=1.0, end=2.0))
    for t in (0.5, 1.5, 2.5):
        system.inject("a", "Note", at=t)
    system.run()
    assert len(system["a"].got) == 2
    [drop] = system.trace.of_kind(DROP)
    assert drop.message.sent_at == 1.5 and drop.detail["reason"] == "drop types=Note t=1..2"


def test_duplicate_delivers_the_same_message_twice():
    system = _system()
    system.network.add_fault(Duplicate(destination="a"))
    system.inject("a", "Note")
    system.run()
    ids = [mid for _, mid in system["a"].got]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert len(system.trace.of_kind(DUPLICATE)) == 1 and len(system.trace.of_kind(DELIVER)) == 2
    assert system.conservation().ok


def test_delay_adds_time_and_is_recorded():
    system = _system()
    system.network.add_fault(Delay(extra=3.0, destination="b"))
    system.inject("b", "Note")
    system.run()
    assert system["b"].got[0][0] == 4.0
    assert system.trace.of_kind(DELAY)[0].detail["extra"] == 3.0


def test_partition_separates_groups_only_during_its_window():
    system = _system()
    system.network.partition(["client", "a"], ["b"], start=0, end=10)
    system.inject("a", "Note")
    system.inject("b", "Note")
    system.inject("b", "Note", at=10)
    system.inject("c", "Note")  # c is in no group: reachable
    system.run()
    assert len(system["a"].got) == 1 and len(system["c"].got) == 1
    assert [t for t, _ in system["b"].got] == [11.0]
    assert "partition [client, a] | [b]" in system.trace.of_kind(DROP)[0].detail["reason"]


def test_rate_draws_from_the_seed():
    def delivered(seed):
        system = System(seed=seed, latency=Exponential(1.0))
        system.add(Sink("a"))
        system.network.add_fault(Drop(rate=0.5))
        for i in range(200):
            system.inject("a", "Note", at=i)
        system.run()
        return [mid for _, mid in system["a"].got]

    assert delivered(1) == delivered(1)
    assert delivered(1) != delivered(2)
    assert 60 < len(delivered(1)) < 140


def test_fault_parameters_are_checked():
    with pytest.raises(ValueError, match="rate"):
        Drop(rate=2)
    with pytest.raises(ValueError, match="before start"):
        Partition(groups=[["a"], ["b"]], start=5, end=1)
    with pytest.raises(TypeError, match="add_fault needs"):
        System().network.add_fault("drop everything")
