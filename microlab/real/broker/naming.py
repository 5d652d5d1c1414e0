"""Names on the real broker: one stream per run, subjects after topics, consumers after services.

- stream ``ML_<run>`` holds every subject ``ml.<run>.>`` of one run;
- an event of type ``T`` is published on ``ml.<run>.ev.T`` (the topic is the type,
  as in the simulator's broker);
- a command ``C`` to service ``s`` on ``ml.<run>.cmd.s.C``;
- the durable consumer of service ``s`` for topic ``T`` is ``s_T`` (``s_cmd_C`` for
  a command); its dead letters go to ``ml.<run>.dlq.s_T``.

NATS splits subjects into tokens at dots; ``*`` and ``>`` are wildcards and whitespace
ends a subject, so none of them may appear inside a topic or service name
(https://docs.nats.io/nats-concepts/subjects). Consumer names may not hold them either.
:func:`check_names` says which name breaks which rule before any process starts.
"""

from __future__ import annotations

import re

from ...errors import MicrolabError

_FORBIDDEN = re.compile(r"[\s.*>/\\]")


class SubjectNameError(MicrolabError, ValueError):
    """A topic or service name that NATS would reject as part of a subject or consumer name."""


def stream_name(run: str) -> str:
    """The run's JetStream stream."""
    return f"ML_{run}"


def prefix(run: str) -> str:
    """The first two tokens of every subject of the run."""
    return f"ml.{run}"


def event_subject(run: str, topic: str) -> str:
    """Where events of ``topic`` are published."""
    return f"{prefix(run)}.ev.{topic}"


def command_subject(run: str, service: str, type: str) -> str:
    """Where commands of ``type`` to ``service`` are sent."""
    return f"{prefix(run)}.cmd.{service}.{type}"


def consumer_name(service: str, topic: str, command: bool = False) -> str:
    """The durable consumer of ``service`` for ``topic`` (or for a command type)."""
    return f"{service}_cmd_{topic}" if command else f"{service}_{topic}"


def dead_letter_subject(run: str, consumer: str) -> str:
    """Where the dead letters of one consumer are republished."""
    return f"{prefix(run)}.dlq.{consumer}"


def check_names(subscriptions: dict) -> None:
    """Raise :class:`SubjectNameError` for the first service or topic NATS would reject.

    ``subscriptions`` maps service name to the topics (and commands) it consumes.
    """
    for service, topics in subscriptions.items():
        _check(service, f"service {service!r}")
        for topic in topics:
            _check(topic, f"{service}'s subscription to {topic!r}")


def _check(name: str, where: str) -> None:
    if not isinstance(name, str) or not name:
        raise SubjectNameError(f"{where}: a NATS subject token cannot be empty")
    bad = _FORBIDDEN.search(name)
    if bad:
        char = {" ": "a space", ".": "a dot", "*": "'*'", ">": "'>'"}.get(bad.group(), repr(bad.group()))
        raise SubjectNameError(
            f"{where}: {name!r} contains {char}, which NATS does not allow inside a subject token "
            "or a consumer name (dots separate tokens, '*' and '>' are wildcards, whitespace ends "
            "the subject). Rename the event or service, e.g. "
            f"{re.sub(_FORBIDDEN.pattern, '', name) or 'OrderPlaced'!r}.")


# -- Kafka ----------------------------------------------------------------------------
# The same names serve as Kafka topics (``ml.<run>.ev.T``, ``ml.<run>.cmd.s.C``,
# ``ml.<run>.dlq.s_T``); consumer groups are ``ml.<run>.<consumer>``. Kafka's rule for a
# topic name is other than NATS's for a subject: only ASCII letters, digits, '.', '_'
# and '-', at most 249 characters (org.apache.kafka.common.internals.Topic in Kafka's
# source: LEGAL_CHARS "[a-zA-Z0-9._-]", MAX_NAME_LENGTH 249).

_KAFKA_ILLEGAL = re.compile(r"[^a-zA-Z0-9._-]")
KAFKA_MAX_TOPIC = 249


class TopicNameError(SubjectNameError):
    """A topic or service name that Kafka would reject as part of a topic name."""


def kafka_group(run: str, consumer: str) -> str:
    """The consumer group of one service's subscription."""
    return f"{prefix(run)}.{consumer}"


def check_kafka_names(subscriptions: dict, run: str = "0123456789") -> None:
    """Raise :class:`TopicNameError` for the first service or topic Kafka would reject."""
    for service, topics in subscriptions.items():
        _check_kafka(service, f"service {service!r}", run)
        for topic in topics:
            _check_kafka(topic, f"{service}'s subscription to {topic!r}", run)
            longest = dead_letter_subject(run, consumer_name(service, topic, True))
            if len(longest) > KAFKA_MAX_TOPIC:
                raise TopicNameError(f"{service}'s subscription to {topic!r}: the Kafka topic {longest!r} would be "
                                     f"{len(longest)} characters long; Kafka allows at most {KAFKA_MAX_TOPIC}. "
                                     "Use a shorter event or service name.")


def _check_kafka(name: str, where: str, run: str) -> None:
    if not isinstance(name, str) or not name:
        raise TopicNameError(f"{where}: a Kafka topic name cannot have an empty part")
    bad = _KAFKA_ILLEGAL.search(name)
    if bad:
        char = {" ": "a space"}.get(bad.group(), repr(bad.group()))
        raise TopicNameError(
            f"{where}: {name!r} contains {char}, which Kafka does not allow in a topic name (only ASCII "
            "letters, digits, '.', '_' and '-'). Rename the event or service, e.g. "
            f"{_KAFKA_ILLEGAL.sub('', name) or 'OrderPlaced'!r}.")
