"""Which hot path a system runs: microlab's compiled one when it is built, pure Python otherwise.

Sending a message and delivering it are most of a run's time. Both exist in pure Python
(:func:`microlab.services.send_message`, :meth:`microlab.network.Network._arrive`), the
reference that every test runs against. ``microlab/_speedups.c``, an optional C extension,
does the same work for the usual case (no network fault, the destination up, no work
time) and hands everything else back to those functions. ``pip install`` builds it when a
C compiler is there and goes on without it when not (``setup.py``). The same seed gives
the same trace, byte for byte, either way.

``MICROLAB_PURE=1`` in the environment makes every system use the pure-Python path even
when the extension is built (the test suite runs both ways; the benchmarks measure both).
"""

from __future__ import annotations

import contextlib
import heapq

from . import kernel
from .compiled import speedups
from .distributions import Exponential
from .messages import Message
from .services import Service, _CrashUnwind, send_message

_speedups = speedups

#: True when systems use the compiled hot path.
COMPILED = _speedups is not None


def wire(system) -> None:
    """Give ``system`` its hot path: ``system._send`` and the network's delivery callback."""
    if _speedups is None:
        system._send = send_message
        return
    hub = _speedups.Hub(system, system.sim, system.network, system.trace, system.services,
                        send_message, system.network._arrive, Message, Exponential, _CrashUnwind,
                        heapq.heappush, Message.FIELDS, Service)
    system._hub = hub
    system._send = hub.send
    system.network._deliver = hub.delivery


@contextlib.contextmanager
def pure_python():
    """Inside, systems are built and run on the pure-Python path, whether or not the
    extension is built (tests and benchmarks compare both paths in one process)."""
    global _speedups
    saved = _speedups, kernel.speedups
    _speedups = kernel.speedups = None
    try:
        yield
    finally:
        _speedups, kernel.speedups = saved
