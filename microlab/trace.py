"""The trace: everything that happened in a run, in order. The trace is the product.

Checks, metrics, figures and exercises all read the trace, never the internals of a
service. A record is a plain tuple ``(time, kind, service, message, detail)``:

- ``time``: simulated seconds;
- ``kind``: one of the constants below (``SEND``, ``DELIVER``, ...) or a kind that an
  engine adds (``"task"``, ``"retry"``, ``"compensate"``, ...);
- ``service``: the service it happened at (the sender for ``SEND``, the receiver for
  ``DELIVER``);
- ``message``: the :class:`~microlab.messages.Message` concerned, or None;
- ``detail``: None or a dict of JSON-friendly facts (a drop's reason, an error).

Records are tuples because a run may make millions of them; :meth:`Trace.rows` and
:meth:`Trace.to_dicts` give friendlier views.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Iterable, Iterator, NamedTuple

# What the runtime records. Engines add kinds of their own with Trace.record().
SEND = "send"            # a service handed a message to the network
DELIVER = "deliver"      # the network put it in the destination's mailbox
DROP = "drop"            # the network lost it; detail["reason"] says why
DUPLICATE = "duplicate"  # the network will deliver it one extra time
DELAY = "delay"          # the network added detail["extra"] seconds of delay
START = "start"          # a worker of the service began handling it
END = "end"              # the handler returned
FAIL = "fail"            # the handler raised, or there is no handler; detail["error"]
LOST = "lost"            # a crash destroyed it in the mailbox or in progress
CRASH = "crash"          # the service went down
RESTART = "restart"      # the service came back up
EFFECT = "effect"        # a business effect was applied (a charge, a reservation)

#: Record kinds that end the network's responsibility for one copy of a message.
NETWORK_OUTCOMES = (DELIVER, DROP)


class Record(NamedTuple):
    """A friendly view of one trace record."""

    time: float
    kind: str
    service: str | None
    message: object  # Message | None
    detail: dict | None

    @property
    def correlation(self):
        """The business transaction this record belongs to, if any (see :func:`record_correlation`)."""
        return record_correlation(self)


def record_correlation(record):
    """The business transaction a record (a raw tuple or a :class:`Record`) belongs to: its
    message's correlation, or, for a record without a message (the orchestrator's workflow
    and task records, a lost event), the ``correlation`` of its detail; None if neither."""
    msg = record[3]
    if msg is not None:
        return msg.correlation
    detail = record[4]
    return detail.get("correlation") if detail else None


@dataclass
class Conservation:
    """Where every message sent in a run ended up.

    ``unaccounted`` lists the ids of messages for which the network has neither a
    delivery, a drop nor an in-flight copy: it must be empty in a sound run.
    """

    sent: int = 0
    delivered: int = 0
    dropped: int = 0
    duplicated: int = 0
    in_flight: int = 0
    drop_reasons: dict = field(default_factory=dict)
    unaccounted: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every copy of every message is accounted for."""
        return not self.unaccounted

    def __str__(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.drop_reasons.items()))
        text = (f"{self.sent} sent (+{self.duplicated} duplicates): {self.delivered} delivered, "
                f"{self.dropped} dropped" + (f" ({reasons})" if reasons else "")
                + f", {self.in_flight} in flight")
        if self.unaccounted:
            text += f"; UNACCOUNTED: {self.unaccounted[:10]}"
        return text


class Trace:
    """An append-only list of records with queries for the layers above.

    With ``enabled=False`` nothing is stored (used to measure the cost of tracing);
    checks and figures then have nothing to read. With ``compact=True`` the records are
    kept in columns (:class:`~microlab.compact.CompactRecords`): about a quarter of the memory,
    the same records read back, slower to write and to read.
    """

    # Slots: the compiled hot path (microlab.hotpath) reads them at fixed offsets.
    __slots__ = ("enabled", "compact", "records", "__weakref__")

    def __init__(self, enabled: bool = True, *, compact: bool = False):
        self.enabled = enabled
        self.compact = compact
        if compact:
            from .compact import CompactRecords
            self.records: list[tuple] = CompactRecords()
        else:
            self.records = []

    # -- writing -------------------------------------------------------------------

    def record(self, time: float, kind: str, service: str | None, message=None, **detail) -> None:
        """Append one record; ``detail`` must be JSON-friendly (it is hashed and exported)."""
        if self.enabled:
            self.records.append((time, kind, service, message, detail or None))

    # -- reading -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.records)

    def rows(self, records: Iterable[tuple] | None = None) -> Iterator[Record]:
        """Every record (or the given ones) as a :class:`Record`."""
        make = Record._make
        for rec in self.records if records is None else records:
            yield make(rec)

    def __iter__(self) -> Iterator[Record]:
        return self.rows()

    def of_kind(self, *kinds: str) -> list[Record]:
        """Records whose kind is one of ``kinds``."""
        return [Record._make(r) for r in self.records if r[1] in kinds]

    def for_correlation(self, correlation) -> list[Record]:
        """Records of one business transaction (by correlation id)."""
        return [row for row in self.rows() if row.correlation == correlation]

    def for_service(self, service: str) -> list[Record]:
        """Records that happened at one service."""
        return [Record._make(r) for r in self.records if r[2] == service]

    def for_message(self, message_id) -> list[Record]:
        """Records about one message (all copies of it)."""
        return [Record._make(r) for r in self.records
                if r[3] is not None and r[3].id == message_id]

    def messages(self) -> dict:
        """Every message sent, by id, in the order they were sent."""
        return {r[3].id: r[3] for r in self.records if r[1] == SEND}

    def correlations(self) -> list:
        """The distinct correlation ids, in order of first appearance."""
        seen = {}
        for row in self.rows():
            c = row.correlation
            if c is not None and c not in seen:
                seen[c] = None
        return list(seen)

    def services(self) -> list[str]:
        """Every service named in the trace, in order of first appearance."""
        seen: dict = {}
        for r in self.records:
            if r[2] is not None:
                seen.setdefault(r[2], None)
        return list(seen)

    def busiest(self, last: int = 10_000, top: int = 3) -> tuple[list, list]:
        """The services and message types with most deliveries in the last ``last`` records.

        Returns two lists of ``(name, count)``; the event-storm error quotes them.
        """
        services: Counter = Counter()
        types: Counter = Counter()
        for r in self.records[-last:]:
            if r[1] == DELIVER:
                services[r[2]] += 1
                types[r[3].type] += 1
        return services.most_common(top), types.most_common(top)

    # -- accounting ------------------------------------------------------------------

    def conservation(self, in_flight: dict | None = None) -> Conservation:
        """Account for every copy of every message sent.

        ``in_flight`` maps message id to the number of copies the network still
        carries (``Network.in_flight``). Each message must satisfy
        ``1 + duplicates == deliveries + drops + in flight``.
        """
        in_flight = in_flight or {}
        # One pass sorts the copies into those that must end and those that ended; the
        # counting by id is Counter's own (C) loop.
        expected: list = []   # one message per SEND and per DUPLICATE, in record order
        settled: list = []    # one message per DELIVER and per DROP
        drops: list = []      # the detail of each DROP
        duplicated = 0
        for r in self.records:
            kind = r[1]
            if kind == SEND:
                expected.append(r[3])
            elif kind == DELIVER:
                settled.append(r[3])
            elif kind == DUPLICATE:
                expected.append(r[3])
                duplicated += 1
            elif kind == DROP:
                settled.append(r[3])
                drops.append(r[4])
        report = Conservation()
        report.sent = len(expected) - duplicated
        report.duplicated = duplicated
        report.dropped = len(drops)
        report.delivered = len(settled) - len(drops)
        report.in_flight = sum(in_flight.values())
        report.drop_reasons = dict(Counter((d or {}).get("reason", "no reason given") for d in drops))
        by_id = attrgetter("id")
        owed = Counter(map(by_id, expected))
        ended = Counter(map(by_id, settled))
        if in_flight or not dict.__eq__(owed, ended):
            report.unaccounted = [mid for mid, n in owed.items()
                                  if ended[mid] + in_flight.get(mid, 0) != n]
        return report

    # -- export ----------------------------------------------------------------------

    @staticmethod
    def as_dict(rec: tuple) -> dict:
        """One raw record as a flat dict of JSON-friendly values."""
        time, kind, service, msg, detail = rec
        out = {"time": time, "kind": kind, "service": service}
        if msg is not None:
            out.update(
                message_id=msg.id, message_kind=msg.kind, type=msg.type,
                source=msg.source, destination=msg.destination, topic=msg.topic,
                correlation_id=msg.correlation, causation_id=msg.causation,
            )
            if kind == SEND:
                out["payload"] = msg.payload
        elif detail and "correlation" in detail:
            out["correlation_id"] = detail["correlation"]
        if detail:
            out["detail"] = detail
        return out

    def to_dicts(self, records: Iterable[tuple] | None = None) -> list[dict]:
        """The trace (or some of its raw records) as a list of plain dicts."""
        return [self.as_dict(r) for r in (self.records if records is None else records)]

    def to_jsonl(self, path=None) -> str:
        """The trace as JSON lines; written to ``path`` when given, returned always."""
        text = "".join(_dumps(d) + "\n" for d in self.to_dicts())
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    def digest(self) -> str:
        """A SHA-256 of the whole trace: equal digests mean byte-identical traces."""
        h = hashlib.sha256()
        for d in self.to_dicts():
            h.update(_dumps(d).encode())
            h.update(b"\n")
        return h.hexdigest()

    def format(self, limit: int | None = 50) -> str:
        """A readable table of the first ``limit`` records (all when None)."""
        lines = [f"{'time':>9}  {'service':<12} {'what':<10} message"]
        recs = self.records if limit is None else self.records[:limit]
        for time, kind, service, msg, detail in recs:
            what = ""
            if msg is not None:
                target = msg.destination if msg.topic is None else f"topic {msg.topic}"
                what = f"#{msg.id} {msg.type} ({msg.kind}) {msg.source} -> {target} [{msg.correlation}]"
            if detail:
                what += (" " if what else "") + ", ".join(f"{k}={v}" for k, v in detail.items())
            lines.append(f"{time:9.4f}  {service or '':<12} {kind:<10} {what}")
        if limit is not None and len(self.records) > limit:
            lines.append(f"... {len(self.records) - limit} more records")
        return "\n".join(lines)


def _dumps(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=repr, separators=(",", ":"))
