"""An Apache Kafka broker of our own: KRaft mode, one node, free loopback ports, a temporary log dir.

::

    with KafkaServer.start() as server:
        print(server.url)          # 127.0.0.1:PORT (bootstrap servers)
        server.kill()              # kill -9, as a crash would
        server.launch()            # same ports, same log dir: what it acknowledged survives

The broker is the ``kafka_2.13`` jar and its runtime dependencies from Maven Central,
fetched once by ``make kafka-jars`` (:func:`ensure_jars`) into
``~/.cache/microlab/kafka-<version>/``, and run on Java 17 or later. One JVM is both
controller and broker (``process.roles=broker,controller``,
https://kafka.apache.org/documentation/#kraft_role); its storage is formatted with
``kafka.tools.StorageTool format`` before the first start, as ``kafka-storage.sh``
does. On this course's 2-core machine a start takes about 5 s (JVM start, KRaft
election, listener); see ``START_TIMEOUT``.

The caller's process (a notebook kernel, a test session) holds no Kafka client: what
it asks the broker (does it answer, create topics, how far has each consumer group
committed) goes through :class:`KafkaProbe`, a child process, because librdkafka
can crash the process that holds its clients (see :mod:`~microlab.real.kafka_probe`).

The module is one unit: the broker's life (fetch the jars, format the storage, launch,
kill -9, relaunch on the same ports and log dir, stop) is one state machine over one
JVM process and one directory, and splitting it would spread that state across modules.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..errors import MicrolabError
from .nats_server import BrokerUnreachable
from .ports import free_port
from .server_process import ServerProcess, port_answers

VERSION = os.environ.get("MICROLAB_KAFKA_VERSION", "4.1.1")
CACHE = Path(os.environ.get("MICROLAB_CACHE", Path.home() / ".cache" / "microlab"))
HOW_TO_FETCH = "run `make kafka-jars` (needs Maven and Java 17+: apt-get install maven openjdk-17-jre-headless)"
#: A generous bound for one start on a loaded machine (a quiet one needs about 5 s).
START_TIMEOUT = 60.0

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>microlab</groupId><artifactId>kafka-broker-jars</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{version}</version></dependency>
    <!-- The broker logs through SLF4J 1.7; this binding sends warnings to its log file. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>2.24.3</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
"""


class KafkaNotInstalled(MicrolabError):
    """The Kafka jars (or Java) are not on this machine."""


class KafkaUnanswered(MicrolabError):
    """The broker did not answer a request of the probe in time (it is down, restarting or slow)."""


class KafkaProbeDied(MicrolabError):
    """The probe process (the supervisor's Kafka clients) crashed or hung: a client bug, not the broker's."""


#: How long the supervisor waits for one answer of the probe before it counts it as hung
#: (the probe's own requests to the broker time out after 2 s each).
PROBE_TIMEOUT = 60.0
_PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka_probe.py")


class KafkaProbe:
    """The supervisor's side of :mod:`~microlab.real.kafka_probe`: a child process, one request at a time.

    librdkafka can crash the process that holds its clients, so the supervisor holds
    none: it asks this child. A crash or a hang of the child raises
    :class:`KafkaProbeDied` with its exit status and the last lines of its stderr (the
    Python stacks ``faulthandler`` wrote), and the caller's process lives on.
    """

    def __init__(self, url: str, stderr_path: str):
        self.stderr_path = stderr_path
        # No PR_SET_PDEATHSIG here: it fires when the starting *thread* ends, and a probe may
        # be started by a run in a worker thread. The probe exits when its stdin closes,
        # which the kernel does when this process ends, however it ends.
        with open(stderr_path, "ab") as err:
            self.process = subprocess.Popen([sys.executable, "-X", "faulthandler", _PROBE, url],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self._lock = threading.Lock()
        self._buffer = b""
        #: True once its crash or hang has been raised as :class:`KafkaProbeDied`.
        self.reported = False

    def alive(self) -> bool:
        """True while the probe process runs."""
        return self.process.poll() is None

    def ask(self, op: str, timeout: float, **args):
        """Send one request and return its result; see the class docstring for what can go wrong."""
        with self._lock:
            if not self.alive():
                raise self._died(f"had exited before {op!r} was asked")
            try:
                self.process.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
                self.process.stdin.flush()
            except OSError:
                raise self._died(f"exited while {op!r} was asked") from None
            deadline = time.monotonic() + timeout
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.process.kill()
                    self.process.wait()
                    raise self._died(f"did not answer {op!r} within {timeout:g} s and was killed")
                ready, _, _ = select.select([self.process.stdout], [], [], left)
                if ready:
                    chunk = os.read(self.process.stdout.fileno(), 65536)
                    if not chunk:
                        self.process.wait()
                        raise self._died(f"exited while answering {op!r}")
                    self._buffer += chunk
            line, self._buffer = self._buffer.split(b"\n", 1)
        reply = json.loads(line)
        if not reply["ok"]:
            raise KafkaUnanswered(f"the Kafka broker did not answer {op!r}: {reply['error']}")
        return reply["result"]

    def _died(self, what: str) -> KafkaProbeDied:
        self.reported = True
        status = self.process.poll()
        how = "" if status is None else (f" (killed by {signal.Signals(-status).name})" if status < 0
                                         else f" (exit status {status})")
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as fh:
                tail = " | ".join(fh.read().strip().splitlines()[-12:]) or "(nothing on stderr)"
        except OSError:
            tail = "(no stderr)"
        return KafkaProbeDied(f"the Kafka probe process {self.process.pid} (the supervisor's Kafka clients) "
                              f"{what}{how}: {tail}")

    def stop(self) -> None:
        """Close its stdin (it exits), and kill it if it does not exit within 5 s."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def jar_dir(version: str = VERSION) -> Path:
    """Where the broker's jars live: ``~/.cache/microlab/kafka-<version>/libs``."""
    return CACHE / f"kafka-{version}" / "libs"


def _complete(version: str) -> Path:
    return CACHE / f"kafka-{version}" / "complete"


def jars_present(version: str = VERSION) -> bool:
    """True when :func:`ensure_jars` has fetched every jar of ``version``."""
    return _complete(version).is_file()


def ensure_jars(version: str = VERSION, fetch: bool = True) -> Path:
    """The jar directory, fetched with ``mvn dependency:copy-dependencies`` if missing and ``fetch``."""
    libs = jar_dir(version)
    if jars_present(version):
        return libs
    mvn = shutil.which("mvn")
    if not fetch or mvn is None:
        why = "Maven (mvn) is not installed" if mvn is None else "fetching is off"
        raise KafkaNotInstalled(f"the Kafka {version} jars are not in {libs} and {why}: {HOW_TO_FETCH}")
    home = libs.parent
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(_POM.format(version=version), encoding="utf-8")
    out = subprocess.run([mvn, "-q", "-B", "-f", str(home / "pom.xml"), "dependency:copy-dependencies",
                          "-DincludeScope=runtime", f"-DoutputDirectory={libs}"],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0 or not (libs / f"kafka_2.13-{version}.jar").is_file():
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-8:])
        raise KafkaNotInstalled(f"Maven could not fetch org.apache.kafka:kafka_2.13:{version}:\n{tail}\n{HOW_TO_FETCH}")
    _complete(version).write_text("\n".join(sorted(p.name for p in libs.glob("*.jar"))) + "\n", encoding="utf-8")
    return libs


def find_java() -> str | None:
    """The ``java`` to run the broker with: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def kafka_available() -> bool:
    """True when Java, the broker's jars and the ``confluent-kafka`` client are all here."""
    if find_java() is None or not jars_present():
        return False
    # Found, not imported: the caller's process holds no Kafka client (see kafka_probe).
    return importlib.util.find_spec("confluent_kafka") is not None


def quiet_logger():
    """A logger for librdkafka that keeps its connection-refused chatter out of notebooks."""
    import logging

    logger = logging.getLogger("microlab.real.kafka.client")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


class KafkaServer(ServerProcess):
    """One single-node KRaft Kafka broker on 127.0.0.1 (see the module docstring).

    Lifecycle as :class:`~microlab.real.nats_server.NatsServer`: :meth:`start` formats
    the log dir, runs the JVM and waits until the broker answers a metadata request;
    :meth:`kill` is a SIGKILL; :meth:`launch` runs it again on the same ports and log
    dir; :meth:`stop` ends it (and its probe) and deletes the log dir. A context manager.
    Its requests go through one :class:`KafkaProbe` (:meth:`probe`), started with the
    first request and kept across broker restarts.
    """

    what = "the Kafka broker"

    def __init__(self, *, version: str = VERSION, start_timeout: float = START_TIMEOUT, heap: str = "512m"):
        self.java = find_java()
        if self.java is None:
            raise KafkaNotInstalled(f"Java is not installed: the Kafka broker needs Java 17+; {HOW_TO_FETCH}")
        self.libs = ensure_jars(version, fetch=False)
        self.version = version
        self.port = free_port()
        self.controller_port = free_port()
        self.home = tempfile.mkdtemp(prefix="microlab-kafka-")
        self.start_timeout = start_timeout
        self.heap = heap
        self.process: subprocess.Popen | None = None
        self._log = os.path.join(self.home, "server.log")
        self._formatted = False
        self._probe: KafkaProbe | None = None
        self.start_times: list[float] = []

    @property
    def url(self) -> str:
        """The bootstrap servers, ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> str:
        path = os.path.join(self.home, "server.properties")
        logs = os.path.join(self.home, "data")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join([
                "process.roles=broker,controller", "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={logs}", "num.partitions=1", "default.replication.factor=1",
                "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
                "min.insync.replicas=1",
                # A new consumer group starts at once rather than after the default 3 s wait.
                "group.initial.rebalance.delay.ms=0",
                # Topics are created by the run before any process starts (see naming).
                "auto.create.topics.enable=false",
                "log.retention.hours=1", "num.network.threads=2", "num.io.threads=2",
                "background.threads=2",
                # After a kill -9 the controller waits this long before it fences the dead
                # broker's session and lets the restarted one register (default 9 s).
                "broker.session.timeout.ms=2000", "broker.heartbeat.interval.ms=500", "",
            ]))
        with open(os.path.join(self.home, "log4j2.properties"), "w", encoding="utf-8") as fh:
            fh.write(_LOG4J)
        return path

    def _java(self, main: str, *args: str) -> list[str]:
        return [self.java, f"-Xmx{self.heap}", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={os.path.join(self.home, 'log4j2.properties')}",
                "-cp", os.path.join(str(self.libs), "*"), main, *args]

    def _format(self) -> None:
        props = self._properties()
        cluster = _cluster_id()
        out = subprocess.run(self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster}", "-c", props),
                             capture_output=True, text=True, timeout=self.start_timeout)
        if out.returncode != 0:
            raise MicrolabError(f"Kafka's storage tool could not format {self.home}: "
                                + " | ".join((out.stdout + out.stderr).strip().splitlines()[-3:]))
        self._formatted = True

    def launch(self) -> None:
        """Run the broker and wait (bounded by ``start_timeout``) until it answers a metadata request."""
        began = time.monotonic()
        if not self._formatted:
            self._format()
        self._spawn(self._java("kafka.Kafka", os.path.join(self.home, "server.properties")))
        self._wait_until(self._answers, began, 0.1)
        self.start_times.append(time.monotonic() - began)

    def _answers(self) -> bool:
        if not port_answers("127.0.0.1", self.port):
            return False
        try:
            return bool(self.probe().ask("answers", timeout=PROBE_TIMEOUT))
        except KafkaUnanswered:
            return False

    def probe(self) -> "KafkaProbe":
        """The child process that holds this broker's clients (one, kept; see :mod:`~microlab.real.kafka_probe`)."""
        if self._probe is None or self._probe.reported:
            # (A probe whose crash has been raised once is replaced: the next run gets a new one.)
            self._probe = KafkaProbe(self.url, os.path.join(self.home, "probe.stderr"))
        return self._probe

    @property
    def probe_pid(self) -> int | None:
        """The probe process's id while it runs (None before the first request)."""
        return self._probe.process.pid if self._probe is not None and self._probe.alive() else None

    def create_topics(self, topics) -> None:
        """Create ``topics`` (one partition each, the only replica); existing ones are kept."""
        failed = self.probe().ask("create_topics", timeout=60.0, topics=list(topics))
        for topic, error in failed.items():
            raise MicrolabError(f"Kafka did not create topic {topic!r}: {error}")

    def lags(self, groups: dict) -> dict:
        """``{group: (end offset, committed offset)}`` for ``groups`` mapping group id to its topic.

        Raises :class:`KafkaUnanswered` when the broker does not answer in time.
        """
        out = self.probe().ask("lags", timeout=PROBE_TIMEOUT, groups=dict(groups))
        if out["failed"]:
            raise KafkaUnanswered("the Kafka broker did not give the offsets of "
                                  + "; ".join(f"group {g}: {e}" for g, e in sorted(out["failed"].items())))
        return {group: tuple(pair) for group, pair in out["lags"].items()}

    def release(self, groups) -> None:
        """Let the probe close what it kept to read ``groups`` (the run that used them has ended)."""
        if self._probe is not None and self._probe.alive():
            try:
                self._probe.ask("release", timeout=10.0, groups=list(groups))
            except KafkaUnanswered:
                pass

    def stop(self) -> None:
        """End the probe and the broker (if running) and delete its log dir."""
        if self._probe is not None:
            self._probe.stop()
            self._probe = None
        self.kill()
        shutil.rmtree(self.home, ignore_errors=True)


def _cluster_id() -> str:
    # What `kafka-storage.sh random-uuid` prints: 16 random bytes, URL-safe base64, no padding.
    import base64

    # One id in 32 begins with '-': passed as --cluster-id=ID, the tool's argument parser
    # cannot take it for an option.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


__all__ = ["KafkaServer", "KafkaNotInstalled", "KafkaUnanswered", "KafkaProbeDied", "KafkaProbe", "BrokerUnreachable", "ensure_jars", "kafka_available",
           "jars_present", "find_java", "VERSION"]
