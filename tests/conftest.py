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


# -- labs: a lab that fails must fail its test --------------------------------------------
# Lab.update shows any exception in the lab instead of raising (a learner must not get a
# traceback), and keeps the previous figures. A test that then checks "nothing changed"
# would pass while the refresh was broken, so every error a lab shows fails the test,
# unless the test asks for the `lab_errors` fixture and so says it expects some.

@pytest.fixture(autouse=True)
def student_mode():
    """Every test starts and ends in student mode (a failing check gives a hint), whatever another switched on."""
    from microlab.exercises import instructor_mode
    instructor_mode(False)
    yield
    instructor_mode(False)


def digest_in_new_process(setup: str, seed: int) -> str:
    """The digest of the trace of ``system`` after ``setup`` ran in a fresh interpreter.

    ``setup`` is Python source that builds and runs a System called ``system`` from the
    variable ``seed``; a new process proves that nothing else (hash seeds, module state)
    reaches the run.
    """
    import subprocess
    import sys
    import textwrap
    program = f"seed = {seed!r}\n{textwrap.dedent(setup)}\nprint(system.trace.digest())\n"
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def lab_errors(_lab_error_log):
    """The errors labs showed during this test (``[(lab class, text, detail)]``), expected by it."""
    _lab_error_log["expected"] = True
    return _lab_error_log["errors"]


@pytest.fixture(autouse=True)
def _lab_error_log(monkeypatch):
    log = {"errors": [], "expected": False}
    try:
        from microlab.labs.base import Lab
    except ImportError:   # no widgets installed: no labs to watch
        yield log
        return
    shown = Lab.show_error

    def show_error(self, text, detail=None):
        log["errors"].append((type(self).__name__, text, detail))
        shown(self, text, detail)

    monkeypatch.setattr(Lab, "show_error", show_error)
    yield log
    if log["errors"] and not log["expected"]:
        name, text, detail = log["errors"][0]
        pytest.fail(f"{name} showed an error the test did not expect (ask for the lab_errors fixture "
                    f"if it is meant): {text}" + (f"\n{detail}" if detail else ""), pytrace=False)
