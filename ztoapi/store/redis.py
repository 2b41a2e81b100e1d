"""The shared store in Redis, for several instances behind a load balancer.

Rate limits and concurrency slots are Lua scripts, so each check-and-count is one atomic step
on the server: instances together never accept more than a limit."""
import os
import time
import uuid

import orjson
import redis

from ztoapi.store import CREDENTIALS_FRESH_SECONDS
from ztoapi.store import LOG_KEEP
from ztoapi.store import SEPARATOR
from ztoapi.store import Verdict
from ztoapi.store import failed
from ztoapi.store import total_scopes
from ztoapi.store import totals_from_rows

PREFIX = "ztoapi:"
TIMEOUT_SECONDS = 0.5     # a slow Redis is skipped (and logged), never waited on long
READ_BATCH = 500

# KEYS[1] counter; ARGV limit, window ms → {allowed, remaining, ms until reset}
HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local ttl = redis.call('PTTL', KEYS[1])
if count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return {0, 0, ttl}
end
return {1, tonumber(ARGV[1]) - count, ttl}
"""

# KEYS[1] sorted set of leases by expiry; ARGV limit, ttl ms, lease → 1 taken, 0 full
ACQUIRE = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] sorted set of leases by expiry; ARGV ttl ms, leases... → how many were still held
RENEW = """
local now = redis.call('TIME')
local expires = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', expires, ARGV[i])
end
if renewed > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return renewed
"""


class RedisStore:
    def __init__(self, url, clock=time.time):
        self.url = url
        self.clock = clock
        self._client = None
        self._pid = None

    def record(self, rec):
        self.record_many([rec])

    def record_many(self, recs):
        pipe = self._redis().pipeline(transaction=False)
        for rec in recs:
            fields = (int(failed(rec)), rec["tokens_in"], rec["tokens_out"])
            pipe.lpush(PREFIX + "log", orjson.dumps(rec))
            for scope, name in total_scopes(rec):
                for counter, value in zip(("requests", "failed", "tokens_in", "tokens_out"), (1, *fields)):
                    if value:
                        pipe.hincrby(PREFIX + "totals", SEPARATOR.join((scope, name, counter)), value)
        pipe.ltrim(PREFIX + "log", 0, LOG_KEEP - 1)
        pipe.execute()

    def recent(self, limit, key=None):
        if key is None:
            return [orjson.loads(item) for item in self._redis().lrange(PREFIX + "log", 0, limit - 1)]
        found, start = [], 0
        while len(found) < limit and start < LOG_KEEP:
            batch = [orjson.loads(item) for item in
                     self._redis().lrange(PREFIX + "log", start, start + READ_BATCH - 1)]
            found += [rec for rec in batch if rec.get("key") == key]
            if len(batch) < READ_BATCH:
                break
            start += READ_BATCH
        return found[:limit]

    def since(self, seconds):
        """Read the log newest first, in batches, until a record is older than the cut-off."""
        cutoff = self.clock() - seconds
        found, start = [], 0
        while start < LOG_KEEP:
            batch = [orjson.loads(item) for item in
                     self._redis().lrange(PREFIX + "log", start, start + READ_BATCH - 1)]
            found += [rec for rec in batch if rec["time"] >= cutoff]
            if len(batch) < READ_BATCH or batch[-1]["time"] < cutoff:
                break
            start += READ_BATCH
        return sorted(found, key=lambda rec: rec["time"])

    def totals(self):
        counts = {}
        for field, value in self._redis().hgetall(PREFIX + "totals").items():
            scope, *name, counter = field.decode().split(SEPARATOR)
            name = SEPARATOR.join(name)
            counts.setdefault((scope, name), {"requests": 0, "failed": 0, "tokens_in": 0,
                                              "tokens_out": 0})[counter] = int(value)
        return totals_from_rows((scope, name, *values.values()) for (scope, name), values in counts.items())

    def hit(self, bucket, limit, window):
        allowed, remaining, reset_ms = self._redis().eval(HIT, 1, PREFIX + bucket, limit,
                                                          int(window * 1000))
        return Verdict(bool(allowed), remaining, max(reset_ms, 0) / 1000)

    def peek(self, bucket):
        pipe = self._redis().pipeline(transaction=True)
        pipe.get(PREFIX + bucket)
        pipe.pttl(PREFIX + bucket)
        value, ttl_ms = pipe.execute()
        return (int(value), ttl_ms / 1000) if value and ttl_ms > 0 else (0, 0.0)

    def acquire(self, bucket, limit, ttl):
        lease = uuid.uuid4().hex
        taken = self._redis().eval(ACQUIRE, 1, PREFIX + bucket, limit, int(ttl * 1000), lease)
        return lease if taken else None

    def renew(self, leases, ttl):
        by_bucket = {}
        for bucket, lease in leases:
            by_bucket.setdefault(bucket, []).append(lease)
        pipe = self._redis().pipeline(transaction=False)
        for bucket, held in by_bucket.items():
            pipe.eval(RENEW, 1, PREFIX + bucket, int(ttl * 1000), *held)
        pipe.execute()

    def release(self, bucket, lease):
        self._redis().zrem(PREFIX + bucket, lease)

    def add_tokens(self, bucket, count, ttl):
        pipe = self._redis().pipeline(transaction=True)
        pipe.incrby(PREFIX + bucket, count)
        pipe.expire(PREFIX + bucket, int(ttl), nx=True)
        pipe.execute()

    def tokens(self, bucket):
        value = self._redis().get(PREFIX + bucket)
        return int(value) if value else 0

    def revoke(self, name, ttl):
        self._redis().set(PREFIX + "revoked:" + name, 1, px=int(ttl * 1000))

    def revoked(self, name):
        return bool(self._redis().exists(PREFIX + "revoked:" + name))

    def publish_credentials(self, worker, states):
        self._redis().hset(PREFIX + "credentials", worker,
                           orjson.dumps({"time": self.clock(), "states": states}))

    def credentials(self):
        fresh = self.clock() - CREDENTIALS_FRESH_SECONDS
        entries = {worker.decode(): orjson.loads(value)
                   for worker, value in self._redis().hgetall(PREFIX + "credentials").items()}
        return {worker: entry["states"] for worker, entry in entries.items() if entry["time"] >= fresh}

    def keep_document(self, name, data, ttl):
        self._redis().set(PREFIX + "document:" + name, data, px=max(1, int(ttl * 1000)))

    def document(self, name):
        return self._redis().get(PREFIX + "document:" + name)

    def forget_document(self, name):
        return self._redis().delete(PREFIX + "document:" + name) > 0

    def ping(self):
        self._redis().ping()

    def _redis(self):
        """This process's client (its connections must not cross a fork)."""
        if self._pid != os.getpid():
            self._client = redis.Redis.from_url(self.url, socket_timeout=TIMEOUT_SECONDS,
                                                socket_connect_timeout=TIMEOUT_SECONDS)
            self._pid = os.getpid()
        return self._client
