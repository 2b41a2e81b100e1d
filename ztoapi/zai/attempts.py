"""One request's attempts at chat.z.ai before the first byte, and what each failure allows next.

A failure's `retry` kind (ztoapi.zai.failures) decides: a rejected or rate-limited credential
gives way to the next one; a transient failure is tried again after a pause, within
UPSTREAM_MAX_RETRIES; a CAPTCHA rests the credential and another kind is tried; a model kept for
signed-in users is tried again with a logged-in token; a version or dialect refusal reads them
again and tries once more only if what this attempt sent is no longer current. Everything else is
final. The request's own mistakes never get this far (they are 400s before any attempt).
"""
import logging
import random

import orjson

from ztoapi import signals
from ztoapi.errors import ApiError
from ztoapi.upstream.reply import Reply
from ztoapi.zai import failures
from ztoapi.zai.credentials import Credential
from ztoapi.zai.credentials import user_id_of

log = logging.getLogger("ztoapi.upstream")
BACKOFF_BASE = 0.25
BACKOFF_CAP = 2.0
LOGIN_ONLY_SECONDS = 10 * 60   # how long a model refused to guests is kept from them


class Attempts:
    """The attempts of one request through `client` (a ZaiClient)."""

    def __init__(self, client, chat):
        self.client = client
        self.chat = chat
        token = chat.client_token
        self.fixed = Credential(token, user_id_of(token), False) if token else None
        self.logged_in = bool(chat.images) or client.login_only_for(chat.model.upstream_id)
        self.retries = 0
        self.refreshed = set()   # "version", "dialect": read again once per request at most
        self.prepared = {}       # dialect name → what every attempt in it sends alike
        self.error = None

    def run(self):
        """A Reply whose first batch is read; the failure that ended the attempts as ApiError."""
        client = self.client
        while True:
            dialect = client.dialect
            if dialect.name not in self.prepared:   # built and checked before any upstream call
                self.prepared[dialect.name] = prepare(dialect, self.chat)
            credential = self._credential()
            sent = (dialect.name, client.version.current(dialect.fallback_version))
            reply = Reply(lambda credential=credential, dialect=dialect, prepared=self.prepared[dialect.name]:
                          client.open_stream(self.chat, credential, dialect, prepared),
                          client.name, on_error=failures.local_failure, buffer_limit=client.buffer_limit)
            try:
                if not reply.first(client.first_event_timeout):
                    reply.close()
                    raise failures.timed_out()
            except ApiError as error:
                self.error = error
                signals.upstream_failed.send(client, code=error.code)
                if not self._again(error, credential, sent, getattr(reply.stream, "shape", None)):
                    raise self._final(error) from None
                signals.upstream_retried.send(client)
                continue
            if self.fixed is None:
                client.pool.succeeded(credential)
            client.trouble = None
            reply.retries = self.retries
            return reply

    def _credential(self):
        try:
            return self.fixed or self.client.pool.acquire(logged_in=self.logged_in)
        except ApiError as unavailable:
            if self.error is not None:
                raise self._final(self.error) from None   # the last upstream failure says more
            if self.logged_in and not self.chat.images and not self.client.pool.configured:
                unavailable = failures.model_requires_login(self.chat.requested_model)
            signals.upstream_failed.send(self.client, code=unavailable.code)
            raise self._final(unavailable) from None

    def _again(self, error, credential, sent, shape):
        """Whether to try again, having done what the failure asks (resting a credential,
        sleeping, reading the version or dialect again)."""
        special = self._special(error, credential, sent, shape)
        if special is not None:
            self.logged_in = self.logged_in or error.retry == "login"
            return special
        last = self.retries >= self.client.max_retries
        if not self._report(error, credential, last):
            return False
        self.client.sleep(backoff(error, self.retries))
        self.retries += 1
        return True

    def _special(self, error, credential, sent, shape):
        """What a failure of kind captcha, login, version or dialect allows: True to try again at
        once (no retry is spent), False to stop, None for the ordinary rules."""
        client, kind = self.client, error.retry
        if kind == "captcha":
            if self.fixed is not None:
                return False
            client.pool.captcha(credential)
            return True   # the pool hands out another kind of credential, or says why not
        if kind == "login":
            if self.fixed is not None or not credential.guest:
                return False
            client.login_only[self.chat.model.upstream_id] = client.clock() + LOGIN_ONLY_SECONDS
            return True
        if kind == "dialect" and shape is not None:
            log.debug("chat.z.ai rejected a %s-dialect request of this shape: %s", sent[0],
                      orjson.dumps(shape).decode())
        if kind not in ("version", "dialect") or kind in self.refreshed:
            return False if kind in ("version", "dialect") else None
        self.refreshed.add(kind)
        # what this attempt sent is compared with what is known now: another request may have
        # read the new version or dialect first, and this one must follow it all the same
        client.detector.recheck()
        if kind == "version" or client.detector.known != sent[0]:
            client.version.refresh(client.dialect.fallback_version)
        moved = (client.detector.known, client.version.current(client.dialect.fallback_version)) != sent
        return moved or (kind == "version" and error.code == "upstream_blocked")   # a 405: one more try

    def _report(self, error, credential, last):
        """Report the failure to the pool; True when another attempt may succeed."""
        pool, from_client = self.client.pool, self.fixed is not None
        if error.retry == "invalid":
            if from_client:
                raise failures.client_token_rejected() from None
            pool.rejected(credential)
        elif error.retry == "limited":
            if from_client:
                return False
            pool.rate_limited(credential, failures.retry_after_seconds(error))
        elif error.retry == "transient" and not from_client:
            pool.failed(credential)
        again = error.retry is not None and not last
        log.info("upstream attempt failed: %s (%s)", error.code, "retrying" if again else "final")
        return again

    def _final(self, error):
        """The error a client sees: a rate limit says when to come back; anything else tells the
        SDKs not to try again at once (ZtoApi already did what retrying could do, and a silent
        upstream would multiply the wait); a refusal names the model; a CAPTCHA asked of a
        logged-in token says so."""
        client = self.client
        if error.code == "model_requires_login":
            error = failures.model_requires_login(self.chat.requested_model)
        elif error.code == "upstream_captcha_required" and client.pool.tokens_asked_for_captcha():
            error = failures.captcha_required(error.message, tokens_asked=True)
        if error.retry == "limited":
            error.headers.setdefault("Retry-After", str(round(client.pool.cooldown)))
        else:
            error.headers["x-should-retry"] = "false"
        client.note_trouble(error)
        error.retries = self.retries
        return error


def backoff(error, attempt):
    """Seconds before the next attempt: none when another credential takes over (the rejected
    or rate-limited one rests for its Retry-After), else jittered exponential."""
    if error.retry in ("invalid", "limited"):
        return 0.0
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))


def prepare(dialect, chat):
    """What the dialect sends of `chat` in every attempt, checked now: content JSON cannot carry
    is the client's mistake (a 400), never an upstream failure to retry or a credential's fault."""
    try:
        return dialect.prepare(chat)
    except (TypeError, ValueError, RecursionError) as error:
        raise failures.unsendable(error) from None
