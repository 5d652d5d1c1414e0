"""The compiled hot path (microlab/_speedups.c) against the pure-Python one, case by case.

Every test here runs the same model twice in this process, once on each path, and asks for
the same trace byte for byte (digest and JSON lines), the same failures and the same state.
The cases are the ones the compiled path hands back to Python, or must treat exactly as
Python does: faults, a service down, work times, a full mailbox, overridden methods, a
handler that raises or crashes its own service, an interrupt, a learner's mistakes.

The whole suite also runs with ``MICROLAB_PURE=1`` (``make test`` does both), so that the
pure-Python path passes every test on its own.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from microlab import Exponential, Service, System, hotpath, kernel, scenarios
from microlab.errors import MicrolabError, UnknownServiceError
from microlab.network import Delay, Drop, Duplicate

BUILT = hotpath.COMPILED
if not BUILT and os.environ.get("CI") and not os.environ.get("MICROLAB_PURE"):
    raise RuntimeError("microlab._speedups is not built under CI: `make setup` builds it (needs a C compiler)")
needs_build = pytest.mark.skipif(
    not BUILT, reason="the compiled hot path is not built or MICROLAB_PURE is set (build it: make setup)")


def both(build, run=lambda system: system.run()):
    """(compiled, pure) results of ``run(build())``: each a dict of what a run leaves."""
    out = []
    for pure in (False, True):
        with hotpath.pure_python() if pure else contextlib.nullcontext():
            system = build()
            assert (system._send is not hotpath.send_message) == (not pure)
            error = None
            try:
                run(system)
            except Exception as exc:  # compared below: the same error either way
                error = f"{type(exc).__name__}: {exc}"
            out.append({
                "digest": system.trace.digest(),
                "jsonl": system.trace.to_jsonl(),
                "failures": [(f.time, f.service, f.error) for f in system.failures],
                "events": system.sim.events, "now": system.now, "ids": system._ids,
                "state": {name: (s.busy, s.up, s.incarnation, len(s.mailbox)) for name, s in system.services.items()},
                "error": error,
            })
    return out


def assert_same(build, run=lambda system: system.run()):
    compiled, pure = both(build, run)
    assert compiled == pure
    return compiled


class Ping(Service):
    """Answers every Ping with a Pong; counts them."""

    def __init__(self, name="ping", **kw):
        super().__init__(name, **kw)
        self.seen = 0

    def on_Ping(self, msg):
        self.seen += 1
        self.reply(msg, "Pong", msg.payload)


class Caller(Service):
    """Sends ``n`` Pings to ``to``, one every ``gap`` seconds, and keeps the Pongs."""

    def __init__(self, to="ping", n=20, gap=0.01, name="caller"):
        super().__init__(name)
        self.to, self.n, self.gap, self.pongs = to, n, gap, []

    def on_start(self):
        for i in range(self.n):
            self.after(i * self.gap, self.send, self.to, "Ping", {"i": i})

    def on_Pong(self, msg):
        self.pongs.append(msg.payload["i"])


def pair(*, latency=Exponential(0.01), ping=Ping, caller_n=20, gap=0.01, seed=4, **ping_kw):
    def build():
        system = System(seed=seed, latency=latency, warn_on_failure=False)
        system.add(ping(**ping_kw), Caller(n=caller_n, gap=gap))
        return system
    return build


@needs_build
def test_the_paths_are_wired_as_built():
    system = System()
    assert system._send == system._hub.send and system.network._deliver is system._hub.delivery
    with hotpath.pure_python():
        plain = System()
    assert plain._send is hotpath.send_message and plain.network._deliver == plain.network._arrive


@needs_build
@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
@pytest.mark.parametrize("flow", list(scenarios.FLOWS))
def test_every_flow_and_pattern_gives_the_same_trace(flow, pattern):
    middle = {"order": "payment", "travel": "hotel", "content": "encode"}[flow]

    def build():
        return scenarios.run(flow, pattern, orders=25, arrival_rate=20.0, failure={middle: 0.3}, retries=1,
                             seed=11).system
    compiled = assert_same(build, run=lambda system: None)
    assert compiled["events"] > 100


@needs_build
def test_a_plain_exchange_and_its_numbers():
    result = assert_same(pair())
    assert result["ids"] == 40 and result["error"] is None


@needs_build
@pytest.mark.parametrize("fault", [Drop(rate=0.3), Duplicate(rate=0.5), Delay(rate=0.5, extra=Exponential(0.05)),
                                   Drop(types=("Pong",), start=0.05, end=0.1)])
def test_network_faults_go_through_python_and_agree(fault):
    def build():
        system = pair()()
        system.network.add_fault(fault)
        return system
    assert_same(build)


@needs_build
def test_links_and_latency_kinds_agree():
    def build():
        system = pair(latency=0.02)()
        system.network.set_latency("caller", "ping", Exponential(0.03))
        return system
    assert_same(build)
    assert_same(pair(latency=None))


@needs_build
def test_work_times_workers_and_a_full_mailbox_agree():
    assert_same(pair(work_time=Exponential(0.02), workers=2, caller_n=40, gap=0.001))
    assert_same(pair(workers=1, caller_n=30, gap=0.0))


@needs_build
def test_a_crash_and_restart_mid_run_agree():
    def build():
        system = pair(work_time=0.005, caller_n=40, gap=0.002)()
        system.crash("ping", at=0.02)
        system.restart("ping", at=0.05)
        return system
    result = assert_same(build)
    assert '"crash"' in result["jsonl"] and '"lost"' in result["jsonl"]


class Flaky(Ping):
    """Fails on every third Ping, and crashes itself on the seventh."""

    def on_Ping(self, msg):
        self.seen += 1
        if self.seen == 7:
            self.crash("seventh ping")
        if self.seen % 3 == 0:
            raise ValueError(f"ping {msg.payload['i']} is a multiple of three")
        self.reply(msg, "Pong", msg.payload)


@needs_build
def test_a_failing_handler_and_a_self_crash_agree():
    result = assert_same(pair(ping=Flaky))
    assert result["failures"] and result["state"]["ping"][1] is False


class Overridden(Ping):
    """Overrides handle, _receive and send: the compiled path must call each of them."""

    calls = []

    def handle(self, msg):
        Overridden.calls.append(("handle", msg.type))
        super().handle(msg)

    def _receive(self, msg):
        Overridden.calls.append(("_receive", msg.type))
        super()._receive(msg)

    def send(self, to, type, payload=None, **kw):
        Overridden.calls.append(("send", type))
        return super().send(to, type, payload, **kw)


@needs_build
def test_overridden_handle_receive_and_send_are_called_on_both_paths():
    Overridden.calls = []
    assert_same(pair(ping=Overridden, caller_n=5))
    half = len(Overridden.calls) // 2
    assert Overridden.calls[:half] == Overridden.calls[half:]
    assert {"handle", "_receive", "send"} == {name for name, _ in Overridden.calls}


class Shadowing(Service):
    """A subclass whose class attribute takes the name of one of Service's slots."""

    busy = 0
    service_name = "ping"

    def on_Ping(self, msg):
        self.reply(msg, "Pong", msg.payload)


@needs_build
def test_a_class_that_shadows_a_slot_is_read_by_name():
    assert_same(pair(ping=lambda **kw: Shadowing(**kw)))


@needs_build
def test_learner_mistakes_give_the_same_errors():
    class Lost(Service):
        def on_Ping(self, msg):
            self.send("nowhere", "Pong")

    def build():
        system = System(seed=1, warn_on_failure=False)
        system.add(Lost("ping"), Caller(n=3))
        return system
    result = assert_same(build)
    assert "nowhere" in result["failures"][0][2]
    with pytest.raises(MicrolabError, match="not part of a system"):
        Ping().send("x", "Ping")
    system = System()
    system.add(Ping("a"))
    with pytest.raises(UnknownServiceError):
        system["a"].send("b", "Ping")


@needs_build
def test_an_interrupt_in_a_handler_stops_the_run_on_both_paths():
    class Interrupted(Ping):
        def on_Ping(self, msg):
            if msg.payload["i"] == 4:
                raise KeyboardInterrupt
            super().on_Ping(msg)

    def run(system):
        with pytest.raises(KeyboardInterrupt):
            system.run()

    result = assert_same(pair(ping=Interrupted), run)
    assert result["state"]["ping"][0] == 1     # as in Python: the interrupt leaves its worker counted


@needs_build
def test_the_event_budget_and_until_agree():
    assert_same(pair(caller_n=50), run=lambda system: system.run(until=0.2))
    assert_same(pair(caller_n=50), run=lambda system: system.sim.run(max_events=37))
    assert_same(pair(caller_n=50), run=lambda system: [system.run(until=t) for t in (0.1, 0.1, 0.3, 2)])


@needs_build
def test_a_compact_and_an_untraced_run_agree():
    def compact():
        system = System(seed=2, latency=Exponential(0.01), trace="compact")
        system.add(Ping(), Caller(n=30))
        return system

    def untraced():
        system = System(seed=2, latency=Exponential(0.01), trace=False)
        system.add(Ping(), Caller(n=30))
        return system
    assert_same(compact)
    assert assert_same(untraced)["ids"] == 60


@needs_build
def test_containers_replaced_mid_run_are_seen():
    """A learner may assign new containers (network.faults = [...]); the compiled path reads them again."""
    def build():
        system = pair(caller_n=30)()
        system.sim.schedule_at(0.1, lambda _: setattr(system.network, "faults", [Drop(types=("Pong",))]))
        system.sim.schedule_at(0.2, lambda _: setattr(system.network, "links", {("caller", "ping"): Exponential(0.5)}))
        return system
    result = assert_same(build)
    assert '"drop"' in result["jsonl"]


@needs_build
def test_the_compiled_heap_keeps_heapqs_order_and_layout_with_ties_and_int_times():
    """The compiled loop pops and the compiled send pushes without heapq, Python's schedule
    still uses heapq on the same list: the order, and the very layout, must be heapq's."""
    layouts = {}

    def build():
        # No latency: every reply is due at the instant it is sent, a tie with whatever else
        # is due then; int times (schedule_at(1, ...)) and a crash (schedule_first, negative
        # seq) go through Python's comparison rather than the compiled one's float test.
        system = System(seed=3, latency=None, warn_on_failure=False)
        system.add(Ping(), Caller(n=40, gap=0.0))
        seen = layouts.setdefault(hotpath.compiled.speedups is None, [])
        for when in (0, 1, 2.0, 2.5):
            system.sim.schedule_at(when, lambda _: seen.append([entry[:2] for entry in system.sim._heap]))
        system.sim.schedule_at(1, lambda _: system["caller"].after(0.5, system["caller"].send, "ping", "Ping", {"i": -1}))
        system.crash("ping", at=2, duration=0.25)
        return system
    result = assert_same(build)
    assert result["ids"] > 80 and '"crash"' in result["jsonl"]
    assert layouts[False] == layouts[True] and any(len(heap) > 3 for heap in layouts[False])
