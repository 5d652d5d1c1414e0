"""Random durations: network latencies and service work times.

Every distribution samples from the random generator it is given (the simulation's),
never from a generator of its own, so a run stays reproducible from its seed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


class Distribution:
    """A non-negative random duration in simulated seconds."""

    def sample(self, rng: random.Random) -> float:
        """Draw one duration using ``rng``."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """The expected duration."""
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Distribution):
    """Always the same duration (draws nothing from the generator)."""

    value: float

    def __post_init__(self):
        _check_non_negative("value", self.value)

    def sample(self, rng: random.Random) -> float:
        """Return ``value``."""
        return self.value

    @property
    def mean(self) -> float:
        """``value``."""
        return self.value


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniformly between ``low`` and ``high``."""

    low: float
    high: float

    def __post_init__(self):
        _check_non_negative("low", self.low)
        if self.high < self.low:
            raise ValueError(f"Uniform needs low <= high, got low={self.low}, high={self.high}")

    def sample(self, rng: random.Random) -> float:
        """Draw uniformly from [low, high]."""
        return rng.uniform(self.low, self.high)

    @property
    def mean(self) -> float:
        """The midpoint."""
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponentially distributed with the given mean (memoryless arrivals and delays).

    ``rate`` is ``1 / mean_value``, the parameter of ``random.expovariate``.
    """

    mean_value: float

    def __post_init__(self):
        if not _finite(self.mean_value) or not self.mean_value > 0:
            raise ValueError(f"Exponential needs a positive, finite mean, got {self.mean_value!r}")
        # The rate, computed once: the network draws a latency per message and inlines
        # the draw (see Network.transmit). Not a field, so eq, hash and repr ignore it.
        object.__setattr__(self, "rate", 1.0 / self.mean_value)

    def sample(self, rng: random.Random) -> float:
        """Draw with ``rng.expovariate``."""
        return rng.expovariate(self.rate)

    @property
    def mean(self) -> float:
        """The mean given at construction."""
        return self.mean_value

    def __repr__(self) -> str:
        return f"Exponential(mean={self.mean_value!r})"


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Log-normal with the given median and shape ``sigma``: mostly fast, a long tail.

    Real network and service latencies look like this: the median is typical, and
    a few percent of the samples are several times slower.
    """

    median: float
    sigma: float = 0.5

    def __post_init__(self):
        if not _finite(self.median) or not self.median > 0:
            raise ValueError(f"LogNormal needs a positive, finite median, got {self.median!r}")
        _check_non_negative("sigma", self.sigma)

    def sample(self, rng: random.Random) -> float:
        """Draw with ``rng.lognormvariate``."""
        return rng.lognormvariate(math.log(self.median), self.sigma)

    @property
    def mean(self) -> float:
        """``median * exp(sigma**2 / 2)``."""
        return self.median * math.exp(self.sigma**2 / 2)


def as_distribution(value, field: str = "duration") -> Distribution | None:
    """Accept a Distribution, a number (a constant) or None (instant: no time at all)."""
    if value is None or isinstance(value, Distribution):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Constant(float(value))
    raise TypeError(
        f"{field} must be a number of seconds or a distribution such as "
        f"Exponential(0.01), got {value!r}"
    )


def _check_non_negative(name: str, value: float) -> None:
    if not _finite(value) or not value >= 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _finite(value) -> bool:
    # NaN and infinity pass comparisons such as ``> 0`` (or fail them silently), then
    # turn into t=nan or a division by zero deep in a run: refuse them here.
    try:
        return math.isfinite(value)
    except TypeError:
        return False
