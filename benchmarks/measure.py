"""Timing side by side: alternate the contenders, repeat, take medians.

Timing one contender after the other lets the machine's mood (another process on a
shared core, a CPU frequency change) favour whichever ran in the quiet moment.
Alternating them (a, b, c, a, b, c, ...) spreads that noise over all of them, and the
median of the repetitions ignores the odd slow one.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Samples:
    """The wall-clock seconds of each repetition of one contender, and its last result."""

    seconds: list = field(default_factory=list)
    result: Any = None

    @property
    def median(self) -> float:
        """The median duration in seconds."""
        return statistics.median(self.seconds)

    @property
    def spread(self) -> tuple[float, float]:
        """The fastest and slowest repetitions, in seconds."""
        return min(self.seconds), max(self.seconds)


def alternate(contenders: dict[str, Callable[[], Any]], repeats: int,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, Samples]:
    """Run each contender ``repeats`` times, round-robin; return their samples by name.

    Before each timed call the garbage of the previous one is collected, so no
    contender pays for another's leftovers. ``clock`` is the wall clock by default;
    ``time.process_time`` (this process's CPU seconds) is steadier on a busy machine.
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    if not contenders:
        raise ValueError("alternate() needs at least one contender to time")
    samples = {name: Samples() for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            gc.collect()
            start = clock()
            result = fn()
            samples[name].seconds.append(clock() - start)
            samples[name].result = result
    return samples


def once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock seconds of one call of ``fn``, and its result."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result
