"""Services: handlers, workers and queues, crash and restart, handler failures."""

import pytest

from microlab import (Constant, HandlerFailureWarning, MicrolabError, Service, System,
                      UnknownServiceError)
from microlab.trace import CRASH, DROP, END, FAIL, LOST, RESTART


class Echo(Service):
    def on_Ask(self, msg):
        self.reply(msg, "Answer", msg.payload)


def test_two_services_talk_and_replies_reach_the_client():
    system = System(seed=1)
    system.add(Echo())
    system.inject("echo", "Ask", 42, correlation="c1")
    system.run()
    [answer] = system.client.received
    assert answer.type == "Answer" and answer.payload == 42 and answer.correlation == "c1"
    ask = system.trace.messages()[answer.causation]
    assert ask.type == "Ask" and ask.source == "client"


def test_decorator_style_handlers():
    system = System()
    svc = system.add(Service("adder"))
    totals = []

    @svc.on("Add")
    def add(msg):
        totals.append(sum(msg.payload))

    system.inject("adder", "Add", [1, 2, 3])
    system.run()
    assert totals == [6]


def test_one_worker_queues_messages_and_two_workers_halve_the_wait():
    def finish_times(workers):
        system = System(latency=0)
        system.add(Echo(workers=workers, work_time=Constant(1.0)))
        for i in range(4):
            system.inject("echo", "Ask", i)
        system.run()
        return [r.time for r in system.trace.of_kind(END) if r.service == "echo"]

    assert finish_times(1) == [1.0, 2.0, 3.0, 4.0]
    assert finish_times(2) == [1.0, 1.0, 2.0, 2.0]


def test_handler_that_raises_is_recorded_and_the_run_goes_on():
    class Fragile(Service):
        def on_Divide(self, msg):
            self.reply(msg, "Quotient", 1 / msg.payload)

    system = System()
    system.add(Fragile())
    system.inject("fragile", "Divide", 0, correlation="bad")
    system.inject("fragile", "Divide", 4, correlation="good", at=1.0)
    with pytest.warns(HandlerFailureWarning, match="fragile failed handling Divide"):
        system.run()
    [failure] = system.failures
    assert failure.service == "fragile" and failure.message.type == "Divide"
    assert "ZeroDivisionError" in failure.error and "1 / msg.payload" in failure.traceback
    [fail] = system.trace.of_kind(FAIL)
    assert fail.message.correlation == "bad" and "ZeroDivisionError" in fail.detail["error"]
    assert [m.payload for m in system.client.received] == [0.25]


def test_missing_handler_names_the_service_the_type_and_the_fix():
    system = System()
    system.add(Echo())
    system.inject("echo", "Shout", None)
    with pytest.warns(HandlerFailureWarning):
        system.run()
    error = system.failures[0].error
    assert "echo has no handler for message type 'Shout'" in error
    assert "on_Shout" in error and "Ask" in error


def test_unknown_destination_suggests_the_closest_name():
    class Caller(Service):
        def on_Go(self, msg):
            self.send("paymnet", "Charge")

    system = System()
    system.add(Caller(), Service("payment"))
    system.inject("caller", "Go")
    with pytest.warns(HandlerFailureWarning):
        system.run()
    assert "did you mean 'payment'?" in system.failures[0].error
    with pytest.raises(UnknownServiceError, match="did you mean 'caller'"):
        system.inject("calle", "Go")


def test_crash_loses_mailbox_and_work_in_progress_then_restart_resumes():
    system = System(latency=0)
    echo = system.add(Echo(work_time=Constant(1.0)))
    for i in range(3):
        system.inject("echo", "Ask", i)
    system.crash("echo", at=0.5, duration=1.0)
    system.inject("echo", "Ask", "while down", at=1.0)
    system.inject("echo", "Ask", "after restart", at=2.0)
    system.run()
    lost = system.trace.of_kind(LOST)
    assert [(r.message.payload, r.detail["reason"]) for r in lost] == [
        (0, "in progress at crash"), (1, "in mailbox at crash"), (2, "in mailbox at crash")]
    [drop] = system.trace.of_kind(DROP)
    assert drop.message.payload == "while down" and drop.detail["reason"] == "echo is down"
    assert [r.time for r in system.trace.of_kind(CRASH, RESTART)] == [0.5, 1.5]
    assert [m.payload for m in system.client.received] == ["after restart"]
    assert echo.up and echo.busy == 0


def test_handler_can_crash_its_own_service_midway():
    class HalfDone(Service):
        def on_Work(self, msg):
            self.effect("state changed")
            self.crash("power cut")
            self.send("client", "Done")  # never happens

    system = System()
    system.add(HalfDone())
    system.inject("halfdone", "Work", correlation="w")
    system.run()
    kinds = [r.kind for r in system.trace.for_correlation("w")]
    assert kinds == ["send", "deliver", "start", "effect", "lost"]
    assert system.client.received == [] and not system["halfdone"].up


def test_timers_inherit_the_transaction_and_die_with_a_crash():
    class Reminder(Service):
        def on_Remind(self, msg):
            self.after(1.0, self.send, "client", "Reminder")

    system = System(latency=0)
    system.add(Reminder())
    system.inject("reminder", "Remind", correlation="r1")
    system.inject("reminder", "Remind", correlation="r2", at=5.0)
    system.crash("reminder", at=5.5)
    system.run()
    assert [(m.correlation, m.sent_at) for m in system.client.received] == [("r1", 1.0)]


def test_service_outside_a_system_explains_itself():
    with pytest.raises(MicrolabError, match="add it with system.add"):
        Echo().send("x", "Y")
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        Echo(workers=0)
    with pytest.raises(TypeError, match="forget the parentheses"):
        System().add(Echo)


def test_overriding_send_or_handle_still_sees_every_message():
    # The runtime skips these layers for services that do not override them; one that
    # does must still see every reply it sends and every message it receives.
    class Audited(Echo):
        def __init__(self):
            super().__init__("echo")
            self.sent, self.seen = [], []

        def send(self, to, type, payload=None, **kw):
            self.sent.append(type)
            return super().send(to, type, payload, **kw)

        def handle(self, msg):
            self.seen.append(msg.type)
            super().handle(msg)

    system = System()
    echo = system.add(Audited())
    system.inject("echo", "Ask", 1)
    system.inject("echo", "Ask", 2)
    system.run()
    assert echo.sent == ["Answer", "Answer"] and echo.seen == ["Ask", "Ask"]
    assert [m.payload for m in system.client.received] == [1, 2]


def test_a_work_time_changed_after_adding_is_used():
    system = System(latency=0)
    echo = system.add(Echo())
    echo.work_time = Constant(2.0)
    system.inject("echo", "Ask", 1)
    system.run()
    assert system.client.received[0].sent_at == 2.0
