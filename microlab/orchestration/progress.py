"""Progress: how far along is a workflow instance?

A workflow's path is only known as it is taken (a SWITCH picks one case, a DO_WHILE
decides each time whether to go round again), so progress is measured on the path
taken so far: of the tasks scheduled so far (each reference name once, each loop
iteration apart; retries do not count twice), how many have completed. For a running
instance, ``ahead`` counts the top-level tasks not reached yet, for an estimate of the
whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import RUNNING, TASK_SUCCESSFUL


@dataclass(frozen=True)
class Progress:
    """``completed`` of the ``taken`` tasks on the path so far; ``ahead`` top-level tasks to go."""

    workflow_id: str
    status: str
    completed: int
    taken: int
    ahead: int = 0

    @property
    def fraction(self) -> float:
        """Completed tasks out of the path taken so far (0.0 before anything is scheduled)."""
        return self.completed / self.taken if self.taken else 0.0

    @property
    def estimate(self) -> float:
        """Completed tasks out of the path so far plus the top-level tasks not reached yet."""
        total = self.taken + self.ahead
        return self.completed / total if total else 0.0

    def __str__(self) -> str:
        more = f", {self.ahead} more ahead" if self.ahead else ""
        return f"{self.workflow_id} {self.status}: {self.completed}/{self.taken} tasks done{more}"


def count(tasks) -> tuple[int, int]:
    """``(completed, taken)`` from ``(full_ref, status)`` pairs in scheduling order."""
    latest: dict = {}
    for full_ref, status in tasks:
        latest[full_ref] = status
    return sum(1 for s in latest.values() if s in TASK_SUCCESSFUL), len(latest)


def progress_of(inst) -> Progress:
    """The progress of a live :class:`~microlab.orchestration.state.Instance`."""
    completed, taken = count((run.full_ref, run.status) for run in inst.tasks)
    ahead = 0
    if inst.status == RUNNING:
        step = inst.plan.first
        while step is not None:
            if step.ref not in inst.latest:
                ahead += 1
            step = step.next
    return Progress(inst.id, inst.status, completed, taken, ahead)
