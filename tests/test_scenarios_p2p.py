"""Point-to-point choreography: no broker, so retries and idempotency belong to each caller.

Each test turns one protection on or off and reads the consequence in the checker:
a callee that is down loses the calls nobody re-sends; a caller that re-sends after a
lost acknowledgement applies an effect twice at a callee that does not recognise repeats.
"""

from microlab import scenarios
from microlab.choreography import Peer
from microlab.choreography.kinds import DUPLICATE_IGNORED, OUTBOX_RELAY
from microlab.faults import FaultPlan

P2P = "choreography-p2p"
DOWN = FaultPlan().crash("payment", at=1.0, duration=1.5)


def test_there_is_no_broker_and_every_step_is_one_hop():
    result = scenarios.order_saga(P2P, orders=10, seed=1)
    assert "broker" not in result.system.services
    assert all(isinstance(s, Peer) for name, s in result.system.services.items() if name != "client")
    assert result.checks.ok and result.checks.counts()["completed"] == 10
    # Each business message goes straight from service to service, and is acknowledged.
    msgs = [m for m in result.trace.messages().values() if m.correlation == "order-1"]
    business = [(m.source, m.destination, m.type) for m in msgs if not m.type.startswith("Ack:")]
    assert business[1:] == [("order", "inventory", "OrderPlaced"), ("inventory", "payment", "StockReserved"),
                            ("payment", "shipping", "PaymentCompleted"), ("shipping", "order", "OrderShipped"),
                            ("order", "notification", "OrderCompleted")]
    assert sum(m.type.startswith("Ack:") for m in msgs) == 5


def test_a_caller_that_resends_rides_out_a_callee_outage():
    result = scenarios.order_saga(P2P, orders=20, seed=2, faults=DOWN)
    assert result.checks.ok, result.checks.verdict()
    assert result.checks.counts()["completed"] == 20
    resent = [r for r in result.trace.rows() if r.kind == OUTBOX_RELAY and r.service == "inventory"
              and r.detail["attempt"] > 1]
    assert resent, "inventory should have re-sent the calls payment missed"


def test_a_caller_that_sends_once_loses_the_calls_of_a_callee_outage():
    result = scenarios.order_saga(P2P, orders=20, seed=2, faults=DOWN, outbox=False)
    stuck = result.checks.by_check()["stuck"]
    assert stuck and result.checks.counts()["stuck"] == len(stuck)
    # The checker names the call that nobody re-sent, and why it was lost.
    assert any("from inventory to payment (dropped: payment is down)" in v.explanation for v in stuck), \
        stuck[0].explanation
    assert not result.checks.by_check().get("effect applied twice")


def test_a_resent_call_after_a_lost_ack_charges_twice_unless_the_callee_is_idempotent():
    lost_acks = FaultPlan().drop(destination="inventory", types=["Ack:StockReserved"], end=1.0)
    safe = scenarios.order_saga(P2P, orders=20, seed=3, faults=lost_acks)
    unsafe = scenarios.order_saga(P2P, orders=20, seed=3, faults=lost_acks, idempotent=False)
    assert safe.checks.ok, safe.checks.verdict()
    ignored = [r for r in safe.trace.rows() if r.kind == DUPLICATE_IGNORED and r.service == "payment"]
    assert ignored
    doubles = unsafe.checks.by_check()["effect applied twice"]
    charged = {v.correlation for v in doubles if "'charge' at payment" in v.explanation}
    # Exactly the transactions whose acknowledgement was lost were charged again.
    assert charged == {r.correlation for r in ignored}


def test_without_compensation_calls_a_failed_order_keeps_its_stock():
    result = scenarios.order_saga(P2P, orders=20, seed=4, failure={"payment": 0.5}, retries=0,
                                  compensation=False)
    assert {v.check for v in result.checks.violations} == {"not atomic"}
    with_undo = scenarios.order_saga(P2P, orders=20, seed=4, failure={"payment": 0.5}, retries=0)
    assert with_undo.checks.ok and with_undo.checks.counts()["compensated"] > 0


def test_p2p_appears_in_sweeps():
    rows = scenarios.sweep("order", rates=[5, 60], orders=60, patterns=[P2P, "choreography"])
    at = {(r["pattern"], r["rate"]): r for r in rows}
    # No broker: its busiest component is a service, and it is the faster at either load.
    assert at[(P2P, 60)]["busiest"] != "broker"
    assert at[(P2P, 5)]["p50"] < at[("choreography", 5)]["p50"]
