"""The system description: who publishes what, who consumes what, and what is wrong.

In choreography the flow of a business transaction is nowhere written down: it is the
sum of every service's subscriptions and publications. This module adds them up from
the declarations (reactions' ``publishes``, subscriptions at the broker) and warns
about the two mistakes that fail silently at run time:

- an event that is published but that nobody consumes (the next step never happens,
  and nothing errors);
- a subscription to an event that nobody publishes (that reaction never runs; often a
  typo, so the warning suggests the closest published name).

The result is plain data in a deterministic order (services and events sorted by name),
so two descriptions can be compared to measure the impact of a change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import closest, did_you_mean
from ..services import Client, Service
from .broker import Broker
from .participant import Participant

UNCONSUMED = "unconsumed"
UNPUBLISHED = "unpublished"
NO_BROKER = "no_broker"


@dataclass
class DescriptionWarning:
    """A problem in the description: ``kind`` is ``unconsumed``, ``unpublished`` or ``no_broker``."""

    kind: str
    event: str | None
    services: list
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class ServiceDescription:
    """What one service publishes, subscribes to and accepts as commands.

    ``declared`` is False for a plain service (not a Participant): the description
    cannot know what it publishes, only what it subscribes to at the broker.
    """

    name: str
    publishes: list = field(default_factory=list)
    subscribes: list = field(default_factory=list)
    commands: list = field(default_factory=list)
    reactions: list = field(default_factory=list)
    outbox: bool | None = None
    idempotent: bool | None = None
    declared: bool = True


@dataclass
class SystemDescription:
    """Services (sorted by name), event types with their publishers and consumers, warnings.

    Built whole by :func:`describe`. The event types are not stored: they are what the
    services publish and subscribe to (:attr:`events`), so the two cannot disagree.
    """

    services: dict
    brokers: list
    warnings: list

    @property
    def events(self) -> dict:
        """``{event type: {"publishers": [...], "consumers": [...]}}``, event types sorted by
        name, each list in the order of the (sorted) services."""
        return _events(self.services)

    @property
    def ok(self) -> bool:
        """True when there is nothing to warn about."""
        return not self.warnings

    def publishers(self, event: str) -> list[str]:
        """The services that publish ``event`` (sorted)."""
        return list(self.events.get(event, {}).get("publishers", []))

    def consumers(self, event: str) -> list[str]:
        """The services that subscribe to ``event`` (sorted)."""
        return list(self.events.get(event, {}).get("consumers", []))

    def to_dict(self) -> dict:
        """Plain data (dicts and lists) in a deterministic order, e.g. for change impact."""
        return {"services": {n: asdict(s) for n, s in self.services.items()},
                "events": {e: dict(v) for e, v in self.events.items()},
                "brokers": list(self.brokers),
                "warnings": [asdict(w) for w in self.warnings]}

    def __str__(self) -> str:
        lines = [f"{len(self.services)} services, {len(self.events)} event types, "
                 f"broker: {', '.join(self.brokers) or 'none'}"]
        for s in self.services.values():
            lines.append(f"  {s.name}" + ("" if s.declared else " (plain service: publishes not declared)"))
            if s.commands:
                lines.append(f"    commands:   {', '.join(s.commands)}")
            lines.append(f"    publishes:  {', '.join(s.publishes) or '-'}")
            lines.append(f"    subscribes: {', '.join(s.subscribes) or '-'}")
            for r in s.reactions:
                lines.append(f"    {r}")
        lines.append("events:")
        width = max((len(e) for e in self.events), default=0)
        for event, v in self.events.items():
            lines.append(f"  {event:<{width}}  {', '.join(v['publishers']) or '(nobody)'} -> "
                         f"{', '.join(v['consumers']) or '(nobody)'}")
        if self.warnings:
            lines.append(f"WARNINGS ({len(self.warnings)}):")
            lines.extend(f"  ! {w.message}" for w in self.warnings)
        else:
            lines.append("no warnings: every event published is consumed, every subscription is published")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython shows the readable text
        p.text(str(self))


def describe(system_or_services) -> SystemDescription:
    """Describe a system (or an iterable of services): publishes, subscriptions, warnings.

    Reads the participants' declarations and every broker's subscriptions, so it works
    before the system has run.
    """
    services = getattr(system_or_services, "services", None)
    services = list(services.values()) if isinstance(services, dict) else list(system_or_services)
    for s in services:
        if not isinstance(s, Service):
            raise TypeError(f"describe() takes a System or Service objects, got {s!r}")
    brokers = [s for s in services if isinstance(s, Broker)]
    subscribed: dict[str, dict] = {}
    for broker in brokers:
        for topic, subs in broker.topics.items():
            for sub in subs:
                subscribed.setdefault(sub.service, {})[topic] = None
    described: dict = {}
    plain = []
    for s in sorted(services, key=lambda s: s.name):
        if isinstance(s, Broker) or (isinstance(s, Client) and s.name not in subscribed):
            continue
        if isinstance(s, Participant):
            subs = dict.fromkeys(s.subscribes)
            subs.update(subscribed.get(s.name, {}))
            described[s.name] = ServiceDescription(
                s.name, sorted(s.publishes), sorted(subs), sorted(s.commands),
                [r.describe() for r in s.reactions.values()], s.outbox, s.idempotent)
        elif callable(getattr(s, "published_topics", None)):
            # A service that declares what it publishes without being a participant (an
            # orchestrator whose workflows hold EVENT tasks); what it consumes is its subscriptions.
            described[s.name] = ServiceDescription(s.name, publishes=list(s.published_topics()),
                                                   subscribes=sorted(subscribed.get(s.name, {})))
        elif s.name in subscribed:
            described[s.name] = ServiceDescription(s.name, subscribes=sorted(subscribed[s.name]),
                                                   declared=False)
            plain.append(s.name)
        else:
            plain.append(s.name)
    return SystemDescription(described, sorted(b.name for b in brokers),
                             _warnings(_events(described), plain, services))


def _events(described: dict) -> dict:
    # Who publishes and who consumes each event type, from the services' own lists.
    events: dict[str, dict] = {}
    for s in described.values():
        for e in s.publishes:
            events.setdefault(e, {"publishers": [], "consumers": []})["publishers"].append(s.name)
        for e in s.subscribes:
            events.setdefault(e, {"publishers": [], "consumers": []})["consumers"].append(s.name)
    return {e: events[e] for e in sorted(events)}


def _warnings(events: dict, plain: list, services: list) -> list:
    warnings = []
    published = [e for e, v in events.items() if v["publishers"]]
    consumed = [e for e, v in events.items() if v["consumers"]]
    for event, v in events.items():
        if v["publishers"] and not v["consumers"]:
            hint = closest(event, [e for e in consumed if e not in published])
            text = (f"{event} is published by {', '.join(v['publishers'])} but no service subscribes to "
                    "it: the event goes nowhere. In choreography a missing subscription fails "
                    "silently: nothing errors, the next step just never happens.")
            if hint:
                text += f" (Someone subscribes to {hint!r}: a typo?)"
            warnings.append(DescriptionWarning(UNCONSUMED, event, list(v["publishers"]), text))
        if v["consumers"] and not v["publishers"]:
            text = (f"{', '.join(v['consumers'])} subscribe{'s' if len(v['consumers']) == 1 else ''} to "
                    f"{event} but no service publishes it: that reaction will never run.")
            text += did_you_mean(event, published, sentence=True)
            if plain:
                text += (f" (Unless a plain service emits it: {', '.join(plain)} "
                         "do not declare what they publish.)")
            warnings.append(DescriptionWarning(UNPUBLISHED, event, list(v["consumers"]), text))
    needing = sorted(s.name for s in services if isinstance(s, Participant)
                     and (s.subscribes or s.publishes)
                     and not any(isinstance(b, Broker) and b.name == s.broker_name for b in services))
    if needing:
        warnings.append(DescriptionWarning(
            NO_BROKER, None, needing,
            f"{', '.join(needing)} publish or subscribe through a broker that is not in the system: "
            "add one with system.add(Broker())."))
    return warnings
