"""The API-key check: `Authorization: Bearer <key>` (or `x-api-key`), looked up by its digest."""
from flask import current_app

from ztoapi import limits
from ztoapi.errors import ApiError

MISSING = ("You didn't provide an API key. You need to provide your API key in an Authorization "
           "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def presented_key(headers):
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return headers.get("x-api-key", "").strip() or None


def require_key(headers, keyring):
    """The ClientKey the request's key belongs to; 401 when it has none or an unknown one."""
    key = presented_key(headers)
    if key is None:
        raise ApiError(401, MISSING)
    client_key = keyring.find(key)
    if client_key is None:
        raise ApiError(401, f"Incorrect API key provided: {redact(key)}.", code="invalid_api_key")
    return client_key


def check_access(headers):
    """Authenticate the current request and admit it under its key's limits (401, 429)."""
    extensions = current_app.extensions
    limits.admit_request(require_key(headers, extensions["keys"]), extensions["limiter"])


def redact(secret):
    """Enough of a secret to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "***"
    return f"{secret[:3]}***{secret[-4:]}"
