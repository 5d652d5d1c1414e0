"""The cause of a flaky broker-kill run: a redelivery the broker counts as a first delivery.

JetStream writes a consumer's delivery counts to disk about 10 ms after each change
(nats-server's ``consumerFileStore.flushLoop``), so a kill -9 of the broker can forget
that a command was delivered and deliver it again with ``num_delivered == 1``. The
service used to believe that number, recorded a second ``deliver`` and no
``duplicate``, and the merged trace had one client command delivered twice and sent
once: "1 messages unaccounted for". The service now counts deliveries itself, in the
transaction that records them. No server needed: the reaction runs on a hand-made delivery.
"""

import asyncio
import json
import os
import time

from microlab.real.broker.flows import real_flow
from microlab.real.broker.merge import merge
from microlab.real.broker.service import ServiceProcess
from microlab.real.broker.store import read_trace
from microlab.real.broker.wire import envelope
from microlab.scenarios.knobs import Knobs
from microlab.trace import DELIVER, DUPLICATE, SEND

KNOBS = {"orders": 1, "arrival_rate": 5.0, "seed": 1, "failure": {}, "retries": 2, "compensation": True,
         "outbox": True, "idempotent": True}


def _owner(tmp_path):
    participants = real_flow("order").participants(Knobs.make(**KNOBS))
    owner = participants[0]
    request = next(r.event for r in owner.reactions.values() if r.command)
    config = {"run": "t1", "t0": time.monotonic(), "dir": str(tmp_path), "flow": "order", "knobs": KNOBS,
              "subscribers": {}, "relay_interval": 0.2}
    return ServiceProcess(config, owner.name, {}), request


def test_a_command_delivered_again_as_if_for_the_first_time_is_one_more_copy(tmp_path):
    process, request = _owner(tmp_path)
    command = envelope("client.1", "command", request, "client", process.name, None, "order-1", None,
                       real_flow("order").request("order-1"))
    acks = []

    async def ack():
        acks.append(1)

    async def deliver_twice():
        # Both deliveries come with the broker's attempt 1; the second must still be a duplicate.
        return [await process._handle(command, True, "cmd", ack) for _ in range(2)]

    process.outbox = False  # nothing to relay: no broker here
    process.publish = _no_publish
    assert asyncio.run(deliver_twice()) == [True, True]
    rows = read_trace(os.path.join(str(tmp_path), f"{process.name}.sqlite"))
    kinds = [k for _s, _i, _t, k, _sv, m, _d in rows if m and m["id"] == "client.1"]
    assert kinds.count(DELIVER) == 2 and kinds.count(DUPLICATE) == 1
    client = [(1, 1, 0.0, SEND, "client", command, None)]
    trace = merge([("client", client), (process.name, rows)])
    assert trace.conservation().ok, str(trace.conservation())
    assert len(acks) == 2 and json.dumps(process.store.deliveries("cmd", "client.1")) == "2"


async def _no_publish(*_args, **_kw):
    return True
