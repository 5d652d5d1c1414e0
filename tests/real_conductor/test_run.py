"""Runs on a real Conductor server: the course's sagas, the execution model, the command
line, and every kind of bad input (each a clear error, no process left behind)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from microlab.orchestration.toys import workflow_file
from microlab.real import conductor_server as cs
from microlab.real.client import ConductorUnreachable, DefinitionRejected
from microlab.real.run import RealRunError, run_real

from .examples import examples_dir

ROOT = Path(__file__).resolve().parents[2]
ORDER = workflow_file("order_fulfillment")


def test_the_order_saga_compensates_on_the_real_server(conductor):
    run = run_real(ORDER, {"orderId": "o-1", "amount": 30}, fail={"book_shipment": None}, server=conductor)
    ex = run.execution
    assert ex.status == "FAILED" and [t.attempt for t in ex.attempts("book_shipment")] == [1, 2, 3]
    assert ex.failure_workflow is not None and ex.failure_workflow.name == "order_fulfillment_compensation"
    assert ex.failure_workflow.status == "COMPLETED"
    assert ex.failure_workflow.refs() == ["completed", "was_charged", "refund_payment", "was_reserved",
                                          "release_inventory"]
    assert ex.failure_workflow.task("refund_payment").input["orderId"] == "o-1"
    assert ex.outcome == "COMPENSATED"
    times = [t.scheduled for t in ex.tasks]
    assert times == sorted(times) and 0 <= times[0] < 5      # seconds from the workflow's start


def test_the_saga_cookbook_runs_unchanged_against_toy_http_services(conductor):
    saga = examples_dir() / "saga-order-fulfillment.json"
    if not saga.is_file():
        pytest.skip(f"{saga} not found (it sits beside the repository)")
    ok = run_real(saga, {"orderId": "o-2", "amount": 30, "shipmentStatus": 200}, server=conductor)
    assert ok.execution.status == "COMPLETED"
    assert [path for _, path, _ in ok.http_calls] == ["/inventory/reserve", "/payments/charge", "/shipping/book"]
    bad = run_real(saga, {"orderId": "o-3", "amount": 30, "shipmentStatus": 503}, server=conductor)
    ex = bad.execution
    assert ex.status == "FAILED" and ex.outcome == "COMPENSATED"
    assert ("POST", "/payments/refund", 200) in bad.http_calls
    assert ex.failure_workflow.output["stepsCompleted"] == ["reserve_inventory", "charge_payment"]


def test_a_real_execution_draws_like_a_simulated_one(conductor):
    from microlab import viz
    from microlab.orchestration.toyrun import run_toy
    from microlab.orchestration import execution
    run = run_real(ORDER, {"orderId": "o-4", "amount": 5}, fail={"charge_payment": 1}, server=conductor)
    real = run.execution
    toy = run_toy(ORDER, {"orderId": "o-4", "amount": 5}, fail={"charge_payment": 1})
    sim = toy.execution
    assert [(t.reference_task_name, t.status, t.attempt) for t in real.tasks] == \
        [(t.reference_task_name, t.status, t.attempt) for t in sim.tasks]
    again = execution(run.trace, run.correlation)      # the real run as a trace, read back
    assert again.to_dict() == real.to_dict()
    for trace, correlation, ex in ((run.trace, run.correlation, real), (toy.system, toy.correlation, sim)):
        timeline = viz.workflow_timeline(trace, correlation)
        diagram = viz.workflow_diagram(toy.main, ex)
        lanes = {y for d in timeline.data for y in (d.y if d.y is not None else ())}
        assert {"reserve_inventory", "charge_payment", "book_shipment"} <= lanes
        assert len(diagram.data) > 0
    assert json.loads(real.to_json())["tasks"][1]["retryCount"] == 0


def test_python_functions_as_workers_and_a_crashing_worker(conductor):
    wf = {"name": "crashy", "version": 1, "schemaVersion": 2,
          "tasks": [{"name": "divide", "taskReferenceName": "divide", "type": "SIMPLE",
                     "inputParameters": {"n": "${workflow.input.n}"}}],
          "outputParameters": {"q": "${divide.output.q}"}}
    defs = [{"name": "divide", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10}]
    good = run_real(wf, {"n": 4}, functions={"divide": lambda inp: {"q": 12 / inp["n"]}},
                    task_defs=defs, server=conductor)
    assert good.execution.output == {"q": 3.0} and good.crashes == []
    bad = run_real(wf, {"n": 0}, functions={"divide": lambda inp: {"q": 12 / inp["n"]}},
                   task_defs=defs, server=conductor)
    ex = bad.execution
    assert ex.status == "FAILED" and len(ex.attempts("divide")) == 2
    assert "worker crashed: ZeroDivisionError: division by zero" in ex.task("divide").reason
    assert [ref for ref, _, _ in bad.crashes] == ["divide", "divide"]


def test_a_definition_the_server_rejects_shows_its_json_path(conductor):
    wf = {"name": "broken", "version": 1, "schemaVersion": 2,
          "tasks": [{"name": "a", "taskReferenceName": "a", "type": "SIMPLE"},
                    {"name": "b", "taskReferenceName": "a", "type": "SIMPLE"}]}
    with pytest.raises(DefinitionRejected) as caught:
        run_real(wf, server=conductor)
    assert caught.value.faults, str(caught.value)
    text = str(caught.value)
    assert "rejected workflow broken" in text and "$[0]" in text and "taskReferenceName" in text


def test_an_unreachable_server_says_so(tmp_path):
    with pytest.raises(ConductorUnreachable, match=r"no Conductor server answers at http://127.0.0.1:9 "
                                                   r"\(connection refused\).*--real starts one"):
        run_real(ORDER, server="http://127.0.0.1:9")


def test_the_command_line_runs_on_the_real_server(conductor):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "microlab", "run", str(ORDER), "--server", conductor.url,
                          "--input", '{"orderId": "o-5", "amount": 1}', "--fail", "charge_payment:1", "--json"],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "COMPLETED"
    assert [t["retryCount"] for t in data["tasks"] if t["referenceTaskName"] == "charge_payment"] == [0, 1]
    down = subprocess.run([sys.executable, "-m", "microlab", "run", str(ORDER), "--server", "http://127.0.0.1:9"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert down.returncode == 2 and "no Conductor server answers at http://127.0.0.1:9" in down.stderr
    assert "Traceback" not in down.stderr


def test_a_server_that_dies_mid_run_is_reported_and_leaves_nothing_running(conductor):
    server = cs.ConductorServer().start()
    pid = server.process.pid
    wf = {"name": "slow", "version": 1, "schemaVersion": 2,
          "tasks": [{"name": "nap", "taskReferenceName": "nap", "type": "SIMPLE"}]}
    started = threading.Event()

    def nap(inp):
        started.set()
        threading.Event().wait(3)
        return {}

    killer = threading.Thread(target=lambda: started.wait(60) and os.kill(pid, signal.SIGKILL))
    killer.start()
    try:
        with pytest.raises(cs.ServerExited, match="has exited"):
            run_real(wf, functions={"nap": nap}, server=server, timeout=60,
                     task_defs=[{"name": "nap", "retryCount": 0, "responseTimeoutSeconds": 30}])
    finally:
        killer.join()
        server.stop()
    assert not server.running()
    assert not [t for t in threading.enumerate() if t.name.startswith("microlab-poller")]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
