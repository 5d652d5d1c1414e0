"""The supervisor holds no Kafka client: its questions go to a probe process, whose crash is an error.

librdkafka 2.16.0 can abort the process that holds an admin client when a request
times out (see microlab.real.kafka_probe); these tests check that such a crash ends
one call with a clear error and never the process that asked.
"""

import os
import signal
import sys
import time

import pytest

from microlab.real.broker import RealPlan, run_choreography
from microlab.real.kafka_server import KafkaProbeDied


def _crash_probe(server, sig=signal.SIGSEGV):
    probe = server.probe()
    os.kill(probe.process.pid, sig)
    deadline = time.monotonic() + 10
    while probe.alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return probe.process.pid


def test_the_test_process_holds_no_kafka_client(kafka_server, no_orphans):
    run = run_choreography("order", orders=1, backend="kafka", broker=kafka_server, timeout=90)
    assert run.checks.ok, run.checks.verdict()
    assert "confluent_kafka" not in sys.modules  # only the probe and the services import it
    assert kafka_server.probe().alive() and kafka_server.probe().process.pid != os.getpid()


def test_a_crash_of_the_probe_is_a_clear_error_and_the_next_call_gets_a_new_probe(kafka_server):
    pid = _crash_probe(kafka_server)
    with pytest.raises(KafkaProbeDied) as err:
        kafka_server.lags({})
    assert f"probe process {pid}" in str(err.value) and "SIGSEGV" in str(err.value)
    assert "Fatal Python error: Segmentation fault" in str(err.value)  # faulthandler's stacks, quoted
    assert kafka_server.lags({}) == {}  # a new probe answers
    assert kafka_server.probe().process.pid != pid


def test_a_run_whose_probe_crashes_fails_naming_it_and_leaves_no_process(kafka_server, no_orphans):
    # The probe dies while the run waits for its consumer groups (withheld acks keep it busy).
    plan = RealPlan().withhold_acks("payment", count=3)
    kafka_server.lags({})  # the probe is up before the run starts
    import threading

    timer = threading.Timer(2.0, _crash_probe, args=(kafka_server, signal.SIGABRT))
    timer.start()
    try:
        with pytest.raises(KafkaProbeDied, match="SIGABRT"):
            run_choreography("order", orders=2, backend="kafka", broker=kafka_server, faults=plan, ack_wait=2.0,
                             timeout=60)
    finally:
        timer.cancel()
    assert kafka_server.pid is not None  # the broker is untouched


def test_the_probe_says_when_no_broker_answers_and_refuses_an_unknown_request(kafka_server, tmp_path):
    from microlab.real.kafka_server import KafkaProbe, KafkaUnanswered
    from microlab.real.ports import free_port

    url = f"127.0.0.1:{free_port()}"
    probe = KafkaProbe(url, str(tmp_path / "probe.stderr"))
    try:
        with pytest.raises(KafkaUnanswered, match="did not answer 'answers'"):
            probe.ask("answers", timeout=30)
        with pytest.raises(KafkaUnanswered, match="unknown op 'drop_everything'"):
            probe.ask("drop_everything", timeout=30)
        assert probe.alive()  # neither is a crash
    finally:
        probe.stop()
    assert not probe.alive()


def test_a_probe_started_by_a_thread_outlives_that_thread(kafka_server):
    # Runs start probes from worker threads (seeded runs in a pool); PR_SET_PDEATHSIG would
    # kill such a probe when its thread ends, so the probe goes by its stdin instead.
    import threading

    _crash_probe(kafka_server)
    started = []

    def replace():
        with pytest.raises(KafkaProbeDied):
            kafka_server.lags({})
        started.append(kafka_server.lags({}) == {} and kafka_server.probe().process.pid)

    worker = threading.Thread(target=replace)
    worker.start()
    worker.join()
    time.sleep(0.5)
    assert started and started[0] and kafka_server.probe().process.pid == started[0]
    assert kafka_server.lags({}) == {}
