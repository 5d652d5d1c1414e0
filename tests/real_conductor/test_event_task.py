"""The EVENT task and event handlers on the real Conductor against the simulator.

One workflow publishes with an EVENT task (sink ``conductor``) and WAITs; two handlers
listen on ``conductor:event_probe:publish``: one (condition true) completes the WAIT and
starts a second workflow, the other (condition false) does nothing. Both sides must give
the same statuses and the same outputs, ids aside.

A handler registered on a running Conductor listens only after the server's next refresh
of its event queues (every 60 s, ``DefaultEventQueueManager``), so this test waits up to
about 90 s of wall time (the server is idle meanwhile).
"""

from __future__ import annotations

import copy
import time

from microlab import System
from microlab.choreography import Broker
from microlab.orchestration import Orchestrator

WORKFLOWS = [
    {"name": "event_probe", "version": 1, "schemaVersion": 2, "ownerEmail": "microlab@example.org",
     "tasks": [{"name": "publish", "taskReferenceName": "publish", "type": "EVENT", "sink": "conductor",
                "inputParameters": {"orderId": "${workflow.input.orderId}"}},
               {"name": "await", "taskReferenceName": "await", "type": "WAIT"}]},
    {"name": "event_started", "version": 1, "schemaVersion": 2, "ownerEmail": "microlab@example.org",
     "tasks": [{"name": "hold", "taskReferenceName": "hold", "type": "WAIT", "inputParameters": {"duration": "1s"}}]},
]
HANDLERS = [
    {"name": "probe_complete", "event": "conductor:event_probe:publish", "active": True,
     "condition": "$.orderId > 5",
     "actions": [{"action": "complete_task",
                  "complete_task": {"workflowId": "${workflowInstanceId}", "taskRefName": "await",
                                    "output": {"got": "${orderId}"}}},
                 {"action": "start_workflow",
                  "start_workflow": {"name": "event_started", "input": {"orderId": "${orderId}"},
                                     "correlationId": "${correlationId}"}}]},
    {"name": "probe_skip", "event": "conductor:event_probe:publish", "active": True,
     "condition": "$.orderId > 100",
     "actions": [{"action": "start_workflow", "start_workflow": {"name": "event_started", "input": {}}}]},
]


def simulated():
    """(main execution's tasks, started workflows' inputs) in the simulator, as plain data."""
    system = System(seed=1)
    orchestrator, _ = system.add(Orchestrator(), Broker())
    orchestrator.register(copy.deepcopy(WORKFLOWS))
    orchestrator.add_event_handlers(copy.deepcopy(HANDLERS))
    orchestrator.start("event_probe", {"orderId": 7}, correlation="order-7")
    system.run(until=30)
    main = orchestrator.instance("order-7")
    tasks = [(t.full_ref, t.step.type, t.status, t.output) for t in main.tasks]
    started = [(i.status, i.input) for i in orchestrator.workflows("order-7") if i.name == "event_started"]
    return main.status, main.id, tasks, started


def normal(value, ids: dict):
    """``value`` with ids replaced by placeholders (the two sides name instances their own way)."""
    if isinstance(value, dict):
        return {k: normal(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def test_event_task_and_handlers_agree_with_the_real_conductor(api):
    api.register(copy.deepcopy(WORKFLOWS), [])
    for handler in HANDLERS:
        response = api.request("POST", "/api/event", json=handler)
        assert response.status_code < 400, response.text
    wf_id = api.start("event_probe", {"orderId": 7}, correlation="order-7")
    deadline = time.monotonic() + 150
    while True:
        real = api.workflow(wf_id)
        if real["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    found = api.request("GET", "/api/workflow/event_started/correlated/order-7",
                        params={"includeClosed": "true", "includeTasks": "false"}).json()

    status, sim_id, sim_tasks, sim_started = simulated()
    real_tasks = real["tasks"]
    message_id = real_tasks[1]["outputData"].get("conductor.event.messageId")
    real_ids = {wf_id: "<workflow>", message_id: "<message>"}
    sim_message = sim_tasks[1][3].get("conductor.event.messageId")
    sim_ids = {sim_id: "<workflow>"}

    assert real["status"] == status == "COMPLETED"
    assert [(t["referenceTaskName"], t["taskType"], t["status"]) for t in real_tasks] == \
        [(ref, ttype, st) for ref, ttype, st, _ in sim_tasks]
    # The EVENT task's output, field for field (what it published).
    assert normal(real_tasks[0]["outputData"], real_ids) == normal(sim_tasks[0][3], sim_ids)
    # The WAIT completed by the handler: the action's fields resolved, plus the event fields.
    sim_wait = normal(dict(sim_tasks[1][3], **{"conductor.event.messageId": "<message>"}), sim_ids)
    assert normal(real_tasks[1]["outputData"], real_ids) == sim_wait
    assert sim_message is not None
    # One workflow started (the false condition started none), with the same input.
    assert len(found) == len(sim_started) == 1
    real_input = normal(found[0]["input"], real_ids)
    sim_input = dict(sim_started[0][1], **{"conductor.event.messageId": "<message>"})
    assert real_input == sim_input
