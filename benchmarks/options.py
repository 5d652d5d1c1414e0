"""What a benchmark run is asked to do: sizes, repetitions, which sections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Sizes and repetitions every section reads.

    ``quick`` asks every section for smoke sizes (seconds, not minutes): it checks
    that the benchmark still runs, and its figures mean nothing.
    """

    orders: int = 10_000
    repeats: int = 5
    scale_messages: int = 1_000_000
    seed: int = 1
    quick: bool = False

    def __post_init__(self):
        for name in ("orders", "repeats", "scale_messages"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Options.{name} must be a positive integer, got {value!r}")

    @classmethod
    def smoke(cls, **changes) -> "Options":
        """The ``--quick`` sizes: enough to run every code path, too small to measure."""
        return cls(**{"orders": 50, "repeats": 2, "scale_messages": 3_000, "quick": True, **changes})
