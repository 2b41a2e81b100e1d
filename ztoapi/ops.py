"""What each worker keeps in the shared store: the records of API requests, and its credential
pool's state, so any worker's dashboard and /readyz see them all.

A worker publishes its pool when an upstream attempt fails (ztoapi.signals: before the request
ends, also an attempt a retry makes good), after each API request, and when its own dashboard
reads the pools; at most every few seconds, but at once when a credential appears or changes state
or an upstream failure differs from the last one. The pool alone says nothing when no credential
exists (guest minting failed before any was made), so the report adds notes from what this worker
saw: why it has no guest, and its last upstream failure (code, the message the client got, when)."""
import functools
import os
import socket
import time

from ztoapi import signals
from ztoapi.recordwriter import RecordWriter
from ztoapi.requestlog import keep_records
from ztoapi.store import OutageLog

PUBLISH_EVERY_SECONDS = 5.0
MESSAGE_CHARS = 300
UPSTREAM_FAILURES = ("upstream_", "model_requires_login")   # error codes the upstream caused
MINT_FAILURES = ("upstream_credential_unavailable", "upstream_unreachable", "upstream_timeout")
NO_CREDENTIAL = "No usable chat.z.ai credential: "   # how ztoapi.zai.failures.no_credential begins


class CredentialReporter:
    """Publishes this worker's credential pool and notes; a record sink, throttled."""

    def __init__(self, client, store, clock=time.monotonic, wall=time.time):
        self.client, self.pool, self.store = client, client.pool, store
        self.clock, self.wall = clock, wall
        self.published = None
        self.seen = None      # (pool.changes, failure code, message) when last published
        self.failure = None   # the last upstream failure of this worker's requests
        self.outage = OutageLog()

    def __call__(self, record=None):
        """Publish every PUBLISH_EVERY_SECONDS, and at once when a credential appears or changes
        state or a request fails upstream differently from the last one."""
        if record is not None and upstream_failure(record.get("error")):
            self.remember(record["error"], record["time"])
        if (self.published is not None and self.clock() - self.published < PUBLISH_EVERY_SECONDS
                and self._seen() == self.seen):
            return
        seen = self._seen()
        self.store.publish_credentials(f"{socket.gethostname()}:{os.getpid()}", self.report())
        self.published, self.seen = self.clock(), seen

    def attempt_failed(self, client, code=None, message=None):
        """An upstream attempt failed (the signal): published now, not when its request ends. A
        store that fails here must not fail the request (the record sink's caller logs its own)."""
        if upstream_failure(code):
            self.remember(code, self.wall(), message)
            try:
                self()
            except Exception as error:
                self.outage.warn("credential pool not published, the store failed: %s", error)

    def remember(self, code, when, message=None):
        """Remember an upstream failure: its code, its message (the signal's, or the one its client
        got when the upstream client kept it: failures for want of network, credentials or a
        CAPTCHA, kept after the attempt's signal and before its request's record), when it
        happened, and whether it was the minting of a guest."""
        trouble, last = self.client.trouble, self.failure
        if message is None and trouble and trouble[1].startswith(code + ": "):
            message = trouble[1].removeprefix(code + ": ")
        message = (message or "")[:MESSAGE_CHARS]
        if last and last["code"] == code:   # the same failure told again, by its request's record
            message, when = message or last["message"], max(when, last["time"])
        self.failure = {"code": code, "message": message, "time": when,
                        "minting": self._minting(code, message)}

    def report(self):
        """pool.state(), then notes: {"note": "guest" | "credentials" | "last upstream failure",
        "state": text, "time": epoch seconds or None}."""
        states = self.pool.state()
        supply = self._supply(states)
        notes = [supply] if supply else []
        failure = self.failure
        if failure and not (supply and supply["time"]):   # a failed mint is told once, as the guest's
            text = f"{failure['code']}: {failure['message']}" if failure["message"] else failure["code"]
            notes.append(note("last upstream failure", text, failure["time"]))
        return states + notes

    def _supply(self, states):
        """A note when the pool shows no credential of a kind it could use: none can be had at
        all, or guests are on and none is in the pool (held back for a CAPTCHA, minting failed, or
        none needed yet)."""
        pool, failure = self.pool, self.failure
        if not pool.anonymous and not pool.configured:
            return note("credentials", "none: no ZAI_TOKEN is set and guests are off "
                                       "(ANON_TOKEN_ENABLED=false)")
        if not pool.anonymous or any(state["guest"] for state in states):
            return None
        if pool.guests_gated():
            resting = pool.guests_gated_until - pool.clock()
            return note("guest", f"none: chat.z.ai asks guests for a CAPTCHA, so none is minted or "
                                 f"used for {resting:.0f} s")
        if failure and failure["minting"]:
            reason = failure["message"].removeprefix(NO_CREDENTIAL) or failure["code"]
            text = reason if reason.startswith("minting") else f"minting failed — {reason}"
            return note("guest", text, failure["time"])
        return note("guest", "none minted yet (one is minted when a request needs it)")

    def _minting(self, code, message):
        """Whether a failure was the minting of a guest: guests are on and not held back for a
        CAPTCHA, none is in the pool, and no configured token could have served instead (so no
        chat request was sent). A guess from the pool's state after the fact (the pool does not
        remember why minting failed)."""
        if code not in MINT_FAILURES or not self.pool.anonymous or self.pool.guests_gated():
            return False
        if code == "upstream_credential_unavailable":
            return "minting a guest token" in message
        return not any(state["guest"] or state["state"] == "ok" for state in self.pool.state())

    def _seen(self):
        failure = self.failure or {}
        return self.pool.changes, failure.get("code"), failure.get("message")


def upstream_failure(code):
    return isinstance(code, str) and code.startswith(UPSTREAM_FAILURES)


def note(what, text, when=None):
    return {"note": what, "state": text, "time": when}


def init_app(app):
    store, client = app.extensions["store"], app.extensions["zai"]
    app.extensions["records"] = RecordWriter(functools.partial(keep_records, store))
    if client is None:   # UPSTREAMS=api: no web chat credentials to report
        app.extensions["credential_reporter"] = lambda record=None: None
        return
    reporter = app.extensions["credential_reporter"] = CredentialReporter(client, store)
    app.extensions["record_sinks"].append(reporter)
    signals.upstream_failed.connect(reporter.attempt_failed, sender=client)
