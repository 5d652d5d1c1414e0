"""The course's order saga on a real Temporal dev server: retries, then compensation.

Each test runs the saga's client and worker in a child process
(``run_order_saga``), so this session never loads the SDK's core (see
:mod:`microlab.real.temporal_run`).
"""

from __future__ import annotations

import psutil

from microlab.flows import ORDER
from microlab.real.temporal_run import run_order_saga
from microlab.real.temporal_saga import STEP_RETRY
from microlab.real.temporal_server import NO_VERSION_CHECK


def test_a_failing_shipment_is_retried_then_compensated_newest_first_on_the_real_server(temporal):
    run = run_order_saga(temporal.address, orders=2, fail=("ship",), quiet=True)
    assert [o["status"] for o in run.outcomes] == [ORDER.rejected] * 2
    for outcome in run.outcomes:
        assert outcome["failed"] == "ship" and outcome["done"] == ["reserve", "charge"]
        assert outcome["undone"] == ["refund", "release"]          # newest first
        steps = [(act, attempt, result) for order, act, attempt, result in run.log if order == outcome["orderId"]]
        tries = STEP_RETRY.maximum_attempts
        assert steps == ([("reserve", 1, "done"), ("charge", 1, "done")]
                         + [("ship", n, "failed") for n in range(1, tries + 1)]
                         + [("refund", 1, "done"), ("release", 1, "done")])
    # The server's own record: per order 5 activities scheduled, the retried ship failed once
    # (a history records an activity's last attempt only), and nothing cancelled the shipment.
    for types in run.histories.values():
        assert types.count("ActivityTaskScheduled") == 5 and types.count("ActivityTaskFailed") == 1
        assert types[-1] == "WorkflowExecutionCompleted"
    assert run.attempts("cancel_shipment") == 0


def test_with_no_failure_every_step_runs_once_and_nothing_is_undone(temporal):
    run = run_order_saga(temporal.address, fail=(), quiet=True)
    assert run.outcomes[0]["status"] == ORDER.completed and run.outcomes[0]["undone"] == []
    assert [act for _, act, _, _ in run.log] == [s.effect for s in ORDER.steps]
    assert run.events["ActivityTaskFailed"] == 0


def test_the_dev_server_is_headless_and_talks_to_loopback_only(temporal):
    cmd = temporal.command
    assert "--headless" in cmd and cmd[cmd.index("--ip") + 1] == "127.0.0.1" and NO_VERSION_CHECK in cmd
    run_order_saga(temporal.address, fail=(), quiet=True)        # some traffic to look at
    sockets = psutil.Process(temporal.process.pid).net_connections(kind="inet")
    assert any(s.status == psutil.CONN_LISTEN for s in sockets)
    for s in sockets:
        assert s.laddr.ip == "127.0.0.1", s
        assert not s.raddr or s.raddr.ip == "127.0.0.1", s


def test_a_run_without_an_address_starts_its_own_server_and_stops_it(temporal):
    def own_servers():
        return [p for p in psutil.process_iter(["cmdline"])
                if "start-dev" in (p.info["cmdline"] or []) and any("microlab-temporal-" in a for a in p.info["cmdline"])]

    before = own_servers()
    run = run_order_saga(fail=("ship",), quiet=True)
    assert run.outcomes[0]["undone"] == ["refund", "release"]
    assert own_servers() == before
