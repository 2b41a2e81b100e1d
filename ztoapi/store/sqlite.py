"""The shared store in SQLite (WAL), one file in DATA_DIR: correct across the workers of a machine."""
import os
import sqlite3
import threading
import time
import uuid

import orjson

from ztoapi.store import CREDENTIALS_FRESH_SECONDS
from ztoapi.store import LOG_KEEP
from ztoapi.store import Verdict
from ztoapi.store import failed
from ztoapi.store import total_scopes
from ztoapi.store import totals_from_rows

FILE_NAME = "ztoapi.sqlite3"
BUSY_TIMEOUT_SECONDS = 0.5    # a store this busy is skipped (and logged), never waited on long
TRIM_EVERY = 100              # records between trims of the log (and of lapsed counters and leases)
READ_BATCH = 500              # records read at a time when looking for one key's
NEWEST_ID = 2**63 - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,
                                     record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time);
CREATE TABLE IF NOT EXISTS totals (scope TEXT NOT NULL, name TEXT NOT NULL, requests INTEGER NOT NULL,
                                   failed INTEGER NOT NULL, tokens_in INTEGER NOT NULL,
                                   tokens_out INTEGER NOT NULL, PRIMARY KEY (scope, name));
CREATE TABLE IF NOT EXISTS counters (bucket TEXT PRIMARY KEY, value INTEGER NOT NULL,
                                     expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (bucket TEXT NOT NULL, lease TEXT NOT NULL, expires REAL NOT NULL,
                                   PRIMARY KEY (bucket, lease));
CREATE TABLE IF NOT EXISTS credentials (worker TEXT PRIMARY KEY, time REAL NOT NULL,
                                        states BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, expires REAL NOT NULL, data BLOB NOT NULL);
"""

ADD_TOTALS = """
INSERT INTO totals VALUES (?, ?, 1, ?, ?, ?)
ON CONFLICT (scope, name) DO UPDATE SET requests = requests + 1, failed = failed + excluded.failed,
    tokens_in = tokens_in + excluded.tokens_in, tokens_out = tokens_out + excluded.tokens_out
"""


class SqliteStore:
    def __init__(self, data_dir, clock=time.time):
        self.path = os.path.join(data_dir, FILE_NAME)
        self.clock = clock
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None
        self._records = 0

    def record(self, rec):
        self.record_many([rec])

    def record_many(self, recs):
        with self._transaction() as db:
            for rec in recs:
                fields = (int(failed(rec)), rec["tokens_in"], rec["tokens_out"])
                db.execute("INSERT INTO requests (time, record) VALUES (?, ?)", (rec["time"], orjson.dumps(rec)))
                for scope, name in total_scopes(rec):
                    db.execute(ADD_TOTALS, (scope, name, *fields))
            trim = self._records // TRIM_EVERY != (self._records + len(recs)) // TRIM_EVERY
            self._records += len(recs)
            if trim:
                db.execute("DELETE FROM requests WHERE id <= (SELECT MAX(id) FROM requests) - ?", (LOG_KEEP,))
                db.execute("DELETE FROM counters WHERE expires <= ?", (self.clock(),))
                db.execute("DELETE FROM leases WHERE expires <= ?", (self.clock(),))
                db.execute("DELETE FROM documents WHERE expires <= ?", (self.clock(),))

    def recent(self, limit, key=None):
        if key is None:
            rows = self._query("SELECT record FROM requests ORDER BY id DESC LIMIT ?", (limit,))
            return [orjson.loads(row[0]) for row in rows]
        found, before, scanned = [], NEWEST_ID, 0
        while len(found) < limit and scanned < LOG_KEEP:
            rows = self._query("SELECT id, record FROM requests WHERE id < ? ORDER BY id DESC LIMIT ?",
                               (before, READ_BATCH))
            records = [orjson.loads(record) for _, record in rows]
            found += [rec for rec in records if rec.get("key") == key]
            if len(rows) < READ_BATCH:
                break
            before, scanned = rows[-1][0], scanned + len(rows)
        return found[:limit]

    def since(self, seconds):
        rows = self._query("SELECT record FROM requests WHERE time >= ? ORDER BY id",
                           (self.clock() - seconds,))
        return [orjson.loads(row[0]) for row in rows]

    def totals(self):
        return totals_from_rows(self._query(
            "SELECT scope, name, requests, failed, tokens_in, tokens_out FROM totals"))

    def hit(self, bucket, limit, window):
        now = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT value, expires FROM counters WHERE bucket = ?", (bucket,)).fetchone()
            value, expires = row if row and row[1] > now else (0, now + window)
            if value >= limit:
                return Verdict(False, 0, expires - now)
            db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?)", (bucket, value + 1, expires))
        return Verdict(True, limit - value - 1, expires - now)

    def peek(self, bucket):
        now = self.clock()
        row = self._query("SELECT value, expires FROM counters WHERE bucket = ? AND expires > ?",
                          (bucket, now))
        return (row[0][0], row[0][1] - now) if row else (0, 0.0)

    def acquire(self, bucket, limit, ttl):
        now = self.clock()
        lease = uuid.uuid4().hex
        with self._transaction() as db:
            db.execute("DELETE FROM leases WHERE bucket = ? AND expires <= ?", (bucket, now))
            taken, = db.execute("SELECT COUNT(*) FROM leases WHERE bucket = ?", (bucket,)).fetchone()
            if taken >= limit:
                return None
            db.execute("INSERT INTO leases VALUES (?, ?, ?)", (bucket, lease, now + ttl))
        return lease

    def renew(self, leases, ttl):
        expires = self.clock() + ttl
        with self._transaction() as db:
            db.executemany("UPDATE leases SET expires = ? WHERE bucket = ? AND lease = ? AND expires > ?",
                           [(expires, bucket, lease, self.clock()) for bucket, lease in leases])

    def release(self, bucket, lease):
        with self._transaction() as db:
            db.execute("DELETE FROM leases WHERE bucket = ? AND lease = ?", (bucket, lease))

    def add_tokens(self, bucket, count, ttl):
        now = self.clock()
        with self._transaction() as db:
            row = db.execute("SELECT value, expires FROM counters WHERE bucket = ?", (bucket,)).fetchone()
            value, expires = row if row and row[1] > now else (0, now + ttl)
            db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?)", (bucket, value + count, expires))

    def tokens(self, bucket):
        row = self._query("SELECT value FROM counters WHERE bucket = ? AND expires > ?",
                          (bucket, self.clock()))
        return row[0][0] if row else 0

    def revoke(self, name, ttl):
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO counters VALUES (?, 1, ?)",
                       ("revoked:" + name, self.clock() + ttl))

    def revoked(self, name):
        return bool(self._query("SELECT 1 FROM counters WHERE bucket = ? AND expires > ?",
                                ("revoked:" + name, self.clock())))

    def publish_credentials(self, worker, states):
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO credentials VALUES (?, ?, ?)",
                       (worker, self.clock(), orjson.dumps(states)))

    def credentials(self):
        rows = self._query("SELECT worker, states FROM credentials WHERE time >= ?",
                           (self.clock() - CREDENTIALS_FRESH_SECONDS,))
        return {worker: orjson.loads(states) for worker, states in rows}

    def keep_document(self, name, data, ttl):
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", (name, self.clock() + ttl, data))

    def document(self, name):
        rows = self._query("SELECT data FROM documents WHERE name = ? AND expires > ?", (name, self.clock()))
        return bytes(rows[0][0]) if rows else None

    def forget_document(self, name):
        with self._transaction() as db:
            return db.execute("DELETE FROM documents WHERE name = ? AND expires > ?",
                              (name, self.clock())).rowcount > 0

    def ping(self):
        self._query("SELECT 1")

    def _query(self, sql, parameters=()):
        with self._lock:
            return self._db().execute(sql, parameters).fetchall()

    def _transaction(self):
        return Transaction(self)

    def _db(self):
        """This process's connection, opened after the fork (a connection must not cross it)."""
        if self._pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(SCHEMA)
            self._connection, self._pid = db, os.getpid()
        return self._connection


class Transaction:
    """BEGIN IMMEDIATE … COMMIT under the store's lock: the write lock is taken up front, so two
    workers' read-then-write steps (rate limits) cannot interleave."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        self.store._lock.acquire()
        try:
            self.db = self.store._db()
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return self.db

    def __exit__(self, kind, error, trace):
        try:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self.store._lock.release()
