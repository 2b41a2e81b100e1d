"""The counting half of the store contract in one process's memory: rate-limit windows, slots,
token counts and revocations. A worker counts here while the shared store cannot be reached, so
its limits still hold (per worker) during an outage of SQLite or Redis."""
import threading
import time
import uuid

from ztoapi.store import Verdict

SWEEP_EVERY = 1000   # writes between removals of lapsed entries


class MemoryStore:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._counters = {}   # bucket → [value, expires]
        self._leases = {}     # bucket → {lease: expires}
        self._writes = 0

    def hit(self, bucket, limit, window):
        with self._lock:
            now = self._write()
            value, expires = self._counter(bucket, now, window)
            if value >= limit:
                return Verdict(False, 0, expires - now)
            self._counters[bucket] = [value + 1, expires]
        return Verdict(True, limit - value - 1, expires - now)

    def peek(self, bucket):
        with self._lock:
            now = self.clock()
            value, expires = self._counters.get(bucket, (0, now))
            return (value, expires - now) if expires > now else (0, 0.0)

    def acquire(self, bucket, limit, ttl):
        with self._lock:
            now = self._write()
            leases = {lease: expires for lease, expires in self._leases.get(bucket, {}).items()
                      if expires > now}
            if len(leases) >= limit:
                self._leases[bucket] = leases
                return None
            lease = uuid.uuid4().hex
            leases[lease] = now + ttl
            self._leases[bucket] = leases
        return lease

    def renew(self, leases, ttl):
        with self._lock:
            now = self.clock()
            for bucket, lease in leases:
                held = self._leases.get(bucket, {})
                if held.get(lease, now) > now:
                    held[lease] = now + ttl

    def release(self, bucket, lease):
        with self._lock:
            self._leases.get(bucket, {}).pop(lease, None)

    def add_tokens(self, bucket, count, ttl):
        with self._lock:
            now = self._write()
            value, expires = self._counter(bucket, now, ttl)
            self._counters[bucket] = [value + count, expires]

    def tokens(self, bucket):
        return self.peek(bucket)[0]

    def revoke(self, name, ttl):
        with self._lock:
            now = self._write()
            self._counters["revoked:" + name] = [1, now + ttl]

    def revoked(self, name):
        return self.peek("revoked:" + name)[0] > 0

    def _counter(self, bucket, now, window):
        value, expires = self._counters.get(bucket, (0, now))
        return (value, expires) if expires > now else (0, now + window)

    def _write(self):
        """The time now; every SWEEP_EVERY writes, lapsed entries are dropped (caller holds the lock)."""
        now = self.clock()
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._counters = {bucket: entry for bucket, entry in self._counters.items() if entry[1] > now}
            self._leases = {bucket: held for bucket, held in
                            ((bucket, {lease: exp for lease, exp in held.items() if exp > now})
                             for bucket, held in self._leases.items()) if held}
        return now
