"""A NATS JetStream server of our own: a free loopback port, a temporary store, stopped on exit.

::

    with NatsServer.start() as server:
        print(server.url)          # nats://127.0.0.1:PORT
        server.kill()              # kill -9, as a crash would
        server.restart()           # same port, same store: what JetStream acknowledged survives

The binary is Debian's ``nats-server`` (``apt-get install nats-server``). It starts in
well under a second and needs no system service. ``-m`` opens its monitoring port,
whose ``/jsz`` page tells a run how many messages each consumer still owes.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from ..errors import MicrolabError
from .ports import free_port

INSTALL_HINT = "install it with `apt-get install nats-server` (Debian/Ubuntu) or put it on PATH"


class NatsNotInstalled(MicrolabError):
    """The ``nats-server`` binary is not on this machine."""


class BrokerUnreachable(MicrolabError):
    """Nothing answers at the broker's address."""


def die_with_parent() -> None:
    """In a child, before exec: be killed when the parent dies (Linux; elsewhere nothing).

    So not even a killed notebook kernel leaves a server or a service behind.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def find_nats_server() -> str | None:
    """The path of the ``nats-server`` binary, or None when it is not installed."""
    found = shutil.which("nats-server")
    if found:
        return found
    for path in ("/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if os.access(path, os.X_OK):
            return path
    return None


def port_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts a TCP connection at ``host:port``."""
    try:
        socket.create_connection((host, port), timeout).close()
        return True
    except OSError:
        return False


class NatsServer:
    """One ``nats-server -js`` process on 127.0.0.1, with its store in a temporary directory.

    Lifecycle: :meth:`start` (or the constructor then :meth:`launch`) runs it and waits
    until its port answers; :meth:`kill` ends it with SIGKILL; :meth:`restart` runs it
    again on the same port and store; :meth:`stop` ends it and deletes the store. It is
    a context manager, and ``stop`` runs however the ``with`` block ends.
    """

    def __init__(self, binary: str | None = None, *, start_timeout: float = 10.0):
        self.binary = binary or find_nats_server()
        if self.binary is None:
            raise NatsNotInstalled(f"nats-server is not installed: {INSTALL_HINT}")
        self.port = free_port()
        self.monitor_port = free_port()
        self.store = tempfile.mkdtemp(prefix="microlab-nats-")
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self._log = os.path.join(self.store, "server.log")

    @classmethod
    def start(cls, binary: str | None = None) -> "NatsServer":
        """Start a server and return it once its port answers."""
        server = cls(binary)
        try:
            server.launch()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def url(self) -> str:
        """The client URL, ``nats://127.0.0.1:PORT``."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def launch(self) -> None:
        """Run the binary and wait (bounded by ``start_timeout``) until it accepts clients."""
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
                 "-js", "-sd", os.path.join(self.store, "js")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent)
        deadline = time.monotonic() + self.start_timeout
        while not (port_answers("127.0.0.1", self.port) and port_answers("127.0.0.1", self.monitor_port)):
            if self.process.poll() is not None:
                raise MicrolabError(f"nats-server exited with status {self.process.returncode} on start: "
                                    f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise MicrolabError(f"nats-server did not answer on port {self.port} within "
                                    f"{self.start_timeout:g} s: {self.log_tail()}")
            time.sleep(0.01)

    def kill(self) -> None:
        """Kill the server with SIGKILL (no shutdown, as a crash); the store stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        """Run the server again on the same port and store (after :meth:`kill`)."""
        self.kill()
        self.launch()

    def stop(self) -> None:
        """End the server (if running) and delete its store."""
        self.kill()
        shutil.rmtree(self.store, ignore_errors=True)

    def jsz(self) -> dict:
        """The monitoring page ``/jsz`` with every account, stream and consumer."""
        url = f"http://127.0.0.1:{self.monitor_port}/jsz?accounts=true&streams=true&consumers=true"
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return json.loads(response.read())

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server wrote (for error messages)."""
        try:
            with open(self._log, encoding="utf-8", errors="replace") as fh:
                return " | ".join(fh.read().strip().splitlines()[-lines:]) or "(no output)"
        except OSError:
            return "(no log)"

    def __enter__(self) -> "NatsServer":
        if self.process is None:
            try:
                self.launch()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<NatsServer {self.url} pid={self.pid}>"
