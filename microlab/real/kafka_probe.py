"""The Kafka probe: the one process that holds the supervisor's own Kafka clients.

The supervisor of a Kafka run (a notebook kernel, a test session) asks the broker
three things: does it answer, create these topics, how far has each consumer group
committed. The clients that ask are librdkafka handles, and librdkafka can crash the
process that holds them. Two such crashes, both in the admin client's
``list_consumer_group_offsets`` of librdkafka 2.16.0 (the one bundled with
confluent-kafka 2.16), killed a test session or a script on this course's machine:

- a segmentation fault when the reply says ``NOT_COORDINATOR`` or
  ``COORDINATOR_NOT_AVAILABLE``, as a broker that has just restarted does while it
  loads its offsets: ``rd_kafka_handle_OffsetFetch`` asks the client's consumer group
  to look for the coordinator again, and an admin client has none
  (``rd_kafka_cgrp_op`` with a NULL group;
  https://github.com/confluentinc/librdkafka/issues/5040);
- an abort when such a request times out, as it does on a loaded machine
  (``rd_kafka_enq_once_del_source_return: Assertion `eonce->refcnt > 0' failed``;
  https://github.com/confluentinc/librdkafka/issues/4605).

So the supervisor keeps no Kafka client of its own:
:class:`~microlab.real.kafka_server.KafkaServer` starts this module as a child process
and talks to it in JSON lines, and a crash here is an error that names the probe,
never a dead kernel or test session.

The probe also keeps off that code path: a group's committed offset is read by a
consumer of that group that never subscribes (``Consumer.committed``: the same
OffsetFetch, sent by a client that has a consumer group to re-query the coordinator
with), and a topic's end offset by ``get_watermark_offsets(cached=False)``.

Protocol, one JSON object per line: a request ``{"op": ..., ...}`` on stdin, a reply
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}`` on stdout.
Ops: ``answers`` (True when the broker answers a metadata request), ``create_topics``
(``topics``; returns ``{topic: error}`` for those it could not create), ``lags``
(``groups`` mapping group id to topic; returns ``{"lags": {group: [end, committed]},
"failed": {group: error}}``) and
``release`` (``groups``: close their consumers). The probe imports nothing of microlab,
so it starts in a fraction of a second; it exits when its stdin closes.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import sys

#: How long one request to the broker may take inside the probe.
REQUEST_TIMEOUT = 2.0
#: The requests the probe answers (methods of :class:`Probe`).
OPS = ("answers", "create_topics", "lags", "release")


def _quiet_logger():
    logger = logging.getLogger("microlab.real.kafka.probe")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


class Probe:
    """The clients of one broker: an admin client and one non-subscribing consumer per group."""

    def __init__(self, url: str):
        from confluent_kafka.admin import AdminClient

        self.url = url
        self.logger = _quiet_logger()
        self.admin = AdminClient({"bootstrap.servers": url, "log_level": 0, "reconnect.backoff.max.ms": 200},
                                 logger=self.logger)
        self.consumers: dict = {}
        #: Consumers whose request failed, kept until the probe exits (see :meth:`lags`).
        self.retired: list = []

    def answers(self) -> bool:
        """True when the broker answers a metadata request with at least one broker."""
        return bool(self.admin.list_topics(timeout=1.0).brokers)

    def create_topics(self, topics: list) -> dict:
        """Create ``topics`` (one partition, one replica); ``{topic: error}`` for each that failed."""
        from confluent_kafka.admin import NewTopic

        wanted = list(dict.fromkeys(topics))
        futures = self.admin.create_topics([NewTopic(t, 1, 1) for t in wanted], operation_timeout=10,
                                           request_timeout=15)
        failed = {}
        for topic, future in futures.items():
            try:
                future.result(timeout=20)
            except Exception as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    failed[topic] = str(exc)
        return failed

    def _consumer(self, group: str):
        from confluent_kafka import Consumer

        if group not in self.consumers:
            # It never subscribes, so it never joins the group: it only reads its offsets.
            self.consumers[group] = Consumer({"bootstrap.servers": self.url, "group.id": group,
                                              "enable.auto.commit": False, "enable.auto.offset.store": False,
                                              "log_level": 0, "reconnect.backoff.max.ms": 200},
                                             logger=self.logger)
        return self.consumers[group]

    def lags(self, groups: dict) -> dict:
        """``{"lags": {group: [end offset, committed offset]}, "failed": {group: error}}`` of each group's topic.

        A group whose offsets could not be read is in ``failed``, and its consumer is set
        aside: the next request asks with a fresh one, so that a client left in a bad
        state cannot hold a run's settle check up for good.
        """
        from confluent_kafka import TopicPartition

        out, failed = {}, {}
        for group, topic in groups.items():
            try:
                consumer = self._consumer(group)
                partition = TopicPartition(topic, 0)
                _, end = consumer.get_watermark_offsets(partition, timeout=REQUEST_TIMEOUT, cached=False)
                committed = consumer.committed([partition], timeout=REQUEST_TIMEOUT)[0]
                if committed.error is not None:
                    raise RuntimeError(f"committed offset: {committed.error}")
                out[group] = [end, max(committed.offset, 0)]  # no commit yet: a negative sentinel
            except Exception as exc:
                failed[group] = f"{type(exc).__name__}: {exc}"
                if group in self.consumers:
                    # Set aside, not closed: closing waits on a coordinator that may be away.
                    self.retired.append(self.consumers.pop(group))
        return {"lags": out, "failed": failed}

    def release(self, groups: list) -> None:
        """Close the consumers of ``groups`` (their run has ended)."""
        for group in groups:
            consumer = self.consumers.pop(group, None)
            if consumer is not None:
                consumer.close()


def serve(url: str, stdin=None, stdout=None) -> None:
    """Answer requests (see the module docstring) until stdin closes."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    probe = Probe(url)
    for line in stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            if op not in OPS:
                raise ValueError(f"unknown op {op!r}; the probe knows {', '.join(OPS)}")
            reply = {"ok": True, "result": getattr(probe, op)(**request)}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    faulthandler.enable()  # a crash leaves the Python stacks in the probe's stderr file
    serve(sys.argv[1])
    # Exit at once: destroying the handles could wait for a broker that was just killed.
    sys.stdout.flush()
    os._exit(0)
