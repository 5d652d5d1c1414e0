"""The order saga as a bare heapq loop of ``(time, seq, fn, arg)`` tuples: the ceiling.

No services, no envelopes, no trace: a callback per hop. Nothing in pure Python
simulates this saga faster, so microlab's distance to it is its overhead.
"""

from __future__ import annotations

import random
from heapq import heappop, heappush
from itertools import count

from .saga import Load, Outcome


def _run(load: Load, hops: int) -> Outcome:
    rng = random.Random(load.seed)
    expo = rng.expovariate
    arrival_rate = 1.0 / load.mean_interarrival
    rate = 1.0 / load.mean_latency
    heap: list = []
    seq = count()
    tally = [0, 0]  # completed, messages
    now = 0.0

    def hop(state):
        n, left = state
        if left == 0:
            tally[0] += 1
            return
        tally[1] += 1
        heappush(heap, (now + expo(rate), next(seq), hop, (n, left - 1)))

    def arrive(n):
        if n < load.orders:
            heappush(heap, (now + expo(arrival_rate), next(seq), arrive, n + 1))
        hop((n, hops))

    heappush(heap, (expo(arrival_rate), next(seq), arrive, 1))
    while heap:
        now, _, fn, arg = heappop(heap)
        fn(arg)
    return Outcome(tally[0], tally[1], now)


def orchestration(load: Load) -> Outcome:
    """Six hops per order (a command and a reply for each of three steps)."""
    return _run(load, 6)


def choreography(load: Load) -> Outcome:
    """Three hops per order (one event per step)."""
    return _run(load, 3)
