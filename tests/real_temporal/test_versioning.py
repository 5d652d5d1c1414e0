"""Temporal versioning on a real dev server: ``workflow.patched`` keeps an in-flight order
on the old path while new orders take the new one; the same change without ``patched``
fails the in-flight order's replay (the run is in a child process, see
:mod:`microlab.real.temporal_versioning`)."""

from __future__ import annotations

import pytest

from microlab.real.temporal_versioning import run_order_versions


@pytest.fixture(scope="module")
def run(temporal):
    return run_order_versions(temporal.address, quiet=True)


def test_the_order_in_flight_finishes_on_version_1s_path_without_the_fraud_check(run):
    o1 = run.orders["o-1"]
    assert o1["path"] == ["reserve", "charge", "ship"] and not o1["patch_marker"] and not o1["failure"]
    ran = [(a, w) for order, a, w in run.log if order == "o-1"]
    assert ran == [("reserve", "v1"), ("charge", "v1"), ("ship", "v2")]     # shipped by the new worker


def test_a_new_order_on_version_2_takes_the_fraud_check_and_records_the_patch(run):
    o2 = run.orders["o-2"]
    assert o2["path"] == ["reserve", "charge", "fraud_check", "ship"] and o2["patch_marker"]
    assert [w for order, _, w in run.log if order == "o-2"] == ["v2"] * 4


def test_the_same_change_without_patched_fails_the_in_flight_replay_as_nondeterministic(run):
    o3 = run.orders["o-3"]
    assert "Nondeterminism" in o3["failure"] and "TimerStarted" in o3["failure"]
    assert o3["path"] == ["reserve", "charge"]                 # nothing ran after the replay failed
    assert run.seconds < 20
