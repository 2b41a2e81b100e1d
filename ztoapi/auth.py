"""The API-key check: `Authorization: Bearer <key>` (or `x-api-key`), compared in constant time."""
import hmac

from ztoapi.errors import ApiError

MISSING = ("You didn't provide an API key. You need to provide your API key in an Authorization "
           "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def presented_key(headers):
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return headers.get("x-api-key", "").strip() or None


def require_key(headers, expected):
    key = presented_key(headers)
    if key is None:
        raise ApiError(401, MISSING)
    if not hmac.compare_digest(key.encode(), expected.encode()):
        raise ApiError(401, f"Incorrect API key provided: {redact(key)}.", code="invalid_api_key")


def redact(secret):
    """Enough of a secret to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "***"
    return f"{secret[:3]}***{secret[-4:]}"
