"""The simulation kernel: a virtual clock and one heap of timed callbacks.

How time works
--------------
Nothing in microlab ever reads the wall clock. Time is a float, ``Simulation.now``,
that only moves when the kernel pops the next entry off its heap. The unit is the
second by convention (Conductor's timeouts and retry delays are in seconds), but the
kernel does not care.

How ordering works
------------------
Every scheduled callback is stored as a plain tuple ``(time, seq, fn, arg)``. ``seq``
is a per-simulation counter, so two callbacks due at the same instant run in the order
they were scheduled, and the heap never has to compare ``fn`` or ``arg``. Faults use
``schedule_first``, whose ``seq`` comes from a second counter far below the first, so a
crash at ``t`` comes before whatever else is due at ``t``. Plain tuples
(rather than objects with ``__lt__``) keep the heap about twice as fast.

How randomness works
--------------------
A simulation owns exactly one ``random.Random(seed)``. Everything random (latencies,
work times, failures, chaos) draws from it in the order the events happen, so the same
seed replays the same run byte for byte, and two simulations in one process never
influence each other: there is no module-level state here.

How runs end
------------
``run(until=...)`` stops when the heap is empty or the next callback is later than
``until``. It also stops after ``max_events`` callbacks and raises
:class:`EventLimitExceeded`; the layers above turn that into a readable "event storm"
error. A run that never settles is a bug in a model, and a hang teaches nothing.

How memory works
----------------
While ``run`` executes, Python's cyclic garbage collector is paused (and resumed when
``run`` returns or raises). A traced run keeps every message and record alive, and
each full collection would walk all of them again looking for reference cycles that
the runtime never makes: reference counting frees everything else at once. That walk
cost about 40% of a traced run. A cycle that a handler makes is collected as soon as
the run returns. If the collector was already off, ``run`` leaves it off.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import random
import sys
from typing import Any, Callable

from . import compiled

_new = object.__new__

#: How far below the ordinary sequence numbers :meth:`Simulation.schedule_first` puts its own.
_FIRST = 1 << 62

#: Callbacks one ``run()`` call may execute before it is called an event storm.
DEFAULT_MAX_EVENTS = 2_000_000


class EventLimitExceeded(RuntimeError):
    """A run executed more callbacks than its ``max_events`` budget allowed."""

    def __init__(self, events: int, now: float):
        super().__init__(f"the run executed {events:,} events and reached t={now:g} without settling")
        self.events = events
        self.now = now


class Timer:
    """A handle on one scheduled callback that can be cancelled before it fires.

    Lifecycle: created by :meth:`Simulation.timer` (the only place that makes one: it
    sets the six slots itself, without a constructor), then either fires once at its time
    or is cancelled (``cancel()``), in which case it is skipped when its time comes. A
    cancelled timer no longer keeps a run going: a run whose heap holds only cancelled
    timers has settled (otherwise every cancelled timeout would drag the clock along).
    """

    __slots__ = ("sim", "time", "fn", "arg", "cancelled", "fired")

    def cancel(self) -> None:
        """Prevent the callback from running (no effect if it already ran)."""
        if not self.cancelled and not self.fired:
            self.cancelled = True
            self.sim._cancelled += 1

    def _fire(self, _unused: Any) -> None:
        if self.cancelled:
            self.sim._cancelled -= 1
            return
        self.fired = True
        self.fn(self.arg)


class Simulation:
    """A virtual clock, an event heap and the one random generator of a run.

    Lifecycle: create with a seed, ``schedule`` callbacks, call ``run`` (as often as
    you like, each call continues where the last stopped).
    """

    # Slots: Python reads them as fast as inline attributes, and the compiled loop
    # (microlab.compiled) reads and writes ``now`` and ``_cancelled`` at fixed offsets.
    __slots__ = ("seed", "random", "now", "max_events", "events", "_heap", "_seq", "_first",
                 "_cancelled", "__weakref__")

    def __init__(self, seed: int = 0, *, max_events: int = DEFAULT_MAX_EVENTS):
        if not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self.random = random.Random(seed)
        self.now = 0.0
        self.max_events = max_events
        #: Callbacks executed so far, over all ``run`` calls.
        self.events = 0
        self._heap: list[tuple[float, int, Callable[[Any], Any], Any]] = []
        self._seq = itertools.count()
        self._first = itertools.count()  # see schedule_first
        #: Cancelled timers still on the heap (they do not keep a run going).
        self._cancelled = 0

    def schedule(self, delay: float, fn: Callable[[Any], Any], arg: Any = None) -> None:
        """Call ``fn(arg)`` after ``delay`` simulated seconds (``delay >= 0``)."""
        if delay < 0:
            raise ValueError(f"cannot schedule {delay!r} seconds into the past")
        heapq.heappush(self._heap, (self.now + delay, next(self._seq), fn, arg))

    def schedule_at(self, time: float, fn: Callable[[Any], Any], arg: Any = None) -> None:
        """Call ``fn(arg)`` at absolute simulated time ``time`` (not in the past)."""
        if time < self.now:
            raise ValueError(f"cannot schedule at t={time!r}: it is already t={self.now!r}")
        heapq.heappush(self._heap, (time, next(self._seq), fn, arg))

    def schedule_first(self, time: float, fn: Callable[[Any], Any], arg: Any = None) -> None:
        """Like :meth:`schedule_at`, but before every callback the other methods put at the
        same instant, whenever they were scheduled (two of these keep their own order).

        For faults: a service crashed at ``t`` is down at ``t``, so it does nothing at
        ``t`` (a worker crashed at 0 never sends its first poll)."""
        if time < self.now:
            raise ValueError(f"cannot schedule at t={time!r}: it is already t={self.now!r}")
        # A seq below every ordinary one (they count up from 0), still unique and rising.
        heapq.heappush(self._heap, (time, next(self._first) - _FIRST, fn, arg))

    def timer(self, delay: float, fn: Callable[[Any], Any], arg: Any = None) -> Timer:
        """Like :meth:`schedule`, but return a :class:`Timer` that can be cancelled."""
        if delay < 0:
            raise ValueError(f"cannot schedule {delay!r} seconds into the past")
        # The timer's slots and schedule() written out: services set a timer per retry,
        # timeout and arrival, and a class call with an __init__ costs twice these stores.
        timer = _new(Timer)
        timer.sim = self
        timer.time = time = self.now + delay
        timer.fn = fn
        timer.arg = arg
        timer.cancelled = False
        timer.fired = False
        heapq.heappush(self._heap, (time, next(self._seq), timer._fire, None))
        return timer

    def peek(self) -> float | None:
        """The time of the next callback, or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    @property
    def pending(self) -> int:
        """How many callbacks are scheduled and not yet run (cancelled timers excluded)."""
        return len(self._heap) - self._cancelled

    def run(self, until: float | None = None, max_events: int | None = None) -> None:
        """Run callbacks in (time, seq) order.

        Stops when nothing is left but cancelled timers, or before the first callback later than ``until``
        (the clock is then set to ``until``). Raises :class:`EventLimitExceeded` after
        ``max_events`` callbacks in this call.
        """
        budget = self.max_events if max_events is None else max_events
        if type(budget) is not int:  # e.g. math.inf or 1e6: at most ceil(budget) callbacks
            budget = sys.maxsize if budget == math.inf else max(0, math.ceil(budget))
        # One loop for both ways of ending: without ``until`` the horizon is infinite.
        horizon = math.inf if until is None else until
        heap = self._heap
        pop = heapq.heappop
        done = 0
        counted = False  # whether self.events already holds this call's callbacks
        collecting = gc.isenabled()
        if collecting:
            gc.disable()  # see "How memory works" above
        try:
            # ``for done in range(budget)`` counts the callbacks and enforces the budget
            # in one step (cheaper than ``done += 1`` and a comparison per callback):
            # ``done`` is the number of callbacks that returned before this one. The
            # next entry is peeked at (``heap[0]``) and popped only when it is due, so an
            # entry past ``until`` stays on the heap untouched for the next ``run`` call,
            # at no cost. Code that reads the heap (``Network.in_flight``,
            # ``Network.on_the_wire_to``, used when an orchestrator crashes) reads its
            # entries and sorts them by (time, seq) where order matters, never its layout.
            speedups = compiled.speedups  # the one switch (see microlab.compiled)
            if speedups is not None:
                # The same loop, compiled (microlab/_speedups.c): it adds to self.events itself.
                counted = True
                done = speedups.run_events(self, budget, horizon)
                if done == budget and len(heap) > self._cancelled and heap[0][0] <= horizon:
                    raise EventLimitExceeded(done, self.now)
            else:
                for done in range(budget):
                    if len(heap) <= self._cancelled or heap[0][0] > horizon:
                        break
                    t, _, fn, arg = pop(heap)
                    self.now = t
                    fn(arg)
                else:
                    done = budget
                    if len(heap) > self._cancelled and heap[0][0] <= horizon:
                        raise EventLimitExceeded(done, self.now)
            if until is not None and until > self.now:
                self.now = until
        finally:
            if not counted:
                self.events += done
            if collecting:
                gc.enable()
