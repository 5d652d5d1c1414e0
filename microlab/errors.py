"""The errors microlab raises on purpose, each written to teach what went wrong."""

from __future__ import annotations

import difflib


def closest(name, options) -> str | None:
    """The option nearest to a misspelt ``name`` (difflib's ratio), or None if none is close."""
    close = difflib.get_close_matches(str(name), list(options), n=1)
    return close[0] if close else None


def did_you_mean(name, options, *, sentence: bool = False, otherwise: str = "") -> str:
    """The "did you mean" hint that every error naming a misspelt thing appends.

    ``"; did you mean 'x'?"`` to continue a clause, or ``" Did you mean 'x'?"`` with
    ``sentence=True`` to follow a full stop; ``otherwise`` (often ``""`` or ``"."``) when no
    option is close. One helper, so that every message suggests the same way.
    """
    match = closest(name, options)
    if match is None:
        return otherwise
    return f" Did you mean {match!r}?" if sentence else f"; did you mean {match!r}?"


class MicrolabError(Exception):
    """Base class of every error microlab raises on purpose."""


class UnknownServiceError(MicrolabError, KeyError):
    """A message was addressed to a service that the system does not have."""

    def __init__(self, name, known, context: str = ""):
        self.name = name
        self.known = sorted(known)
        text = f"{context}no service is called {name!r}" + did_you_mean(name, self.known)
        text += f" Known services: {', '.join(self.known) or '(none yet: add some with system.add)'}."
        super().__init__(text)

    def __str__(self) -> str:  # KeyError would otherwise quote the whole text
        return self.args[0]


class EventStorm(MicrolabError):
    """A run kept producing events past its budget: some messages never stop flowing.

    ``services`` and ``types`` hold ``(name, count)`` pairs of the busiest services and
    message types near the end of the run; the trace up to that point is kept.
    """

    def __init__(self, events: int, now: float, services, types, loop: bool = False):
        self.events = events
        self.loop = loop
        self.now = now
        self.services = services
        self.types = types
        svc = ", ".join(f"{n} ({c:,} deliveries)" for n, c in services) or "none"
        typ = ", ".join(f"{n} ({c:,})" for n, c in types) or "none"
        super().__init__(
            f"Event storm: the run executed {events:,} events and reached t={now:g} without "
            f"settling. Busiest services near the end: {svc}. Busiest message types: {typ}. "
            "Most likely a handler answers every message with another one forever (a "
            "ping-pong or an event loop); give it a condition to stop, or pass a larger "
            "max_events to run() if the model really is that big."
            + (" Stopped early: for the last 200,000 events one business transaction sent the same "
               "few messages back and forth; set system.storm_guard = False if that is intended."
               if loop else "")
        )


class DefinitionError(MicrolabError, ValueError):
    """A definition (service, workflow, subscription) is malformed.

    ``faults`` lists ``(path, message)`` pairs; ``path`` locates the fault, e.g.
    ``$.tasks[2].taskReferenceName`` in a Conductor workflow.
    """

    def __init__(self, faults, what: str = "definition"):
        self.faults = list(faults)
        lines = "\n".join(f"  {path}: {message}" for path, message in self.faults)
        super().__init__(f"invalid {what} ({len(self.faults)} fault"
                         f"{'s' if len(self.faults) != 1 else ''}):\n{lines}")
