"""Find processes that a real run left behind, by their command lines in /proc.

Only processes started under this test process count (its descendants), and true
orphans (adopted by init): other people's test runs on the same machine are not ours.
"""

import os
from contextlib import contextmanager

#: The brokers that session fixtures share between tests (NATS, Kafka): not orphans while
#: their session lasts. Servers, not pids, as a broker restarted by a test has a new pid.
SHARED_SERVERS: list = []


@contextmanager
def shared_server(server_class):
    """Start a broker of ``server_class`` for the session, counted in :data:`SHARED_SERVERS` while it runs."""
    with server_class.start() as server:
        SHARED_SERVERS.append(server)
        try:
            yield server
        finally:
            SHARED_SERVERS.remove(server)


def _stat(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])  # state, parent pid


def _ours(pid: int) -> bool:
    me = os.getpid()
    seen = 0
    while pid > 1 and seen < 64:
        if pid == me:
            return True
        try:
            _, pid = _stat(pid)
        except OSError:
            return False
        seen += 1
    return pid == 1 and seen == 1  # adopted by init: an orphan


def leftover_processes(keep=None) -> list[str]:
    """Live launcher, service, nats-server, Kafka broker and Kafka probe processes of our microlab runs.

    The session's shared brokers (:data:`SHARED_SERVERS`) and ``keep`` are not counted.
    """
    found = []
    shared = {server.pid for server in SHARED_SERVERS} | {keep}
    shared |= {getattr(server, "probe_pid", None) for server in SHARED_SERVERS}  # a Kafka broker's probe
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in shared:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            state, _ = _stat(pid)
        except OSError:
            continue
        ours = ("microlab.real.broker" in cmd or ("nats-server" in cmd and "microlab-nats-" in cmd)
                or ("kafka.Kafka" in cmd and "microlab-kafka-" in cmd) or "microlab/real/kafka_probe.py" in cmd)
        if state == "Z" or not ours:
            continue
        if _ours(int(pid)):
            found.append(f"{pid}: {cmd.strip()}")
    return found


def alive(pid: int) -> bool:
    """True when ``pid`` runs and is not a zombie."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False
