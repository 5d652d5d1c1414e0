"""Polls in the sequence diagram: summarised, so that polling does not drown the messages.

Under ``dispatch="poll"`` every worker sends a ``Poll`` per task type again and again,
and most come back empty (``NoTask``): a whole-run diagram would be mostly poll
arrows. The trace keeps every poll (its ``poll`` records); the diagram, by default,
draws none of those arrows and instead puts one mark on a worker's lane per task it
leased, saying how many polls it took to get it and how many of them were empty
(a last mark for polls after the last task). The leased task itself stays an arrow,
as a pushed command is one.

Pure functions of a Flights table and a trace, for :mod:`.sequence` and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..orchestration import records as rec
from .data import Flights

#: Message types of polling that the summary replaces by marks.
POLL_TYPES = frozenset({"Poll", "NoTask"})
#: How the sequence diagram shows polls (its ``polls`` knob).
POLL_MODES = ("summary", "all")


@dataclass(frozen=True)
class PollMark:
    """One mark: ``polls`` polls (``empty`` of them empty) by ``worker`` for ``task_type``, up to ``time``."""

    time: float
    worker: str
    task_type: str
    polls: int
    empty: int
    leased: int

    def label(self) -> str:
        """Short text beside the mark: ``3 polls, 2 empty``."""
        return f"{self.polls} poll{'s' * (self.polls != 1)}, {self.empty} empty"


def without_polls(f: Flights) -> tuple[Flights, int]:
    """``f`` without its poll arrows (``Poll`` and ``NoTask`` copies), and how many were left out."""
    keep = [i for i, m in enumerate(f.messages) if m.type not in POLL_TYPES]
    if len(keep) == len(f):
        return f, 0
    return f.take(keep), len(f) - len(keep)


def poll_marks(trace) -> list[PollMark]:
    """One :class:`PollMark` per poll that leased tasks, counting the polls since the last one.

    Polls after a worker's last task (all empty) get a mark of their own, at the last of them.
    """
    open_groups: dict = {}   # (worker, task type) -> [polls, empty, last time]
    marks = []
    for r in trace.of_kind(rec.POLL):
        d = r.detail
        key = (d["worker"], d["task_type"])
        group = open_groups.setdefault(key, [0, 0, r.time])
        group[0] += 1
        group[1] += d["leased"] == 0
        group[2] = r.time
        if d["leased"]:
            marks.append(PollMark(r.time, key[0], key[1], group[0], group[1], d["leased"]))
            del open_groups[key]
    for (worker, task_type), (polls, empty, last) in open_groups.items():
        marks.append(PollMark(last, worker, task_type, polls, empty, 0))
    marks.sort(key=lambda mk: (mk.time, mk.worker, mk.task_type))
    return marks
