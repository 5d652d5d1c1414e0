"""Where an EVENT task publishes, and what an event handler listens to: sink names.

Conductor names an event queue ``<provider>:<destination>``: the provider is the part
before the first colon (``conductor``, ``nats``, ``kafka``, ``sqs``, ``amqp_queue``, ...)
and owns the grammar of the rest. An EVENT task's ``sink`` is expanded first
(Conductor's ``Event.computeQueueName``):

- ``conductor`` becomes ``conductor:<workflowName>:<taskReferenceName>``;
- ``conductor:<name>`` becomes ``conductor:<workflowName>:<name>``;
- anything else (``nats:order.placed``) is used as it is.

An event handler's ``event`` is the expanded name it listens on, so a handler for the
task ``notify`` of workflow ``order_flow`` with sink ``conductor`` listens on
``conductor:order_flow:notify``.

In microlab every simulated provider is the one in-process broker
(:class:`~microlab.choreography.Broker`), so that choreographed participants can hear
what a workflow publishes. :func:`broker_topic` says which broker topic a queue name is:
for ``nats`` and ``kafka`` the destination itself (``nats:OrderPlaced`` is the topic
``OrderPlaced`` that participants subscribe to); for ``conductor``, whose queues are the
server's own, the whole name (``conductor:order_flow:notify``). Providers that need
infrastructure microlab does not model (SQS, AMQP, NATS streaming) are refused with a
reason (a row of the README's "Where microlab simplifies").
"""

from __future__ import annotations

CONDUCTOR = "conductor"
#: Providers microlab simulates, all by its in-process broker.
SIMULATED_PROVIDERS = (CONDUCTOR, "nats", "kafka")
#: Providers Conductor OSS has that microlab does not simulate, with the reason.
UNSIMULATED_PROVIDERS = {
    "sqs": "Amazon SQS is not simulated",
    "amqp_queue": "AMQP (RabbitMQ) is not simulated",
    "amqp_exchange": "AMQP (RabbitMQ) is not simulated",
    "amqp": "AMQP (RabbitMQ) is not simulated",
    "nats_stream": "NATS streaming (STAN) is not simulated; use nats:<subject>",
    "jsm": "NATS JetStream consumers are not simulated; use nats:<subject>",
}


class SinkError(ValueError):
    """A sink or event name that cannot be published to or listened on; the message says why."""


def expand_sink(sink, workflow: str, ref: str) -> str:
    """The queue name an EVENT task of ``workflow`` (reference ``ref``) publishes to."""
    if not isinstance(sink, str) or not sink:
        raise SinkError(f"the EVENT task {ref!r} needs a sink such as 'conductor', 'conductor:<name>' "
                        f"or 'nats:<subject>', got {sink!r}")
    if sink == CONDUCTOR:
        return f"{CONDUCTOR}:{workflow}:{ref}"
    if sink.startswith(CONDUCTOR):
        if not sink.startswith(CONDUCTOR + ":"):
            # Conductor's own words for a sink such as "conductorX".
            raise SinkError(f"Invalid / Unsupported sink specified: {sink}")
        # As Conductor: every "conductor:" in the rest is removed, then the workflow name is put in front.
        return f"{CONDUCTOR}:{workflow}:{sink.replace(CONDUCTOR + ':', '')}"
    return sink


def split(name: str, what: str = "sink") -> tuple[str, str]:
    """``(provider, destination)`` of a queue name; a SinkError for one microlab cannot serve."""
    if not isinstance(name, str) or ":" not in name:
        raise SinkError(f"{what} {name!r} has no provider: write '<provider>:<destination>', e.g. "
                        f"'nats:OrderPlaced' or 'conductor:<workflow>:<name>' (providers microlab "
                        f"simulates: {', '.join(SIMULATED_PROVIDERS)})")
    provider, destination = name.split(":", 1)
    if provider in UNSIMULATED_PROVIDERS:
        raise SinkError(f"{what} {name!r}: {UNSIMULATED_PROVIDERS[provider]} (providers microlab simulates, "
                        f"all through its in-process broker: {', '.join(SIMULATED_PROVIDERS)})")
    if provider not in SIMULATED_PROVIDERS:
        raise SinkError(f"{what} {name!r}: unknown queue type {provider!r}; the providers are "
                        f"{', '.join(SIMULATED_PROVIDERS)} (and, not simulated, {', '.join(UNSIMULATED_PROVIDERS)})")
    if not destination:
        raise SinkError(f"{what} {name!r} names no destination after {provider + ':'!r}")
    return provider, destination


def broker_topic(name: str, what: str = "sink") -> str:
    """The broker topic of a queue name (see the module docstring)."""
    provider, destination = split(name, what)
    return name if provider == CONDUCTOR else destination


def event_type(name: str) -> str:
    """The message type a publish to ``name`` carries: its last ``:`` segment (``OrderPlaced``)."""
    return name.rsplit(":", 1)[-1]
