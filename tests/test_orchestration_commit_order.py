"""Commit first, then send: every task command leaves a node only once the log holds its dispatch.

The decider's tests check the order of the actions it returns; these check the shell that
carries them out, through a whole System, by looking at the log at the instant each
command is handed to the network. If the shell sent before committing (or deferred its
commits to the end of a decision), the log would not yet hold the command's dispatch.
"""

import pytest

from microlab import System
from microlab.orchestration import Orchestrator, saga
from microlab.orchestration.toys import saga_services


def order_saga(orchestrator):
    orchestrator.register(saga("order_saga", inputs=["orderId"])
                          .step("reserve_inventory", compensate="release_inventory")
                          .step("charge_payment", compensate="refund_payment")
                          .step("book_shipment", compensate="cancel_shipment").build())


def watch_commands(node, seen):
    """Wrap ``node.send`` so that each task command checks the log at the instant it goes out."""
    send = node.send

    def checked_send(destination, type, payload=None, **kw):
        task_id = payload.get("taskId") if isinstance(payload, dict) else None
        if task_id is not None and {"workflowId", "ref", "attempt"} <= payload.keys():
            logged = {r[2] for r in node.log.records if r[0] == "dispatch" and r[2] == task_id}
            seen.append((node.name, task_id, task_id in logged))
        return send(destination, type, payload, **kw)

    node.send = checked_send


def run_orders(orders=10, **kw):
    system = System(seed=5, latency=0.01)
    orchestrator = system.add(Orchestrator(work_time=0.004, **kw))
    system.add(*saga_services())
    order_saga(orchestrator)
    seen = []
    for node in getattr(orchestrator, "nodes", None) or [orchestrator, orchestrator.standby]:
        if node is not None:
            watch_commands(node, seen)
    for i in range(orders):
        orchestrator.start("order_saga", {"orderId": i}, correlation=f"order-{i}", at=i * 0.1)
    return system, orchestrator, seen


@pytest.mark.parametrize("kw", [dict(dispatch="push"), dict(dispatch="poll"), dict(servers=3)],
                         ids=["push", "poll", "cluster"])
def test_every_command_is_committed_to_the_log_before_it_is_sent(kw):
    system, orchestrator, seen = run_orders(**kw)
    system.run()
    assert all(i.status == "COMPLETED" for i in orchestrator.instances.values())
    assert len(seen) >= 30  # three steps for each of ten orders went out
    late = [s for s in seen if not s[2]]
    assert late == [], f"sent before their dispatch was in the log: {late[:3]}"


def test_the_standby_resends_only_commands_its_replayed_log_holds():
    system, orchestrator, seen = run_orders(dispatch="push", standby=True, failover_delay=1.0)
    system.sim.schedule_at(0.35, lambda _: system.services["orchestrator"].crash(), None)
    system.run()
    by_standby = [s for s in seen if s[0] == "orchestrator-standby"]
    assert by_standby  # it took over and sent commands, resent ones among them
    assert all(s[2] for s in seen)
    assert all(i.status == "COMPLETED" for i in orchestrator.instances.values())
