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

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from ..errors import MicrolabError
from .ports import free_port
from .server_process import ServerProcess, port_answers

INSTALL_HINT = "install it with `apt-get install nats-server` (Debian/Ubuntu) or put it on PATH"


class NatsNotInstalled(MicrolabError):
    """The ``nats-server`` binary is not on this machine."""


class BrokerUnreachable(MicrolabError):
    """Nothing answers at the broker's address."""


def find_nats_server() -> str | None:
    """The path of the ``nats-server`` binary, or None when it is not installed."""
    found = shutil.which("nats-server")
    if found:
        return found
    for path in ("/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if os.access(path, os.X_OK):
            return path
    return None


class NatsServer(ServerProcess):
    """One ``nats-server -js`` process on 127.0.0.1, with its store in a temporary directory.

    Lifecycle: :meth:`start` (or the constructor then :meth:`launch`) runs it and waits
    until its port answers; :meth:`kill` ends it with SIGKILL; :meth:`restart` runs it
    again on the same port and store; :meth:`stop` ends it and deletes the store. It is
    a context manager, and ``stop`` runs however the ``with`` block ends.
    """

    what = "nats-server"

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

    @property
    def url(self) -> str:
        """The client URL, ``nats://127.0.0.1:PORT``."""
        return f"nats://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Run the binary and wait (bounded by ``start_timeout``) until it accepts clients."""
        self._spawn([self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
                     "-js", "-sd", os.path.join(self.store, "js")])
        self._wait_until(lambda: port_answers("127.0.0.1", self.port)
                         and port_answers("127.0.0.1", self.monitor_port), time.monotonic(), 0.01)

    def stop(self) -> None:
        """End the server (if running) and delete its store."""
        self.kill()
        shutil.rmtree(self.store, ignore_errors=True)

    def jsz(self) -> dict:
        """The monitoring page ``/jsz`` with every account, stream and consumer."""
        url = f"http://127.0.0.1:{self.monitor_port}/jsz?accounts=true&streams=true&consumers=true"
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return json.loads(response.read())
