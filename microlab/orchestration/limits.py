"""Bounds that keep one workflow from eating the learner's notebook.

Conductor runs on a server with its own memory and a team on call; a notebook kernel has
neither. A workflow that calls itself, a loop whose condition never becomes false, or a
retry policy whose delay doubles two thousand times would, unbounded, fill the memory or
push the clock to infinity. Each limit here stops such a run with an error that names
the limit and says how to raise it. Real Conductor has none of these caps (the README's
table "Where microlab simplifies" lists them); runs that stay inside them behave exactly
as without them.

:class:`Limits` is the one setting an orchestrator takes (``Orchestrator(limits=...)``);
its defaults are the module constants below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Tasks one decision may run without waiting on a service before it is called endless.
MAX_SYNC_STEPS = 10_000
#: How deep sub-workflows (and failure workflows of failure workflows) may nest.
MAX_WORKFLOW_DEPTH = 32
#: How many instances one started workflow may bring into being in all (children,
#: their children, failure workflows, ...): it stops a fan-out that stays shallow.
MAX_WORKFLOW_TREE = 10_000
#: How many iterations one DO_WHILE may run (Conductor has no cap).
MAX_LOOP_ITERATIONS = 10_000
#: How deeply lists and objects may nest in a JSON file microlab reads (a FORK_JOIN
#: inside a FORK_JOIN costs three levels, so about 60 nested forks fit).
MAX_JSON_DEPTH = 200
#: The longest retry back-off delay in seconds (one day), whatever the policy computes.
MAX_RETRY_DELAY = 86_400.0


@dataclass(frozen=True)
class Limits:
    """The bounds of one orchestrator (see the module docstring); raise one to allow more.

    ``max_sync_steps``: tasks in one decision without waiting; ``max_depth``: nesting
    of sub-workflows and failure workflows; ``max_tree``: instances descended from one
    started workflow; ``max_loop_iterations``: iterations of one DO_WHILE;
    ``max_retry_delay``: seconds, the cap on any computed retry delay.
    """

    max_sync_steps: int = MAX_SYNC_STEPS
    max_depth: int = MAX_WORKFLOW_DEPTH
    max_tree: int = MAX_WORKFLOW_TREE
    max_loop_iterations: int = MAX_LOOP_ITERATIONS
    max_retry_delay: float = MAX_RETRY_DELAY

    def __post_init__(self):
        for name in ("max_sync_steps", "max_depth", "max_tree", "max_loop_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a whole number >= 1, got {value!r}")
        delay = self.max_retry_delay
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not math.isfinite(delay) or delay <= 0:
            raise ValueError(f"Limits.max_retry_delay must be a finite number of seconds > 0, got {delay!r}")


def capped_delay(seconds: float, cap: float = MAX_RETRY_DELAY) -> float:
    """``seconds`` clipped to ``[0, cap]``; an overflowing or NaN delay becomes ``cap``."""
    if seconds != seconds or seconds > cap:  # NaN compares false with everything
        return cap
    return max(0.0, seconds)
