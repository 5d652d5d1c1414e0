"""Metrics computed from a trace: latency, throughput, hops, utilization, availability.

Everything here reads the trace only, so the same function measures orchestration and
choreography. A transaction's **end** is the effect that concludes it (by default
"complete" or "reject", as in :mod:`microlab.checks`); its **start** is its first
record. Times are simulated seconds.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from .analysis.handlings import deliveries
from .analysis.transactions import by_transaction
from .gcpause import gc_paused
from .trace import EFFECT, SEND, Trace


@dataclass(frozen=True)
class Span:
    """When one transaction started and ended (``end`` is None if it never concluded)."""

    correlation: object
    start: float
    end: float | None
    outcome: str | None

    @property
    def latency(self) -> float | None:
        """End-to-end time, or None if unfinished."""
        return None if self.end is None else self.end - self.start


@gc_paused
def spans(trace: Trace, conclusions: dict | None = None, *, groups: dict | None = None) -> dict:
    """Start, end and conclusion of every transaction, by correlation id, in order of start.

    ``conclusions`` maps effect names to outcomes (default ``{"complete": "completed",
    "reject": "rejected"}``). ``groups``: the trace's records by transaction
    (:func:`microlab.analysis.by_transaction`), when the caller has them already (a
    :class:`~microlab.scenarios.RunResult` groups them once for its checks and its spans).
    """
    conclusions = conclusions or {"complete": "completed", "reject": "rejected"}
    out: dict = {}
    for corr, group in (by_transaction(trace) if groups is None else groups).items():
        end = outcome = None
        for rec in group:
            if rec[1] == EFFECT:
                name = rec[4].get("effect")
                if name in conclusions:
                    end, outcome = rec[0], conclusions[name]
                    break
        out[corr] = Span(corr, group[0][0], end, outcome)
    return out


def percentiles(values, ps=(50, 90, 95, 99)) -> dict:
    """Percentiles (nearest-rank on the sorted values) as ``{"p50": ..., ...}``, plus mean and n."""
    data = sorted(values)
    out: dict = {"n": len(data), "mean": statistics.fmean(data) if data else math.nan}
    for p in ps:
        out[f"p{p}"] = data[min(len(data) - 1, max(0, math.ceil(p / 100 * len(data)) - 1))] if data else math.nan
    return out


def latencies(trace: Trace, outcome: str | None = "completed") -> list[float]:
    """End-to-end latencies of the transactions that ended with ``outcome`` (None: all ended)."""
    return [s.latency for s in spans(trace).values()
            if s.end is not None and (outcome is None or s.outcome == outcome)]


def throughput(trace: Trace, bin_width: float = 1.0) -> list[tuple[float, float]]:
    """Transactions concluded per second, in bins: ``[(bin start, rate), ...]``."""
    if bin_width <= 0:
        raise ValueError(f"bin_width must be positive, got {bin_width!r}")
    ends = sorted(s.end for s in spans(trace).values() if s.end is not None)
    if not ends:
        return []
    nbins = int(ends[-1] // bin_width) + 1
    counts = [0] * nbins
    for t in ends:
        counts[int(t // bin_width)] += 1
    return [(i * bin_width, c / bin_width) for i, c in enumerate(counts)]


def messages_per_transaction(trace: Trace) -> dict:
    """How many messages each transaction sent (duplicates by the network not counted)."""
    out: dict = defaultdict(int)
    for rec in trace.records:
        if rec[1] == SEND and rec[3].correlation is not None:
            out[rec[3].correlation] += 1
    return dict(out)


def hops_per_transaction(trace: Trace) -> dict:
    """The longest causation chain (in messages) of each transaction.

    A request/reply orchestration of three steps is six hops deep; a three-event
    choreography through a broker is deeper per step but has no replies.
    """
    depth: dict = {}
    out: dict = {}
    get = depth.get
    for rec in trace.records:
        if rec[1] != SEND:
            continue
        msg = rec[3]
        d = get(msg.causation, 0) + 1
        depth[msg.id] = d
        corr = msg.correlation
        if corr is not None and d > out.get(corr, 0):
            out[corr] = d
    return out


def utilization(trace: Trace, workers: dict, horizon: float | None = None) -> dict:
    """Fraction of worker time each service spent handling messages over ``[0, horizon]``.

    ``workers`` maps service name to its number of workers (``{s.name: s.workers}``).
    The handlings are the analysis layer's (:func:`microlab.analysis.deliveries`: each
    delivered copy matched with its start and end), added up in the order they ended.
    """
    busy: dict = defaultdict(float)
    handled = [d for d in deliveries(trace) if d.started is not None and d.ended is not None]
    handled.sort(key=_ended)
    for d in handled:
        busy[d.service] += d.ended - d.started
    last = trace.records[-1][0] if trace.records else 0.0
    horizon = last if horizon is None else horizon
    if horizon <= 0:
        return {name: 0.0 for name in workers}
    return {name: busy.get(name, 0.0) / (horizon * n) for name, n in workers.items()}


def _ended(delivery) -> float:
    return delivery.ended


def _spans_of(source) -> dict:
    # A RunResult keeps its spans (computed once, like its checks); a trace has none kept.
    kept = getattr(source, "spans", None)
    return kept if isinstance(kept, dict) else spans(source)


def availability(source, start: float, end: float, within: float) -> float:
    """Of the transactions that started in ``[start, end)``, the fraction completed within ``within`` s.

    This is availability as a customer sees it: "did my order go through in time?".
    Returns NaN when no transaction started in the window. ``source``: a trace, or a
    :class:`~microlab.scenarios.RunResult`, whose kept spans are read (a lab asking
    several figures of one run computes them once).
    """
    started = [s for s in _spans_of(source).values() if start <= s.start < end]
    if not started:
        return math.nan
    ok = sum(1 for s in started if s.outcome == "completed" and s.latency <= within)
    return ok / len(started)


def recovery_time(source, crash_time: float, *, served_after: bool = False) -> float | None:
    """Seconds from ``crash_time`` until the next transaction concluded (None: none did).

    With ``served_after``, only transactions that began at or after the crash count (or,
    if none began after it, those still in flight at the crash). An order that was one
    message from done when the component crashed can still conclude a moment later
    without it; counting it would report a recovery of a few milliseconds for a
    component that never came back. ``source``: a trace or a RunResult, as for
    :func:`availability`.
    """
    every = _spans_of(source).values()
    all_spans = [s for s in every if s.end is not None and s.end > crash_time]
    if served_after:
        if any(s.start >= crash_time for s in every):
            all_spans = [s for s in all_spans if s.start >= crash_time]
    after = [s.end for s in all_spans]
    return min(after) - crash_time if after else None


def rates(outcome_counts: dict) -> dict:
    """Turn outcome counts into fractions (success, compensation, stuck, inconsistent rates)."""
    total = sum(outcome_counts.values())
    return {k: (v / total if total else math.nan) for k, v in outcome_counts.items()}
