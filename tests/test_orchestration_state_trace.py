"""Property: the orchestrator's state and the execution rebuilt from its trace tell the same story.

Orchestrator tests mostly assert through :func:`microlab.orchestration.execution`, which
reads only the trace. If the trace records and the state drifted apart, those tests would
check the trace alone. Here random runs (failures, retries, crashes of the orchestrator
with a standby that replays the durable log, lost and repeated messages) compare the two,
instance by instance and attempt by attempt.
"""

from hypothesis import HealthCheck, given, settings, strategies as st

from microlab import scenarios
from microlab.faults import FaultPlan
from microlab.orchestration import model as m
from microlab.orchestration.execution import build

FIELDS = ("task_id", "ref", "status", "attempt", "iteration", "scheduled", "start", "end", "output")


def _attempt(run) -> tuple:
    start = run.start
    if start is None and run.status in m.TASK_TERMINAL and run.status != m.CANCELED \
            and run.step.type not in m.WORKER_TYPES:
        start = run.end   # the execution view draws a system task run inside one decision as a zero-length bar
    return (run.task_id, run.ref, run.status, run.attempt, run.iteration or None, run.scheduled,
            start, run.end, run.output or {})


def _traced(task) -> tuple:
    return tuple(getattr(task, f) if f != "output" else (task.output or {}) for f in FIELDS[:4]) + (
        task.iteration or None, task.scheduled, task.start, task.end, task.output or {})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), orders=st.integers(1, 8),
       payment=st.sampled_from([0.0, 0.3, 0.7]), shipping=st.sampled_from([0.0, 0.4]),
       retries=st.integers(0, 2), chaos=st.booleans(), crash_at=st.none() | st.floats(0.1, 1.5))
def test_orchestrator_state_agrees_with_the_trace(seed, orders, payment, shipping, retries, chaos, crash_at):
    faults = (FaultPlan.chaos(seed=seed, services=["orchestrator", "payment", "shipping"], horizon=4, rate=0.5)
              if chaos else FaultPlan())
    if crash_at is not None:   # the standby takes over from the durable log mid-run
        faults.crash("orchestrator", at=crash_at, duration=1.0)
    result = scenarios.run("order", "orchestration", orders=orders, seed=seed, retries=retries,
                           failure={"payment": payment, "shipping": shipping}, faults=faults, standby=True)
    orchestrators = [s for s in result.system.services.values() if hasattr(s, "instances") and hasattr(s, "log")]
    state = orchestrators[0].instances          # the active one's memory, or the durable log replayed
    traced = build(result.trace)
    assert len(state) >= orders and sorted(state) == sorted(traced), "instances in the state and the trace differ"
    for wf_id, inst in state.items():
        ex = traced[wf_id]
        assert (ex.name, ex.status, ex.correlation) == (inst.name, inst.status, inst.correlation), wf_id
        assert (ex.parent, ex.failure_of) == (inst.parent_id, inst.failure_of), wf_id
        assert [_traced(t) for t in ex.tasks] == [_attempt(r) for r in inst.tasks], wf_id
