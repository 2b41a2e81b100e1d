"""What Z.ai API failures mean, as ZtoApi's errors (the same codes as the web chat's).

The API answers {"error": {"code": "<digits>", "message"}}; its business code is kept in every
message. `retry` says what may follow before the first byte (ztoapi.zai.failures): "invalid" (the
key was rejected) and "limited" (it is rate limited) move on to another key, "transient" is tried
again after a pause; None is final. The API's 400s are the request's own: never retried, never
sent to another upstream (their codes do not start with "upstream_").
"""
import re
import time
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import orjson

from ztoapi.errors import ApiError

BEIJING = timezone(timedelta(hours=8))   # the API's clock, in its "will reset at" messages
RESET_AT = re.compile(r"reset at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
CLIENT_CODES = {"1261": "context_length_exceeded", "1301": "content_filter"}
NETWORK_HINT = "check this server's network, UPSTREAM_PROXY and ZAI_API_BASE"


def business_error(text):
    """(code, message) of an API error body; the code is None when the body is not the API's."""
    try:
        body = orjson.loads(text)
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return (str(error["code"]) if error.get("code") is not None else None,
                str(error.get("message") or "")[:300])
    text = (text or "").strip()
    return None, "an HTML page" if text.startswith("<") else text[:300]


def said(code, message):
    """What the API said, for the end of a message: " (1302): High concurrency..."."""
    return f" ({code}): {message}" if code else f": {message}" if message else ""


def from_status(status, text, retry_after=None, now=time.time):
    """An API answer with a non-200 status, before the reply began."""
    code, message = business_error(text)
    if status == 401:
        return ApiError(502, f"Z.ai's API rejected our API key{said(code, message)}; check ZAI_API_KEY",
                        code="upstream_unauthorized", type="server_error", retry="invalid")
    if status == 429:
        return rate_limited(code, message, retry_after or reset_in(message, now))
    if status == 400:
        return ApiError(400, f"Z.ai API refused the request{said(code, message)}",
                        code=CLIENT_CODES.get(code, "invalid_request"))
    if status >= 500:
        return ApiError(502, f"Z.ai's API answered HTTP {status}{said(code, message)}",
                        code="upstream_error", type="server_error", retry="transient")
    return ApiError(502, f"Z.ai's API refused the request with HTTP {status}{said(code, message)}; "
                         "check ZAI_API_BASE and the key's permissions", code="upstream_rejected",
                    type="server_error")


def from_event(error):
    """An error object in the reply's event stream (`data: {"error": {...}}`)."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code = str(error["code"]) if error.get("code") is not None else None
    return ApiError(502, f"Z.ai's API reported an error{said(code, str(error.get('message') or ''))}",
                    code="upstream_error", type="server_error", retry="transient")


def network_error():
    """finish_reason "network_error": the API gave up on the reply."""
    return ApiError(502, "Z.ai's API ended the reply with finish_reason \"network_error\"",
                    code="upstream_error", type="server_error", retry="transient")


def rate_limited(code, message, retry_after):
    headers = {"Retry-After": str(round(float(retry_after)))} if retry_after else {}
    return ApiError(429, f"Z.ai's API is rate limiting this gateway{said(code, message)}",
                    code="upstream_rate_limited", type="rate_limit_error", headers=headers,
                    retry="limited")


def reset_in(message, now=time.time):
    """Seconds until the "Your limit will reset at <Beijing time>" of a quota message, or None."""
    found = RESET_AT.search(message or "")
    if not found:
        return None
    reset = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    seconds = reset.timestamp() - now()
    return seconds if seconds > 0 else None


def retry_after_seconds(error):
    try:
        return float(error.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def not_a_stream(content_type, text):
    """A 200 that is not an event stream."""
    code, message = business_error(text)
    if code:
        return from_event({"code": code, "message": message})
    return ApiError(502, f"Z.ai's API answered 200 with {content_type or 'no content type'} instead of an "
                         f"event stream{said(None, message)}", code="upstream_rejected", type="server_error")


def unreachable(error):
    return ApiError(502, f"Could not connect to Z.ai's API ({type(error).__name__}): {NETWORK_HINT}",
                    code="upstream_unreachable", type="server_error", retry="transient")


def timed_out(connecting=False):
    """No answer in time; only a connect timeout is worth another try."""
    waited = "accept the connection" if connecting else "answer"
    return ApiError(504, f"Z.ai's API did not {waited} in time: {NETWORK_HINT}", code="upstream_timeout",
                    type="server_error", retry="transient" if connecting else None)


def cut_short():
    return ApiError(502, "Z.ai's API closed the stream before the reply was complete",
                    code="upstream_stream_cut", type="server_error", retry="transient")


def no_key(reason):
    return ApiError(503, f"No usable Z.ai API key: {reason}", code="upstream_credential_unavailable",
                    type="server_error")


def unsendable(error):
    return ApiError(400, "This request cannot be sent to Z.ai's API: its content cannot be written as "
                         f"JSON ({str(error)[:80]}).", code="invalid_request_content", param="messages")


def no_tools(model):
    return ApiError(400, f"Model {model} does not support tools through Z.ai's API.",
                    code="unsupported_parameter", param="tools")


def local_failure(error):
    """A fault of ours while preparing or reading the call: a 500, never retried."""
    return ApiError(500, "The server had an error while preparing the upstream request.", type="server_error")
