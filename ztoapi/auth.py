"""The API-key check: `Authorization: Bearer <key>` (or `x-api-key`), looked up by its digest.

A wrong key counts against its client address (ztoapi.throttle): an address that failed too often
gets 429 before its key is even looked at."""
from flask import current_app
from flask import request

from ztoapi import limits
from ztoapi import throttle
from ztoapi.errors import ApiError

MISSING = ("You didn't provide an API key. You need to provide your API key in an Authorization "
           "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def presented_key(headers):
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return headers.get("x-api-key", "").strip() or None


def require_key(headers, keyring, guard=None):
    """The ClientKey the request's key belongs to; 401 when it has none or an unknown one, 429
    when the request's address failed too often (`guard`: the app's AuthThrottle)."""
    key = presented_key(headers)
    if key is None:
        raise ApiError(401, MISSING)
    address = guard.address(request.environ) if guard else None
    refuse_if_throttled(guard, address)
    client_key = keyring.find(key)
    if client_key is None:
        if guard:
            guard.failed(address)
        raise ApiError(401, f"Incorrect API key provided: {redact(key)}.", code="invalid_api_key")
    return client_key


def refuse_if_throttled(guard, address):
    """ApiError 429 when `address` may not try a key now."""
    wait = guard.retry_after(address) if guard else None
    if wait is not None:
        raise throttle.refused(wait)


def check_access(headers):
    """Authenticate the current request and admit it under its key's limits (401, 429)."""
    extensions = current_app.extensions
    client_key = require_key(headers, extensions["keys"], extensions.get("throttle"))
    limits.admit_request(client_key, extensions["limiter"])


def redact(secret):
    """Enough of a secret to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "***"
    return f"{secret[:3]}***{secret[-4:]}"
