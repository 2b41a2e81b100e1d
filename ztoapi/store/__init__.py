"""State shared by every worker and instance: the request log, statistics, rate-limit counters
and credential health. SQLite in DATA_DIR by default; Redis when REDIS_URL is set.

Every backend has the same methods (the contract is tested against both in tests/test_store.py):

- record(rec)                      append a finished request (a dict, see RECORD_FIELDS) to the
                                   log and add it to the all-time totals
- recent(limit)                    the newest `limit` records, newest first
- since(seconds)                   the records of the last `seconds`, oldest first (the log keeps
                                   the newest LOG_KEEP records)
- totals()                         all-time counts: {"requests", "failed", "tokens_in",
                                   "tokens_out", "by_model": {model: {same four}},
                                   "by_key": {name: {same four}}}
- hit(bucket, limit, window)       count one request in a fixed window of `window` seconds;
                                   Verdict(allowed, remaining, reset_after). A refused hit is not
                                   counted, so the accepted ones never exceed `limit`.
- acquire(bucket, limit, ttl)      take one of `limit` concurrent slots: a lease id, or None
                                   when all are taken; a lease not released lapses after `ttl` s
- release(bucket, lease)
- add_tokens(bucket, n, ttl)       add to a counter that lapses `ttl` seconds after its first use
- tokens(bucket)                   that counter's value (0 when absent)
- publish_credentials(worker, states)  one worker's credential pool state (a list of dicts)
- credentials()                    {worker: states} of the workers heard from in the last minute
- ping()                           raise if the store cannot be reached
"""
import logging
import time
from typing import NamedTuple

log = logging.getLogger("ztoapi.store")

LOG_KEEP = 10_000
REST_SECONDS = 5.0   # after a failure the store is left alone this long: calls fail at once
CREDENTIALS_FRESH_SECONDS = 60
RECORD_FIELDS = ("time", "request_id", "method", "path", "api", "key", "model", "stream", "status",
                 "duration_ms", "ttft_ms", "tokens_in", "tokens_out", "client", "error", "retries")


class Verdict(NamedTuple):
    allowed: bool
    remaining: int
    reset_after: float   # seconds until the window starts again


def failed(rec):
    return rec["status"] >= 400 or rec.get("error") is not None


def totals_from_rows(rows):
    """totals() from (scope, name, requests, failed, tokens_in, tokens_out) rows."""
    totals = {"requests": 0, "failed": 0, "tokens_in": 0, "tokens_out": 0, "by_model": {}, "by_key": {}}
    for scope, name, *counts in rows:
        counted = dict(zip(("requests", "failed", "tokens_in", "tokens_out"), counts))
        if scope == "all":
            totals.update(counted)
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


def open_store(settings):
    """The backend the settings name; connections open lazily, in each worker after the fork."""
    if settings.redis_url:
        from ztoapi.store.redis import RedisStore
        return Breaker(RedisStore(settings.redis_url))
    from ztoapi.store.sqlite import SqliteStore
    return Breaker(SqliteStore(settings.data_dir))
