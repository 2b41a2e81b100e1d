"""The pool of Z.ai API keys (ZAI_API_KEY): round robin over the healthy ones.

A key the API rejects (401) rests for REJECTED_REST_SECONDS (the operator may fix the account
meanwhile); a rate-limited one rests for what the API said, or for a cool-down that doubles each
time (TOKEN_COOLDOWN_SECONDS first); three transient failures in a row start a cool-down too. A key
is never logged or shown whole: `tail(key)` is all that leaves this module.
"""
import logging
import threading
import time

log = logging.getLogger("ztoapi.upstream")
FAILURES_BEFORE_COOLDOWN = 3
MAX_REST_SECONDS = 3600.0
REJECTED_REST_SECONDS = 600.0


def tail(key):
    """A key as logs and the dashboard show it: its last 4 characters (none of a short one)."""
    return "..." + key[-4:] if len(key) >= 16 else "..."


class KeyHealth:
    def __init__(self, key):
        self.key = key
        self.rejected = False     # the rest is for a 401
        self.rest_until = 0.0
        self.failures = 0
        self.cooldowns = 0
        self.uses = 0

    def usable(self, now):
        return now >= self.rest_until

    def describe(self, now):
        if now >= self.rest_until:
            return "ok"
        if self.rejected:
            return f"rejected (401); resting for {self.rest_until - now:.0f} s"
        return f"cooling down for {self.rest_until - now:.0f} s"


class KeyPool:
    """Hands out keys and takes reports of how they fared."""

    def __init__(self, keys, cooldown, clock=time.monotonic):
        self.healths = [KeyHealth(key) for key in dict.fromkeys(keys)]
        self.cooldown = cooldown
        self.clock = clock
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self):
        """The next usable key in turn, or None."""
        now = self.clock()
        with self._lock:
            count = len(self.healths)
            for step in range(count):
                health = self.healths[(self._next + step) % count]
                if health.usable(now):
                    self._next = (self._next + step + 1) % count
                    health.uses += 1
                    return health.key
        return None

    def peek(self):
        """A usable key without taking a turn (for the model list and probes), or None."""
        now = self.clock()
        with self._lock:
            return next((h.key for h in self.healths if h.usable(now)), None)

    def usable(self):
        now = self.clock()
        with self._lock:
            return any(h.usable(now) for h in self.healths)

    def succeeded(self, key):
        with self._lock:
            health = self._find(key)
            if health is not None:
                health.failures = health.cooldowns = 0
                health.rejected = False

    def rejected(self, key):
        """The API answered 401: the key rests for long."""
        with self._lock:
            health = self._find(key)
            if health is not None:
                health.rejected = True
                health.rest_until = self.clock() + REJECTED_REST_SECONDS
        log.warning("Z.ai's API rejected the key %s (401); it rests for %.0f s", tail(key),
                    REJECTED_REST_SECONDS)

    def rate_limited(self, key, retry_after=None):
        """The API limits this key: it rests for Retry-After, or a growing cool-down."""
        with self._lock:
            health = self._find(key)
            if health is not None:
                self._cool(health, retry_after)

    def failed(self, key):
        """A transient failure (5xx, connection trouble); several in a row start a cool-down."""
        with self._lock:
            health = self._find(key)
            if health is None:
                return
            health.failures += 1
            if health.failures >= FAILURES_BEFORE_COOLDOWN:
                health.failures = 0
                self._cool(health, None)

    def soonest(self):
        """Seconds until the first resting key may be used again (0 when one is usable now)."""
        now = self.clock()
        with self._lock:
            return max(0.0, min((h.rest_until for h in self.healths), default=0.0) - now)

    def state(self):
        """Each key's health, without the key."""
        now = self.clock()
        with self._lock:
            return [{"key": tail(h.key), "state": h.describe(now), "uses": h.uses} for h in self.healths]

    def why_none(self):
        """Why no key is usable, naming each by its tail."""
        states = ", ".join(f"{s['key']} {s['state']}" for s in self.state())
        return f"every ZAI_API_KEY key rests ({states})" if states else "ZAI_API_KEY is not set"

    def _cool(self, health, retry_after):
        health.cooldowns += 1
        health.rejected = False
        seconds = retry_after if retry_after else self.cooldown * 2 ** (health.cooldowns - 1)
        health.rest_until = self.clock() + min(seconds, MAX_REST_SECONDS)

    def _find(self, key):
        return next((h for h in self.healths if h.key == key), None)
