"""Changing a flow: which definitions must change, and how big the orchestrator grows.

Two canonical changes ship with the order saga:

- ``"fraud_check"``: insert a fraud screening between payment and shipping. Under
  orchestration only the workflow changes (and the new service is added); under
  choreography shipping must now wait for ``FraudCleared``, and every earlier service
  and the order service must learn the new failure event. This favours orchestration.
- ``"analytics"``: add a pure listener that hears every order's outcome. Under
  choreography nothing existing changes; under orchestration the workflow must call it.
  This favours choreography.

Under ``"choreography-p2p"`` neither change is free: a fraud check is a new callee of
payment and a new caller of shipping, and its failure must reach everyone who undoes;
an analytics listener must be called by the owner, who alone knows the outcome.
"""

from __future__ import annotations

from ..flows import FRAUD_CHECK, ORDER, BusinessFlow, FlowStep
from ..impact import Impact, compare, describe_system
from ..system import System
from .knobs import ALL_PATTERNS, Knobs

CHANGES = {
    "fraud_check": "insert a fraud check between payment and shipping",
    "analytics": "add an analytics service that listens to every outcome",
}


def apply_change(flow: BusinessFlow, change: str) -> BusinessFlow:
    """The flow after one of the canonical :data:`CHANGES`."""
    if change == "fraud_check":
        return flow.insert(FRAUD_CHECK, after="payment")
    if change == "analytics":
        return flow.with_listener("analytics")
    raise ValueError(f"unknown change {change!r}; the changes are: "
                     + "; ".join(f"{k!r} ({v})" for k, v in CHANGES.items()))


def describe(flow: BusinessFlow, pattern: str) -> dict:
    """The system description of ``flow`` under ``pattern`` (services and workflows)."""
    from .choreographed import build_choreography
    from .orchestrated import build_orchestration
    from .pointtopoint import build_point_to_point

    knobs = Knobs()
    system = System()
    if pattern == "orchestration":
        services, orchestrator, the_saga = build_orchestration(flow, knobs)
        system.add(*services)
        workflows = {wf["name"]: wf for wf in the_saga.to_conductor()}
        # The orchestrator's own code does not change with a flow; its definitions do.
        return describe_system(system, workflows, ignore=("client", "orchestrator"))
    if pattern == "choreography":
        system.add(*build_choreography(flow, knobs))
        # Topics are created on first use: the broker's configuration is not edited by hand.
        return describe_system(system, ignore=("client", "broker"))
    if pattern == "choreography-p2p":
        system.add(*build_point_to_point(flow, knobs))
        # Nothing sits in the middle: every definition is a service's own.
        return describe_system(system, ignore=("client",))
    raise ValueError(f"pattern must be one of {ALL_PATTERNS}, got {pattern!r}")


def change_impact(change: str, flow: BusinessFlow = ORDER, patterns=ALL_PATTERNS) -> dict[str, Impact]:
    """For each of ``patterns`` (default: all three), what the change adds, removes and edits."""
    after = apply_change(flow, change)
    return {pattern: compare(describe(flow, pattern), describe(after, pattern)) for pattern in patterns}


def generic_flow(n: int) -> BusinessFlow:
    """A flow of ``n`` steps at services ``s1`` .. ``sn`` (for growth experiments)."""
    if n < 1:
        raise ValueError(f"a flow needs at least one step, got n={n}")
    steps = tuple(FlowStep(f"s{i}", f"do_{i}", f"undo_{i}", f"Done{i}", f"Failed{i}", f"Undone{i}")
                  for i in range(1, n + 1))
    return BusinessFlow(name="job", owner="owner", request="StartJob", started="JobStarted",
                        completed="JobDone", rejected="JobAbandoned", steps=steps)


def definition_size(workflow: dict) -> dict:
    """Tasks (at any depth), branches (switch cases, fork branches) and services named."""
    tasks = branches = 0
    services: set = set()

    def walk(items):
        nonlocal tasks, branches
        for task in items:
            tasks += 1
            if task.get("type") in ("SIMPLE", "HTTP"):
                services.add(task.get("name"))
            cases = task.get("decisionCases") or {}
            branches += len(cases) + (1 if task.get("defaultCase") else 0)
            for case in cases.values():
                walk(case)
            walk(task.get("defaultCase") or [])
            forks = task.get("forkTasks") or []
            branches += len(forks)
            for branch in forks:
                walk(branch)
            walk(task.get("loopOver") or [])

    walk(workflow.get("tasks", []))
    return {"tasks": tasks, "branches": branches, "task_names": len(services)}


def growth(max_services: int = 12, split_every: int = 3) -> list[dict]:
    """How the orchestrator's definitions grow as a flow gains steps, with and without splitting.

    Rows ``{"series", "services", "size", "branches", "definitions"}``: ``size`` is the
    number of tasks in the largest single definition an engineer must read. "one
    workflow" puts every step (and its compensation) in one saga; "split into
    sub-workflows" groups ``split_every`` steps per domain sub-saga.
    """
    from .orchestrated import workflow_for

    knobs = Knobs()
    rows = []
    for n in range(1, max_services + 1):
        flow = generic_flow(n)
        one = workflow_for(flow, knobs).to_conductor()
        sizes = [definition_size(wf) for wf in one]
        rows.append({"series": "one workflow", "services": n, "size": max(s["tasks"] for s in sizes),
                     "branches": max(s["branches"] for s in sizes), "definitions": len(one)})
        split = split_definitions(flow, knobs, split_every)
        sizes = [definition_size(wf) for wf in split]
        rows.append({"series": f"split into sub-workflows of {split_every}", "services": n,
                     "size": max(s["tasks"] for s in sizes),
                     "branches": max(s["branches"] for s in sizes), "definitions": len(split)})
    return rows


def split_definitions(flow: BusinessFlow, knobs: Knobs, every: int) -> list[dict]:
    """``flow`` as per-domain sub-sagas of ``every`` steps, plus a top workflow that calls them."""
    from dataclasses import replace

    from ..orchestration import sub_workflow, workflow
    from .orchestrated import workflow_for

    parts = [flow.steps[i:i + every] for i in range(0, len(flow.steps), every)]
    definitions: list[dict] = []
    top = workflow(f"{flow.name}_top", inputs=[f"{flow.name}Id"])
    for k, steps in enumerate(parts, 1):
        part = replace(flow, name=f"{flow.name}_part{k}", steps=steps, listeners=())
        definitions.extend(workflow_for(part, knobs, listeners=()).to_conductor())
        top.add(sub_workflow(f"part{k}", part.workflow,
                             input={f"{part.name}Id": f"${{workflow.input.{flow.name}Id}}"}))
    return [top.build().to_conductor()] + definitions
