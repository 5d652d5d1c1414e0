"""The generated half of the differential suite (in ``make test`` under CI, and in
``make conformance``): 320 distinct hypothesis-drawn cases, derandomized (the same ones
every run), run at once on the session's real server (one set of polling workers,
60 workflows at a time) and each in the simulator. About a minute on 2 cores.

At least 95% must agree; every case that does not is named in the report, with its
differences (``build/conformance.txt``).
"""

from __future__ import annotations

import pytest

from microlab.real.conformance import agreement, report

from .corpus import generated_cases
from .test_conformance import run_and_report

GENERATED = 320
#: Every feature issue 13 names, as the generator tags its cases.
FEATURES = ("SIMPLE outputs", "wiring workflow.input", "wiring task output", "wiring nested path",
            "wiring workflow.variables", "optional", "retry FIXED", "retry LINEAR_BACKOFF",
            "retry EXPONENTIAL_BACKOFF", "SWITCH value-param", "SWITCH javascript", "SWITCH default",
            "SWITCH no default", "DECISION", "FORK_JOIN", "FORK_JOIN nested", "DO_WHILE", "SUB_WORKFLOW",
            "TERMINATE", "SET_VARIABLE", "INLINE", "JSON_JQ_TRANSFORM", "failure workflow")


def test_the_generated_corpus_is_large_distinct_and_covers_every_feature():
    cases = generated_cases(GENERATED)
    assert len(cases) == GENERATED >= 300
    assert len({repr((c.workflows, c.input, c.outputs, c.fails)) for c in cases}) == len(cases)
    features = {f for c in cases for f in c.features}
    missing = [f for f in FEATURES if f not in features]
    assert not missing, missing


@pytest.fixture(scope="module")
def generated(api):
    return run_and_report(api, generated_cases(GENERATED), "generated corpus")


def test_at_least_95_percent_of_the_generated_corpus_agrees(generated):
    agree, total = agreement(generated)["all"]
    assert total >= 300 and agree / total >= 0.95, report(generated, "generated corpus")


def test_every_feature_is_run_on_the_server(generated):
    table = agreement(generated)
    assert all(table.get(f, (0, 0))[1] > 0 for f in FEATURES), sorted(table)


def test_every_remaining_difference_is_named_in_the_report(generated):
    text = report(generated, "generated corpus")
    for out in generated:
        if not out.agrees:
            assert out.case.name in text
            for line in ([out.error] if out.error else []) + out.differences:
                assert line in text
