"""The real Conductor server for the tests in this folder: one per test session.

Without Java 17 or the server jar these tests are skipped, and the run's report ends
with one line saying how to enable them; under CI (``CI`` set, where .ci/run fetches the
jar) a missing server fails them instead.
"""

from __future__ import annotations

import os

import pytest

from microlab.real.client import ConductorAPI
from microlab.real.conductor_server import ConductorServer, ConductorUnavailable, HOW_TO_FETCH
from tests.real_servers import missing_server


def missing_message(exc: Exception) -> str:
    """The one line a run prints when it has no real Conductor to test against."""
    first = str(exc).splitlines()[0]
    return (f"real Conductor tests NOT run: {first.rstrip(':;')}. Enable them: Java 17+ on PATH and the "
            f"server jar ({HOW_TO_FETCH.split(': ', 1)[1].split('   ')[0]})")


@pytest.fixture(scope="session")
def conductor(request):
    """A Conductor OSS server on 127.0.0.1 for the whole session, stopped at its end.

    ``MICROLAB_CONDUCTOR_URL`` names a server that is already running instead (quicker
    when working on these tests: start one once with ``python -m microlab.real.conductor_server``).
    """
    given = os.environ.get("MICROLAB_CONDUCTOR_URL")
    if given:
        yield _Running(given)
        return
    server = ConductorServer(fetch=False)
    try:
        server.start()
    except ConductorUnavailable as exc:
        line = missing_message(exc)
        missing_server(request, "conductor", line, f"{line} (CI is set: .ci/run should have fetched it)\n{exc}")
    print(f"\nConductor {server.url} healthy after {server.boot_seconds:.1f} s")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api(conductor):
    """A REST client of the session's server."""
    return ConductorAPI(conductor.url)


class _Running:
    """A server someone else started (``MICROLAB_CONDUCTOR_URL``): used, never stopped."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.boot_seconds = 0.0

    def check_alive(self) -> None:
        """Nothing to check: the process is not ours."""
