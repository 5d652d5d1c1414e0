"""A stock per item, held by the service of a flow's first step, and how it is kept isolated.

Sagas are not isolated: each step commits at once, so a concurrent saga sees its
intermediate state. Here the inventory's database is a count per item (the knob
``stock``, e.g. ``{"piano": 1}``). A reservation **reads** the count when a worker takes
the message and **writes** it when the work is done (the work time is the time
between the two), as a service that does ``SELECT`` then ``UPDATE`` without a lock.
With two workers (``workers={"inventory": 2}``) two reservations can overlap.

The knob ``isolation`` picks how the inventory writes (:data:`ISOLATION`):

- ``"none"``: write what was read minus one (plus one to release): two overlapping
  reservations both read 1 and both write 0, a **lost update**, and two customers
  hold one piano (**oversold**); an order refused while another's reservation, later
  compensated, held the last unit read a **dirty** value;
- ``"commutative"``: decrement and increment the count where it is now, refusing
  when it is zero: the updates commute, none is lost (dirty reads remain);
- ``"reread"``: read the count again before writing; if it changed since the first
  read, refuse (the saga rolls back and the customer may try again), as an
  optimistic lock on a version does;
- ``"semantic-lock"``: a reservation writes a PENDING hold (commutatively); an order
  that finds the last unit held PENDING is told so and may retry (a retriable
  failure: the orchestrator retries it after ``retry_delay``), instead of being told
  "sold out" on a value that a compensation may undo.

A release (a compensation) always adds one back where the count is now, except under
``"none"``, whose release is read-then-write like its reservation. Decisions are pure
functions (:func:`decide_reserve`, :func:`decide_release`); :class:`StockKeeper` holds
the counts and the reads, and the services record ``reserve``, ``release`` and
``out_of_stock`` effects that :mod:`microlab.isolation` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The values of the knob ``isolation``.
ISOLATION = ("none", "commutative", "reread", "semantic-lock")
#: The effect a refused reservation records (the stock step's failure).
OUT_OF_STOCK = "out_of_stock"
#: A refusal's reasons: the count was zero, it changed since it was read, or the last
#: unit is held by a saga that has not finished (semantic lock).
SOLD_OUT, CHANGED, HELD = "sold out", "changed since read", "held by a pending order"
PENDING = "PENDING"


@dataclass(frozen=True)
class Decision:
    """What a reservation or release does: the count to write (None: write nothing), and
    the refusal's reason (None: it went through)."""

    write: int | None
    refused: str | None = None
    retriable: bool = False


def decide_reserve(isolation: str, read: int, now: int, pending_holds: int) -> Decision:
    """A reservation of one unit: ``read`` when the work began, ``now`` the count at the
    write, ``pending_holds`` the units held by sagas that have not finished."""
    if isolation == "none":
        return Decision(read - 1) if read > 0 else Decision(None, SOLD_OUT)
    if isolation == "reread" and now != read:
        return Decision(None, CHANGED)
    if now > 0:
        return Decision(now - 1)
    if isolation == "semantic-lock" and pending_holds:
        return Decision(None, HELD, retriable=True)
    return Decision(None, SOLD_OUT)


def decide_release(isolation: str, read: int, now: int) -> Decision:
    """A compensation gives one unit back: read-then-write under ``"none"``, an increment otherwise."""
    return Decision(read + 1 if isolation == "none" else now + 1)


@dataclass
class StockKeeper:
    """The inventory's database: a count per item, what each message in work read, and
    the holds (which transaction holds a unit of which item)."""

    counts: dict
    isolation: str = "none"
    reads: dict = field(default_factory=dict)
    holds: dict = field(default_factory=dict)

    def read(self, msg) -> None:
        """A worker takes ``msg``: remember the counts it reads (its SELECT)."""
        self.reads[msg.id] = dict(self.counts)

    def _item(self, payload: dict) -> str:
        item = payload.get("item")
        if item not in self.counts:
            raise ValueError(f"the order asks for item {item!r}, but the knob stock holds only "
                             f"{', '.join(map(repr, self.counts))}: add it, e.g. stock={{{item!r}: 1}}")
        return item

    def reserve(self, msg, payload: dict) -> tuple[Decision, dict]:
        """Decide and apply a reservation for ``msg``; returns the decision and the effect's detail."""
        item = self._item(payload)
        read = self.reads.pop(msg.id, self.counts)[item]
        pending = sum(1 for held in self.holds.values() if held == item)
        decision = decide_reserve(self.isolation, read, self.counts[item], pending)
        detail = {"item": item, "read": read}
        if decision.refused is None:
            self.counts[item] = decision.write
            self.holds[msg.correlation] = item
            detail["stock"] = decision.write
            if self.isolation == "semantic-lock":
                detail["state"] = PENDING
        else:
            detail["reason"] = decision.refused
        return decision, detail

    def release(self, msg, payload: dict) -> dict:
        """Give back the unit ``msg``'s transaction holds; returns the effect's detail."""
        item = self._item(payload)
        read = self.reads.pop(msg.id, self.counts)[item]
        decision = decide_release(self.isolation, read, self.counts[item])
        self.counts[item] = decision.write
        self.holds.pop(msg.correlation, None)
        return {"item": item, "read": read, "stock": decision.write}


class ReadsAtStart:
    """Mixin for a service with a :class:`StockKeeper` (``self.keeper``): the keeper
    reads the counts when a worker takes a message, not when its work is done."""

    keeper: StockKeeper | None = None

    def _start(self, msg) -> None:
        if self.keeper is not None:
            self.keeper.read(msg)
        super()._start(msg)


__all__ = ["ISOLATION", "OUT_OF_STOCK", "SOLD_OUT", "CHANGED", "HELD", "PENDING", "Decision",
           "decide_reserve", "decide_release", "StockKeeper", "ReadsAtStart"]
