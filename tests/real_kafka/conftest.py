"""Fixtures of the Kafka tests: one KRaft broker for the session (each run has its own topics).

Locally, without the broker's jars (or Java, or confluent-kafka), these tests skip with
one line saying how to enable them; under CI that is a failure (:mod:`tests.real_servers`).
"""

import pytest

from microlab.real.kafka_server import KafkaServer, kafka_available
from tests.real_broker.orphans import leftover_processes, shared_server
from tests.real_servers import missing_server

ENABLE = "Kafka tests need the broker's jars: make kafka-jars (Maven, Java 17+, pip install confluent-kafka)"


@pytest.fixture(scope="session")
def kafka_server(request):
    """A Kafka broker shared by the tests of the session."""
    if not kafka_available():
        missing_server(request, "kafka", ENABLE, ENABLE + "; under CI they must run")
    with shared_server(KafkaServer) as server:
        yield server


@pytest.fixture
def no_orphans(kafka_server):
    """After the test, no process of a real run may survive (the shared broker excepted)."""
    yield
    assert leftover_processes(keep=kafka_server.pid) == []
