"""Shared fixtures: small services that many tests use."""

import pytest

from microlab import Service, System


class Pinger(Service):
    """Sends Ping to pong at start; stops after ``rounds`` Pongs (never if rounds is None)."""

    service_name = "ping"

    def __init__(self, rounds=3, **kw):
        super().__init__(**kw)
        self.rounds = rounds
        self.pongs = 0

    def on_start(self):
        self.send("pong", "Ping", {"n": 1}, correlation="rally")

    def on_Pong(self, msg):
        self.pongs += 1
        if self.rounds is None or self.pongs < self.rounds:
            self.send("pong", "Ping", {"n": msg.payload["n"] + 1})


class Ponger(Service):
    """Answers every Ping with a Pong."""

    service_name = "pong"

    def on_Ping(self, msg):
        self.reply(msg, "Pong", msg.payload)


@pytest.fixture
def rally():
    """A ping-pong system of three rounds with exponential latency."""
    from microlab import Exponential

    system = System(seed=7, latency=Exponential(0.01))
    system.add(Pinger(rounds=3), Ponger())
    return system
