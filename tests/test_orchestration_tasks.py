"""System tasks' computations: WAIT durations, case values."""

import pytest

from microlab.orchestration.tasks import case_text, parse_duration


@pytest.mark.parametrize("text, seconds", [
    (5, 5.0), (0.25, 0.25), ("10s", 10), ("1m 30s", 90), ("2 hours", 7200), ("1d", 86400),
    ("1.5 minutes", 90), ("3", 3),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "10 parsecs", "", -1, None])
def test_bad_durations_explain_the_format(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_case_values_read_as_java_would_print_them():
    assert [case_text(v) for v in (True, None, 3, 2.5, "x")] == ["true", "null", "3", "2.5", "x"]
