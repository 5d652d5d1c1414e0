"""Run the order saga on a real Temporal server and read back what the server recorded.

The SDK's Rust core can crash the interpreter that loaded it while that interpreter
exits (temporalio/sdk-python issue 300, "PyGILState_Release"), so a notebook kernel or a
test session never loads it: :func:`run_order_saga` runs the saga in a child process
(``python -m microlab.real.temporal_run``), which prints the run as JSON and leaves with
``os._exit``. Without ``--address`` the child starts its own dev server
(``WorkflowEnvironment.start_local``) in a temporary folder and stops it again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

from ..flows import ORDER

#: A run (start, orders, stop) taking longer than this is stopped and reported.
RUN_LIMIT_S = 90
#: The child's exit code when no server can be had (its last line says why).
UNAVAILABLE = 3


@dataclass
class TemporalRun:
    """What a real run returned and what the server's histories hold."""

    outcomes: list          # each order's workflow result, with its orderId
    log: list               # [order, activity, attempt, outcome] as the activities saw them
    histories: dict         # workflow id -> [event type names], in order
    events: Counter = field(default_factory=Counter)   # event types summed over the histories

    def __post_init__(self):
        self.events = Counter(t for types in self.histories.values() for t in types)

    def attempts(self, name: str) -> int:
        """How many times activity ``name`` ran (every order)."""
        return sum(1 for _, act, _, _ in self.log if act == name)

    def summary(self) -> str:
        """One line per order, then the history's event counts that tell the saga's story."""
        lines = [f"{o['orderId']}: {o['status']}, done {o['done']}, failed {o['failed']}, undone {o['undone']}"
                 for o in self.outcomes]
        wanted = ("ActivityTaskScheduled", "ActivityTaskCompleted", "ActivityTaskFailed")
        lines.append("server history: " + ", ".join(f"{self.events.get(k, 0)} {k}" for k in wanted))
        return "\n".join(lines)


async def run_saga(client, orders: int = 1, fail=("ship",)) -> TemporalRun:
    """Run ``orders`` orders of the saga on ``client``'s server with a worker in this
    process, ``fail`` failing at every attempt; return the outcomes and the histories."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.worker import Worker

    from .temporal_saga import TASK_QUEUE, OrderSaga, ToyServices

    services = ToyServices(fail=frozenset(fail))
    queue = f"{TASK_QUEUE}-{uuid.uuid4().hex[:8]}"      # a fresh queue: no other run's tasks
    payload = dict(ORDER.payload)
    outcomes, histories = [], {}
    # Each failed attempt makes the SDK log a warning with a traceback; failing is the point
    # of this run and its log shows every attempt, so the warnings stay out of the output.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    async with Worker(client, task_queue=queue, workflows=[OrderSaga], activities=services.activities()):
        for i in range(1, orders + 1):
            wid = f"order-{i}-{uuid.uuid4().hex[:6]}"
            order = {"orderId": f"o-{i}", **payload}
            handle = await client.start_workflow(OrderSaga.run, order, id=wid, task_queue=queue)
            outcomes.append({"orderId": order["orderId"], **await handle.result()})
            history = await handle.fetch_history()
            histories[wid] = [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_").title().replace("_", "")
                              for e in history.events]
    return TemporalRun(outcomes, [list(entry) for entry in services.log], histories)


async def on_server(address: str | None, job):
    """``await job(client)`` on the server at ``address``, or on a dev server of its own
    (started in a temporary folder, stopped after the job, also after a failure)."""
    if address:
        from temporalio.client import Client
        return await job(await Client.connect(address))
    from .temporal_server import start_local
    with tempfile.TemporaryDirectory(prefix="microlab-temporal-") as workdir:
        env = await start_local(workdir)
        try:
            return await job(env.client)
        finally:
            await env.shutdown()


def run_order_saga(address: str | None = None, *, orders: int = 1, fail=("ship",), quiet: bool = False):
    """Run the saga on the server at ``address`` (default: a dev server of its own, started
    and stopped) in a child process; return its :class:`TemporalRun`.

    Where there is no server to be had it prints one line and returns None (``quiet``:
    raises :class:`~microlab.real.temporal_server.TemporalUnavailable` instead).
    """
    args = ["--orders", str(orders), "--fail", ",".join(fail)] + (["--address", address] if address else [])
    data = run_child("microlab.real.temporal_run", args, quiet=quiet)
    return None if data is None else TemporalRun(**data)


def run_child(module: str, args: list[str], *, quiet: bool = False, limit_s: float = RUN_LIMIT_S):
    """``python -m module *args`` in a child process (its own session, so that the dev
    server it may start is stopped with it); return the JSON of its last stdout line.

    Exit :data:`UNAVAILABLE` means no server here: print why in one line and return None
    (``quiet``: raise :class:`~microlab.real.temporal_server.TemporalUnavailable`).
    """
    from .temporal_server import TemporalUnavailable

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = child.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)      # the child and the dev server it started
        child.communicate()
        raise TimeoutError(f"the real Temporal run took longer than {limit_s} s and was stopped")
    if child.returncode == UNAVAILABLE:
        why = (err.strip().splitlines() or ["no reason given"])[-1]
        if quiet:
            raise TemporalUnavailable(why)
        print(f"No real Temporal run here: {why}")
        return None
    if child.returncode != 0:
        raise RuntimeError(f"the real Temporal run failed (exit {child.returncode}): {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _package_root() -> str:
    """The folder that holds the ``microlab`` package (so the child imports this copy)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None) -> None:
    """``python -m microlab.real.temporal_run [--address H:P] [--orders N] [--fail ship]``:
    the run as one JSON line on stdout; exit 3 (and why, on stderr) without a server."""
    parser = argparse.ArgumentParser(prog="python -m microlab.real.temporal_run", description=main.__doc__)
    parser.add_argument("--address", help="a running server's host:port (default: start a dev server)")
    parser.add_argument("--orders", type=int, default=1)
    parser.add_argument("--fail", default="ship", help="comma-separated activities that always fail ('' for none)")
    args = parser.parse_args(argv)
    fail = tuple(f for f in args.fail.split(",") if f)

    async def job(client):
        data = asdict(await run_saga(client, orders=args.orders, fail=fail))
        data.pop("events")
        return data

    child_main(lambda: on_server(args.address, job))


def child_main(make_job) -> None:
    """The child's end of :func:`run_child`: run ``make_job()``'s coroutine, print its
    result as one JSON line, and leave with ``os._exit`` (exit 3 without a server, 1 on
    any other failure, its traceback on stderr)."""
    from .temporal_server import TemporalUnavailable

    code = 0
    try:
        print(json.dumps(asyncio.run(make_job())), flush=True)
    except (TemporalUnavailable, ImportError) as exc:
        print(str(exc).splitlines()[0], file=sys.stderr, flush=True)
        code = UNAVAILABLE
    except BaseException as exc:        # reported, then the same hard exit as a success
        import traceback
        traceback.print_exc()
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown, where the SDK's threads can abort it (see the module's docstring).
    os._exit(code)


if __name__ == "__main__":
    main()
