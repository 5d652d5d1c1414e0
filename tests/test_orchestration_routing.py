"""Routing: which service runs each SIMPLE and HTTP task; unknown services are definition errors."""

import pytest

from microlab import DefinitionError, MicrolabError, Service, System
from microlab.orchestration import Orchestrator, Worker, workflow
from microlab.orchestration.routing import first_segment, http_request, static_uri_prefix


class Payment(Worker):
    def charge_payment(self, input):
        return {}


def plans(orchestrator, wf):
    [plan] = orchestrator.register(wf)
    return {step.ref: step.service for step in plan.walk()}


def test_routes_in_order_explicit_then_definition_then_worker_then_name():
    system = System()
    orchestrator = system.add(Orchestrator(task_routes={"explicit": "billing"}))
    system.add(Payment(), Service("billing"), Service("ledger"), Service("by_name"))
    wf = (workflow("w").simple("explicit").simple("defined", service="ledger")
          .simple("charge_payment").simple("by_name").build())
    assert plans(orchestrator, wf) == {"explicit": "billing", "defined": "ledger",
                                       "charge_payment": "payment", "by_name": "by_name"}


def test_an_unknown_service_names_the_task_its_path_and_the_closest_service():
    system = System()
    orchestrator = system.add(Orchestrator())
    system.add(Payment())
    wf = workflow("w").simple("charge_payment").simple("charge_paymnt").build()
    with pytest.raises(DefinitionError) as info:
        orchestrator.register(wf)
    [(path, message)] = info.value.faults
    assert path == "$.tasks[1].name"
    assert "no service runs task 'charge_paymnt'" in message and "did you mean 'payment'?" in message
    assert orchestrator.registry.names() == []  # nothing registered


def test_a_route_to_a_missing_service_is_an_error_too():
    system = System()
    orchestrator = system.add(Orchestrator(task_routes={"charge_payment": "paymnet"}))
    system.add(Payment())
    with pytest.raises(DefinitionError, match="not in the system; did you mean 'payment'"):
        orchestrator.register(workflow("w").simple("charge_payment").build())


def test_two_workers_serving_one_task_must_be_told_apart():
    system = System()
    orchestrator = system.add(Orchestrator())
    system.add(Payment(), Payment("payment2"))
    with pytest.raises(DefinitionError, match="several workers serve task 'charge_payment'"):
        orchestrator.register(workflow("w").simple("charge_payment").build())


def test_http_tasks_route_by_the_first_segment_of_the_uri():
    system = System()
    orchestrator = system.add(Orchestrator(http_routes={"payments": "payment"}))
    system.add(Service("inventory"), Service("payment"))
    wf = (workflow("w").http("reserve", "http://localhost:8088/inventory/reserve")
          .http("charge", "/payments/charge").http("dyn", "/${workflow.input.where}/x").build())
    assert plans(orchestrator, wf) == {"reserve": "inventory", "charge": "payment", "dyn": None}


def test_an_http_uri_naming_no_service_is_an_error_at_its_uri():
    system = System()
    orchestrator = system.add(Orchestrator())
    system.add(Service("inventory"))
    with pytest.raises(DefinitionError) as info:
        orchestrator.register(workflow("w").http("reserve", "http://host/inventroy/reserve").build())
    [(path, message)] = info.value.faults
    assert path == "$.tasks[0].inputParameters.http_request.uri"
    assert "names service 'inventroy'" in message and "did you mean 'inventory'" in message


def test_registering_needs_a_system():
    with pytest.raises(MicrolabError, match="before registering workflows"):
        Orchestrator().register(workflow("w").simple("a").build())


def test_uri_helpers():
    assert first_segment("http://h:1/payment/charge?x=1") == "payment" and first_segment("/") is None
    assert static_uri_prefix("/shipping/book?status=${workflow.input.s}") == "/shipping/book?status="
    assert static_uri_prefix("/${workflow.input.svc}/x") is None
    req = http_request({"uri": "/a/b?x=1&y=2", "method": "post", "body": {"k": 1}})
    assert req == {"method": "POST", "uri": "/a/b?x=1&y=2", "path": "/a/b", "query": {"x": "1", "y": "2"},
                   "headers": {}, "body": {"k": 1}}
