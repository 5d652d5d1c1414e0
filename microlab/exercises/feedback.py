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

import functools
import html
import traceback
from dataclasses import dataclass

_MODE = {"instructor": False}


class Hint(Exception):
    """Raised by a check to tell the learner what is wrong and how to get closer."""


@dataclass
class Feedback:
    """The result of checking one exercise."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "Correct" if self.passed else "Not yet"
        return f"{mark} ({self.exercise}): {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour, mark = ("#1b7837", "&#10004; Correct") if self.passed else ("#b35806", "&#10008; Not yet")
        return (f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">'
                f'<b style="color:{colour}">{mark}</b> <span style="color:#555">({html.escape(self.exercise)})</span>'
                f'<br>{html.escape(self.message)}</div>')


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
            try:
                message = fn(*args, **kwargs) or "well done."
                result = Feedback(name, True, message)
            except Hint as hint:
                result = Feedback(name, False, str(hint))
            except Exception as exc:  # the learner's code raised: explain, don't dump internals
                where = _learner_frame(exc)
                result = Feedback(name, False, f"your code raised {type(exc).__name__}: {exc}{where}. "
                                               "Fix that first, then run the check again.")
            if _MODE["instructor"] and not result.passed:
                raise AssertionError(str(result))
            return result
        return wrapper
    return decorate


def _learner_frame(exc: Exception) -> str:
    """' (in your cell, line N)' when the error comes from notebook code, else ''."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if "ipykernel" in frame.filename or frame.filename.startswith("<"):
            return f" (in your code, line {frame.lineno}: {frame.line.strip() if frame.line else ''})"
    return ""
