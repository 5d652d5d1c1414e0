"""Run Conductor workflows on toy services: one call, used by the workflow explorer lab.

::

    from microlab.orchestration.toyrun import run_toy
    run = run_toy("microlab/data/workflows/order_fulfillment.json", {"orderId": "o-1"},
                  fail={"book_shipment": None})          # fail every attempt of that task
    print(run.execution.format())                        # retries, then the compensation

It does what ``python -m microlab run`` does (see :mod:`microlab.cli`): every SIMPLE
task is answered by a :class:`~.workers.ToyWorker` named after the task (or after the
``service=`` a builder task names), every HTTP task by a toy worker named after the
first segment of its URI's path; the first definition is started, the others serve as
sub-workflows and failure workflows. Bad options raise :class:`ToyRunError` naming the
task reference at fault (with a did-you-mean).

The command line (``python -m microlab run``) is a thin shell over :func:`run_toy`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from ..distributions import Exponential
from ..errors import DefinitionError, EventStorm, MicrolabError, did_you_mean
from ..system import HandlerFailureWarning, System
from . import model as m
from .execution import Execution, execution
from .orchestrator import Orchestrator
from .routing import first_segment, static_uri_prefix
from .validate import check_references
from .workers import ToyWorker

#: Service names a toy worker may not take (the orchestrator, its standby, the client).
RESERVED = ("orchestrator", "orchestrator-standby", "client")


class ToyRunError(MicrolabError, ValueError):
    """An option of a toy run (a task to fail, a worker output, the input) cannot work."""


@dataclass
class ToyServices:
    """Which toy worker answers which task.

    ``services``: the worker services to create, in order of first use; ``by_ref``: task
    reference name -> service; ``task_routes``: SIMPLE task name -> service;
    ``http_routes``: URI segment -> service (for segments renamed away from a reserved name).
    """

    services: list = field(default_factory=list)
    by_ref: dict = field(default_factory=dict)
    #: task reference name -> every service with a task of that name (a sub-workflow
    #: may reuse a reference name of its parent for another task).
    all_by_ref: dict = field(default_factory=dict)
    task_routes: dict = field(default_factory=dict)
    http_routes: dict = field(default_factory=dict)


@dataclass
class ToyRun:
    """One run of a workflow on toy services: the system (its trace is the product), the
    definitions, the correlation of the run and an event storm if the run was stopped."""

    system: System
    workflows: list
    correlation: str
    storm: EventStorm | None = None

    @property
    def main(self) -> m.WorkflowDef:
        """The workflow that was started (the first definition)."""
        return self.workflows[0]

    @property
    def execution(self) -> Execution:
        """The execution rebuilt from the trace (tasks, sub-workflows, failure workflow)."""
        return execution(self.system, self.correlation)


def load(source) -> list[m.WorkflowDef]:
    """Workflow definitions from Conductor JSON (path, text, parsed) or builder objects.

    Accepts a :class:`~.model.WorkflowDef`, a builder ``Saga`` (anything with
    ``.workflows``), or a list of WorkflowDefs; anything else goes to the Conductor
    loader. Sub-workflows and failure workflows named must be among them.
    """
    if isinstance(source, m.WorkflowDef):
        workflows = [source]
    elif hasattr(source, "workflows") and not isinstance(source, (str, dict, list)):
        workflows = list(source.workflows)
    elif isinstance(source, list) and source and all(isinstance(w, m.WorkflowDef) for w in source):
        workflows = list(source)
    else:
        from .conductor import load_workflows
        return load_workflows(source)   # checks references itself
    faults = check_references([(f"$[{i}]", wf) for i, wf in enumerate(workflows)])
    if faults:
        raise DefinitionError(faults, what="workflow definition")
    return workflows


def toy_services(workflows) -> ToyServices:
    """The toy workers that ``workflows`` need, and how tasks are routed to them."""
    out = ToyServices()
    seen: dict = {}
    for wf in workflows:
        for _, task in wf.walk():
            service = None
            if task.type == m.SIMPLE:
                service = _unreserved(task.service or task.name)
                out.task_routes[task.name] = service
            elif task.type == m.HTTP:
                request = task.input_parameters.get("http_request") or {}
                static = static_uri_prefix(str(request.get("uri", "")))
                segment = first_segment(static) if static else None
                if segment is not None:
                    service = _unreserved(segment)
                    if service != segment:
                        out.http_routes[segment] = service
            if service is not None:
                seen.setdefault(service, None)
                out.by_ref[task.task_reference_name] = service
                serving = out.all_by_ref.setdefault(task.task_reference_name, [])
                if service not in serving:
                    serving.append(service)
    out.services = list(seen)
    return out


def run_toy(source, input: dict | None = None, *, fail=None, outputs: dict | None = None,
            seed: int = 1, latency: float = 0.01, task_defs: dict | None = None,
            max_events: int | None = None) -> ToyRun:
    """Run the first workflow of ``source`` (see :func:`load`) on toy services.

    ``fail``: task reference name -> how many first attempts fail (None: every attempt),
    or a list of ``(ref, times)`` pairs. ``outputs``: task reference name -> the output
    dict its worker returns. ``latency``: mean network latency (exponential; 0 for none).
    Raises :class:`~microlab.errors.DefinitionError` for an invalid definition and
    :class:`ToyRunError` for a bad option; an event storm stops the run and is kept in
    ``storm``.
    """
    workflows = load(source)
    routes = toy_services(workflows)
    inp = {} if input is None else input
    if not isinstance(inp, dict):
        raise ToyRunError(f"the workflow input must be a JSON object (a dict), got {inp!r}")
    fails = list(fail.items()) if isinstance(fail, dict) else list(fail or [])
    for ref, times in fails:
        _known_ref("fail", ref, routes.by_ref)
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ToyRunError(f"fail {ref!r}: times must be a whole number >= 0 (the first attempts "
                              f"that fail), or None for every attempt; got {times!r}")
    for ref, value in (outputs or {}).items():
        _known_ref("outputs", ref, routes.by_ref)
        if not isinstance(value, dict):
            raise ToyRunError(f"outputs {ref!r}: a task's output must be a dict (a JSON object), got {value!r}")
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not math.isfinite(latency) \
            or latency < 0:
        raise ToyRunError(f"latency must be a finite number of seconds >= 0, got {latency!r}")

    extra = {} if max_events is None else {"max_events": max_events}
    system = System(seed=seed, latency=Exponential(latency) if latency > 0 else 0.0,
                    warn_on_failure=False, **extra)
    orchestrator = system.add(Orchestrator(task_routes=routes.task_routes, http_routes=routes.http_routes,
                                           task_defs=dict(task_defs or {})))
    workers = {name: system.add(ToyWorker(name)) for name in routes.services}
    for ref, value in (outputs or {}).items():
        for service in routes.all_by_ref[ref]:
            workers[service].outputs[ref] = value
    for ref, times in fails:
        for service in routes.all_by_ref[ref]:
            workers[service].fail(ref, times=times)
    orchestrator.register(workflows)
    correlation = f"{workflows[0].name}-run"
    orchestrator.start(workflows[0].name, inp, correlation=correlation)
    storm = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HandlerFailureWarning)
        try:
            system.run()
        except EventStorm as exc:
            storm = exc
    return ToyRun(system, workflows, correlation, storm)


def _unreserved(name: str) -> str:
    return f"{name}-worker" if name in RESERVED else name


def _known_ref(option: str, ref, by_ref: dict) -> None:
    if ref in by_ref:
        return
    guess = did_you_mean(ref, sorted(by_ref), otherwise=".")
    raise ToyRunError(f"{option}: no SIMPLE or HTTP task has taskReferenceName {ref!r}{guess} "
                      f"Tasks that toy workers answer: {', '.join(by_ref) or 'none'}")
