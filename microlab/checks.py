"""Consistency checks: did every business transaction end all-done or all-undone?

The checks read only the trace, so they judge orchestration and choreography alike.
They rely on **business effects**: services call ``self.effect("charge", ...)`` when
they change the world, and ``self.effect("refund", ...)`` when they undo it. A
:class:`SagaSpec` says which effects make up a transaction, which effect undoes each,
and which effects conclude it ("complete" or "reject", recorded by whoever owns the
order).

For each transaction (correlation id) the checker decides one outcome:

- ``completed``: concluded as complete, and every step's effect is in place;
- ``compensated``: concluded as rejected, and every step that was applied was undone
  (a transaction rejected before any step applied counts here too);
- ``stuck``: not concluded by the end of the run; the violation names the last step
  and the message the transaction waits for;
- ``inconsistent``: concluded, but the effects disagree with the conclusion (a charge
  without an order, stock held for a rejected order), or concluded both ways.

Independently, an effect applied twice (a double charge) or undone without having been
applied is a violation. Every violation carries the correlation id and the trace
records that show it, so a notebook can draw exactly that transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .analysis.transactions import by_transaction
from .gcpause import gc_paused
from .trace import CRASH, DELIVER, DROP, EFFECT, END, FAIL, LOST, RESTART, SEND, Record, Trace

COMPLETED = "completed"
COMPENSATED = "compensated"
STUCK = "stuck"
INCONSISTENT = "inconsistent"
OUTCOMES = (COMPLETED, COMPENSATED, STUCK, INCONSISTENT)


@dataclass(frozen=True)
class Step:
    """One step of a saga: the service that applies ``effect``, and the effect that undoes it.

    ``compensation=None`` marks a step that needs no undoing (a notification).
    """

    service: str
    effect: str
    compensation: str | None = None


@dataclass(frozen=True)
class SagaSpec:
    """Which effects make up a transaction, and which effects conclude it."""

    name: str
    steps: tuple[Step, ...]
    complete: str = "complete"
    reject: str = "reject"

    def __post_init__(self):
        effects = [s.effect for s in self.steps] + [s.compensation for s in self.steps if s.compensation]
        dupes = [e for e, n in Counter(effects).items() if n > 1]
        if dupes:
            raise ValueError(f"saga {self.name!r}: effect names must be distinct, repeated: {dupes}")

    @property
    def undoable(self) -> tuple[Step, ...]:
        """The steps that have a compensation."""
        return tuple(s for s in self.steps if s.compensation)


@dataclass
class Violation:
    """One broken rule, in one transaction, with the records that show it."""

    check: str
    correlation: object
    explanation: str
    records: list[Record] = field(default_factory=list)

    def __str__(self) -> str:
        return f"[{self.check}] {self.correlation}: {self.explanation}"


@dataclass
class CheckReport:
    """The verdict on a run: an outcome per transaction, violations, message conservation."""

    outcomes: dict
    violations: list[Violation]
    conservation: object = None

    @property
    def ok(self) -> bool:
        """True when there is no violation and every message is accounted for."""
        return not self.violations and (self.conservation is None or self.conservation.ok)

    def counts(self) -> dict:
        """How many transactions ended in each outcome (every outcome listed, zeros too)."""
        c = Counter(self.outcomes.values())
        return {o: c.get(o, 0) for o in OUTCOMES}

    def by_check(self) -> dict:
        """Violations grouped by the name of the check they break."""
        out: dict = defaultdict(list)
        for v in self.violations:
            out[v.check].append(v)
        return dict(out)

    def verdict(self) -> str:
        """The verdict in plain words, for a notebook or a lab."""
        n = len(self.outcomes)
        c = self.counts()
        head = (f"{n} transactions: {c[COMPLETED]} completed, {c[COMPENSATED]} compensated, "
                f"{c[STUCK]} stuck, {c[INCONSISTENT]} inconsistent.")
        if self.ok:
            return head + " Consistent: every transaction ended all-done or all-undone."
        # "10 × effect applied twice": a check's name is a phrase, not a countable noun.
        parts = [f"{len(v)} × {name}" for name, v in self.by_check().items()]
        if self.conservation is not None and not self.conservation.ok:
            parts.append(f"{len(self.conservation.unaccounted)} messages unaccounted for")
        first = self.violations[0] if self.violations else None
        return (head + " NOT consistent: " + ", ".join(parts) + "."
                + (f" For example {first}." if first else ""))

    def __str__(self) -> str:
        return self.verdict()


@gc_paused
def check_saga(trace: Trace, spec: SagaSpec, correlations=None, conservation=None, *,
               grouped: tuple | None = None) -> CheckReport:
    """Judge every transaction in ``trace`` against ``spec``.

    ``correlations`` lists the transactions to judge (default: every correlation that
    has at least one record); ``conservation`` is a report from
    ``system.conservation()`` to include in the verdict. ``grouped``: ``(groups, loose)``,
    the trace's ``by_transaction(trace, loose)`` (:func:`microlab.analysis.by_transaction`)
    and its records of no transaction, when the caller has grouped them already.
    """
    # One pass groups the raw records by transaction (analysis.by_transaction); a
    # transaction's records become Records only when a verdict needs them (its effects;
    # all of them if it is stuck). The crashes and restarts, records of no message and no
    # transaction, tell which services are still down at the end of the run.
    if grouped is None:
        loose: list = []
        by_corr = by_transaction(trace, loose)
    else:
        by_corr, loose = grouped
    down: dict = {}  # service -> when it crashed, for those still down at the end of the run
    for rec in loose:
        kind = rec[1]
        if kind == CRASH:
            down[rec[2]] = rec[0]
        elif kind == RESTART:
            down.pop(rec[2], None)
    wanted = list(by_corr) if correlations is None else list(correlations)
    outcomes: dict = {}
    violations: list[Violation] = []
    for corr in wanted:
        outcome, found = _judge(corr, by_corr.get(corr, []), spec, down)
        outcomes[corr] = outcome
        violations.extend(found)
    return CheckReport(outcomes, violations, conservation)


def _judge(corr, raw: list[tuple], spec: SagaSpec, down=None) -> tuple[str, list[Violation]]:
    make = Record._make
    # The effects are counted straight from the raw records, in a plain dict (a Counter
    # per transaction cost more than the counting); Records are made only for the
    # evidence of a violation.
    applied_times: dict = {}
    for r in raw:
        if r[1] == EFFECT:
            effect = r[4]["effect"]
            applied_times[effect] = applied_times.get(effect, 0) + 1
    times = applied_times.get
    found: list[Violation] = []

    def show(*names):
        return [make(r) for r in raw if r[1] == EFFECT and r[4]["effect"] in names]

    for step in spec.steps:
        if times(step.effect, 0) > 1:
            found.append(Violation(
                "effect applied twice", corr,
                f"{step.effect!r} at {step.service} was applied {times(step.effect, 0)} times",
                show(step.effect)))
        if step.compensation and times(step.compensation, 0) > times(step.effect, 0):
            found.append(Violation(
                "compensation without effect", corr,
                f"{step.compensation!r} at {step.service} ran {times(step.compensation, 0)} times "
                f"for {times(step.effect, 0)} {step.effect!r}", show(step.effect, step.compensation)))

    # A step is in place when it was applied more often than it was undone.
    applied = [s for s in spec.steps
               if times(s.effect, 0) > (times(s.compensation, 0) if s.compensation else 0)]
    undoable_applied = [s for s in spec.undoable if times(s.effect, 0) > times(s.compensation, 0)]
    missing = [s for s in spec.steps if times(s.effect, 0) == 0]
    completed = times(spec.complete, 0) > 0
    rejected = times(spec.reject, 0) > 0

    if completed and rejected:
        found.append(Violation("concluded twice", corr, "the transaction was both completed and rejected",
                               show(spec.complete, spec.reject)))
        return INCONSISTENT, found
    if completed:
        not_in_place = [s for s in spec.steps if s not in applied]
        if not_in_place:
            names = ", ".join(f"{s.effect!r} at {s.service}" for s in not_in_place)
            found.append(Violation("not atomic", corr, f"completed, but {names} is not in place",
                                   show(spec.complete, *[s.effect for s in spec.steps])))
            return INCONSISTENT, found
        return COMPLETED, found
    if rejected:
        if undoable_applied:
            names = ", ".join(f"{s.effect!r} at {s.service} was never undone by {s.compensation!r}"
                              for s in undoable_applied)
            found.append(Violation("not atomic", corr, f"rejected, but {names}",
                                   show(spec.reject, *[s.effect for s in undoable_applied])))
            return INCONSISTENT, found
        return COMPENSATED, found
    records = [make(r) for r in raw]
    found.append(Violation("stuck", corr, _stuck_explanation(records, spec, applied, missing, down),
                           records[-6:]))
    return STUCK, found


def _stuck_explanation(records: list[Record], spec: SagaSpec, applied, missing, down=None) -> str:
    done = ", ".join(s.effect for s in applied) or "nothing"
    text = f"neither completed nor rejected by the end of the run; applied so far: {done}"
    stores = sorted({(r.detail or {}).get("store") for r in records if (r.detail or {}).get("store")})
    if stores:
        # A cluster's nodes refused this transaction's requests: its store, not a node, is at fault.
        text += f"; stalled on {', '.join(stores)}: the orchestrators' store was down, so no node could decide"
    waiting = _waiting_message(records)
    if waiting is not None:
        msg, fate = waiting
        text += (f"; it waits on #{msg.id} {msg.type} from {msg.source} to {msg.destination} "
                 f"({fate})")
    elif records:
        last = records[-1]
        text += f"; its last record is '{last.kind}' at {last.service} (at t={last.time:.3f} s)"
    if down:
        text += "; down at the end of the run: " + ", ".join(f"{name} (crashed at t={t:.3f} s)"
                                                            for name, t in sorted(down.items()))
    return text


def _waiting_message(records: list[Record]):
    """The most recent message of the transaction whose handling never finished, and why."""
    fate: dict = {}
    sent: dict = {}
    for r in records:
        if r.message is None:
            continue
        mid = r.message.id
        if r.kind == SEND:
            sent[mid] = r.message
            fate[mid] = "still in flight"
        elif r.kind == DROP:
            fate[mid] = "dropped: " + (r.detail or {}).get("reason", "no reason given")
        elif r.kind == DELIVER:
            fate[mid] = f"delivered to {r.service}, not handled yet"
        elif r.kind == LOST:
            fate[mid] = f"lost at {r.service}: " + (r.detail or {}).get("reason", "")
        elif r.kind == FAIL:
            fate[mid] = f"its handler failed at {r.service}: " + (r.detail or {}).get("error", "")
        elif r.kind == END:
            fate[mid] = None
    for mid in reversed(list(sent)):
        if fate.get(mid) is not None:
            return sent[mid], fate[mid]
    return None
