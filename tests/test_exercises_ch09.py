"""Exercise checks of notebook 09: right answers pass, typical wrong ones get the intended hint."""

from microlab.exercises import ch09

RIGHT = {s: accepted[0] for s, (accepted, _) in ch09.SITUATIONS.items()}


def test_choices():
    assert ch09.check_choices(RIGHT).passed
    listener = next(s for s in RIGHT if "several teams" in s)
    wrong = ch09.check_choices(dict(RIGHT, **{listener: "orchestration"}))
    assert not wrong.passed and "reconsider 'several teams" in wrong.message
    assert "no answer" in ch09.check_choices({}).message
    assert "answer one of" in ch09.check_choices(dict(RIGHT, **{listener: "events"})).message


def test_knobs_accept_any_design_that_meets_the_requirement():
    assert ch09.check_knobs({"standby": True, "workers": {"orchestrator": 2}}).passed
    assert ch09.check_knobs({"standby": True, "failover_delay": 0.2}).passed


def test_knobs_hints():
    stuck = ch09.check_knobs({})
    assert not stuck.passed and "stuck" in stuck.message and "standby" in stuck.message
    slow = ch09.check_knobs({"standby": True})
    assert not slow.passed and "p95 latency is" in slow.message
    assert "describe the requirement" in ch09.check_knobs({"orders": 3}).message
    assert "did you mean 'standby'" in ch09.check_knobs({"standbye": True}).message
