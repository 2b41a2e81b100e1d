"""chat.z.ai's web chat as an upstream (ztoapi.upstream): one requests.Session per app, both
dialects, the credential pool, and the attempts before the first byte."""
import logging
import time
import uuid

import orjson
import requests

from ztoapi.errors import ApiError
from ztoapi.upstream.http import send
from ztoapi.upstream.pools import make_session
from ztoapi.zai import failures
from ztoapi.zai.attempts import Attempts
from ztoapi.zai.browser import BROWSER_HEADERS
from ztoapi.zai.credentials import configured_credentials
from ztoapi.zai.credentials import guest_minter
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
PROBE_EVERY_SECONDS = 5.0      # how often /readyz checks again that a failure's cause is gone
TROUBLE = {"upstream_unreachable": "network", "upstream_timeout": "network", "upstream_blocked": "network",
           "upstream_credential_unavailable": "credentials", "upstream_unauthorized": "credentials",
           "upstream_captcha_required": "captcha"}


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
        if not self.pool.usable() and self.pool.tokens_asked_for_captcha():
            reason = "chat.z.ai asked the logged-in tokens (ZAI_TOKEN) for a CAPTCHA; they rest"
        elif not self.pool.usable() and self.pool.guests_gated():
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
        return Attempts(self, chat).run()

    def login_only_for(self, upstream_id):
        """Whether guests are kept from this model now (chat.z.ai refused it to one lately)."""
        until = self.login_only.get(upstream_id)
        return until is not None and self.clock() < until

    def note_trouble(self, error):
        """Remember a final failure for want of network, credentials or a CAPTCHA (/readyz)."""
        if error.code in TROUBLE:
            self.trouble = (TROUBLE[error.code], f"{error.code}: {error.message}")
            self.probed = self.clock()   # the failure itself was the latest look

    def _read_models(self):
        """chat.z.ai's own model list (Open WebUI shape): the entries of `data`. The page reads it
        without credentials."""
        response = self.session.get(f"{self.dialect.origin}/api/models", timeout=self.short_timeout,
                                    headers=dict(BROWSER_HEADERS, Accept="application/json"))
        with response:
            response.raise_for_status()
            return parse_entries(response.content)

    def image_messages(self, chat):
        """The indices of `chat.messages` whose images the current dialect uploads."""
        return self.dialect.image_messages(chat)

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

    def open_stream(self, chat, credential, dialect, prepared):
        """The upstream stream of one attempt (on the Reply's reader): uploads, the chat it
        creates (2026), the completion request."""
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
        return ZaiStream(response, chat.think_mode == "raw", shape=request_shape(body, chat),
                         dialect=dialect.name)

    def _send(self, method, url, headers, timeout, stream=False, **body):
        """One request, its failures as ApiErrors."""
        return send(self.session, failures, method, url, headers, timeout, stream, **body)


def request_shape(body, chat):
    """What a completion carried, without content or secrets: its fields and message roles."""
    messages = body.get("messages")
    roles = messages if isinstance(messages, list) else chat.messages   # else a serialized Fragment
    return {"fields": sorted(body), "roles": [message.get("role") for message in roles],
            "features": sorted(body.get("features") or {})}

