"""Progress: how far along is a workflow instance?

A workflow's path is only known as it is taken (a SWITCH picks one case, a DO_WHILE
decides each time whether to go round again), so progress is measured on the path
taken so far: of the tasks scheduled so far (each reference name once, each loop
iteration apart; retries do not count twice), how many have completed. For a running
instance, ``ahead`` counts the top-level tasks not reached yet. The line a learner reads
always counts both (``total``): "1 of 3 tasks done" for an order that has just started its
second task, as for one that has started its third, so the orders of one run share a
denominator.

A failed workflow keeps Conductor's status FAILED even after its failure workflow has
undone everything (Conductor has no COMPENSATED status); :func:`status_words` says both
in one vocabulary, shared by the progress line and the workflow diagram's title.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import COMPLETED, RUNNING, TASK_SUCCESSFUL


def status_words(status: str, compensation: str | None = None) -> str:
    """A workflow's Conductor status, and what its failure workflow did (status
    ``compensation``; None: none ran): ``"FAILED, compensation ran"``,
    ``"FAILED, compensation running"``, ``"FAILED, compensation FAILED"``, or the status alone."""
    if compensation is None:
        return status
    if compensation == COMPLETED:
        return f"{status}, compensation ran"
    if compensation == RUNNING:
        return f"{status}, compensation running"
    return f"{status}, compensation {compensation}"


@dataclass(frozen=True)
class Progress:
    """``completed`` of the ``taken`` tasks on the path so far; ``ahead`` top-level tasks to go;
    ``compensation``: the status of its failure workflow, if one ran."""

    workflow_id: str
    status: str
    completed: int
    taken: int
    ahead: int = 0
    compensation: str | None = None

    @property
    def total(self) -> int:
        """The tasks counted: those on the path so far and the top-level tasks not reached yet."""
        return self.taken + self.ahead

    @property
    def fraction(self) -> float:
        """Completed tasks out of the path taken so far (0.0 before anything is scheduled)."""
        return self.completed / self.taken if self.taken else 0.0

    @property
    def estimate(self) -> float:
        """Completed tasks out of :attr:`total` (the fraction the progress line states)."""
        return self.completed / self.total if self.total else 0.0

    def __str__(self) -> str:
        return (f"{self.workflow_id} {status_words(self.status, self.compensation)}: "
                f"{self.completed} of {self.total} tasks done")


def count(tasks) -> tuple[int, int]:
    """``(completed, taken)`` from ``(full_ref, status)`` pairs in scheduling order."""
    latest: dict = {}
    for full_ref, status in tasks:
        latest[full_ref] = status
    return sum(1 for s in latest.values() if s in TASK_SUCCESSFUL), len(latest)


def progress_of(inst, compensation: str | None = None) -> Progress:
    """The progress of a live :class:`~microlab.orchestration.state.Instance` (``compensation``:
    the status of its failure workflow, if one started)."""
    completed, taken = count((run.full_ref, run.status) for run in inst.tasks)
    ahead = 0
    if inst.status == RUNNING:
        step = inst.plan.first
        while step is not None:
            if step.ref not in inst.latest:
                ahead += 1
            step = step.next
    return Progress(inst.id, inst.status, completed, taken, ahead, compensation)
