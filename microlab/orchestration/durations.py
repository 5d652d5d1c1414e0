"""Durations as Conductor writes them: ``"10s"``, ``"1m 30s"``, ``"2 days"``, or seconds.

A small helper of its own so that :mod:`~microlab.orchestration.validate` (checking a
WAIT's duration) and :mod:`~microlab.orchestration.tasks` (running it) share it
without importing each other.
"""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*,?")
_UNITS = {
    "": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}


def parse_duration(value) -> float:
    """Seconds in a WAIT duration: a number, or text such as ``"10s"``, ``"1m 30s"``, ``"2 days"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _checked_seconds(float(value), value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a duration is a number of seconds or text such as '10s' or '1m 30s', got {value!r}")
    total = 0.0
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"cannot read the duration {value!r}: write it like '10s', '1m 30s' or '2 hours'")
        number, unit = match.groups()
        factor = _UNITS.get(unit.lower())
        if factor is None:
            raise ValueError(f"unknown unit {unit!r} in the duration {value!r}: use s, m, h or d")
        total += float(number) * factor
        pos = match.end()
    return _checked_seconds(total, value)


#: The longest WAIT: about 31 years of simulated time (longer ones are typing mistakes).
MAX_DURATION = 1e9


def _checked_seconds(seconds: float, given) -> float:
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"a duration must be a finite number of seconds, got {given!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {given!r}")
    if seconds > MAX_DURATION:
        raise ValueError(f"a duration of {seconds:g} s is more than {MAX_DURATION:g} s (about 31 years) of "
                         f"simulated time, got {given!r}")
    return seconds
