"""Z.ai's official OpenAI-compatible API as an upstream (ztoapi.upstream): one requests.Session
per app, the key pool, the model list and the attempts before the first byte."""
import logging
import time

import orjson

from ztoapi.errors import ApiError
from ztoapi.upstream.http import send
from ztoapi.upstream.pools import make_session
from ztoapi.zaiapi import failures
from ztoapi.zaiapi.attempts import Attempts
from ztoapi.zaiapi.keys import KeyPool
from ztoapi.zaiapi.keys import tail
from ztoapi.zaiapi.models import ApiModels
from ztoapi.zaiapi.reply import ApiStream

log = logging.getLogger("ztoapi.upstream")
PROBE_EVERY_SECONDS = 5.0      # how often /readyz checks again that a failure's cause is gone
PROBE_TIMEOUT = (2.0, 3.0)
TROUBLE = {"upstream_unreachable": "network", "upstream_timeout": "network",
           "upstream_unauthorized": "credentials", "upstream_credential_unavailable": "credentials"}


class ApiClient:
    """Opens Z.ai API replies. Failures before the first chunk are ApiErrors, retried when that helps."""

    name = "api"

    def __init__(self, settings, sleep=time.sleep, clock=time.monotonic):
        self.session = make_session(settings)
        self.base = settings.zai_api_base.rstrip("/")
        self.pool = KeyPool(settings.zai_api_keys, settings.token_cooldown_seconds, clock)
        self.catalogue = ApiModels(self._read_models, settings.zai_api_models, clock)
        self.first_event_timeout = settings.upstream_first_event_timeout
        # the socket timeout is a backstop: readers enforce the first-event and gap limits
        backstop = max(settings.upstream_first_event_timeout, settings.upstream_read_timeout) + 5
        self.timeout = (settings.upstream_connect_timeout, backstop)
        self.short_timeout = (settings.upstream_connect_timeout, min(settings.upstream_read_timeout, 15))
        self.max_retries = settings.upstream_max_retries
        self.buffer_limit = settings.stream_buffer_bytes
        self.sleep = sleep
        self.clock = clock
        self.trouble = None    # (kind, message) of the last request's failure for want of network
        self.probed = 0.0      # or a key; None once a request succeeds

    def open(self, chat):
        """A Reply to `chat` whose first batch is read; failures before it raise ApiError."""
        return Attempts(self, chat).run()

    def models(self):
        """(models, retired names): the API's models (ztoapi.catalog.Catalog's source shape)."""
        return self.catalogue.models(), {}

    def status(self):
        """What /readyz and the dashboard show: not ready while no key is usable, or while the
        failure (network, key) that ended the last request lasts; a cheap probe every few seconds
        finds out when it is over."""
        if not self.pool.usable():
            reason = f"no usable Z.ai API key: {self.pool.why_none()}"
        elif self._troubled():
            reason = f"the last request failed: {self.trouble[1]}"
        else:
            reason = "ok"
        return {"ready": reason == "ok", "reason": reason, "keys": self.pool.state()}

    def warm(self):
        """Read the model list now (at start-up); a failure leaves the built-in list."""
        try:
            self.models()
        except Exception:   # never keeps the server from starting
            log.exception("reading Z.ai API's model list failed")

    def note_trouble(self, error):
        """Remember a final failure for want of network or a usable key (/readyz)."""
        if error.code in TROUBLE:
            self.trouble = (TROUBLE[error.code], f"{error.code}: {error.message}")
            self.probed = self.clock()   # the failure itself was the latest look

    def open_stream(self, key, data, one_call=False):
        """The API's stream for one attempt (on the Reply's reader); one_call keeps only the first
        tool call."""
        started = time.perf_counter()
        response = self._send("POST", f"{self.base}/chat/completions", key, self.timeout, data=data,
                              stream=True)
        log.debug("Z.ai API POST /chat/completions -> %s in %.1f ms (key %s)", response.status_code,
                  (time.perf_counter() - started) * 1000, tail(key))
        if response.status_code != 200:
            with response:
                text = response.text
            log.debug("Z.ai API answered %s: %.300s", response.status_code, text)
            raise failures.from_status(response.status_code, text, response.headers.get("Retry-After"))
        content_type = response.headers.get("Content-Type", "")
        if "text/event-stream" not in content_type:
            with response:
                text = response.text
            raise failures.not_a_stream(content_type, text)
        return ApiStream(response, one_call)

    def _troubled(self):
        if self.trouble is None:
            return False
        if self.clock() - self.probed >= PROBE_EVERY_SECONDS:
            self.probed = self.clock()
            if self._probe():
                self.trouble = None
        return self.trouble is not None

    def _probe(self):
        """True when the API answers GET /models with a usable key."""
        key = self.pool.peek()
        if key is None:
            return False
        try:
            response = self._send("GET", f"{self.base}/models", key, PROBE_TIMEOUT)
            response.close()
            return response.status_code == 200
        except ApiError:
            return False

    def _read_models(self):
        """The GET {base}/models body."""
        key = self.pool.peek()
        if key is None:
            raise LookupError("no usable API key")
        response = self._send("GET", f"{self.base}/models", key, self.short_timeout)
        with response:
            if response.status_code != 200:
                raise LookupError(f"GET /models answered HTTP {response.status_code}")
            return orjson.loads(response.content)

    def _send(self, method, url, key, timeout, stream=False, data=None):
        """One request, its failures as ApiErrors. The key goes in a header of this request only."""
        headers = {"Authorization": f"Bearer {key}", "Accept-Language": "en-US,en",
                   "Accept": "text/event-stream" if stream else "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return send(self.session, failures, method, url, headers, timeout, stream, data=data)
