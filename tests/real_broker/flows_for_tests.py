"""Flows that go wrong on purpose, for the bad-input tests (imported by the run's processes)."""

import os

from microlab.choreography import Participant
from microlab.flows import ORDER
from microlab.scenarios.choreographed import build_choreography


def dies_in_payment(knobs):
    """The order saga, except that the payment process fails while it starts."""
    if os.environ.get("MICROLAB_REAL_PROCESS") == "payment":
        raise RuntimeError("payment cannot open its card vault (injected start failure)")
    return build_choreography(ORDER, knobs)[1:]


def spaced_event(knobs):
    """The order saga with one event whose name NATS rejects as a subject token."""
    participants = build_choreography(ORDER, knobs)[1:]
    listener = Participant("audit")
    listener.on("Order Placed", lambda event, ctx: None)
    return participants + [listener]
