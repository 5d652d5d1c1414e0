"""Who is who in a run: the services of a trace, their roles and the order every figure draws them in.

Each engine declares the role of its services (``Service.role``: ``orchestrator``,
``broker``, ``worker``, ``participant``, ``owner``, ``listener``, ``client``); figures
group them as client, orchestrator, broker or service. A plain service declares none,
and its name is the hint (a learner's hand-written orchestrator is called so).
"""

from __future__ import annotations

from ..trace import SEND
from .source import as_trace, live_services

#: Names that mark a service's role when nothing more explicit is known (see :func:`roles`).
ROLE_HINTS = (("orchestrator", "orchestrator"), ("conductor", "orchestrator"), ("broker", "broker"))


def services_in(source) -> list[str]:
    """Every service named in the trace (senders, receivers, crash sites), in order of appearance."""
    trace = as_trace(source)
    seen: dict = {}
    for rec in trace.records:
        if rec[2] is not None:
            seen.setdefault(rec[2], None)
        if rec[1] == SEND:
            seen.setdefault(rec[3].destination, None)
    return list(seen)


def lane_order(names, roles: dict | None = None, entry: str | None = None) -> list[str]:
    """Services in drawing order, the same in every figure of the course.

    The client first (the outside world, where requests start); then ``entry``, the
    service the client talks to (the order service that owns the transaction), when it
    is not central; then the central services (``roles`` saying ``"orchestrator"`` or
    ``"broker"``); then the others in the order given (first appearance), which keeps the
    figure stable. Without ``roles`` and ``entry``: the client, then the order given.
    """
    names = list(dict.fromkeys(names))
    first = ["client"] if "client" in names else []
    roles = roles or {}
    central = [n for n in names if roles.get(n) in ("orchestrator", "broker")]
    if entry is not None and entry in names and entry not in first and entry not in central:
        first.append(entry)
    first += central
    taken = set(first)
    return first + [n for n in names if n not in taken]


#: How figures group the roles engines declare: the central services stand apart.
FIGURE_ROLES = {"client": "client", "orchestrator": "orchestrator", "broker": "broker",
                "worker": "service", "participant": "service", "owner": "service",
                "listener": "service", "service": "service"}


def roles(source, overrides: dict | None = None) -> dict:
    """The role of each service in figures: ``"client"``, ``"orchestrator"``, ``"broker"`` or ``"service"``.

    In order of precedence: ``overrides`` (a dict name -> role); when ``source`` is a
    System, the role the service declares (``Service.role``, set by the engines: see
    :data:`FIGURE_ROLES`); the name (``client``; a name containing
    ``orchestrator``/``conductor`` or ``broker``); otherwise ``"service"``.
    """
    trace = as_trace(source)
    names = services_in(trace)
    live = live_services(source)
    names = list(dict.fromkeys(list(live) + names)) if live else names
    overrides = dict(overrides or {})
    valid = ("client", "orchestrator", "broker", "service")
    for name, role in overrides.items():
        if role not in valid:
            raise ValueError(f"role of {name!r} must be one of {', '.join(valid)}, got {role!r}")
    out = {}
    for name in names:
        role = overrides.get(name) or FIGURE_ROLES.get(getattr(live.get(name), "role", None))
        if role is None:
            role = "client" if name == "client" else "service"
            lowered = name.lower()
            for hint, hinted in ROLE_HINTS:
                if hint in lowered:
                    role = hinted
                    break
        out[name] = role
    return out


__all__ = ['services_in', 'lane_order', 'roles', 'FIGURE_ROLES']
