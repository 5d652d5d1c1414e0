"""A service's own SQLite database: its state, processed ids, outbox and trace records.

One file per process. What a reaction does is committed in ONE transaction: the
business effect (the effect records and the participant's state), the processed id
of the event (the idempotent consumer's table) and the outgoing events (the outbox
table). Trace records written outside a reaction commit one by one as they happen.

Why the trace is a table here rather than a log file: an effect exists exactly when its
transaction committed, so the effect record must commit with it. A kill -9 in the
middle of a reaction rolls back the state change and its effect records together.

The database runs in WAL mode with ``synchronous=OFF``: a killed *process* loses
nothing it committed (the data is in the operating system's page cache); only a crash
of the whole machine could, and the course does not simulate that.
"""

from __future__ import annotations

import json
import sqlite3

from ...trace import CRASH

SCHEMA = """
CREATE TABLE IF NOT EXISTS trace (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, incarnation INTEGER, time REAL,
    kind TEXT, service TEXT, message TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS processed (event TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS outbox (entry INTEGER PRIMARY KEY AUTOINCREMENT, message TEXT, attempts INTEGER);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS deliveries (consumer TEXT, message TEXT, count INTEGER,
    PRIMARY KEY (consumer, message));
"""


def _dumps(obj) -> str | None:
    return None if obj is None else json.dumps(obj, sort_keys=True, default=repr)


class Store:
    """The database of one service process (see the module docstring).

    Opening it counts an incarnation: 1 for the first start, 2 after the first
    restart, and so on; every trace record carries it.
    """

    def __init__(self, path: str):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key='incarnation'").fetchone()
        self.incarnation = (int(row[0]) if row else 0) + 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('incarnation', ?)", (str(self.incarnation),))

    # -- trace -------------------------------------------------------------------------

    def record(self, time: float, kind: str, service: str | None, message: dict | None = None,
               **detail) -> None:
        """Append one trace record (committed at once, or with the open transaction)."""
        self.db.execute("INSERT INTO trace (incarnation, time, kind, service, message, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (self.incarnation, time, kind, service, _dumps(message), _dumps(detail or None)))

    def count_delivery(self, consumer: str, message_id: str) -> int:
        """Count one more delivery of ``message_id`` to ``consumer``; returns the count (1 for the first).

        The service counts for itself, in its own database, rather than trusting the
        broker's counter: JetStream writes a consumer's delivery counts to disk about
        10 ms after each update, so a kill -9 of the broker can forget one and deliver a
        message again as if for the first time; Kafka keeps no count at all. Call it in
        the transaction that records the delivery, so count and trace agree after a kill.
        """
        self.db.execute("INSERT INTO deliveries VALUES (?, ?, 1) ON CONFLICT (consumer, message) "
                        "DO UPDATE SET count = count + 1", (consumer, message_id))
        return self.deliveries(consumer, message_id)

    def deliveries(self, consumer: str, message_id: str) -> int:
        """How many deliveries of ``message_id`` to ``consumer`` were counted (0 for none)."""
        row = self.db.execute("SELECT count FROM deliveries WHERE consumer=? AND message=?",
                              (consumer, message_id)).fetchone()
        return row[0] if row else 0

    # -- one reaction's transaction ------------------------------------------------------

    def begin(self) -> None:
        """Open the reaction's transaction."""
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the reaction's transaction."""
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the open transaction."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def save_state(self, state: dict) -> None:
        """Store the participant's state (inside the transaction)."""
        self.db.execute("INSERT OR REPLACE INTO state VALUES ('state', ?)", (_dumps(state),))

    def load_state(self) -> dict | None:
        """The last committed state, or None on a first start."""
        row = self.db.execute("SELECT value FROM state WHERE key='state'").fetchone()
        return json.loads(row[0]) if row else None

    def mark_processed(self, event: str) -> None:
        """Remember that ``event`` was processed (the idempotent consumer's table)."""
        self.db.execute("INSERT OR IGNORE INTO processed VALUES (?)", (event,))

    def was_processed(self, event: str) -> bool:
        """True when ``event`` was processed by a committed transaction."""
        return self.db.execute("SELECT 1 FROM processed WHERE event=?", (event,)).fetchone() is not None

    # -- outbox ---------------------------------------------------------------------------

    def store_outgoing(self, message: dict) -> int:
        """Add an event to the outbox (inside the transaction); returns its entry number."""
        cur = self.db.execute("INSERT INTO outbox (message, attempts) VALUES (?, 0)", (_dumps(message),))
        return cur.lastrowid

    def pending(self) -> list[tuple[int, dict, int]]:
        """Outbox entries not yet confirmed by the broker: ``(entry, message, attempts)``."""
        return [(e, json.loads(m), a) for e, m, a in
                self.db.execute("SELECT entry, message, attempts FROM outbox ORDER BY entry")]

    def attempted(self, entry: int) -> int:
        """Count one more relay attempt of ``entry``; returns the attempt number."""
        self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE entry=?", (entry,))
        return self.db.execute("SELECT attempts FROM outbox WHERE entry=?", (entry,)).fetchone()[0]

    def confirmed(self, entry: int) -> None:
        """The broker acknowledged ``entry``: it leaves the outbox."""
        self.db.execute("DELETE FROM outbox WHERE entry=?", (entry,))

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def read_trace(path: str) -> list[tuple]:
    """Every trace record of a database: ``(seq, incarnation, time, kind, service, message, detail)``.

    Messages and details come back as dicts (or None). Read-only: a run's supervisor
    calls it while the service may still be writing.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        rows = db.execute("SELECT seq, incarnation, time, kind, service, message, detail FROM trace "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()
    return [(s, i, t, k, sv, json.loads(m) if m else None, json.loads(d) if d else None)
            for s, i, t, k, sv, m, d in rows]


def outbox_size(path: str) -> int:
    """How many entries wait in a database's outbox (0 if it has no outbox yet)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def killed_itself(path: str) -> bool:
    """True if the latest incarnation of a database's service recorded its own crash.

    The supervisor asks after a planned kill -9: a process that had just killed itself
    between its commit and its publish may not yet have been reported dead, and the
    kill then hit a process that was already ending.
    """
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        row = db.execute("SELECT value FROM meta WHERE key='incarnation'").fetchone()
        if row is None:
            return False
        return db.execute("SELECT COUNT(*) FROM trace WHERE incarnation=? AND kind=? AND service IS NOT NULL",
                          (int(row[0]), CRASH)).fetchone()[0] > 0
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
