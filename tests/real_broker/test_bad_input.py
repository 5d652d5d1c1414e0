"""Bad input on the real broker: each a clear error naming what is at fault, nothing left running."""

import pytest

from microlab.errors import UnknownServiceError
from microlab.real.broker import (BrokerUnreachable, ProcessDiedOnStart, RealPlan, RunDidNotSettle,
                                  SubjectNameError, run_choreography)
from microlab.real.ports import free_port


def test_an_unreachable_broker_says_where_and_how_to_start_one(no_orphans):
    url = f"nats://127.0.0.1:{free_port()}"
    with pytest.raises(BrokerUnreachable) as err:
        run_choreography("order", orders=1, broker=url)
    assert url in str(err.value) and "nats-server -js" in str(err.value)


def test_a_process_that_dies_on_start_is_named_with_its_error(nats_server, no_orphans):
    with pytest.raises(ProcessDiedOnStart) as err:
        run_choreography("tests.real_broker.flows_for_tests:dies_in_payment", orders=1, broker=nats_server)
    text = str(err.value)
    assert "payment process exited" in text and "cannot open its card vault" in text


def test_a_subject_name_nats_rejects_is_refused_before_anything_starts(nats_server, no_orphans):
    with pytest.raises(SubjectNameError) as err:
        run_choreography("tests.real_broker.flows_for_tests:spaced_event", orders=1, broker=nats_server)
    assert "'Order Placed'" in str(err.value) and "audit" in str(err.value)


def test_a_run_that_never_settles_stops_in_time_naming_what_it_waited_for(nats_server, no_orphans):
    storm = RealPlan().withhold_acks("payment", count=10_000)
    with pytest.raises(RunDidNotSettle) as err:
        run_choreography("order", orders=1, broker=nats_server, faults=storm, ack_wait=0.2, max_deliver=1000,
                         timeout=3)
    text = str(err.value)
    assert "within 3 s" in text and "consumer payment_StockReserved" in text and "awaiting an ack" in text


def test_a_fault_plan_naming_an_unknown_service_is_refused(nats_server, no_orphans):
    with pytest.raises(UnknownServiceError, match="paymnet.*did you mean 'payment'"):
        run_choreography("order", orders=1, broker=nats_server, faults=RealPlan().kill("paymnet", at=0.1))


def test_a_service_killed_for_good_never_settles(nats_server, no_orphans):
    plan = RealPlan().kill("shipping", at=0.0, restart_after=None)
    with pytest.raises(RunDidNotSettle, match="shipping to be up again"):
        run_choreography("order", orders=1, broker=nats_server, faults=plan, timeout=3)


def test_an_unknown_backend_names_the_two_there_are(no_orphans):
    with pytest.raises(Exception, match="choose 'nats' .* or 'kafka'"):
        run_choreography("order", backend="rabbitmq")
