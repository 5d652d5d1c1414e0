"""Change impact: which definitions does a change touch, under each pattern?

A **system description** is plain data: for every service, what it handles, sends,
publishes and subscribes to, plus every workflow definition the orchestrator holds::

    {"services": {"payment": {"handles": ["charge_payment"], "publishes": [], ...}, ...},
     "workflows": {"order_workflow": {...Conductor JSON...}}}

Comparing the description before and after a change lists the services whose
definition changed (someone must edit, test and redeploy them), the services added,
and the workflow definitions changed. Adding a fraud check in the middle of the flow
changes one workflow under orchestration but the neighbours' reactions under
choreography; adding a pure listener costs choreography nothing but the new service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


def describe_service(service) -> dict:
    """A service's description: its own ``describe()`` if it has one, else what it handles."""
    own = getattr(service, "describe", None)
    if callable(own):
        desc = own()
    else:
        desc = {"handles": sorted(service.handlers)}
    return {k: _canonical(v) for k, v in sorted(desc.items())}


def describe_system(system, workflows: dict | None = None, ignore=("client",)) -> dict:
    """The description of every service in ``system`` (but ``ignore``) and the given workflows."""
    services = {name: describe_service(svc) for name, svc in sorted(system.services.items())
                if name not in ignore}
    return {"services": services, "workflows": {k: _canonical(v) for k, v in sorted((workflows or {}).items())}}


@dataclass
class Impact:
    """What changed between two system descriptions."""

    added_services: list = field(default_factory=list)
    removed_services: list = field(default_factory=list)
    changed_services: dict = field(default_factory=dict)  # name -> list of fields changed
    added_workflows: list = field(default_factory=list)
    removed_workflows: list = field(default_factory=list)
    changed_workflows: list = field(default_factory=list)

    @property
    def existing_definitions_changed(self) -> int:
        """Definitions that already existed and had to be edited (the cost of a change)."""
        return len(self.changed_services) + len(self.changed_workflows)

    @property
    def definitions_touched(self) -> int:
        """Every definition added, removed or changed."""
        return (len(self.added_services) + len(self.removed_services) + len(self.changed_services)
                + len(self.added_workflows) + len(self.removed_workflows) + len(self.changed_workflows))

    def as_dict(self) -> dict:
        """Plain data, e.g. for a table or a figure."""
        return {
            "added_services": self.added_services, "removed_services": self.removed_services,
            "changed_services": sorted(self.changed_services), "added_workflows": self.added_workflows,
            "removed_workflows": self.removed_workflows, "changed_workflows": self.changed_workflows,
        }

    def __str__(self) -> str:
        lines = []
        if self.added_services:
            lines.append("new services: " + ", ".join(self.added_services))
        if self.removed_services:
            lines.append("removed services: " + ", ".join(self.removed_services))
        for name, fields in sorted(self.changed_services.items()):
            lines.append(f"changed service {name}: {', '.join(fields)}")
        if self.added_workflows:
            lines.append("new workflows: " + ", ".join(self.added_workflows))
        if self.changed_workflows:
            lines.append("changed workflows: " + ", ".join(self.changed_workflows))
        if self.removed_workflows:
            lines.append("removed workflows: " + ", ".join(self.removed_workflows))
        lines.append(f"existing definitions edited: {self.existing_definitions_changed}")
        return "\n".join(lines)


def compare(before: dict, after: dict) -> Impact:
    """List the services and workflows that a change added, removed or edited."""
    b_svc, a_svc = before.get("services", {}), after.get("services", {})
    b_wf, a_wf = before.get("workflows", {}), after.get("workflows", {})
    impact = Impact(
        added_services=sorted(set(a_svc) - set(b_svc)),
        removed_services=sorted(set(b_svc) - set(a_svc)),
        added_workflows=sorted(set(a_wf) - set(b_wf)),
        removed_workflows=sorted(set(b_wf) - set(a_wf)),
    )
    for name in sorted(set(a_svc) & set(b_svc)):
        fields = sorted(k for k in set(a_svc[name]) | set(b_svc[name])
                        if a_svc[name].get(k) != b_svc[name].get(k))
        if fields:
            impact.changed_services[name] = fields
    impact.changed_workflows = sorted(n for n in set(a_wf) & set(b_wf)
                                      if json.dumps(a_wf[n], sort_keys=True) != json.dumps(b_wf[n], sort_keys=True))
    return impact


def _canonical(value):
    """Sort lists of names so that a description does not depend on declaration order."""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if all(isinstance(x, str) for x in items):
            return sorted(items)
        return [_canonical(x) for x in items]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    return value
