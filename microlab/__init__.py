"""microlab: see microservices collaborate, by orchestration and by choreography.

The core (importable without plotly, networkx or ipywidgets):

- :class:`System`: services on one network, one clock, one seed, one trace;
- :class:`Service`: a service with handlers named after message types;
- latency and work-time distributions: :class:`Constant`, :class:`Uniform`,
  :class:`Exponential`, :class:`LogNormal`;
- network faults: :class:`Drop`, :class:`Duplicate`, :class:`Delay`, :class:`Partition`.

Figures live in ``microlab.viz`` and interactive labs in ``microlab.labs``; import
those explicitly (they pull in plotly and ipywidgets).
"""

from .distributions import Constant, Exponential, LogNormal, Uniform
from .errors import DefinitionError, EventStorm, MicrolabError, UnknownServiceError
from .messages import COMMAND, EVENT, REPLY, Message
from .network import Delay, Drop, Duplicate, Partition
from .services import Client, NoHandlerError, Service
from .system import HandlerFailure, HandlerFailureWarning, System
from .trace import Record, Trace

__version__ = "0.1.0"

__all__ = [
    "System", "Service", "Client", "Message", "Trace", "Record",
    "COMMAND", "REPLY", "EVENT",
    "Constant", "Uniform", "Exponential", "LogNormal",
    "Drop", "Duplicate", "Delay", "Partition",
    "MicrolabError", "UnknownServiceError", "EventStorm", "DefinitionError",
    "NoHandlerError", "HandlerFailure", "HandlerFailureWarning",
]
