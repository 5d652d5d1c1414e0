"""The records of one business transaction: the trace walked once, grouped by correlation.

A record belongs to the transaction of its message (``message.correlation``) or, when
it carries no message (the orchestrator's ``workflow`` and ``task`` records, a lost
event), to the ``correlation`` of its detail: the rule of
:attr:`microlab.trace.Record.correlation`. The orchestration execution view
(:mod:`microlab.orchestration.execution`) and the causation graph
(:mod:`microlab.choreography.causation`) both read one transaction through
:func:`transaction_records`, so the two cannot disagree on what belongs to it; the
consistency checks (:func:`microlab.checks.check_saga`) and the transaction spans
(:func:`microlab.metrics.spans`) read every transaction at once through
:func:`by_transaction`.
"""

from __future__ import annotations

from ..gcpause import gc_paused
from ..trace import record_correlation


def raw_records(source) -> list:
    """The raw record tuples of ``source``: a System, a Trace, or a list of records already."""
    trace = getattr(source, "trace", source)
    return getattr(trace, "records", trace)


def transaction_records(source, correlation=None, kinds=None):
    """The raw records of ``source`` in trace order, of transaction ``correlation`` only
    (all of them when None) and of ``kinds`` only (all kinds when None)."""
    records = raw_records(source)
    if correlation is None and kinds is None:
        return records
    if correlation is None:
        return [r for r in records if r[1] in kinds]
    if kinds is None:
        return [r for r in records if record_correlation(r) == correlation]
    return [r for r in records if r[1] in kinds and record_correlation(r) == correlation]


@gc_paused
def by_transaction(source, loose: list | None = None) -> dict:
    """The raw records of ``source`` grouped by transaction in one pass: ``{correlation:
    [its records in trace order]}``, the transactions in the order of their first record.

    A record of no transaction is left out; those that carry no message either (a crash,
    a restart) are appended to ``loose`` when it is a list. Written for traces of millions
    of records: the correlation rule of :func:`~microlab.trace.record_correlation` is
    spelt out inline (a call per record would cost a third of the pass), and the
    collector is paused while it runs (:mod:`microlab.gcpause`): the young-generation
    collections its new lists set off, one list a transaction, walk every record put in
    them and cost 40% on top of the pass.
    """
    groups: dict = {}
    get = groups.get
    for rec in raw_records(source):
        msg = rec[3]
        if msg is not None:
            corr = msg.correlation
            if corr is None:
                continue
        else:
            detail = rec[4]
            corr = detail.get("correlation") if detail else None
            if corr is None:
                if loose is not None:
                    loose.append(rec)
                continue
        group = get(corr)
        if group is None:
            groups[corr] = [rec]
        else:
            group.append(rec)
    return groups


__all__ = ["raw_records", "transaction_records", "by_transaction"]
