"""Per-key limits, counted in the shared store so they hold across workers and instances:
requests per minute, concurrent requests (streams count until their last byte) and tokens per
UTC day. Over a limit → 429 with Retry-After; every answer carries x-ratelimit-* headers.

When the store cannot be reached the request is let through and a warning logged: an outage
of the store must not become an outage of the API."""
import datetime
import logging
import math

from flask import g

from ztoapi.errors import ApiError

log = logging.getLogger("ztoapi.limits")

MINUTE = 60.0
DAY = 86400.0
LEASE_SECONDS = 900.0   # a slot lapses by itself if its worker died holding it


class Admission:
    """What admitting a request took: a concurrency slot to give back, and the headers to send."""

    def __init__(self):
        self.slot = None
        self.headers = {}


class Limiter:
    def __init__(self, store, day_limited=(), clock=None):
        self.store = store
        self.day_limited = frozenset(day_limited)   # names of the keys with a tokens-per-day limit
        self.clock = clock or (lambda: datetime.datetime.now(datetime.timezone.utc))

    def admit(self, client_key):
        """An Admission for `client_key`, or ApiError 429 when a limit is reached."""
        admission = Admission()
        try:
            self._check_tokens(client_key, admission)
            self._take_slot(client_key, admission)
            try:
                self._count_request(client_key, admission)
            except BaseException:
                self.release(admission)
                raise
        except ApiError:
            raise
        except Exception as error:
            log.warning("rate limits not checked, the store failed: %s", error)
        return admission

    def release(self, admission):
        if admission.slot is None:
            return
        bucket, lease = admission.slot
        admission.slot = None
        try:
            self.store.release(bucket, lease)
        except Exception as error:
            log.warning("concurrency slot not released (it lapses by itself): %s", error)

    def count_tokens(self, record):
        """A record sink: add a finished request's tokens to its key's count for the day."""
        used = record["tokens_in"] + record["tokens_out"]
        if used and record["key"] in self.day_limited:
            self.store.add_tokens(self._day_bucket(record["key"]), used, DAY + MINUTE)

    def _check_tokens(self, client_key, admission):
        limit = client_key.tokens_per_day
        if not limit:
            return
        used = self.store.tokens(self._day_bucket(client_key.name))
        now = self.clock()
        reset = (now.replace(hour=0, minute=0, second=0, microsecond=0)
                 + datetime.timedelta(days=1) - now).total_seconds()
        admission.headers.update({"x-ratelimit-limit-tokens": str(limit),
                                  "x-ratelimit-remaining-tokens": str(max(limit - used, 0)),
                                  "x-ratelimit-reset-tokens": duration(reset)})
        if used >= limit:
            raise limited(f"Rate limit reached for tokens per day (TPD) on key '{client_key.name}': "
                          f"limit {limit}, used {used}.", reset, admission)

    def _take_slot(self, client_key, admission):
        limit = client_key.streams
        if not limit:
            return
        bucket = f"streams:{client_key.name}"
        lease = self.store.acquire(bucket, limit, LEASE_SECONDS)
        if lease is None:
            raise limited(f"Too many concurrent requests on key '{client_key.name}': limit {limit}. "
                          "Wait for one to finish.", 1, admission)
        admission.slot = (bucket, lease)

    def _count_request(self, client_key, admission):
        limit = client_key.rpm
        if not limit:
            return
        verdict = self.store.hit(f"rpm:{client_key.name}", limit, MINUTE)
        admission.headers.update({"x-ratelimit-limit-requests": str(limit),
                                  "x-ratelimit-remaining-requests": str(verdict.remaining),
                                  "x-ratelimit-reset-requests": duration(verdict.reset_after)})
        if not verdict.allowed:
            raise limited(f"Rate limit reached for requests per minute (RPM) on key "
                          f"'{client_key.name}': limit {limit}.", verdict.reset_after, admission)

    def _day_bucket(self, name):
        return f"tokens:{name}:{self.clock():%Y%m%d}"


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
    """The limiter, its token counting, and the hook that frees a request's slot when it ends."""
    day_limited = [key.name for key in app.extensions["keys"].keys() if key.tokens_per_day]
    limiter = app.extensions["limiter"] = Limiter(app.extensions["store"], day_limited)
    app.extensions["record_sinks"].append(limiter.count_tokens)

    @app.after_request
    def release_slot(response):
        admission = g.get("admission")
        if admission is None:
            return response
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
