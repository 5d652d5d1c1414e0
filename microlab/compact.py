"""A compact trace: the records of a long run, and their messages, kept in columns.

A trace record is a 5-tuple ``(time, kind, service, message, detail)`` (see
:mod:`microlab.trace`). In CPython a 5-tuple and its slot in a list take 88 bytes, its
time is a float object of 24 more, and each message it points to is an object of 112
bytes with an int id of 28 and a float ``sent_at`` of 24. :class:`CompactRecords` keeps
the newest records as they come, and :meth:`CompactRecords.settle` moves them into
columns, ``chunk`` records at a time:

- per record: the time in an ``array('d')`` (8 bytes), the kind and the service as
  indices into one table of the distinct names (2 bytes each), the message as an index
  into the chunk's distinct messages (2 bytes), and the details sparsely (most records
  have none);
- per distinct message of the chunk: its id, causation and ``sent_at`` in typed arrays,
  its shape (kind, type, source, destination and topic together) as one name index, and
  references to its payload and correlation (which are not copied).

Reading gives back the same records: iterating, ``len``, indexing and slicing behave as
on the list a trace normally holds, so every query, check, figure and export reads a
compact trace unchanged, and its JSON-lines export and digest are byte-identical. A
message read from a compact trace is a :class:`StoredMessage`: a read-only copy with the
original's fields, made afresh on each read, equal (``==``) to every other copy of it and
hashed alike, but not the same object (``is``). Reading builds each tuple and message, so a pass over a
compact trace costs more than over a list, and writing costs the moves into columns:
``benchmarks/README.md`` measures both. That is why the compact
trace is a choice (``System(trace="compact")``) for runs too big for memory, not the
default.

A compact trace only grows: the engines append to it, and nothing else changes a trace.
The methods that would change records in place raise a ``TypeError`` that says so.
"""

from __future__ import annotations

import itertools
from array import array
from collections import namedtuple
from functools import partial
from operator import add, attrgetter, itemgetter

from .messages import Message

#: Records kept as they come before they move into columns: big enough that a move is a
#: few C-level passes over many records, small enough that those waiting stay a few MiB.
CHUNK = 1 << 15

#: The largest chunk: a record's message is a two-byte index into its chunk's messages.
MAX_CHUNK = 65_535

_FIELDS = tuple(itemgetter(i) for i in range(5))
_list_len = list.__len__
_list_iter = list.__iter__
_NO_CAUSE = -(1 << 63)  # stands for a causation of None in an int column
_TO_CAUSE = {None: _NO_CAUSE}     # .get(c, c): the column's value for causation c
_FROM_CAUSE = {_NO_CAUSE: None}   # .get(v, v): the causation a column's value stands for


#: A stored message's fields: its envelope's shape first (kind, type, source, destination,
#: topic), which a chunk keeps once per distinct shape, then what is the message's own.
_SHAPE = ("kind", "type", "source", "destination", "topic")
_ORDER = _SHAPE + ("id", "payload", "correlation", "causation", "sent_at")


class StoredMessage(namedtuple("StoredMessage", _ORDER)):
    """A message read back from a compact trace: a read-only copy of the one sent.

    It has a :class:`~microlab.messages.Message`'s fields and methods, and it is a tuple
    underneath, so that a long read builds each copy in C. Copies of one message read at
    different times are equal (``==``, every field equal) and hash alike (by id), so they
    work as one key; ``is`` tells them apart. A copy is never equal to a live
    :class:`~microlab.messages.Message`: a compact trace gives every record's message as a
    copy, the newest ones too, so that what one reads of it never mixes the two.
    """

    __slots__ = ()

    def __eq__(self, other):
        if type(other) is StoredMessage:
            return tuple.__eq__(self, other)
        return NotImplemented

    def __ne__(self, other):
        if type(other) is StoredMessage:
            return tuple.__ne__(self, other)
        return NotImplemented

    def __hash__(self):
        return hash(self.id)

    def to_dict(self) -> dict:
        """The envelope as a plain dict (payload included as is), as Message's."""
        return {name: getattr(self, name) for name in Message.FIELDS}

    __repr__ = Message.__repr__


_copy = partial(tuple.__new__, StoredMessage)
_envelope = attrgetter(*_ORDER)
_FIELD_OF = tuple(attrgetter(name) for name in Message.FIELDS)


def _as_read(record: tuple) -> tuple:
    """A record waiting as it was appended, as the columns give it back (its message a copy)."""
    msg = record[3]
    if type(msg) is not Message:
        return record
    return (record[0], record[1], record[2], _copy(_envelope(msg)), record[4])


class _Names:
    """The distinct names of a compact trace (kinds, services, message types...), numbered."""

    __slots__ = ("names", "index")

    def __init__(self):
        self.names: list = []
        self.index: dict = {}

    def column(self, values) -> array:
        """The indices of ``values``, adding the names not seen before: two bytes each
        while there are at most 65,536 names, four after."""
        values = list(values)
        index = self.index
        code = "H" if len(self.names) <= 65_536 else "I"
        try:
            # Past the first chunks a new name is rare: look up first, add names only on a miss.
            return array(code, map(index.__getitem__, values))
        except KeyError:
            pass
        for name in dict.fromkeys(values):
            if name not in index:
                index[name] = len(self.names)
                self.names.append(name)
        return array("H" if len(self.names) <= 65_536 else "I", map(index.__getitem__, values))

    def read(self, column):
        """The names a column of indices stands for."""
        return map(self.names.__getitem__, column)


def _typed(typecode: str, kind: type, values: list):
    """``values`` in an array of ``typecode`` if every one is exactly of type ``kind`` (a
    time that is an int must come back an int: the export writes 10, not 10.0), else as
    a tuple of references."""
    if set(map(type, values)) <= {kind}:
        try:
            return array(typecode, values)
        except OverflowError:
            pass
    return tuple(values)


class _Messages:
    """The distinct messages of one chunk, in columns."""

    __slots__ = ("count", "ids", "shapes", "payloads", "correlations", "causations", "sent_at",
                 "objects")

    def __init__(self, messages: list, names: _Names):
        self.count = len(messages)
        if not set(map(type, messages)) <= {Message, StoredMessage}:
            # A record that points at something else (a learner's own object) keeps it.
            self.objects = tuple(messages)
            return
        self.objects = None
        # One C-level pass per field (transposing with zip(*...) would make a call with
        # one argument per message).
        (ids, kinds, types, sources, destinations, topics, payloads, correlations,
         causations, sent_at) = (tuple(map(get, messages)) for get in _FIELD_OF)
        try:
            # None (the first message of a transaction) is kept as a value no id can have.
            causes = list(map(_TO_CAUSE.get, causations, causations))
            # One name per distinct (kind, type, source, destination, topic): a saga has a
            # few dozen, and reading rebuilds a message from one lookup instead of five.
            self.shapes = names.column(zip(kinds, types, sources, destinations, topics))
        except TypeError:  # an unhashable field (a message built by hand): keep the objects
            self.objects = tuple(messages)
            return
        self.ids = _typed("q", int, ids)
        self.causations = _typed("q", int, causes) if _NO_CAUSE not in causations else tuple(causations)
        self.sent_at = _typed("d", float, sent_at)
        self.payloads = payloads
        self.correlations = correlations

    def read(self, names: _Names) -> list:
        """The messages as objects (fresh :class:`StoredMessage` copies), then None."""
        if self.objects is not None:
            return [*self.objects, None]
        causations = self.causations
        if isinstance(causations, array):
            causations = map(_FROM_CAUSE.get, causations, causations)
        out = list(map(_copy, map(add, names.read(self.shapes), zip(
            self.ids, self.payloads, self.correlations, causations, self.sent_at))))
        out.append(None)
        return out

    def one(self, names: _Names, i: int):
        """Message ``i`` of the chunk (None for ``i == count``), as :meth:`read` gives it."""
        if i == self.count:
            return None
        if self.objects is not None:
            return self.objects[i]
        cause = self.causations[i]
        return _copy(names.names[self.shapes[i]] + (
            self.ids[i], self.payloads[i], self.correlations[i],
            None if cause == _NO_CAUSE else cause, self.sent_at[i]))


class _Chunk:
    """``size`` records in columns."""

    __slots__ = ("size", "times", "kinds", "services", "which", "messages", "details")

    def __init__(self, records: list, names: _Names):
        time, kind, service, message, detail = _FIELDS
        self.size = len(records)
        self.times = _typed("d", float, list(map(time, records)))
        self.kinds = names.column(map(kind, records))
        self.services = names.column(map(service, records))
        msgs = list(map(message, records))
        try:
            distinct = list(dict.fromkeys(msgs))
        except TypeError:
            # Something unhashable recorded as a message (not one the runtime sends): keep
            # every record's as it came, in place.
            self.which = array("H", range(len(msgs)))
            self.messages = _Messages(msgs, names)
        else:
            if None in distinct:
                distinct.remove(None)
            # A record without a message points one past the chunk's messages (read: None).
            where = dict(zip(distinct, range(len(distinct))))
            where[None] = len(distinct)
            self.which = array("H", map(where.__getitem__, msgs))
            self.messages = _Messages(distinct, names)
        details = list(map(detail, records))
        if details.count(None) < len(details):
            at = [i for i, d in enumerate(details) if d is not None]
            self.details = (array("H", at), tuple(details[i] for i in at))
        else:
            self.details = None

    def rows(self, names: _Names, low: int, high: int):
        """Records ``low`` to ``high`` of the chunk, as tuples."""
        if self.details is None:
            details = itertools.repeat(None, high - low)
        else:
            details = [None] * self.size
            for i, d in zip(*self.details):
                details[i] = d
            details = details[low:high]
        which = self.which[low:high]
        if high - low <= 64:  # a few records (an index, a short slice): only their messages
            messages = {w: self.messages.one(names, w) for w in set(which)}
        else:
            messages = self.messages.read(names)
        return zip(self.times[low:high], names.read(self.kinds[low:high]),
                   names.read(self.services[low:high]), map(messages.__getitem__, which), details)


class CompactRecords(list):
    """The records of a trace, the older ones in columns (see the module docstring).

    It is a ``list`` so that code asking ``isinstance(records, list)`` and the engines'
    ``records.append(...)`` keep working; the list's own storage holds only the newest
    records, and every reading method is redefined over columns and list together.
    """

    __slots__ = ("chunk", "_stored", "_chunks", "_names")

    def __init__(self, records=(), *, chunk: int | None = None):
        super().__init__()
        size = CHUNK if chunk is None else chunk
        if type(size) is not int or not 1 <= size <= MAX_CHUNK:
            raise ValueError(f"chunk must be a whole number of records from 1 to {MAX_CHUNK:,}, got {chunk!r}")
        self.chunk = size
        self._stored = 0     # records moved into columns
        self._chunks: list[_Chunk] = []
        self._names = _Names()
        self.extend(records)

    # -- writing -------------------------------------------------------------------------

    # ``append`` is the list's own (C): the engines append four records per message, and
    # a Python method would cost a call each. The records wait until ``settle``.

    def extend(self, records) -> None:
        """Add records at the end, in order, then settle them."""
        list.extend(self, records)
        self.settle()

    def settle(self) -> None:
        """Move every full chunk of the records waiting into columns (the rest wait on).

        ``System.run`` calls it between slices of a run (every ``chunk // 4`` events, about
        a chunk of records) and at its end, so a run holds about a chunk of records as tuples,
        and moves them while they are still in the processor's cache."""
        size = self.chunk
        full = _list_len(self) // size * size
        if not full:
            return
        waiting = list.__getitem__(self, slice(0, full))
        for start in range(0, full, size):
            self._chunks.append(_Chunk(waiting[start:start + size], self._names))
        del waiting
        list.__delitem__(self, slice(0, full))
        self._stored += full

    # -- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._stored + _list_len(self)

    def _stored_rows(self, start: int, stop: int):
        """The stored records ``start`` to ``stop`` (both within the columns), as tuples."""
        size = self.chunk
        names = self._names
        return itertools.chain.from_iterable(
            self._chunks[k].rows(names, max(start - k * size, 0), min(stop - k * size, size))
            for k in range(start // size, (stop - 1) // size + 1 if stop > start else 0))

    def __iter__(self):
        return itertools.chain(self._stored_rows(0, self._stored), map(_as_read, _list_iter(self)))

    def __reversed__(self):
        return reversed(list(self))

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            if stop <= start:
                return []
            stored = self._stored
            rows = list(self._stored_rows(start, min(stop, stored))) if start < stored else []
            if stop > stored:
                rows.extend(map(_as_read, list.__getitem__(self, slice(max(start, stored) - stored, stop - stored))))
            return rows
        try:
            i = key.__index__()
        except AttributeError:
            raise TypeError(f"trace records are indexed by integers or slices, not {type(key).__name__}") from None
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"record {key} is out of range: the trace holds {n} records")
        if i >= self._stored:
            return _as_read(list.__getitem__(self, i - self._stored))
        return next(iter(self._stored_rows(i, i + 1)))

    def __contains__(self, record) -> bool:
        return any(r == record for r in self)

    def __eq__(self, other):
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    def __add__(self, other):
        return list(self) + list(other)

    def __repr__(self) -> str:
        return f"<CompactRecords: {len(self):,} records, {self._stored:,} of them in columns>"

    def __reduce__(self):
        return (_rebuild, (list(self), self.chunk))

    def copy(self) -> list:
        """The records as a plain list of tuples."""
        return list(self)

    def index(self, record, start: int = 0, stop: int | None = None) -> int:
        """The index of the first record equal to ``record`` (ValueError if none)."""
        return list(self).index(record, start, len(self) if stop is None else stop)

    def count(self, record) -> int:
        """How many records equal ``record``."""
        return sum(1 for r in self if r == record)

    # -- what a trace never does -----------------------------------------------------------

    def _append_only(self, *args, **kwargs):
        raise TypeError("a compact trace only grows: records are appended, never changed, "
                        "removed or reordered (copy it with list(records) to edit a copy)")

    insert = pop = remove = sort = reverse = clear = _append_only
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _append_only


def _rebuild(records: list, chunk: int) -> CompactRecords:
    return CompactRecords(records, chunk=chunk)
