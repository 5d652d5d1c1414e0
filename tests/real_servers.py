"""What a real-server fixture does when its server is missing: skip with one line, or fail under CI.

Locally, a test folder whose server (Conductor, Temporal, NATS, Kafka) cannot start is
skipped, and the run's report ends with the one line that says how to enable it. Under
CI (``CI`` set, where ``.ci/run`` installs every server) a missing server is a failure.
"""

from __future__ import annotations

import os

import pytest


def under_ci() -> bool:
    """Whether this is a CI run (where a missing server is a failure, not a skip)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


class MissingServerNote:
    """Ends the run's report with the one line that says how to enable a folder's tests."""

    def __init__(self, line: str):
        self.line = line

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(self.line, yellow=True, bold=True)


def missing_server(request, name: str, line: str, failure: str) -> None:
    """Fail with ``failure`` under CI; otherwise skip with ``line``, said once at the report's end."""
    if under_ci():
        pytest.fail(failure, pytrace=False)
    plugin = f"microlab-missing-{name}"
    if not request.config.pluginmanager.has_plugin(plugin):
        request.config.pluginmanager.register(MissingServerNote(line), plugin)
    pytest.skip(line)
