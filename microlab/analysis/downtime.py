"""When each service was down: crash to restart.
"""

from __future__ import annotations

from ..trace import CRASH, RESTART
from .source import as_trace

def down_spans(source, until: float | None = None) -> list[tuple[str, float, float, str | None]]:
    """``(service, crashed at, restarted at, reason)`` for every crash; a service still
    down at the end of the trace is given ``until`` (default: the last record's time)."""
    trace = as_trace(source)
    end = until if until is not None else (trace.records[-1][0] if trace.records else 0.0)
    open_: dict = {}
    spans = []
    for time, kind, service, _msg, detail in trace.records:
        if kind == CRASH:
            open_[service] = (time, (detail or {}).get("reason"))
        elif kind == RESTART and service in open_:
            start, reason = open_.pop(service)
            spans.append((service, start, time, reason))
    for service, (start, reason) in open_.items():
        spans.append((service, start, max(end, start), reason))
    spans.sort(key=lambda s: (s[1], s[0]))
    return spans


__all__ = ['down_spans']
