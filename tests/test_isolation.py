"""The isolation check and the stock's countermeasures (knobs ``stock`` and ``isolation``)."""

import pytest

from microlab import scenarios
from microlab.isolation import (CHARGED_RETURNED, DIRTY_READ, LOST_UPDATE, OVERSOLD, check_isolation)
from microlab.scenarios import KnobError
from microlab.scenarios.stock import CHANGED, HELD, SOLD_OUT, decide_release, decide_reserve
from microlab.trace import EFFECT, Trace


class _Msg:
    def __init__(self, correlation):
        self.correlation = correlation


def _trace(*effects):
    """A trace of effects ``(time, service, correlation, effect, detail)``, laid out by hand."""
    trace = Trace()
    for time, service, corr, name, detail in effects:
        trace.records.append((time, EFFECT, service, _Msg(corr), dict(detail, effect=name)))
    return trace


def _checks(trace, stock=None):
    return [v.check for v in check_isolation(trace, stock or {"piano": 1})]


def test_a_serial_sale_and_a_compensation_break_nothing():
    trace = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (2, "inventory", "a", "release", {"item": "piano", "read": 0, "stock": 1}),
                   (3, "inventory", "b", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (4, "payment", "b", "charge", {}))
    assert _checks(trace) == []


def test_two_reservations_that_read_the_same_count_are_a_lost_update_and_an_oversale():
    trace = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (2, "inventory", "b", "reserve", {"item": "piano", "read": 1, "stock": 0}))
    found = check_isolation(trace, {"piano": 1})
    assert [v.check for v in found] == [LOST_UPDATE, OVERSOLD]
    assert all(v.correlation == "b" for v in found)
    assert "inventory" in found[0].explanation and "overwrote a's write" in found[0].explanation
    assert "true stock is -1" in found[1].explanation


def test_a_refusal_on_a_hold_that_is_compensated_later_is_a_dirty_read():
    trace = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (2, "inventory", "b", "out_of_stock", {"item": "piano", "read": 0, "reason": SOLD_OUT}),
                   (3, "inventory", "a", "release", {"item": "piano", "read": 0, "stock": 1}))
    found = check_isolation(trace, {"piano": 1})
    assert [(v.check, v.correlation) for v in found] == [(DIRTY_READ, "b")]
    # The same refusal is honest when the hold is kept (a completed before b asked).
    kept = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                  (2, "inventory", "b", "out_of_stock", {"item": "piano", "read": 0, "reason": SOLD_OUT}))
    assert _checks(kept) == []
    # A refusal that says the unit is held (semantic lock) is not a dirty read either.
    held = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                  (2, "inventory", "b", "out_of_stock", {"item": "piano", "read": 0, "reason": HELD}),
                  (3, "inventory", "a", "release", {"item": "piano", "read": 0, "stock": 1}))
    assert _checks(held) == []


def test_a_customer_charged_for_a_piano_that_a_compensation_gave_back():
    trace = _trace((1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (1.5, "inventory", "b", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                   (2, "payment", "b", "charge", {}),
                   (3, "inventory", "a", "release", {"item": "piano", "read": 0, "stock": 1}))
    found = check_isolation(trace, {"piano": 1})
    assert [v.check for v in found] == [LOST_UPDATE, OVERSOLD, CHARGED_RETURNED]
    assert found[-1].correlation == "b" and "a's compensation" in found[-1].explanation
    refunded = _trace(*[(t, s, c, n, d) for t, s, c, n, d in
                        [(1, "inventory", "a", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                         (1.5, "inventory", "b", "reserve", {"item": "piano", "read": 1, "stock": 0}),
                         (2, "payment", "b", "charge", {}), (2.5, "payment", "b", "refund", {}),
                         (3, "inventory", "a", "release", {"item": "piano", "read": 0, "stock": 1})]])
    assert CHARGED_RETURNED not in _checks(refunded)


def test_decisions_per_countermeasure():
    # Two reservations read 1; the second writes when the first has written 0.
    assert decide_reserve("none", read=1, now=0, pending_holds=1).write == 0          # lost update
    assert decide_reserve("commutative", read=1, now=0, pending_holds=1).refused == SOLD_OUT
    assert decide_reserve("reread", read=1, now=0, pending_holds=1).refused == CHANGED
    locked = decide_reserve("semantic-lock", read=1, now=0, pending_holds=1)
    assert locked.refused == HELD and locked.retriable
    assert decide_reserve("semantic-lock", read=0, now=0, pending_holds=0).refused == SOLD_OUT
    assert decide_release("none", read=0, now=1).write == 1
    assert decide_release("commutative", read=0, now=1).write == 2


@pytest.mark.parametrize("pattern", ["orchestration", "choreography"])
def test_without_isolation_the_last_piano_is_oversold_and_each_countermeasure_measures(pattern):
    rows = {r["isolation"]: r for r in scenarios.isolation_table(seeds=range(1, 11), patterns=(pattern,))}
    none = rows["none"]
    assert none[OVERSOLD] > 0 and none[LOST_UPDATE] > 0 and none[DIRTY_READ] > 0 and none[CHARGED_RETURNED] > 0
    for name in ("commutative", "reread", "semantic-lock"):
        assert rows[name][OVERSOLD] == rows[name][LOST_UPDATE] == rows[name][CHARGED_RETURNED] == 0, name
    assert rows["commutative"][DIRTY_READ] > 0
    assert rows["semantic-lock"][DIRTY_READ] == 0


def test_the_verdict_names_the_isolation_violations():
    result = scenarios.last_piano("orchestration", "none", seed=2)
    verdict = result.checks.verdict()
    assert "NOT consistent" in verdict and "dirty read" in verdict and "inventory refused piano" in verdict
    assert not result.checks.ok


def test_never_more_pianos_sold_than_in_stock_with_a_countermeasure():
    for seed in range(1, 6):
        result = scenarios.last_piano("choreography", "commutative", seed=seed, orders=6, stock={"piano": 2})
        sold = sum(1 for o in result.outcomes.values() if o == "completed")
        assert sold <= 2


def test_stock_knobs_are_checked_and_default_to_unlimited():
    with pytest.raises(KnobError, match="isolation must be one of"):
        scenarios.last_piano(isolation="serializable")
    with pytest.raises(KnobError, match="protects a stock"):
        scenarios.order_saga(isolation="commutative")
    with pytest.raises(KnobError, match=r"stock\['piano'\] must be a whole number"):
        scenarios.last_piano(stock={"piano": -1})
    with pytest.raises(KnobError, match="not yet under 'choreography-p2p'"):
        scenarios.last_piano("choreography-p2p")
    plain = scenarios.order_saga("orchestration", orders=3)
    assert not [r for r in plain.trace.records if r[1] == EFFECT and "stock" in r[4]]


def test_an_item_that_is_not_in_stock_is_named():
    with pytest.raises(KnobError, match="ask for item 'book': add it"):
        scenarios.order_saga("choreography", orders=1, stock={"piano": 1})
