"""Checks of notebook 01's exercises: right answers pass, typical wrong ones get the intended hint."""

from microlab import Service
from microlab.exercises import ch01


class Conductor(Service):
    """A correct hand-written conductor (the model answer of exercise 1.2)."""

    service_name = "conductor"

    def on_PlaceOrder(self, msg):
        self.send("inventory", "Reserve", msg.payload)

    def on_Reserved(self, msg):
        self.send("payment", "Charge", msg.payload)

    def on_Charged(self, msg):
        self.effect("complete")

    def on_Declined(self, msg):
        self.send("inventory", "Release", msg.payload)

    def on_Released(self, msg):
        self.effect("reject")


def test_chattier_accepts_the_pattern_that_sends_more_messages_per_order():
    good = ch01.check_chattier(" Choreography ")
    assert good.passed and "messages per order" in good.message
    bad = ch01.check_chattier("orchestration")
    assert not bad and "messages per transaction" in bad.message
    assert "broker" not in bad.message, "the first hint nudges; it does not give the counts away"
    for _ in range(2):
        bad = ch01.check_chattier("orchestration")
    assert "broker" in bad.message and "More help" in bad.message
    assert "'orchestration' or 'choreography'" in ch01.check_chattier(1).message
    assert "pattern names" in ch01.check_chattier("conductor").message


def test_any_correct_conductor_passes_whatever_its_name():
    assert ch01.check_conductor(Conductor).passed

    class Other(Conductor):
        service_name = "saga"

        def on_Declined(self, msg):      # concludes on Declined rather than on Released
            self.send("inventory", "Release", msg.payload)
            self.effect("reject")

        def on_Released(self, msg):
            pass

    assert ch01.check_conductor(Other).passed


def test_a_conductor_that_forgets_the_compensation_is_told_to_release():
    class NoUndo(Conductor):
        def on_Declined(self, msg):
            self.effect("reject")

    fb = ch01.check_conductor(NoUndo)
    assert not fb and "order-2" in fb.message and "send Release to 'inventory'" in fb.message


def test_a_missing_handler_is_named_and_a_missing_conclusion_explained():
    class Half(Service):
        service_name = "conductor"

        def on_PlaceOrder(self, msg):
            self.send("inventory", "Reserve", msg.payload)

    fb = ch01.check_conductor(Half)
    assert not fb and "no handler for message type 'Reserved'" in fb.message

    class NoEnd(Conductor):
        def on_Charged(self, msg):
            pass

    fb = ch01.check_conductor(NoEnd)
    assert not fb and "self.effect('complete')" in fb.message


def test_conductor_check_explains_what_to_pass():
    assert "pass the class itself" in ch01.check_conductor(Conductor()).message
    assert not ch01.check_conductor(...).attempted   # left as ...: no verdict yet

    class Clash(Conductor):
        service_name = "payment"

    assert "the name of another service" in ch01.check_conductor(Clash).message


def test_busiest_is_the_orchestrator_and_the_broker():
    assert ch01.check_busiest(orchestration="orchestrator", choreography="broker").passed
    fb = ch01.check_busiest(orchestration="payment", choreography="broker")
    assert not fb and "not the busiest" in fb.message and "topology" not in fb.message
    fb = ch01.check_busiest(orchestration="orchestrator", choreography="orchestrator")
    assert not fb and "not a service of the choreography run" in fb.message
    assert "choreography=..." in ch01.check_busiest(orchestration="orchestrator").message


def test_unanswered_exercises_get_no_verdict_after_run_all():
    # The student notebook leaves 1.1's answer and 1.3's names as ...
    assert not ch01.check_chattier(...).attempted
    assert not ch01.check_busiest(orchestration=..., choreography=...).attempted


def test_the_chapter_does_not_answer_its_exercises_above_them():
    from tests.course_text import exercise_text, key_points

    points = key_points("01_two_ways").lower()
    assert "choreography sends more" not in points and "sends more messages" not in points
    # 1.3's answer for choreography is the broker: the text must not send the learner to the
    # logical topology, which leaves the broker out, but to the sequence diagrams.
    text = exercise_text("01_two_ways", "1.3")
    assert "line widths" not in text and "sequence diagrams" in text
