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
from ztoapi.store import totals_from_rows

FILE_NAME = "ztoapi.sqlite3"
BUSY_TIMEOUT_SECONDS = 0.5    # a store this busy is skipped (and logged), never waited on long
TRIM_EVERY = 100              # records between trims of the log

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
        fields = (int(failed(rec)), rec["tokens_in"], rec["tokens_out"])
        with self._transaction() as db:
            db.execute("INSERT INTO requests (time, record) VALUES (?, ?)", (rec["time"], orjson.dumps(rec)))
            db.execute(ADD_TOTALS, ("all", "", *fields))
            if rec.get("model"):
                db.execute(ADD_TOTALS, ("model", rec["model"], *fields))
            if rec.get("key"):
                db.execute(ADD_TOTALS, ("key", rec["key"], *fields))
            self._records += 1
            if self._records % TRIM_EVERY == 0:
                db.execute("DELETE FROM requests WHERE id <= (SELECT MAX(id) FROM requests) - ?", (LOG_KEEP,))

    def recent(self, limit):
        rows = self._query("SELECT record FROM requests ORDER BY id DESC LIMIT ?", (limit,))
        return [orjson.loads(row[0]) for row in rows]

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

    def publish_credentials(self, worker, states):
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO credentials VALUES (?, ?, ?)",
                       (worker, self.clock(), orjson.dumps(states)))

    def credentials(self):
        rows = self._query("SELECT worker, states FROM credentials WHERE time >= ?",
                           (self.clock() - CREDENTIALS_FRESH_SECONDS,))
        return {worker: orjson.loads(states) for worker, states in rows}

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
