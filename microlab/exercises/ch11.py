"""Checks for notebook 11, saga isolation: the last piano, its anomalies and their countermeasures.

- :func:`check_true_stock` (exercise 11.1): the lowest true stock from a run's effects;
- :func:`check_commutative` (exercise 11.2): a reservation that decides where the count is now;
- :func:`check_countermeasure` (exercise 11.3): the knob that leaves no isolation violation.
"""

from __future__ import annotations

from .. import scenarios
from ..isolation import ISOLATION_CHECKS
from ..scenarios.stock import ISOLATION
from ..trace import EFFECT
from .feedback import Hint, checker

#: The runs exercise 11.1 is checked on: both patterns, these seeds, all without isolation.
TRUE_STOCK_SEEDS = range(1, 11)


def inventory_effects(result) -> list[tuple]:
    """``(time, correlation, effect, detail)`` of every effect the inventory recorded, in order."""
    return [(rec[0], rec[3].correlation if rec[3] is not None else None, rec[4]["effect"],
             {k: v for k, v in rec[4].items() if k != "effect"})
            for rec in result.trace.records if rec[1] == EFFECT and rec[2] == "inventory"]


def _lowest_true_stock(result) -> int:
    start = result.knobs.stock["piano"]
    held, lowest = set(), start
    for _, corr, effect, _ in inventory_effects(result):
        if effect == "reserve":
            held.add(corr)
        elif effect == "release":
            held.discard(corr)
        lowest = min(lowest, start - len(held))
    return lowest


def _lowest_written(result) -> int:
    written = [d["stock"] for _, _, e, d in inventory_effects(result) if "stock" in d]
    return min([result.knobs.stock["piano"], *written])


@checker("Exercise 11.1: the true stock")
def check_true_stock(true_stock) -> str:
    """Pass ``true_stock(result) -> int``: the lowest number of pianos really in stock during
    the run (the stock at the start minus the reservations in place), which may be below zero."""
    if not callable(true_stock):
        raise Hint("pass your function itself (true_stock, without parentheses).")
    runs = [(p, s, scenarios.last_piano(p, "none", seed=s)) for p in scenarios.PATTERNS for s in TRUE_STOCK_SEEDS]
    # The runs where inventory's count lies come first: they tell a wrong answer from a right one.
    runs.sort(key=lambda run: _lowest_true_stock(run[2]) == _lowest_written(run[2]))
    for pattern, seed, result in runs:
        want, got = _lowest_true_stock(result), true_stock(result)
        if got == want:
            continue
        if isinstance(got, bool) or not isinstance(got, int):
            raise Hint(f"for {pattern}, seed {seed}, you returned {got!r}; return a whole number of pianos.")
        if got == _lowest_written(result):
            raise Hint(f"for {pattern}, seed {seed}, you returned {got}: the lowest count inventory wrote. "
                       "Two reservations that read the same count both write it minus one: the count lies. "
                       "Count what customers hold instead.",
                       reveal="start from result.knobs.stock['piano']; each 'reserve' takes one, each 'release' "
                              "gives one back; keep the minimum after every effect")
        raise Hint(f"for {pattern}, seed {seed}, you said {got}; the lowest true stock was {want}. Did you count "
                   "the releases (compensations) as giving a piano back?",
                   reveal="held = set(); for each (t, corr, effect, d) in ch11.inventory_effects(result): add corr "
                          "on 'reserve', discard it on 'release', lowest = min(lowest, start - len(held))")
    return ("the true stock goes below zero in the runs where two reservations read the same count: "
            "inventory's own count never does, which is why nobody notices until the pianos are shipped.")


#: ``(read, now, what to write or None)``: a reservation that read ``read`` when it began and
#: finds ``now`` when it writes.
COMMUTATIVE_CASES = ((1, 1, 0), (1, 0, None), (0, 1, 0), (2, 1, 0), (3, 3, 2), (0, 0, None))


@checker("Exercise 11.2: a reservation that commutes")
def check_commutative(reserve) -> str:
    """Pass ``reserve(read, now) -> int | None``: the count a reservation writes (None: refuse,
    sold out), deciding on the count where it is now so that two reservations commute."""
    if not callable(reserve):
        raise Hint("pass your function itself (reserve, without parentheses).")
    for read, now, want in COMMUTATIVE_CASES:
        got = reserve(read, now)
        if got == want and (got is None) == (want is None):
            continue
        if read != now and read > 0 and got == read - 1:
            raise Hint(f"reserve(read={read}, now={now}) gave {got}: the count it read, minus one. Another "
                       f"reservation wrote {now} since: which of the two values is the stock?",
                       reveal="decide on now: return now - 1 if now > 0 else None")
        if want is None and got is not None:
            raise Hint(f"reserve(read={read}, now={now}) gave {got}: no piano is left when it writes. "
                       "Refuse with None.", reveal="return now - 1 if now > 0 else None")
        raise Hint(f"reserve(read={read}, now={now}) should write {want!r}, you gave {got!r}.",
                   reveal="return now - 1 if now > 0 else None")
    return ("a decrement where the count is now commutes with any other: no update is lost and no piano "
            "oversold, in either pattern (the knob isolation='commutative').")


@checker("Exercise 11.3: no anomaly left")
def check_countermeasure(answer) -> str:
    """Pass the value of the knob ``isolation`` that leaves no isolation violation in the
    last-piano experiment (10 seeds), under orchestration and choreography."""
    if answer not in ISOLATION:
        raise Hint(f"{answer!r} is not a value of the knob isolation; the values are "
                   f"{', '.join(map(repr, ISOLATION))}.")
    rows = scenarios.isolation_table(isolations=(answer,))
    left = {f"{r['pattern']}: {name}": r[name] for r in rows for name in ISOLATION_CHECKS if r[name]}
    if not left:
        return ("a PENDING hold makes the refusal tell the truth (held, not sold out) and its updates "
                "commute; the price: a customer told to retry, and a hold that some later step must confirm.")
    text = ", ".join(f"{n} {k}" for k, n in left.items())
    if answer == "none":
        raise Hint(f"without isolation the run shows {text}. Which countermeasure did the table above "
                   "bring to zero on every column?", reveal="'semantic-lock'")
    raise Hint(f"{answer!r} leaves {text}. A dirty read is a refusal on a value a compensation undid: what "
               "would the refusing order have to know about the unit it was refused?",
               reveal="that it is held by a saga that has not finished: 'semantic-lock'")
