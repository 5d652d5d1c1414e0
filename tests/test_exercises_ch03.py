"""Checks of notebook 03's exercises: right answers pass, typical wrong ones get the intended hint."""

from microlab.choreography import Participant
from microlab.exercises import ch03
from microlab.faults import FaultPlan


def make_shipping(event="PaymentCompleted", publishes=("OrderShipped",), name="shipping", **switches):
    def shipping_service():
        shipping = Participant(name, **switches)

        @shipping.on(event, publishes=publishes)
        def ship(e, ctx):
            ctx.effect("ship")
            if publishes:
                ctx.publish(publishes[0], e.payload)

        return shipping
    return shipping_service


def test_a_correct_shipping_service_passes_whatever_its_name():
    assert ch03.check_shipping(make_shipping()).passed
    assert ch03.check_shipping(make_shipping(name="dispatch")).passed


def test_reacting_to_the_wrong_event_is_named():
    fb = ch03.check_shipping(make_shipping(event="StockReserved"))
    assert not fb and "reacts to StockReserved" in fb.message and "PaymentCompleted" in fb.message


def test_not_publishing_order_shipped_leaves_the_order_pending():
    fb = ch03.check_shipping(make_shipping(publishes=()))
    assert not fb and "still says 'pending'" in fb.message and "OrderShipped" in fb.message


def test_an_undeclared_event_is_reported_with_the_fix():
    fb = ch03.check_shipping(make_shipping(publishes=("ParcelSent",)))
    assert not fb and "still says 'pending'" in fb.message


def test_a_non_idempotent_shipping_service_ships_twice_under_duplicates():
    fb = ch03.check_shipping(make_shipping(idempotent=False))
    assert not fb and "shipped twice" in fb.message and "idempotent=True" in fb.message


def test_passing_the_wrong_thing_is_explained():
    assert "pass the function" in ch03.check_shipping(make_shipping()()).message

    def forgets_to_return():
        Participant("shipping")

    assert "return shipping" in ch03.check_shipping(forgets_to_return).message
    # The stub the cell hands out, untouched (Run All before trying): no verdict yet.
    assert not ch03.check_shipping(lambda: None).attempted
    assert "like another service" in ch03.check_shipping(make_shipping(name="payment")).message


def test_unconsumed_events_of_the_loyalty_system():
    assert ch03.check_unconsumed("PointsAwarded").passed
    assert ch03.check_unconsumed(["PointsAwarded"]).passed
    fb = ch03.check_unconsumed("OrderShipped")
    assert not fb and "somebody does consume" in fb.message
    assert "not an event of this system" in ch03.check_unconsumed("Nope").message


def test_a_duplicate_plan_charges_twice_only_without_idempotency():
    fb = ch03.check_double_charge_plan(FaultPlan().duplicate(destination="payment", types=["StockReserved"]))
    assert fb.passed and "10 of 10" in fb.message
    # Duplicating everything payment receives works too.
    assert ch03.check_double_charge_plan(FaultPlan().duplicate(destination="payment")).passed


def test_plans_that_do_not_charge_twice_get_the_hint():
    fb = ch03.check_double_charge_plan(FaultPlan().duplicate(destination="shipping"))
    assert not fb and "StockReserved" in fb.message
    assert "plan is empty" in ch03.check_double_charge_plan(FaultPlan()).message
    assert "expected a FaultPlan" in ch03.check_double_charge_plan("duplicate").message
