"""The chat.z.ai client: one requests.Session per app; opens replies, retrying before the first byte."""
import http.cookiejar
import logging
import random
import time

import orjson
import requests
from requests.adapters import HTTPAdapter

from ztoapi.errors import ApiError
from ztoapi.zai import failures
from ztoapi.zai.credentials import Credential
from ztoapi.zai.credentials import configured_credentials
from ztoapi.zai.credentials import guest_minter
from ztoapi.zai.credentials import user_id_of
from ztoapi.zai.dialect import BROWSER_HEADERS
from ztoapi.zai.dialect import Dialect
from ztoapi.zai.pool import CredentialPool
from ztoapi.zai.reply import QUIET
from ztoapi.zai.reply import Pump
from ztoapi.zai.reply import Reply
from ztoapi.zai.version import FrontEndVersion

log = logging.getLogger("ztoapi.upstream")
BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0


def make_session(settings):
    """A pooled session that keeps no cookies and reads no proxy settings per request."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=settings.upstream_pool_size,
                          max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if settings.upstream_proxy:
        session.proxies = {"http": settings.upstream_proxy, "https": settings.upstream_proxy}
    return session


class ZaiClient:
    """Opens chat.z.ai replies. Failures before the first event are ApiErrors, retried when that helps."""

    def __init__(self, settings, sleep=time.sleep):
        self.session = make_session(settings)
        short_timeout = self.short_timeout = (settings.upstream_connect_timeout,
                                              min(settings.upstream_read_timeout, 15))
        self.version = FrontEndVersion(settings.zai_fe_version, self.session,
                                       f"{settings.upstream_origin}/", BROWSER_HEADERS, short_timeout)
        self.dialect = Dialect(settings, self.version)
        self.pool = CredentialPool(
            configured_credentials(settings.zai_token),
            guest_minter(self.session, self.dialect, short_timeout),
            settings.guest_pool_size, settings.token_cooldown_seconds, settings.anon_token_enabled)
        self.first_event_timeout = settings.upstream_first_event_timeout
        # the socket timeout is a backstop: readers enforce the first-event and gap limits
        backstop = max(settings.upstream_first_event_timeout, settings.upstream_read_timeout) + 5
        self.timeout = (settings.upstream_connect_timeout, backstop)
        self.max_retries = settings.upstream_max_retries
        self.upload_timeout = (settings.upstream_connect_timeout, settings.upstream_read_timeout)
        self.sleep = sleep
        self.on_failure = lambda code: None   # metrics.init_app counts failures and retries
        self.on_retry = lambda: None

    def start(self, chat):
        """Open `chat` upstream; returns (pump, first batch), retrying failures before that."""
        client_token = chat.client_token
        credential = Credential(client_token, user_id_of(client_token), False) if client_token else None
        attempt, version_refreshed, error = 0, False, None
        while True:
            try:
                using = credential or self.pool.acquire(logged_in=bool(chat.images))
            except ApiError as unavailable:
                if error is not None:
                    raise self._final(error) from None   # the last upstream failure says more
                self.on_failure(unavailable.code)
                raise
            try:
                pump = Pump(lambda credential=using: self._open(chat, credential))
                first = pump.next(self.first_event_timeout)
                if first is QUIET:
                    pump.close()
                    raise failures.timed_out()
            except ApiError as failure:
                error = failure
                self.on_failure(error.code)
                if error.code == "upstream_version_rejected" and not version_refreshed:
                    version_refreshed = True
                    if self.version.refresh():
                        self.on_retry()
                        continue   # the upstream moved on: one more try with the new version
                if not self._recover(error, using, client_token is not None) or attempt >= self.max_retries:
                    raise self._final(error) from None
                self.sleep(self._backoff(error, attempt))
                attempt += 1
                self.on_retry()
                continue
            if credential is None:
                self.pool.succeeded(using)
            pump.retries = attempt
            return pump, first

    def _final(self, error):
        """The error a client sees; a rate limit always says when to come back."""
        if error.retry == "limited" and "Retry-After" not in error.headers:
            error.headers["Retry-After"] = str(round(self.pool.cooldown))
        return error

    def _recover(self, error, credential, from_client):
        """Report the failure to the pool; True when another attempt may succeed."""
        if error.retry == "invalid":
            if from_client:
                raise failures.client_token_rejected() from None
            self.pool.rejected(credential)
        elif error.retry == "limited":
            if from_client:
                return False
            self.pool.rate_limited(credential, failures.retry_after_seconds(error))
        elif error.retry == "transient":
            if not from_client:
                self.pool.failed(credential)
        log.info("upstream attempt failed: %s (%s)", error.code, "retrying" if error.retry else "final")
        return error.retry is not None

    def _backoff(self, error, attempt):
        """Seconds before the next attempt: none when another credential takes over (the rejected
        or rate-limited one rests for its Retry-After), else jittered exponential."""
        if error.retry in ("invalid", "limited"):
            return 0.0
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))

    def model_list(self):
        """chat.z.ai's own model list (Open WebUI shape): the entries of `data`."""
        credential = self.pool.acquire()
        response = self.session.get(f"{self.dialect.origin}/api/models", timeout=self.short_timeout,
                                    headers=self.dialect.headers(credential.token))
        with response:
            response.raise_for_status()
            return orjson.loads(response.content)["data"]

    def can_upload(self, client_token=None):
        """Whether a logged-in credential exists for image uploads (guests cannot upload)."""
        return bool(client_token) or bool(self.pool.configured)

    def _upload(self, image, credential):
        url, headers, files = self.dialect.upload(image, credential)
        try:
            response = self.session.post(url, headers=headers, files=files, timeout=self.upload_timeout)
        except requests.Timeout:
            raise failures.timed_out() from None
        except requests.RequestException as error:
            raise failures.unreachable(error) from None
        with response:
            text = response.text
        if response.status_code != 200:
            raise failures.from_status(response.status_code, text, response.headers.get("Retry-After"))
        try:
            upload = orjson.loads(text)
        except ValueError:
            upload = None
        if not (isinstance(upload, dict) and isinstance(upload.get("id"), str)
                and isinstance(upload.get("filename"), str)):
            raise failures.odd_upload(text)
        return upload

    def _open(self, chat, credential):
        uploads = {where: self._upload(image, credential) for where, image in chat.images.items()}
        url, headers, body = self.dialect.completion(chat, credential, uploads)
        started = time.perf_counter()
        try:
            # prepared here and sent straight: Session.request's merging of cookies, hooks and
            # settings costs more than the rest of the call, and this session has none of them
            prepared = requests.Request("POST", url, headers=headers, data=body).prepare()
            response = self.session.send(prepared, stream=True, timeout=self.timeout,
                                         proxies=self.session.proxies, allow_redirects=False)
        except requests.ConnectTimeout:
            raise failures.timed_out(connecting=True) from None
        except requests.Timeout:
            raise failures.timed_out() from None
        except requests.RequestException as error:
            raise failures.unreachable(error) from None
        log.debug("upstream POST %s -> %s in %.1f ms (model %s, %s)", url.split("?")[0],
                  response.status_code, (time.perf_counter() - started) * 1000,
                  chat.model.upstream_id, credential)
        if response.status_code != 200:
            with response:
                text = response.text
            log.debug("upstream answered %s: %.300s", response.status_code, text)
            raise failures.from_status(response.status_code, text,
                                       response.headers.get("Retry-After"), credential.guest)
        if "text/event-stream" not in response.headers.get("Content-Type", ""):
            with response:
                text = response.text
            log.debug("upstream answered 200 without an event stream: %.300s", text)
            raise failures.not_a_stream(response.headers.get("Content-Type", ""), text)
        return Reply(response, chat.think_mode == "raw")
