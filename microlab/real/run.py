"""Run Conductor workflow JSON on a real Conductor server, with microlab's toy workers.

::

    from microlab.real import run_real
    run = run_real("microlab/data/workflows/order_fulfillment.json", {"orderId": "o-1", "amount": 30},
                   fail={"book_shipment": None}, server="http://127.0.0.1:8080")
    print(run.execution.format())        # the same table as a simulated run prints

It does on a real server what :func:`~microlab.orchestration.toyrun.run_toy` does in the
simulator: registers the task and workflow definitions (the first workflow is started,
the others serve as sub-workflows and failure workflows), runs toy workers that poll for
the SIMPLE tasks (:mod:`~microlab.real.workers`), serves HTTP tasks that call this
machine from toy HTTP services (:mod:`~microlab.real.http_toys`), waits for the workflow
(and its failure workflow) to end, and converts the result (:mod:`~microlab.real.convert`).

``server`` is a URL, a started :class:`~.conductor_server.ConductorServer`, or None to
start one for this run (about 20 s on 2 cores; pass one server to many runs).

Task definitions: a SIMPLE task whose name has no definition (neither in ``task_defs``
nor inline) is registered with the defaults the simulator assumes, Conductor's own: 3
retries 60 s apart, FIXED, a 3600 s response timeout. Definitions without an
``ownerEmail`` (which Conductor requires) get ``microlab@localhost``; nothing else of
them is changed.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import MicrolabError
from .client import ConductorAPI, ConductorError, ConductorUnreachable
from .convert import FAILURE_KEY, to_execution, to_trace
from .http_toys import ToyHTTPServer, local_ports
from .workers import PollingWorkers, ToyPlan

OWNER = "microlab@localhost"
#: Conductor's (and the simulator's) task definition for a SIMPLE task that names none.
DEFAULT_TASK_DEF = {"retryCount": 3, "retryLogic": "FIXED", "retryDelaySeconds": 60,
                    "responseTimeoutSeconds": 3600, "timeoutSeconds": 0, "timeoutPolicy": "TIME_OUT_WF"}
TERMINAL = ("COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")


class RealRunError(MicrolabError, RuntimeError):
    """A real run could not start or did not end (the message says which task waits)."""


# -- reading definitions ---------------------------------------------------------------------

def read_definitions(source) -> list[dict]:
    """Conductor workflow JSON as a list of dicts: a path, JSON text, a dict or a list."""
    if isinstance(source, (str, Path)) and not str(source).lstrip().startswith(("{", "[")):
        data = json.loads(Path(source).read_text())
    elif isinstance(source, str):
        data = json.loads(source)
    elif hasattr(source, "to_conductor"):
        data = source.to_conductor()
    else:
        data = source
    workflows = data if isinstance(data, list) else [data]
    if not workflows or not all(isinstance(w, dict) for w in workflows):
        raise RealRunError("a workflow definition must be a JSON object (or a list of them, main first)")
    return copy.deepcopy(workflows)


def walk(tasks):
    """Every task of a task list, nested ones included (switch cases, fork branches, loops)."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for case in (task.get("decisionCases") or {}).values():
            yield from walk(case)
        yield from walk(task.get("defaultCase"))
        for branch in task.get("forkTasks") or []:
            yield from walk(branch)
        yield from walk(task.get("loopOver"))


def simple_names(workflows) -> list[str]:
    """The task names of every SIMPLE task (what workers poll for), in order of first use."""
    return list(dict.fromkeys(t.get("name") for w in workflows for t in walk(w.get("tasks"))
                              if t.get("type", "SIMPLE") == "SIMPLE" and t.get("name")))


def http_routes(workflows) -> dict:
    """Port -> {URI path: (task reference, task name)} for HTTP tasks that call this machine."""
    routes: dict = {}
    for w in workflows:
        for t in walk(w.get("tasks")):
            if t.get("type") != "HTTP":
                continue
            request = (t.get("inputParameters") or {}).get("http_request") or {}
            uri = str(request.get("uri", ""))
            for port in local_ports([uri]):
                path = urlsplit(uri.split("${", 1)[0]).path
                routes.setdefault(port, {})[path] = (t.get("taskReferenceName"), t.get("name"))
    return routes


def task_definitions(workflows, task_defs=None) -> list[dict]:
    """The task definitions to register: those given, then defaults for SIMPLE tasks
    that have neither one given nor an inline ``taskDefinition``."""
    given = {}
    for d in (task_defs.values() if isinstance(task_defs, dict) else task_defs or []):
        d = _as_conductor_task_def(d)
        given[d["name"]] = d
    inline = {t.get("name") for w in workflows for t in walk(w.get("tasks")) if t.get("taskDefinition")}
    out = list(given.values())
    for name in simple_names(workflows):
        if name not in given and name not in inline:
            out.append({"name": name, **DEFAULT_TASK_DEF})
    for d in out:
        d.setdefault("ownerEmail", OWNER)
    return out


def _as_conductor_task_def(d) -> dict:
    if isinstance(d, dict):
        return dict(d)
    to = getattr(d, "to_conductor", None)
    if to is None:
        raise RealRunError(f"a task definition must be Conductor JSON (a dict), got {d!r}")
    return dict(to())


# -- a run ------------------------------------------------------------------------------------

@dataclass
class RealRun:
    """One run on a real server: the workflow id, its correlation, the raw JSON of every
    workflow instance read, crashes of toy workers, and the calls the toy HTTP services got."""

    url: str
    workflow_id: str
    correlation: str
    workflows: list
    raw: dict = field(default_factory=dict)
    crashes: list = field(default_factory=list)
    http_calls: list = field(default_factory=list)
    seconds: float = 0.0
    #: When each instance was first seen ended (monotonic seconds), for the grace above.
    ended_at: dict = field(default_factory=dict, repr=False)

    @property
    def execution(self):
        """The real execution in microlab's model (see :mod:`~microlab.real.convert`)."""
        return to_execution(self.raw[self.workflow_id], self.raw.__getitem__)

    @property
    def trace(self):
        """The run as a microlab trace (``execution(run.trace, run.correlation)``, figures)."""
        return to_trace(self.execution)


def _as_api(server) -> tuple[ConductorAPI, object]:
    if isinstance(server, str):
        return ConductorAPI(server), None
    if hasattr(server, "url"):
        return ConductorAPI(server.url), server
    raise RealRunError(f"server must be a URL or a ConductorServer, got {server!r}")


def prepare(workflows, task_defs=None) -> tuple[list[dict], list[dict]]:
    """The workflow and task definitions as they are registered (``ownerEmail`` added)."""
    workflows = copy.deepcopy(workflows)
    for w in workflows:
        w.setdefault("ownerEmail", OWNER)
        w.setdefault("schemaVersion", 2)
        w.setdefault("version", 1)
    return workflows, task_definitions(workflows, task_defs)


def run_real(source, input: dict | None = None, *, fail=None, outputs: dict | None = None,
             task_defs=None, functions: dict | None = None, server=None, timeout: float = 120.0,
             correlation: str | None = None) -> RealRun:
    """Run the first workflow of ``source`` on a real Conductor server (see the module docstring).

    ``fail``: reference -> how many first attempts fail (None: all), or ``(ref, times)``
    pairs; ``outputs``: reference -> output; ``functions``: task name -> ``fn(input)``
    doing it in Python. Raises :class:`~.client.ConductorUnreachable`,
    :class:`~.client.DefinitionRejected` (with JSON paths), :class:`RealRunError` when
    the run does not end within ``timeout`` seconds (it is terminated; the message
    names the tasks still waiting) or a toy worker crashed, and
    :class:`~.conductor_server.ServerExited` when a server we started dies.
    """
    if server is None:
        from .conductor_server import ConductorServer
        with ConductorServer() as own:
            return run_real(source, input, fail=fail, outputs=outputs, task_defs=task_defs,
                            functions=functions, server=own, timeout=timeout, correlation=correlation)
    api, owned = _as_api(server)
    workflows, defs = prepare(read_definitions(source), task_defs)
    inp = {} if input is None else input
    if not isinstance(inp, dict):
        raise RealRunError(f"the workflow input must be a JSON object (a dict), got {inp!r}")
    fails = dict(fail.items() if isinstance(fail, dict) else (fail or []))
    plan = ToyPlan(outputs=dict(outputs or {}), fails=fails, functions=dict(functions or {}))
    api.check()
    api.register(workflows, defs)
    correlation = correlation or f"{workflows[0]['name']}-{uuid.uuid4().hex[:8]}"
    routes = http_routes(workflows)
    toys = [ToyHTTPServer(port, paths, plan.outputs, plan.fails) for port, paths in routes.items()]
    workers = PollingWorkers(api)
    began = time.monotonic()
    try:
        for toy in toys:
            toy.start()
        workers.plan(correlation, plan)
        workers.serve(simple_names(workflows))
        wf_id = api.start(workflows[0]["name"], inp, version=workflows[0].get("version"), correlation=correlation)
        run = RealRun(api.url, wf_id, correlation, workflows)
        wait(api, run, timeout, workers, owned)
    except ConductorUnreachable:
        _report_death(owned)
        raise
    finally:
        workers.stop()
        for toy in toys:
            toy.stop()
    run.crashes = list(workers.crashes)
    run.http_calls = [call for toy in toys for call in toy.calls]
    run.seconds = time.monotonic() - began
    return run


def wait(api: ConductorAPI, run: RealRun, timeout: float, workers=None, owned=None) -> None:
    """Poll the workflow until it and its failure workflow have ended; fill ``run.raw``."""
    deadline = time.monotonic() + timeout
    while True:
        done = read_all(api, run)
        if done:
            return
        if workers is not None and workers.errors and owned is not None:
            owned.check_alive()
        if time.monotonic() > deadline:
            ex = run.execution
            api.terminate(run.workflow_id, f"microlab: no end within {timeout:g} s")
            waiting = "; ".join(w for e in ex.walk() for w in e.waiting()) or "nothing visible"
            raise RealRunError(f"workflow {ex.name} ({run.workflow_id}) did not end within {timeout:g} s on "
                               f"{api.url}, so microlab terminated it. Still waiting: {waiting}")
        time.sleep(0.1)


def _report_death(owned) -> None:
    """If a server we started is why nothing answers, raise ServerExited (with its log)."""
    process = getattr(owned, "process", None)
    if process is None:
        return
    try:
        process.wait(timeout=5)      # a killed JVM takes a moment to be reaped
    except Exception:
        return
    owned.check_alive()


def read_all(api: ConductorAPI, run: RealRun) -> bool:
    """Read the workflow and every instance it started; True when all have ended."""
    pending = [run.workflow_id]
    done = True
    while pending:
        wf_id = pending.pop()
        wf = api.workflow(wf_id)
        run.raw[wf_id] = wf
        if wf.get("status") not in TERMINAL:
            done = False
        for task in wf.get("tasks") or []:
            sub = task.get("subWorkflowId") or (task.get("outputData") or {}).get("subWorkflowId")
            if sub and sub not in pending:
                pending.append(sub)
        failure = (wf.get("output") or {}).get(FAILURE_KEY)
        if failure:
            pending.append(failure)
        elif _may_start_failure_workflow(wf) and not _settled(run, wf_id):
            # Conductor marks a workflow FAILED first and names its failure workflow in the
            # output a moment later; one whose name resolves to nothing never gets one.
            done = False
    return done


#: Seconds to wait, after a workflow with a failureWorkflow failed, for Conductor to name it.
FAILURE_WORKFLOW_GRACE = 3.0


def _may_start_failure_workflow(wf: dict) -> bool:
    return wf.get("status") in ("FAILED", "TIMED_OUT") and \
        bool((wf.get("workflowDefinition") or {}).get("failureWorkflow"))


def _settled(run: RealRun, wf_id: str) -> bool:
    first = run.ended_at.setdefault(wf_id, time.monotonic())
    return time.monotonic() - first > FAILURE_WORKFLOW_GRACE
