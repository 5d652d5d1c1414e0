"""Peers: point-to-point choreography without a broker; the outbox re-sends until acknowledged."""

import pytest

from microlab import System
from microlab.choreography import Peer, UndeclaredCallError
from microlab.choreography.kinds import OUTBOX_CONFIRM, OUTBOX_STORE
from microlab.system import HandlerFailureWarning


def pair(outbox=True, idempotent=True):
    shop = Peer("shop", outbox=outbox, idempotent=idempotent, retry_after=0.5)
    bank = Peer("bank", outbox=outbox, idempotent=idempotent)

    @shop.on("Buy", calls=(("bank", "Sold"),))
    def buy(msg, ctx):
        ctx.call("bank", "Sold", {"amount": msg.payload["amount"]})

    @bank.on("Sold")
    def sold(msg, ctx):
        ctx.effect("charge", amount=msg.payload["amount"])

    system = System(seed=1, latency=0.01)
    system.add(shop, bank)
    return system, shop, bank


def test_a_call_goes_straight_to_the_callee_and_is_acknowledged():
    system, shop, bank = pair()
    system.inject("shop", "Buy", {"amount": 3}, correlation="o1")
    system.run()
    sent = [(m.source, m.destination, m.type) for m in system.trace.messages().values()]
    assert sent == [("client", "shop", "Buy"), ("shop", "bank", "Sold"), ("bank", "shop", "Ack:Sold")]
    kinds = [r.kind for r in system.trace.rows()]
    assert OUTBOX_STORE in kinds and OUTBOX_CONFIRM in kinds
    assert len(shop.outbox_table) == 0


def test_the_outbox_resends_the_same_call_until_the_callee_is_back():
    system, shop, bank = pair()
    system.crash("bank", at=0.0, duration=1.2)
    system.inject("shop", "Buy", {"amount": 3}, correlation="o1", at=0.1)
    system.run()
    charges = [r for r in system.trace.rows() if r.kind == "effect"]
    assert len(charges) == 1
    # One call, sent several times (same id), so that the callee can recognise repeats.
    calls = {m.id for m in system.trace.messages().values() if m.type == "Sold"}
    assert len(calls) == 1 and shop.outbox_table.confirmed == 1


def test_without_the_outbox_a_call_to_a_down_callee_is_gone():
    system, shop, bank = pair(outbox=False)
    system.crash("bank", at=0.0, duration=1.2)
    system.inject("shop", "Buy", {"amount": 3}, correlation="o1", at=0.1)
    system.run()
    assert not [r for r in system.trace.rows() if r.kind == "effect"]


def test_an_undeclared_call_is_a_teaching_error_and_describe_lists_the_calls():
    shop = Peer("shop")

    @shop.on("Buy", calls=(("bank", "Sold"),))
    def buy(msg, ctx):
        ctx.call("bank", "Sould", {})

    system = System(seed=1)
    system.add(shop, Peer("bank"))
    system.inject("shop", "Buy", {}, correlation="o1")
    with pytest.warns(HandlerFailureWarning):
        system.run()
    [failure] = system.failures
    assert failure.error.startswith(UndeclaredCallError.__name__)
    assert "Did you mean 'bank:Sold'" in str(failure.error)
    assert shop.describe()["calls"] == ["bank:Sold"]
    with pytest.raises(TypeError, match="outbox switch is True or False"):
        Peer("x", outbox="yes")
