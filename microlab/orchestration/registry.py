"""The workflow definitions an orchestrator (and its standby) can run, compiled and routed.

Registering checks each definition (:mod:`~microlab.orchestration.validate`), checks
that the sub-workflows and failure workflows it names are registered (in the same call
or before), compiles it into a :class:`~microlab.orchestration.plan.Plan`, and routes
every SIMPLE and HTTP task to a service of the system
(:mod:`~microlab.orchestration.routing`). Any fault rejects the whole call with one
:class:`~microlab.errors.DefinitionError` listing every fault with its JSON path;
nothing is registered then.
"""

from __future__ import annotations


from ..errors import DefinitionError, MicrolabError, did_you_mean
from . import model as m
from .conductor import load_workflows, parse_workflow
from .params import has_expression
from .plan import Plan
from .routing import Router, static_uri_prefix
from .validate import check_cycles, check_workflow


def as_definitions(items) -> list[m.WorkflowDef]:
    """Flatten what ``register`` accepts: WorkflowDefs, sagas, Conductor dicts, lists, paths."""
    out: list = []
    for item in items:
        if isinstance(item, m.WorkflowDef):
            out.append(item)
        elif hasattr(item, "workflows") and not isinstance(item, (str, dict)):
            out.extend(item.workflows)  # a Saga from the builder
        elif isinstance(item, (list, tuple)):
            out.extend(as_definitions(item))
        elif isinstance(item, dict):
            wf, faults = parse_workflow(item)
            if faults:
                raise DefinitionError(faults, what=f"Conductor workflow definition {item.get('name')!r}")
            out.append(wf)
        elif isinstance(item, str) or hasattr(item, "__fspath__"):
            out.extend(load_workflows(item))
        else:
            raise TypeError(f"register() takes workflow definitions (from the builder or Conductor "
                            f"JSON), got {item!r}")
    return out


class Registry:
    """Definitions by name and version, with their compiled plans."""

    def __init__(self, task_defs: dict | None = None):
        #: Task definitions by task name (retries and timeouts for tasks without an inline one).
        self.task_defs: dict = dict(task_defs or {})
        self.definitions: dict[str, dict[int, m.WorkflowDef]] = {}
        self.plans: dict[tuple, Plan] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.definitions

    def names(self) -> list[str]:
        """Registered workflow names, in registration order."""
        return list(self.definitions)

    def add(self, definitions: list[m.WorkflowDef], router: Router) -> list[Plan]:
        """Check, compile and route ``definitions``; register them all, or raise and register none."""
        faults: list = []
        labelled = [("$" if len(definitions) == 1 else f"$[{i}]", wf) for i, wf in enumerate(definitions)]
        batch = {wf.name for wf in definitions}
        plans = []
        for prefix, wf in labelled:
            if not isinstance(wf, m.WorkflowDef):
                raise TypeError(f"expected a WorkflowDef, got {wf!r}")
            faults.extend(check_workflow(wf, prefix))
            faults.extend(self._check_names(wf, prefix, batch))
            plan = Plan(wf, self.task_defs)
            faults.extend(self._route(plan, wf, prefix, router))
            plans.append(plan)
        known = [(f"(registered {name})", self.definitions[name][max(self.definitions[name])])
                 for name in self.definitions if name not in batch]
        faults.extend(f for f in check_cycles(labelled + known) if f[0].startswith("$"))
        if faults:
            names = ", ".join(repr(wf.name) for wf in definitions)
            raise DefinitionError(faults, what=f"workflow definition{'s' if len(definitions) > 1 else ''} {names}")
        for plan in plans:
            self.definitions.setdefault(plan.name, {})[plan.version] = plan.definition
            self.plans[(plan.name, plan.version)] = plan
        return plans

    def find(self, name: str, version: int | None = None) -> Plan | None:
        """The plan of ``name`` (the latest version unless ``version`` is given), or None."""
        versions = self.definitions.get(name)
        if not versions:
            return None
        if version is None:
            version = max(versions)
        return self.plans.get((name, version))

    def plan(self, name, version: int | None = None) -> Plan:
        """Like :meth:`find`, but raise an error that lists what is registered."""
        found = self.find(name, version) if isinstance(name, str) else None
        if found is not None:
            return found
        known = self.names()
        if isinstance(name, str) and name in self.definitions:
            raise MicrolabError(f"workflow {name!r} has no version {version!r}; registered versions: "
                                f"{sorted(self.definitions[name])}")
        guess = did_you_mean(name, known)
        raise MicrolabError(f"no workflow called {name!r} is registered{guess} Registered: "
                            f"{', '.join(known) or 'none yet (orchestrator.register(definition))'}")

    # -- checks ------------------------------------------------------------------------------

    def _check_names(self, wf: m.WorkflowDef, prefix: str, batch: set) -> list:
        known = batch | set(self.definitions)
        faults = []
        failure = wf.failure_workflow
        if failure and not failure.startswith("$") and failure not in known:
            faults.append((f"{prefix}.failureWorkflow", _missing("failure workflow", failure, known)))
        for path, task in wf.walk(prefix):
            param = task.sub_workflow_param
            if task.type == m.SUB_WORKFLOW and param is not None and not has_expression(param.name) \
                    and param.name not in known:
                faults.append((f"{path}.subWorkflowParam.name", _missing("sub-workflow", param.name, known)))
        return faults

    def _route(self, plan: Plan, wf: m.WorkflowDef, prefix: str, router: Router) -> list:
        faults = []
        for step in plan.walk():
            path = prefix + step.path[1:]
            if step.type == m.SIMPLE:
                service, why = router.simple(step.name, wf.routes)
                if service is None:
                    faults.append((f"{path}.name", why))
                step.service = service
            elif step.type == m.HTTP:
                request = step.task.input_parameters.get("http_request")
                uri = request.get("uri") if isinstance(request, dict) else None
                if not isinstance(uri, str):
                    continue  # already a validation fault
                static = static_uri_prefix(uri)
                if static is None:
                    continue  # the service is chosen when the task runs
                service, why = router.http(static)
                if service is None:
                    faults.append((f"{path}.inputParameters.http_request.uri", f"task {step.ref!r}: {why}"))
                step.service = service
        return faults


def _missing(what: str, name: str, known) -> str:
    guess = did_you_mean(name, sorted(known))
    return (f"{what} {name!r} is not registered{guess} Register it in the same call "
            "(orchestrator.register(main, failure)) or before.")
