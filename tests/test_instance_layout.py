"""Services keep their attributes inline, as CPython 3.11 stores a plain object's.

Reading an instance's ``__dict__`` (``vars(service)``, ``service.__dict__.get``), or giving
instances of one class more than 30 attribute names, makes CPython turn the inline values
into a real dict, and every attribute access on that service is slower from then on. The
kernel benchmark lost 13-20% that way once (``System.add`` read ``vars(service)``). The
probe: a service whose values are inline has no dict among its ``gc.get_referents``; one
whose values were moved into a dict lists that dict (it holds the key ``mailbox``).
"""

import gc
import sys

import pytest

from microlab import Service, System, scenarios
from microlab.faults import FaultPlan
from microlab.services import ServiceDefinitionError

pytestmark = pytest.mark.skipif(sys.implementation.name != "cpython" or sys.version_info < (3, 11),
                                reason="inline attribute values are CPython 3.11+'s layout")


def _in_a_dict(service) -> bool:
    return any(type(r) is dict and "mailbox" in r for r in gc.get_referents(service))


def test_the_probe_sees_a_materialised_dict():
    service = Service("probe")
    assert not _in_a_dict(service)
    vars(service)  # what System.add once did
    assert _in_a_dict(service)


@pytest.mark.parametrize("pattern", ["orchestration", "choreography", "hybrid"])
def test_no_service_of_a_run_keeps_its_attributes_in_a_dict(pattern):
    result = scenarios.order_saga(pattern, orders=3, seed=1) if pattern != "hybrid" else scenarios.hybrid(orders=3, seed=1)
    in_a_dict = [name for name, s in result.system.services.items() if _in_a_dict(s)]
    assert in_a_dict == []


def test_an_orchestrator_with_a_standby_that_took_over_stays_inline():
    result = scenarios.order_saga("orchestration", orders=8, seed=2, standby=True, failover_delay=0.5,
                                  faults=FaultPlan().crash("orchestrator", at=0.3))
    assert result.system["orchestrator"].active == "orchestrator-standby"  # it took over
    in_a_dict = [name for name, s in result.system.services.items() if _in_a_dict(s)]
    assert in_a_dict == []


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
