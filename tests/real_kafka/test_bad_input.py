"""Bad input on Kafka: each a clear error naming what is at fault, and no process left running.

The unreachable broker and the topic name Kafka rejects are in test_kafka.py; these are
the two that need a running broker and processes to clean up after.
"""

import pytest

from microlab.real.broker import ProcessDiedOnStart, RealPlan, RunDidNotSettle, run_choreography
from tests.real_broker.orphans import alive


def test_a_process_that_dies_on_start_is_named_with_its_error(kafka_server, no_orphans):
    with pytest.raises(ProcessDiedOnStart) as err:
        run_choreography("tests.real_broker.flows_for_tests:dies_in_payment", orders=1, backend="kafka",
                         broker=kafka_server)
    text = str(err.value)
    assert "payment process exited" in text and "cannot open its card vault" in text
    assert alive(kafka_server.pid)  # the shared broker is not the run's to stop


def test_a_run_that_never_settles_stops_in_time_naming_what_it_waited_for(kafka_server, no_orphans):
    storm = RealPlan().withhold_acks("payment", count=10_000)
    with pytest.raises(RunDidNotSettle) as err:
        run_choreography("order", orders=1, backend="kafka", broker=kafka_server, faults=storm, ack_wait=0.2,
                         max_deliver=1000, timeout=3)
    text = str(err.value)
    assert "within 3 s" in text and "consumer group payment_StockReserved (1 not committed)" in text


def test_a_service_killed_for_good_never_settles(kafka_server, no_orphans):
    plan = RealPlan().kill("shipping", at=0.0, restart_after=None)
    with pytest.raises(RunDidNotSettle, match="shipping to be up again"):
        run_choreography("order", orders=1, backend="kafka", broker=kafka_server, faults=plan, timeout=3)


def test_a_cluster_id_that_begins_with_a_dash_still_formats(monkeypatch, kafka_server):
    # URL-safe base64 ids begin with '-' one time in 32; the storage tool once read it as an option.
    from microlab.real import kafka_server as module

    monkeypatch.setattr(module, "_cluster_id", lambda: "-" + "A" * 21)
    server = module.KafkaServer()
    try:
        server._format()
        assert server._formatted
    finally:
        server.stop()
