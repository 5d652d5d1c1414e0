"""Toy services behind a real HTTP server, for the HTTP tasks that Conductor calls itself.

A Conductor HTTP task is not done by a worker: the server makes the call. So that a saga
written against HTTP endpoints (``http://localhost:8088/inventory/reserve``) runs
unchanged on a real server, :class:`ToyHTTPServer` listens on 127.0.0.1 at the port the
definitions name and answers every path as the simulator's HTTP toy worker does
(:class:`~microlab.orchestration.workers.ToyWorker`): the body is the output planned for
the task whose URI has that path (default ``{}``), a ``status=NNN`` query of 400 or more
answers with that status, and a planned failure of the task's first attempts answers 500
to that many calls of its path.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ..errors import MicrolabError

LOCAL_HOSTS = ("localhost", "127.0.0.1")


class ToyHTTPError(MicrolabError, RuntimeError):
    """The toy HTTP services cannot listen where the definitions call them."""


def local_ports(uris) -> dict[int, list[str]]:
    """Port -> the URIs (of ``uris``) that call this machine at that port."""
    ports: dict = {}
    for uri in uris:
        head = uri.split("${", 1)[0]
        parts = urlsplit(head)
        if parts.hostname in LOCAL_HOSTS:
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                continue
            ports.setdefault(port, []).append(uri)
    return ports


class ToyHTTPServer:
    """Toy services on 127.0.0.1:``port``; ``routes`` maps a URI path to the task reference
    (and task name) it serves; ``outputs``/``fails`` are as in a toy run, by reference."""

    def __init__(self, port: int, routes: dict | None = None, outputs: dict | None = None,
                 fails: dict | None = None):
        self.port = port
        self.routes = dict(routes or {})
        self.outputs = dict(outputs or {})
        self.fails = dict(fails or {})
        #: ``(method, path, status)`` of every call answered, in order.
        self.calls: list = []
        self._counts: dict = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def answer(self, method: str, target: str, body) -> tuple[int, dict]:
        """The status and JSON body a toy service gives for one call (a pure decision but
        for the per-path attempt count)."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        ref, name = self.routes.get(parts.path, (None, None))
        with self._lock:
            attempt = self._counts[parts.path] = self._counts.get(parts.path, 0) + 1
        status = query.get("status")
        if status is not None and status.isdigit() and int(status) >= 400:
            return int(status), {"error": f"HTTP {status} from {parts.path}"}
        for key in (ref, name):
            if key is not None and key in self.fails:
                times = self.fails[key]
                if times is None or attempt <= times:
                    return 500, {"error": f"{key} failed (injected by the toy HTTP service)"}
        for key in (ref, name):
            if key is not None and key in self.outputs:
                return 200, self.outputs[key]
        return 200, {}

    def start(self) -> "ToyHTTPServer":
        """Listen (in a daemon thread); raises :class:`ToyHTTPError` if the port is taken."""
        toy = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                status, payload = toy.answer(self.command, self.path, body)
                toy.calls.append((self.command, urlsplit(self.path).path, status))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args):  # quiet: the calls list keeps what happened
                pass

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        except OSError as exc:
            raise ToyHTTPError(
                f"the definitions' HTTP tasks call http://localhost:{self.port}/..., but port {self.port} "
                f"on 127.0.0.1 is taken ({exc.strerror}); stop what listens there so microlab's toy "
                "HTTP services can answer.") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        daemon=True, name=f"microlab-toy-http-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "ToyHTTPServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
