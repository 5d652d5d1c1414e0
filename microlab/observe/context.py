"""W3C Trace Context: the ``traceparent`` header a message carries to its receiver.

``traceparent`` is ``version-traceid-parentid-flags``: ``00``, the 32 hex digits of the
trace (here: the business transaction), the 16 hex digits of the span that sent the
message, and ``01`` (sampled). https://www.w3.org/TR/trace-context/#traceparent-header
A receiver that reads it makes its own span a child of the sender's: that is how
correlation (which transaction) and causation (which span caused this one) travel.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def traceparent(span) -> str:
    """The header that messages sent while handling ``span`` carry."""
    return f"00-{span.trace_id}-{span.span_id}-01"


def parse_traceparent(header: str) -> tuple[str, str]:
    """``(trace id, parent span id)`` from a header; a clear error naming what is wrong otherwise."""
    m = _HEADER.match(header.strip().lower()) if isinstance(header, str) else None
    if m is None:
        raise ValueError(f"traceparent {header!r} is not version-traceid-parentid-flags "
                         "(2, 32, 16 and 2 lowercase hex digits, joined by '-')")
    version, trace_id, parent_id, _ = m.groups()
    if version == "ff":
        raise ValueError(f"traceparent {header!r}: version ff is forbidden by the W3C specification")
    if set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        raise ValueError(f"traceparent {header!r}: an all-zero trace id or parent id is invalid")
    return trace_id, parent_id
