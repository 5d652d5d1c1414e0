"""The hybrid scenario: orchestrated inside the owner's domain, choreographed into the last step's.

The golden summary and trace digest live in tests/golden/hybrid.json; after an intended
behaviour change, regenerate them with ``python tests/test_scenarios_hybrid.py --update-golden``
and say why in the commit.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from microlab import scenarios
from microlab.faults import FaultPlan
from microlab.scenarios.domains import AWAIT, HAND_OFF

GOLDEN = Path(__file__).parent / "golden" / "hybrid.json"
GOLDEN_KNOBS = dict(orders=30, arrival_rate=5.0, failure={"payment": 0.2, "shipping": 0.3}, retries=0, seed=3)


def golden() -> dict:
    out = {}
    for name in scenarios.FLOWS:
        result = scenarios.run(name, "hybrid", **dict(GOLDEN_KNOBS, failure={}))
        out[f"{name}/hybrid"] = dict(result.summary(), digest=result.trace.digest())
    result = scenarios.hybrid(**GOLDEN_KNOBS)
    out["order/hybrid/failures"] = dict(result.summary(), digest=result.trace.digest())
    return out


def records(result, kind):
    return [r for r in result.trace.records if r[1] == kind]


def test_golden_summaries_and_digests_are_unchanged():
    assert golden() == json.loads(GOLDEN.read_text())


def test_happy_path_every_order_completes_across_both_domains_without_violations():
    result = scenarios.hybrid(orders=20, seed=4)
    assert result.checks.ok, result.checks.verdict()
    assert result.checks.counts()["completed"] == 20
    handled = [r[4] for r in records(result, "event_handler")]
    assert len(handled) == 20 and {h["action"] for h in handled} == {"complete_task"}
    assert {h["status"] for h in handled} == {"COMPLETED"}
    orchestrator = result.system.services["orchestrator"]
    for corr in result.correlations:
        inst = orchestrator.instance(corr)
        tasks = {t.full_ref: t for t in inst.tasks}
        assert tasks[HAND_OFF].step.type == "EVENT" and tasks[HAND_OFF].status == "COMPLETED"
        assert tasks[AWAIT].output["conductor.event.name"] == "nats:OrderShipped"


def test_the_orchestrator_never_commands_the_choreographed_domain():
    result = scenarios.hybrid(orders=10, seed=4)
    sent = [r[3] for r in records(result, "send")]
    to_shipping = {m.source for m in sent if m.destination == "shipping"}
    assert to_shipping == {"broker"}  # shipping hears events; no command reaches it
    published = {m.type for m in sent if m.destination == "broker" and m.source == "orchestrator"
                 and m.kind == "event"}
    assert published == {"PaymentCompleted"}  # the EVENT task's hand-off, and nothing else
    acks = {m.type for m in sent if m.destination == "broker" and m.source == "orchestrator" and m.kind == "reply"}
    assert acks == {"Ack:OrderShipped"}  # the event handler's delivery, acknowledged


def test_a_failure_in_the_choreographed_domain_compensates_the_orchestrated_one():
    result = scenarios.hybrid(orders=12, seed=4, failure={"shipping": 1.0})
    assert result.checks.ok, result.checks.verdict()
    assert result.checks.counts()["compensated"] == 12
    effects = [r.detail["effect"] for r in result.trace.for_correlation("order-1") if r.kind == "effect"]
    assert effects[:2] == ["reserve", "charge"] and "refund" in effects and "release" in effects
    assert effects.index("refund") < effects.index("release")  # most recent first
    [failed] = [r.detail for r in result.trace.for_correlation("order-1") if r.kind == "event_handler"]
    assert failed["action"] == "fail_task" and failed["handler"] == "on_ShippingFailed"


def test_a_crashed_shipping_domain_shows_where_the_orders_stop():
    result = scenarios.hybrid(orders=5, seed=4, faults=FaultPlan().crash("shipping", at=0.0))
    counts = result.checks.counts()
    assert counts["stuck"] == 5 and not result.checks.ok
    stuck = result.checks.by_check()["stuck"][0]
    assert "applied so far: reserve, charge" in stuck.explanation
    assert "PaymentCompleted from broker to shipping" in stuck.explanation
    # The orchestrated domain did its part and waits: the WAIT is still in progress.
    inst = result.system.services["orchestrator"].instance("order-1")
    assert inst.status == "RUNNING" and inst.refs[AWAIT].status == "IN_PROGRESS"


@pytest.mark.parametrize("name", ["travel", "content"])
def test_every_flow_runs_hybrid(name):
    result = scenarios.run(name, "hybrid", orders=15, seed=2, failure={})
    assert result.checks.ok and result.checks.counts()["completed"] == 15


def test_same_seed_same_trace_and_another_seed_another():
    a = scenarios.hybrid(orders=8, seed=9)
    b = scenarios.hybrid(orders=8, seed=9)
    assert a.trace.digest() == b.trace.digest()
    assert scenarios.hybrid(orders=8, seed=10).trace.digest() != a.trace.digest()


def test_same_trace_in_another_process_with_another_hash_seed():
    code = ("from microlab import scenarios; "
            "print(scenarios.hybrid(orders=8, seed=9).trace.digest())")
    env = dict(os.environ, PYTHONHASHSEED="123", PYTHONPATH=str(Path(__file__).parents[1]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == scenarios.hybrid(orders=8, seed=9).trace.digest()


def test_the_figures_draw_both_domains():
    from microlab.viz import sequence_diagram
    from microlab.viz.topology import talk_graph
    result = scenarios.hybrid(orders=3, seed=3)
    fig = sequence_diagram(result.system, correlation="order-1")
    lanes = list(fig.layout.yaxis.ticktext)
    assert {"orchestrator", "broker", "inventory", "payment", "shipping", "notification"} <= set(lanes)
    edges = set(talk_graph(result.system).edges())
    assert ("orchestrator", "broker") in edges and ("broker", "orchestrator") in edges
    assert ("orchestrator", "payment") in edges and ("broker", "shipping") in edges
    assert ("orchestrator", "shipping") not in edges


def test_hybrid_is_a_pattern_of_run_but_not_of_the_sweeps():
    assert "hybrid" not in scenarios.ALL_PATTERNS
    with pytest.raises(scenarios.KnobError) as err:
        scenarios.run("order", "hybird")
    assert "'hybrid'" in str(err.value)


if __name__ == "__main__" and "--update-golden" in sys.argv:
    GOLDEN.write_text(json.dumps(golden(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
