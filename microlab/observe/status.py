"""An event-sourced status view: "how far along is order X?" answered under choreography.

Under choreography no service holds a transaction's state. A **status view** (a
projection) is one more participant that subscribes to every event of the flow and
folds each into the state of its transaction: the events seen, the last step reached,
and whether it is over. It answers with what it has been told so far; an event still
on its way is not in it yet (the view is eventually consistent).

What it costs to know, all of which :meth:`StatusView.costs` counts:

- one more delivery (and acknowledgement) of every event of every transaction;
- the flow's knowledge, once more: ``meaning`` maps each event to the step it means,
  and must change whenever the choreography does;
- a lag: the time from an event's publication to its arrival in the view.
"""

from __future__ import annotations

from ..choreography import Participant

#: The order saga's events under choreography, and what each says about the order.
ORDER_MEANING = {
    "OrderPlaced": "placed", "StockReserved": "stock reserved", "PaymentCompleted": "paid",
    "OrderShipped": "shipped", "OrderCompleted": "completed",
    "PaymentFailed": "payment failed, undoing", "StockReleased": "stock released", "OrderRejected": "rejected",
}
#: Events after which a transaction is over.
ORDER_FINAL = ("OrderCompleted", "OrderRejected")


class StatusView(Participant):
    """A participant that folds the flow's events into each transaction's status (see the module)."""

    def __init__(self, meaning: dict | None = None, final=ORDER_FINAL, name: str = "status-view", **kw):
        super().__init__(name, **kw)
        self.meaning = dict(ORDER_MEANING if meaning is None else meaning)
        self.final = tuple(final)
        #: Correlation -> [(time heard, event type, sent at)] in the order heard.
        self.history: dict[str, list] = {}
        for event_type in self.meaning:
            self.on(event_type, self._fold)

    def _fold(self, event, ctx) -> None:
        self.history.setdefault(event.correlation, []).append((self.now, event.type, event.sent_at))

    def status(self, correlation: str) -> str:
        """One line: the last step the view has heard of, how many events, and whether it is over."""
        heard = self.history.get(correlation)
        if not heard:
            return f"{correlation}: nothing heard yet"
        last = heard[-1][1]
        state = "over" if last in self.final else "in flight"
        events = "1 event" if len(heard) == 1 else f"{len(heard)} events"
        return f"{correlation}: {self.meaning[last]} ({events} heard, {state})"

    def costs(self, system) -> dict:
        """What the view cost in the run: deliveries to it, messages it sent, events it had to
        know, and its lag behind the events (ms of simulated time, to 0.01 ms: the unit in
        the key, so a notebook's printout says it)."""
        deliveries = [r for r in system.trace.records if r[1] == "deliver" and r[2] == self.name]
        lags = [t - sent for events in self.history.values() for t, _, sent in events]
        lags.sort()
        return {"deliveries": len(deliveries),
                "messages sent": sum(1 for r in system.trace.records if r[1] == "send" and r[3].source == self.name),
                "events it must know": len(self.meaning),
                "median lag (ms)": round(lags[len(lags) // 2] * 1000, 2) if lags else None,
                "max lag (ms)": round(lags[-1] * 1000, 2) if lags else None}


def add_status_view(system, **kw) -> StatusView:
    """Add a :class:`StatusView` to a system built but not yet run (``scenarios.build``)."""
    return system.add(StatusView(**kw))
