"""Which flow a real run runs: the simulator's own participants, rebuilt in every process.

A real run does not copy a flow: each service process builds exactly the participants
the simulator builds (``scenarios`` flows through
:func:`~microlab.scenarios.choreographed.build_choreography`, or
:func:`~microlab.choreography.examples.order_flow`) and runs the reactions of the one
it is. The reactions' closures keep their data in the participant's ``state`` dict;
the process stores that dict in its database with every reaction and puts it back, in
place, when it restarts, so a restarted service remembers what it did.

A flow is named by a string so that a child process can rebuild it:
``"order"``, ``"travel"``, ``"content"`` (the scenario flows) or ``"order_flow"`` (the
choreography example); or ``"package.module:function"``, a function of the knobs that
returns the participants (used by tests and by anyone with a flow of their own).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ...checks import SagaSpec, Step
from ...errors import MicrolabError
from ...flows import FLOWS, ORDER, BusinessFlow
from ...scenarios.knobs import Knobs

#: The knobs a real run passes to every process (the others are the simulator's timing).
KNOBS = ("orders", "arrival_rate", "failure", "retries", "compensation", "outbox", "idempotent", "seed")


@dataclass(frozen=True)
class RealFlow:
    """What the supervisor needs to know about a flow, and how a process builds its part."""

    name: str             # as given: "order", "order_flow", "pkg.mod:fn"
    business: BusinessFlow
    spec: SagaSpec
    example: bool = False  # the choreography example (its own request payload)

    def participants(self, knobs: Knobs) -> list:
        """The participants of the flow, built as the simulator builds them."""
        if ":" in self.name:
            module, _, function = self.name.partition(":")
            try:
                factory = getattr(importlib.import_module(module), function)
            except (ImportError, AttributeError) as exc:
                raise MicrolabError(f"flow {self.name!r}: cannot import {function} from {module}: {exc}") from None
            return list(factory(knobs))
        if self.example:
            from ...choreography.examples import order_flow

            p_fail = knobs.failure.get("payment", 0.0)
            return list(order_flow(outbox=knobs.outbox, idempotent=knobs.idempotent,
                                   payment_failure_rate=p_fail).participants)
        from ...scenarios.choreographed import build_choreography

        return build_choreography(self.business, knobs)[1:]  # [0] is the simulated broker

    def request(self, correlation: str) -> dict:
        """The payload of the request that starts transaction ``correlation``."""
        if self.example:
            return {"item": "book", "qty": 1, "amount": 30, "card": "ok"}
        return dict(self.business.payload, **{f"{self.business.name}Id": correlation})


EXAMPLE_SPEC = SagaSpec("order", (Step("inventory", "reserve", "release"), Step("payment", "charge"),
                                  Step("shipping", "ship")))


def real_flow(flow) -> RealFlow:
    """The :class:`RealFlow` for a flow name, a ``module:function`` or a shipped BusinessFlow."""
    if isinstance(flow, BusinessFlow):
        for name, known in FLOWS.items():
            if known == flow:
                return RealFlow(name, known, known.saga_spec())
        raise MicrolabError(f"flow {flow.name!r} is not one of the shipped flows; a real run rebuilds "
                            "its flow in every process, so pass 'order', 'travel', 'content', "
                            "'order_flow' or 'package.module:function'")
    if not isinstance(flow, str):
        raise TypeError(f"flow must be a name such as 'order', got {flow!r}")
    if flow in FLOWS:
        return RealFlow(flow, FLOWS[flow], FLOWS[flow].saga_spec())
    if flow == "order_flow":
        return RealFlow(flow, ORDER, EXAMPLE_SPEC, example=True)
    if ":" in flow:
        return RealFlow(flow, ORDER, ORDER.saga_spec())
    raise MicrolabError(f"unknown flow {flow!r}; the flows are {', '.join(FLOWS)}, 'order_flow' "
                        "(the choreography example) or 'package.module:function'")


def subscriptions(participants) -> dict:
    """Per service, its consumed topics: ``{service: [(type, is_command), ...]}``."""
    return {p.name: [(r.event, r.command) for r in p.reactions.values()] for p in participants}


def restore_state(state: dict, saved: dict) -> None:
    """Put ``saved`` back into ``state`` in place, so closures holding inner dicts see it."""
    for key, value in saved.items():
        current = state.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            current.clear()
            current.update(value)
        else:
            state[key] = value
