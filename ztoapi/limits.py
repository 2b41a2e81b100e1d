"""Per-key limits: requests per minute, concurrent requests (streams count until their last byte)
and tokens per UTC day. Over a limit → 429 with Retry-After; every answer carries x-ratelimit-*
headers.

The limits are counted in the shared store, so they hold across workers and instances. A
concurrency slot is a lease that the worker holding it renews every RENEW_SECONDS while its
request runs: when a worker dies, even by kill -9, its slots are free again within LEASE_SECONDS.

While the store cannot be reached, the limits are enforced per worker while the store is down:
each worker counts requests per minute and concurrent requests in its own memory from the moment
the store failed, and tokens per day from what it has counted itself that day (every worker keeps
that count in memory too). So with N workers (and M instances) a key can get up to N×M times its
limit during the outage, never an unlimited amount. The outage is logged; it is neither an outage
of the API nor a lifting of the limits."""
import datetime
import logging
import math
import os
import threading
import time

from flask import current_app
from flask import g

from ztoapi.errors import ApiError
from ztoapi.store import OutageLog
from ztoapi.store.memory import MemoryStore
from ztoapi.throttle import AuthThrottle

log = logging.getLogger("ztoapi.limits")

MINUTE = 60.0
DAY = 86400.0
LEASE_SECONDS = 10.0          # a slot its worker stopped renewing (it died) is free after this
RENEW_SECONDS = 2.5           # how often a worker renews the slots it holds
MEMORY_LEASE_SECONDS = 900.0  # a slot counted in memory dies with its worker anyway; this is a backstop


class Admission:
    """What admitting a request took: a concurrency slot to give back, and the headers to send."""

    def __init__(self):
        self.slot = None   # (store, bucket, lease)
        self.headers = {}


class Limiter:
    def __init__(self, store, day_limited=(), clock=None, memory=None):
        self.store = store
        self.memory = memory or MemoryStore()
        self.day_limited = frozenset(day_limited)   # names of the keys with a tokens-per-day limit
        self.clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self.leases = LeaseKeeper(store, LEASE_SECONDS, RENEW_SECONDS)
        self.outage = OutageLog(log)

    def admit(self, client_key):
        """An Admission for `client_key`, or ApiError 429 when a limit is reached: counted in the
        store, or in this worker's memory when the store fails."""
        try:
            return self._admit(client_key, self.store)
        except ApiError:
            raise
        except Exception as error:
            self.outage.warn("rate limits counted in this worker's memory, the store failed: %s", error)
        return self._admit(client_key, self.memory)

    def release(self, admission):
        if admission.slot is None:
            return
        store, bucket, lease = admission.slot
        admission.slot = None
        if store is self.memory:
            store.release(bucket, lease)
            return
        self.leases.drop(lease)
        try:
            store.release(bucket, lease)
        except Exception as error:
            log.warning("concurrency slot not released (it lapses within %.0f s): %s", self.leases.ttl, error)

    def count_tokens(self, record):
        """A record sink: add a finished request's tokens to its key's count for the day (in this
        worker's memory as well, for when the store is down)."""
        used = record["tokens_in"] + record["tokens_out"]
        if used and record["key"] in self.day_limited:
            bucket = self._day_bucket(record["key"])
            self.memory.add_tokens(bucket, used, DAY + MINUTE)
            self.store.add_tokens(bucket, used, DAY + MINUTE)

    def _admit(self, client_key, store):
        admission = Admission()
        self._check_tokens(client_key, admission, store)
        self._take_slot(client_key, admission, store)
        try:
            self._count_request(client_key, admission, store)
        except BaseException:
            self.release(admission)
            raise
        return admission

    def _check_tokens(self, client_key, admission, store):
        limit = client_key.tokens_per_day
        if not limit:
            return
        used = store.tokens(self._day_bucket(client_key.name))
        now = self.clock()
        reset = (now.replace(hour=0, minute=0, second=0, microsecond=0)
                 + datetime.timedelta(days=1) - now).total_seconds()
        admission.headers.update({"x-ratelimit-limit-tokens": str(limit),
                                  "x-ratelimit-remaining-tokens": str(max(limit - used, 0)),
                                  "x-ratelimit-reset-tokens": duration(reset)})
        if used >= limit:
            raise limited(f"Rate limit reached for tokens per day (TPD) on key '{client_key.name}': "
                          f"limit {limit}, used {used}.", reset, admission)

    def _take_slot(self, client_key, admission, store):
        limit = client_key.streams
        if not limit:
            return
        bucket = f"streams:{client_key.name}"
        in_memory = store is self.memory
        lease = store.acquire(bucket, limit, MEMORY_LEASE_SECONDS if in_memory else self.leases.ttl)
        if lease is None:
            raise limited(f"Too many concurrent requests on key '{client_key.name}': limit {limit}. "
                          "Wait for one to finish.", 1, admission)
        admission.slot = (store, bucket, lease)
        if not in_memory:
            self.leases.hold(bucket, lease)

    def _count_request(self, client_key, admission, store):
        limit = client_key.rpm
        if not limit:
            return
        verdict = store.hit(f"rpm:{client_key.name}", limit, MINUTE)
        admission.headers.update({"x-ratelimit-limit-requests": str(limit),
                                  "x-ratelimit-remaining-requests": str(verdict.remaining),
                                  "x-ratelimit-reset-requests": duration(verdict.reset_after)})
        if not verdict.allowed:
            raise limited(f"Rate limit reached for requests per minute (RPM) on key "
                          f"'{client_key.name}': limit {limit}.", verdict.reset_after, admission)

    def _day_bucket(self, name):
        return f"tokens:{name}:{self.clock():%Y%m%d}"


class LeaseKeeper:
    """The store leases (concurrency slots) this worker holds, renewed every RENEW_SECONDS by a
    background thread (a greenlet under gevent) that runs while there are any. A worker that dies
    stops renewing, and its slots lapse."""

    def __init__(self, store, ttl, every):
        self.store, self.ttl, self.every = store, ttl, every
        self.outage = OutageLog(log)
        self._held = {}             # lease → bucket
        self._lock = threading.Lock()
        self._renewing_in = None    # the pid whose thread renews (a fork starts without one)

    def hold(self, bucket, lease):
        with self._lock:
            self._held[lease] = bucket
            if self._renewing_in != os.getpid():
                self._renewing_in = os.getpid()
                threading.Thread(target=self._renew, name="ztoapi-slot-leases", daemon=True).start()

    def drop(self, lease):
        with self._lock:
            self._held.pop(lease, None)

    def held(self):
        with self._lock:
            return [(bucket, lease) for lease, bucket in self._held.items()]

    def _renew(self):
        while True:
            time.sleep(self.every)
            with self._lock:
                if not self._held:
                    self._renewing_in = None
                    return
            try:
                self.store.renew(self.held(), self.ttl)
            except Exception as error:
                self.outage.warn("concurrency slots not renewed (they lapse within %.0f s): %s",
                                  self.ttl, error)


def limited(message, retry_after, admission):
    return ApiError(429, f"{message} Try again in {duration(retry_after)}.", code="rate_limit_exceeded",
                    headers={**admission.headers, "Retry-After": str(max(math.ceil(retry_after), 1))})


def duration(seconds):
    """OpenAI's reset format: "1s", "6m0s", "1h2m3s"."""
    seconds = max(math.ceil(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def init_app(app):
    """The limiter, its token counting and the failed-authentication throttle."""
    store = app.extensions["store"]
    day_limited = [key.name for key in app.extensions["keys"].keys() if key.tokens_per_day]
    limiter = app.extensions["limiter"] = Limiter(store, day_limited)
    app.extensions["record_sinks"].append(limiter.count_tokens)
    app.extensions["throttle"] = AuthThrottle(store, limiter.memory,
                                              app.config["SETTINGS"].auth_failures_per_minute)


def release_slot(response):
    """Free the request's concurrency slot when the response ends (a stream: its last byte)."""
    admission = g.get("admission")
    if admission is None:
        return response
    limiter = current_app.extensions["limiter"]
    response.headers.extend(admission.headers)
    if response.is_streamed:
        response.call_on_close(lambda: limiter.release(admission))
    else:
        limiter.release(admission)
    return response


def admit_request(client_key, limiter):
    """Admit the current request for `client_key`; its slot is freed when the response ends."""
    g.client_key = client_key
    g.admission = limiter.admit(client_key)
