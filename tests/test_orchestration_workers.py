"""Task workers: a method per task, injected failures, idempotency."""

import pytest

from microlab import Duplicate, HandlerFailureWarning, System
from microlab.orchestration import Orchestrator, TaskFailed, ToyWorker, Worker, execution, workflow
from microlab.orchestration import model as m


class Shop(Worker):
    def take_order(self, input):
        self.effect("order", who=input.get("who"))
        call = self.task_call
        return {"ref": call.ref, "attempt": call.attempt, "workflow": call.workflow_id}

    def decline(self, input):
        raise TaskFailed("no stock", output={"left": 0})

    def _helper(self):
        return "not a task"

    def on_Ping(self, msg):
        self.reply(msg, "Pong")


def run(wf, worker, correlation="tx", **orch_kw):
    system = System(seed=2, latency=0.01)
    orchestrator = system.add(Orchestrator(**orch_kw))
    system.add(worker)
    orchestrator.register(wf)
    orchestrator.start(wf.name, {"who": "ana"}, correlation=correlation)
    system.run()
    return system, execution(system, correlation)


def test_public_methods_serve_the_tasks_of_the_same_name():
    shop = Shop()
    assert shop.serves() == ["decline", "take_order"]
    system, ex = run(workflow("w").simple("take_order", input={"who": "${workflow.input.who}"}).build(), shop)
    assert ex.output == {"ref": "take_order", "attempt": 1, "workflow": "w-1"}
    [effect] = system.trace.of_kind("effect")
    assert effect.detail == {"effect": "order", "who": "ana"} and effect.correlation == "tx"


def test_other_messages_still_reach_on_handlers():
    system = System()
    system.add(Shop())
    system.inject("shop", "Ping")
    system.run()
    assert [msg.type for msg in system.client.received] == ["Pong"]


def test_task_failed_becomes_a_failed_task_with_its_reason_and_output():
    system, ex = run(workflow("w").simple("decline", retries=0).build(), Shop())
    task = ex.task("decline")
    assert task.status == m.FAILED and task.reason == "no stock" and task.output == {"left": 0}


def test_fail_the_first_attempts_or_all_of_them():
    wf = workflow("w").simple("take_order", retries=3, retry_delay=1).build()
    shop = Shop()
    shop.fail("take_order", times=2, reason="warming up")
    system, ex = run(wf, shop)
    assert [(a.status, a.reason) for a in ex.attempts("take_order")] == [
        ("FAILED", "warming up"), ("FAILED", "warming up"), ("COMPLETED", None)]
    always = Shop()
    always.fail("take_order")
    system, ex = run(wf, always)
    assert [a.status for a in ex.attempts("take_order")] == ["FAILED"] * 4
    with pytest.raises(ValueError, match="times must be a whole number"):
        always.fail("x", times=-1)


def test_fail_rate_draws_from_the_simulation_so_runs_repeat():
    wf = workflow("w").simple("take_order", retries=10, retry_delay=1).build()

    def attempts(seed):
        shop = Shop()
        shop.fail_rate("take_order", 0.5)
        system = System(seed=seed, latency=0.01)
        orchestrator = system.add(Orchestrator())
        system.add(shop)
        orchestrator.register(wf)
        for i in range(5):
            orchestrator.start("w", {}, correlation=f"o{i}")
        system.run()
        return [len(execution(system, f"o{i}").attempts("take_order")) for i in range(5)]

    assert attempts(7) == attempts(7)
    assert max(attempts(7)) > 1
    with pytest.raises(ValueError, match="between 0 and 1"):
        Shop().fail_rate("x", 2)


def test_an_idempotent_worker_answers_a_duplicate_without_doing_the_work_again():
    wf = workflow("w").simple("take_order").build()
    for idempotent, times in ((False, 2), (True, 1)):
        system = System(seed=1, latency=0.01)
        orchestrator = system.add(Orchestrator())
        system.add(Shop(idempotent=idempotent))
        system.network.add_fault(Duplicate(types=("take_order",)))
        orchestrator.register(wf)
        orchestrator.start("w", {}, correlation="tx")
        system.run()
        assert len(system.trace.of_kind("effect")) == times
        assert execution(system, "tx").status == m.COMPLETED


def test_a_task_without_a_method_and_a_bad_return_value_are_explained():
    class Half(Worker):
        def a(self, input):
            return "done"

    system = System(seed=1)
    # Pushed, the command for b reaches a worker with no method for it (polled, b would wait
    # in its queue, unpolled: see test_orchestration_polling).
    orchestrator = system.add(Orchestrator(task_routes={"b": "half"}, dispatch="push"))
    system.add(Half())
    orchestrator.register(workflow("w").simple("a", retries=0).simple("b").build())
    orchestrator.register(workflow("v").simple("b", retries=0).build())
    orchestrator.start("w", {}, correlation="one")
    orchestrator.start("v", {}, correlation="two")
    with pytest.warns(HandlerFailureWarning):
        system.run()
    errors = [f.error for f in system.failures]
    assert any("half.a returned 'done'; a task's output must be a dict" in e for e in errors)
    assert any("half received task 'b' but has no method for it" in e and "def b(self, input)" in e
               for e in errors)


def test_toy_worker_returns_configured_outputs_and_serves_nothing_by_name():
    toy = ToyWorker("toy", outputs={"a": {"x": 1}})
    assert toy.serves() == []
    system, ex = run(workflow("w").simple("a").simple("b").build(), toy, task_routes={"a": "toy", "b": "toy"})
    assert ex.task("a").output == {"x": 1} and ex.task("b").output == {}
