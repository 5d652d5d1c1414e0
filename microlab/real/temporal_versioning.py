"""Changing a Temporal workflow while an order is in flight: ``workflow.patched`` run for real.

A Temporal worker does not store where a workflow stands: it rebuilds it by running the
workflow code again over the server's history (a *replay*), and the code must issue the
same commands the history records. So a new step cannot simply be added to the code: an
order started before the change would replay into the new step where its history has
something else. ``workflow.patched("fraud-check")`` returns True for a run that has not
yet passed that point (and records a marker in its history), and False while replaying a
history that passed it without the marker: the old path ([patching](https://docs.temporal.io/patching.md)).

:func:`run_versioning` shows it on one server, one task queue, three workers in turn:

1. worker **v1** (:class:`OrderV1`: reserve, charge, wait for the warehouse's ``dispatch``
   signal, ship) starts two orders; both stop at the wait, and v1 stops;
2. worker **v2** (:class:`OrderV2`: a fraud check after charge, under ``patched``) gets
   the ``dispatch`` for ``o-1``, started on v1, and starts ``o-2``: ``o-1`` finishes on
   v1's path, ``o-2`` takes the fraud check;
3. worker **v2, unpatched** (:class:`OrderV2Unpatched`: the fraud check added as is) gets
   the ``dispatch`` for ``o-3``, started on v1: its replay fails with a non-determinism
   error, which this worker turns into the workflow's failure.

Each worker keeps no workflow in its cache (``max_cached_workflows=0``), so every workflow
task is a replay of the whole history. As in :mod:`.temporal_run`, the client and the
workers run in a child process (:func:`run_order_versions`).
"""

from __future__ import annotations

import argparse
import textwrap
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

WORKFLOW = "order_with_dispatch"
PATCH = "fraud-check"
#: How long an order waits for the warehouse's ``dispatch`` before it gives up.
DISPATCH_WAIT = timedelta(minutes=5)
STEP_TIMEOUT = timedelta(seconds=5)
ACTIVITIES = ("reserve", "charge", "fraud_check", "ship")


async def _step(name: str, order: dict, done: list) -> None:
    await workflow.execute_activity(name, order, start_to_close_timeout=STEP_TIMEOUT)
    done.append(name)


class _Order:
    """What every version shares: the ``dispatch`` signal and the steps around the wait."""

    def __init__(self) -> None:
        self.dispatched = False

    @workflow.signal
    def dispatch(self) -> None:
        """The warehouse is ready to ship."""
        self.dispatched = True

    async def _flow(self, order: dict, fraud_check) -> list:
        """Reserve, charge, the fraud check when ``fraud_check()`` says so, wait for
        ``dispatch``, ship; the steps run, in order."""
        done: list = []
        await _step("reserve", order, done)
        await _step("charge", order, done)
        if fraud_check():
            await _step("fraud_check", order, done)
        await workflow.wait_condition(lambda: self.dispatched, timeout=DISPATCH_WAIT)
        await _step("ship", order, done)
        return done


@workflow.defn(name=WORKFLOW)
class OrderV1(_Order):
    """Version 1: reserve, charge, wait for ``dispatch``, ship; returns the steps it ran."""

    @workflow.run
    async def run(self, order: dict) -> list:
        return await self._flow(order, lambda: False)


@workflow.defn(name=WORKFLOW)
class OrderV2(_Order):
    """Version 2: a fraud check after charge, behind ``workflow.patched(PATCH)``, which is
    False while replaying a version 1 history past that point."""

    @workflow.run
    async def run(self, order: dict) -> list:
        return await self._flow(order, lambda: workflow.patched(PATCH))


@workflow.defn(name=WORKFLOW)
class OrderV2Unpatched(_Order):
    """Version 2 written carelessly: the fraud check added without ``patched``."""

    @workflow.run
    async def run(self, order: dict) -> list:
        return await self._flow(order, lambda: True)


def activities(worker: str, log: list) -> list:
    """The toy activities for a worker named ``worker``: each appends ``[order, activity,
    worker]`` to ``log`` (so the log says which worker ran which step)."""
    def make(name):
        @activity.defn(name=name)
        async def step(order: dict) -> str:
            log.append([order["orderId"], name, worker])
            return name
        return step
    return [make(name) for name in ACTIVITIES]


@dataclass
class VersioningRun:
    """What :func:`run_versioning` saw: per order, the worker it started on, the steps it
    ran (its result; for a failed order, what the activity log holds), whether its history
    holds the patch's marker, and its failure; the activity log; the run's seconds."""

    orders: dict                   # orderId -> {"started_on", "path", "patch_marker", "failure"}
    log: list                      # [order, activity, worker] in the order they ran
    seconds: float = 0.0

    @property
    def nondeterminism(self) -> str:
        """The unpatched replay's failure message ('' if it did not fail)."""
        return self.orders.get("o-3", {}).get("failure", "")

    def summary(self) -> str:
        """One line per order (each step with the worker that ran it), a failure on its own line."""
        lines = ["each step, with (the worker that ran it):"]
        for oid, o in self.orders.items():
            ran = {a: w for order, a, w in self.log if order == oid}
            steps = ", ".join(f"{a} ({ran.get(a, '?')})" for a in o["path"])
            marker = "patch marker" if o["patch_marker"] else "no patch marker"
            lines.append(f"{oid} started on {o['started_on']}: {steps}; {marker}")
            if o["failure"]:
                lines.append(textwrap.fill(f"then failed on v2-unpatched: {o['failure']}", 100,
                                           initial_indent="    ", subsequent_indent="    "))
        return "\n".join(lines)


async def _until_waiting(handle, limit_s: float = 20.0) -> None:
    """Wait until the order's history shows its wait for ``dispatch`` (a timer started)."""
    from temporalio.api.enums.v1 import EventType

    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        history = await handle.fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
            return
        await asyncio_sleep(0.05)
    raise TimeoutError(f"{handle.id} did not reach its wait for dispatch within {limit_s} s")


async def asyncio_sleep(seconds: float) -> None:
    """``asyncio.sleep``, imported here so that the workflow sandbox never sees asyncio's clock."""
    import asyncio
    await asyncio.sleep(seconds)


async def _has_marker(handle) -> bool:
    from temporalio.api.enums.v1 import EventType

    history = await handle.fetch_history()
    return any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in history.events)


async def run_versioning(client) -> VersioningRun:
    """The three steps of the module's docstring on ``client``'s server (a fresh task queue)."""
    from temporalio.client import WorkflowFailureError
    from temporalio.worker import Worker

    began = time.monotonic()
    queue = f"microlab-versions-{uuid.uuid4().hex[:8]}"
    log: list = []
    tag = uuid.uuid4().hex[:6]

    def worker(name, workflow_class, **kw):
        return Worker(client, task_queue=queue, workflows=[workflow_class], activities=activities(name, log),
                      max_cached_workflows=0, **kw)

    async def start(oid):
        return await client.start_workflow(WORKFLOW, {"orderId": oid}, id=f"{oid}-{tag}", task_queue=queue)

    async with worker("v1", OrderV1):
        first, third = await start("o-1"), await start("o-3")
        await _until_waiting(first)
        await _until_waiting(third)
    orders = {}
    async with worker("v2", OrderV2):
        await first.signal("dispatch")
        second = await start("o-2")
        await _until_waiting(second)
        await second.signal("dispatch")
        for oid, handle, on in (("o-1", first, "v1"), ("o-2", second, "v2")):
            orders[oid] = {"started_on": on, "path": await handle.result(),
                           "patch_marker": await _has_marker(handle), "failure": ""}
    failure = ""
    async with worker("v2-unpatched", OrderV2Unpatched, workflow_failure_exception_types=[workflow.NondeterminismError]):
        await third.signal("dispatch")
        try:
            await third.result()
        except WorkflowFailureError as exc:
            failure = str(exc.cause or exc)
    orders["o-3"] = {"started_on": "v1", "path": [a for order, a, _ in log if order == "o-3"],
                     "patch_marker": await _has_marker(third), "failure": failure}
    return VersioningRun(orders, log, round(time.monotonic() - began, 2))


def run_order_versions(address: str | None = None, *, quiet: bool = False):
    """:func:`run_versioning` in a child process, on the server at ``address`` or on a dev
    server of its own; a :class:`VersioningRun`, or None (one line printed) without a server."""
    from .temporal_run import run_child

    data = run_child("microlab.real.temporal_versioning", ["--address", address] if address else [], quiet=quiet)
    return None if data is None else VersioningRun(**data)


def main(argv=None) -> None:
    """``python -m microlab.real.temporal_versioning [--address H:P]``: the run as one JSON line."""
    from dataclasses import asdict

    from .temporal_run import child_main, on_server

    parser = argparse.ArgumentParser(prog="python -m microlab.real.temporal_versioning", description=main.__doc__)
    parser.add_argument("--address", help="a running server's host:port (default: start a dev server)")
    args = parser.parse_args(argv)

    async def job(client):
        return asdict(await run_versioning(client))

    child_main(lambda: on_server(args.address, job))


if __name__ == "__main__":
    main()
