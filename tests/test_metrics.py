"""Metrics read from the trace."""

import math

import pytest

from microlab.analysis import down_spans, queue_series

from microlab import Constant, Service, System
from microlab import metrics


class Step(Service):
    def __init__(self, name, nxt=None, **kw):
        super().__init__(name, **kw)
        self.nxt = nxt

    def on_Go(self, msg):
        if self.nxt:
            self.send(self.nxt, "Go")
        else:
            self.effect("complete")


def chain(orders=3, work=0.0, gap=1.0):
    system = System(latency=Constant(0.5))
    system.add(Step("a", "b", work_time=work or None), Step("b", "c"), Step("c"))
    for i in range(orders):
        system.inject("a", "Go", correlation=f"o{i}", at=i * gap)
    system.run()
    return system


def test_latency_hops_and_messages_per_transaction():
    system = chain()
    assert metrics.latencies(system.trace) == [1.5, 1.5, 1.5]
    assert metrics.hops_per_transaction(system.trace) == {"o0": 3, "o1": 3, "o2": 3}
    assert metrics.messages_per_transaction(system.trace)["o1"] == 3
    p = metrics.percentiles([1, 2, 3, 4])
    assert p["p50"] == 2 and p["p95"] == 4 and p["mean"] == 2.5


def test_throughput_bins():
    system = chain(orders=4, gap=0.5)
    # ends at 1.5, 2.0, 2.5 and 3.0
    assert metrics.throughput(system.trace, bin_width=1.0) == [(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 1.0)]
    with pytest.raises(ValueError):
        metrics.throughput(system.trace, bin_width=0)


def test_queue_and_utilization_show_a_saturated_service():
    system = chain(orders=4, work=Constant(2.0), gap=0.0)
    queue = queue_series(system.trace, ["a"])["a"]   # the analysis layer's, as figures draw it
    assert max(queue.queue) == 3
    util = metrics.utilization(system.trace, {"a": 1, "b": 1}, horizon=8.5)
    assert util["a"] == pytest.approx(8 / 8.5) and util["b"] == 0


def test_availability_downtime_and_recovery():
    system = chain(orders=6, gap=1.0)
    system2 = System(latency=Constant(0.5))
    system2.add(Step("a", "b"), Step("b", "c"), Step("c"))
    for i in range(6):
        system2.inject("a", "Go", correlation=f"o{i}", at=i)
    system2.crash("b", at=1.9, duration=2.0)
    system2.run()
    assert metrics.availability(system.trace, 0, 6, within=2.0) == 1.0
    assert metrics.availability(system2.trace, 0, 6, within=2.0) == pytest.approx(4 / 6)  # orders 1 and 2 reach b while it is down
    assert [(a, b) for s, a, b, _ in down_spans(system2.trace, until=10) if s == "b"] == [(1.9, 3.9)]
    assert metrics.recovery_time(system2.trace, 1.9) == pytest.approx(4.5 - 1.9)
    assert math.isnan(metrics.availability(system.trace, 50, 60, within=1))


def test_a_run_result_keeps_the_spans_that_its_trace_gives_afresh():
    # RunResult.spans come from the grouping its checks share; availability and
    # recovery_time read them when given the result: both must equal the trace's own.
    from microlab import scenarios
    from microlab.analysis import by_transaction

    from microlab.faults import FaultPlan

    result = scenarios.order_saga("orchestration", orders=30, seed=3, standby=True,
                                  faults=FaultPlan().crash("orchestrator", at=1.0))
    fresh = metrics.spans(result.trace)
    assert result.checks.outcomes    # the checks first, as a notebook prints them: the grouping is shared
    assert result.spans == fresh and list(result.spans) == list(fresh)
    assert metrics.spans(result.trace, groups=by_transaction(result.trace)) == fresh
    for window in ((0, 2), (1, 5), (0, 100)):
        assert metrics.availability(result, *window, within=1.0) == pytest.approx(
            metrics.availability(result.trace, *window, within=1.0), nan_ok=True)
    for served_after in (False, True):
        assert (metrics.recovery_time(result, 1.0, served_after=served_after)
                == metrics.recovery_time(result.trace, 1.0, served_after=served_after))


@pytest.mark.parametrize("first", ["checks", "spans"])
def test_a_run_result_lets_go_of_its_grouping_once_checks_and_spans_are_kept(first):
    # The grouping holds a second reference to every record: kept only while one of the
    # two that share it is still to come, whichever is asked first.
    from microlab import scenarios
    from microlab.checks import check_saga

    result = scenarios.order_saga("choreography", orders=10, seed=2)
    then = "spans" if first == "checks" else "checks"
    getattr(result, first)
    assert "_grouped" in vars(result)
    getattr(result, then)
    assert "_grouped" not in vars(result)
    assert result.spans == metrics.spans(result.trace)
    alone = check_saga(result.trace, result.flow.saga_spec(), result.correlations,
                       conservation=result.system.conservation())
    assert result.checks.outcomes == alone.outcomes and result.checks.violations == alone.violations
