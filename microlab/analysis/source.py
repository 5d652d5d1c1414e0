"""What the analysis reads: a trace (or a System, for its trace and its live services).
"""

from __future__ import annotations

from ..trace import Trace, record_correlation

def as_trace(source) -> Trace:
    """The trace of ``source`` (a Trace, or anything with a ``.trace``, such as a System)."""
    trace = getattr(source, "trace", source)
    if not isinstance(trace, Trace):
        raise TypeError(f"expected a microlab Trace or System, got {type(source).__name__}: "
                        "pass system.trace, or the system itself")
    if not trace.enabled:
        raise ValueError("this trace recorded nothing (the system was built with trace=False): "
                         "build it with System(..., trace=True) to draw it")
    return trace


def live_services(source) -> dict:
    """The service objects of ``source`` by name when it is a System, else an empty dict."""
    services = getattr(source, "services", None)
    return services if isinstance(services, dict) else {}


def check_correlation(trace: Trace, correlation) -> None:
    """Raise a teaching error if no record of ``trace`` belongs to transaction ``correlation``."""
    if correlation is None:
        return
    for rec in trace.records:
        if record_correlation(rec) == correlation:
            return
    known = trace.correlations()
    shown = ", ".join(repr(c) for c in known[:8]) + (" ..." if len(known) > 8 else "")
    raise ValueError(f"no message belongs to transaction (correlation) {correlation!r}; "
                     f"the trace has {len(known)} transactions: {shown or 'none'}")


__all__ = ['as_trace', 'live_services', 'check_correlation']
