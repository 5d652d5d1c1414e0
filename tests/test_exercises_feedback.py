"""Exercise feedback: hints, learner errors, instructor mode."""

import pytest

from microlab.exercises import Hint, checker, instructor_mode


@checker("ex-demo")
def check_positive(answer):
    if answer is None:
        raise Hint("replace the ... with a number")
    if answer <= 0:
        raise Hint("a count of messages cannot be negative or zero")
    return f"yes, {answer} is right"


def test_right_and_wrong_answers_give_ticks_and_hints():
    good = check_positive(3)
    assert good.passed and "yes, 3" in str(good) and "Correct" in good._repr_html_()
    bad = check_positive(-1)
    assert not bad and "cannot be negative" in bad.message and "Not yet" in bad._repr_html_()


def test_learner_code_that_raises_becomes_a_hint():
    fb = check_positive("three")
    assert not fb.passed and "your code raised TypeError" in fb.message


def test_instructor_mode_turns_a_wrong_answer_into_a_failure():
    instructor_mode(True)
    try:
        with pytest.raises(AssertionError, match="Not yet"):
            check_positive(None)
        assert check_positive(2).passed
    finally:
        instructor_mode(False)
