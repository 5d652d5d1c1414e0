"""Checks for notebook 12, evolving a running system: workflow versions and event schemas.

- :func:`check_version_count` (exercise 12.1): how many orders run workflow version 1;
- :func:`check_deploy_orders` (exercise 12.2): the safe deploy order of each event change;
- :func:`check_rollout` (exercise 12.3): the steps of a workflow upgrade, in order.
"""

from __future__ import annotations

from .. import scenarios
from ..scenarios.evolution import EVENT, EVENT_DEPLOYS, SCHEMA_CHANGES, change_event, executions
from .feedback import Hint, NotAnsweredYet, checker

#: When exercise 12.1's version 2 is registered (s).
UPGRADE_AT = 1.0
#: Exercise 12.3's steps, in the one order that strands nothing and keeps every instance served.
_WORKERS, _REGISTER, _WAIT, _RETIRE = (
    "deploy workers that serve the new task", "register workflow version 2",
    "wait until no version 1 instance runs", "retire what only version 1 needed")
#: The four steps of a workflow upgrade, out of order: exercise 12.3 puts them in order.
#: (Not alphabetical: that order is one swap from the answer.)
ROLLOUT = (_WAIT, _RETIRE, _REGISTER, _WORKERS)


def _upgrade():
    return scenarios.upgrade_workflow("worker-first", at=UPGRADE_AT)


@checker("Exercise 12.1: who runs version 1")
def check_version_count(answer) -> str:
    """Pass how many of the 30 orders of ``scenarios.upgrade_workflow("worker-first", at=1.0)``
    run workflow version 1."""
    up = _upgrade()
    versions = up.versions()
    want = sum(1 for v in versions.values() if v == 1)
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise Hint(f"give a whole number of orders, not {answer!r}.")
    if answer == want:
        return (f"{want} orders started before t={UPGRADE_AT:g} s and stay on version 1 to their end, "
                f"{len(up.in_flight(UPGRADE_AT))} of them in flight when version 2 came: a Conductor "
                "instance keeps the definition it started with.")
    ended_before = sum(1 for ex in executions(up.result.system)
                       if ex.version == 1 and ex.end is not None and ex.end < UPGRADE_AT)
    if answer == ended_before:
        raise Hint(f"{answer} orders had ended by t={UPGRADE_AT:g} s. What about the ones still running "
                   "then: which definition do they finish on?",
                   reveal="the version an order runs is fixed when its workflow starts: count the orders "
                          "whose workflow started before the upgrade (up.versions())")
    raise Hint(f"not {answer}. An order's version is fixed when its workflow starts, not when it ends. Run "
               f"the upgrade and look at up.versions() or up.in_flight({UPGRADE_AT:g}).",
               reveal=f"sum(1 for v in scenarios.upgrade_workflow('worker-first', at={UPGRADE_AT:g})"
                      ".versions().values() if v == 1)")


@checker("Exercise 12.2: who deploys first")
def check_deploy_orders(orders) -> str:
    """Pass ``{change: deploy}`` for every change of ``evolution.SCHEMA_CHANGES``: the deploy
    order (``"producer-first"`` or ``"consumer-first"``) that strands no order."""
    if not isinstance(orders, dict):
        raise Hint('pass a dict: {"add_field": ..., "rename": ..., "split": ...}.')
    missing = [c for c in SCHEMA_CHANGES if c not in orders]
    if missing:
        raise Hint(f"give a deploy order for {', '.join(missing)} too.")
    for change in SCHEMA_CHANGES:
        deploy = orders[change]
        if deploy not in EVENT_DEPLOYS:
            raise Hint(f"{change}: {deploy!r} is not a deploy order; choose {' or '.join(map(repr, EVENT_DEPLOYS))}.")
        ev = change_event(change, deploy)
        stuck = ev.result.checks.counts()["stuck"]
        if not stuck:
            continue
        if ev.dead_letters():
            raise Hint(f"{change} {deploy}: {stuck} orders stuck, their {EVENT} dead-lettered. Which version "
                       "published the events that shipping's new version refused?",
                       reveal=f"{change}: the consumer needs the new field, so the producer must send it first")
        raise Hint(f"{change} {deploy}: {stuck} orders stuck, with {sum(ev.unheard().values())} events "
                   "published to nobody. Who knew the new event name when it was first published?",
                   reveal=f"{change}: the consumer must subscribe to the new name before anyone publishes it")
    return ("a new field goes out with its producer first (old consumers ignore it); a new name goes to its "
            "consumers first (they take both), then the producer, then the old subscription is removed.")


@checker("Exercise 12.3: a workflow upgrade, step by step")
def check_rollout(steps) -> str:
    """Pass the four steps of :data:`ROLLOUT`, each once and worded exactly, in the order to do them."""
    if isinstance(steps, (list, tuple)) and list(steps) == list(ROLLOUT):
        # The cell's starting value (out of order): show the steps to reorder.
        raise NotAnsweredYet("put these steps in the order to do them, then run this cell again: "
                             + "; ".join(f"{s!r}" for s in ROLLOUT))
    if not isinstance(steps, (list, tuple)) or sorted(steps) != sorted(ROLLOUT):
        raise Hint("pass a list holding each of the four steps of ch12.ROLLOUT exactly once.")
    steps = list(steps)
    where = {s: i for i, s in enumerate(steps)}
    workers, register, wait, retire = _WORKERS, _REGISTER, _WAIT, _RETIRE
    if where[register] < where[workers]:
        raise Hint("version 2 is registered before its worker is deployed: what happens to the first "
                   "version 2 task?",
                   reveal="its task waits in the queue until a worker polls: deploy the workers first")
    if where[retire] < where[wait]:
        raise Hint("you retire what version 1 needs while version 1 instances may still run: which "
                   "definition do they finish on?",
                   reveal="they stay on version 1 to their end: wait for them before retiring its workers")
    if where[wait] < where[register]:
        raise Hint("you wait for version 1 to drain before version 2 exists: new orders still start on "
                   "version 1 meanwhile, so it never drains.",
                   reveal="register version 2 first, then wait for the version 1 instances to finish")
    return ("workers first, then the version, then drain, then retire: at every moment each running "
            "instance has the workers its version needs.")
