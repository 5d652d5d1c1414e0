"""A fair fight: the same load under every pattern, with settings the learner picks.

::

    from microlab import scenarios
    print(scenarios.compare())                                   # the defaults
    print(scenarios.compare(orchestrator_work_time=0.0005,       # the broker's work time
                            notification="fire-and-forget",      # nobody waits for a listener
                            count_messages="business"))          # receipts are not counted

:func:`compare` runs the flow once per pattern, on the same arrivals and the same
knobs, and returns a :class:`Comparison`: which pattern wins on latency (p50),
messages (per transaction, counted as ``count_messages`` says) and throughput, and
why, in figures read from the runs: hops on the longest causal chain, how often the
central component (orchestrator or broker) handles each transaction and how long it
takes each time, and which component is busiest.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .. import metrics
from ..distributions import as_distribution
from ..orchestration.polling import POLL
from ..trace import START
from .knobs import ALL_PATTERNS, FAIRNESS, KnobError, Knobs

#: The criteria of a fight, with the direction that wins.
CRITERIA = {"latency": "lower p50", "messages": "fewer per transaction", "throughput": "higher"}
#: The central component of each pattern (None: there is none).
CENTRAL_OF = {"orchestration": "orchestrator", "choreography": "broker", "choreography-p2p": None}


@dataclass
class Comparison:
    """The outcome of a fair fight: one row of figures per pattern, a winner per criterion, why.

    ``rows[pattern]`` holds ``p50`` and ``p95`` (s), ``messages`` (per transaction),
    ``throughput`` (per s), ``completed``, ``hops``, ``central_handlings`` (per
    transaction, workers' polls included), ``central_work`` (mean s per handling), ``busiest`` and
    ``utilization``, ``p50_per_seed``. ``winners[criterion]`` is a pattern, or None for a tie (within
    ``tolerance``); ``reasons[criterion]`` says why. ``settings`` are the knobs of
    :data:`~microlab.scenarios.knobs.FAIRNESS` as they were; ``runs[pattern]`` the
    RunResults, one per seed.
    """

    rows: dict
    winners: dict
    reasons: dict
    settings: dict
    load: dict
    runs: dict = field(default_factory=dict, repr=False)

    def winner(self, criterion: str):
        """The pattern that wins ``criterion`` ("latency", "messages", "throughput"), None for a tie."""
        if criterion not in CRITERIA:
            raise KeyError(f"no criterion {criterion!r}; the criteria are {', '.join(CRITERIA)}")
        return self.winners[criterion]

    def format(self) -> str:
        """The fight as plain text: settings, a table of figures, and each verdict with its reason."""
        patterns = list(self.rows)
        width = max(12, *(len(p) for p in patterns))
        lines = [f"A fair fight: {self.load['orders']} {self.load['flow']} transactions at "
                 f"{self.load['arrival_rate']:g}/s, seed{'s' if len(self.load['seeds']) > 1 else ''} "
                 f"{', '.join(map(str, self.load['seeds']))}",
                 "settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()), ""]
        table = [("", patterns),
                 ("p50 latency (ms)", [_ms(self.rows[p]["p50"]) for p in patterns]),
                 ("p95 latency (ms)", [_ms(self.rows[p]["p95"]) for p in patterns]),
                 ("messages / transaction", [f"{self.rows[p]['messages']:.1f}" for p in patterns]),
                 ("throughput (/s)", [f"{self.rows[p]['throughput']:.2f}" for p in patterns]),
                 ("completed", [str(self.rows[p]["completed"]) for p in patterns]),
                 ("busiest", [f"{self.rows[p]['busiest']} {self.rows[p]['utilization'] * 100:.0f}%"
                              for p in patterns])]
        for label, cells in table:
            lines.append(f"{label:<24}" + "".join(f"{c:>{width + 2}}" for c in cells))
        lines.append("")
        for criterion in CRITERIA:
            who = self.winners[criterion] or "tie"
            lines.append(f"{criterion} ({CRITERIA[criterion]}): {who}. {self.reasons[criterion]}")
        return "\n".join(lines)

    __str__ = format

    def __repr__(self) -> str:
        won = ", ".join(f"{c}: {self.winners[c] or 'tie'}" for c in CRITERIA)
        return f"<Comparison of {', '.join(self.rows)} ({won})>"


def compare(flow="order", patterns=ALL_PATTERNS, *, orders: int = 200, arrival_rate: float = 20.0,
            seeds=(1,), tolerance: float = 0.02, **knobs) -> Comparison:
    """Run ``flow`` under each of ``patterns`` with the same load and knobs; say who wins and why.

    ``orders`` and ``arrival_rate`` set the load (default: 200 orders at 20/s); every
    other keyword is a scenario knob (:class:`~microlab.scenarios.Knobs`), the same for
    every pattern. ``seeds`` (a list, or a number n for seeds 1..n) repeats the fight:
    latencies are pooled over the seeds, the other figures averaged. One seed's p50
    moves by several milliseconds from seed to seed, so a margin of a few percent
    needs several seeds to mean anything. Two figures within ``tolerance`` (a
    fraction) tie.
    """
    from . import run  # late import: the package imports this module

    if "seed" in knobs:
        raise KnobError("compare takes seeds=[...] (one or more), not seed=...")
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = list(range(1, seeds + 1))
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise KnobError(f"seeds must be a whole number >= 1 or a list of whole numbers, got {seeds!r}")
    patterns = list(patterns)
    if len(patterns) < 2 or len(set(patterns)) != len(patterns):
        raise KnobError(f"a fight needs at least two different patterns, got {patterns!r}; "
                        f"the patterns are {', '.join(ALL_PATTERNS)}")
    if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool) or not 0 <= tolerance < 1:
        raise KnobError(f"tolerance must be a fraction between 0 and 1, got {tolerance!r}")
    runs = {p: [run(flow, p, orders=orders, arrival_rate=arrival_rate, seed=seed, **knobs) for seed in seeds]
            for p in patterns}
    first = runs[patterns[0]][0]
    rows = {p: _row(rs) for p, rs in runs.items()}
    winners = {
        "latency": _best(rows, "p50", min, tolerance),
        "messages": _best(rows, "messages", min, tolerance),
        "throughput": _best(rows, "throughput", max, tolerance),
    }
    k = first.knobs
    settings = {name: _show(getattr(k, name)) for name in _fairness_knobs()}
    reasons = {
        "latency": _why_latency(rows, winners["latency"], k, tolerance),
        "messages": _why_messages(runs, rows, winners["messages"], k, tolerance),
        "throughput": _why_throughput(rows, winners["throughput"], arrival_rate),
    }
    load = {"flow": first.flow.name, "orders": orders, "arrival_rate": arrival_rate, "seeds": seeds}
    return Comparison(rows, winners, reasons, settings, load, runs)


def _fairness_knobs() -> list[str]:
    names = []
    for knob, *_ in FAIRNESS:
        names.extend(n.strip() for n in knob.split(","))
    return names


def _row(results: list) -> dict:
    """One pattern's figures, pooled (latencies) or averaged (the rest) over its seeds."""
    first = results[0]
    lat = metrics.percentiles([x for r in results for x in r.latencies])
    util: dict = {}
    for r in results:
        for name, u in r.utilization().items():
            util[name] = util.get(name, 0.0) + u / len(results)
    busiest = max(sorted(util), key=lambda name: util[name]) if util else None
    central = CENTRAL_OF.get(first.pattern)
    transactions = sum(len(r.correlations) for r in results) or 1
    handlings = 0
    if central is not None:
        for r in results:
            wanted = set(r.correlations)
            # A worker's poll carries no transaction (correlation None), yet it is work the
            # orchestrator does for the transactions: count polls too (none under push).
            handlings += sum(1 for rec in r.trace.records
                             if rec[1] == START and rec[2] == central and rec[3] is not None
                             and (rec[3].correlation in wanted or rec[3].type == POLL))
    work = {"orchestrator": first.knobs.orchestrator_work_time, "broker": first.knobs.broker_work_time}
    mean = work[central].mean if central is not None and work[central] is not None else 0.0

    def average(key):
        return statistics.fmean(r.metrics[key] for r in results)

    return {"p50": lat["p50"], "p95": lat["p95"], "messages": average("messages_per_transaction"),
            "throughput": average("throughput"), "completed": sum(r.metrics["completed"] for r in results),
            "hops": max(r.metrics["hops_per_transaction"] for r in results),
            "p50_per_seed": [r.metrics["latency_p50"] for r in results],
            "central": central, "central_handlings": handlings / transactions, "central_work": mean,
            "busiest": busiest, "utilization": util.get(busiest, math.nan) if busiest else math.nan}


def _best(rows: dict, key: str, pick, tolerance: float):
    """The pattern with the best figure, or None when another is within ``tolerance`` of it."""
    return _leaders(rows, key, pick, tolerance)[0]


def _leaders(rows: dict, key: str, pick, tolerance: float) -> tuple:
    """``(winner or None, the patterns within tolerance of the best figure)``."""
    values = {p: r[key] for p, r in rows.items() if not math.isnan(r[key])}
    if not values:
        return None, []
    best = pick(values, key=values.get)
    close = [p for p, v in values.items() if abs(v - values[best]) <= tolerance * abs(values[best])]
    return (best if close == [best] else None), close


def _why_latency(rows: dict, winner, knobs: Knobs, tolerance: float) -> str:
    parts = []
    for p, r in rows.items():
        text = f"{p} {_ms(r['p50'])} ms: {r['hops']} hops on its longest chain"
        if len(r["p50_per_seed"]) > 1:
            text += f" (p50 per seed {_ms(min(r['p50_per_seed']))}-{_ms(max(r['p50_per_seed']))} ms)"
        if r["central"]:
            # An average per transaction: "5 handlings", "5.33 handlings" (not "5.0").
            text += (f", {r['central_handlings']:.3g} handlings of {r['central_work'] * 1000:.3g} ms "
                     f"at the {r['central']} per transaction")
        else:
            text += ", nothing in the middle"
        parts.append(text)
    text = _tie(rows, "p50", min, tolerance) if winner is None else ""
    text += "; ".join(parts) + "."
    if "orchestration" in rows:
        if knobs.notification == "blocking":
            text += (" The workflow also waits for its listeners (notification='blocking'), "
                     "while choreography's listeners hear after the fact.")
        if knobs.conclusion == "orchestrator":
            text += (" The orchestrator records the conclusion itself (conclusion='orchestrator'); "
                     "choreography's owner must first hear the last step's event.")
        if knobs.receipt_work:
            text += (" The orchestrated owner spends a handling on each WorkflowStarted receipt "
                     "(receipt_work=True), which choreography's relay takes for free.")
        if knobs.dispatch == "poll":
            text += (" Each orchestrated task also waits in its queue for its worker's poll, and each "
                     "poll is a handling at the orchestrator (dispatch='poll', as Conductor's workers "
                     "do); the broker delivers an event at once.")
    return text


def _why_messages(runs: dict, rows: dict, winner, knobs: Knobs, tolerance: float) -> str:
    parts = []
    for p, results in runs.items():
        result = results[0]
        every = result.trace.messages().values()
        n = len(result.correlations) or 1
        receipts = sum(1 for m in every if m.correlation is not None and not _business(m))
        parts.append(f"{p} {rows[p]['messages']:.1f} (receipts sent: {receipts / n:.1f})")
    counting = {"all": "every message counts", "no-confirms": "the broker's publish confirms do not count",
                "business": "receipts (confirms, acks, WorkflowStarted) and polls do not count"}[knobs.count_messages]
    head = _tie(rows, "messages", min, tolerance) if winner is None else ""
    return head + f"Per transaction, where {counting}: " + "; ".join(parts) + "."


def _tie(rows: dict, key: str, pick, tolerance: float) -> str:
    values = {p: r[key] for p, r in rows.items() if not math.isnan(r[key])}
    if not values:
        return "No figure to compare. "
    close = _leaders(rows, key, pick, tolerance)[1]
    return f"{' and '.join(close)} are within the tolerance of each other. "


def _business(msg) -> bool:
    from .result import counted
    return counted(msg, "business")


def _why_throughput(rows: dict, winner, arrival_rate: float) -> str:
    busy = "; ".join(f"{p}: {r['busiest']} at {r['utilization'] * 100:.0f}%" for p, r in rows.items())
    if winner is None:
        return (f"Every pattern keeps up with {arrival_rate:g}/s (busiest component {busy}); "
                "raise arrival_rate to see which saturates first.")
    return (f"{winner} completes {rows[winner]['throughput']:.2f}/s of {arrival_rate:g}/s offered; "
            f"busiest component {busy}.")


def _show(value) -> str:
    if value is None:
        return "instant"
    if isinstance(value, str):
        return repr(value)
    try:
        dist = as_distribution(value, "value")
    except (TypeError, ValueError):
        return repr(value)
    return repr(dist)


def _ms(seconds: float) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f}"
