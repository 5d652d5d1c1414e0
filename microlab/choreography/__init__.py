"""Choreography: services react to each other's events through a broker; no centre.

The ten-line version::

    from microlab import System
    from microlab.choreography import Broker, Participant

    inventory = Participant("inventory")

    @inventory.on("OrderPlaced", publishes=("StockReserved", "StockRejected"))
    def reserve(event, ctx):
        ctx.effect("reserve", qty=event.payload["qty"])
        ctx.publish("StockReserved", event.payload)

    system = System(seed=1)
    system.add(Broker(), inventory, ...)

The shape of the engine (what the scenario, check and figure layers build on)
-----------------------------------------------------------------------------
**Broker** (:class:`Broker`, a :class:`~microlab.services.Service` named ``"broker"``
by default, with workers and a work time like any service). Topics are named after
event types. One delivery per subscribing service; a delivery is an event message with
the published event's type, payload and correlation, whose **causation is the published
event's id** (so publisher -> broker -> consumer is rebuilt from the trace). Consumers
ack with an ``Ack:<Type>`` reply; without an ack within ``ack_timeout`` the broker
redelivers (a new message, same causation), up to ``max_receive_count`` deliveries, then
dead-letters the event into that subscription's queue (``broker.dead_letters()``).
Delivery order: publish-handling order, subscribers in subscription order; random
latency, several broker workers and redeliveries reorder (no guarantee; see
:mod:`~microlab.choreography.broker`).

**Broker crash** (``system.crash("broker", ...)``): subscriptions, unacknowledged
deliveries and dead letters are durable; the mailbox and the work in progress are
lost. A publish lost that way is re-sent only by a publisher with an outbox (its relay
retries until the broker's ``Confirm:<Type>`` arrives). While the broker is down the
network drops what is sent to it. On restart every unacked delivery gets a fresh ack
timeout and is then redelivered.

**Event identity**: the id of the message the publisher sent to the broker
(:func:`event_id`). The outbox relay re-sends that same message; every delivery carries
it as its causation; a network ``Duplicate`` is the same message. The idempotent
consumer remembers these ids.

**Participants** (:class:`Participant`): reactions declared with
``@p.on("Event", publishes=(...))`` (``fn(event, ctx)``, ``ctx`` being the participant)
or ``on_<Type>`` methods with ``@reaction(publishes=...)``; commands with
``command=True``. Switches ``outbox=True`` and ``idempotent=True`` (constructor
arguments and attributes). Subscriptions are made at the broker when the system starts
(``on_start``). Business effects: ``ctx.effect("charge", amount=30)``. A deterministic
fault: ``p.crash_before_publish(times=1, downtime=1.0)`` crashes after the state change
and before the event reaches the broker (without an outbox: ``event_lost``).

**Trace kinds**: listed and explained in :mod:`microlab.choreography.kinds`
(``publish``, ``subscribe``, ``ack``, ``redeliver``, ``dead_letter``, ``redrive``,
``duplicate_publish``, ``duplicate_ignored``, ``outbox_store``, ``outbox_relay``,
``outbox_confirm``, ``outbox_stuck``, ``event_lost``); records without a message carry
``correlation=``.

**Causation graph**: :func:`causation_graph(trace, correlation=None)` returns plain data
(nodes = messages with service, type, time, outcomes and effects; edges cause -> effect;
lost events; dead letters). No graph library.

**System description**: :func:`describe(system)` lists per service what it publishes,
subscribes to and accepts; per event its publishers and consumers; warnings for events
nobody consumes and subscriptions nobody feeds. ``str()`` is readable, ``to_dict()``
plain and deterministic.

**Point-to-point choreography** (:class:`Peer`): the same reactions, but each service
calls the next one directly (``ctx.call("payment", "StockReserved", payload)``), with
no broker. Its ``outbox`` switch is the caller's retry (re-send until the callee's
``Ack:<Type>``), its ``idempotent`` switch the callee's guard against repeats; see
:mod:`~microlab.choreography.peer`.

**The order saga** as a choreography: :func:`~microlab.choreography.examples.order_flow`.
"""

from .broker import Broker, DeadLetter, Subscription
from .causation import CausationGraph, Node, causation_graph
from .description import DescriptionWarning, ServiceDescription, SystemDescription, describe
from .kinds import event_id, is_protocol
from .outbox import Outbox, OutboxEntry
from .participant import Participant, UndeclaredEventError
from .peer import Peer, UndeclaredCallError
from .reactions import Reaction, reaction

__all__ = [
    "Broker", "Subscription", "DeadLetter",
    "Participant", "UndeclaredEventError", "Reaction", "reaction",
    "Peer", "UndeclaredCallError",
    "Outbox", "OutboxEntry",
    "causation_graph", "CausationGraph", "Node",
    "describe", "SystemDescription", "ServiceDescription", "DescriptionWarning",
    "event_id", "is_protocol",
]
