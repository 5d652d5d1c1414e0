"""Fixtures of the real-broker tests: one NATS JetStream server for the session.

Locally, without ``nats-server``, these tests skip with one line saying how to enable
them; under CI (``CI=true``) a missing server is a failure.
"""

import os

import pytest

from microlab.real.broker import NatsServer, nats_available
from tests.real_broker.orphans import SHARED_SERVERS, leftover_processes

ENABLE = "real-broker tests need NATS: apt-get install nats-server (and pip install nats-py)"


def require_nats():
    """Skip (locally) or fail (under CI) when NATS is not installed."""
    if not nats_available():
        if os.environ.get("CI") == "true":
            pytest.fail(ENABLE + "; under CI=true they must run")
        pytest.skip(ENABLE)


@pytest.fixture(scope="session")
def nats_server():
    """A NATS server shared by the tests; each run uses its own stream, so they do not interfere."""
    require_nats()
    with NatsServer.start() as server:
        SHARED_SERVERS.append(server)
        try:
            yield server
        finally:
            SHARED_SERVERS.remove(server)


@pytest.fixture
def nats_installed():
    """For tests that start (and kill) a server of their own."""
    require_nats()


@pytest.fixture
def no_orphans(nats_server):
    """After the test, no process of a real run may survive (the shared server excepted)."""
    yield
    assert leftover_processes(keep=nats_server.pid) == []
