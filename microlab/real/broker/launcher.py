"""The launcher: imports the service code once, then forks one OS process per participant.

Starting a fresh Python for each of six processes costs about 0.85 s of CPU each
(microlab, asyncio and nats-py imports), several seconds per run on two cores. The
launcher pays it once per run and forks: each participant is still its own OS process
with its own pid, memory, database connection and broker connection, killed with a
real SIGKILL, but it starts in milliseconds.

Protocol, one JSON object per line: the supervisor writes ``{"name", "faults"}`` on the
launcher's stdin; the launcher answers ``{"pid": N}``, and later ``{"exit": N,
"status": S}`` when that child ends (S negative for a signal, as ``Popen.returncode``).
It runs no thread (forking a threaded process is unsafe), only a select loop.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys

from ..server_process import die_with_parent


def _child(config_path: str, name: str, faults: dict, workdir: str) -> None:
    # In the forked child: own stderr file, no pipes to the supervisor, killed with the launcher.
    die_with_parent()
    err = os.open(os.path.join(workdir, f"{name}.stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(err, 2)
    os.environ["MICROLAB_REAL_PROCESS"] = name
    from .process import main

    code = 1
    try:
        code = main([config_path, name, json.dumps(faults)])
    finally:
        os._exit(code)


def serve(config_path: str) -> None:
    """Read spawn requests on stdin until it closes; report pids and exits on stdout."""
    # Import everything a child needs before forking, so that each fork starts warm.
    # (Importing the Kafka client starts no thread: librdkafka's begin with a Producer.)
    import json as _json

    with open(config_path, encoding="utf-8") as fh:
        backend = _json.load(fh).get("backend", "nats")
    if backend == "kafka":
        import confluent_kafka  # noqa: F401

        from . import kafka_process  # noqa: F401
    else:
        import nats  # noqa: F401
        import nats.js.api  # noqa: F401
    from . import client, service  # noqa: F401
    from .flows import real_flow  # noqa: F401
    from ...scenarios import choreographed  # noqa: F401

    workdir = os.path.dirname(config_path)
    out = sys.stdout
    children: set = set()
    buffer = b""
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.02)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(config_path, request["name"], request.get("faults") or {}, workdir)
                children.add(pid)
                out.write(json.dumps({"pid": pid}) + "\n")
                out.flush()
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            children.discard(pid)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            out.write(json.dumps({"exit": pid, "status": code}) + "\n")
            out.flush()
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    die_with_parent()
    serve(sys.argv[1])
