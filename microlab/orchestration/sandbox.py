"""A child process that evaluates expressions, so that no expression can harm the notebook.

A learner's JavaScript or jq can loop forever, ask for gigabytes, or make V8 abort the
whole process ("Fatal JavaScript invalid size error"). In the notebook's own process any
of these is a dead or frozen kernel. So expressions run in a child process
(:mod:`~microlab.orchestration.sandbox_child`), one per engine, started on first use and
reused by every orchestrator of this Python process:

- a time limit is a deadline on the answer: when it passes, the child is killed, the
  evaluation fails with a clear reason, and a new child starts on the next call;
- Interrupt (SIGINT, the notebook's stop button) interrupts the wait like any Python
  code; the child, whose state is then unknown, is killed too;
- a child that dies (V8's abort, jq out of memory) fails only that evaluation;
- the child has an empty environment, and ignores SIGINT (the parent decides).

A round trip costs about 0.1-0.2 ms (``python -m benchmarks`` prints it).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref

from ..errors import MicrolabError

#: The child program (a script: it imports nothing from microlab).
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_child.py")
#: The largest answer accepted from the child, in bytes.
MAX_REPLY_BYTES = 64 * 1024 * 1024
#: Seconds a new child may take to start (Python, then V8).
START_TIMEOUT = 30.0


class SandboxError(MicrolabError):
    """The sandbox could not answer: time limit, crash, or an answer too large."""


class Sandbox:
    """One child process for one engine (``"js"`` or ``"jq"``), restarted when it fails."""

    def __init__(self, kind: str):
        self.kind = kind
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self._owner = os.getpid()
        #: How many children have been started (tests read it).
        self.starts = 0

    def ask(self, request: dict, timeout: float | None) -> dict:
        """Send ``request`` and return the child's answer within ``timeout`` seconds (None: no limit)."""
        line = json.dumps(request, separators=(",", ":")).encode("utf-8", "surrogatepass") + b"\n"
        with self._lock:
            proc = self._running()
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
                return json.loads(self._read_line(proc, timeout))
            except BrokenPipeError:
                self.stop()
                raise SandboxError("crashed") from None
            except BaseException:
                # A timeout, a crash, or an Interrupt: the child's state is unknown.
                self.stop()
                raise

    def stop(self) -> None:
        """Kill the child (a new one starts on the next call)."""
        proc, self._proc = self._proc, None
        self._buffer = b""
        if proc is not None:
            _kill(proc)

    def _running(self) -> subprocess.Popen:
        if self._owner != os.getpid():  # forked: the pipes belong to the parent
            self._proc, self._buffer, self._owner = None, b"", os.getpid()
        proc = self._proc
        if proc is None or proc.poll() is not None:
            if proc is not None:
                _kill(proc)
            proc = subprocess.Popen([sys.executable, "-S", CHILD, self.kind], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    env={"TZ": "UTC", "LANG": "C.UTF-8", "PYTHONPATH": _site_paths()},
                                    cwd="/", start_new_session=True, close_fds=True)
            self._proc, self._buffer = proc, b""
            self.starts += 1
            _CHILDREN.add(proc)
            try:
                ready = json.loads(self._read_line(proc, START_TIMEOUT))
            except BaseException:
                self.stop()
                raise
            if not ready.get("ready"):
                self.stop()
                raise SandboxError("did not start")
        return proc

    def _read_line(self, proc: subprocess.Popen, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise SandboxError("timeout")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                code = proc.wait()
                raise SandboxError(f"crashed ({_exit_text(code)})")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise SandboxError(f"answer larger than {MAX_REPLY_BYTES // (1024 * 1024)} MB")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _kill(proc: subprocess.Popen) -> None:
    try:
        proc.kill()
    except OSError:
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _site_paths() -> str:
    # -S skips site.py (faster start); the child still needs mini-racer and jq.
    return os.pathsep.join(p for p in sys.path if p and "site-packages" in p)


_CHILDREN: "weakref.WeakSet[subprocess.Popen]" = weakref.WeakSet()
_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()


def shared(kind: str) -> Sandbox:
    """The process-wide sandbox for ``kind`` (evaluations hold no state, so sharing is safe)."""
    with _SHARED_LOCK:
        box = _SHARED.get(kind)
        if box is None:
            box = _SHARED[kind] = Sandbox(kind)
        return box


@atexit.register
def _stop_all() -> None:
    """At exit, kill every child: nothing of ours may keep the interpreter waiting."""
    for proc in list(_CHILDREN):
        _kill(proc)
