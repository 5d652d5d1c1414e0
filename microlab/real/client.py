"""Conductor's REST API, the few calls microlab needs, with errors that say what went wrong.

::

    api = ConductorAPI("http://127.0.0.1:8080")
    api.check()                                   # ConductorUnreachable if nothing answers
    api.register(workflow_defs, task_defs)        # DefinitionRejected with JSON paths
    wf_id = api.start("order_fulfillment", {"orderId": "o-1"}, correlation="o-1")
    api.workflow(wf_id)                           # GET /api/workflow/{id}?includeTasks=true

Workers use :meth:`ConductorAPI.poll` (``GET /api/tasks/poll/batch/{taskType}``) and
:meth:`ConductorAPI.update_task` (``POST /api/tasks``), the endpoints every Conductor
worker, SDK or not, uses. One ``requests`` session per thread keeps connections open.
"""

from __future__ import annotations

import re
import threading

import requests

from ..errors import MicrolabError


class ConductorError(MicrolabError, RuntimeError):
    """The Conductor server answered with an error, or could not be asked."""


class ConductorUnreachable(ConductorError):
    """No Conductor server answers at the URL (wrong URL, not started, or it died)."""


class DefinitionRejected(ConductorError):
    """The server refused a workflow or task definition.

    ``faults`` lists ``(path, message)`` pairs as the server gave them (its validation
    errors name a JSON path such as ``registerWorkflowDef.workflowDefs[0].tasks[1].name``).
    """

    def __init__(self, what: str, faults, message: str):
        self.faults = list(faults)
        lines = "\n".join(f"  {path}: {text}" for path, text in self.faults) or f"  {message}"
        super().__init__(f"the Conductor server rejected {what}:\n{lines}")


class ConductorAPI:
    """A client of one Conductor server's REST API (``url`` without ``/api``)."""

    def __init__(self, url: str, *, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    # -- plumbing ---------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, path: str, *, json=None, params=None, timeout: float | None = None):
        """One call; returns the response; raises :class:`ConductorUnreachable` when none comes."""
        try:
            return self._session().request(method, self.url + path, json=json, params=params,
                                           timeout=timeout or self.timeout)
        except requests.ConnectionError as exc:
            raise ConductorUnreachable(
                f"no Conductor server answers at {self.url} ({_short(exc)}). Is the URL right and the "
                "server running? python -m microlab run FILE.json --real starts one on this machine.") from None
        except requests.Timeout:
            raise ConductorUnreachable(f"the Conductor server at {self.url} did not answer {method} {path} "
                                       f"within {timeout or self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ConductorUnreachable(f"cannot reach a Conductor server at {self.url!r}: {_short(exc)}") from None

    def _ok(self, response, doing: str):
        if response.status_code >= 400:
            raise ConductorError(f"{doing}: the Conductor server answered {response.status_code}: "
                                 f"{_message(response)}")
        return response

    # -- calls ------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`ConductorUnreachable` unless a healthy Conductor answers at the URL."""
        response = self.request("GET", "/health", timeout=5)
        try:
            healthy = response.json().get("healthy")
        except ValueError:
            healthy = None
        if response.status_code >= 400 or healthy is False:
            raise ConductorUnreachable(f"the server at {self.url} answers, but not as a healthy Conductor "
                                       f"server (GET /health: {response.status_code} {response.text[:200]!r})")
        if healthy is None:
            raise ConductorUnreachable(f"the server at {self.url} is not a Conductor server "
                                       f"(GET /health answered {response.text[:120]!r})")

    def register(self, workflows: list[dict], task_defs: list[dict]) -> None:
        """Create or replace task definitions, then workflow definitions (Conductor JSON)."""
        if task_defs:
            self._register("task definitions", "POST", "/api/metadata/taskdefs", task_defs)
        if workflows:
            names = ", ".join(w.get("name", "?") for w in workflows)
            self._register(f"workflow {names}", "PUT", "/api/metadata/workflow", workflows)

    def _register(self, what: str, method: str, path: str, body) -> None:
        response = self.request(method, path, json=body)
        if response.status_code < 400:
            return
        faults = []
        try:
            data = response.json()
            for error in data.get("validationErrors") or []:
                faults.append((_json_path(error.get("path", "")), error.get("message", "")))
            faults.sort()
            message = data.get("message", response.text)
        except ValueError:
            message = response.text[:500]
        raise DefinitionRejected(what, faults, f"{response.status_code}: {message}")

    def start(self, name: str, input: dict, *, version: int | None = None, correlation: str | None = None) -> str:
        """Start workflow ``name``; returns its workflow id."""
        body = {"name": name, "input": input, "correlationId": correlation}
        if version is not None:
            body["version"] = version
        response = self._ok(self.request("POST", "/api/workflow", json=body), f"starting workflow {name}")
        return response.text.strip().strip('"')

    def workflow(self, workflow_id: str) -> dict:
        """The execution of ``workflow_id`` with its tasks (Conductor's JSON)."""
        response = self.request("GET", f"/api/workflow/{workflow_id}", params={"includeTasks": "true"})
        return self._ok(response, f"reading workflow {workflow_id}").json()

    def terminate(self, workflow_id: str, reason: str) -> None:
        """Terminate a running workflow (errors ignored: it may have ended meanwhile)."""
        try:
            self.request("DELETE", f"/api/workflow/{workflow_id}", params={"reason": reason}, timeout=5)
        except ConductorError:
            pass

    def poll(self, task_type: str, worker: str, count: int = 10, wait_ms: int = 200) -> list[dict]:
        """Up to ``count`` scheduled tasks of ``task_type``, waiting up to ``wait_ms`` for one."""
        response = self.request("GET", f"/api/tasks/poll/batch/{task_type}",
                                params={"workerid": worker, "count": count, "timeout": wait_ms},
                                timeout=self.timeout + wait_ms / 1000)
        if response.status_code == 204 or not response.content:
            return []
        return self._ok(response, f"polling for {task_type} tasks").json() or []

    def update_task(self, task: dict, status: str, output: dict, worker: str, reason: str | None = None) -> None:
        """Report a polled task's result (COMPLETED, FAILED or FAILED_WITH_TERMINAL_ERROR)."""
        body = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"],
                "status": status, "outputData": output, "workerId": worker}
        if reason:
            body["reasonForIncompletion"] = reason
        self._ok(self.request("POST", "/api/tasks", json=body), f"updating task {task.get('referenceTaskName')}")


def _json_path(path: str) -> str:
    """``updateWorkflowDef.arg0[0].tasks[1]`` -> ``$[0].tasks[1]`` (the body sent is a list)."""
    return _ARGUMENT.sub("$", path, count=1) if path else "$"


#: A validation path starts with the Java method and its argument (``updateWorkflowDef.arg0``).
_ARGUMENT = re.compile(r"^\w+\.(?:arg\d+|workflowDefs|taskDefinitions|taskDefs)(?=\[|\.|$)")


def _message(response) -> str:
    try:
        data = response.json()
        return str(data.get("message") or data)[:500]
    except ValueError:
        return response.text[:500]


def _short(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return text[:160]
