"""Routing: which service runs each SIMPLE and HTTP task.

A SIMPLE task becomes a command to one service. The service is found, in order:

1. in the orchestrator's ``task_routes`` (``{"charge_payment": "payment"}``);
2. in the definition's own routes (the builder's ``service=`` argument);
3. among the :class:`~microlab.orchestration.workers.Worker` services of the system that
   serve a task of that name (a method called ``charge_payment``), if exactly one does;
4. a service whose name is the task name.

An HTTP task is routed by its URI: the first segment of the path names the service
(``http://localhost:8088/inventory/reserve`` -> ``inventory``), unless ``http_routes``
maps that segment (``{"payments": "payment"}``) or is a function of the URI. So a
Conductor saga written against HTTP endpoints runs unchanged on toy services.

A task that no rule routes to an existing service is a definition error that names
the task, its JSON path and the closest service name.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from ..errors import did_you_mean
from .params import has_expression


def http_request(request: dict) -> dict:
    """The parts of a resolved ``http_request`` that a toy service sees."""
    uri = str(request.get("uri", ""))
    parts = urlsplit(uri)
    return {
        "method": str(request.get("method", "GET")).upper(),
        "uri": uri,
        "path": parts.path or "/",
        "query": dict(parse_qsl(parts.query)),
        "headers": request.get("headers") or {},
        "body": request.get("body"),
    }


def first_segment(uri: str) -> str | None:
    """The first segment of the URI's path (``/payment/charge`` -> ``payment``), or None."""
    path = urlsplit(uri).path if "://" in uri or uri.startswith("/") else "/" + uri
    for segment in path.split("/"):
        if segment:
            return segment
    return None


def static_uri_prefix(uri: str) -> str | None:
    """The part of a URI up to its first ``${...}``; None when the service part is dynamic."""
    cut = uri.find("${")
    if cut < 0:
        return uri
    head = uri[:cut]
    path = urlsplit(head).path if "://" in head else head
    # The service segment is known only if a '/' closes it before the expression starts.
    stripped = path.lstrip("/")
    return head if "/" in stripped else None


class Router:
    """Finds the service for each task; built by the orchestrator for one system."""

    def __init__(self, system, task_routes: dict | None, http_routes=None):
        self.system = system
        self.task_routes = dict(task_routes or {})
        self.http_routes = http_routes if callable(http_routes) else dict(http_routes or {})

    def simple(self, task_name: str, definition_routes: dict) -> tuple[str | None, str]:
        """``(service, "")`` for a SIMPLE task, or ``(None, explanation)``."""
        services = self.system.services
        for source, table in (("task_routes", self.task_routes), ("the definition's routes", definition_routes)):
            if task_name in table:
                target = table[task_name]
                if target in services:
                    return target, ""
                return None, (f"{source} send task {task_name!r} to service {target!r}, which is not in "
                              f"the system{_did_you_mean(target, services)}")
        from .workers import Worker
        serving = [name for name, svc in services.items()
                   if isinstance(svc, Worker) and task_name in svc.serves()]
        if len(serving) == 1:
            return serving[0], ""
        if len(serving) > 1:
            return None, (f"several workers serve task {task_name!r} ({', '.join(serving)}); choose one "
                          f"with task_routes={{{task_name!r}: {serving[0]!r}}}")
        if task_name in services:
            return task_name, ""
        return None, (f"no service runs task {task_name!r}: no task_routes entry, no Worker with a "
                      f"method {task_name}(self, input), and no service called {task_name!r}"
                      f"{_did_you_mean(task_name, services)} Add the worker service to the system "
                      "before registering, or pass task_routes={...} to the Orchestrator.")

    def http(self, uri: str) -> tuple[str | None, str]:
        """``(service, "")`` for an HTTP task's URI, or ``(None, explanation)``."""
        services = self.system.services
        if callable(self.http_routes):
            target = self.http_routes(uri)
            if target in services:
                return target, ""
            return None, f"http_routes({uri!r}) gave {target!r}, which is not a service{_did_you_mean(target, services)}"
        segment = first_segment(uri)
        if segment is None:
            return None, f"the uri {uri!r} has no path; its first path segment names the service, as in /payment/charge"
        target = self.http_routes.get(segment, segment)
        if target in services:
            return target, ""
        via = f" (mapped from {segment!r} by http_routes)" if segment in self.http_routes else ""
        return None, (f"the uri {uri!r} names service {target!r}{via}, which is not in the system"
                      f"{_did_you_mean(target, services)} Add it, or map the segment with "
                      f"http_routes={{{segment!r}: 'service'}}.")


def _did_you_mean(name, services) -> str:
    return did_you_mean(name, sorted(services), otherwise=".")


__all__ = ["Router", "http_request", "first_segment", "static_uri_prefix", "has_expression"]
