"""Exercise checks for the course: a wrong answer gets a hint, a right one a tick.

Each chapter has a module (``microlab.exercises.ch04`` for notebook 04) whose check
functions take the learner's answer (a service class, a workflow, a fault plan, a
number) and return a :class:`Feedback`. Instructor versions of the notebooks switch on
:func:`instructor_mode`, in which a failing check raises, so the test suite proves
that every solution passes its check. :func:`graded` is nbgrader's test cell for a
checked exercise (see ``tools/grade.py``).
"""

from .feedback import Feedback, Hint, checker, graded, instructor_mode

__all__ = ["Feedback", "Hint", "checker", "graded", "instructor_mode"]
