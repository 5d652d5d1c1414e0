"""A server process of our own on loopback: its output in a log, waited for, killed as a crash would be.

The NATS and Kafka servers of the real-broker runs share one lifecycle, written here once:
spawn the binary with its output appended to a log file, wait (bounded) until it answers,
``kill`` with SIGKILL (a crash: no shutdown), ``restart`` on the same ports and store,
``stop`` for good, and act as a context manager whose ``stop`` runs however the block
ends. What differs (the command line, what "answers" means, what ``stop`` deletes) is
the subclass's.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time

from ..errors import MicrolabError


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """In a child, before exec: receive ``sig`` when the parent dies (Linux; elsewhere nothing).

    So not even a killed notebook kernel leaves a server or a service behind.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def port_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts a TCP connection at ``host:port``."""
    try:
        socket.create_connection((host, port), timeout).close()
        return True
    except OSError:
        return False


class ServerProcess:
    """One server process started by microlab (a base: see the module docstring).

    A subclass sets ``what`` (how messages name it, e.g. ``"nats-server"``), ``port``,
    ``start_timeout`` and ``_log`` (the log file's path) in its constructor, and writes
    :meth:`launch` (spawn with :meth:`_spawn`, then :meth:`_wait_until` it answers),
    :meth:`stop` and ``url``.
    """

    #: How error messages name the server.
    what = "the server"
    process: subprocess.Popen | None = None

    @classmethod
    def start(cls, *args, **kwargs):
        """Start a server and return it once it answers (stopped again if it never does)."""
        server = cls(*args, **kwargs)
        try:
            server.launch()
        except BaseException:
            server.stop()
            raise
        return server

    def launch(self) -> None:  # pragma: no cover - every subclass writes its own
        """Run the server and wait until it answers."""
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - every subclass writes its own
        """End the server for good."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def _spawn(self, argv: list[str]) -> None:
        """Run ``argv`` with stdout and stderr appended to the log, killed with its parent."""
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)

    def _wait_until(self, answers, began: float, interval: float) -> None:
        """Return once ``answers()`` is true; raise if the process exits or ``start_timeout`` passes."""
        deadline = began + self.start_timeout
        while not answers():
            if self.process.poll() is not None:
                raise MicrolabError(f"{self.what} exited with status {self.process.returncode} on start: "
                                    f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise MicrolabError(f"{self.what} did not answer on port {self.port} within "
                                    f"{self.start_timeout:g} s: {self.log_tail()}")
            time.sleep(interval)

    def kill(self) -> None:
        """Kill the server with SIGKILL (no shutdown, as a crash); its store stays."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        """Run the server again on the same ports and store (after :meth:`kill`)."""
        self.kill()
        self.launch()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server wrote (for error messages)."""
        try:
            with open(self._log, encoding="utf-8", errors="replace") as fh:
                return " | ".join(fh.read().strip().splitlines()[-lines:]) or "(no output)"
        except OSError:
            return "(no log)"

    def __enter__(self):
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
        return f"<{type(self).__name__} {self.url} pid={self.pid}>"
