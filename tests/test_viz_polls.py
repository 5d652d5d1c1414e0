"""The sequence diagram summarises polls: a polling run draws about as many arrows as a pushed one."""

import numpy as np
import pytest

from microlab import scenarios
from microlab.orchestration.pollstats import poll_summary
from microlab.viz.polls import poll_marks
from microlab.viz.sequence import sequence_diagram


def _arrows(fig) -> int:
    # Every arrow is three points (send, delivery, NaN); marks and crash stars are not arrows.
    return sum(len(t.x) // 3 for t in fig.data if t.mode == "lines+markers")


def _marks(fig):
    return [t for t in fig.data if t.legendgroup == "polls"]


@pytest.fixture(scope="module")
def runs():
    return {d: scenarios.order_saga("orchestration", orders=30, arrival_rate=5, dispatch=d)
            for d in ("push", "poll")}


def test_a_polling_run_draws_no_more_arrows_than_push_plus_a_small_bound(runs):
    push, poll = (sequence_diagram(runs[d].trace) for d in ("push", "poll"))
    every = sequence_diagram(runs["poll"].trace, polls="all")
    polls = sum(s.polls for s in poll_summary(runs["poll"].trace).values())
    # Both runs send one task per step; polling adds an update's reply to its node at most.
    assert _arrows(poll) <= _arrows(push) + 10
    assert _arrows(every) > 1.5 * _arrows(push)
    # Unsummarised, every poll and its empty answer is an arrow: far more.
    assert _arrows(every) >= _arrows(poll) + polls
    assert not _marks(every) and not _marks(push)


def test_each_leased_task_gets_one_mark_that_counts_its_polls(runs):
    trace = runs["poll"].trace
    marks = poll_marks(trace)
    summary = poll_summary(trace)
    assert sum(mk.polls for mk in marks) == sum(s.polls for s in summary.values())
    assert sum(mk.empty for mk in marks) == sum(s.empty for s in summary.values())
    assert sum(mk.leased for mk in marks) == sum(s.leased for s in summary.values())
    (trace_marks,) = _marks(sequence_diagram(trace))
    assert len(trace_marks.x) == len(marks)
    assert "empty" in trace_marks.name and all("polled for" in t for t in trace_marks.hovertext)
    assert np.all(np.isfinite(np.asarray(trace_marks.x, dtype=float)))


def test_one_transaction_of_a_polling_run_draws_its_tasks_and_no_marks(runs):
    first = runs["poll"].correlations[0]
    poll, push = (sequence_diagram(runs[d].trace, correlation=first) for d in ("poll", "push"))
    # A transaction's tasks are leased, not pushed, but as many arrows; polls belong to no transaction.
    assert not _marks(poll) and 0 < _arrows(poll) <= _arrows(push) + 2


def test_a_bad_polls_mode_is_named():
    with pytest.raises(ValueError, match="polls is 'summary'"):
        sequence_diagram(scenarios.order_saga("orchestration", orders=1).trace, polls="none")
