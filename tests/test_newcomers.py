"""What newcomers trip over: each mistake gets a message that names it."""

import pytest

from microlab import Service, System
from microlab.orchestration import Orchestrator, Worker, execution, workflow
from microlab.orchestration import model as m
from microlab.orchestration.workers import TaskCall
from microlab.services import ServiceDefinitionError
from microlab.trace import END


# -- handlers for lowercase message types ---------------------------------------------------------

def test_a_handler_for_a_lowercase_command_is_picked_up():
    class Flights(Service):
        def on_reserve_flight(self, msg):
            self.effect("reserved")

    system = System(seed=1)
    flights = system.add(Flights("flights"))
    assert "reserve_flight" in flights.handlers
    system.inject("flights", "reserve_flight")
    system.run()
    assert [r.detail["effect"] for r in system.trace.of_kind("effect")] == ["reserved"]


def test_lifecycle_hooks_are_not_message_handlers():
    class Quiet(Service):
        def on_start(self):
            pass

    assert "start" not in Quiet("q").handlers


# -- replies without taskId ----------------------------------------------------------------------

class Careless(Service):
    """Answers by hand and forgets the taskId."""

    def handle(self, msg):
        self.reply(msg, "TaskCompleted", {"output": {"seat": "12A"}})


def test_a_reply_without_task_id_says_what_was_wrong_with_it():
    wf = workflow("trip").simple("book", response_timeout=5, retries=0).build()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"book": "flights"}))
    system.add(Careless("flights"))
    orchestrator.register(wf)
    orchestrator.start("trip", {}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.TIMED_OUT
    assert "no usable answer from flights" in ex.reason
    assert "the TaskCompleted reply from flights could not be matched to a task" in ex.reason
    assert "has 'output' but no 'taskId'" in ex.reason


# -- workers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["crash", "fail", "task"])
def test_a_task_method_named_like_the_worker_api_is_refused_with_the_way_out(name):
    with pytest.raises(ServiceDefinitionError) as info:
        type("Payment", (Worker,), {"charge": lambda self, input: {}, name: lambda self, input: {}})
    message = str(info.value)
    assert f"defines {name}(), but {name} is part of the Worker API" in message
    assert f"self.task({name!r}, self.{name}_task)" in message


def test_the_way_out_serves_a_task_named_crash():
    class Chaos(Worker):
        def __init__(self):
            super().__init__("chaos")
            self.task("crash", self.crash_task)

        def crash_task(self, input):
            return {"ok": True}

    assert "crash" in Chaos().serves()


def test_task_call_docstring_names_the_attribute_that_exists():
    assert "self.task_call" in TaskCall.__doc__
    assert hasattr(Worker, "task_call")


def test_assigning_self_random_says_why_it_cannot():
    class Dice(Service):
        def __init__(self):
            super().__init__("dice")
            self.random = __import__("random").Random(1)

    with pytest.raises(ServiceDefinitionError, match=r"self.random is the simulation's random generator"):
        Dice()


# -- attributes that shadow the Service API ---------------------------------------------------------

def test_a_class_attribute_that_shadows_the_api_is_named_when_the_class_is_defined():
    with pytest.raises(ServiceDefinitionError, match=r"class Ledger defines 'effect', which is part of the Service API"):
        type("Ledger", (Service,), {"effect": None})


def test_an_instance_attribute_that_shadows_the_api_is_named_when_added():
    class Ledger(Service):
        def __init__(self):
            super().__init__("ledger")
            self.effect = []

    with pytest.raises(ServiceDefinitionError, match=r"service 'ledger' .* defines 'effect'"):
        System().add(Ledger())


# -- knobs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("knobs, message", [
    ({"failure": 0.2}, "failure maps service names to values, e.g. failure={'payment': 0.2}; got 0.2"),
    ({"workers": 2}, "workers maps service names to values"),
    ({"latency": -1}, "latency: "),
    ({"work_time": float("nan")}, "work_time: "),
    ({"retry_delay": float("inf")}, "retry_delay must be a number of seconds >= 0, got inf"),
    ({"arrival_rate": float("nan")}, "arrival_rate must be a positive number"),
])
def test_every_knob_error_names_the_knob(knobs, message):
    from microlab import scenarios
    with pytest.raises(scenarios.KnobError) as info:
        scenarios.order_saga("orchestration", orders=2, **knobs)
    assert message in str(info.value)


# -- the event-storm guard -----------------------------------------------------------------------

class Ping(Service):
    def on_Ball(self, msg):
        self.send("b" if self.name == "a" else "a", "Ball")


def test_a_ping_pong_storm_is_stopped_after_200000_events_not_2_million():
    from microlab.errors import EventStorm
    system = System(seed=1)
    system.add(Ping("a"), Ping("b"))
    system.inject("a", "Ball")
    with pytest.raises(EventStorm) as info:
        system.run()
    assert info.value.loop and info.value.events == 200_000
    assert "Stopped early" in str(info.value) and "system.storm_guard = False" in str(info.value)
    assert "a (" in str(info.value) and "Ball" in str(info.value)


def test_the_guard_can_be_switched_off_and_max_events_still_applies():
    from microlab.errors import EventStorm
    system = System(seed=1, max_events=300_000)
    system.storm_guard = False
    system.add(Ping("a"), Ping("b"))
    system.inject("a", "Ball")
    with pytest.raises(EventStorm) as info:
        system.run()
    assert not info.value.loop and info.value.events == 300_000


class Echo(Service):
    def on_Ask(self, msg):
        self.reply(msg, "Answer")

    def on_Answer(self, msg):
        pass


def test_a_large_run_of_many_transactions_is_not_taken_for_a_storm():
    system = System(seed=1, latency=0.001)
    system.add(Echo("client"), Echo("server"))
    for i in range(70_000):  # 70,000 transactions, 280,000 events: past two guard slices
        system.inject("server", "Ask", correlation=f"tx-{i}", at=i * 0.0001)
    system.run()
    assert system.sim.events > 2 * 100_000
    assert system.conservation().ok


# -- declared inputs missing at start ------------------------------------------------------------

def test_a_declared_input_missing_at_start_warns_once_and_reads_none():
    from microlab.orchestration.inputs import MissingInputWarning
    from microlab.orchestration import ToyWorker
    wf = workflow("order", inputs=["orderId", "amount"]).simple("step", input={"id": "${workflow.input.orderId}"}).build()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"step": "w"}))
    system.add(ToyWorker("w"))
    orchestrator.register(wf)
    with pytest.warns(MissingInputWarning) as caught:
        orchestrator.start("order", {"amount": 3}, correlation="a")
        orchestrator.start("order", {}, correlation="b")
        system.run()
    assert len(caught) == 1
    assert "declares input 'orderId' but was started without it" in str(caught[0].message)
    assert "Started with: 'amount'" in str(caught[0].message)
    assert execution(system, "a").task("step").input == {"id": None}


# -- choreography wiring faults, said after the run ---------------------------------------------

def _wired(publish, subscribe):
    from microlab.choreography import Broker, Participant

    class Shop(Participant):
        def on_start(self):
            super().on_start()
            self.publish(publish, {"id": 1}, correlation="order-1")

    mail = Participant("mail")
    mail.on(subscribe)(lambda ctx, event: None)
    system = System(seed=1)
    system.add(Broker(), Shop("shop", publishes=[publish]), mail)
    return system


def test_an_event_nobody_hears_and_a_misspelt_subscription_warn_once_after_the_run():
    from microlab.choreography.broker import WiringWarning
    system = _wired("OrderPlaced", "OrderPlace")
    with pytest.warns(WiringWarning) as caught:
        system.run()
        system.run()
    texts = sorted(str(w.message) for w in caught if w.category is WiringWarning)
    assert len(texts) == 2
    assert "OrderPlaced is published by shop but no service subscribes to it" in texts[0]
    assert "mail subscribes to OrderPlace but no service publishes it" in texts[1]
    assert "Did you mean 'OrderPlaced'?" in texts[1]


def test_a_wired_flow_runs_without_a_wiring_warning():
    import warnings as w
    from microlab.choreography.broker import WiringWarning
    system = _wired("OrderPlaced", "OrderPlaced")
    with w.catch_warnings():
        w.simplefilter("error", WiringWarning)
        system.run()
