"""State shared by every worker and instance: the request log, statistics, rate-limit counters,
failed-authentication counts, revoked dashboard sessions and credential health. SQLite in DATA_DIR
by default; Redis when REDIS_URL is set.

Every backend has the same methods (the contract is tested against both in tests/test_store.py):

- record(rec)                      append a finished request (a dict, see RECORD_FIELDS) to the
                                   log and add it to the all-time totals
- record_many(recs)                the same for several, in one transaction (oldest first)
- recent(limit, key=None)          the newest `limit` records, newest first; with `key`, only
                                   that client key's (looked for among the newest LOG_KEEP)
- since(seconds)                   the records of the last `seconds`, oldest first (the log keeps
                                   the newest LOG_KEEP records)
- totals()                         all-time counts: {"requests", "failed", "tokens_in",
                                   "tokens_out", "by_model": {model: {same four}},
                                   "by_key": {name: {same four}},
                                   "by_key_model": {name: {model: {same four}}}}
- hit(bucket, limit, window)       count one request in a fixed window of `window` seconds;
                                   Verdict(allowed, remaining, reset_after). A refused hit is not
                                   counted, so the accepted ones never exceed `limit`.
- peek(bucket)                     (count, reset_after) of that window without counting;
                                   (0, 0.0) when none is open
- acquire(bucket, limit, ttl)      take one of `limit` concurrent slots: a lease id, or None
                                   when all are taken; a lease not renewed lapses after `ttl` s
- renew(leases, ttl)               push the expiry of [(bucket, lease)...] to `ttl` s from now
                                   (a lease that has already lapsed stays gone)
- release(bucket, lease)
- add_tokens(bucket, n, ttl)       add to a counter that lapses `ttl` seconds after its first use
- tokens(bucket)                   that counter's value (0 when absent)
- revoke(name, ttl)                remember `name` (a dashboard session id) as revoked for `ttl` s
- revoked(name)                    whether it is
- publish_credentials(worker, states)  one worker's credential pool state (a list of dicts)
- credentials()                    {worker: states} of the workers heard from in the last minute
- keep_document(name, data, ttl)   keep `data` (bytes: a stored Responses API response) under
                                   `name` for `ttl` seconds
- document(name)                   those bytes, or None once lapsed or never kept
- forget_document(name)            drop them (True when there was something to drop)
- ping()                           raise if the store cannot be reached

ztoapi.store.memory.MemoryStore has the counting half of the contract (hit, peek, acquire,
renew, release, add_tokens, tokens, revoke, revoked) in one process's memory: what a worker
falls back on while the shared store cannot be reached.
"""
import logging
import time
from typing import NamedTuple

log = logging.getLogger("ztoapi.store")

LOG_KEEP = 10_000
REST_SECONDS = 5.0   # after a failure the store is left alone this long: calls fail at once
CREDENTIALS_FRESH_SECONDS = 60
WARN_EVERY_SECONDS = 60.0   # a store that stays down is logged once a minute, not once a call
SEPARATOR = "\x1f"   # between a key's name and a model's in the "keymodel" totals
RECORD_FIELDS = ("time", "request_id", "method", "path", "api", "key", "model", "stream", "status",
                 "duration_ms", "ttft_ms", "tokens_in", "tokens_out", "client", "error", "retries",
                 "upstream")


class Verdict(NamedTuple):
    allowed: bool
    remaining: int
    reset_after: float   # seconds until the window starts again


def failed(rec):
    return rec["status"] >= 400 or rec.get("error") is not None


def total_scopes(rec):
    """The (scope, name) pairs a record adds to: everything, its model, its key, its key's model."""
    scopes = [("all", "")]
    if rec.get("model"):
        scopes.append(("model", rec["model"]))
    if rec.get("key"):
        scopes.append(("key", rec["key"]))
    if rec.get("key") and rec.get("model"):
        scopes.append(("keymodel", rec["key"] + SEPARATOR + rec["model"]))
    return scopes


def totals_from_rows(rows):
    """totals() from (scope, name, requests, failed, tokens_in, tokens_out) rows."""
    totals = {"requests": 0, "failed": 0, "tokens_in": 0, "tokens_out": 0, "by_model": {}, "by_key": {},
              "by_key_model": {}}
    for scope, name, *counts in rows:
        counted = dict(zip(("requests", "failed", "tokens_in", "tokens_out"), counts))
        if scope == "all":
            totals.update(counted)
        elif scope == "keymodel":
            key, _, model = name.partition(SEPARATOR)
            totals["by_key_model"].setdefault(key, {})[model] = counted
        else:
            totals["by_" + scope][name] = counted
    return totals


class StoreDown(Exception):
    """The store failed a moment ago and is being left alone."""


class Breaker:
    """Wraps a backend so that a store that is down costs one timeout per REST_SECONDS, not one
    per call: while it rests, every call raises StoreDown at once."""

    def __init__(self, backend, clock=time.monotonic):
        self.backend = backend
        self.clock = clock
        self.resting_until = 0.0

    def __getattr__(self, name):
        method = getattr(self.backend, name)

        def guarded(*args, **kwargs):
            if self.clock() < self.resting_until:
                raise StoreDown("the store failed less than %.0f s ago" % REST_SECONDS)
            try:
                return method(*args, **kwargs)
            except Exception:
                self.resting_until = self.clock() + REST_SECONDS
                raise
        return guarded


class OutageLog:
    """Logs that the store failed at most once every WARN_EVERY_SECONDS: an outage is one event,
    not one a request."""

    def __init__(self, logger=log):
        self.logger = logger
        self.last = None

    def warn(self, message, *args):
        now = time.monotonic()
        if self.last is None or now - self.last >= WARN_EVERY_SECONDS:
            self.last = now
            self.logger.warning(message, *args)


def open_store(settings):
    """The backend the settings name; connections open lazily, in each worker after the fork."""
    if settings.redis_url:
        from ztoapi.store.redis import RedisStore
        return Breaker(RedisStore(settings.redis_url))
    from ztoapi.store.sqlite import SqliteStore
    return Breaker(SqliteStore(settings.data_dir))
