"""One request's attempts at Z.ai's API before the first byte, and what each failure allows next.

A rejected (401) or rate-limited (429) key rests and the next key is tried at once; a transient
failure (5xx, connection trouble, an error chunk before any answer) is tried again after a pause,
within UPSTREAM_MAX_RETRIES; anything else is final, the API's 400s (the request's own) first of all.
"""
import logging

import orjson

from ztoapi import signals
from ztoapi.errors import ApiError
from ztoapi.upstream.reply import Reply
from ztoapi.zai.attempts import backoff
from ztoapi.zaiapi import failures
from ztoapi.zaiapi.body import build

log = logging.getLogger("ztoapi.upstream")


class Attempts:
    """The attempts of one request through `client` (an ApiClient)."""

    def __init__(self, client, chat):
        self.client = client
        self.chat = chat
        self.retries = 0     # failed attempts so far
        self.paused = 0      # of which transient ones, tried again after a pause
        self.error = None

    def run(self):
        """A Reply whose first batch is read; the failure that ended the attempts as ApiError."""
        client = self.client
        data = encoded(build(self.chat))
        one_call = not self.chat.parallel_tool_calls   # the API has no such field: its reply is cut
        while True:
            key = self._key()
            reply = Reply(lambda key=key: client.open_stream(key, data, one_call), client.name, native_tools=True,
                          on_error=failures.local_failure, buffer_limit=client.buffer_limit)
            try:
                if not reply.first(client.first_event_timeout):
                    reply.close()
                    raise failures.timed_out()
            except ApiError as error:
                self.error = error
                signals.upstream_failed.send(client, code=error.code)
                if not self._again(error, key):
                    raise self._final(error) from None
                signals.upstream_retried.send(client)
                continue
            client.pool.succeeded(key)
            client.trouble = None
            reply.retries = self.retries
            return reply

    def _key(self):
        key = self.client.pool.acquire()
        if key is not None:
            return key
        if self.error is not None:
            raise self._final(self.error)   # the last upstream failure says more
        unavailable = failures.no_key(self.client.pool.why_none())
        unavailable.headers["Retry-After"] = str(max(1, round(self.client.pool.soonest())))
        signals.upstream_failed.send(self.client, code=unavailable.code)
        raise self._final(unavailable)

    def _again(self, error, key):
        """Whether to try again, having rested the key or paused as the failure asks."""
        client, pool, kind = self.client, self.client.pool, error.retry
        if kind == "invalid":
            pool.rejected(key)
        elif kind == "limited":
            pool.rate_limited(key, failures.retry_after_seconds(error))
        elif kind == "transient":
            pool.failed(key)
        # a key that rests is not handed out again, so switching keys ends; the cap is a backstop
        again = (kind in ("invalid", "limited") and self.retries < client.max_retries + len(pool.healths)) \
            or (kind == "transient" and self.paused < client.max_retries)
        log.info("Z.ai API attempt failed: %s (%s)", error.code, "retrying" if again else "final")
        if not again:
            return False
        if kind == "transient":
            client.sleep(backoff(error, self.paused))
            self.paused += 1
        self.retries += 1
        return True

    def _final(self, error):
        """The error a client sees: a rate limit says when to come back; anything else tells the
        SDKs not to try again at once (ZtoApi already did what retrying could do)."""
        client = self.client
        if error.retry == "limited":
            rest = client.pool.soonest() or client.pool.cooldown
            error.headers.setdefault("Retry-After", str(max(1, round(rest))))
        else:
            error.headers["x-should-retry"] = "false"
        client.note_trouble(error)
        error.retries = self.retries
        return error


def encoded(body):
    """The body as JSON; content JSON cannot carry is the client's mistake (a 400)."""
    try:
        return orjson.dumps(body)
    except (TypeError, ValueError, RecursionError) as error:
        raise failures.unsendable(error) from None
