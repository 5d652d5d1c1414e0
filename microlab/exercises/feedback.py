"""Feedback on a learner's answer: passed or not, and a hint that teaches.

A check function inspects the learner's answer and raises :class:`Hint` when something
is wrong; :func:`checker` turns that into a :class:`Feedback` that displays nicely in
a notebook. A learner's own bug (their code raising) becomes a hint too, never a
traceback from microlab's internals.

In instructor mode (:func:`instructor_mode`, switched on by the instructor versions of
the notebooks), a failing check raises ``AssertionError``, so that running the
solutions under the test suite proves that every solution passes its check.
"""

from __future__ import annotations

import dis
import functools
import html
import os
import traceback
from dataclasses import dataclass

_MODE = {"instructor": False}
#: Failed tries so far, by exercise: a hint reveals more only after a few of them.
_TRIES: dict[str, int] = {}
#: Failed tries after which a hint adds what it holds back (its ``reveal``).
REVEAL_AFTER = 3
#: The last result of each exercise's check in this kernel, by exercise name (read by :func:`graded`).
RESULTS: dict[str, "Feedback"] = {}
#: Set in the environment of a grading run (the course's ``nbgrader_config.py`` sets it):
#: then :func:`graded` fails an exercise whose check did not pass.
GRADING_ENV = "MICROLAB_GRADING"
#: What an exercise that has not been answered yet says (no verdict, no answer), after the
#: mark "Your turn" (so the words are not said twice).
YOUR_TURN = "Put your answer in place of the None (or ...), then run this cell again."
#: The same, for a function the cell hands out as a stub, and for a dict of Nones.
YOUR_TURN_FUNCTION = "Write the function's body in place of its ..., then run this cell again."
YOUR_TURN_DICT = "Put an answer in place of each None in the dict, then run this cell again."


def your_turn(given) -> str:
    """What an unanswered exercise says, for the placeholders ``given`` it was called with."""
    if any(getattr(g, "__code__", None) is not None for g in given):
        return YOUR_TURN_FUNCTION
    if any(isinstance(g, dict) for g in given):
        return YOUR_TURN_DICT
    return YOUR_TURN


#: What a body that does nothing compiles to (``...``, ``pass``, a docstring alone):
#: return None (two instructions up to Python 3.11, one from 3.12).
_EMPTY_BODIES = ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])


def unanswered(answer) -> bool:
    """Is ``answer`` still the notebook's placeholder: None, ``...``, or a function whose
    body is only ``...`` (or ``pass``, or nothing but a docstring), as an exercise cell
    hands it out (``def make_header(span): ...  # your code here``), or a dict whose
    values all are (``{"add_field": None, "rename": None}``)?"""
    if answer is None or answer is ...:
        return True
    if isinstance(answer, dict):
        # {"add_field": None, "rename": None}: every value still to fill in.
        return bool(answer) and all(map(unanswered, answer.values()))
    code = getattr(answer, "__code__", None)
    if code is None:
        return False
    ops = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP")]
    return ops in _EMPTY_BODIES


class NotAnsweredYet(Exception):
    """Raised by a check whose answer is still the value its cell starts from (the JSON it
    loaded, unchanged; a list still in its given order): like None, no verdict and no try
    counted. The message says what to change (default :data:`YOUR_TURN`)."""


class Hint(Exception):
    """Raised by a check to tell the learner what is wrong and how to get closer.

    ``Hint(nudge, reveal=...)``: the nudge is shown at once; the reveal, which comes
    closer to the answer, is added only after :data:`REVEAL_AFTER` failed tries, so a
    learner thinks before being told.
    """

    def __init__(self, nudge: str, reveal: str | None = None):
        super().__init__(nudge)
        self.nudge, self.reveal = nudge, reveal

    def text(self, tries: int) -> str:
        """What the learner reads after ``tries`` failed tries (this one included)."""
        if self.reveal and tries >= REVEAL_AFTER:
            return f"{self.nudge} More help (try {tries}): {self.reveal}"
        if self.reveal:
            return f"{self.nudge} (More help after {REVEAL_AFTER - tries} more tr{'y' if REVEAL_AFTER - tries == 1 else 'ies'}.)"
        return self.nudge


@dataclass
class Feedback:
    """The result of checking one exercise."""

    exercise: str
    passed: bool
    message: str
    #: False when the learner has not answered yet (see :func:`unanswered`).
    attempted: bool = True

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "Correct" if self.passed else ("Not yet" if self.attempted else "Your turn")
        return f"{mark} ({self.exercise}): {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        if os.environ.get("MICROLAB_STATIC"):
            # The static site runs nobody's answer: show the exercise, not a verdict.
            colour, mark, text = "#555", "&#9998; Exercise", "Run this notebook in JupyterLab to check your answer."
        elif not self.attempted:
            colour, mark, text = "#555", "&#9998; Your turn", self.message
        elif self.passed:
            colour, mark, text = "#1b7837", "&#10004; Correct", self.message
        else:
            colour, mark, text = "#b35806", "&#10008; Not yet", self.message
        return (f'<div role="status" style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
                f'<b style="color:{colour}">{mark}</b> <span style="color:#555">({html.escape(self.exercise)})</span>'
                f'<br>{html.escape(text)}</div>')


def instructor_mode(on: bool = True) -> None:
    """In instructor mode a failing check raises AssertionError instead of showing a hint."""
    _MODE["instructor"] = on


def checker(name: str):
    """Decorate a check function ``f(answer, ...) -> str`` (the success message).

    The function raises :class:`Hint` for a wrong answer; any other exception raised
    while running the learner's code is reported as a hint naming the exception.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs) -> Feedback:
            given = (*args, *kwargs.values())
            if given and all(map(unanswered, given)):
                # Not answered yet (Run All before trying: the answer is still None, ..., or
                # the function stub the cell hands out):
                # no verdict, no hint that would give the answer away before the learner
                # has thought about it, and no failed try counted against the hint's reveal.
                result = Feedback(name, False, your_turn(given), attempted=False)
                RESULTS[name] = result
                if _MODE["instructor"]:
                    raise AssertionError(f"Not yet ({name}): no answer given")
                return result
            try:
                message = fn(*args, **kwargs) or "well done."
                result = Feedback(name, True, message)
                _TRIES.pop(name, None)
            except NotAnsweredYet as untouched:
                result = Feedback(name, False, str(untouched) or YOUR_TURN, attempted=False)
            except Hint as hint:
                _TRIES[name] = _TRIES.get(name, 0) + 1
                result = Feedback(name, False, hint.text(_TRIES[name]))
            except Exception as exc:  # the learner's code raised: explain, don't dump internals
                where = _learner_frame(exc)
                result = Feedback(name, False, f"your code raised {type(exc).__name__}: {exc}{where}. "
                                               "Fix that first, then run the check again.")
            RESULTS[name] = result
            if _MODE["instructor"] and not result.passed:
                raise AssertionError(str(result))
            return result
        return wrapper
    return decorate


def graded(number: str) -> None:
    """nbgrader's test for exercise ``number`` (e.g. ``"4.1"``): did its check pass in this kernel?

    The test cell after each checked exercise calls it. While grading (``MICROLAB_GRADING``
    set, as the course's ``nbgrader_config.py`` does) and in instructor mode it raises
    ``AssertionError`` with the check's own message unless the last check of that exercise
    passed; in a learner's session it does nothing (the check has already said what it thinks).
    """
    prefix = f"Exercise {number}:"
    found = [fb for name, fb in RESULTS.items() if name.startswith(prefix)]
    if not (os.environ.get(GRADING_ENV) or _MODE["instructor"]):
        return
    if not found:
        raise AssertionError(f"Exercise {number}: its check never ran (did a cell above raise?)")
    if not found[-1].passed:
        raise AssertionError(str(found[-1]))


def _learner_frame(exc: Exception) -> str:
    """' (in your cell, line N)' when the error comes from notebook code, else ''."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if "ipykernel" in frame.filename or frame.filename.startswith("<"):
            return f" (in your code, line {frame.lineno}: {frame.line.strip() if frame.line else ''})"
    return ""
