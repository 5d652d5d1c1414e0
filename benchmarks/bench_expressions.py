"""What one expression costs: a round trip to the sandbox's V8 or jq, for the common small case.

Expressions run in a child process (:mod:`microlab.orchestration.sandbox`), so that an
endless loop, a huge allocation or a V8 abort cannot take the notebook with it. This
section measures the price of that isolation for the case a saga meets: a SWITCH over a
small input, and a small jq query. Medians of wall-clock time per call (the child's
time is not this process's CPU time), and the one-off cost of starting a child.
"""

from __future__ import annotations

import statistics
import time

from microlab.orchestration.expressions import JavaScript, Jq
from microlab.orchestration.sandbox import shared

from .table import Table


def _per_call(fn, calls: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls)
    return statistics.median(runs)


def run(options) -> Table:
    """Per-call and start-up cost of each engine."""
    calls = 50 if options.quick else 2_000
    repeats = 1 if options.quick else max(3, options.repeats)
    table = Table("expressions: what one evaluation costs in the sandbox (wall clock)",
                  ["engine", "case", "per call (ms)", "child start (ms)"])
    js, jq = JavaScript(), Jq()
    cases = [
        ("V8", "SWITCH  $.amount > 100 ? 'big' : 'small'",
         lambda: js.evaluate("$.amount > 100 ? 'big' : 'small'", {"amount": 150, "orderId": "o-1"}), "js"),
        ("jq", "sum of .n over a list of two", lambda: jq.run(".items | map(.n) | add", {"items": [{"n": 1}, {"n": 2}]}),
         "jq"),
    ]
    for engine, case, fn, kind in cases:
        shared(kind).stop()
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
        table.add(engine, case, _per_call(fn, calls, repeats) * 1000, first * 1000)
    table.notes.append("The first call starts the child (Python, then V8 or jq); later calls reuse it. "
                       "Before the sandbox, an in-process V8 call with its time limit cost about 1.5 ms "
                       "and a jq call about 0.01 ms.")
    return table
