"""Checks for notebook 07, change and growth: design a change, predict what it costs.

- :func:`impact` measures any change of the order flow under both patterns (the
  notebook's tool, and what the checks use);
- :func:`check_free_change` (exercise 7.1): a change that edits no existing
  definition under choreography;
- :func:`check_insertion` (exercise 7.2): a new step in the middle of the flow, and a
  prediction of how many existing services choreography must edit;
- :func:`check_split` (exercise 7.3): how many steps per sub-workflow keep every
  definition small.
"""

from __future__ import annotations

from ..flows import ORDER, BusinessFlow
from ..impact import Impact, compare
from ..scenarios import PATTERNS, growth
from ..scenarios.changes import describe
from ..words import count
from .feedback import Hint, checker

#: The largest definition (in tasks) an engineer should have to read, for exercise 7.3.
SPLIT_LIMIT = 7
#: How many services the flow of exercise 7.3 has.
SPLIT_SERVICES = 12


def impact(after: BusinessFlow, before: BusinessFlow = ORDER) -> dict[str, Impact]:
    """For each pattern, what changing ``before`` into ``after`` adds and edits."""
    for name, flow in (("after", after), ("before", before)):
        if not isinstance(flow, BusinessFlow):
            raise TypeError(f"{name} must be a BusinessFlow (for example ORDER.with_listener('loyalty')), "
                            f"got {type(flow).__name__}")
    return {p: compare(describe(before, p), describe(after, p)) for p in PATTERNS}


def impact_rows(changes: dict, before: BusinessFlow = ORDER) -> list[dict]:
    """Rows for :func:`microlab.viz.change_impact`: ``{label: flow after the change}`` ->
    one row per change and pattern, listing the existing definitions that had to be edited."""
    rows = []
    for label, after in changes.items():
        for pattern, imp in impact(after, before).items():
            rows.append({"change": label, "pattern": pattern, "changed": edited(imp)})
    return rows


def edited(imp: Impact) -> list[str]:
    """The existing definitions a change edited: services, then workflows (named so)."""
    return sorted(imp.changed_services) + [f"workflow {w}" for w in imp.changed_workflows]


def _is_flow(flow) -> None:
    if not isinstance(flow, BusinessFlow):
        raise Hint(f"expected a BusinessFlow built from ORDER (for example ORDER.with_listener('loyalty') "
                   f"or ORDER.insert(FlowStep(...), after='payment')), got {type(flow).__name__}.")


def _steps(flow: BusinessFlow) -> list[str]:
    return [s.service for s in flow.steps]


@checker("Exercise 7.1: a change that costs choreography nothing")
def check_free_change(flow) -> str:
    """Pass a flow, changed from ORDER, whose change edits no existing choreography definition."""
    _is_flow(flow)
    imp = impact(flow)
    chor, orch = imp["choreography"], imp["orchestration"]
    if chor.definitions_touched == 0 and orch.definitions_touched == 0:
        raise Hint("this flow is the same as ORDER: nothing changed. Add something to it, "
                   "for example a service that only listens to the outcome (ORDER.with_listener(...)).")
    if chor.removed_services:
        raise Hint(f"your change removes {', '.join(chor.removed_services)}: removing a service is not "
                   "adding one. Start from ORDER and only add.")
    if chor.existing_definitions_changed:
        raise Hint(f"under choreography your change edits "
                   f"{count(chor.existing_definitions_changed, 'existing service')}: {', '.join(sorted(chor.changed_services))}. A new step in the flow makes "
                   "its neighbours react to new events. Which kind of service reacts to events that "
                   "already exist, without anyone reacting to it?")
    return (f"under choreography you only added {', '.join(chor.added_services)}; no existing service "
            f"changed. Orchestration had to edit {count(orch.existing_definitions_changed, 'definition')} "
            f"({', '.join(edited(orch))}): the workflow must call the new service.")


@checker("Exercise 7.2: a step in the middle")
def check_insertion(flow, predicted: int) -> str:
    """Pass a flow with one new step inserted before the last step of ORDER, and a correct
    prediction of how many existing services choreography must edit."""
    _is_flow(flow)
    before, after = _steps(ORDER), _steps(flow)
    new = [s for s in after if s not in before]
    if [s for s in after if s in before] != before or len(new) != 1:
        raise Hint(f"insert exactly one new step and keep ORDER's steps ({', '.join(before)}) in order; "
                   f"your flow's steps are: {', '.join(after)}. Use ORDER.insert(FlowStep(...), after='...').")
    if after.index(new[0]) == len(after) - 1:
        raise Hint(f"{new[0]!r} is the last step: put it in the middle of the flow "
                   f"(after={before[0]!r} or after={before[1]!r}), where other steps come after it.")
    if isinstance(predicted, bool) or not isinstance(predicted, int):
        raise Hint(f"predicted is a whole number of existing services, got {predicted!r}.")
    chor = impact(flow)["choreography"]
    changed = sorted(chor.changed_services)
    if predicted != len(changed):
        direction = "more" if len(changed) > predicted else "fewer"
        raise Hint(f"you predicted {predicted}; {direction} existing services changed. Think about who "
                   "must now subscribe to the new step's event, who no longer reacts to the event it "
                   "used to, and who must learn the new failure event to compensate. "
                   "Run ch07.impact(your_flow)['choreography'] to see them.")
    return (f"choreography edits {len(changed)} existing services ({', '.join(changed)}): "
            f"the flow's order lives in their subscriptions.")


@checker("Exercise 7.3: split the orchestrator's definitions")
def check_split(split_every) -> str:
    """Pass the number of steps per sub-workflow that keeps every definition of a
    12-service flow at most SPLIT_LIMIT tasks, with the fewest definitions."""
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 1:
        raise Hint(f"split_every is a whole number of steps per sub-workflow (1 or more), got {split_every!r}.")
    options = {}
    for k in range(1, SPLIT_SERVICES + 1):
        row = _split_row(k)
        options[k] = (row["size"], row["definitions"])
    size, count = options[split_every]
    if size > SPLIT_LIMIT:
        raise Hint(f"with {split_every} steps per sub-workflow the largest definition has {size} tasks, "
                   f"more than {SPLIT_LIMIT}. Each step brings a task and its compensation: use fewer steps per part.")
    fewest = min(c for s, c in options.values() if s <= SPLIT_LIMIT)
    if count > fewest:
        raise Hint(f"every definition is small enough ({size} tasks at most), but you now have {count} "
                   f"definitions to keep consistent; bigger parts need fewer. How many steps can a part "
                   f"hold before it passes {SPLIT_LIMIT} tasks?")
    return (f"{split_every} steps per sub-workflow: the largest definition has {size} tasks, "
            f"in {count} definitions (the top workflow, each part and its compensation).")


def _split_row(k: int) -> dict:
    rows = growth(max_services=SPLIT_SERVICES, split_every=k)
    return [r for r in rows if r["series"] != "one workflow" and r["services"] == SPLIT_SERVICES][0]
