"""chat.z.ai's web chat as an upstream (ztoapi.upstream): one requests.Session per app, both
dialects, the credential pool, and the attempts before the first byte."""
import http.cookiejar
import logging
import random
import time
import uuid

import orjson
import requests
from requests.adapters import HTTPAdapter

from ztoapi.errors import ApiError
from ztoapi.upstream.reply import Reply
from ztoapi.zai import failures
from ztoapi.zai.browser import BROWSER_HEADERS
from ztoapi.zai.credentials import Credential
from ztoapi.zai.credentials import configured_credentials
from ztoapi.zai.credentials import guest_minter
from ztoapi.zai.credentials import user_id_of
from ztoapi.zai.detect import DialectDetector
from ztoapi.zai.dialect2025 import Dialect2025
from ztoapi.zai.dialect2026 import Dialect2026
from ztoapi.zai.models import RETIRED
from ztoapi.zai.models import WebModels
from ztoapi.zai.models import parse_entries
from ztoapi.zai.pool import CredentialPool
from ztoapi.zai.reply import ZaiStream
from ztoapi.zai.version import FrontEndVersion

log = logging.getLogger("ztoapi.upstream")
BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
LOGIN_ONLY_SECONDS = 10 * 60   # how long a model refused to guests is kept from them
PROBE_EVERY_SECONDS = 5.0      # how often /readyz checks again that a failure's cause is gone
TROUBLE = {"upstream_unreachable": "network", "upstream_timeout": "network", "upstream_blocked": "network",
           "upstream_credential_unavailable": "credentials", "upstream_unauthorized": "credentials",
           "upstream_captcha_required": "captcha"}


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

    name = "web"

    def __init__(self, settings, sleep=time.sleep, clock=time.monotonic):
        self.session = make_session(settings)
        origin = settings.upstream_origin
        short_timeout = self.short_timeout = (settings.upstream_connect_timeout,
                                              min(settings.upstream_read_timeout, 15))
        self.version = FrontEndVersion(settings.zai_fe_version, self.session, f"{origin}/",
                                       BROWSER_HEADERS, short_timeout)
        self.dialects = {"2025": Dialect2025(settings, self.version),
                         "2026": Dialect2026(settings, self.version)}
        self.detector = DialectDetector(settings.zai_dialect, self.session, f"{origin}/api/config",
                                        dict(BROWSER_HEADERS, Accept="application/json"), short_timeout,
                                        clock)
        self.pool = CredentialPool(
            configured_credentials(settings.zai_token),
            guest_minter(self.session, lambda: self.dialect, short_timeout),
            settings.guest_pool_size, settings.token_cooldown_seconds, settings.anon_token_enabled, clock)
        self.catalogue = WebModels(self._read_models, settings.models_source)
        self.first_event_timeout = settings.upstream_first_event_timeout
        # the socket timeout is a backstop: readers enforce the first-event and gap limits
        backstop = max(settings.upstream_first_event_timeout, settings.upstream_read_timeout) + 5
        self.timeout = (settings.upstream_connect_timeout, backstop)
        self.max_retries = settings.upstream_max_retries
        self.upload_timeout = (settings.upstream_connect_timeout, settings.upstream_read_timeout)
        self.buffer_limit = settings.stream_buffer_bytes
        self.sleep = sleep
        self.clock = clock
        self.login_only = {}   # upstream model id → until when guests are not sent to it
        self.trouble = None    # (kind, message) of the last request's failure before its first
        self.probed = 0.0      # byte for want of network, credentials or a CAPTCHA; None once one succeeds
        self.on_failure = lambda code: None   # metrics.init_app counts failures and retries
        self.on_retry = lambda: None

    @property
    def dialect(self):
        return self.dialects[self.detector.current()]

    def models(self):
        """(models, retired names) of the dialect chat.z.ai speaks now (ztoapi.catalog.Catalog)."""
        dialect = self.detector.current()
        return self.catalogue.models(dialect), (RETIRED if dialect == "2026" else {})

    def status(self):
        """What /readyz and the dashboard show of this upstream: not ready while no credential is
        usable, or while the failure that ended the last request (network, credentials, CAPTCHA)
        lasts; a cheap probe every few seconds finds out when it is over, traffic or not."""
        if self.pool.guests_gated() and not self.pool.usable():
            reason = "chat.z.ai asks guests for a CAPTCHA and no logged-in token (ZAI_TOKEN) is usable"
        elif not self.pool.usable():
            reason = "no usable upstream credential"
        elif self._troubled():
            reason = f"the last request failed: {self.trouble[1]}"
        else:
            reason = "ok"
        return {"ready": reason == "ok", "reason": reason, "dialect": self.detector.current(),
                "dialect_source": self.detector.source}

    def _troubled(self):
        trouble = self.trouble
        if trouble is None:
            return False
        if self.clock() - self.probed >= PROBE_EVERY_SECONDS:
            self.probed = self.clock()
            if self._probe(trouble[0]):
                self.trouble = None
        return self.trouble is not None

    def _probe(self, kind):
        """True when the cause of a failure looks gone: chat.z.ai answers (and not with its
        firewall page), or a credential can be had (a guest minted)."""
        try:
            if kind == "captcha":
                return self.pool.usable()
            if kind == "credentials":
                self.pool.acquire()
                return True
            response = self.session.get(f"{self.dialect.origin}/", headers=BROWSER_HEADERS,
                                        timeout=(2.0, 3.0))
            response.close()
            return response.status_code != 405
        except (ApiError, requests.RequestException):
            return False

    def warm(self):
        """Read the dialect, the front-end version and the model list now (at start-up)."""
        self.models()
        self.version.current(self.dialect.fallback_version)

    def open(self, chat):
        """A Reply to `chat` whose first batch is read; failures before it raise ApiError."""
        client_token = chat.client_token
        fixed = Credential(client_token, user_id_of(client_token), False) if client_token else None
        logged_in = bool(chat.images) or self._login_only(chat.model.upstream_id)
        attempt, refreshed, error, prepared = 0, set(), None, {}
        while True:
            dialect = self.dialect
            if dialect.name not in prepared:   # built and checked before any upstream call
                prepared[dialect.name] = prepare(dialect, chat)
            try:
                using = fixed or self.pool.acquire(logged_in=logged_in)
            except ApiError as unavailable:
                if error is not None:
                    raise self._final(error, chat) from None   # the last upstream failure says more
                if logged_in and not chat.images:
                    unavailable = failures.model_requires_login(chat.requested_model)
                self.on_failure(unavailable.code)
                raise self._final(unavailable, chat) from None
            reply = Reply(lambda credential=using, dialect=dialect, prepared=prepared[dialect.name]:
                          self._open(chat, credential, dialect, prepared),
                          self.name, on_error=failures.local_failure, buffer_limit=self.buffer_limit)
            try:
                if not reply.first(self.first_event_timeout):
                    reply.close()
                    raise failures.timed_out()
            except ApiError as failure:
                error = failure
                self.on_failure(error.code)
                again = self._after(error, chat, using, fixed, refreshed,
                                    getattr(reply.stream, "shape", None))
                if again is None:
                    if not self._recover(error, using, fixed is not None, attempt >= self.max_retries):
                        raise self._final(error, chat) from None
                    self.sleep(self._backoff(error, attempt))
                    attempt += 1
                elif not again:
                    raise self._final(error, chat) from None
                logged_in = logged_in or error.retry == "login"
                self.on_retry()
                continue
            if fixed is None:
                self.pool.succeeded(using)
            self.trouble = None
            reply.retries = attempt
            return reply

    def _after(self, error, chat, credential, fixed, refreshed, shape):
        """What a failure of kind captcha, login, version or dialect allows: True to try again at
        once (it spends no retry), False to stop, None for the ordinary retry rules. `shape` is
        what the failed request carried (fields and roles, no content)."""
        kind = error.retry
        if kind == "captcha":
            if fixed is not None:
                return False
            self.pool.captcha(credential)
            return True   # the pool hands out another kind of credential, or raises
        if kind == "login":
            if fixed is not None or not credential.guest:
                return False
            self.login_only[chat.model.upstream_id] = self.clock() + LOGIN_ONLY_SECONDS
            return True
        if kind == "version" and "version" not in refreshed:
            refreshed.add("version")
            changed = self.version.refresh(self.dialect.fallback_version)
            changed = self._dialect_changed(refreshed) or changed
            # a firewall 405 gets one more try whatever was read: it may have been the version
            return changed or error.code == "upstream_blocked"
        if kind == "dialect":
            if shape is not None:
                log.debug("chat.z.ai rejected a %s-dialect request of this shape: %s",
                          self.detector.known, orjson.dumps(shape).decode())
            return self._dialect_changed(refreshed)
        if kind in ("version", "dialect"):
            return False
        return None

    def _dialect_changed(self, refreshed):
        """Read the dialect again (once per request); when it changed, the front-end that speaks
        it is new too, so the version is read again as well."""
        if "dialect" in refreshed:
            return False
        refreshed.add("dialect")
        changed = self.detector.recheck()
        if changed and "version" not in refreshed:
            refreshed.add("version")
            self.version.refresh(self.dialect.fallback_version)
        return changed

    def _login_only(self, upstream_id):
        until = self.login_only.get(upstream_id)
        return until is not None and self.clock() < until

    def _final(self, error, chat):
        """The error a client sees: a rate limit says when to come back; anything else tells the
        SDKs not to try again at once (ZtoApi already did what retrying could do, and a silent
        upstream would multiply the wait); a refusal names the model."""
        if error.code == "model_requires_login":
            error = failures.model_requires_login(chat.requested_model)
        if error.retry == "limited":
            error.headers.setdefault("Retry-After", str(round(self.pool.cooldown)))
        else:
            error.headers["x-should-retry"] = "false"
        if error.code in TROUBLE:
            self.trouble = (TROUBLE[error.code], f"{error.code}: {error.message}")
            self.probed = self.clock()   # the failure itself was the latest look
        return error

    def _recover(self, error, credential, from_client, last):
        """Report the failure to the pool; True when another attempt may succeed. `last`: no
        attempt is left, whatever the failure."""
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
        again = error.retry is not None and not last
        log.info("upstream attempt failed: %s (%s)", error.code, "retrying" if again else "final")
        return again

    def _backoff(self, error, attempt):
        """Seconds before the next attempt: none when another credential takes over (the rejected
        or rate-limited one rests for its Retry-After), else jittered exponential."""
        if error.retry in ("invalid", "limited"):
            return 0.0
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))

    def _read_models(self):
        """chat.z.ai's own model list (Open WebUI shape): the entries of `data`. The page reads it
        without credentials."""
        response = self.session.get(f"{self.dialect.origin}/api/models", timeout=self.short_timeout,
                                    headers=dict(BROWSER_HEADERS, Accept="application/json"))
        with response:
            response.raise_for_status()
            return parse_entries(response.content)

    def can_upload(self, client_token=None):
        """Whether a logged-in credential exists for image uploads (guests cannot upload)."""
        return bool(client_token) or bool(self.pool.configured)

    def _upload(self, image, credential, dialect):
        url, headers, files = dialect.upload(image, credential)
        upload = self._post_json(url, headers, credential, dialect, files=files,
                                 timeout=self.upload_timeout)
        if not (isinstance(upload, dict) and isinstance(upload.get("id"), str)
                and isinstance(upload.get("filename"), str)):
            raise failures.odd_upload(upload)
        return upload

    def _create_chat(self, chat, credential, dialect, text, message_id):
        """The id of a new chat holding the user message (2026 dialect)."""
        url, headers, body = dialect.new_chat(chat, credential, text, message_id)
        created = self._post_json(url, headers, credential, dialect, data=orjson.dumps(body),
                                  timeout=self.short_timeout)
        if not (isinstance(created, dict) and isinstance(created.get("id"), str) and created["id"]):
            raise failures.odd_chat(created)
        return created["id"]

    def _post_json(self, url, headers, credential, dialect, timeout, **body):
        """The JSON chat.z.ai answers a POST with (None if it is not JSON); a non-200 is an ApiError."""
        response = self._send("POST", url, headers, timeout=timeout, **body)
        with response:
            text = response.text
        if response.status_code != 200:
            raise failures.from_status(response.status_code, text, response.headers.get("Retry-After"),
                                       credential.guest, dialect.name)
        try:
            return orjson.loads(text)
        except ValueError:
            return text

    def _open(self, chat, credential, dialect, prepared):
        uploads = {where: self._upload(image, credential, dialect)
                   for where, image in dialect.uploaded_images(chat, prepared).items()}
        if dialect.creates_chats:
            message_id = str(uuid.uuid4())
            chat_id = self._create_chat(chat, credential, dialect, prepared.text, message_id)
            url, headers, body = dialect.completion(chat, credential, prepared, uploads, chat_id,
                                                    message_id)
        else:
            url, headers, body = dialect.completion(chat, credential, prepared, uploads)
        started = time.perf_counter()
        # prepared and sent straight: Session.request's merging of cookies, hooks and settings
        # costs more than the rest of the call, and this session has none of them
        response = self._send("POST", url, headers, data=orjson.dumps(body), timeout=self.timeout,
                              stream=True)
        log.debug("upstream POST %s -> %s in %.1f ms (model %s, %s)", url.split("?")[0],
                  response.status_code, (time.perf_counter() - started) * 1000,
                  chat.model.upstream_id, credential)
        if response.status_code != 200:
            with response:
                text = response.text
            log.debug("upstream answered %s: %.300s", response.status_code, text)
            raise failures.from_status(response.status_code, text, response.headers.get("Retry-After"),
                                       credential.guest, dialect.name)
        if "text/event-stream" not in response.headers.get("Content-Type", ""):
            with response:
                text = response.text
            log.debug("upstream answered 200 without an event stream: %.300s", text)
            raise failures.not_a_stream(response.headers.get("Content-Type", ""), text)
        return ZaiStream(response, chat.think_mode == "raw", shape=request_shape(body, chat))

    def _send(self, method, url, headers, timeout, stream=False, **body):
        """One request, its failures as ApiErrors."""
        try:
            prepared = requests.Request(method, url, headers=headers, **body).prepare()
            return self.session.send(prepared, stream=stream, timeout=timeout,
                                     proxies=self.session.proxies, allow_redirects=False)
        except requests.ConnectTimeout:
            raise failures.timed_out(connecting=True) from None
        except requests.Timeout:
            raise failures.timed_out() from None
        except requests.RequestException as error:
            raise failures.unreachable(error) from None


def prepare(dialect, chat):
    """What the dialect sends of `chat` in every attempt, checked now: content JSON cannot carry
    is the client's mistake (a 400), never an upstream failure to retry or a credential's fault."""
    try:
        return dialect.prepare(chat)
    except (TypeError, ValueError, RecursionError) as error:
        raise failures.unsendable(error) from None


def request_shape(body, chat):
    """What a completion carried, without content or secrets: its fields and message roles."""
    messages = body.get("messages")
    roles = messages if isinstance(messages, list) else chat.messages   # else a serialized Fragment
    return {"fields": sorted(body), "roles": [message.get("role") for message in roles],
            "features": sorted(body.get("features") or {})}

