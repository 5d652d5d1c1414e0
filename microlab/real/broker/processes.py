"""The supervisor's processes: start, kill -9, restart, and stop every one of them, always.

Processes are forked by one launcher per run (:mod:`~microlab.real.broker.launcher`),
which runs with the supervisor's ``sys.path`` so that a worktree or a test module is
importable. On Linux the launcher and every child ask the kernel to SIGKILL them when
their parent dies (``PR_SET_PDEATHSIG``): not even a killed notebook kernel leaves an
orphan behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

from ...errors import MicrolabError
from ..server_process import die_with_parent


class Processes:
    """The running service and client processes of one run, by name."""

    def __init__(self, config_path: str, workdir: str):
        self.config_path = config_path
        self.workdir = workdir
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        self.launcher = subprocess.Popen(
            [sys.executable, "-m", "microlab.real.broker.launcher", config_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, "launcher.stderr"), "ab"),
            env=env, preexec_fn=die_with_parent)
        self.pid_of: dict[str, int] = {}
        self.incarnation: dict[str, int] = {}
        self.status: dict[int, int] = {}
        #: Every pid ever started, the launcher's first (tests assert none survives).
        self.pids: list[int] = [self.launcher.pid]
        self._killed: set[int] = set()
        self._buffer = b""

    def _read(self, timeout: float) -> list[dict]:
        out = []
        ready, _, _ = select.select([self.launcher.stdout], [], [], timeout)
        if ready:
            chunk = os.read(self.launcher.stdout.fileno(), 65536)
            if not chunk:
                raise MicrolabError("the process launcher of the run exited: "
                                    + self._tail("launcher"))
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                out.append(json.loads(line))
        for msg in out:
            if "exit" in msg:
                self.status[msg["exit"]] = msg["status"]
        return out

    def poll(self) -> None:
        """Collect the exits the launcher reported."""
        while self._read(0.0):
            pass

    def spawn(self, name: str, faults: dict | None = None) -> int:
        """Start (or restart) the process ``name``; returns its pid."""
        self.launcher.stdin.write((json.dumps({"name": name, "faults": faults or {}}) + "\n").encode())
        self.launcher.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for msg in self._read(0.1):
                if "pid" in msg:
                    self.pid_of[name] = msg["pid"]
                    self.incarnation[name] = self.incarnation.get(name, 0) + 1
                    self.pids.append(msg["pid"])
                    return msg["pid"]
        raise MicrolabError(f"the launcher did not start {name} within 30 s: {self._tail('launcher')}")

    def is_ready(self, name: str) -> bool:
        """True once the current incarnation of ``name`` has bound its consumers."""
        return os.path.exists(os.path.join(self.workdir, "ready", f"{name}.{self.incarnation.get(name, 0)}"))

    def has_ended(self, name: str) -> bool:
        """True if the current incarnation of ``name`` has ended (for example by killing itself)."""
        self.poll()
        return self.pid_of.get(name) in self.status

    def kill(self, name: str) -> int:
        """kill -9 the process ``name`` and wait for it to end; returns the incarnation that ended."""
        pid = self.pid_of[name]
        self._killed.add(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while pid not in self.status and time.monotonic() < deadline:
            self._read(0.05)
        return self.incarnation[name]

    def exited(self) -> list[tuple[str, int]]:
        """Processes that ended without the supervisor killing them: ``(name, status)``."""
        self.poll()
        return [(name, self.status[pid]) for name, pid in self.pid_of.items()
                if pid not in self._killed and pid in self.status]

    def forget(self, name: str) -> None:
        """Accept that ``name`` ended (a planned self-kill); it counts as killed."""
        self._killed.add(self.pid_of[name])

    def stderr(self, name: str, lines: int = 3) -> str:
        """The last lines ``name`` wrote to stderr."""
        return self._tail(name, lines)

    def _tail(self, name: str, lines: int = 3) -> str:
        try:
            with open(os.path.join(self.workdir, f"{name}.stderr"), encoding="utf-8", errors="replace") as fh:
                text = fh.read().strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def stop_all(self) -> None:
        """SIGKILL every process still running, then the launcher, and reap them."""
        self.poll() if self.launcher.poll() is None else None
        for pid in self.pid_of.values():
            if pid not in self.status:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while self.launcher.poll() is None and time.monotonic() < deadline and any(
                p not in self.status for p in self.pid_of.values()):
            try:
                self._read(0.05)
            except MicrolabError:
                break
        try:
            self.launcher.stdin.close()
        except OSError:
            pass
        try:
            self.launcher.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.launcher.kill()
            self.launcher.wait()
        self.launcher.stdout.close()
