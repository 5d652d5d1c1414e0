"""Which hot path a system runs: microlab's compiled one when it is built, pure Python otherwise.

Sending a message and delivering it are most of a run's time. Both exist in pure Python
(:func:`microlab.services.send_message`, :meth:`microlab.network.Network._arrive`), the
reference that every test runs against. ``microlab/_speedups.c``, an optional C extension,
does the same work for the usual case (no network fault, the destination up, no work
time) and hands everything else back to those functions. It also runs the kernel's loop
(:meth:`microlab.kernel.Simulation.run`) and keeps its heap as :mod:`heapq` does, on the
same list that the kernel's Python code pushes on. ``pip install`` builds it when a
C compiler is there and goes on without it when not (``setup.py``). The same seed gives
the same trace, byte for byte, either way.

``MICROLAB_PURE=1`` in the environment makes every system use the pure-Python path even
when the extension is built (the test suite runs both ways; the benchmarks measure both).
"""

from __future__ import annotations

import contextlib

from . import compiled
from .distributions import Exponential
from .messages import Message
from .services import Service, _CrashUnwind, send_message

#: True when the extension is built and ``MICROLAB_PURE`` is not set: systems then use the
#: compiled hot path (outside :func:`pure_python`).
COMPILED = compiled.speedups is not None


def wire(system) -> None:
    """Give ``system`` its hot path: ``system._send`` and the network's delivery callback."""
    speedups = compiled.speedups
    if speedups is None:
        system._send = send_message
        return
    hub = speedups.Hub(system, system.sim, system.network, system.trace,
                       send_message, system.network._arrive, Message, Exponential, _CrashUnwind,
                       Message.FIELDS, Service)
    system._hub = hub
    system._send = hub.send
    system.network._deliver = hub.delivery


@contextlib.contextmanager
def pure_python():
    """Inside, systems are built and run on the pure-Python path, whether or not the
    extension is built (tests and benchmarks compare both paths in one process)."""
    saved = compiled.speedups
    compiled.speedups = None
    try:
        yield
    finally:
        compiled.speedups = saved
