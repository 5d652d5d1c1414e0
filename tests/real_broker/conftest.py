"""Fixtures of the real-broker tests: one NATS JetStream server for the session.

Locally, without ``nats-server``, these tests skip with one line saying how to enable
them; under CI a missing server is a failure (:mod:`tests.real_servers`).
"""

import pytest

from microlab.real.broker import NatsServer, nats_available
from tests.real_broker.orphans import leftover_processes, shared_server
from tests.real_servers import missing_server

ENABLE = "real-broker tests need NATS: apt-get install nats-server (and pip install nats-py)"


def require_nats(request):
    """Skip (locally) or fail (under CI) when NATS is not installed."""
    if not nats_available():
        missing_server(request, "nats", ENABLE, ENABLE + "; under CI they must run")


@pytest.fixture(scope="session")
def nats_server(request):
    """A NATS server shared by the tests; each run uses its own stream, so they do not interfere."""
    require_nats(request)
    with shared_server(NatsServer) as server:
        yield server


@pytest.fixture
def nats_installed(request):
    """For tests that start (and kill) a server of their own."""
    require_nats(request)


@pytest.fixture
def no_orphans(nats_server):
    """After the test, no process of a real run may survive (the shared server excepted)."""
    yield
    assert leftover_processes(keep=nats_server.pid) == []
