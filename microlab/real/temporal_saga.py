"""The course's order saga as a Temporal workflow: the saga is Python code.

Temporal runs *workflow code*: :class:`OrderSaga` is an ordinary ``async`` method that
calls each step as an activity and, when one fails for good, calls the compensations of
the steps already done, most recent first (the saga idiom of Temporal's samples). Its
steps are :data:`microlab.flows.ORDER`'s, the course's one definition: the effect
``reserve`` is the activity ``reserve``, its compensation ``release`` the activity
``release``. What the other engines write as data (Conductor's ``retryCount``, Step
Functions' ``Retry``) is here an argument: a ``RetryPolicy`` and a
``start_to_close_timeout`` on each call.

:class:`ToyServices` are the activities: each records its attempts in a log and fails
every time when it is told to, so a run shows the server's retries and the compensation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ..flows import ORDER

TASK_QUEUE = "microlab-order-saga"
#: How long one attempt of a step may take before the server times it out and retries.
STEP_TIMEOUT = timedelta(seconds=5)
#: A step: 3 attempts (Conductor's retryCount 2 plus the first), 0.2 s then 0.4 s apart.
STEP_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0,
                         maximum_interval=timedelta(seconds=2), maximum_attempts=3)
#: A compensation must not give up early: 6 attempts (Conductor's JSON gives refund and release 5 retries).
UNDO_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0,
                         maximum_interval=timedelta(seconds=2), maximum_attempts=6)


@workflow.defn(name="order_fulfillment")
class OrderSaga:
    """One order: the steps in order; on a failure, the undo of what was done, newest first."""

    @workflow.run
    async def run(self, order: dict) -> dict:
        """The saga's outcome: ``{"status", "done", "failed", "undone"}``."""
        done: list[str] = []
        undo: list[str] = []          # the compensations owed, in the order the steps ran
        for step in ORDER.steps:
            try:
                await workflow.execute_activity(step.effect, order, start_to_close_timeout=STEP_TIMEOUT,
                                                retry_policy=STEP_RETRY)
            except ActivityError:
                # The server retried the step STEP_RETRY.maximum_attempts times: compensate.
                for compensation in reversed(undo):
                    await workflow.execute_activity(compensation, order,
                                                    start_to_close_timeout=STEP_TIMEOUT,
                                                    retry_policy=UNDO_RETRY)
                return {"status": ORDER.rejected, "done": done, "failed": step.effect,
                        "undone": list(reversed(undo))}
            done.append(step.effect)
            if step.compensation:
                undo.append(step.compensation)
        return {"status": ORDER.completed, "done": done, "failed": None, "undone": []}


@dataclass
class ToyServices:
    """The saga's activities, one per effect and compensation of :data:`ORDER`.

    ``fail``: the effects that fail at every attempt. ``log``: ``(order, activity,
    attempt, outcome)`` of every attempt, in the order they ran.
    """

    fail: frozenset = frozenset()
    log: list = field(default_factory=list)

    def __post_init__(self):
        self.fail = frozenset(self.fail)
        unknown = sorted(self.fail - set(activity_names()))
        if unknown:
            raise ValueError(f"fail={unknown}: not a step of the order saga; its activities are "
                             f"{', '.join(activity_names())}")

    def activities(self) -> list:
        """One activity function per name of :func:`activity_names`, for a ``Worker``."""
        return [self._activity(name) for name in activity_names()]

    def _activity(self, name: str):
        @activity.defn(name=name)
        async def toy(order: dict) -> str:
            attempt = activity.info().attempt
            if name in self.fail:
                self.log.append((order["orderId"], name, attempt, "failed"))
                raise ApplicationError(f"{name} failed (attempt {attempt})")
            self.log.append((order["orderId"], name, attempt, "done"))
            return f"{name}:{order['orderId']}"
        return toy


def activity_names() -> list[str]:
    """The activities the saga calls: every step's effect and compensation."""
    names = [s.effect for s in ORDER.steps] + [s.compensation for s in ORDER.steps if s.compensation]
    return names
