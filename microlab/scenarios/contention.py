"""Sagas that compete for the last units of a stock: the course's isolation experiment.

:func:`last_piano` runs the order saga (:data:`~microlab.flows.ORDER`, with a piano as
the item) for a few orders arriving close together, one piano in stock, an inventory
with two workers (two reservations can overlap) and a payment that declines half the
cards (so that compensations give stock back). :func:`isolation_table` counts the
isolation violations (:mod:`microlab.isolation`) over several seeds, per pattern and
per countermeasure (the knob ``isolation``, :mod:`microlab.scenarios.stock`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..flows import ORDER
from ..isolation import ISOLATION_CHECKS
from .knobs import PATTERNS
from .stock import ISOLATION

#: The order saga selling pianos: the same flow, another payload.
PIANO_ORDER = replace(ORDER, payload=(("amount", 3000), ("item", "piano")))
#: The experiment's knobs: 3 orders at 200/s for 1 piano, two inventory workers,
#: half the payments declined, no retries (each failure compensates at once). Its tasks are
#: pushed (``dispatch="push"``): the anomalies need reservations to overlap within a few
#: milliseconds, and a wait for each poll changes the interleavings the table counts
#: (polled, no orchestrated customer of seeds 1-10 is charged for a returned piano).
LAST_PIANO = dict(orders=3, arrival_rate=200.0, stock={"piano": 1}, workers={"inventory": 2},
                  failure={"payment": 0.5}, retries=0, dispatch="push")


def last_piano(pattern: str = "orchestration", isolation: str = "none", seed: int = 1, **knobs):
    """One run of the last-piano experiment (``knobs`` override :data:`LAST_PIANO`)."""
    from . import run
    values = dict(LAST_PIANO, **knobs)
    return run(PIANO_ORDER, pattern, isolation=isolation, seed=seed, **values)


def isolation_table(seeds=range(1, 11), patterns=PATTERNS, isolations=ISOLATION, **knobs) -> list[dict]:
    """One row per pattern and countermeasure: each isolation violation's count over
    ``seeds``, and how many orders completed (sold a piano) and were compensated."""
    rows = []
    for pattern in patterns:
        for isolation in isolations:
            found, outcomes = Counter(), Counter()
            for seed in seeds:
                result = last_piano(pattern, isolation, seed, **knobs)
                found.update(v.check for v in result.checks.violations)
                outcomes.update(result.checks.outcomes.values())
            rows.append({"pattern": pattern, "isolation": isolation,
                         **{name: found.get(name, 0) for name in ISOLATION_CHECKS},
                         "completed": outcomes.get("completed", 0),
                         "compensated": outcomes.get("compensated", 0)})
    return rows
