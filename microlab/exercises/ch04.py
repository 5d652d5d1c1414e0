"""Checks for notebook 04, failures and sagas.

- :func:`check_undo_order`: in which order does the orchestrator undo the steps of an
  order whose shipment failed? (a prediction, checked against a run);
- :func:`check_double_charge_plan`: a fault plan under which workers that are not
  idempotent charge a customer twice;
- :func:`check_retries`: the fewest retries that let 95% of orders through when payment
  fails 40% of its attempts.

Every check runs the order saga with the learner's answer and judges the run with the
consistency checker, so any answer that really works passes.
"""

from __future__ import annotations

from .. import scenarios
from ..errors import MicrolabError
from ..faults import Crash, FaultPlan
from ..network import Delay, Drop, Duplicate
from .feedback import Hint, checker

#: The order saga's steps, in the order they run, and the effect that undoes each.
STEPS = (("reserve", "release"), ("charge", "refund"), ("ship", "cancel_shipment"))
#: Exercise 4.3: payment fails this share of its attempts; this share of orders must complete.
PAYMENT_FAILURE = 0.4
TARGET = 0.95
RETRY_RUN = dict(orders=200, arrival_rate=20.0, seed=1)


def undo_order_run(seed: int = 1):
    """The run behind exercise 4.1: shipping fails every attempt, so every order is undone."""
    return scenarios.order_saga("orchestration", orders=5, failure={"shipping": 1.0}, seed=seed)


def compensations_in_order(result, correlation) -> list[str]:
    """The compensating effects applied to ``correlation``, in the order they happened."""
    undo = {u for _, u in STEPS}
    return [r.detail["effect"] for r in result.trace.for_correlation(correlation)
            if r.kind == "effect" and r.detail.get("effect") in undo]


@checker("Exercise 4.1: the order of compensations")
def check_undo_order(answer) -> str:
    """``answer``: the compensating effects, as a list of effect names in the order they ran."""
    if isinstance(answer, str) or not isinstance(answer, (list, tuple)):
        raise Hint(f"give a list of effect names (strings) in the order they happen, such as "
                   f"['name_of_first_undo', 'name_of_second_undo']; got {answer!r}")
    names = [str(a) for a in answer]
    known = [u for _, u in STEPS]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise Hint(f"{unknown[0]!r} is not a compensation of the order saga; they are "
                   f"{', '.join(known)} (undoing reserve, charge and ship)")
    result = undo_order_run()
    actual = compensations_in_order(result, result.correlations[0])
    if names == actual:
        return (f"the orchestrator ran {' then '.join(actual)}: the most recent completed step is "
                "undone first, and the shipment that never happened is not cancelled.")
    if "cancel_shipment" in names:
        raise Hint("the ship step failed, so there is no shipment to cancel: a saga undoes only the "
                   "steps that completed (or may have: a step that timed out is undone too)")
    if sorted(names) == sorted(actual):
        raise Hint("right compensations, wrong order. In what order were the steps done?",
                   reveal="a saga undoes its steps in reverse, most recent first, so that each undo finds "
                          "the world as its step left it (refund the charge before releasing the stock it "
                          "paid for)")
    missing = [n for n in actual if n not in names]
    raise Hint(f"which steps completed before shipping failed? Each needs undoing: you left out "
               f"{', '.join(missing) or 'nothing'}, and the order matters (reverse of the steps)")


@checker("Exercise 4.2: a fault plan that charges twice")
def check_double_charge_plan(plan) -> str:
    """``plan``: a :class:`~microlab.faults.FaultPlan` that makes non-idempotent workers charge twice.

    Runs 10 orchestrated orders (seed 1) with ``idempotent=False`` and the plan; passes
    when the checker finds a charge applied twice.
    """
    if not isinstance(plan, FaultPlan):
        raise Hint("build a FaultPlan, e.g. FaultPlan().duplicate(...) or FaultPlan().drop(...); "
                   f"got {type(plan).__name__}")
    if not plan.faults:
        raise Hint("your plan is empty: add a fault, for instance a duplicate of some messages")
    unsafe = _run(plan, idempotent=False)
    doubles = [v for v in unsafe.checks.by_check().get("effect applied twice", [])
               if "'charge'" in v.explanation]
    if doubles:
        safe = _run(plan, idempotent=True)
        return (f"{len(doubles)} of 10 orders were charged more than once ({doubles[0].explanation}). "
                f"With idempotent workers the same plan gives: {safe.checks.verdict()}")
    raise Hint(_why_no_double_charge(plan, unsafe))


def _run(plan, **knobs):
    try:
        return scenarios.order_saga("orchestration", orders=10, seed=1, faults=plan, **knobs)
    except MicrolabError as exc:
        raise Hint(f"the plan cannot be applied: {exc}") from None


def _why_no_double_charge(plan: FaultPlan, result) -> str:
    verdict = result.checks.verdict()
    network = [f for f in plan.faults if not isinstance(f, Crash)]
    if not network:
        return ("your crash charges nobody twice (it may break other things: see the verdict). "
                "Payment charges twice when it receives the "
                "charge command twice: duplicate that command, or lose its reply so that the "
                f"orchestrator retries. Your run: {verdict}")
    aims = {f.destination for f in network if isinstance(f, (Duplicate, Drop, Delay))}
    if aims and "payment" not in aims and None not in aims and "orchestrator" not in aims:
        return (f"your plan only touches messages to {', '.join(sorted(a for a in aims if a))}; "
                "the charge command goes from the orchestrator to payment (destination='payment', "
                "and its type is the task name, 'charge')")
    wrong_types = [f for f in network if f.types and "charge" not in f.types
                   and "TaskCompleted" not in f.types]
    if wrong_types and len(wrong_types) == len(network):
        return (f"your plan matches the message types {sorted({t for f in wrong_types for t in f.types})}, "
                "but under orchestration payment receives a command named after the task, 'charge', "
                "and answers TaskCompleted")
    return ("no charge was applied twice. Payment charges twice when it receives the charge command "
            "twice: duplicate it (rate=1.0 makes every match happen), or drop its TaskCompleted "
            f"reply so that the orchestrator times out and retries. Your run: {verdict}")


@checker("Exercise 4.3: how many retries?")
def check_retries(retries) -> str:
    """``retries``: the fewest retries per step with which 95% of 200 orders complete.

    Payment fails 40% of its attempts; the run uses 200 orders at 20 per second, seed 1.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise Hint(f"retries is a whole number of extra attempts (0, 1, 2, ...); got {retries!r}")
    share = _completed_share(retries)
    if share < TARGET:
        chance = 1 - PAYMENT_FAILURE ** (retries + 1)
        raise Hint(f"with retries={retries} only {share:.1%} of orders complete. An order fails only if "
                   f"every attempt fails: {PAYMENT_FAILURE}^{retries + 1}, so about {chance:.1%} should "
                   "succeed. Try more retries")
    if retries > 0 and _completed_share(retries - 1) >= TARGET:
        raise Hint(f"retries={retries} works ({share:.1%} complete), but fewer do too. Each retry "
                   "costs time on every failing order: find the smallest number")
    return (f"{share:.1%} of orders complete with retries={retries}, and fewer retries fall short "
            f"of {TARGET:.0%}. The formula 1 - {PAYMENT_FAILURE}^(retries+1) predicts it.")


def _completed_share(retries: int) -> float:
    result = scenarios.order_saga("orchestration", failure={"payment": PAYMENT_FAILURE},
                                  retries=retries, **RETRY_RUN)
    return result.checks.counts()["completed"] / RETRY_RUN["orders"]
