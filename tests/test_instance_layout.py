"""Services keep their per-message state in slots, whatever a run does to them.

``Service`` lists the state the hot path reads and writes per message in ``__slots__``
(``busy``, ``up``, ``mailbox``, ...): Python reads a slot as fast as an inline attribute,
and the compiled hot path (microlab/_speedups.c) reads it at a fixed offset. A subclass
that redefined one of those names at class level would push it into the instance's
``__dict__``, and the compiled path would read that service attribute by attribute
(correct, slower: tests/test_hotpath.py). These tests check that no service of the
course's runs does, and that reading ``vars(service)``, harmless now, still works.
"""

import pytest

from microlab import Service, System, scenarios
from microlab.faults import FaultPlan
from microlab.services import ServiceDefinitionError

HOT = ("name", "up", "busy", "incarnation", "_context", "mailbox", "handlers")


def _off_slots(service) -> list[str]:
    """The hot names this service keeps in its __dict__ (or reads from a class attribute)."""
    slots = Service.__dict__
    return [name for name in HOT if name in vars(service) or getattr(type(service), name) is not slots[name]]


def test_the_probe_sees_a_name_moved_off_its_slot():
    class Shadow(Service):
        busy = 0

    assert _off_slots(Service("probe")) == []
    assert _off_slots(Shadow("shadow")) == ["busy"]


@pytest.mark.parametrize("pattern", ["orchestration", "choreography", "hybrid"])
def test_no_service_of_a_run_keeps_its_state_off_the_slots(pattern):
    result = scenarios.order_saga(pattern, orders=3, seed=1) if pattern != "hybrid" else scenarios.hybrid(orders=3, seed=1)
    off = {name: _off_slots(s) for name, s in result.system.services.items() if _off_slots(s)}
    assert off == {}


def test_an_orchestrator_with_a_standby_that_took_over_keeps_its_slots():
    result = scenarios.order_saga("orchestration", orders=8, seed=2, standby=True, failover_delay=0.5,
                                  faults=FaultPlan().crash("orchestrator", at=0.3))
    assert result.system["orchestrator"].active == "orchestrator-standby"  # it took over
    off = {name: _off_slots(s) for name, s in result.system.services.items() if _off_slots(s)}
    assert off == {}


def test_an_instance_attribute_hiding_the_api_is_still_refused_by_name():
    class Payment(Service):
        def __init__(self):
            super().__init__("payment")
            self.reply = "ok"

    with pytest.raises(ServiceDefinitionError, match="'reply'"):
        System(seed=1).add(Payment())


def test_a_handle_assigned_to_the_instance_is_still_called():
    seen = []
    service = Service("echo")
    service.handle = lambda msg: seen.append(msg.type)
    system = System(seed=1)
    system.add(service)
    system.inject("echo", "Ping", {})
    system.run()
    assert seen == ["Ping"]


def test_a_subclass_overriding_handle_is_decided_per_class():
    class Loud(Service):
        def handle(self, msg):
            """Count, then dispatch as usual."""
            self.count = getattr(self, "count", 0) + 1

    assert Loud._plain_handle is False and Service._plain_handle is True
    assert "_plain_handle" not in Loud("x").__dict__
