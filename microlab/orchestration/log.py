"""The durable log: the orchestrator's state changes, kept where a crash cannot reach.

An orchestrator holds its workflow instances in memory, and a crash loses them. So it
also appends every state change (see :mod:`~microlab.orchestration.state` for the
records) to a :class:`DurableLog`: a plain list that lives outside the orchestrator
service, as a database would. Replaying the log in order rebuilds the exact state.

The log also says which orchestrator is **active** (a lease): the standby takes over
only when the active one is down, writes its own name here, and from then on the old
one, when it restarts, stays passive. So two orchestrators never both decide.
"""

from __future__ import annotations

from collections import Counter


class DurableLog:
    """An append-only list of state-change records that survives orchestrator crashes.

    ``records`` is the list itself (read it freely); ``active`` is the name of the
    orchestrator that currently decides.
    """

    def __init__(self):
        self.records: list[tuple] = []
        self.active: str | None = None

    def append(self, record: tuple) -> None:
        """Add one state-change record at the end."""
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def operations(self) -> Counter:
        """How many records of each operation (``start``, ``schedule``, ...) the log holds."""
        return Counter(rec[0] for rec in self.records)

    def for_workflow(self, workflow_id: str) -> list[tuple]:
        """The records about one instance (and its tasks), in order."""
        prefix = workflow_id + "."
        out = []
        for rec in self.records:
            key = rec[2]
            if key == workflow_id or (isinstance(key, str) and key.startswith(prefix)):
                out.append(rec)
        return out

    def __repr__(self) -> str:
        return f"<DurableLog {len(self.records)} records, active={self.active!r}>"
