"""Message accounting under composed faults: conservation explains every copy."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microlab import Service, System
from microlab.faults import FaultPlan
from microlab.network import Delay, Drop, Duplicate, Partition
from microlab.trace import DROP, DUPLICATE


class Sink(Service):
    def on_Note(self, msg):
        pass


def test_a_duplicate_then_a_drop_records_a_drop_per_copy():
    system = System(seed=1, latency=0.01)
    system.add(Sink("sink"))
    FaultPlan().duplicate(destination="sink").drop(destination="sink").apply(system)
    system.inject("sink", "Note")
    system.run()
    assert len(system.trace.of_kind(DUPLICATE)) == 1 and len(system.trace.of_kind(DROP)) == 2
    report = system.conservation()
    assert report.ok, str(report)
    assert (report.sent, report.duplicated, report.dropped, report.delivered) == (1, 1, 2, 0)


FAULTS = st.one_of(
    st.builds(lambda r, d: Drop(rate=r, destination=d), st.floats(0, 1), st.sampled_from([None, "a", "b"])),
    st.builds(lambda r, d: Duplicate(rate=r, destination=d), st.floats(0, 1), st.sampled_from([None, "a", "b"])),
    st.builds(lambda r, x: Delay(rate=r, extra=x), st.floats(0, 1), st.floats(0, 0.5)),
    st.builds(lambda s, e: Partition(start=s, end=s + e, groups=(("a",), ("b",))), st.floats(0, 1), st.floats(0, 1)),
)


class Relay(Service):
    """Sends a note on to the other service a few times: traffic in both directions."""

    def on_Note(self, msg):
        hops = msg.payload.get("hops", 0)
        if hops < 3:
            self.send("b" if self.name == "a" else "a", "Note", {"hops": hops + 1})


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(faults=st.lists(FAULTS, max_size=6), seed=st.integers(0, 1000), until=st.sampled_from([None, 0.02]))
def test_conservation_holds_and_explains_every_copy_for_any_composition_of_faults(faults, seed, until):
    system = System(seed=seed, latency=0.01)
    system.add(Relay("a"), Relay("b"))
    for fault in faults:
        system.network.add_fault(fault)
    for i in range(5):
        system.inject("a" if i % 2 else "b", "Note", {"hops": 0}, at=i * 0.005)
    system.run(until=until)
    report = system.conservation()
    assert report.ok, f"{faults}: {report}"
    # Every copy is one of: delivered, dropped, still in flight.
    assert report.sent + report.duplicated == report.delivered + report.dropped + report.in_flight
