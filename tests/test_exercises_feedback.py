"""Exercise feedback: hints, learner errors, instructor mode."""

import pytest

from microlab.exercises import Hint, checker, instructor_mode
from microlab.exercises.feedback import REVEAL_AFTER, YOUR_TURN, YOUR_TURN_DICT, YOUR_TURN_FUNCTION


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


def test_an_unanswered_exercise_gets_no_verdict_and_no_hint(monkeypatch):
    fb = check_positive(None)
    assert not fb.passed and not fb.attempted
    assert fb.message == YOUR_TURN
    assert "Your turn" in fb._repr_html_() and "Not yet" not in fb._repr_html_()
    # The mark says "Your turn" once; the message goes on from it.
    assert fb._repr_html_().count("Your turn") == 1 and str(fb).count("Your turn") == 1


def test_a_hint_nudges_first_and_reveals_after_repeated_tries():
    @checker("Exercise 9.9: reveal")
    def check(answer):
        raise Hint("think about the broker.", reveal="the answer is 'broker'.")

    texts = [check("x").message for _ in range(REVEAL_AFTER)]
    assert all("the answer is" not in t for t in texts[:-1])
    assert "More help after" in texts[0]
    assert "the answer is 'broker'" in texts[-1]


def test_the_static_site_shows_exercises_without_a_verdict(monkeypatch):
    monkeypatch.setenv("MICROLAB_STATIC", "1")
    html_text = check_positive(-1)._repr_html_()
    assert "Not yet" not in html_text and "Correct" not in html_text and "JupyterLab" in html_text


def test_an_answer_left_as_ellipsis_is_unanswered_and_costs_no_try():
    @checker("Exercise 9.8: ellipsis")
    def check(answer=..., other=...):
        raise Hint("think again.", reveal="the answer is 42.")

    for _ in range(REVEAL_AFTER + 1):   # Run All, again and again, before answering
        fb = check(...)
        assert not fb.attempted and fb.message == YOUR_TURN
        assert not check(answer=..., other=...).attempted
    first = check(7)   # the first real try still nudges only
    assert first.attempted and "the answer is" not in first.message and "More help after" in first.message


def test_a_function_left_as_its_stub_is_unanswered_and_costs_no_try():
    @checker("Exercise 9.7: stub")
    def check(fn):
        fn(1)
        raise Hint("think again.", reveal="the answer is 42.")

    def make_header(span):
        ...  # your code here

    def documented(span):
        """What the cell hands out, with a docstring."""

    def answered(span):
        return None if span else 0

    for stub in (make_header, documented, lambda span: None):
        fb = check(stub)
        # The message says what to write: a body, not "in place of the None".
        assert not fb.attempted and fb.message == YOUR_TURN_FUNCTION, stub
    first = check(answered)   # a body that does something is a try, and the first one nudges only
    assert first.attempted and "More help after 2 more tries" in first.message


def test_a_dict_of_nones_says_to_fill_each_none():
    @checker("Exercise 9.5: dict")  # 9.6 must stay unrun: test_grade asks graded("9.6")
    def check(answer):
        raise Hint("think again.")

    fb = check({"add_field": None, "rename": None})
    assert not fb.attempted and fb.message == YOUR_TURN_DICT and "each None" in fb.message
