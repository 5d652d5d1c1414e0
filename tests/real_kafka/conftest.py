"""Fixtures of the Kafka tests: one KRaft broker for the session (each run has its own topics).

Locally, without the broker's jars (or Java, or confluent-kafka), these tests skip with
one line saying how to enable them; under CI (``CI=true``) that is a failure.
"""

import os

import pytest

from microlab.real.kafka_server import KafkaServer, kafka_available
from tests.real_broker.orphans import SHARED_SERVERS, leftover_processes

ENABLE = "Kafka tests need the broker's jars: make kafka-jars (Maven, Java 17+, pip install confluent-kafka)"


@pytest.fixture(scope="session")
def kafka_server():
    """A Kafka broker shared by the tests of the session."""
    if not kafka_available():
        if os.environ.get("CI") == "true":
            pytest.fail(ENABLE + "; under CI=true they must run")
        pytest.skip(ENABLE)
    with KafkaServer.start() as server:
        SHARED_SERVERS.append(server)
        try:
            yield server
        finally:
            SHARED_SERVERS.remove(server)


@pytest.fixture
def no_orphans(kafka_server):
    """After the test, no process of a real run may survive (the shared broker excepted)."""
    yield
    assert leftover_processes(keep=kafka_server.pid) == []
