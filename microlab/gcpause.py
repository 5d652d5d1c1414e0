"""Pausing Python's cyclic garbage collector while a function walks a large trace.

A finished run keeps every message and record alive: millions of objects that the
collector walks again on every full collection, looking for reference cycles that
neither the runtime nor the analyses make. An analysis of a large trace allocates a
great many small objects (groups, spans, deliveries), and each allocation burst
triggers such collections: on a 5-million-record trace that walk was about half of
``check_saga``'s and ``flights``' time. The kernel pauses the collector for the same
reason while a run executes (see "How memory works" in :mod:`microlab.kernel`);
reference counting frees everything else at once, and a cycle is collected as soon
as the collector is back on.
"""

from __future__ import annotations

import functools
import gc


def gc_paused(fn):
    """Decorate ``fn`` so that the cyclic collector is off while it runs (and left off if
    it was off already)."""

    @functools.wraps(fn)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused
