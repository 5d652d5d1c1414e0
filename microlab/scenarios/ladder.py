"""The fair fight as a ladder: from the defaults, one modelling choice at a time.

::

    from microlab import scenarios
    rows = scenarios.fair_ladder()        # one row per rung, each adding a setting to the last
    print(scenarios.ladder.format_ladder(rows))
    scenarios.message_kinds(scenarios.order_saga("choreography"))

A headline such as "orchestration is slower" holds under some settings and not under
others. :func:`fair_ladder` climbs :data:`FAIR_LADDER`: each rung adds one knob of
:data:`~microlab.scenarios.knobs.FAIRNESS` to the rungs below, runs the same load under
each pattern (:func:`~microlab.scenarios.fight.compare`), and reports each pattern's p50
and who wins. :func:`message_kinds` splits a run's messages per transaction by what
they say: business content, the broker's publish confirms to an outbox relay, the
deliveries' and calls' acknowledgements, the orchestrator's WorkflowStarted receipts.
"""

from __future__ import annotations

from ..choreography.kinds import ACK_PREFIX, CONFIRM_PREFIX
from ..distributions import Exponential
from ..trace import SEND
from .fight import compare
from .knobs import PATTERNS, KnobError
from .result import POLL_TYPES, RECEIPT_TYPES

#: The rungs of the fair fight: ``(what the rung changes, the knobs it adds)``. The first
#: is the defaults; every later rung keeps the knobs of the rungs below it.
FAIR_LADDER = (
    ("defaults: workers poll, as Conductor's", {}),
    ("the orchestrator pushes commands", {"dispatch": "push"}),
    ("and works as fast as the broker", {"orchestrator_work_time": Exponential(0.0005)}),
    ("and hands the notification off", {"notification": "fire-and-forget"}),
    ("and the owner takes receipts beside its workers", {"receipt_work": False}),
)
#: The kinds :func:`message_kinds` tells apart, in the order it lists them.
KINDS = ("business", "confirms", "acks", "receipts")


def fair_ladder(flow="order", steps=FAIR_LADDER, *, patterns=PATTERNS, orders: int = 200,
                arrival_rate: float = 20.0, seeds=(1,), **knobs) -> list[dict]:
    """Climb ``steps`` (default :data:`FAIR_LADDER`): one fair fight per rung, each with the
    knobs of every rung so far on top of ``knobs``.

    Returns one row per rung: ``step`` (its label), ``adds`` (the knobs it adds),
    ``knobs`` (all of them so far), ``p50`` (seconds, per pattern), ``winner`` (the
    latency winner, None for a tie) and ``comparison`` (the
    :class:`~microlab.scenarios.fight.Comparison`, with its reasons).
    """
    steps = list(steps)
    if not steps:
        raise KnobError("a ladder needs at least one step: (label, {knob: value, ...})")
    rows, so_far = [], dict(knobs)
    for i, step in enumerate(steps):
        if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[1], dict)):
            raise KnobError(f"step {i} of the ladder must be (label, {{knob: value}}), got {step!r}")
        label, adds = step
        so_far.update(adds)
        fight = compare(flow, patterns, orders=orders, arrival_rate=arrival_rate, seeds=seeds, **so_far)
        rows.append({"step": label, "adds": dict(adds), "knobs": dict(so_far),
                     "p50": {p: fight.rows[p]["p50"] for p in fight.rows},
                     "winner": fight.winner("latency"), "comparison": fight})
    return rows


def format_ladder(rows: list[dict]) -> str:
    """The ladder as a small text table: a rung per line, p50 in ms per pattern, the winner."""
    patterns = list(rows[0]["p50"]) if rows else []
    width = max((len(r["step"]) for r in rows), default=10)
    lines = [f"{'':{width}}" + "".join(f"{p:>16}" for p in patterns) + "   faster"]
    for r in rows:
        cells = "".join(f"{r['p50'][p] * 1000:13.0f} ms" for p in patterns)
        lines.append(f"{r['step']:{width}}{cells}   {r['winner'] or 'tie'}")
    return "\n".join(lines)


def message_kinds(result) -> dict:
    """Messages per transaction of a run (a RunResult), by kind (:data:`KINDS`), and ``all``.

    ``confirms`` are the broker's ``Confirm:<Type>`` to an outbox relay, ``acks`` the
    ``Ack:<Type>`` of a delivery or a call, ``receipts`` the orchestrator's
    ``WorkflowStarted``; ``business`` is everything else. Polls carry no transaction,
    so they are in none of them (as in ``metrics["messages_per_transaction"]``).
    """
    wanted = set(result.correlations)
    counts = dict.fromkeys(KINDS, 0)
    for rec in result.trace.records:
        msg = rec[3]
        if rec[1] != SEND or msg.correlation not in wanted or msg.type in POLL_TYPES:
            continue
        if msg.type.startswith(CONFIRM_PREFIX):
            counts["confirms"] += 1
        elif msg.type.startswith(ACK_PREFIX):
            counts["acks"] += 1
        elif msg.type in RECEIPT_TYPES:
            counts["receipts"] += 1
        else:
            counts["business"] += 1
    n = len(result.correlations) or 1
    per = {kind: count / n for kind, count in counts.items()}
    per["all"] = sum(counts.values()) / n
    return per


__all__ = ["FAIR_LADDER", "KINDS", "fair_ladder", "format_ladder", "message_kinds"]
