"""A real run's trace works with the simulator's figures and metrics; its processes always stop."""

import os
import signal
import subprocess
import sys
import time

import pytest

from microlab import metrics, viz
from microlab.analysis import down_spans
from microlab.choreography import causation_graph
from microlab.choreography.kinds import ACK, PUBLISH
from microlab.real.broker import RealPlan, run_choreography
from microlab.trace import DELIVER, EFFECT, SEND
from tests.real_broker.orphans import alive, leftover_processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def killed_run(nats_server):
    plan = RealPlan().kill("payment", at=0.2, restart_after=0.4).withhold_acks("shipping", 1)
    return run_choreography("order", orders=4, faults=plan, broker=nats_server)


def test_the_merged_trace_is_in_time_order_and_sends_come_before_deliveries(killed_run):
    times = [r.time for r in killed_run.trace]
    assert times == sorted(times)
    sent = {}
    for r in killed_run.trace:
        if r.kind == SEND:
            sent.setdefault(r.message.id, r.time)
        elif r.kind == DELIVER:
            assert r.message.id in sent and sent[r.message.id] <= r.time
    assert sorted(killed_run.trace.messages()) == list(range(1, len(killed_run.trace.messages()) + 1))


def test_the_records_are_the_ones_the_checker_and_metrics_read(killed_run):
    effects = [r.detail["effect"] for r in killed_run.trace.of_kind(EFFECT) if r.correlation == "order-1"]
    assert set(effects) >= {"reserve", "charge", "ship", "complete"}
    assert killed_run.trace.of_kind(PUBLISH) and killed_run.trace.of_kind(ACK)
    assert killed_run.metrics["hops_per_transaction"] == 12
    assert len(killed_run.latencies) == killed_run.checks.counts()["completed"] == 4
    assert all(0 < latency < 10 for latency in killed_run.latencies)


def test_the_simulators_figures_draw_a_real_run(killed_run):
    assert viz.sequence_diagram(killed_run.trace, correlation="order-1").data
    assert viz.causation_figure(killed_run.trace, "order-1").data
    assert viz.topology(killed_run.trace).data
    graph = causation_graph(killed_run.trace, "order-1")
    assert [graph.nodes[b].type for a, b in graph.edges][:2] == ["OrderPlaced", "OrderPlaced"]
    assert [span for span in down_spans(killed_run.trace, until=10) if span[0] == "payment"]


@pytest.mark.parametrize("flow", ["travel", "content", "order_flow"])
def test_every_shipped_flow_runs_for_real(nats_server, flow):
    run = run_choreography(flow, orders=2, broker=nats_server)
    assert run.checks.ok, run.checks.verdict()
    assert run.checks.counts()["completed"] == 2


def test_the_command_line_runs_a_plan_and_says_the_verdict(nats_installed, no_orphans):
    out = subprocess.run([sys.executable, "-m", "microlab", "real-broker", "--orders", "2",
                          "--kill", "payment@0.1:0.3"], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    assert "Consistent" in out.stdout and "kill -9 payment" in out.stdout
    assert "broker: NATS JetStream" in out.stdout  # the default backend


def test_ctrl_c_stops_every_process(nats_server, no_orphans):
    code = ("from microlab.real.broker import run_choreography\n"
            "run_choreography('order', orders=200, arrival_rate=2.0, timeout=120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(leftover_processes(keep=nats_server.pid)) < 3:
        time.sleep(0.1)
    assert len(leftover_processes(keep=nats_server.pid)) >= 3  # the launcher, its children and the server run
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "KeyboardInterrupt" in err
    time.sleep(0.2)
    assert leftover_processes(keep=nats_server.pid) == []


def test_the_notebooks_side_by_side_kill_runs_both_and_draws_the_touched_order(nats_server, no_orphans, capsys):
    from microlab.real.broker import kill_side_by_side

    demo = kill_side_by_side("payment", at=0.3, restart_after=0.4, orders=4)
    demo.verdicts()
    out = capsys.readouterr().out
    assert out.count("Consistent") == 2 and "real messages:" in out
    assert demo.affected("real") in demo.real.correlations
    figure = demo.sequence_diagram("real")
    assert figure.data and "payment killed at t=0.3 s" in figure.layout.title.text
    assert figure.layout.xaxis.title.text.startswith("wall-clock time")
    # The order drawn was in progress while payment was down, so the crash is in its figure.
    assert any(d.name and d.name.startswith("crash") for d in figure.data)
    simulated = demo.sequence_diagram("simulated")
    assert simulated.data and simulated.layout.xaxis.title.text.startswith("simulated time")


def test_without_nats_the_side_by_side_says_so_in_one_line(monkeypatch, capsys):
    import microlab.real.broker as real

    monkeypatch.setattr(real, "nats_available", lambda: False)
    demo = real.kill_side_by_side("payment", orders=2)
    assert demo.real is None
    assert demo.sequence_diagram("real") is None
    demo.verdicts()
    lines = [line for line in capsys.readouterr().out.splitlines() if "NATS is not available" in line]
    assert len(lines) == 3 and demo.simulated.checks.ok


def test_real_numbers_put_a_real_run_beside_the_simulated_one(nats_server, no_orphans, capsys):
    from microlab.real.broker import real_numbers

    numbers = real_numbers(orders=4, rate=5)
    rows = {label: (sim, real) for label, sim, real in numbers.rows()}
    assert set(rows) == {"latency p50 (ms)", "latency p95 (ms)", "messages per order", "hops per order"}
    assert all(real is not None and real > 0 for _, real in rows.values())
    # The protocol is the flow's: the same hops; JetStream also carries (and acks) the command.
    assert rows["hops per order"][0] == rows["hops per order"][1]
    assert rows["messages per order"][1] >= rows["messages per order"][0] + 1   # + redeliveries, if any
    numbers.table()
    out = capsys.readouterr().out
    assert "real (NATS)" in out and "real run:" in out and "Consistent" in out


def test_without_nats_real_numbers_say_so_in_one_line(monkeypatch, capsys):
    import microlab.real.broker as real

    monkeypatch.setattr(real, "nats_available", lambda: False)
    numbers = real.real_numbers(orders=2)
    assert numbers.real is None and all(r is None for _, _, r in numbers.rows())
    numbers.table()
    out = capsys.readouterr().out
    assert out.count("NATS is not available here") == 2 and "not run" in out
