"""The result of one scenario run: the system, its trace, outcomes, checks and metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from .. import metrics
from ..analysis.transactions import by_transaction
from ..checks import CheckReport, check_saga
from ..choreography.kinds import ACK_PREFIX, CONFIRM_PREFIX
from ..flows import BusinessFlow
from ..isolation import check_isolation
from ..trace import SEND
from .knobs import Knobs

#: Replies that only tell a sender "I have it" and carry no business data: the broker's
#: publish confirm (``Confirm:<Type>``), a consumer's or callee's ``Ack:<Type>``, and the
#: orchestrator's ``WorkflowStarted`` answer to a start request.
RECEIPT_PREFIXES = (CONFIRM_PREFIX, ACK_PREFIX)
RECEIPT_TYPES = frozenset({"WorkflowStarted"})
#: A polling worker's requests for work and the server's empty answers: traffic without
#: business content (a poll that is answered with a task counts as that task's message).
POLL_TYPES = frozenset({"Poll", "NoTask"})


def counted(msg, count: str = "all") -> bool:
    """Whether ``msg`` counts as a message under the knob ``count_messages``.

    ``"all"``: every message sent; ``"no-confirms"``: all but the broker's publish
    confirms; ``"business"``: all but the receipts (:data:`RECEIPT_PREFIXES`,
    :data:`RECEIPT_TYPES`) and polls (:data:`POLL_TYPES`).
    """
    if count == "all":
        return True
    if msg.type.startswith(CONFIRM_PREFIX):
        return False
    if count == "no-confirms":
        return True
    return not (msg.type.startswith(RECEIPT_PREFIXES) or msg.type in RECEIPT_TYPES or msg.type in POLL_TYPES)


@dataclass
class RunResult:
    """One run of a scenario under one pattern.

    ``system`` is the simulated system after the run (its ``trace`` is the product);
    ``checks`` the consistency verdict; ``metrics`` a dict of headline figures;
    ``correlations`` the transactions in order of arrival.
    """

    flow: BusinessFlow
    pattern: str
    knobs: Knobs
    system: object
    correlations: list
    arrivals: dict = field(default_factory=dict)

    @property
    def trace(self):
        """The run's trace."""
        return self.system.trace

    @cached_property
    def _grouped(self) -> tuple[dict, list]:
        # The trace's records by transaction, and those of no message and no transaction
        # (crashes, restarts): one pass that the checks and the spans share. Dropped once
        # both are kept (see _done_with), so a result does not hold a second reference to
        # every record (8 bytes a record) for the rest of its life.
        loose: list = []
        return by_transaction(self.trace, loose), loose

    def _done_with(self, other: str):
        # Called by the checks and the spans as they finish; when the other is kept
        # already, nobody will read the grouping again.
        if other in self.__dict__:
            self.__dict__.pop("_grouped", None)

    @cached_property
    def checks(self) -> CheckReport:
        """The consistency checks on every transaction, and message conservation; with the
        knob ``stock``, the isolation check too (:mod:`microlab.isolation`)."""
        report = check_saga(self.trace, self.flow.saga_spec(), self.correlations,
                            conservation=self.system.conservation(), grouped=self._grouped)
        self._done_with("spans")
        if self.knobs.stock is not None:
            first, then = self.flow.steps[0], self.flow.steps[1] if len(self.flow.steps) > 1 else None
            report.violations.extend(check_isolation(
                self.trace, self.knobs.stock, service=first.service, reserve=first.effect,
                release=first.compensation, charge=then.effect if then else None,
                refund=then.compensation if then else None))
        return report

    @property
    def outcomes(self) -> dict:
        """Each transaction's outcome: completed, compensated, stuck or inconsistent."""
        return self.checks.outcomes

    @cached_property
    def spans(self) -> dict:
        """Start and end of each transaction (see :func:`microlab.metrics.spans`), kept like
        the checks; :func:`microlab.metrics.availability` and :func:`~microlab.metrics.recovery_time`
        read them when given this result."""
        kept = metrics.spans(self.trace, groups=self._grouped[0])
        self._done_with("checks")
        return kept

    @cached_property
    def latencies(self) -> list[float]:
        """End-to-end latencies (s) of the completed transactions, in order of arrival."""
        return [self.spans[c].latency for c in self.correlations
                if c in self.spans and self.spans[c].outcome == "completed"]

    @cached_property
    def metrics(self) -> dict:
        """Headline figures: outcome counts and rates, latency percentiles, messages, hops, throughput."""
        counts = self.checks.counts()
        n = len(self.correlations)
        sent = self.counted_messages()
        msgs: dict = {}
        for msg in sent:
            if msg.correlation is not None:
                msgs[msg.correlation] = msgs.get(msg.correlation, 0) + 1
        hops = metrics.hops_per_transaction(self.trace)
        lat = metrics.percentiles(self.latencies)
        ends = [s.end for s in self.spans.values() if s.end is not None]
        first = min(self.arrivals.values()) if self.arrivals else 0.0
        duration = (max(ends) - first) if ends else math.nan
        return {
            "transactions": n,
            **counts,
            "success_rate": counts["completed"] / n if n else math.nan,
            "latency_mean": lat["mean"], "latency_p50": lat["p50"], "latency_p95": lat["p95"],
            "latency_p99": lat["p99"],
            "messages": len({m.id for m in sent}),
            "messages_per_transaction": sum(msgs.get(c, 0) for c in self.correlations) / n if n else math.nan,
            "hops_per_transaction": max((hops.get(c, 0) for c in self.correlations), default=0),
            "throughput": len(ends) / duration if ends and duration > 0 else math.nan,
            "violations": len(self.checks.violations),
            "sim_time": self.system.now,
        }

    def counted_messages(self) -> list:
        """The messages sent (one entry per send) that the knob ``count_messages`` counts."""
        count = self.knobs.count_messages
        return [rec[3] for rec in self.trace.records if rec[1] == SEND and counted(rec[3], count)]

    def summary(self) -> dict:
        """A small, stable summary (outcome counts, message count, mean latency) for golden tests."""
        m = self.metrics
        return {
            "flow": self.flow.name, "pattern": self.pattern, "transactions": m["transactions"],
            "completed": m["completed"], "compensated": m["compensated"], "stuck": m["stuck"],
            "inconsistent": m["inconsistent"], "messages": m["messages"],
            "latency_mean": round(m["latency_mean"], 6) if not math.isnan(m["latency_mean"]) else None,
        }

    def utilization(self) -> dict:
        """Fraction of worker time each service spent busy over the run."""
        workers = {name: s.workers for name, s in self.system.services.items() if name != "client"}
        return metrics.utilization(self.trace, workers)

    def __repr__(self) -> str:
        c = self.checks.counts()
        return (f"<RunResult {self.flow.name} by {self.pattern}: {len(self.correlations)} transactions, "
                f"{c['completed']} completed, {c['compensated']} compensated, {c['stuck']} stuck, "
                f"{c['inconsistent']} inconsistent>")
