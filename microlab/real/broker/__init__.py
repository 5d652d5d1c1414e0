"""The choreographed flows on a real broker: NATS JetStream, one OS process per participant.

::

    from microlab.real.broker import run_choreography, RealPlan, nats_available
    if nats_available():
        run = run_choreography("order", orders=10, faults=RealPlan().kill("payment", at=0.5))
        print(run.checks.verdict())

Modules, one concept each: :mod:`.run` (the supervisor and the one call),
:mod:`.service` and :mod:`.client` (the processes), :mod:`.store` (a service's SQLite
database: state, processed ids, outbox, trace), :mod:`.wire` (envelopes on NATS),
:mod:`.naming` (stream, subjects, consumers), :mod:`.faults` (real fault plans),
:mod:`.merge` (records of every process into one ``Trace``), :mod:`.flows` (which
participants a process builds); :mod:`.side_by_side` and :mod:`.real_numbers` (a simulated
and a real run side by side, for the notebooks). The simulator never imports any of it.
"""

from ..nats_server import BrokerUnreachable, NatsNotInstalled, NatsServer, find_nats_server
from .faults import RealPlan
from .naming import SubjectNameError
from .side_by_side import SideBySide, kill_side_by_side
from .real_numbers import RealNumbers, real_numbers
from .run import (ProcessDied, ProcessDiedOnStart, RealRunError, RealSystem, RunDidNotSettle, arrivals,
                  run_choreography)


def nats_available() -> bool:
    """True when ``nats-server`` and the ``nats-py`` client are installed."""
    if find_nats_server() is None:
        return False
    try:
        import nats  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = [
    "run_choreography", "RealPlan", "NatsServer", "nats_available", "arrivals", "RealSystem",
    "RealRunError", "ProcessDied", "ProcessDiedOnStart", "RunDidNotSettle", "BrokerUnreachable",
    "NatsNotInstalled", "SubjectNameError", "kill_side_by_side", "SideBySide", "real_numbers", "RealNumbers",
]
