"""The isolation check: did concurrent sagas see, or overwrite, each other's intermediate state?

:mod:`microlab.checks` judges each transaction alone. Sagas commit step by step, so two
transactions that share a stock can each look right and still oversell it. This check
reads the stock service's effects in the trace (``reserve``, ``release`` and
``out_of_stock``, whose detail carries the item, the count ``read`` and the count
written as ``stock``; see :mod:`microlab.scenarios.stock`) and the payment's
``charge``/``refund``, and names four violations, each with the transaction, the
service and what happened:

- ``oversold``: a reservation took a unit that was not there: more units held than
  in stock (the true stock went below zero);
- ``lost update``: the count written is not the count before it, minus one (a
  reservation) or plus one (a release): another transaction's write was overwritten;
- ``dirty read``: an order was refused as sold out while the last unit was held only
  by reservations that a compensation later gave back: it read a value that was undone;
- ``charged for a returned item``: a customer was charged (and never refunded) for the
  unit they hold, while a compensation counted that unit back into the stock.
"""

from __future__ import annotations

from .checks import Violation
from .trace import EFFECT, Record

OVERSOLD, LOST_UPDATE, DIRTY_READ, CHARGED_RETURNED = (
    "oversold", "lost update", "dirty read", "charged for a returned item")
#: The names of the isolation violations, in the order the check looks for them.
ISOLATION_CHECKS = (OVERSOLD, LOST_UPDATE, DIRTY_READ, CHARGED_RETURNED)


def check_isolation(trace, stock: dict, *, service: str = "inventory", reserve: str = "reserve",
                    release: str = "release", refused: str = "out_of_stock", charge: str = "charge",
                    refund: str = "refund") -> list[Violation]:
    """The isolation violations of ``trace`` for a ``stock`` (item -> count at the start)
    kept by ``service``; the effect names default to the order saga's."""
    believed = dict(stock)                      # the count the service last wrote
    writer: dict = {}                           # item -> (correlation, time) of that write
    held: dict = {item: {} for item in stock}   # item -> {correlation: reserve record}
    returned: dict = {}                         # correlation -> (releaser, time, item)
    refusals: list = []                         # (record, holders at that instant)
    released_at: dict = {}                      # correlation -> time of its release
    charges: dict = {}                          # correlation -> charge record, minus refunds
    found: list[Violation] = []
    for raw in trace.records:
        if raw[1] != EFFECT:
            continue
        rec = Record._make(raw)
        detail = rec.detail or {}
        name, corr = detail.get("effect"), rec.correlation
        if rec.service != service:
            if name == charge:
                charges[corr] = rec
            elif name == refund:
                charges.pop(corr, None)
            continue
        item = detail.get("item")
        if item not in stock:
            continue
        if name in (reserve, release):
            step = -1 if name == reserve else 1
            wrote = detail.get("stock")
            if wrote is not None and wrote != believed[item] + step:
                before, when = writer.get(item, (None, None))
                whose = f"{before}'s write at t={when:.3f}" if before else "the starting count"
                found.append(Violation(LOST_UPDATE, corr,
                                       f"{service} wrote {item} stock {wrote} after reading {detail.get('read')}, "
                                       f"but the stock was {believed[item]}: it overwrote {whose}", [rec]))
            if wrote is not None:
                believed[item] = wrote
                writer[item] = (corr, rec.time)
            if name == reserve:
                held[item][corr] = rec
                if len(held[item]) > stock[item]:
                    found.append(Violation(OVERSOLD, corr,
                                           f"{service} reserved {item} number {len(held[item])} of "
                                           f"{stock[item]} in stock: the true stock is "
                                           f"{stock[item] - len(held[item])}", list(held[item].values())))
            else:
                held[item].pop(corr, None)
                released_at[corr] = rec.time
                if believed[item] + len(held[item]) > stock[item]:
                    # The count says a unit is free that a customer still holds.
                    for holder in held[item]:
                        returned.setdefault(holder, (corr, rec.time, item, rec))
        elif name == refused and detail.get("read", 1) <= 0 and detail.get("reason") == "sold out":
            refusals.append((rec, item, dict(held[item])))
    for rec, item, holders in refusals:
        if holders and all(h in released_at and released_at[h] > rec.time for h in holders):
            names = ", ".join(sorted(map(str, holders)))
            found.append(Violation(DIRTY_READ, rec.correlation,
                                   f"{service} refused {item} as sold out at t={rec.time:.3f}, but the last unit "
                                   f"was held by {names}, whose compensation gave it back later",
                                   [rec, *holders.values()]))
    for holder, (releaser, when, item, rec) in returned.items():
        if holder in charges:
            found.append(Violation(CHARGED_RETURNED, holder,
                                   f"payment charged {holder} for the {item} it holds, but {releaser}'s "
                                   f"compensation gave that {item} back to {service}'s stock at t={when:.3f}",
                                   [charges[holder], rec]))
    return found


__all__ = ["check_isolation", "ISOLATION_CHECKS", "OVERSOLD", "LOST_UPDATE", "DIRTY_READ", "CHARGED_RETURNED"]
