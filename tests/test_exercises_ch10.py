"""Exercise checks of notebook 10: right answers pass, typical wrong ones get the intended hint."""

from microlab.exercises import ch10, feedback
from microlab.observe import traceparent


def parent(spans, span):
    return next((s for s in spans if s.span_id == span.parent_id), None)


def progress(view, c):
    heard = [t for _, t, _ in view.history.get(c, [])]
    if any(t in ("OrderCompleted", "OrderRejected") for t in heard):
        return 1.0
    return len(set(heard) & set(ch10.HAPPY_PATH)) / len(ch10.HAPPY_PATH)


def test_right_answers_pass():
    assert ch10.check_traceparent(traceparent).passed
    assert ch10.check_cause(parent).passed
    assert ch10.check_progress(progress).passed


def test_hints_nudge_before_they_reveal():
    feedback._TRIES.clear()
    swapped = lambda s: f"00-{s.span_id}-{s.trace_id}-01"
    first = ch10.check_traceparent(swapped).message
    assert "not in the W3C order" in first and "{span.trace_id}" not in first
    ch10.check_traceparent(swapped)
    assert "f'00-{span.trace_id}-{span.span_id}-01'" in ch10.check_traceparent(swapped).message
    assert "four, joined by '-'" in ch10.check_traceparent(lambda s: s.trace_id).message
    assert "which two ids" in ch10.check_traceparent(lambda s: "00-1-2-01").message


def test_cause_and_progress_hints():
    def no_cause_found(spans, span):
        found = [s for s in spans if s.span_id == span.span_id and s is not span]
        return found[0] if found else None

    assert "it has a parent" in ch10.check_cause(no_cause_found).message
    assert not ch10.check_cause(lambda spans, span: None).attempted   # the stub, untouched
    assert "a root has no cause" in ch10.check_cause(lambda spans, s: spans[0]).message
    assert "found by id" in ch10.check_cause(lambda spans, s: spans[-1] if s.parent_id else None).message
    wrong = ch10.check_progress(lambda view, c: 0.5).message
    assert "the view has heard" in wrong
    assert "a number between 0 and 1" in ch10.check_progress(lambda view, c: "half").message
