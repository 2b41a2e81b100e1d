"""What chat.z.ai's failures mean, as errors that tell the operator what to check."""
import orjson

from ztoapi.errors import ApiError

VERSION_HINT = ("chat.z.ai rejected the client version; set ZAI_FE_VERSION to the current "
                "prod-fe-x.y.z of the chat.z.ai web app")
SIGNATURE_HINT = ("chat.z.ai rejected the request signature; check ZAI_SIGNING_SECRET (the "
                  "upstream may have changed its signing key)")
BLOCKED_HINT = ("chat.z.ai's firewall blocked the request (HTTP 405); try another egress IP or "
                "set ZAI_TOKEN to a logged-in token")
UNAUTHORIZED_HINT = "chat.z.ai rejected the upstream token; check ZAI_TOKEN"
GUEST_UNAUTHORIZED_HINT = ("chat.z.ai rejected a freshly minted guest token; guests may be "
                           "refused from this IP, set ZAI_TOKEN to a logged-in token")


def from_status(status, text, retry_after=None, guest=False):
    """An upstream answer with a non-200 status, before any event."""
    detail = _short(text)
    if status == 426 or (status == 400 and "client version" in detail.lower()):
        return ApiError(502, f"{VERSION_HINT} (upstream said: {detail})",
                        code="upstream_version_rejected", type="server_error")
    if "signature" in detail.lower():
        return ApiError(502, f"{SIGNATURE_HINT} (upstream said: {detail})",
                        code="upstream_signature_rejected", type="server_error")
    if status == 405:
        return ApiError(502, BLOCKED_HINT, code="upstream_blocked", type="server_error")
    if status == 401:
        hint = GUEST_UNAUTHORIZED_HINT if guest else UNAUTHORIZED_HINT
        return ApiError(502, f"{hint} (upstream said: {detail})",
                        code="upstream_unauthorized", type="server_error")
    if status == 429 or "concurrency" in detail.lower():
        headers = {"Retry-After": retry_after or "1"}
        return ApiError(429, f"chat.z.ai is rate limiting this gateway (upstream said: {detail})",
                        code="upstream_rate_limited", type="rate_limit_error", headers=headers)
    return ApiError(502, f"chat.z.ai answered HTTP {status}: {detail}", code="upstream_error",
                    type="server_error")


def from_event(error):
    """An error object found inside the upstream event stream."""
    if not isinstance(error, dict):
        error = {"detail": str(error)}
    detail = str(error.get("detail") or error.get("message") or error)
    code = error.get("code")
    if code == 426 or "client version" in detail.lower():
        return ApiError(502, f"{VERSION_HINT} (upstream said: {detail})",
                        code="upstream_version_rejected", type="server_error")
    if "signature" in detail.lower():
        return ApiError(502, f"{SIGNATURE_HINT} (upstream said: {detail})",
                        code="upstream_signature_rejected", type="server_error")
    if code == 429 or "concurrency" in detail.lower():
        return ApiError(429, f"chat.z.ai is rate limiting this gateway (upstream said: {detail})",
                        code="upstream_rate_limited", type="rate_limit_error",
                        headers={"Retry-After": "1"})
    return ApiError(502, f"chat.z.ai reported an error: {detail}", code="upstream_error",
                    type="server_error")


def unreachable(error):
    return ApiError(502, f"Could not connect to chat.z.ai: {type(error).__name__}",
                    code="upstream_unreachable", type="server_error")


def timed_out():
    return ApiError(504, "chat.z.ai did not answer in time", code="upstream_timeout",
                    type="server_error")


def cut_short():
    return ApiError(502, "chat.z.ai closed the stream before the reply was complete",
                    code="upstream_stream_cut", type="server_error")


def no_credential(reason):
    return ApiError(503, f"No usable chat.z.ai credential: {reason}",
                    code="upstream_credential_unavailable", type="server_error")


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
