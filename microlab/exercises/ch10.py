"""Checks for notebook 10, observing a distributed flow: spans, trace context, a status view.

- :func:`order_spans`: the spans of ``order-1`` of the order saga under a pattern;
- :func:`check_traceparent` (exercise 10.1): the W3C header a span's children carry;
- :func:`check_cause` (exercise 10.2): find the span that caused another, by its parent id;
- :func:`check_progress` (exercise 10.3): "how far along is order X?" from a status view.
"""

from __future__ import annotations

from .. import scenarios
from ..observe import add_status_view, spans_from_trace
from ..observe.status import ORDER_FINAL
from ..words import count
from .feedback import Hint, checker

#: The happy path's events, in order: what a status view counts progress against.
HAPPY_PATH = ("OrderPlaced", "StockReserved", "PaymentCompleted", "OrderShipped", "OrderCompleted")


def order_spans(pattern: str = "orchestration", *, correlation: str = "order-1", context: bool = True,
                orders: int = 3, seed: int = 1):
    """The spans of ``correlation`` in the order saga run under ``pattern`` (``orders`` orders)."""
    result = scenarios.order_saga(pattern, orders=orders, seed=seed)
    return spans_from_trace(result, correlation, context=context)


def status_run(orders: int = 5, until: float | None = 0.2, seed: int = 1, arrival_rate: float = 20, **knobs):
    """The order saga under choreography (``orders`` at ``arrival_rate`` per second) with a status
    view; run to ``until`` (None: to the end). Returns ``(system, view)``."""
    system, _, _, _ = scenarios.build("order", "choreography", orders=orders, seed=seed,
                                      arrival_rate=arrival_rate, **knobs)
    view = add_status_view(system)
    system.run(until=until)
    return system, view


@checker("Exercise 10.1: the header a span's children carry")
def check_traceparent(make_header) -> str:
    """Pass a function ``make_header(span) -> str`` that writes the W3C traceparent of ``span``."""
    from ..observe import traceparent
    if not callable(make_header):
        raise Hint("pass your function itself (make_header, without parentheses).")
    spans = order_spans("choreography")
    for span in spans[:6]:
        got = make_header(span)
        want = traceparent(span)
        if got == want:
            continue
        if not isinstance(got, str):
            raise Hint(f"your function returned {type(got).__name__}; a header is a str.")
        parts = got.split("-")
        if len(parts) != 4:
            raise Hint(f"{got!r} has {count(len(parts), 'part')}; a traceparent has four, joined by '-'.",
                       reveal="version, trace id, parent id, flags: 00-<trace id>-<span id>-01")
        if span.trace_id not in parts or span.span_id not in parts:
            raise Hint(f"{got!r}: which two ids of the span must the receiver learn? One says which "
                       "transaction (the trace), the other which span sent the message.",
                       reveal="span.trace_id and span.span_id")
        raise Hint(f"{got!r} is not in the W3C order: version first, then the trace, then the parent "
                   "span, then the flags.", reveal="f'00-{span.trace_id}-{span.span_id}-01'")
    return ("every message sent while handling the span carries this header; the receiver's span "
            "becomes its child, in the same trace.")


@checker("Exercise 10.2: who caused this span?")
def check_cause(cause) -> str:
    """Pass a function ``cause(spans, span)`` returning the span that caused ``span`` (its parent), or None."""
    if not callable(cause):
        raise Hint("pass your function itself (cause, without parentheses).")
    for pattern in ("orchestration", "choreography"):
        spans = order_spans(pattern)
        by_id = {s.span_id: s for s in spans}
        for span in spans:
            want = by_id.get(span.parent_id)
            got = cause(list(spans), span)
            if got is want:
                continue
            if want is None:
                raise Hint(f"{span.name} is the root of its trace (parent_id None), and you returned "
                           f"{getattr(got, 'name', got)!r}: a root has no cause in the trace; return None.")
            if got is None:
                raise Hint(f"for {span.name} you returned None, but it has a parent ({span.parent_id}). "
                           "Which field of a span names the span that sent its message?",
                           reveal="look for the span whose span_id equals span.parent_id")
            raise Hint(f"for {span.name} ({pattern}) you returned {getattr(got, 'name', got)!r}; its cause is "
                       f"{want.name}. The parent is found by id, not by time or by service.",
                       reveal="next(s for s in spans if s.span_id == span.parent_id)")
    return ("a span's parent_id is the traceparent it received: following it rebuilds who caused "
            "what, across services, in both patterns.")


@checker("Exercise 10.3: how far along, under choreography?")
def check_progress(progress) -> str:
    """Pass ``progress(view, correlation) -> float``: the fraction of the happy path's events
    (``ch10.HAPPY_PATH``) that the status view has heard for the transaction, 1.0 once it is over."""
    if not callable(progress):
        raise Hint("pass your function itself (progress, without parentheses).")
    system, view = status_run()
    for i in range(1, 6):
        c = f"order-{i}"
        heard = [t for _, t, _ in view.history.get(c, [])]
        truth = 1.0 if any(t in ORDER_FINAL for t in heard) else len(set(heard) & set(HAPPY_PATH)) / len(HAPPY_PATH)
        got = progress(view, c)
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Hint(f"for {c} you returned {got!r}; return a number between 0 and 1.")
        if abs(got - truth) > 1e-9:
            raise Hint(f"for {c} you said {got:.2f}; the view has heard {heard or 'nothing'}. "
                       "What fraction of HAPPY_PATH is that?",
                       reveal="view.history[c] is a list of (time heard, event type, sent at); count the "
                              "types in HAPPY_PATH, divide by len(HAPPY_PATH), and use .get(c, []) for "
                              "an order not heard of yet")
    return ("the choreography's answer: one more subscriber to every event, a copy of the flow's "
            "knowledge in HAPPY_PATH, and an answer as old as the last event delivered to it.")
