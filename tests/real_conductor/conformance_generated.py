"""The generated half of the differential suite (``make conformance``; not part of
``make test``, where it would add about five minutes): 320 hypothesis-drawn cases,
derandomized, run at once on one real server and in the simulator."""

from __future__ import annotations

from microlab.real.conformance import agreement, report

from .corpus import generated_cases
from .test_conformance import explained, run_and_report

GENERATED = 320


def test_the_generated_corpus_is_large_and_covers_every_feature():
    cases = generated_cases(GENERATED)
    assert len(cases) >= 300
    features = {f for c in cases for f in c.features}
    for needed in ("SIMPLE outputs", "wiring workflow.input", "wiring task output", "wiring nested path",
                   "wiring workflow.variables", "optional", "retry FIXED", "retry LINEAR_BACKOFF",
                   "retry EXPONENTIAL_BACKOFF", "SWITCH value-param", "SWITCH javascript", "SWITCH default",
                   "SWITCH no default", "DECISION", "FORK_JOIN", "FORK_JOIN nested", "DO_WHILE", "SUB_WORKFLOW",
                   "TERMINATE", "SET_VARIABLE", "INLINE", "JSON_JQ_TRANSFORM", "failure workflow"):
        assert needed in features, needed


def test_at_least_95_percent_of_the_generated_corpus_agrees(api):
    generated = run_and_report(api, generated_cases(GENERATED), "generated corpus")
    agree, total = agreement(generated)["all"]
    assert total >= 300 and agree / total >= 0.95, report(generated)
    unexplained = [f"{o.case.name}: {line}" for o in generated
                   for line in ([o.error] if o.error else []) + o.differences if explained(line) is None]
    assert not unexplained, "\n".join(unexplained[:40])
