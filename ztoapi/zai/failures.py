"""What chat.z.ai's failures mean, as errors that tell the operator what to check.

Each error also says whether the upstream client may recover from it before the first byte
(ApiError.retry): a rejected credential or a rate limit moves on to another credential, a
transient failure is retried, and "upstream changed" errors are final, so they never storm.
"""
import orjson

from ztoapi.errors import ApiError

VERSION_HINT = ("chat.z.ai rejected the client version; set ZAI_FE_VERSION to the current "
                "prod-fe-x.y.z of the chat.z.ai web app")
SIGNATURE_HINT = ("chat.z.ai rejected the request signature; check ZAI_SIGNING_SECRET (the "
                  "upstream may have changed its signing key)")
BLOCKED_HINT = ("chat.z.ai's firewall blocked the request (HTTP 405); try another egress IP "
                "(UPSTREAM_PROXY) or set ZAI_TOKEN to a logged-in token")
UNAUTHORIZED_HINT = "chat.z.ai rejected the upstream token; check ZAI_TOKEN"
GUEST_UNAUTHORIZED_HINT = ("chat.z.ai rejected a freshly minted guest token; guests may be "
                           "refused from this IP, set ZAI_TOKEN to a logged-in token")
BUSY_WORDS = ("concurrency", "too many requests", "并发")


def from_status(status, text, retry_after=None, guest=False):
    """An upstream answer with a non-200 status, before any event."""
    detail = _short(text)
    lowered = detail.lower()
    if status == 426 or (status == 400 and "client version" in lowered):
        return version_rejected(detail)
    if "signature" in lowered:
        return signature_rejected(detail)
    if status == 405:
        return ApiError(502, BLOCKED_HINT, code="upstream_blocked", type="server_error")
    if status == 401:
        hint = GUEST_UNAUTHORIZED_HINT if guest else UNAUTHORIZED_HINT
        return ApiError(502, f"{hint} (upstream said: {detail})", code="upstream_unauthorized",
                        type="server_error", retry="invalid")
    if status == 429 or any(word in lowered for word in BUSY_WORDS):
        return rate_limited(detail, retry_after)
    if status >= 500:
        return ApiError(502, f"chat.z.ai answered HTTP {status}: {detail}", code="upstream_error",
                        type="server_error", retry="transient")
    return ApiError(502, f"chat.z.ai refused the request with HTTP {status}: {detail}",
                    code="upstream_rejected", type="server_error")


def from_event(error):
    """An error object found inside the upstream event stream."""
    if not isinstance(error, dict):
        error = {"detail": str(error)}
    detail = str(error.get("detail") or error.get("message") or error)
    lowered = detail.lower()
    code = error.get("code")
    if code == 426 or "client version" in lowered:
        return version_rejected(detail)
    if "signature" in lowered:
        return signature_rejected(detail)
    if code == 401:
        return ApiError(502, f"{UNAUTHORIZED_HINT} (upstream said: {detail})",
                        code="upstream_unauthorized", type="server_error", retry="invalid")
    if code == 429 or any(word in lowered for word in BUSY_WORDS):
        return rate_limited(detail, None)
    return ApiError(502, f"chat.z.ai reported an error: {detail}", code="upstream_error",
                    type="server_error", retry="transient")


def not_a_stream(content_type, text):
    """A 200 that is not an event stream: an error object if it holds one, else a changed API."""
    try:
        body = orjson.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("data")
        error = body.get("error") or (inner.get("error") if isinstance(inner, dict) else None)
        if error:
            return from_event(error)
    return ApiError(502, f"chat.z.ai answered 200 with {content_type or 'no content type'} instead "
                         f"of an event stream: {_short(text)}", code="upstream_rejected",
                    type="server_error")


def odd_upload(text):
    return ApiError(502, f"chat.z.ai answered an image upload unexpectedly: {_short(text)}",
                    code="upstream_rejected", type="server_error")


def version_rejected(detail):
    return ApiError(502, f"{VERSION_HINT} (upstream said: {detail})",
                    code="upstream_version_rejected", type="server_error")


def signature_rejected(detail):
    return ApiError(502, f"{SIGNATURE_HINT} (upstream said: {detail})",
                    code="upstream_signature_rejected", type="server_error")


def rate_limited(detail, retry_after):
    """A rate limit; Retry-After is the upstream's, when it gave one."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return ApiError(429, f"chat.z.ai is rate limiting this gateway (upstream said: {detail})",
                    code="upstream_rate_limited", type="rate_limit_error", headers=headers,
                    retry="limited")


def unreachable(error):
    return ApiError(502, f"Could not connect to chat.z.ai: {type(error).__name__}",
                    code="upstream_unreachable", type="server_error", retry="transient")


def timed_out(connecting=False):
    """No answer in time; only a connect timeout is worth another try."""
    what = "accept the connection" if connecting else "answer"
    return ApiError(504, f"chat.z.ai did not {what} in time", code="upstream_timeout",
                    type="server_error", retry="transient" if connecting else None)


def cut_short():
    return ApiError(502, "chat.z.ai closed the stream before the reply was complete",
                    code="upstream_stream_cut", type="server_error", retry="transient")


def no_credential(reason):
    return ApiError(503, f"No usable chat.z.ai credential: {reason}",
                    code="upstream_credential_unavailable", type="server_error")


def client_token_rejected():
    return ApiError(401, "chat.z.ai rejected the token given in X-ZAI-Token",
                    code="upstream_token_rejected")


def retry_after_seconds(error):
    """The Retry-After of a rate-limit error as seconds, or None."""
    try:
        return float(error.headers.get("Retry-After"))
    except (TypeError, ValueError):
        return None


def _short(text, limit=300):
    text = (text or "").strip()
    if text.startswith("<"):
        return "an HTML page"
    try:
        body = orjson.loads(text)
        if isinstance(body, dict):
            text = str(body.get("detail") or body.get("message") or body.get("error") or text)
    except ValueError:
        pass
    return text[:limit]
