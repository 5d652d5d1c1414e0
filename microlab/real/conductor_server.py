"""A real Conductor OSS server on this machine: find Java and the boot jar, start, stop.

::

    from microlab.real.conductor_server import ConductorServer
    with ConductorServer() as server:          # about 20 s on 2 cores
        print(server.url)                      # http://127.0.0.1:PORT

The server is Conductor OSS's executable boot jar (``org.conductoross:conductor-server``,
classifier ``boot``), version :data:`VERSION`, run by Java 17 or newer. It listens on
127.0.0.1 only, on a free port, and keeps its state (sqlite) in a temporary directory
that is removed when it stops. It stops when the ``with`` block ends, when
:meth:`ConductorServer.stop` is called, when Python exits (Ctrl-C included), and, on
Linux, when the Python process that started it dies (the kernel sends it SIGTERM).

Why 3.21 and sqlite: the 3.21 line runs on Java 17, which the course machines have;
3.32 needs Java 21 and took over three times as long to boot here (62 s against 18 s,
measured on 2 cores). The 3.21 jar's default persistence is ``memory``, but its queues
then need a Redis server on localhost:6379; its sqlite persistence needs none, and with
WAL journaling and a busy timeout (as later lines configure it) it serves concurrent
workflows without ``SQLITE_BUSY`` errors.

Every way this can go wrong raises a :class:`ConductorUnavailable` subclass whose
message says what to do: :class:`JavaMissing`, :class:`JarMissing`, :class:`PortInUse`,
:class:`StartTimeout` and :class:`ServerExited` (the last two quote the server log's
last lines).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import MicrolabError
from .ports import free_port
from .server_process import die_with_parent, port_answers

#: The Conductor OSS release microlab runs and is tested against.
VERSION = "3.21.14"
#: Maven coordinates of its boot jar.
ARTIFACT = f"org.conductoross:conductor-server:{VERSION}:jar:boot"
#: Where the jar is kept (never in the repository): ``$MICROLAB_CACHE`` or ``~/.cache/microlab``.
CACHE = Path(os.environ.get("MICROLAB_CACHE", Path.home() / ".cache" / "microlab"))
#: The oldest Java that runs the 3.21 line.
MIN_JAVA = 17
#: Seconds to wait for the health endpoint (a cold JVM on 2 busy cores needs about a minute).
START_TIMEOUT = 240.0
#: How to get the jar, said in every message about a missing one.
HOW_TO_FETCH = (f"fetch it with: mvn dependency:copy -Dartifact={ARTIFACT} "
                f"-DoutputDirectory={CACHE}   (or set MICROLAB_CONDUCTOR_JAR to a jar you have)")


class ConductorUnavailable(MicrolabError, RuntimeError):
    """A real Conductor server cannot be had here; the message says why and what to do."""


class JavaMissing(ConductorUnavailable):
    """No Java, or one older than :data:`MIN_JAVA`."""


class JarMissing(ConductorUnavailable):
    """The boot jar is not in the cache and cannot be fetched."""


class PortInUse(ConductorUnavailable):
    """The port asked for is taken by another process."""


class StartTimeout(ConductorUnavailable):
    """The server did not report healthy in time."""


class ServerExited(ConductorUnavailable):
    """The server process ended on its own (while starting, or later)."""


def jar_path() -> Path:
    """Where the boot jar is (or would be): ``$MICROLAB_CONDUCTOR_JAR``, else in :data:`CACHE`."""
    given = os.environ.get("MICROLAB_CONDUCTOR_JAR")
    return Path(given) if given else CACHE / f"conductor-server-{VERSION}-boot.jar"


def find_java() -> str:
    """The ``java`` to run: ``$MICROLAB_JAVA``, ``$JAVA_HOME/bin/java`` or ``java`` on PATH.

    Raises :class:`JavaMissing` when there is none or it is older than Java 17.
    """
    candidates = [os.environ.get("MICROLAB_JAVA"),
                  os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else None,
                  shutil.which("java")]
    java = next((c for c in candidates if c and os.path.exists(c)), None)
    if java is None:
        raise JavaMissing(f"no Java found: Conductor {VERSION} needs Java {MIN_JAVA} or newer. Install it "
                          "(Debian: apt-get install openjdk-17-jre-headless) or set MICROLAB_JAVA.")
    major = java_major(java)
    if major is not None and major < MIN_JAVA:
        raise JavaMissing(f"{java} is Java {major}; Conductor {VERSION} needs Java {MIN_JAVA} or newer "
                          "(set MICROLAB_JAVA to a newer one).")
    return java


def java_major(java: str) -> int | None:
    """The major version of ``java`` (17 for "17.0.9"), or None if it cannot be told."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2)) if major == 1 and found.group(2) else major


def ensure_jar(fetch: bool = True) -> Path:
    """The boot jar's path, fetched with Maven into :data:`CACHE` if missing and ``fetch``.

    Raises :class:`JarMissing` when it is missing and cannot be fetched (no ``mvn``, or
    Maven failed: its last lines are in the message).
    """
    jar = jar_path()
    if jar.is_file():
        return jar
    if os.environ.get("MICROLAB_CONDUCTOR_JAR"):
        raise JarMissing(f"MICROLAB_CONDUCTOR_JAR names {jar}, which does not exist.")
    mvn = shutil.which("mvn")
    if not fetch or mvn is None:
        why = "and Maven (mvn) is not installed, so it cannot be fetched" if mvn is None else "(fetching is off)"
        raise JarMissing(f"the Conductor server jar {jar} is missing {why}; {HOW_TO_FETCH}")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([mvn, "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}",
                          f"-DoutputDirectory={jar.parent}"], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0 or not jar.is_file():
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-8:])
        raise JarMissing(f"Maven could not fetch {ARTIFACT}:\n{tail}\n{HOW_TO_FETCH}")
    return jar


def port_in_use(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:``port``."""
    return port_answers("127.0.0.1", port, timeout=0.5)


def _die_with_parent() -> None:
    # Linux: the kernel sends the server SIGTERM when the Python process that started it
    # dies, even by kill -9, so no orphaned JVM is left holding a port and 400 MB.
    die_with_parent(signal.SIGTERM)


class ConductorServer:
    """One Conductor OSS server process on 127.0.0.1 (see the module docstring).

    Lifecycle: ``ConductorServer(...)`` only configures; :meth:`start` (or entering a
    ``with`` block) finds Java and the jar, starts the process, and returns once
    ``/health`` says healthy; :meth:`stop` (or leaving the block, or Python exiting) ends
    the process and removes its data directory. ``url`` is ``http://127.0.0.1:PORT``.
    """

    def __init__(self, port: int | None = None, *, timeout: float = START_TIMEOUT, fetch: bool = True,
                 memory: str = "768m", keep_data: bool = False):
        self.port = port
        self.timeout = timeout
        self.fetch = fetch
        self.memory = memory
        self.keep_data = keep_data
        self.process: subprocess.Popen | None = None
        self.data_dir: Path | None = None
        #: Seconds from starting the JVM to a healthy ``/health``.
        self.boot_seconds: float | None = None

    @property
    def url(self) -> str:
        """The server's base URL (its REST API is under ``/api``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """The server's log file (in its data directory)."""
        return self.data_dir / "server.log" if self.data_dir else None

    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return "(no log)"
        return "\n".join(text.rstrip().splitlines()[-lines:]) or "(log empty)"

    def command(self, java: str, jar: Path) -> list[str]:
        """The command line that starts the server."""
        db = self.data_dir / "conductor.db"
        return [java, f"-Xmx{self.memory}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + str(self.data_dir), "-jar", str(jar),
                f"--server.port={self.port}", "--server.address=127.0.0.1",
                "--loadSample=false",
                "--conductor.db.type=sqlite", "--conductor.queue.type=sqlite",
                f"--spring.datasource.url=jdbc:sqlite:{db}?busy_timeout=15000&journal_mode=WAL",
                # One connection: sqlite allows one writer, and a second pooled connection
                # fails transactions with SQLITE_BUSY under concurrent workflows.
                "--spring.datasource.hikari.maximum-pool-size=1",
                "--conductor.app.ownerEmailMandatory=false",
                "--conductor.indexing.enabled=false",
                "--conductor.metrics-prometheus.enabled=false",
                # Re-decide stuck workflows within seconds, not the default 30 s.
                "--conductor.app.workflowOffsetTimeout=2s",
                "--conductor.app.sweeperThreadCount=2",
                "--logging.level.root=WARN", "--logging.level.org.springframework.boot=INFO"]

    def start(self) -> "ConductorServer":
        """Start the server and wait until it is healthy (see the class docstring)."""
        if self.running():
            return self
        if self.port is not None and port_in_use(self.port):
            raise PortInUse(f"port {self.port} on 127.0.0.1 is already in use; stop what listens there "
                            "or let microlab pick a free port (port=None).")
        java = find_java()
        jar = ensure_jar(self.fetch)
        if self.port is None:
            self.port = free_port()
        self.data_dir = Path(tempfile.mkdtemp(prefix="microlab-conductor-"))
        log = open(self.log_path, "wb")
        began = time.monotonic()
        try:
            self.process = subprocess.Popen(self.command(java, jar), cwd=self.data_dir, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        finally:
            log.close()
        atexit.register(self.stop)
        try:
            self._wait_healthy(began)
        except BaseException:   # Ctrl-C while booting stops the server too
            self.stop()
            raise
        self.boot_seconds = time.monotonic() - began
        return self

    def _wait_healthy(self, began: float) -> None:
        deadline = began + self.timeout
        while True:
            code = self.process.poll()
            if code is not None:
                tail = self.log_tail()
                if "Address already in use" in tail or "Port " in tail and "already in use" in tail:
                    raise PortInUse(f"port {self.port} became busy while Conductor started:\n{tail}")
                raise ServerExited(f"the Conductor server exited with status {code} while starting. "
                                   f"Last lines of {self.log_path}:\n{tail}")
            if self.healthy():
                return
            if time.monotonic() > deadline:
                raise StartTimeout(f"the Conductor server was not healthy after {self.timeout:.0f} s "
                                   f"(a busy machine? pass a larger timeout). Last lines of its log:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.25)

    def healthy(self) -> bool:
        """Whether ``/health`` answers ``"healthy": true``."""
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return b'"healthy":true' in response.read().replace(b" ", b"")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def check_alive(self) -> None:
        """Raise :class:`ServerExited` (with the log's last lines) if the process has ended."""
        if self.process is not None and self.process.poll() is not None:
            raise ServerExited(f"the Conductor server at {self.url} has exited (status "
                               f"{self.process.returncode}). Last lines of its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its data directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process is not None:
            self.process = process   # keep returncode and log readable after a stop
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass
        if self.data_dir is not None and not self.keep_data and process is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "ConductorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"<ConductorServer {VERSION} {self.url if self.port else '(no port yet)'} {state}>"


def main(argv=None) -> int:
    """``python -m microlab.real.conductor_server [PORT]``: run a server until Ctrl-C."""
    args = sys.argv[1:] if argv is None else argv
    server = ConductorServer(port=int(args[0]) if args else None)
    try:
        server.start()
    except ConductorUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Conductor {VERSION} at {server.url} (healthy after {server.boot_seconds:.1f} s); Ctrl-C stops it",
          flush=True)
    try:
        while server.running():
            time.sleep(1)
        server.check_alive()
    except KeyboardInterrupt:
        pass
    except ServerExited as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
