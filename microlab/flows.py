"""Business flows as plain data: one description, from which both patterns are built.

A :class:`BusinessFlow` is what the business wants, independent of how services
collaborate: an owner service starts a transaction, a sequence of steps each applies
an effect at one service (and knows how to undo it), and the owner concludes the
transaction as completed or rejected. The scenarios turn the same flow into an
orchestrated saga (a workflow definition and task workers) or a choreography (services
reacting to each other's events), so that the two patterns can be compared on exactly
the same business.

The names of a step are the vocabulary of both patterns: the effect ``charge`` is the
SIMPLE task ``charge`` in the workflow and the reaction that publishes
``PaymentCompleted`` (or ``PaymentFailed``) in the choreography.

:data:`ORDER` is the one source of the course's order saga. What runs it is built from
it (:mod:`microlab.scenarios`: every pattern, the labs, the gallery). The hand-written
copies that teach one idea each say in their docstring how they differ and why, and a
test holds them to this flow's services, effects and events:

- :mod:`microlab.choreography.examples` (chapter 03): the choreography written out by
  hand, without ``ShippingFailed`` and its refund;
- :mod:`microlab.orchestration.toys` with ``microlab/data/workflows/order_fulfillment.json``
  (chapters 02 and 08): the same three steps in Conductor's task names, with the
  JSON's own retry policies;
- :mod:`microlab.exercises.ch01` (before the engines are taught) and
  ``benchmarks/models_microlab.py`` (line for line the SimPy model's saga) stay
  separate on purpose, and say why where they live.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .checks import SagaSpec, Step


@dataclass(frozen=True)
class FlowStep:
    """One step: ``service`` applies ``effect`` and can undo it with ``compensation``.

    ``done`` and ``failed`` are the events the step publishes under choreography;
    ``undone`` is published after its compensation ran.
    """

    service: str
    effect: str
    compensation: str | None
    done: str
    failed: str
    undone: str | None = None

    def __post_init__(self):
        if self.compensation and not self.undone:
            raise ValueError(f"step {self.effect!r} has a compensation, so it needs an 'undone' event name")


@dataclass(frozen=True)
class BusinessFlow:
    """A saga: the owner starts it, the steps run in order, the owner concludes it.

    ``listeners`` are services that only need to hear about the outcome (a
    notification service): they receive ``completed``/``rejected`` under choreography
    and a final task under orchestration.
    """

    name: str
    owner: str
    request: str            # the command a client sends the owner (e.g. PlaceOrder)
    started: str            # the event the owner publishes to start (e.g. OrderPlaced)
    completed: str          # the event the owner publishes when done (e.g. OrderCompleted)
    rejected: str           # ... or when it gave up (e.g. OrderRejected)
    steps: tuple[FlowStep, ...]
    listeners: tuple[str, ...] = field(default_factory=tuple)
    payload: tuple = field(default_factory=tuple)  # (key, value) pairs every transaction carries

    def __post_init__(self):
        names = [s.service for s in self.steps] + [self.owner] + list(self.listeners)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"flow {self.name!r}: each service may appear once, repeated: {dupes}")

    @property
    def workflow(self) -> str:
        """The name of the workflow the orchestrated pattern generates from this flow
        (``order_workflow``): not ``order_fulfillment``, the hand-written Conductor file's."""
        return f"{self.name}_workflow"

    @property
    def services(self) -> list[str]:
        """Every service of the flow, owner first."""
        return [self.owner] + [s.service for s in self.steps] + list(self.listeners)

    def saga_spec(self) -> SagaSpec:
        """The consistency rules of this flow, for :func:`microlab.checks.check_saga`."""
        return SagaSpec(self.name, tuple(Step(s.service, s.effect, s.compensation) for s in self.steps))

    def step(self, service: str) -> FlowStep:
        """The step performed by ``service``."""
        for s in self.steps:
            if s.service == service:
                return s
        raise KeyError(f"flow {self.name!r} has no step at service {service!r}; "
                       f"its steps are at {', '.join(s.service for s in self.steps)}")

    def insert(self, new: FlowStep, after: str) -> "BusinessFlow":
        """A copy of the flow with ``new`` inserted after the step at service ``after``."""
        index = [s.service for s in self.steps].index(self.step(after).service) + 1
        return replace(self, steps=self.steps[:index] + (new,) + self.steps[index:])

    def with_listener(self, service: str) -> "BusinessFlow":
        """A copy of the flow with one more pure listener."""
        return replace(self, listeners=self.listeners + (service,))


ORDER = BusinessFlow(
    name="order",
    owner="order",
    request="PlaceOrder",
    started="OrderPlaced",
    completed="OrderCompleted",
    rejected="OrderRejected",
    steps=(
        FlowStep("inventory", "reserve", "release", "StockReserved", "StockRejected", "StockReleased"),
        FlowStep("payment", "charge", "refund", "PaymentCompleted", "PaymentFailed", "PaymentRefunded"),
        FlowStep("shipping", "ship", "cancel_shipment", "OrderShipped", "ShippingFailed", "ShipmentCancelled"),
    ),
    listeners=("notification",),
    payload=(("amount", 30), ("item", "book")),
)

#: The fraud check the change lab inserts between payment and shipping.
FRAUD_CHECK = FlowStep("fraud", "screen", None, "FraudCleared", "FraudSuspected")

TRAVEL = BusinessFlow(
    name="trip",
    owner="trip",
    request="RequestTrip",
    started="TripRequested",
    completed="TripBooked",
    rejected="TripCancelled",
    steps=(
        FlowStep("flight", "book_flight", "cancel_flight", "FlightBooked", "FlightUnavailable", "FlightCancelled"),
        FlowStep("hotel", "book_hotel", "cancel_hotel", "HotelBooked", "HotelUnavailable", "HotelCancelled"),
        FlowStep("car", "rent_car", "return_car", "CarRented", "CarUnavailable", "CarReturned"),
    ),
    listeners=("itinerary",),
    payload=(("city", "Lisbon"), ("nights", 3)),
)

CONTENT = BusinessFlow(
    name="title",
    owner="studio",
    request="DeliverTitle",
    started="TitleDelivered",
    completed="TitleLive",
    rejected="TitleWithdrawn",
    steps=(
        FlowStep("ingest", "ingest", "purge_source", "SourceIngested", "IngestFailed", "SourcePurged"),
        FlowStep("encode", "encode", "delete_encodes", "TitleEncoded", "EncodeFailed", "EncodesDeleted"),
        FlowStep("cdn", "publish", "unpublish", "TitlePublished", "PublishFailed", "TitleUnpublished"),
    ),
    listeners=("catalog",),
    payload=(("title", "Stranger Things S5E1"), ("bitrates", 6)),
)

FLOWS = {"order": ORDER, "travel": TRAVEL, "content": CONTENT}
